//! Document ids: what a client may name. Ids are stored as data (a column in the database) and
//! never become file names, but they are still held to a small alphabet so that logs, URLs and
//! token patterns stay unambiguous.

/// The longest id accepted, in bytes.
pub const MAX_LEN: usize = 128;

/// Checks a document id: 1 to 128 ASCII letters, digits, `-`, `_` and `.`, not starting with a
/// `.` and without `..`.
pub fn validate(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_LEN {
        return Err(format!(
            "a document id has 1 to {MAX_LEN} characters, not {}",
            id.len()
        ));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "a document id has letters, digits, '-', '_' and '.' only, not {bad:?}"
        ));
    }
    if id.starts_with('.') || id.contains("..") {
        return Err("a document id does not start with '.' or contain '..'".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn ordinary_ids_pass() {
        for id in ["launch-plan", "a", "team_1.config", &"x".repeat(128)] {
            assert_eq!(validate(id), Ok(()), "{id}");
        }
    }

    #[test]
    fn paths_and_odd_characters_are_refused() {
        for id in [
            "",
            "../etc/passwd",
            "..",
            ".hidden",
            "a/b",
            "a\\b",
            "a b",
            "é",
            "a\0b",
            "a..b",
            &"x".repeat(129),
        ] {
            assert!(validate(id).is_err(), "{id:?}");
        }
    }
}
