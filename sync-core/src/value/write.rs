//! Writes a [`Value`] as JSON text, byte for byte as `serde_json` would (compact or pretty), but
//! with numbers exactly as they were read.

use super::Value;

/// Appends `value` to `out`: compact when `indent` is `None`, otherwise pretty-printed with two
/// spaces per level, starting at nesting level `indent`.
pub(super) fn write(value: &Value, out: &mut String, indent: Option<usize>) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => n.write_to(out),
        Value::String(t) => {
            out.push('"');
            t.chunks().for_each(|c| escape_into(c, out));
            out.push('"');
        }
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent.map(|l| l + 1));
                write(item, out, indent.map(|l| l + 1));
            }
            newline(out, indent);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent.map(|l| l + 1));
                out.push('"');
                escape_into(key, out);
                out.push_str(if indent.is_some() { "\": " } else { "\":" });
                write(item, out, indent.map(|l| l + 1));
            }
            newline(out, indent);
            out.push('}');
        }
    }
}

fn newline(out: &mut String, level: Option<usize>) {
    if let Some(level) = level {
        out.push('\n');
        for _ in 0..level {
            out.push_str("  ");
        }
    }
}

/// Appends `s` with JSON escapes: quotes, backslashes and control characters; everything else,
/// non-ASCII included, as it is.
pub(crate) fn escape_into(s: &str, out: &mut String) {
    let mut run_start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..0x20 => "",
            _ => continue,
        };
        out.push_str(s.get(run_start..i).unwrap_or_default());
        if escape.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(escape);
        }
        run_start = i + 1;
    }
    out.push_str(s.get(run_start..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

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
        escape_into(&s, &mut ours);
        let theirs = serde_json::to_string(&s).unwrap();
        assert_eq!(format!("\"{ours}\""), theirs);
    }
}
