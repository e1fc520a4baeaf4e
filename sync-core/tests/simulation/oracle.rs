//! The oracle: once the network is quiet, every replica equals the Authority, every acknowledged
//! change is in the log exactly once, and every marker someone wrote is accounted for (see the
//! simulation's header).

use std::collections::{HashMap, HashSet};

use sync_core::authority::Authority;
use sync_core::protocol::Revision;
use sync_core::{Operation, Value};

use super::World;

impl World {
    pub(crate) fn check(&self) {
        let head = self.authority.document();
        for (i, c) in self.clients.iter().enumerate() {
            assert_eq!(c.replica.pending(), 0, "c{i} still has pending changes");
            assert_eq!(
                c.replica.rev(),
                Some(self.authority.rev()),
                "c{i} is behind"
            );
            assert_eq!(c.replica.view(), head, "c{i} diverged");
            assert_eq!(
                c.replica.view().to_json(),
                head.to_json(),
                "c{i} differs in member order"
            );
        }
        // No change applied twice.
        let mut seen = HashSet::new();
        for commit in &self.log {
            assert!(
                seen.insert((commit.client.clone(), commit.seq)),
                "{} seq {} applied twice",
                commit.client,
                commit.seq
            );
        }
        // Every acknowledged change is in the log, at the revision its ack named.
        for (i, seq, rev) in &self.acked {
            let commit = self
                .log
                .get(rev.0 as usize - 1)
                .expect("acked revision exists");
            assert_eq!(
                (&commit.client.0, commit.seq),
                (&format!("c{i}"), *seq),
                "ack for c{i} seq {seq} at {rev}"
            );
        }
        // The durable log rebuilds the same document.
        let rebuilt = Authority::restore(
            self.initial.clone(),
            Revision(0),
            self.log.clone(),
            [],
            self.config,
        )
        .unwrap();
        assert_eq!(rebuilt.document().to_json(), head.to_json());
        // No edit lost without its author being told.
        let mut present = HashSet::new();
        markers(head, &mut present);
        let mut copied = self.copied_markers();
        copied.extend(self.copied.iter().cloned());
        for (mark, i) in &self.written {
            let fine = present.contains(mark)
                || self.taken_out.contains(mark)
                || self.told[*i].contains(mark)
                || copied.contains(mark);
            assert!(
                fine,
                "c{i}'s {mark} was lost and nobody told c{i}: {:#?}",
                self.story(mark)
            );
        }
    }

    /// The markers that ever stood in the document more than once (copied): from then on a
    /// marker no longer names one edit's value, so it is not followed.
    fn copied_markers(&self) -> HashSet<String> {
        let mut copied = HashSet::new();
        let mut doc = self.initial.clone();
        // Operation by operation: a change can copy a value and then edit the original.
        for op in self.log.iter().flat_map(|c| &c.ops) {
            sync_core::Change(vec![op.clone()]).apply(&mut doc).unwrap();
            let mut counts = HashMap::new();
            count_markers(&doc, &mut counts);
            copied.extend(counts.into_iter().filter(|(_, n)| *n > 1).map(|(m, _)| m));
        }
        copied
    }

    /// What the trace says of `mark`, and the commit that took it out of the document.
    fn story(&self, mark: &str) -> Vec<String> {
        let quoted = format!("\"{mark}\"");
        let mut story: Vec<String> = self
            .trace
            .iter()
            .filter(|t| {
                t.contains(&quoted) && !t.contains("local -> view") && !t.contains(" pending ")
            })
            .cloned()
            .collect();
        let mut doc = self.initial.clone();
        let mut had = false;
        for commit in &self.log {
            for op in &commit.ops {
                if let Operation::Move { from, .. } = op {
                    let mut inside = HashSet::new();
                    if let Some(node) = from.resolve(&doc) {
                        markers(node, &mut inside);
                    }
                    if inside.contains(mark) {
                        story.push(format!("moved by {} at {}", commit.client, commit.rev));
                    }
                }
                sync_core::Change(vec![op.clone()]).apply(&mut doc).unwrap();
            }
            let mut now = HashSet::new();
            markers(&doc, &mut now);
            if had && !now.contains(mark) {
                story.push(format!(
                    "taken out by {}",
                    serde_json::to_string(commit).unwrap()
                ));
            }
            had = now.contains(mark);
        }
        story
    }
}

/// Counts the markers in `value`.
pub(crate) fn count_markers(value: &Value, out: &mut HashMap<String, usize>) {
    match value {
        Value::String(text) => {
            let text = text.to_string();
            if is_marker(&text) {
                *out.entry(text).or_default() += 1;
            }
        }
        Value::Array(items) => items.iter().for_each(|v| count_markers(v, out)),
        Value::Object(members) => members.iter().for_each(|(_, v)| count_markers(v, out)),
        _ => {}
    }
}

/// Whether `text` is a marker: `m17@17`. The number is written twice, so that a splice into
/// a marker (which the edits here make) never leaves another valid marker.
pub(crate) fn is_marker(text: &str) -> bool {
    let number = |n: &str| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
    text.strip_prefix('m')
        .and_then(|rest| rest.split_once('@'))
        .is_some_and(|(a, b)| number(a) && a == b)
}

/// Adds the markers in `value` to `out`.
pub(crate) fn markers(value: &Value, out: &mut HashSet<String>) {
    match value {
        Value::String(text) => {
            let text = text.to_string();
            if is_marker(&text) {
                out.insert(text);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| markers(v, out)),
        Value::Object(members) => members.iter().for_each(|(_, v)| markers(v, out)),
        _ => {}
    }
}

/// Adds the markers an operation writes to `out`.
pub(crate) fn op_markers(op: &Operation, out: &mut HashSet<String>) {
    match op {
        Operation::Add { value, .. }
        | Operation::Replace { value, .. }
        | Operation::Merge { value, .. } => markers(value, out),
        _ => {}
    }
}
