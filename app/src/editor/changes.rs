//! Keeping what the editor computes from the document (its rows, node count and size) up to
//! date as the document changes. The changes typing makes (a string spliced, a number or a
//! boolean set) leave the tree's shape as it is: they cost the size of the values they touch,
//! not of the document. Other changes rebuild the rows (as many as are shown) and count the
//! nodes again: at once in a small document, a slice a frame in a large one.

use std::time::{Duration, Instant};

use sync_core::rebase::Placed;
use sync_core::replica::Event;
use sync_core::{Operation, Pointer, Value};

use super::Editor;
use super::rows::{self, Kind};
use super::walk::Walk;

/// Documents up to this many nodes are counted at once after a change, and have their JSON
/// size counted too; larger ones are counted a slice at a time.
pub(super) const COUNT_AT_ONCE_UP_TO: usize = 200_000;

/// How many nodes the document holds and its size as compact JSON, as last counted.
#[derive(Debug, Clone, Default)]
pub(super) struct Counts {
    /// The node count (the last one finished, while a recount goes on).
    pub nodes: usize,
    /// The size as compact JSON, in documents small enough to count at once.
    pub size: Option<usize>,
    /// The document changed shape since they were counted.
    pub stale: bool,
    /// A count going on a slice at a time, and what it has counted.
    recount: Option<(Walk, usize)>,
}

impl Counts {
    /// Counts not made yet.
    pub(super) fn uncounted() -> Counts {
        Counts {
            stale: true,
            ..Counts::default()
        }
    }
}

/// The scalars a change sets in place (typing in a string, a number or boolean set), when
/// that is all it does: the tree keeps its shape.
pub(super) struct InPlace {
    paths: Vec<Pointer>,
    /// Their values' size as compact JSON before the change, when the document's size is kept.
    bytes_before: Option<usize>,
}

impl InPlace {
    /// What `ops` (about to be applied to `doc`) do, if they only set scalars in place.
    /// `sized`: whether the document's size is kept (and so must be adjusted).
    pub(super) fn of<'a>(
        doc: &Value,
        ops: impl IntoIterator<Item = &'a Operation>,
        sized: bool,
    ) -> Option<InPlace> {
        let mut paths = Vec::new();
        for op in ops {
            match op {
                Operation::Splice { path, .. } | Operation::Incr { path, .. } => {
                    paths.push(path.clone());
                }
                Operation::Replace { path, value }
                    if is_scalar(value) && path.resolve(doc).is_some_and(is_scalar) =>
                {
                    paths.push(path.clone());
                }
                Operation::Test { .. } => {}
                _ => return None,
            }
        }
        paths.sort_unstable();
        paths.dedup();
        let bytes_before = sized.then(|| json_size(doc, &paths));
        Some(InPlace {
            paths,
            bytes_before,
        })
    }

    /// What changes from others did to the view (`moves`, with the `events` of the message
    /// that brought them), if they only set scalars in place. Anything else that happened to
    /// the view (a change of this window's undone, the view replaced) is not: this relies on
    /// such a change coming with an event besides `Changed`, or with no moves, or (local work
    /// that no longer applies leaving the view) on the caller checking that the view holds as
    /// many pending operations as before.
    pub(super) fn of_received(moves: &[Placed], events: &[Event]) -> Option<InPlace> {
        let plain = events
            .iter()
            .all(|e| matches!(e, Event::Changed | Event::Send(_) | Event::Presence(_)));
        if !plain || moves.is_empty() {
            return None;
        }
        let mut paths = Vec::with_capacity(moves.len());
        for placed in moves {
            match &placed.op {
                Operation::Splice { path, .. } | Operation::Incr { path, .. } => {
                    paths.push(path.clone());
                }
                Operation::Test { .. } => {}
                _ => return None,
            }
        }
        paths.sort_unstable();
        paths.dedup();
        Some(InPlace {
            paths,
            bytes_before: None,
        })
    }
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Object(_) | Value::Array(_))
}

/// The size as compact JSON of the values at `paths` in `doc`.
fn json_size(doc: &Value, paths: &[Pointer]) -> usize {
    paths
        .iter()
        .filter_map(|p| p.resolve(doc))
        .map(|v| v.to_json().len())
        .sum()
}

impl Editor {
    /// After a change of the document (local or not): `in_place` if it only set scalars.
    pub(super) fn document_changed(&mut self, in_place: Option<InPlace>) {
        self.changes += 1;
        self.dirty = true;
        let Some(in_place) = in_place else {
            self.rows.get_mut().stale = true;
            self.counts.stale = true;
            // A selection that no longer exists is dropped.
            if let Some(selected) = &self.selected
                && selected.resolve(self.replica.view()).is_none()
            {
                self.selected = None;
            }
            return;
        };
        // The same nodes, in the same places: only the size, and the kinds shown, move.
        let doc = self.replica.view();
        self.counts.size = match (self.counts.size, in_place.bytes_before) {
            (Some(size), Some(before)) => {
                Some((size + json_size(doc, &in_place.paths)).saturating_sub(before))
            }
            (Some(_), None) => (self.counts.nodes <= COUNT_AT_ONCE_UP_TO)
                .then(|| self.replica.view().to_json().len()),
            (None, _) => None,
        };
        let laid = self.rows.get_mut();
        if laid.stale {
            return;
        }
        for path in &in_place.paths {
            let kind = path.resolve(self.replica.view()).map(Kind::of);
            if let (Some(kind), Some(row)) = (kind, rows::row_of(&laid.rows, path))
                && let Some(row) = laid.rows.get_mut(row)
            {
                row.kind = kind;
            }
        }
    }

    /// Counts the nodes again if the document changed shape: at once if it was small, or
    /// else starts counting a slice at a time (see [`Editor::tick`]).
    pub(super) fn refresh_counts(&mut self) {
        if !self.counts.stale {
            return;
        }
        self.counts.stale = false;
        if self.counts.nodes <= COUNT_AT_ONCE_UP_TO {
            self.counts.recount = None;
            self.counts.nodes = rows::node_count(self.replica.view());
            self.counts.size = (self.counts.nodes <= COUNT_AT_ONCE_UP_TO)
                .then(|| self.replica.view().to_json().len());
        } else {
            self.counts.size = None;
            self.counts.recount = Some((Walk::new(), 0));
        }
    }

    /// Goes on with work the document's last change left, for about `budget`: counting the
    /// nodes of a large document. Returns whether it is all done (if not, call it again in the
    /// next frame).
    pub fn tick(&mut self, budget: Duration) -> bool {
        self.refresh_counts();
        let Some((walk, counted)) = &mut self.counts.recount else {
            return true;
        };
        let start = Instant::now();
        let doc = self.replica.view();
        while !walk.run(doc, 65_536, |_| *counted += 1) {
            if start.elapsed() >= budget {
                return false;
            }
        }
        self.counts.nodes = *counted;
        self.counts.recount = None;
        // Small enough now to have its size counted too.
        self.counts.size =
            (self.counts.nodes <= COUNT_AT_ONCE_UP_TO).then(|| self.replica.view().to_json().len());
        true
    }

    /// Whether the node count shown is being brought up to date.
    pub fn is_counting(&self) -> bool {
        self.counts.stale || self.counts.recount.is_some()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use sync_core::protocol::{CatchUp, ClientId, Commit, Revision, Role, ServerMessage};
    use sync_core::replica::Replica;
    use sync_core::value::Style;

    use super::*;

    /// What the editor shows equals what is computed afresh from its document.
    fn check(e: &mut Editor, after: &str) {
        while !e.tick(Duration::from_secs(1)) {}
        let doc = e.doc().clone();
        assert_eq!(
            e.node_count(),
            rows::node_count(&doc),
            "node count after {after}"
        );
        assert!(!e.is_counting());
        if e.node_count() <= COUNT_AT_ONCE_UP_TO {
            assert_eq!(
                e.counts.size,
                Some(doc.to_json().len()),
                "size after {after}"
            );
        }
        let expansion = e.expansion.clone();
        assert_eq!(
            *e.rows(),
            rows::flatten(&doc, &expansion),
            "rows after {after}"
        );
    }

    fn op(json: &str) -> Vec<Operation> {
        sync_core::Change::from_json(json).unwrap().0
    }

    /// A window on a shared document, welcomed at revision 1 with `doc`.
    fn welcomed(doc: &str) -> Editor {
        let mut e = Editor::shared(Replica::new(ClientId::from("me"), "Me"));
        e.receive(ServerMessage::Welcome {
            protocol: 1,
            rev: Revision(1),
            role: Role::Write,
            client_seq: None,
            catch_up: CatchUp::Snapshot {
                doc: Value::parse(doc).unwrap(),
                conflicts: Vec::new(),
            },
            peers: Vec::new(),
        });
        e
    }

    /// Someone else's change `ops`, applied by the relay as revision `rev`.
    fn from_someone(rev: u64, ops: &str) -> ServerMessage {
        ServerMessage::Applied {
            commit: Commit {
                rev: Revision(rev),
                client: ClientId::from("other"),
                seq: rev,
                author: "Other".to_owned(),
                time: 0,
                ops: op(ops),
                conflicts: Vec::new(),
                group: None,
            },
            hash: None,
        }
    }

    #[test]
    fn rows_counts_and_size_stay_true_through_every_kind_of_change() {
        let doc = r#"{"s": "héllo \"q\"", "n": 1, "b": true, "z": null,
                      "list": [1, "two", {"three": [3]}], "o": {"k": "v"}}"#;
        let mut e = Editor::new(Value::parse(doc).unwrap(), None, Style::default());
        e.expand_all(true);
        check(&mut e, "opening");
        let changes = [
            // Typing, and scalars set in place: the tree keeps its shape.
            r#"[{"op": "splice", "path": "/s", "pos": 0, "del": 1, "ins": "\\n\u00e9"}]"#,
            r#"[{"op": "splice", "path": "/list/1", "pos": 3, "del": 0, "ins": "!"}]"#,
            r#"[{"op": "replace", "path": "/n", "value": "now a string"}]"#,
            r#"[{"op": "replace", "path": "/b", "value": null}]"#,
            r#"[{"op": "replace", "path": "/z", "value": 12.50}]"#,
            r#"[{"op": "incr", "path": "/z", "by": 1}]"#,
            r#"[{"op": "test", "path": "/o/k", "value": "v"},
                {"op": "replace", "path": "/o/k", "value": false}]"#,
            // Changes of shape.
            r#"[{"op": "replace", "path": "/n", "value": {"a": [1, 2]}}]"#,
            r#"[{"op": "replace", "path": "/list/2", "value": 3}]"#,
            r#"[{"op": "add", "path": "/list/0", "value": [null, [true]]}]"#,
            r#"[{"op": "remove", "path": "/o"}]"#,
            r#"[{"op": "move", "from": "/list/0", "path": "/moved"}]"#,
            r#"[{"op": "copy", "from": "/moved", "path": "/list/-"}]"#,
            r#"[{"op": "merge", "path": "/n", "value": {"a": null, "b": {"c": 1}}}]"#,
            r#"[{"op": "splice", "path": "/s", "pos": 0, "del": 0, "ins": "x"},
                {"op": "add", "path": "/last", "value": "x"}]"#,
        ];
        for change in changes {
            e.edit(op(change)).unwrap();
            e.expand_all(true);
            check(&mut e, change);
        }
        for _ in 0..changes.len() {
            e.undo().unwrap();
            check(&mut e, "undo");
        }
        assert_eq!(e.doc(), &Value::parse(doc).unwrap());
        for _ in 0..changes.len() {
            e.redo().unwrap();
            check(&mut e, "redo");
        }
    }

    #[test]
    fn someone_elses_typing_keeps_the_rows_and_their_other_changes_rebuild_them() {
        let mut e = welcomed(r#"{"s": "abc", "list": [1, "x"]}"#);
        e.expand_all(true);
        check(&mut e, "the welcome");
        let changes = [
            r#"[{"op": "splice", "path": "/s", "pos": 1, "del": 1, "ins": "\"é\""}]"#,
            r#"[{"op": "splice", "path": "/list/1", "pos": 0, "del": 1, "ins": ""}]"#,
            r#"[{"op": "add", "path": "/list/0", "value": {"new": [0]}}]"#,
            r#"[{"op": "replace", "path": "/s", "value": 5}]"#,
        ];
        for (i, change) in changes.iter().enumerate() {
            let rev = u64::try_from(i).unwrap() + 2;
            e.receive(from_someone(rev, change));
            e.expand_all(true);
            check(&mut e, change);
        }
    }

    #[test]
    fn opening_and_closing_containers_and_revealing_nodes_keep_the_rows_true() {
        let doc = r#"{"a": {"b": [1, {"c": [true, {"d": null}]}], "e": {}}, "f": [[1], [2, [3]]],
                      "g": "x", "h": {"i": {"j": {"k": 1}}}}"#;
        let mut e = Editor::new(Value::parse(doc).unwrap(), None, Style::default());
        check(&mut e, "opening");
        let steps: [(&str, Option<bool>); 14] = [
            ("/a", Some(true)),
            ("/a/b/1/c/1", None),
            ("/f", Some(true)),
            ("/f/1", Some(true)),
            ("/a", Some(false)),
            ("/h/i/j/k", None),
            ("/a", Some(true)),
            ("/a/b", Some(false)),
            ("/f/1/1", Some(true)),
            ("/f", Some(false)),
            ("/f/1/1/0", None),
            ("", Some(false)),
            ("/a/b/1/c/1/d", None),
            ("/a/e", Some(true)),
        ];
        for (path, step) in steps {
            let path = Pointer::parse(path).unwrap();
            match step {
                Some(expanded) => e.set_expanded(&path, expanded),
                None => e.reveal(&path),
            }
            check(&mut e, &format!("{step:?} {path}"));
            if step.is_none() {
                assert!(e.row_of(&path).is_some(), "{path} shown");
            }
        }
    }

    #[test]
    fn someone_elses_typing_that_makes_my_change_in_flight_fail_rebuilds_the_rows() {
        let mut e = welcomed(r#"{"s": "abc"}"#);
        // My change, sent: it holds only while /s is "abc".
        e.edit(op(r#"[{"op": "test", "path": "/s", "value": "abc"},
                      {"op": "add", "path": "/x", "value": {"k": 1}}]"#))
            .unwrap();
        e.expand_all(true);
        check(&mut e, "my change");
        assert_eq!(e.rows().len(), 4);
        // Someone types in /s first: my change no longer applies, and leaves the view.
        e.receive(from_someone(
            2,
            r#"[{"op": "splice", "path": "/s", "pos": 0, "del": 0, "ins": "Z"}]"#,
        ));
        assert_eq!(e.doc().to_json(), r#"{"s":"Zabc"}"#);
        check(&mut e, "someone's typing");
    }

    #[test]
    fn a_large_document_is_counted_again_a_slice_at_a_time_after_a_change_of_shape() {
        let items: Vec<String> = (0..COUNT_AT_ONCE_UP_TO).map(|i| i.to_string()).collect();
        let doc =
            Value::parse(&format!(r#"{{"s": "a", "items": [{}]}}"#, items.join(","))).unwrap();
        let mut e = Editor::new(doc, None, Style::default());
        let nodes = COUNT_AT_ONCE_UP_TO + 3;
        assert_eq!(e.node_count(), nodes);
        // Typing leaves the count as it is, with nothing to count.
        e.set_string(&Pointer::parse("/s").unwrap(), "ab").unwrap();
        assert!(!e.is_counting());
        assert!(e.tick(Duration::ZERO));
        // A change of shape is counted again, in slices: the last count shows meanwhile.
        e.edit(op(
            r#"[{"op": "add", "path": "/items/-", "value": [1, 2]}]"#,
        ))
        .unwrap();
        assert!(e.is_counting());
        assert!(!e.tick(Duration::ZERO));
        assert_eq!(e.node_count(), nodes);
        while !e.tick(Duration::ZERO) {}
        assert!(!e.is_counting());
        assert_eq!(e.node_count(), nodes + 3);
    }
}
