//! Key files: `{"public": "<hex>", "secret": "<hex seed>"}` (the format is
//! `tradelog_protocol::keyfile`), written owner-readable only.

use std::path::Path;

use tradelog_protocol::keyfile::{self, MAX_KEY_FILE_BYTES};
use tradelog_protocol::SecretKey;

/// Why a key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Reading or writing failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Contents invalid.
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

/// Writes `key` to `path`, refusing to overwrite; mode 0600 on Unix.
pub fn write(path: &Path, key: &SecretKey) -> Result<(), KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.display().to_string(),
        source,
    };
    let body = keyfile::encode(key);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    use std::io::Write;
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(body.as_bytes()).map_err(io)?;
    f.write_all(b"\n").map_err(io)?;
    f.sync_all().map_err(io)
}

/// Reads a key file and checks that its public key matches its secret. On Unix, a file that its
/// group or others may read or write is refused (as `ssh` refuses an unprotected private key):
/// whoever can read it can sign as its owner (ADR 005).
pub fn read(path: &Path) -> Result<SecretKey, KeyFileError> {
    let p = path.display().to_string();
    let io = |source| KeyFileError::Io {
        path: p.clone(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let invalid = |reason: String| KeyFileError::Invalid {
        path: p.clone(),
        reason,
    };
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
    use std::io::Read;
    (&mut file)
        .take(MAX_KEY_FILE_BYTES as u64 + 1)
        .read_to_end(&mut text)
        .map_err(io)?;
    keyfile::decode(&text).map_err(|e| invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system's temp dir, removed first if a run left it.
    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("tradelog-keyfile-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_written_key_reads_back() {
        let path = scratch("roundtrip").join("k.key");
        let key = generate().unwrap();
        write(&path, &key).unwrap();
        assert_eq!(read(&path).unwrap().public(), key.public());
        assert!(matches!(write(&path, &key), Err(KeyFileError::Io { .. })));
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let path = scratch("mode").join("k.key");
        write(&path, &generate().unwrap()).unwrap();
        for mode in [0o644, 0o640, 0o604, 0o620] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = read(&path).unwrap_err().to_string();
            assert!(
                e.contains(&format!("mode {mode:04o}")) && e.contains("chmod 600"),
                "{e}"
            );
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        read(&path).unwrap();
    }

    #[test]
    fn an_oversized_key_file_is_refused_without_reading_it_all() {
        let path = scratch("big").join("big.key");
        std::fs::write(&path, vec![b' '; 1 << 20]).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert!(read(&path)
            .unwrap_err()
            .to_string()
            .contains("larger than 4096"));
    }
}
