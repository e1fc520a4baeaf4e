//! What people read: counts ("1 node", "12,345 nodes") and paths ("/" for the root).

/// `n` with thousands separators.
pub fn number(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `n` of something, with the noun in the form the count takes.
pub fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", number(n), if n == 1 { one } else { many })
}

/// A path as people read it (`/` for the root).
pub fn path(path: &sync_core::Pointer) -> String {
    if path.is_root() {
        "/".to_owned()
    } else {
        path.to_string()
    }
}

/// `text` cut to `max` characters, an ellipsis marking the cut.
pub fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let start: String = text.chars().take(max - 1).collect();
    format!("{start}…")
}

#[cfg(test)]
mod tests {
    use super::{counted, number};

    #[test]
    fn counts_read_as_people_write_them() {
        assert_eq!(number(0), "0");
        assert_eq!(number(999), "999");
        assert_eq!(number(1000), "1,000");
        assert_eq!(number(3_500_000), "3,500,000");
        assert_eq!(counted(1, "node", "nodes"), "1 node");
        assert_eq!(counted(0, "node", "nodes"), "0 nodes");
        assert_eq!(counted(12_345, "match", "matches"), "12,345 matches");
    }
}
