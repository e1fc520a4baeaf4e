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
//! The secret ([`Secret`], in `secret.rs`) is 32 random bytes kept in a file as 64 hex digits,
//! created on first use with owner-only permissions; anyone who can read it can mint tokens for
//! any document.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::digest::{Key, KeyInit};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use sync_core::protocol::{ErrorCode, Role};

pub mod registry;
mod secret;
#[cfg(test)]
mod tests;

pub use secret::{Secret, SecretError};

type HmacSha256 = Hmac<Sha256>;

/// The longest token `verify` looks at; longer ones are malformed without further work.
const MAX_TOKEN_LEN: usize = 4096;
/// SHA-256's block size: HMAC zero-pads shorter keys to this length.
const HMAC_BLOCK_LEN: usize = 64;
/// The length of an HMAC-SHA256 tag in bytes.
const TAG_LEN: usize = 32;

impl Secret {
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

    /// The tag that vouches for `text` between relays of one cluster (which share this
    /// secret): hex HMAC-SHA256 over `text` after a prefix no token payload has, so that a
    /// tag is never a token's signature nor the other way round.
    pub fn vouch(&self, text: &str) -> String {
        let mut mac = self.mac();
        mac.update(VOUCH_PREFIX);
        mac.update(text.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// Whether `tag` is [`Secret::vouch`]'s for `text` (checked in constant time).
    pub fn vouches(&self, text: &str, tag: &str) -> bool {
        let Some(tag) = decode_hex_tag(tag) else {
            return false;
        };
        let mut mac = self.mac();
        mac.update(VOUCH_PREFIX);
        mac.update(text.as_bytes());
        mac.verify_slice(&tag).is_ok()
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
}

/// What [`Secret::vouch`] signs before the text: a newline, which base64url never holds.
const VOUCH_PREFIX: &[u8] = b"concord-vouch\n";

/// 64 hex digits as the 32 bytes of a tag.
fn decode_hex_tag(text: &str) -> Option<[u8; TAG_LEN]> {
    if text.len() != TAG_LEN * 2 || !text.is_ascii() {
        return None;
    }
    let mut tag = [0; TAG_LEN];
    for (byte, pair) in tag.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(tag)
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
