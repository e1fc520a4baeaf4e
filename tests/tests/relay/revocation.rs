//! Revoking tokens, and rotating the signing secret, on a running relay: through the
//! `concord-relay` command line on the relay's data directory, as its operator would.

use std::path::{Path, PathBuf};

use e2e::{Client, RelayProcess, error_code, temp_dir};
use sync_core::protocol::ServerMessage;

use crate::auth::command_line;

/// `concord-relay token ...` on `dir`: the token, from the first line of standard output.
pub(crate) fn mint(dir: &Path, user: &str) -> String {
    let output = command_line(&[
        "token",
        "--data-dir",
        dir.to_str().unwrap(),
        "--user",
        user,
        "--docs",
        "*",
        "--role",
        "write",
    ]);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    stdout.lines().next().unwrap().to_owned()
}

/// Runs `concord-relay ARGS --data-dir DIR`; returns standard output.
fn operate(dir: &Path, args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.extend(["--data-dir", dir.to_str().unwrap()]);
    let output = command_line(&all);
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

async fn start(dir: &Path) -> RelayProcess {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_relay-process"));
    let deny = [
        std::ffi::OsStr::new("--anonymous"),
        std::ffi::OsStr::new("deny"),
    ];
    RelayProcess::start_with(&binary, dir, &deny).await.unwrap()
}

async fn joined(relay: &RelayProcess, client: &str, token: &str) -> Client {
    let (c, answer) = Client::join(relay.addr, "d", client, Some(token.to_owned()), None)
        .await
        .unwrap();
    assert!(
        matches!(answer, ServerMessage::Welcome { .. }),
        "{answer:?}"
    );
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_closes_its_connections_and_is_refused_at_the_next_hello() {
    let dir = temp_dir("revoke");
    let ann_token = mint(&dir, "ann");
    let ben_token = mint(&dir, "ben");
    let relay = start(&dir).await;
    let mut ann = joined(&relay, "ann", &ann_token).await;
    let mut ann_too = joined(&relay, "ann-laptop", &ann_token).await;
    let mut ben = joined(&relay, "ben", &ben_token).await;
    // Listed, then revoked by id.
    let listing = operate(&dir, &["token", "list"]);
    let ann_line = listing.lines().find(|l| l.contains("\tann\t")).unwrap();
    let id = ann_line.split('\t').next().unwrap();
    assert!(ann_line.ends_with("\tactive"), "{listing}");
    assert_eq!(listing.lines().count(), 2, "{listing}");
    operate(&dir, &["token", "revoke", id]);
    // Both of Ann's connections are told and closed (policy violation, 1008).
    for c in [&mut ann, &mut ann_too] {
        let told = c
            .recv_until(|m| matches!(m, ServerMessage::Error { .. }))
            .await
            .unwrap();
        assert_eq!(error_code(&told), "token_revoked");
        assert_eq!(c.closed().await.unwrap(), Some(1008));
    }
    let (_again, answer) = Client::join(relay.addr, "d", "ann", Some(ann_token), None)
        .await
        .unwrap();
    assert_eq!(error_code(&answer), "token_revoked");
    // Ben goes on: his connection answers, and he can connect again.
    ben.send(&sync_core::protocol::ClientMessage::Presence {
        selection: None,
        caret: None,
    })
    .await
    .unwrap();
    let _ben_again = joined(&relay, "ben-2", &ben_token).await;
    let listing = operate(&dir, &["token", "list"]);
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with(id) && l.contains("\trevoked ")),
        "{listing}"
    );
    relay.terminate().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_token_can_be_revoked_and_survives_a_restart() {
    let dir = temp_dir("revoke-whole");
    let token = mint(&dir, "ann");
    operate(&dir, &["token", "revoke", &token]);
    let relay = start(&dir).await;
    let (_c, answer) = Client::join(relay.addr, "d", "ann", Some(token), None)
        .await
        .unwrap();
    assert_eq!(error_code(&answer), "token_revoked");
    relay.terminate().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_secret_voids_every_token_at_once() {
    let dir = temp_dir("rotate");
    let ann_token = mint(&dir, "ann");
    let ben_token = mint(&dir, "ben");
    let relay = start(&dir).await;
    let mut ann = joined(&relay, "ann", &ann_token).await;
    let mut ben = joined(&relay, "ben", &ben_token).await;
    operate(&dir, &["secret", "rotate"]);
    for c in [&mut ann, &mut ben] {
        let told = c
            .recv_until(|m| matches!(m, ServerMessage::Error { .. }))
            .await
            .unwrap();
        assert_eq!(error_code(&told), "token_revoked");
    }
    for token in [ann_token, ben_token] {
        let (_c, answer) = Client::join(relay.addr, "d", "x", Some(token), None)
            .await
            .unwrap();
        assert!(
            ["token_revoked", "unauthorized"].contains(&error_code(&answer).as_str()),
            "{answer:?}"
        );
    }
    // A token minted with the new secret works at once.
    let fresh = mint(&dir, "cat");
    let _cat = joined(&relay, "cat", &fresh).await;
    let listing = operate(&dir, &["token", "list"]);
    assert_eq!(
        listing.lines().filter(|l| l.contains("\trevoked ")).count(),
        2,
        "{listing}"
    );
    relay.terminate().unwrap();
}

/// An operator who gets the data directory wrong is told, and nothing is created there: a
/// revocation that silently went to the wrong place would leave the token working.
#[test]
fn revoking_or_rotating_in_the_wrong_directory_fails_and_creates_nothing() {
    // An empty directory, and one that is not there.
    let dir = temp_dir("wrong-dir");
    for (wrong, args) in [dir.to_path_buf(), dir.join("not-there")]
        .into_iter()
        .flat_map(|wrong| {
            [
                &["token", "revoke", "0123456789abcdef"][..],
                &["token", "list"][..],
                &["secret", "rotate"][..],
            ]
            .map(|args| (wrong.clone(), args))
        })
    {
        let mut all = args.to_vec();
        all.extend(["--data-dir", wrong.to_str().unwrap()]);
        let output = command_line(&all);
        assert!(!output.status.success(), "{args:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("no relay database"), "{args:?}: {stderr}");
        assert!(!wrong.join("secret.key").exists(), "{args:?}");
        assert!(!wrong.join("concord.sqlite3").exists(), "{args:?}");
    }
}
