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
                text: sync_core::export::patch_text(&plain),
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
mod tests;
