//! Two concurrent changes through the Authority: A and B are made on the same revision, A is
//! sequenced first, B is rebased over it.

use sync_core::authority::{Authority, AuthorityConfig, Outcome, Submission};
use sync_core::protocol::{ClientId, Commit, Revision, Role, ServerMessage};
use sync_core::{Change, Value};

pub struct Run {
    pub doc: Value,
    pub b: Result<Commit, (String, String)>,
}

/// Applies A then B, both made on revision 0 of `doc`.
pub fn concurrent(doc: &str, a: &str, b: &str) -> Run {
    let mut authority = Authority::new(Value::parse(doc).unwrap(), AuthorityConfig::default());
    let (ann, bob) = (ClientId::from("ann"), ClientId::from("bob"));
    let submit = |authority: &mut Authority, client: &ClientId, author: &str, ops: &str| {
        authority.submit(&Submission {
            client,
            author,
            role: Role::Write,
            seq: 1,
            base_rev: Revision(0),
            ops: Change::from_json(ops).unwrap().0,
            overwrites: &[],
            now: 1000,
        })
    };
    let Outcome::Applied { .. } = submit(&mut authority, &ann, "Ann", a) else {
        panic!("A applies")
    };
    let b = match submit(&mut authority, &bob, "Bob", b) {
        Outcome::Applied {
            commit,
            ack,
            broadcast,
        } => {
            // The sender and everyone else hear of the same conflicts.
            let ServerMessage::Ack { conflicts, .. } = ack else {
                panic!()
            };
            let ServerMessage::Applied { commit: told, .. } = broadcast else {
                panic!()
            };
            assert_eq!(conflicts, commit.conflicts);
            assert_eq!(told, commit);
            Ok(commit)
        }
        Outcome::Rejected {
            reject: ServerMessage::Reject { code, message, .. },
        } => Err((code, message)),
        other => panic!("unexpected {other:?}"),
    };
    Run {
        doc: authority.document().clone(),
        b,
    }
}

pub fn json(v: &Value) -> String {
    v.to_json()
}
