//! The signing secret: 32 random bytes kept in a file as 64 hex digits, created on first use
//! with owner-only permissions (and safely when two processes create it at once); anyone who
//! can read it can mint tokens for any document.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The length of the secret in bytes.
pub(super) const SECRET_LEN: usize = 32;
/// How much of a secret file `load` reads: 64 hex digits plus generous room for whitespace.
const MAX_SECRET_FILE_LEN: u64 = 256;
/// How many times, and how far apart, `load_or_create` looks at a secret file another process
/// may be creating at the same moment.
const RACE_ATTEMPTS: u32 = 50;
/// The pause between those looks (50 of them: half a second in all).
const RACE_RETRY_DELAY: Duration = Duration::from_millis(10);

/// The relay's signing secret: 32 random bytes.
pub struct Secret {
    /// Read by the token code beside this module, never shown (see `Debug`).
    pub(super) key: [u8; SECRET_LEN],
}

impl Secret {
    /// Reads the secret at `path`; Ok(None) if the file does not exist.
    ///
    /// The file must hold 64 hex digits, optionally surrounded by whitespace (a trailing newline).
    pub fn load(path: &Path) -> Result<Option<Secret>, SecretError> {
        read_secret_file(path)?
            .map(|bytes| parse_secret_file(path, &bytes))
            .transpose()
    }

    /// Reads the secret at `path`, creating it (32 bytes from getrandom, written as 64 lowercase
    /// hex digits and a newline) if missing.
    ///
    /// Missing parent directories are created (owner-only, 0o700, on Unix) and the file is
    /// created with `create_new` (owner-only, 0o600, on Unix), so two processes cannot both
    /// write it: the loser reads the winner's secret. A file that holds only a beginning of a
    /// secret (possibly nothing) may be one another process has just created and is about to
    /// write, so it is reread for up to half a second before it counts as invalid. An existing
    /// file that is not a valid secret is an error and is never overwritten.
    pub fn load_or_create(path: &Path) -> Result<Secret, SecretError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last_attempt = attempt >= RACE_ATTEMPTS;
            if let Some(bytes) = read_secret_file(path)? {
                if is_partial_secret(&bytes) && !last_attempt {
                    std::thread::sleep(RACE_RETRY_DELAY);
                    continue;
                }
                return parse_secret_file(path, &bytes);
            }
            create_parent(path)?;
            let secret = Secret::random()?;
            match write_new(path, &secret) {
                Ok(()) => return Ok(secret),
                // Another process created it since we looked: read theirs.
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists && !last_attempt => {}
                Err(source) => {
                    return Err(SecretError::Io {
                        path: path.to_path_buf(),
                        source,
                    });
                }
            }
        }
    }

    /// Replaces the secret at `path` with a fresh one (written beside it, then renamed over
    /// it, so the file always holds a whole secret): every token signed with the old one stops
    /// verifying. The new file keeps the old one's owner (on Unix), so that the relay can
    /// still read it when this runs as root.
    pub fn rotate(path: &Path) -> Result<Secret, SecretError> {
        create_parent(path)?;
        let secret = Secret::random()?;
        let io_error = |source| SecretError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut fresh = path.as_os_str().to_owned();
        fresh.push(".new");
        let fresh = PathBuf::from(fresh);
        // A leftover of an attempt that failed half-way.
        let _ = fs::remove_file(&fresh);
        write_new(&fresh, &secret).map_err(io_error)?;
        #[cfg(unix)]
        if let Ok(old) = fs::metadata(path) {
            use std::os::unix::fs::MetadataExt as _;
            if let Err(e) = std::os::unix::fs::chown(&fresh, Some(old.uid()), Some(old.gid())) {
                let _ = fs::remove_file(&fresh);
                return Err(io_error(e));
            }
        }
        fs::rename(&fresh, path).map_err(io_error)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            // The rename is durable once the directory is.
            File::open(parent)
                .and_then(|dir| dir.sync_all())
                .map_err(io_error)?;
        }
        Ok(secret)
    }

    /// A fresh secret from the operating system's randomness.
    pub(super) fn random() -> Result<Secret, SecretError> {
        let mut key = [0; SECRET_LEN];
        getrandom::fill(&mut key).map_err(|error| SecretError::Random(error.to_string()))?;
        Ok(Secret { key })
    }

    /// The secret as 64 hex digits (either case), as the PostgreSQL store keeps it.
    pub(super) fn from_hex(text: &str) -> Option<Secret> {
        decode_hex(text.trim()).map(|key| Secret { key })
    }

    /// The secret as written to its file: 64 lowercase hex digits and a newline.
    pub(super) fn to_file_text(&self) -> String {
        let mut text: String = self.key.iter().map(|byte| format!("{byte:02x}")).collect();
        text.push('\n');
        text
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Decodes exactly 64 hex digits (either case) into the secret's bytes.
fn decode_hex(text: &str) -> Option<[u8; SECRET_LEN]> {
    fn nibble(digit: u8) -> Option<u8> {
        char::from(digit)
            .to_digit(16)
            .and_then(|value| u8::try_from(value).ok())
    }
    if text.len() != SECRET_LEN * 2 {
        return None;
    }
    let mut key = [0; SECRET_LEN];
    for (byte, pair) in key.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        let [high, low] = pair else { return None };
        *byte = (nibble(*high)? << 4) | nibble(*low)?;
    }
    Some(key)
}

/// Creates the missing parent directories of `path` (0o700 on Unix).
fn create_parent(path: &Path) -> Result<(), SecretError> {
    let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    else {
        return Ok(());
    };
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(parent).map_err(|source| SecretError::Io {
        path: parent.to_path_buf(),
        source,
    })
}

/// Creates `path` (which must not exist; 0o600 on Unix) holding `secret`, durably. A file this
/// creates but cannot fill is removed again, so a failed attempt leaves no invalid secret behind.
fn write_new(path: &Path, secret: &Secret) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    let written = file
        .write_all(secret.to_file_text().as_bytes())
        .and_then(|()| file.sync_all());
    if written.is_err() {
        drop(file);
        // Best effort: the write error is the one worth reporting.
        let _ = fs::remove_file(path);
    }
    written
}

/// The contents of the secret file at `path` (at most `MAX_SECRET_FILE_LEN` bytes of them), or
/// None if it does not exist.
fn read_secret_file(path: &Path) -> Result<Option<Vec<u8>>, SecretError> {
    let io_error = |source| SecretError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io_error(error)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE_LEN)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    Ok(Some(bytes))
}

/// Parses a secret file's contents: 64 hex digits, optionally surrounded by whitespace.
fn parse_secret_file(path: &Path, bytes: &[u8]) -> Result<Secret, SecretError> {
    let key = std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| decode_hex(text.trim()))
        .ok_or_else(|| SecretError::Invalid {
            path: path.to_path_buf(),
        })?;
    Ok(Secret { key })
}

/// Whether a secret file's contents could be a secret still being written: fewer than 64 hex
/// digits and nothing else (including nothing at all).
fn is_partial_secret(bytes: &[u8]) -> bool {
    bytes.len() < SECRET_LEN * 2 && bytes.iter().all(u8::is_ascii_hexdigit)
}

/// Why the signing secret could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Reading, creating or writing the file (or its directory) failed.
    #[error("cannot read or create the signing secret {path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// The file exists but does not hold a secret.
    #[error("the signing secret {path} is not 64 hex digits")]
    Invalid {
        /// The file concerned.
        path: PathBuf,
    },
    /// The operating system gave no randomness.
    #[error("no randomness for a new secret: {0}")]
    Random(String),
}
