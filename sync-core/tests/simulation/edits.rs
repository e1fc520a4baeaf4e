//! What the simulated people do: random changes of every kind, each value carrying a unique
//! marker.

use sync_core::{Number, Operation, Pointer, Value};

use super::common::{Rng, paths};

/// A new marker.
fn mark(next: &mut u64) -> Value {
    *next += 1;
    Value::from(format!("m{next}@{next}"))
}

/// A value of any kind; the strings, objects and arrays carry a new marker.
fn small_value(rng: &mut Rng, next: &mut u64) -> Value {
    match rng.below(6) {
        0 => Value::from(rng.below(100) as i64),
        1 => mark(next),
        2 => Value::Bool(rng.chance(50)),
        3 => Value::parse(&format!(r#"{{"t": {}, "n": 9}}"#, mark(next).to_json())).unwrap(),
        4 => Value::Array(vec![mark(next), Value::from(2)]),
        _ => Value::Null,
    }
}

/// A random change of one to three operations, mostly valid on `doc`.
pub(crate) fn random_change(rng: &mut Rng, doc: &Value, next: &mut u64) -> Vec<Operation> {
    let mut scratch = doc.clone();
    let mut ops = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let all = paths(&scratch);
        let non_root: Vec<Pointer> = all.iter().filter(|p| !p.is_root()).cloned().collect();
        let arrays: Vec<Pointer> = all
            .iter()
            .filter(|p| matches!(p.resolve(&scratch), Some(Value::Array(_))))
            .cloned()
            .collect();
        let objects: Vec<Pointer> = all
            .iter()
            .filter(|p| matches!(p.resolve(&scratch), Some(Value::Object(_))))
            .cloned()
            .collect();
        let strings: Vec<Pointer> = all
            .iter()
            .filter(|p| matches!(p.resolve(&scratch), Some(Value::String(_))))
            .cloned()
            .collect();
        let numbers: Vec<Pointer> = all
            .iter()
            .filter(|p| matches!(p.resolve(&scratch), Some(Value::Number(_))))
            .cloned()
            .collect();
        let op = match rng.below(10) {
            0 => {
                let Some(array) = rng.pick(&arrays).cloned() else {
                    continue;
                };
                let len = array
                    .resolve(&scratch)
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                let at = if rng.chance(30) {
                    "-".to_owned()
                } else {
                    rng.below(len + 1).to_string()
                };
                Operation::add(array.child(at), small_value(rng, next))
            }
            1 => {
                let Some(object) = rng.pick(&objects).cloned() else {
                    continue;
                };
                Operation::add(
                    object.child(format!("k{}", rng.below(4))),
                    small_value(rng, next),
                )
            }
            2 => {
                let Some(p) = rng.pick(&non_root).cloned() else {
                    continue;
                };
                Operation::remove(p)
            }
            3 => {
                let Some(p) = rng.pick(&non_root).cloned() else {
                    continue;
                };
                Operation::replace(p, small_value(rng, next))
            }
            4 => {
                let (Some(from), Some(to)) =
                    (rng.pick(&non_root).cloned(), rng.pick(&arrays).cloned())
                else {
                    continue;
                };
                let len = to
                    .resolve(&scratch)
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                Operation::move_(from, to.child(rng.below(len + 1).to_string()))
            }
            5 => {
                let (Some(from), Some(to)) =
                    (rng.pick(&non_root).cloned(), rng.pick(&objects).cloned())
                else {
                    continue;
                };
                Operation::Copy {
                    from,
                    path: to.child(format!("c{}", rng.below(3))),
                }
            }
            6 | 7 => {
                let Some(p) = rng.pick(&strings).cloned() else {
                    continue;
                };
                let len = p
                    .resolve(&scratch)
                    .and_then(Value::as_text)
                    .map_or(0, |t| t.len_chars());
                let pos = rng.below(len + 1);
                let del = rng.below(len - pos + 1).min(3);
                Operation::Splice {
                    path: p,
                    pos,
                    del,
                    ins: ["", "x", "yz", "é"][rng.below(4)].to_owned(),
                }
            }
            8 => {
                let Some(p) = rng.pick(&numbers).cloned() else {
                    continue;
                };
                Operation::Incr {
                    path: p,
                    by: Number::from(rng.below(5) as i64 - 2),
                }
            }
            _ => {
                let Some(p) = rng.pick(&objects).cloned() else {
                    continue;
                };
                let k = rng.below(4);
                let patch = Value::parse(&format!(
                    r#"{{"k{k}": {}, "k{}": null}}"#,
                    small_value(rng, next).to_json(),
                    (k + 1) % 4
                ))
                .unwrap();
                Operation::Merge {
                    path: p,
                    value: patch,
                }
            }
        };
        if sync_core::Change(vec![op.clone()])
            .apply(&mut scratch)
            .is_ok()
        {
            ops.push(op);
        }
    }
    ops
}
