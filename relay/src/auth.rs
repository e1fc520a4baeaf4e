//! Access tokens: who may open which documents, and for how long.
//!
//! A token is `base64url(claims JSON) "." base64url(HMAC-SHA256(secret, first part))`, both parts
//! base64url without padding, and the MAC is taken over the first part's ASCII text exactly as it
//! appears in the token. The relay is the only party that mints and checks tokens, so a symmetric
//! MAC under one relay-local secret is all that is needed: no key distribution, no asymmetric
//! crypto, and no algorithm field an attacker could choose (the weak point of JWT-style headers).
//! Verification checks the MAC, in constant time, before it decodes or parses the payload, so a
//! forged payload is refused as [`TokenError::BadSignature`] without its JSON ever being read;
//! only then does it parse the claims (strictly: unknown fields are refused) and check the expiry.
//!
//! The secret is 32 random bytes kept in a file as 64 hex digits, created on first use with
//! owner-only permissions; anyone who can read it can mint tokens for any document.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::digest::{Key, KeyInit};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use sync_core::protocol::{ErrorCode, Role};

type HmacSha256 = Hmac<Sha256>;

/// The longest token `verify` looks at; longer ones are malformed without further work.
const MAX_TOKEN_LEN: usize = 4096;
/// The length of the secret in bytes.
const SECRET_LEN: usize = 32;
/// SHA-256's block size: HMAC zero-pads shorter keys to this length.
const HMAC_BLOCK_LEN: usize = 64;
/// The length of an HMAC-SHA256 tag in bytes.
const TAG_LEN: usize = 32;
/// How much of a secret file `load` reads: 64 hex digits plus generous room for whitespace.
const MAX_SECRET_FILE_LEN: u64 = 256;
/// How many times, and how far apart, `load_or_create` looks at a secret file another process
/// may be creating at the same moment.
const RACE_ATTEMPTS: u32 = 50;
/// The pause between those looks (50 of them: half a second in all).
const RACE_RETRY_DELAY: Duration = Duration::from_millis(10);

/// The relay's signing secret: 32 random bytes.
pub struct Secret {
    key: [u8; SECRET_LEN],
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

    /// Signs `claims` into a token.
    ///
    /// Nothing limits the claims' size here, but `verify` refuses tokens over 4096 bytes.
    pub fn mint(&self, claims: &Claims) -> String {
        // Serializing strings, an integer and a unit enum variant cannot fail. Were it ever to,
        // the empty payload would make a token every `verify` refuses as malformed.
        let json = serde_json::to_vec(claims).unwrap_or_default();
        let payload = URL_SAFE_NO_PAD.encode(json);
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{payload}.{tag}")
    }

    /// Checks a token's signature (constant-time, via hmac's verify_slice) and expiry against
    /// `now` (Unix seconds).
    ///
    /// A token is expired when `now >= exp`. A signature part that is not base64url for exactly
    /// 32 bytes is [`TokenError::Malformed`]; a well-formed one that does not match is
    /// [`TokenError::BadSignature`].
    pub fn verify(&self, token: &str, now: u64) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let (payload, tag) = token.split_once('.').ok_or(TokenError::Malformed)?;
        if payload.is_empty() || tag.is_empty() || tag.contains('.') {
            return Err(TokenError::Malformed);
        }
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| TokenError::Malformed)?;
        if tag.len() != TAG_LEN {
            return Err(TokenError::Malformed);
        }
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        mac.verify_slice(&tag)
            .map_err(|_| TokenError::BadSignature)?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
        if now >= claims.exp {
            return Err(TokenError::Expired { exp: claims.exp });
        }
        Ok(claims)
    }

    /// A fresh secret from the operating system's randomness.
    fn random() -> Result<Secret, SecretError> {
        let mut key = [0; SECRET_LEN];
        getrandom::fill(&mut key).map_err(|error| SecretError::Random(error.to_string()))?;
        Ok(Secret { key })
    }

    /// An HMAC-SHA256 instance keyed with this secret.
    fn mac(&self) -> HmacSha256 {
        // HMAC zero-pads a key shorter than the hash's block to the block's length, so keying
        // with the padded block is the same MAC as keying with the 32 bytes, and infallible.
        let mut block = [0; HMAC_BLOCK_LEN];
        for (slot, byte) in block.iter_mut().zip(self.key) {
            *slot = byte;
        }
        <HmacSha256 as KeyInit>::new(&Key::<HmacSha256>::from(block))
    }

    /// The secret as written to its file: 64 lowercase hex digits and a newline.
    fn to_file_text(&self) -> String {
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

/// What a token grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// Who holds it (shown to other peers as the author of changes).
    pub user: String,
    /// Which documents: a pattern where `*` matches any run of characters (including none) and
    /// every other character matches itself.
    pub docs: String,
    /// `read` or `write`.
    pub role: Role,
    /// When it expires, in Unix seconds.
    pub exp: u64,
}

impl Claims {
    /// Whether the pattern covers document `doc`.
    ///
    /// An iterative glob with two-pointer backtracking to the last `*`: O(n*m) in the worst
    /// case, no recursion. It compares bytes, which for UTF-8 text is the same as comparing
    /// characters since `*` is ASCII and a literal character matches only at a character start.
    pub fn covers(&self, doc: &str) -> bool {
        glob(self.docs.as_bytes(), doc.as_bytes())
    }
}

/// Whether `pattern` (`*` any run, everything else itself) matches all of `text`.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // After the last `*` seen: where the pattern resumes, and where in the text that star's
    // match currently ends (it grows by one byte on each backtrack).
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                p += 1;
                star = Some((p, t));
            }
            Some(byte) if text.get(t) == Some(byte) => {
                p += 1;
                t += 1;
            }
            _ => {
                let Some((resume, end)) = star else {
                    return false;
                };
                p = resume;
                t = end + 1;
                star = Some((resume, t));
            }
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|&byte| byte == b'*'))
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Not two base64url parts separated by one `.`, or the payload is not the claims JSON.
    #[error("the token is malformed")]
    Malformed,
    /// The signature does not match this relay's secret.
    #[error("the token's signature does not verify")]
    BadSignature,
    /// Expired at `exp`.
    #[error("the token expired at {exp} (Unix seconds)")]
    Expired {
        /// When it expired, in Unix seconds.
        exp: u64,
    },
}

impl TokenError {
    /// The protocol error code: Unauthorized for Malformed and BadSignature, TokenExpired for
    /// Expired.
    pub fn code(&self) -> ErrorCode {
        match self {
            TokenError::Malformed | TokenError::BadSignature => ErrorCode::Unauthorized,
            TokenError::Expired { .. } => ErrorCode::TokenExpired,
        }
    }
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

/// Parses a duration like `90s`, `15m`, `12h`, `30d`, `2w`, or a combination `1d12h` (units s,
/// m, h, d, w; at least one part; no spaces; overflow is an error).
///
/// Parts may come in any order and repeat; their lengths add up.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let invalid = || format!("{text:?} is not a duration like 90s, 15m, 12h, 30d, 2w or 1d12h");
    let overflow = || format!("{text:?} is too long a duration");
    if text.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    for c in text.chars() {
        if let Some(digit) = c.to_digit(10) {
            number = Some(
                number
                    .unwrap_or(0)
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(digit)))
                    .ok_or_else(overflow)?,
            );
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 60 * 60,
            'd' => 24 * 60 * 60,
            'w' => 7 * 24 * 60 * 60,
            _ => return Err(invalid()),
        };
        let count = number.take().ok_or_else(invalid)?;
        total = count
            .checked_mul(unit)
            .and_then(|seconds| total.checked_add(seconds))
            .ok_or_else(overflow)?;
    }
    if number.is_some() {
        // Trailing digits with no unit.
        return Err(invalid());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const NOW: u64 = 1_700_000_000;

    fn claims(docs: &str) -> Claims {
        Claims {
            user: "ada".to_owned(),
            docs: docs.to_owned(),
            role: Role::Write,
            exp: NOW + 3600,
        }
    }

    /// A fresh, empty directory under the system's temp directory; removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!(
                "concord-relay-auth-test-{}-{n}",
                std::process::id()
            ));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn mint_then_verify_round_trips() {
        let secret = Secret::random().unwrap();
        for role in [Role::Read, Role::Write] {
            let claims = Claims {
                role,
                user: "ünïcödé \"user\" 🦀".to_owned(),
                ..claims("team-*")
            };
            let token = secret.mint(&claims);
            assert!(!token.contains('='), "no padding: {token}");
            assert_eq!(token.matches('.').count(), 1);
            assert_eq!(secret.verify(&token, NOW).unwrap(), claims);
        }
    }

    #[test]
    fn padded_key_block_is_the_same_mac_as_the_plain_key() {
        let secret = Secret::random().unwrap();
        let mut plain = <HmacSha256 as KeyInit>::new_from_slice(&secret.key).unwrap();
        let mut padded = secret.mac();
        plain.update(b"payload");
        padded.update(b"payload");
        assert_eq!(
            plain.finalize().into_bytes(),
            padded.finalize().into_bytes()
        );
    }

    #[test]
    fn another_secrets_token_is_a_bad_signature() {
        let ours = Secret::random().unwrap();
        let theirs = Secret::random().unwrap();
        let token = theirs.mint(&claims("*"));
        let error = ours.verify(&token, NOW).unwrap_err();
        assert_eq!(error, TokenError::BadSignature);
        assert_eq!(error.code(), ErrorCode::Unauthorized);
    }

    #[test]
    fn altered_payload_is_a_bad_signature() {
        let secret = Secret::random().unwrap();
        let token = secret.mint(&claims("team-*"));
        let (payload, tag) = token.split_once('.').unwrap();
        // Every single-character change to the payload, to another base64url character.
        for (i, old) in payload.char_indices() {
            let new = if old == 'A' { 'B' } else { 'A' };
            let mut forged = payload.to_owned();
            forged.replace_range(i..=i, &new.to_string());
            let forged = format!("{forged}.{tag}");
            assert_eq!(
                secret.verify(&forged, NOW),
                Err(TokenError::BadSignature),
                "{forged}"
            );
        }
        // A forged payload that is valid claims JSON granting more.
        let forged_claims = Claims {
            exp: u64::MAX,
            ..claims("*")
        };
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged_claims).unwrap());
        assert_eq!(
            secret.verify(&format!("{forged_payload}.{tag}"), NOW),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        let secret = Secret::random().unwrap();
        let token = secret.mint(&claims("*"));
        let (payload, tag) = token.split_once('.').unwrap();
        let long = format!("{}.{tag}", "A".repeat(MAX_TOKEN_LEN));
        let garbage = [
            "",
            ".",
            "a.",
            ".b",
            "a.b.c",
            "!!.??",
            "no dot at all",
            &format!("{payload}."),
            &format!(".{tag}"),
            &format!("{payload}.{tag}.{tag}"),
            &format!("{payload}..{tag}"),
            &format!("{payload}.{tag}="),
            &format!("{payload}.{}", &tag[..tag.len() - 2]),
            &format!("{payload}.{tag}AA"),
            &long,
            &"x".repeat(1_000_000),
        ];
        for token in garbage {
            let error = secret.verify(token, NOW).unwrap_err();
            assert_eq!(error, TokenError::Malformed, "{token:.80}");
            assert_eq!(error.code(), ErrorCode::Unauthorized);
        }
    }

    #[test]
    fn signed_payload_that_is_not_the_claims_is_malformed() {
        let secret = Secret::random().unwrap();
        let sign = |payload: &str| {
            let mut mac = secret.mac();
            mac.update(payload.as_bytes());
            format!(
                "{payload}.{}",
                URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
            )
        };
        let unknown_field =
            r#"{"user":"a","docs":"*","role":"write","exp":9999999999,"admin":true}"#;
        let payloads = [
            "!!!".to_owned(),
            URL_SAFE_NO_PAD.encode("not json"),
            URL_SAFE_NO_PAD.encode(r#"{"user":"a","docs":"*","role":"write"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"user":"a","docs":"*","role":"admin","exp":9999999999}"#),
            URL_SAFE_NO_PAD.encode(unknown_field),
        ];
        for payload in payloads {
            assert_eq!(
                secret.verify(&sign(&payload), NOW),
                Err(TokenError::Malformed),
                "{payload}"
            );
        }
    }

    #[test]
    fn expired_at_and_after_exp() {
        let secret = Secret::random().unwrap();
        let claims = claims("*");
        let token = secret.mint(&claims);
        assert!(secret.verify(&token, claims.exp - 1).is_ok());
        for now in [claims.exp, claims.exp + 1, u64::MAX] {
            let error = secret.verify(&token, now).unwrap_err();
            assert_eq!(error, TokenError::Expired { exp: claims.exp });
            assert_eq!(error.code(), ErrorCode::TokenExpired);
        }
        assert_eq!(
            TokenError::Expired { exp: 5 }.to_string(),
            "the token expired at 5 (Unix seconds)"
        );
    }

    #[test]
    fn covers_matches_globs() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "anything", true),
            ("*", "", true),
            ("**", "", true),
            ("team-*", "team-notes", true),
            ("team-*", "team-", true),
            ("team-*", "team", false),
            ("team-*", "other", false),
            ("team-*", "my-team-notes", false),
            ("*-draft", "plan-draft", true),
            ("*-draft", "-draft", true),
            ("*-draft", "plan-draft-2", false),
            ("a*b*c", "abc", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "abcbc", true),
            ("a*b*c", "acb", false),
            ("a*b*c", "abcd", false),
            ("notes", "notes", true),
            ("notes", "note", false),
            ("notes", "notes2", false),
            ("notes", "", false),
            ("", "", true),
            ("", "x", false),
            ("é*", "été", true),
            ("*ü", "über", false),
        ];
        for &(docs, doc, expected) in cases {
            assert_eq!(claims(docs).covers(doc), expected, "{docs:?} vs {doc:?}");
        }
    }

    #[test]
    fn pathological_pattern_finishes() {
        let doc = "a".repeat(10_000);
        assert!(!claims("*a*a*a*a*a*a*a*b").covers(&doc));
        assert!(claims("*a*a*a*a*a*a*a*a").covers(&doc));
    }

    #[test]
    fn parse_ttl_units_and_combinations() {
        let cases = [
            ("90s", 90),
            ("15m", 15 * 60),
            ("12h", 12 * 3600),
            ("30d", 30 * 86_400),
            ("2w", 2 * 604_800),
            ("0s", 0),
            ("1d12h", 86_400 + 12 * 3600),
            ("1w2d3h4m5s", 604_800 + 2 * 86_400 + 3 * 3600 + 4 * 60 + 5),
            ("1m1m", 120),
        ];
        for (text, seconds) in cases {
            assert_eq!(parse_ttl(text), Ok(Duration::from_secs(seconds)), "{text}");
        }
    }

    #[test]
    fn parse_ttl_errors() {
        for text in [
            "",
            "10",
            "5x",
            "m",
            "1d12",
            "1 d",
            " 1d",
            "1d ",
            "-1d",
            "+1d",
            "1.5h",
            "1D",
            "d1",
            "99999999999999999999w",
            "40000000000000w",
            "18446744073709551615s1s",
        ] {
            assert!(parse_ttl(text).is_err(), "{text:?}");
        }
        assert!(
            parse_ttl("99999999999999999999w")
                .unwrap_err()
                .contains("too long")
        );
    }

    #[test]
    fn load_or_create_creates_then_reloads() {
        let dir = TempDir::new();
        let path = dir.0.join("nested").join("deeper").join("secret");
        assert!(Secret::load(&path).unwrap().is_none());
        let first = Secret::load_or_create(&path).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.len(), 65);
        assert!(text.ends_with('\n'));
        assert!(
            text.trim_end()
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().unwrap()), 0o700);
            assert_eq!(mode(path.parent().unwrap().parent().unwrap()), 0o700);
        }
        let second = Secret::load_or_create(&path).unwrap();
        assert_eq!(first.key, second.key);
        let loaded = Secret::load(&path).unwrap().unwrap();
        assert_eq!(first.key, loaded.key);
        let token = first.mint(&claims("*"));
        assert!(second.verify(&token, NOW).is_ok());
    }

    #[test]
    fn concurrent_creation_agrees_on_one_secret() {
        let dir = TempDir::new();
        let path = dir.0.join("secret");
        let keys: Vec<[u8; SECRET_LEN]> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| Secret::load_or_create(&path).unwrap().key))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(keys.windows(2).all(|pair| pair[0] == pair[1]));
    }

    #[test]
    fn concurrent_creation_many_rounds() {
        for _ in 0..20 {
            let dir = TempDir::new();
            let path = dir.0.join("a").join("secret");
            let keys: Vec<[u8; SECRET_LEN]> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..4)
                    .map(|_| scope.spawn(|| Secret::load_or_create(&path).unwrap().key))
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            assert!(keys.windows(2).all(|pair| pair[0] == pair[1]));
        }
    }

    #[test]
    fn load_or_create_waits_for_a_secret_being_written() {
        let dir = TempDir::new();
        let path = dir.0.join("secret");
        fs::write(&path, "0123").unwrap();
        let key = std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(50));
                fs::write(&path, format!("{}\n", "cd".repeat(32))).unwrap();
            });
            Secret::load_or_create(&path).unwrap().key
        });
        assert_eq!(key, [0xcd; 32]);
    }

    #[test]
    fn load_missing_is_none() {
        let dir = TempDir::new();
        assert!(Secret::load(&dir.0.join("absent")).unwrap().is_none());
    }

    #[test]
    fn load_accepts_uppercase_and_whitespace() {
        let dir = TempDir::new();
        let path = dir.0.join("secret");
        fs::write(&path, format!("  {}\r\n", "AB".repeat(32))).unwrap();
        assert_eq!(Secret::load(&path).unwrap().unwrap().key, [0xab; 32]);
    }

    #[test]
    fn bad_contents_are_invalid_and_not_overwritten() {
        let dir = TempDir::new();
        let path = dir.0.join("secret");
        let bad: [&[u8]; 6] = [
            b"",
            b"not hex\n",
            b"0123",
            &[b'a'; 66],
            &[b'g'; 64],
            &[0xff; 64],
        ];
        for contents in bad {
            fs::write(&path, contents).unwrap();
            let error = Secret::load(&path).unwrap_err();
            assert!(matches!(error, SecretError::Invalid { .. }), "{error}");
            assert!(error.to_string().contains("not 64 hex digits"));
            let error = Secret::load_or_create(&path).unwrap_err();
            assert!(matches!(error, SecretError::Invalid { .. }), "{error}");
            assert_eq!(fs::read(&path).unwrap(), contents);
        }
    }

    #[test]
    fn unreadable_path_is_an_io_error() {
        let dir = TempDir::new();
        // A directory where the file should be.
        let error = Secret::load(&dir.0).unwrap_err();
        assert!(matches!(error, SecretError::Io { .. }), "{error}");
        // A file where a parent directory should be.
        let file = dir.0.join("file");
        fs::write(&file, "x").unwrap();
        let error = Secret::load_or_create(&file.join("secret")).unwrap_err();
        assert!(matches!(error, SecretError::Io { .. }), "{error}");
    }

    #[test]
    fn debug_does_not_show_the_secret() {
        let secret = Secret::random().unwrap();
        let hex = secret.to_file_text();
        let debug = format!("{secret:?}");
        assert_eq!(debug, "Secret(..)");
        assert!(!debug.contains(hex.trim_end()));
        assert!(!format!("{secret:#?}").contains(&hex[..8]));
    }
}
