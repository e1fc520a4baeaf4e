//! Export to plain RFC 6902, for tools that know nothing of Concord's extensions, and a
//! change as the text of a patch file.

use crate::apply::{ApplyError, apply_op};
use crate::op::{Change, Operation};
use crate::value::Value;

/// Rewrites `ops`, as they would apply to `doc`, with RFC 6902's six operations only.
///
/// `splice` and `incr` become a `replace` with the resulting value; `merge` becomes the `add`,
/// `remove` and `replace` operations it amounts to; position hints on `add` and `move` are
/// dropped (new members then go last). Applying the result to `doc` gives the same document as
/// applying `ops`, member order aside. Fails like [`Change::apply`] if `ops` do not apply.
///
/// ```
/// use sync_core::{Change, Value, export};
///
/// let doc = Value::parse(r#"{"n": 1, "s": "ab"}"#)?;
/// let change = Change::from_json(r#"[
///     {"op": "incr", "path": "/n", "by": 2},
///     {"op": "splice", "path": "/s", "pos": 1, "del": 0, "ins": "-"}
/// ]"#)?;
/// let plain = export::to_rfc6902(&doc, &change)?;
/// assert_eq!(plain.to_json(), concat!(
///     r#"[{"op":"replace","path":"/n","value":3},"#,
///     r#"{"op":"replace","path":"/s","value":"a-b"}]"#,
/// ));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn to_rfc6902(doc: &Value, change: &Change) -> Result<Change, ApplyError> {
    let mut scratch = doc.clone();
    let mut out = Vec::with_capacity(change.len());
    for (index, op) in change.ops().iter().enumerate() {
        let mut undo = Vec::new();
        apply_op(&mut scratch, op, &mut undo).map_err(|kind| ApplyError::new(index, op, kind))?;
        let current = |path: &crate::Pointer| path.resolve(&scratch).cloned().unwrap_or_default();
        match op {
            Operation::Splice { path, .. } | Operation::Incr { path, .. } => {
                out.push(Operation::Replace {
                    path: path.clone(),
                    value: current(path),
                });
            }
            Operation::Merge { .. } => {
                // The merge recorded one inverse per location it touched, in the order it
                // touched them; each becomes the forward operation that sets that location.
                for inverse in undo {
                    out.push(match inverse {
                        Operation::Remove { path } => {
                            let value = current(&path);
                            Operation::Add {
                                path,
                                value,
                                index: None,
                            }
                        }
                        Operation::Add { path, .. } => Operation::Remove { path },
                        other => {
                            let path = other.path().clone();
                            let value = current(&path);
                            Operation::Replace { path, value }
                        }
                    });
                }
            }
            Operation::Add { path, value, .. } => {
                out.push(Operation::Add {
                    path: path.clone(),
                    value: value.clone(),
                    index: None,
                });
            }
            Operation::Move { from, path, .. } => {
                out.push(Operation::Move {
                    from: from.clone(),
                    path: path.clone(),
                    index: None,
                });
            }
            other => out.push(other.clone()),
        }
    }
    Ok(Change(out))
}

/// A change as the text of a patch file: a JSON array, one operation per line (so that files
/// of patches read and diff well).
///
/// ```
/// use sync_core::{Change, export};
///
/// let change = Change::from_json(r#"[{"op": "add", "path": "/a", "value": 1}, {"op": "remove", "path": "/b"}]"#)?;
/// assert_eq!(
///     export::patch_text(&change),
///     "[\n  {\"op\":\"add\",\"path\":\"/a\",\"value\":1},\n  {\"op\":\"remove\",\"path\":\"/b\"}\n]\n"
/// );
/// assert_eq!(Change::from_json(&export::patch_text(&change))?, change);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn patch_text(change: &Change) -> String {
    let lines: Vec<String> = change
        .ops()
        .iter()
        .map(|op| format!("  {}", serde_json::to_string(op).unwrap_or_default()))
        .collect();
    format!("[\n{}\n]\n", lines.join(",\n"))
}
