//! The history panel's model: the revisions the relay retains, a read-only view of the
//! document at one of them, reverting one change and restoring a whole revision.
//!
//! Both revert and restore become an ordinary new change that everyone receives: history is
//! never rewritten. Reverting change `r` takes the document just before it (a snapshot at
//! `r - 1`), applies `r` to get its inverse, and rebases that inverse over every change after
//! `r` exactly as the relay would (through a scratch [`Authority`]), so it undoes `r` alone and
//! keeps the work done since.

use sync_core::authority::{Authority, AuthorityConfig, Outcome, Submission};
use sync_core::protocol::{ClientId, ClientMessage, Commit, Revision, Role, ServerMessage};
use sync_core::{Operation, Value};

/// Revisions asked for when the panel opens (the most recent ones).
pub const PAGE: u64 = 200;

/// What the panel waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiting {
    /// A read-only view of the document at this revision.
    View(Revision),
    /// The document before this change, to revert it.
    Revert(Revision),
    /// The document at this revision, to restore it.
    Restore(Revision),
    /// The document at this revision, to export the changes after it.
    Export(Revision),
}

/// The history panel's state.
#[derive(Debug, Default)]
pub struct History {
    /// The retained changes received, oldest first.
    pub commits: Vec<Commit>,
    /// A document at a revision, as indented JSON, shown read-only.
    pub viewing: Option<(Revision, String)>,
    /// What the panel waits for, if anything.
    waiting: Option<Waiting>,
    /// For a revert or an export: the document at the revision it needs, once it came. The
    /// answer waits until the changes after it are all here, up to the confirmed head.
    before: Option<(Revision, Value)>,
    /// The page of changes last asked for, to fill a revert's or an export's range.
    asked_from: Option<Revision>,
    /// The head revision the list was last asked for at.
    asked_at: Option<Revision>,
}

/// What the session should do once a history answer arrived.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Nothing more.
    Nothing,
    /// Apply this change locally (and so send it): a revert or a restore.
    Edit {
        /// The change.
        ops: Vec<Operation>,
        /// What it does, for the status bar.
        what: String,
    },
    /// Save this patch (the changes since a revision) to a file.
    Export {
        /// The patch, as RFC 6902 text.
        text: String,
        /// What it holds, for the status bar.
        what: String,
    },
    /// It could not be done.
    Failed(String),
}

impl History {
    /// Whether an answer is awaited.
    pub fn is_waiting(&self) -> bool {
        self.waiting.is_some()
    }

    /// The request that brings the list up to `head`, unless it was already asked for there.
    pub fn refresh(&mut self, head: Option<Revision>) -> Option<ClientMessage> {
        let head = head?;
        if self.asked_at == Some(head) {
            return None;
        }
        self.asked_at = Some(head);
        let from = Revision(head.0.saturating_sub(PAGE - 1).max(1));
        Some(ClientMessage::History { from, to: None })
    }

    /// Whether changes older than those listed exist.
    pub fn has_older(&self) -> bool {
        self.commits.first().is_some_and(|c| c.rev.0 > 1)
    }

    /// The request for the page of changes before those listed (the relay reads them from its
    /// log however old they are).
    pub fn older(&self) -> Option<ClientMessage> {
        let first = self.commits.first()?.rev;
        if first.0 <= 1 {
            return None;
        }
        let to = Revision(first.0 - 1);
        let from = Revision(to.0.saturating_sub(PAGE - 1).max(1));
        Some(ClientMessage::History { from, to: Some(to) })
    }

    /// Forgets what was asked (after a reconnect, answers to earlier requests never come).
    pub fn reset_requests(&mut self) {
        self.asked_at = None;
        self.waiting = None;
        self.before = None;
        self.asked_from = None;
    }

    /// Starts waiting for `waiting` afresh.
    fn wait_for(&mut self, waiting: Waiting) {
        self.waiting = Some(waiting);
        self.before = None;
        self.asked_from = None;
    }

    /// Asks for the document at `rev`, to show it.
    pub fn view(&mut self, rev: Revision) -> ClientMessage {
        self.wait_for(Waiting::View(rev));
        ClientMessage::Snapshot { rev: Some(rev) }
    }

    /// The entries the panel lists, newest first: one per change, except that the changes of
    /// a typing group (see [`sync_core::history`]) make one entry, placed at its newest.
    pub fn entries(&self) -> Vec<Entry<'_>> {
        let mut entries: Vec<Entry<'_>> = Vec::new();
        let mut at: std::collections::HashMap<Revision, usize> = std::collections::HashMap::new();
        for commit in &self.commits {
            let first = commit.group.unwrap_or(commit.rev);
            match at.get(&first).and_then(|&i| entries.get_mut(i)) {
                Some(entry) => {
                    entry.last = commit;
                    entry.count += 1;
                    entry.typed = entry.typed.take().and_then(|t| t.then(&commit.ops));
                }
                None => {
                    at.insert(first, entries.len());
                    entries.push(Entry {
                        first,
                        last: commit,
                        count: 1,
                        typed: Typed::start(&commit.ops),
                    });
                }
            }
        }
        entries.sort_by_key(|e| std::cmp::Reverse(e.last.rev));
        entries
    }

    /// Asks for what reverting the entry that began at `rev` (a change, or a typing group)
    /// needs: the changes from it on and the document before it.
    pub fn revert(&mut self, rev: Revision) -> Vec<ClientMessage> {
        self.wait_for(Waiting::Revert(rev));
        vec![
            ClientMessage::History {
                from: rev,
                to: None,
            },
            ClientMessage::Snapshot {
                rev: Some(Revision(rev.0.saturating_sub(1))),
            },
        ]
    }

    /// Asks for what exporting the changes after `rev` needs: those changes and the document
    /// at `rev`.
    pub fn export_since(&mut self, rev: Revision) -> Vec<ClientMessage> {
        self.wait_for(Waiting::Export(rev));
        vec![
            ClientMessage::History {
                from: rev.next(),
                to: None,
            },
            ClientMessage::Snapshot { rev: Some(rev) },
        ]
    }

    /// Asks for the document at `rev`, to make it the document again.
    pub fn restore(&mut self, rev: Revision) -> ClientMessage {
        self.wait_for(Waiting::Restore(rev));
        ClientMessage::Snapshot { rev: Some(rev) }
    }

    /// Takes in a page of changes the relay sent (`next`: where the rest of the range it
    /// answers starts, asked for at once: the request is returned).
    pub fn receive_changes(
        &mut self,
        changes: Vec<Commit>,
        next: Option<Revision>,
    ) -> Option<ClientMessage> {
        if let Some(first) = changes.first().map(|c| c.rev) {
            // Keep what came before `first`; the answer replaces what it covers.
            let last = changes.last().map_or(first, |c| c.rev);
            self.commits.retain(|c| c.rev < first || c.rev > last);
            let at = self.commits.partition_point(|c| c.rev < first);
            self.commits.splice(at..at, changes);
        }
        // A page that ends before the range asked for is followed by the rest, so the list
        // has no holes and a revert or an export gets everything it needs.
        next.and_then(|next| self.ask_from(next))
    }

    /// Asks for the changes from `from` on, unless that page was asked for already.
    fn ask_from(&mut self, from: Revision) -> Option<ClientMessage> {
        if self.asked_from == Some(from) {
            return None;
        }
        self.asked_from = Some(from);
        Some(ClientMessage::History { from, to: None })
    }

    /// Takes in a document the relay sent; `view` is the document as it is now, `head` the
    /// confirmed revision. A revert or an export may have to wait for more changes: what to
    /// ask for then is in [`History::finish`].
    pub fn receive_snapshot(&mut self, rev: Revision, doc: &Value, view: &Value) -> Answer {
        match self.waiting {
            Some(Waiting::Export(since)) if since == rev => {
                self.before = Some((rev, doc.clone()));
                return Answer::Nothing;
            }
            Some(Waiting::Revert(target)) if target.0.saturating_sub(1) == rev.0 => {
                self.before = Some((rev, doc.clone()));
                return Answer::Nothing;
            }
            _ => {}
        }
        match self.waiting.take() {
            Some(Waiting::View(wanted)) if wanted == rev => {
                self.viewing = Some((rev, doc.to_json_pretty()));
                Answer::Nothing
            }
            Some(Waiting::Restore(wanted)) if wanted == rev => {
                let change = sync_core::diff::diff(view, doc);
                if change.is_empty() {
                    return Answer::Failed(format!("the document is already as it was at {rev}"));
                }
                Answer::Edit {
                    ops: change.0,
                    what: format!("restored the document as it was at {rev}"),
                }
            }
            // Not ours, or a stale answer.
            other => {
                self.waiting = other;
                Answer::Nothing
            }
        }
    }

    /// Completes a revert or an export once its document and every change from it up to the
    /// confirmed `head` are here; until then, says which page to ask for, if one is missing
    /// and not asked for yet.
    pub fn finish(&mut self, head: Revision) -> (Option<ClientMessage>, Answer) {
        let (Some(waiting @ (Waiting::Revert(_) | Waiting::Export(_))), Some((rev, _))) =
            (self.waiting, &self.before)
        else {
            return (None, Answer::Nothing);
        };
        let first = rev.next();
        // The first revision from `first` on that is not here, if any up to the head.
        let mut expected = first;
        for commit in self.commits.iter().filter(|c| c.rev >= first) {
            if commit.rev != expected {
                break;
            }
            expected = expected.next();
        }
        if expected <= head {
            return (self.ask_from(expected), Answer::Nothing);
        }
        self.waiting = None;
        self.asked_from = None;
        let Some((rev, doc)) = self.before.take() else {
            return (None, Answer::Nothing);
        };
        let answer = match waiting {
            Waiting::Export(_) => self.export(rev, &doc, head),
            _ => self.revert_now(rev.next(), &doc, head),
        };
        (None, answer)
    }

    /// Reverts the entry that began at `target`, the document before it being `doc`, over the
    /// changes up to the confirmed `head` (what the relay will rebase the revert from).
    fn revert_now(&self, target: Revision, doc: &Value, head: Revision) -> Answer {
        {
            {
                let Some(index) = self.commits.iter().position(|c| c.rev == target) else {
                    return Answer::Failed(format!("{target} is no longer retained"));
                };
                let end = self.commits.partition_point(|c| c.rev <= head);
                let since = self.commits.get(index..end.max(index)).unwrap_or_default();
                let members: Vec<Revision> = since
                    .iter()
                    .filter(|c| c.rev == target || c.group == Some(target))
                    .map(|c| c.rev)
                    .collect();
                let what = match members.as_slice() {
                    [_] => format!("{target}"),
                    [.., last] => format!("{target}–{last}"),
                    [] => format!("{target}"),
                };
                let described = since.first().map(|c| summary(&c.ops)).unwrap_or_default();
                match revert_ops(doc, since, &members) {
                    Ok(ops) if ops.is_empty() => Answer::Failed(format!(
                        "nothing of {what} is left to revert: later changes replaced it"
                    )),
                    Ok(ops) => Answer::Edit {
                        ops,
                        what: format!("reverted {what} ({described})"),
                    },
                    Err(e) => Answer::Failed(format!("cannot revert {what}: {e}")),
                }
            }
        }
    }

    /// The changes after `rev` up to `head` (the document at `rev` being `doc`) as one plain
    /// RFC 6902 patch.
    fn export(&self, rev: Revision, doc: &Value, head: Revision) -> Answer {
        let later: Vec<&Commit> = self
            .commits
            .iter()
            .filter(|c| c.rev > rev && c.rev <= head)
            .collect();
        if later.is_empty() {
            return Answer::Failed(format!("nothing changed since {rev}"));
        }
        let contiguous = later
            .iter()
            .zip(rev.0 + 1..)
            .all(|(c, expected)| c.rev.0 == expected);
        if !contiguous {
            return Answer::Failed(format!("the changes since {rev} are not all retained"));
        }
        let ops: Vec<Operation> = later.iter().flat_map(|c| c.ops.iter().cloned()).collect();
        match sync_core::export::to_rfc6902(doc, &sync_core::Change(ops)) {
            Ok(plain) => Answer::Export {
                text: crate::ui::patch_text(&plain),
                what: format!(
                    "the {} since {rev}",
                    crate::words::counted(later.len(), "change", "changes")
                ),
            },
            Err(e) => Answer::Failed(format!("cannot export the changes since {rev}: {e}")),
        }
    }

    /// The relay could not serve a request (`not_retained`, or `invalid_range` when it is
    /// behind this window).
    pub fn failed(&mut self) -> bool {
        self.before = None;
        self.asked_from = None;
        self.waiting.take().is_some()
    }
}

/// The change that undoes the changes `members` of `since` (the changes from the first
/// member on, `before` being the document just before it), as it would apply after all of
/// `since`. Members that follow one another make one run, undone as one change (so that a
/// letter typed and then deleted within it stays deleted); each run's inverse, newest first,
/// is rebased over everything after it (the reverts of newer runs included) the way the relay
/// rebases a concurrent change.
pub fn revert_ops(
    before: &Value,
    since: &[Commit],
    members: &[Revision],
) -> Result<Vec<Operation>, String> {
    // Each run's inverse, in the document just after it, and how many changes that is.
    let mut doc = before.clone();
    let mut inverses: Vec<(u64, Vec<Operation>)> = Vec::new();
    let mut run: Vec<Operation> = Vec::new();
    for (i, change) in since.iter().enumerate() {
        if members.contains(&change.rev) {
            run.extend(change.ops.iter().cloned());
        } else {
            end_run(&mut doc, &mut run, i as u64, &mut inverses)?;
            sync_core::apply::apply(&mut doc, &change.ops)
                .map_err(|e| format!("{} does not replay: {e}", change.rev))?;
        }
    }
    end_run(&mut doc, &mut run, since.len() as u64, &mut inverses)?;
    drop(doc);
    // It keeps every change of `since`: the oldest inverse is rebased over all of them.
    let config = AuthorityConfig {
        retained: since.len() + 1,
        ..AuthorityConfig::default()
    };
    let mut scratch = Authority::new(before.clone(), config);
    let history = ClientId::from("history");
    let revert = ClientId::from("revert");
    for (i, change) in since.iter().enumerate() {
        let i = i as u64;
        let outcome = scratch.submit(&Submission {
            client: &history,
            author: "",
            role: Role::Write,
            seq: i + 1,
            base_rev: Revision(i),
            ops: change.ops.clone(),
            overwrites: &[],
            now: 0,
        });
        if !matches!(outcome, Outcome::Applied { .. }) {
            return Err(format!("{} does not replay", change.rev));
        }
    }
    let mut ops = Vec::new();
    for (seq, (after, inverse)) in inverses.into_iter().rev().enumerate() {
        let outcome = scratch.submit(&Submission {
            client: &revert,
            author: "",
            role: Role::Write,
            seq: seq as u64 + 1,
            base_rev: Revision(after),
            ops: inverse,
            overwrites: &[],
            now: 0,
        });
        match outcome {
            Outcome::Applied { commit, .. } => ops.extend(commit.ops),
            Outcome::Rejected {
                reject: ServerMessage::Reject { message, .. },
            } => return Err(message),
            _ => return Err("the revert did not apply".to_owned()),
        }
    }
    Ok(ops)
}

/// Applies the run of members' operations `run` (if any) to `doc`, which ends after `after`
/// changes, and notes its inverse.
fn end_run(
    doc: &mut Value,
    run: &mut Vec<Operation>,
    after: u64,
    inverses: &mut Vec<(u64, Vec<Operation>)>,
) -> Result<(), String> {
    if run.is_empty() {
        return Ok(());
    }
    let inverse = sync_core::apply::apply(doc, run).map_err(|e| e.to_string())?;
    run.clear();
    inverses.push((after, inverse.0));
    Ok(())
}

/// One entry of the history panel: a change, or the changes of one typing group (others'
/// changes may come between them).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<'a> {
    /// The revision that began it.
    pub first: Revision,
    /// Its newest change.
    pub last: &'a Commit,
    /// How many changes it holds.
    pub count: usize,
    /// The text its changes typed, when they only typed forward in one string.
    typed: Option<Typed>,
}

/// Text typed forward in one string, a change after another.
#[derive(Debug, Clone, PartialEq)]
struct Typed {
    path: sync_core::Pointer,
    /// Where the next character goes.
    next: usize,
    text: String,
}

impl Typed {
    /// The text a change typed, if it only inserted text in one string.
    fn start(ops: &[Operation]) -> Option<Typed> {
        match ops {
            [
                Operation::Splice {
                    path,
                    pos,
                    del: 0,
                    ins,
                },
            ] => Some(Typed {
                path: path.clone(),
                next: pos + ins.chars().count(),
                text: ins.clone(),
            }),
            _ => None,
        }
    }

    /// The text with the next change's, if it typed on right after it.
    fn then(mut self, ops: &[Operation]) -> Option<Typed> {
        let next = Typed::start(ops)?;
        if next.path != self.path || next.next != self.next + next.text.chars().count() {
            return None;
        }
        self.next = next.next;
        self.text.push_str(&next.text);
        Some(self)
    }
}

impl Entry<'_> {
    /// Its revisions, as people read them: `r31`, or `r31–r35` for a group.
    pub fn revisions(&self) -> String {
        let last = self.last.rev;
        if last == self.first {
            last.to_string()
        } else {
            format!("{}–{last}", self.first)
        }
    }

    /// What it did, in one line: the text typed, when it typed on in one string.
    pub fn summary(&self) -> String {
        if let Some(typed) = &self.typed {
            const SHOWN: usize = 40;
            let text: String = typed.text.chars().take(SHOWN).collect();
            let more = if typed.text.chars().count() > SHOWN {
                "…"
            } else {
                ""
            };
            let text = serde_json::to_string(&text).unwrap_or_default();
            let text = text.strip_suffix('"').unwrap_or(&text);
            return format!("typed {text}{more}\" in {}", typed.path);
        }
        let described = summary(&self.last.ops);
        match self.count {
            1 => described,
            n => format!(
                "{described} ({})",
                crate::words::counted(n, "change", "changes")
            ),
        }
    }
}

/// A one-line account of a change: its first operation and how many more there are.
pub fn summary(ops: &[Operation]) -> String {
    let Some(first) = ops.first() else {
        return "no change".to_owned();
    };
    let path = first.path();
    let at = if path.is_root() {
        "the document".to_owned()
    } else {
        path.to_string()
    };
    let verb = match first {
        Operation::Add { .. } => "added",
        Operation::Remove { .. } => "removed",
        Operation::Replace { .. } => "set",
        Operation::Move { .. } => "moved",
        Operation::Copy { .. } => "copied to",
        Operation::Test { .. } => "checked",
        Operation::Splice { .. } => "typed in",
        Operation::Incr { .. } => "incremented",
        Operation::Merge { .. } => "merged into",
    };
    match ops.len() {
        1 => format!("{verb} {at}"),
        n => format!("{verb} {at} and {} more", n - 1),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use sync_core::Change;

    fn commit(rev: u64, ops: &str) -> Commit {
        Commit {
            rev: Revision(rev),
            client: ClientId::from("someone"),
            seq: rev,
            author: "Ann".to_owned(),
            time: 0,
            ops: Change::from_json(ops).unwrap().0,
            conflicts: Vec::new(),
            group: None,
        }
    }

    #[test]
    fn reverting_one_change_keeps_the_later_ones() {
        // r1 inserts "x"; r2 inserts before it and r3 adds a member, after it.
        let before = Value::parse(r#"{"list": ["a", "b"]}"#).unwrap();
        let r1 = commit(1, r#"[{"op": "add", "path": "/list/1", "value": "x"}]"#);
        let r2 = commit(2, r#"[{"op": "add", "path": "/list/0", "value": "first"}]"#);
        let r3 = commit(3, r#"[{"op": "add", "path": "/title", "value": "T"}]"#);
        let ops = revert_ops(&before, &[r1, r2, r3], &[Revision(1)]).unwrap();
        // The inserted "x" is now at index 2.
        let mut head = Value::parse(r#"{"list": ["first", "a", "x", "b"], "title": "T"}"#).unwrap();
        sync_core::apply::apply(&mut head, &ops).unwrap();
        assert_eq!(head.to_json(), r#"{"list":["first","a","b"],"title":"T"}"#);
    }

    fn typed(
        rev: u64,
        group: Option<u64>,
        client: &str,
        path: &str,
        pos: usize,
        text: &str,
    ) -> Commit {
        let ops = format!(
            r#"[{{"op": "splice", "path": "{path}", "pos": {pos}, "del": 0, "ins": "{text}"}}]"#
        );
        Commit {
            client: ClientId::from(client),
            group: group.map(Revision),
            ..commit(rev, &ops)
        }
    }

    #[test]
    fn a_typing_group_is_one_entry_and_reverts_as_one_keeping_what_others_typed_between() {
        let before = Value::parse(r#"{"t": "", "u": ""}"#).unwrap();
        // Ann types "hi " then "yo" in /t; Bob types "B" into /t and "x" into /u meanwhile.
        let log = vec![
            typed(1, None, "ann", "/t", 0, "h"),
            typed(2, None, "bob", "/u", 0, "x"),
            typed(3, Some(1), "ann", "/t", 1, "i"),
            typed(4, None, "bob", "/t", 2, "B"),
            typed(5, Some(1), "ann", "/t", 2, " "),
            typed(6, None, "ann", "/t", 4, "y"),
            typed(7, Some(6), "ann", "/t", 5, "o"),
        ];
        let mut history = History::default();
        history.receive_changes(log.clone(), None);
        let entries: Vec<(String, String)> = history
            .entries()
            .iter()
            .map(|e| (e.revisions(), e.summary()))
            .collect();
        assert_eq!(
            entries,
            [
                ("r6–r7".to_owned(), r#"typed "yo" in /t"#.to_owned()),
                ("r1–r5".to_owned(), r#"typed "hi " in /t"#.to_owned()),
                ("r4".to_owned(), r#"typed "B" in /t"#.to_owned()),
                ("r2".to_owned(), r#"typed "x" in /u"#.to_owned()),
            ]
        );
        // Typing that went back (a deletion) is counted, not spelled out.
        let mut edited = History::default();
        let backspace = Commit {
            group: Some(Revision(1)),
            ..commit(
                2,
                r#"[{"op": "splice", "path": "/t", "pos": 0, "del": 1, "ins": ""}]"#,
            )
        };
        edited.receive_changes(vec![typed(1, None, "ann", "/t", 0, "h"), backspace], None);
        assert_eq!(edited.entries()[0].summary(), "typed in /t (2 changes)");
        // Bob's "B" came in after Ann's "hi", before her space.
        let mut head = before.clone();
        for c in &log {
            sync_core::apply::apply(&mut head, &c.ops).unwrap();
        }
        assert_eq!(head.to_json(), r#"{"t":"hi Byo","u":"x"}"#);
        // Reverting Ann's first word takes out "h", "i" and " ", and nothing else.
        let asks = history.revert(Revision(1));
        assert_eq!(asks.len(), 2);
        assert_eq!(
            history.receive_snapshot(Revision(0), &before, &head),
            Answer::Nothing
        );
        let (None, Answer::Edit { ops, what }) = history.finish(Revision(7)) else {
            panic!("no edit");
        };
        assert_eq!(what, "reverted r1–r5 (typed in /t)");
        sync_core::apply::apply(&mut head, &ops).unwrap();
        assert_eq!(head.to_json(), r#"{"t":"Byo","u":"x"}"#);
    }

    #[test]
    fn reverting_a_group_with_a_typo_fixed_in_it_takes_all_of_it_back() {
        // Ann types "ax", deletes the x, types "b": "ab". Reverting the group leaves "".
        let before = Value::parse(r#"{"t": ""}"#).unwrap();
        let backspace = Commit {
            group: Some(Revision(1)),
            ..commit(
                3,
                r#"[{"op": "splice", "path": "/t", "pos": 1, "del": 1, "ins": ""}]"#,
            )
        };
        let log = [
            typed(1, None, "ann", "/t", 0, "a"),
            typed(2, Some(1), "ann", "/t", 1, "x"),
            backspace,
            typed(4, Some(1), "ann", "/t", 1, "b"),
        ];
        let members = [Revision(1), Revision(2), Revision(3), Revision(4)];
        let ops = revert_ops(&before, &log, &members).unwrap();
        let mut head = before;
        for c in &log {
            sync_core::apply::apply(&mut head, &c.ops).unwrap();
        }
        assert_eq!(head.to_json(), r#"{"t":"ab"}"#);
        sync_core::apply::apply(&mut head, &ops).unwrap();
        assert_eq!(head.to_json(), r#"{"t":""}"#);
    }

    #[test]
    fn a_revert_whose_target_is_gone_changes_nothing() {
        let before = Value::parse(r#"{"a": {"n": 1}}"#).unwrap();
        let r1 = commit(1, r#"[{"op": "replace", "path": "/a/n", "value": 2}]"#);
        let r2 = commit(2, r#"[{"op": "remove", "path": "/a"}]"#);
        // Undoing r1 sets /a/n back, but /a is gone: nothing of it applies.
        let ops = revert_ops(&before, &[r1, r2], &[Revision(1)]).unwrap();
        assert!(ops.is_empty(), "{ops:?}");
    }

    #[test]
    fn restore_is_the_diff_to_the_old_document() {
        let mut history = History::default();
        let ask = history.restore(Revision(2));
        assert_eq!(
            ask,
            ClientMessage::Snapshot {
                rev: Some(Revision(2))
            }
        );
        let now = Value::parse(r#"{"a": 1, "b": 2}"#).unwrap();
        let old = Value::parse(r#"{"a": 0}"#).unwrap();
        let Answer::Edit { ops, .. } = history.receive_snapshot(Revision(2), &old, &now) else {
            panic!("no edit");
        };
        let mut doc = now.clone();
        sync_core::apply::apply(&mut doc, &ops).unwrap();
        assert_eq!(doc, old);
        assert!(!history.is_waiting());
    }

    #[test]
    fn older_pages_go_back_to_the_first_change_and_stay_when_the_head_moves() {
        let mut history = History::default();
        assert_eq!(history.older(), None);
        history.receive_changes((301..=500).map(|r| commit(r, "[]")).collect(), None);
        assert!(history.has_older());
        assert_eq!(
            history.older(),
            Some(ClientMessage::History {
                from: Revision(101),
                to: Some(Revision(300))
            })
        );
        history.receive_changes((101..=300).map(|r| commit(r, "[]")).collect(), None);
        history.receive_changes((1..=100).map(|r| commit(r, "[]")).collect(), None);
        assert!(!history.has_older());
        assert_eq!(history.older(), None);
        // The list's refresh at a new head replaces only what it covers.
        history.receive_changes((302..=501).map(|r| commit(r, "[]")).collect(), None);
        let revs: Vec<u64> = history.commits.iter().map(|c| c.rev.0).collect();
        assert_eq!(revs, (1..=501).collect::<Vec<u64>>());
    }

    #[test]
    fn the_list_is_asked_for_once_per_head_and_answers_merge() {
        let mut history = History::default();
        assert_eq!(history.refresh(None), None);
        assert_eq!(
            history.refresh(Some(Revision(500))),
            Some(ClientMessage::History {
                from: Revision(301),
                to: None
            })
        );
        assert_eq!(history.refresh(Some(Revision(500))), None);
        history.receive_changes(vec![commit(1, "[]"), commit(2, "[]")], None);
        history.receive_changes(vec![commit(2, "[]"), commit(3, "[]")], None);
        let revs: Vec<u64> = history.commits.iter().map(|c| c.rev.0).collect();
        assert_eq!(revs, [1, 2, 3]);
    }

    #[test]
    fn the_changes_since_a_revision_export_as_plain_rfc_6902() {
        let mut history = History::default();
        history.receive_changes(
            vec![
                commit(1, r#"[{"op": "add", "path": "/n", "value": 1}]"#),
                commit(2, r#"[{"op": "incr", "path": "/n", "by": 4}]"#),
                commit(3, r#"[{"op": "add", "path": "/s", "value": "ab"}]"#),
            ],
            None,
        );
        let asks = history.export_since(Revision(1));
        assert_eq!(asks.len(), 2);
        let at_r1 = Value::parse(r#"{"n": 1}"#).unwrap();
        history.receive_snapshot(Revision(1), &at_r1, &Value::Null);
        let (None, Answer::Export { text, what }) = history.finish(Revision(3)) else {
            panic!("no export");
        };
        assert_eq!(what, "the 2 changes since r1");
        assert_eq!(
            text,
            "[\n  {\"op\":\"replace\",\"path\":\"/n\",\"value\":5},\n  {\"op\":\"add\",\"path\":\"/s\",\"value\":\"ab\"}\n]\n"
        );
        let mut doc = at_r1;
        sync_core::apply::apply(&mut doc, &Change::from_json(&text).unwrap().0).unwrap();
        assert_eq!(doc.to_json(), r#"{"n":5,"s":"ab"}"#);
        // Nothing after the head, and a gap in what is retained, are said plainly.
        history.export_since(Revision(3));
        history.receive_snapshot(Revision(3), &Value::Null, &Value::Null);
        assert_eq!(
            history.finish(Revision(3)),
            (None, Answer::Failed("nothing changed since r3".to_owned()))
        );
    }

    /// The relay answers `history` a page at a time: a revert waits for every page up to the
    /// head, asking for each, before it computes anything.
    #[test]
    fn a_revert_asks_for_every_page_up_to_the_head_before_it_answers() {
        let set = |rev: u64| {
            commit(
                rev,
                &format!(r#"[{{"op": "replace", "path": "/n", "value": {rev}}}]"#),
            )
        };
        let add_a = commit(2, r#"[{"op": "add", "path": "/a", "value": true}]"#);
        let mut history = History::default();
        history.revert(Revision(2));
        // The first page (r2–r3) says the range goes on at r4.
        let ask = history.receive_changes(vec![add_a, set(3)], Some(Revision(4)));
        assert_eq!(
            ask,
            Some(ClientMessage::History {
                from: Revision(4),
                to: None
            })
        );
        let at_r1 = Value::parse(r#"{"n": 1}"#).unwrap();
        assert_eq!(
            history.receive_snapshot(Revision(1), &at_r1, &Value::Null),
            Answer::Nothing
        );
        // Not all here yet: nothing is computed, and the page asked for is not asked again.
        assert_eq!(history.finish(Revision(5)), (None, Answer::Nothing));
        assert_eq!(
            history.receive_changes(vec![set(4)], Some(Revision(5))),
            Some(ClientMessage::History {
                from: Revision(5),
                to: None
            })
        );
        assert_eq!(history.finish(Revision(5)), (None, Answer::Nothing));
        assert_eq!(history.receive_changes(vec![set(5)], None), None);
        let (None, Answer::Edit { ops, .. }) = history.finish(Revision(5)) else {
            panic!("no edit");
        };
        // r2 is undone, and nothing after it.
        let mut doc = Value::parse(r#"{"n": 5, "a": true}"#).unwrap();
        sync_core::apply::apply(&mut doc, &ops).unwrap();
        assert_eq!(doc.to_json(), r#"{"n":5}"#);
        assert!(!history.is_waiting());
    }

    #[test]
    fn summaries_name_the_first_operation() {
        let ops = Change::from_json(
            r#"[{"op": "replace", "path": "/a", "value": 1}, {"op": "remove", "path": "/b"}]"#,
        )
        .unwrap()
        .0;
        assert_eq!(summary(&ops), "set /a and 1 more");
        assert_eq!(summary(&[]), "no change");
    }
}
