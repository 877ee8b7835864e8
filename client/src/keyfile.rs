//! Key files: `{"public": "<hex>", "secret": "<hex seed>"}`, written owner-readable only.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tradelog_protocol::hash::decode_hex;
use tradelog_protocol::{PublicKey, SecretKey};

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

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    public: PublicKey,
    secret: String,
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
    let body = serde_json::to_string_pretty(&KeyFile {
        public: key.public(),
        secret: hex::encode(key.to_seed()),
    })
    .map_err(|e| io(std::io::Error::other(e)))?;
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

/// Reads a key file and checks that its public key matches its secret.
pub fn read(path: &Path) -> Result<SecretKey, KeyFileError> {
    let p = path.display().to_string();
    let text = std::fs::read(path).map_err(|source| KeyFileError::Io {
        path: p.clone(),
        source,
    })?;
    let invalid = |reason: String| KeyFileError::Invalid {
        path: p.clone(),
        reason,
    };
    if text.len() > 4096 {
        return Err(invalid("larger than 4096 bytes".into()));
    }
    let kf: KeyFile = serde_json::from_slice(&text).map_err(|e| invalid(e.to_string()))?;
    let seed = decode_hex::<32>(&kf.secret).map_err(|e| invalid(format!("secret: {e}")))?;
    let key = SecretKey::from_seed(&seed);
    if key.public() != kf.public {
        return Err(invalid("public does not match secret".into()));
    }
    Ok(key)
}
