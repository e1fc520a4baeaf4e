//! Writes a [`Value`] as JSON text, byte for byte as `serde_json` would (compact or pretty), but
//! with numbers exactly as they were read and strings escaped in the document's own [`Style`].

use std::fmt::Write as _;

use super::{Inline, Layout, Style, Value};

/// Appends `value` to `out`: compact when `indent` is `None`, otherwise pretty-printed with
/// `style`'s unit per level (two spaces for a compact style), starting at nesting level
/// `indent`.
pub(super) fn write(value: &Value, out: &mut String, indent: Option<usize>, style: Style) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => n.write_to(out),
        Value::String(t) => {
            out.push('"');
            t.chunks().for_each(|c| escape_into(c, out, style));
            out.push('"');
        }
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            if on_one_line(value, out, indent, style) {
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    comma(out, indent, style.layout);
                }
                newline(out, indent.map(|l| l + 1), style.layout);
                write(item, out, indent.map(|l| l + 1), style);
            }
            newline(out, indent, style.layout);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            if on_one_line(value, out, indent, style) {
                return;
            }
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    comma(out, indent, style.layout);
                }
                newline(out, indent.map(|l| l + 1), style.layout);
                out.push('"');
                escape_into(key, out, style);
                let spaced = indent.is_some() || style.layout == Layout::Spaced;
                out.push_str(if spaced { "\": " } else { "\":" });
                write(item, out, indent.map(|l| l + 1), style);
            }
            newline(out, indent, style.layout);
            out.push('}');
        }
    }
}

/// Writes the container `value` on one line if `style`'s [`Inline`] rule says so, in indented
/// text: its kind is one the rule keeps on one line, it holds no containers unless the rule
/// allows them, and its one-line form ends within the rule's width. Returns whether it did.
fn on_one_line(value: &Value, out: &mut String, indent: Option<usize>, style: Style) -> bool {
    // Never the document itself: one-line text has a layout of its own.
    let (Some(1..), Some(rule)) = (indent, style.inline) else {
        return false;
    };
    let is_container = |v: &Value| matches!(v, Value::Array(_) | Value::Object(_));
    if let (Some(depth), Some(level)) = (rule.depth, indent) {
        if level < depth as usize {
            return false;
        }
        return one_line(value, out, style, rule, usize::MAX);
    }
    let allowed = match value {
        Value::Array(items) => rule.arrays && (rule.nested || !items.iter().any(is_container)),
        Value::Object(map) => rule.objects && (rule.nested || !map.values().any(is_container)),
        _ => false,
    };
    if !allowed {
        return false;
    }
    let column = out.len() - out.rfind('\n').map_or(0, |newline| newline + 1);
    let Some(room) = (rule.width as usize).checked_sub(column) else {
        return false;
    };
    let start = out.len();
    if one_line(value, out, style, rule, start + room) {
        true
    } else {
        out.truncate(start);
        false
    }
}

/// Appends `value` on one line as `rule` spaces it; stops, returning `false`, once `out` is
/// longer than `limit`.
fn one_line(value: &Value, out: &mut String, style: Style, rule: Inline, limit: usize) -> bool {
    let (sep, colon) = if rule.spaced {
        (", ", ": ")
    } else {
        (",", ":")
    };
    match value {
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                if !one_line(item, out, style, rule, limit) {
                    return false;
                }
            }
            out.push(']');
        }
        Value::Object(map) if !map.is_empty() => {
            out.push_str(if rule.padded { "{ " } else { "{" });
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                out.push('"');
                escape_into(key, out, style);
                out.push('"');
                out.push_str(colon);
                if !one_line(item, out, style, rule, limit) {
                    return false;
                }
            }
            out.push_str(if rule.padded { " }" } else { "}" });
        }
        scalar => write(scalar, out, None, style),
    }
    out.len() <= limit
}

/// Between items: a comma, and a space on a spaced line (a new line follows when indented).
fn comma(out: &mut String, indent: Option<usize>, layout: Layout) {
    out.push(',');
    if indent.is_none() && layout == Layout::Spaced {
        out.push(' ');
    }
}

fn newline(out: &mut String, level: Option<usize>, layout: Layout) {
    if let Some(level) = level {
        out.push('\n');
        let (unit, width) = match layout {
            Layout::Tabs => ('\t', 1),
            Layout::Spaces(n) => (' ', usize::from(n)),
            Layout::Compact | Layout::Spaced => (' ', 2),
        };
        out.extend(std::iter::repeat_n(unit, level * width));
    }
}

/// Appends `s` with JSON escapes: quotes, backslashes and control characters always; `/` and
/// non-ASCII characters as `style` says (as-is by default).
pub(crate) fn escape_into(s: &str, out: &mut String, style: Style) {
    let bytes = s.as_bytes();
    let mut run_start = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            b'/' if style.escape_slash => "\\/",
            0..0x20 => "",
            0x80.. if style.escape_non_ascii => "",
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(s.get(run_start..i).unwrap_or_default());
        let len = if short.is_empty() {
            // A control character or (with `escape_non_ascii`) a whole non-ASCII character.
            let c = s
                .get(i..)
                .and_then(|rest| rest.chars().next())
                .unwrap_or_default();
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = if style.uppercase_hex {
                    write!(out, "\\u{unit:04X}")
                } else {
                    write!(out, "\\u{unit:04x}")
                };
            }
            c.len_utf8()
        } else {
            out.push_str(short);
            1
        };
        i += len;
        run_start = i;
    }
    out.push_str(s.get(run_start..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproduces_the_escaping_habits_of_common_writers() {
        let cases = [
            // Python's json.dumps (ensure_ascii): non-ASCII as lowercase \u escapes.
            r#"{"caf\u00e9": "na\u00efve \ud83d\ude00", "path": "/usr"}"#,
            // PHP's json_encode: slashes escaped too.
            r#"{"url": "https:\/\/example.org\/caf\u00e9"}"#,
            // Uppercase hex.
            r#"["\u00C9t\u00E9"]"#,
            // Plain UTF-8, as serde_json and JSON.stringify write it.
            r#"{"café": "naïve 😀", "path": "/usr"}"#,
        ];
        for text in cases {
            let (value, style) = Value::parse_styled(text).unwrap();
            // Escaping and layout (these are spaced lines) both come back.
            assert_eq!(value.to_json_as(style), text, "{style:?}");
            let compact = text.replace(": ", ":").replace(", ", ",");
            let style = Style {
                layout: super::Layout::Compact,
                ..style
            };
            assert_eq!(value.to_json_as(style), compact, "{style:?}");
        }
    }

    #[test]
    fn containers_a_file_wrote_on_one_line_stay_there_and_the_others_expanded() {
        let cases = [
            // By hand: short lists on one line, objects expanded.
            "{\n  \"name\": \"concord\",\n  \"keywords\": [\"json\", \"sync\"],\n  \"scripts\": {\n    \"test\": \"cargo test\"\n  },\n  \"empty\": []\n}",
            // Prettier: short objects padded, on one line.
            "{\n  \"origin\": { \"x\": 0, \"y\": 0 },\n  \"points\": [\n    { \"x\": 1, \"y\": 2 },\n    { \"x\": 3, \"y\": 4 }\n  ]\n}",
            // One record per line, each holding a list and an object.
            "{\n  \"users\": [\n    {\"id\": 1, \"tags\": [\"a\"], \"address\": {\"city\": \"Springfield\"}},\n    {\"id\": 2, \"tags\": [], \"address\": {\"city\": \"Shelbyville\"}}\n  ]\n}",
            // Unspaced, with tabs.
            "{\n\t\"m\": [[1,2],[3,4]],\n\t\"n\": 5\n}",
        ];
        for text in cases {
            let (value, style) = Value::parse_styled(text).unwrap();
            assert!(style.inline.is_some(), "{text}");
            assert_eq!(value.to_json_as(style), text, "{style:?}");
        }
        // Written everything-expanded, as JSON.stringify(v, null, 2) does: no rule.
        let expanded = "{\n  \"a\": [\n    1\n  ]\n}";
        let (value, style) = Value::parse_styled(expanded).unwrap();
        assert_eq!(style.inline, None);
        assert_eq!(value.to_json_as(style), expanded);
    }

    /// The list at `/tags` of `value`.
    fn tags(value: &mut Value) -> &mut Vec<Value> {
        match value {
            Value::Object(map) => match map.get_mut("tags") {
                Some(Value::Array(tags)) => tags,
                _ => panic!("a list of tags"),
            },
            _ => panic!("an object"),
        }
    }

    #[test]
    fn a_short_list_that_grows_past_the_files_widest_such_line_is_expanded() {
        // A list on one line beside an object expanded at the same depth: a rule by width.
        let text = "{\n  \"tags\": [\"a\", \"b\"],\n  \"o\": {\n    \"k\": 1\n  }\n}";
        let (mut value, style) = Value::parse_styled(text).unwrap();
        assert_eq!(style.inline.map(|i| (i.depth, i.width)), Some((None, 20)));
        tags(&mut value).push(Value::from("c"));
        assert_eq!(
            value.to_json_as(style),
            "{\n  \"tags\": [\n    \"a\",\n    \"b\",\n    \"c\"\n  ],\n  \"o\": {\n    \"k\": 1\n  }\n}"
        );
        tags(&mut value).truncate(1);
        assert_eq!(
            value.to_json_as(style),
            "{\n  \"tags\": [\"a\"],\n  \"o\": {\n    \"k\": 1\n  }\n}"
        );
    }

    #[test]
    fn records_one_per_line_stay_one_per_line_however_long() {
        let text = "{\n  \"users\": [\n    {\"id\": 1, \"tags\": [\"a\"]},\n    {\"id\": 2, \"tags\": []}\n  ]\n}";
        let (mut value, style) = Value::parse_styled(text).unwrap();
        assert_eq!(style.inline.and_then(|i| i.depth), Some(2));
        let Value::Object(map) = &mut value else {
            panic!("an object")
        };
        let Some(Value::Array(users)) = map.get_mut("users") else {
            panic!("a list")
        };
        let Some(first) = users.first_mut() else {
            panic!("a record")
        };
        tags(first).push(Value::from(
            "a much longer tag than any line of the file had",
        ));
        assert_eq!(
            value.to_json_as(style),
            "{\n  \"users\": [\n    {\"id\": 1, \"tags\": [\"a\", \"a much longer tag than any line of the file had\"]},\n    {\"id\": 2, \"tags\": []}\n  ]\n}"
        );
    }

    #[test]
    fn round_trips_byte_for_byte() {
        let text =
            r#"{"z":1.10,"a":[1e400,12345678901234567890123,-0,"é\"\\\n\u0001"],"m":{},"n":[]}"#;
        assert_eq!(Value::parse(text).unwrap().to_json(), text);
    }

    #[test]
    fn pretty_matches_serde_json() {
        let text = r#"{"a":[1,{"b":null,"c":[]}],"d":{},"e":"x"}"#;
        let ours = Value::parse(text).unwrap().to_json_pretty();
        let theirs: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(ours, serde_json::to_string_pretty(&theirs).unwrap());
    }

    #[test]
    fn escapes_like_serde_json() {
        let s: String = (0u8..0x80).map(char::from).chain("é😀".chars()).collect();
        let mut ours = String::new();
        escape_into(&s, &mut ours, Style::default());
        let theirs = serde_json::to_string(&s).unwrap();
        assert_eq!(format!("\"{ours}\""), theirs);
    }
}
