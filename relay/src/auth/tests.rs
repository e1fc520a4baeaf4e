//! Tokens and the secret file: round trips, forgeries, expiry, globs, durations, races.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::secret::SECRET_LEN;

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
    let unknown_field = r#"{"user":"a","docs":"*","role":"write","exp":9999999999,"admin":true}"#;
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

#[test]
fn a_vouching_tag_verifies_only_for_its_text_and_secret_and_is_no_token_signature() {
    let secret = Secret::random().unwrap();
    let text = "203.0.113.7 0 1700000000";
    let tag = secret.vouch(text);
    assert_eq!(tag.len(), 64);
    assert!(secret.vouches(text, &tag));
    assert!(
        !secret.vouches("203.0.113.7 1 1700000000", &tag),
        "another text"
    );
    assert!(
        !Secret::random().unwrap().vouches(text, &tag),
        "another secret"
    );
    assert!(!secret.vouches(text, &tag[..63]), "cut short");
    assert!(!secret.vouches(text, "zz"), "not hex");
    // A token's signature over the same text is another tag.
    let mut mac = secret.mac();
    mac.update(text.as_bytes());
    let plain: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(!secret.vouches(text, &plain));
}
