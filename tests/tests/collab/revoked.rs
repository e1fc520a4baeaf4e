//! A window whose token is revoked while it edits: it stops, says why, and keeps what it has.

use relay::auth::registry::{Registry, token_id};
use relay::auth::{Claims, Secret};
use relay::config::Anonymous;
use sync_core::protocol::Role;

use super::*;

#[test]
fn a_revoked_token_takes_the_window_offline_and_says_why() {
    let mut team = Team::with(|c| c.anonymous = Anonymous::Deny);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let secret = Secret::load_or_create(&team.relay().data_dir.join("secret.key")).unwrap();
    let token = secret.mint(&Claims {
        user: "ann".to_owned(),
        docs: "*".to_owned(),
        role: Role::Write,
        exp: now + 3600,
    });
    let mut ann = team.window("revoked");
    let plan = Target {
        token: Some(token.clone()),
        ..team.target("plan")
    };
    join(&mut ann, &plan, "Ann");
    until(&mut [&mut ann], "Ann is connected", |w| connected(w[0]));
    ann.state_mut().workspace.import_patch(START).unwrap();
    until(&mut [&mut ann], "her edit is confirmed", |w| {
        connected(w[0])
    });
    // The operator revokes her token (what `concord-relay token revoke` does).
    let registry = Registry::open(
        &team.relay().data_dir.join("concord.sqlite3"),
        team.relay().data_dir.join("secret.key"),
    )
    .unwrap();
    team.rt
        .block_on(registry.revoke(&token_id(&token), now))
        .unwrap();
    until(&mut [&mut ann], "Ann is offline", |w| {
        matches!(session(w[0]).status(), Status::Offline { .. })
    });
    ann.step();
    assert!(
        ann.query_by_label_contains("connection: offline (token ")
            .is_some_and(|n| format!("{n:?}").contains("was revoked"))
    );
    // What she had stays in the window.
    assert!(doc(ann.state()).contains("Plan"));
}
