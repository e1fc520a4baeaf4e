//! Every loss reaches its loser, also when it catches up by snapshot: the welcome carries the
//! conflict records of every change the snapshot skips, those older than the relay keeps in
//! memory (read from its store) before those it keeps, and only the client's own.

use e2e::{Client, TestRelay, error_code};
use sync_core::Operation;
use sync_core::protocol::{CatchUp, ClientMessage, Revision, ServerMessage};

use crate::{add, replace};

/// Few enough changes in memory that the test's early ones are only in the store.
const RETAINED: usize = 3;

/// Sends a change and waits for its ack; returns the revision it made.
async fn submit(client: &mut Client, seq: u64, base_rev: u64, op: Operation) -> Revision {
    client
        .send(&ClientMessage::Submit {
            seq,
            base_rev: Revision(base_rev),
            ops: vec![op],
            overwrites: vec![],
        })
        .await
        .unwrap();
    match client
        .recv_until(|m| matches!(m, ServerMessage::Ack { seq: s, .. } if *s == seq))
        .await
        .unwrap()
    {
        ServerMessage::Ack { rev, .. } => rev,
        other => panic!("not an ack: {other:?}"),
    }
}

/// Sends a change and goes away without reading its answer, once `witness` has seen it
/// applied as `rev` (a window whose connection dropped with the ack on its way).
async fn submit_and_leave(
    mut client: Client,
    witness: &mut Client,
    (seq, base_rev): (u64, u64),
    op: Operation,
    rev: u64,
) {
    client
        .send(&ClientMessage::Submit {
            seq,
            base_rev: Revision(base_rev),
            ops: vec![op],
            overwrites: vec![],
        })
        .await
        .unwrap();
    witness
        .recv_until(
            |m| matches!(m, ServerMessage::Applied { commit, .. } if commit.rev == Revision(rev)),
        )
        .await
        .unwrap();
    client.close().await;
}

/// The welcome a client that holds `last_rev` gets: a snapshot at `head`, whose conflict
/// records are returned as (revision, path, loser).
async fn losses(
    relay: &TestRelay,
    client: &str,
    last_rev: Option<u64>,
    head: u64,
) -> Vec<(u64, String, String)> {
    let (_client, welcome) = Client::join(relay.addr, "doc", client, None, last_rev.map(Revision))
        .await
        .unwrap();
    let ServerMessage::Welcome {
        rev,
        catch_up: CatchUp::Snapshot { conflicts, .. },
        ..
    } = welcome
    else {
        panic!("{client} expected a snapshot: {welcome:?}")
    };
    assert_eq!(rev, Revision(head));
    conflicts
        .into_iter()
        .map(|c| (c.rev.0, c.path.to_string(), c.loser.client.0))
        .collect()
}

fn records(records: &[(u64, &str, &str)]) -> Vec<(u64, String, String)> {
    records
        .iter()
        .map(|(rev, path, loser)| (*rev, (*path).to_owned(), (*loser).to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_catch_up_carries_every_loss_of_its_client_older_ones_first() {
    let relay = TestRelay::start(|c| c.documents.retained_changes = RETAINED)
        .await
        .unwrap();
    let dir = relay.data_dir.clone();
    let (mut b, _) = Client::join(relay.addr, "doc", "b", None, None)
        .await
        .unwrap();
    submit(&mut b, 1, 0, add("/title", "\"t\"")).await;
    submit(&mut b, 2, 1, add("/note", "\"n\"")).await;
    // Ann and Cat hold revision 2.
    let (mut a, _) = Client::join(relay.addr, "doc", "a", None, None)
        .await
        .unwrap();
    let (c, _) = Client::join(relay.addr, "doc", "c", None, None)
        .await
        .unwrap();
    // Ann sets the title (revision 3).
    let title = replace("/title", "\"Ann's\"");
    assert_eq!(submit(&mut a, 1, 2, title).await, Revision(3));
    // Bob, who had not seen it, overwrites it: a loss of Ann's, at revision 4.
    let title = replace("/title", "\"Bob's\"");
    assert_eq!(submit(&mut b, 3, 2, title).await, Revision(4));
    // Ann's connection drops with a change to the note in flight (revision 5), Cat's with one
    // adding her line (revision 6): they hold revisions 3 and 2.
    let note = replace("/note", "\"Ann's note\"");
    submit_and_leave(a, &mut b, (2, 3), note, 5).await;
    submit_and_leave(c, &mut b, (1, 2), add("/c", "\"Cat's\""), 6).await;
    // Bob overwrites both, not having seen them: losses at revisions 7 and 8.
    let note = replace("/note", "\"Bob's note\"");
    assert_eq!(submit(&mut b, 4, 4, note).await, Revision(7));
    let line = add("/c", "\"Bob's line\"");
    assert_eq!(submit(&mut b, 5, 5, line).await, Revision(8));
    assert_eq!(submit(&mut b, 6, 8, add("/n", "9")).await, Revision(9));
    // The relay keeps revisions 7 to 9 in memory: revision 4 is only in its store.

    // Ann, back with revision 3: the old loss from the store, then the recent one.
    let ann = records(&[(4, "/title", "a"), (7, "/note", "a")]);
    assert_eq!(losses(&relay, "a", Some(3), 9).await, ann);
    // Cat, whose only loss is recent, gets it and none of Ann's.
    let cat = records(&[(8, "/c", "c")]);
    assert_eq!(losses(&relay, "c", Some(2), 9).await, cat);
    // Only those in the changes skipped; none for a client that holds nothing.
    let recent = records(&[(7, "/note", "a")]);
    assert_eq!(losses(&relay, "a", Some(4), 9).await, recent);
    assert_eq!(losses(&relay, "d", Some(1), 9).await, records(&[]));
    assert_eq!(losses(&relay, "a", None, 9).await, records(&[]));

    // The same after a restart, with the Authority rebuilt from the store.
    b.close().await;
    relay.stop().await.unwrap();
    let relay = TestRelay::start_in(&dir, |c| c.documents.retained_changes = RETAINED)
        .await
        .unwrap();
    assert_eq!(losses(&relay, "a", Some(3), 9).await, ann);
    assert_eq!(losses(&relay, "c", Some(2), 9).await, cat);
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loss_the_store_cannot_read_back_refuses_the_welcome_rather_than_hide_it() {
    let relay = TestRelay::start(|c| c.documents.retained_changes = 1)
        .await
        .unwrap();
    let (mut a, _) = Client::join(relay.addr, "doc", "a", None, None)
        .await
        .unwrap();
    let (mut b, _) = Client::join(relay.addr, "doc", "b", None, None)
        .await
        .unwrap();
    submit(&mut a, 1, 0, add("/title", "\"Ann's\"")).await;
    submit(&mut b, 1, 0, add("/title", "\"Bob's\"")).await;
    submit(&mut b, 2, 2, add("/n", "3")).await;
    // The record of Ann's loss, at revision 2, is damaged on disk.
    let db = relay.data_dir.join("concord.sqlite3");
    rusqlite::Connection::open(db)
        .unwrap()
        .execute(
            r#"UPDATE changes SET conflicts = '[{"loser": {"client": "a"' WHERE rev = 2"#,
            [],
        )
        .unwrap();
    let (mut ann, welcome) = Client::join(relay.addr, "doc", "a", None, Some(Revision(1)))
        .await
        .unwrap();
    assert_eq!(error_code(&welcome), "document_unavailable");
    ann.closed().await.unwrap();
    // Others are served as before.
    assert!(losses(&relay, "c", Some(1), 3).await.is_empty());
    relay.stop().await.unwrap();
}
