//! The node's key file (`node.key`, and the organisation keys the devnet writes): the format is
//! `tradelog_protocol::keyfile`; this module reads and writes the files as the CLI does —
//! written mode 0600 and never overwritten, refused on read when the group or others may read
//! or change it (ADR 005).

use std::io::{Read, Write};
use std::path::Path;

use tradelog_protocol::keyfile::{self, MAX_KEY_FILE_BYTES};
use tradelog_protocol::SecretKey;

/// Why a key file could not be used; the message names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// Reading or writing failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Contents or mode refused.
    #[error("key file {path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// A fresh key from the operating system's randomness.
pub fn generate() -> Result<SecretKey, getrandom::Error> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed)?;
    Ok(SecretKey::from_seed(&seed))
}

/// Writes `key` to `path`, refusing to overwrite; mode 0600 on Unix; synced.
pub fn write(path: &Path, key: &SecretKey) -> Result<(), KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(keyfile::encode(key).as_bytes()).map_err(io)?;
    f.write_all(b"\n").map_err(io)?;
    f.sync_all().map_err(io)
}

/// Reads a key file (at most [`MAX_KEY_FILE_BYTES`]) and checks that its public key matches
/// its secret; on Unix a file the group or others may read or write is refused.
pub fn read(path: &Path) -> Result<SecretKey, KeyFileError> {
    let p = path.display().to_string();
    let io = |source| KeyFileError::Io {
        path: p.clone(),
        source,
    };
    let invalid = |reason: String| KeyFileError::Invalid {
        path: p.clone(),
        reason,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata().map_err(io)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(invalid(format!(
                "mode {mode:04o} lets the group or others read or change the secret key; \
                 run `chmod 600 {p}`"
            )));
        }
    }
    let mut text = Vec::new();
    (&mut file)
        .take(MAX_KEY_FILE_BYTES as u64 + 1)
        .read_to_end(&mut text)
        .map_err(io)?;
    keyfile::decode(&text).map_err(|e| invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_key_reads_back_and_an_open_one_is_refused() {
        let dir =
            std::env::temp_dir().join(format!("tradelog-node-keyfile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("node.key");
        let key = generate().unwrap();
        write(&path, &key).unwrap();
        assert_eq!(read(&path).unwrap().public(), key.public());
        assert!(matches!(write(&path, &key), Err(KeyFileError::Io { .. })));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = read(&path).unwrap_err().to_string();
            assert!(e.contains("mode 0644") && e.contains("chmod 600"), "{e}");
        }
    }
}
