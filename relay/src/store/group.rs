//! What the writers of both stores share: the requests they serve in order, the refusals made
//! before anything is written, and how the answers of a group commit are given out.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};

use sync_core::protocol::Conflict;
use tokio::sync::oneshot;

use super::rows::Prepared;
use super::{ConflictQuery, Loaded, StoreError};

/// What a writer is asked, in the order it must serve it.
pub(super) enum Job {
    Load {
        doc: String,
        reply: oneshot::Sender<Result<Option<Loaded>, StoreError>>,
    },
    Commit {
        batch: Prepared,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    Conflicts {
        query: ConflictQuery,
        reply: oneshot::Sender<Result<Vec<Conflict>, StoreError>>,
    },
    Close,
}

/// A commit request waiting for its group's transaction.
pub(super) struct Pending {
    pub(super) batch: Prepared,
    pub(super) reply: oneshot::Sender<Result<(), StoreError>>,
}

/// Why `batch` is refused before anything of it is written, if it is: a failure injected by
/// [`Store::fail_next_commits`](super::Store::fail_next_commits) (which this uses up), or a
/// document whose last load failed.
pub(super) fn refused_before_writing(
    fail_next: &AtomicU32,
    unloadable: &HashSet<String>,
    batch: &Prepared,
) -> Option<StoreError> {
    let injected = fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if injected {
        Some(StoreError::Injected)
    } else if unloadable.contains(&batch.doc) {
        Some(StoreError::Corrupt {
            doc: batch.doc.clone(),
            detail: "the document failed to load, so it is not written".to_owned(),
        })
    } else {
        None
    }
}

/// Whether `batch` fits a log whose stored head is `head`: its changes must start right after
/// it, and its snapshot must not be ahead of the log once they are added.
pub(super) fn misfit(batch: &Prepared, head: u64) -> Option<StoreError> {
    let doc = batch.doc.as_str();
    let mut new_head = head;
    if let Some((first, last)) = batch.revs {
        // `head` came from an i64, so this cannot overflow.
        let expected = head.saturating_add(1);
        if first != expected {
            return Some(StoreError::Gap {
                doc: doc.to_owned(),
                expected,
                found: first,
            });
        }
        new_head = last;
    }
    match &batch.snapshot {
        Some(snapshot) if snapshot.rev > new_head => Some(StoreError::Invalid {
            doc: doc.to_owned(),
            detail: format!(
                "the snapshot at r{} is ahead of the log, which ends at r{new_head}",
                snapshot.rev
            ),
        }),
        _ => None,
    }
}

/// Answers every caller of a group: `refused` holds, per batch examined, why it was refused
/// on its own; `result` is the transaction's, with the index of the batch that failed it (if
/// one did). When the transaction failed, a batch refused on its own gets its refusal, the
/// culprit (or the first batch) gets the original error and every other batch
/// [`StoreError::Failed`] with its message.
pub(super) fn answer(
    group: Vec<Pending>,
    refused: Vec<Option<StoreError>>,
    result: Result<(), (Option<usize>, StoreError)>,
) {
    match result {
        Ok(()) => {
            tracing::debug!(batches = group.len(), "group committed");
            for (pending, refusal) in group.into_iter().zip(refused) {
                // The caller may have stopped waiting; that is fine.
                let _ = pending.reply.send(refusal.map_or(Ok(()), Err));
            }
        }
        Err((culprit, error)) => {
            tracing::error!(%error, batches = group.len(), "a group commit failed");
            let message = error.to_string();
            let mut original = Some(error);
            let mut refused = refused.into_iter();
            for (index, pending) in group.into_iter().enumerate() {
                let answer = match refused.next().flatten() {
                    Some(own) => own,
                    None if culprit.is_none_or(|c| c == index) => original
                        .take()
                        .unwrap_or_else(|| StoreError::Failed(message.clone())),
                    None => StoreError::Failed(message.clone()),
                };
                let _ = pending.reply.send(Err(answer));
            }
        }
    }
}
