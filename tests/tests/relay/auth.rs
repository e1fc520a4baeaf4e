//! Tokens and the anonymous policy.

use e2e::{Client, Peer, TestRelay, error_code};
use relay::auth::{Claims, Secret};
use relay::config::Anonymous;
use sync_core::protocol::{ClientMessage, Revision, Role, ServerMessage};
use tokio_tungstenite::tungstenite::Message;

use crate::add;

pub(crate) fn token(relay: &TestRelay, docs: &str, role: Role, exp: u64) -> String {
    let secret = Secret::load_or_create(&relay.data_dir.join("secret.key")).unwrap();
    secret.mint(&Claims {
        user: "ann".to_owned(),
        docs: docs.to_owned(),
        role,
        exp,
    })
}

pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn secured() -> TestRelay {
    TestRelay::start(|c| c.anonymous = Anonymous::Deny)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_token_opens_the_documents_it_names() {
    let relay = secured().await;
    let t = token(&relay, "team-*", Role::Write, now() + 3600);
    let mut a = Peer::join(relay.addr, "team-plan", "a", Some(t))
        .await
        .unwrap();
    a.edit(vec![add("/x", "1")]).await.unwrap();
    a.flush().await.unwrap();
    assert_eq!(a.replica.rev(), Some(Revision(1)));
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expired_and_foreign_tokens_are_refused_and_closed() {
    let relay = secured().await;
    let good = token(&relay, "team-*", Role::Write, now() + 3600);
    let other = Secret::load_or_create(&e2e::temp_dir("other").join("secret.key")).unwrap();
    let forged = other.mint(&Claims {
        user: "mallory".to_owned(),
        docs: "*".to_owned(),
        role: Role::Write,
        exp: now() + 3600,
    });
    // The claims of a good token with the payload changed by one character.
    let (payload, signature) = good.split_once('.').unwrap();
    let mut tampered = payload.to_owned();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let tampered = format!("{tampered}.{signature}");
    let cases = [
        (None, "team-plan", "unauthorized"),
        (Some(forged), "team-plan", "unauthorized"),
        (Some(tampered), "team-plan", "unauthorized"),
        (Some("garbage".to_owned()), "team-plan", "unauthorized"),
        (
            Some(token(&relay, "team-*", Role::Write, now() - 1)),
            "team-plan",
            "token_expired",
        ),
        (Some(good.clone()), "private-notes", "forbidden"),
    ];
    for (token, doc, code) in cases {
        let (mut c, answer) = Client::join(relay.addr, doc, "x", token, None)
            .await
            .unwrap();
        assert_eq!(error_code(&answer), code, "{doc}");
        assert!(c.closed().await.is_ok());
    }
    // Nothing of it reached the document; a good token still works.
    let (_c, welcome) = Client::join(relay.addr, "team-plan", "y", Some(good), None)
        .await
        .unwrap();
    assert!(
        matches!(
            welcome,
            ServerMessage::Welcome {
                rev: Revision(0),
                ..
            }
        ),
        "{welcome:?}"
    );
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_peer_receives_changes_but_cannot_submit() {
    let relay = secured().await;
    let writer = token(&relay, "*", Role::Write, now() + 3600);
    let reader = token(&relay, "*", Role::Read, now() + 3600);
    let mut w = Peer::join(relay.addr, "d", "w", Some(writer))
        .await
        .unwrap();
    let (mut r, welcome) = Client::join(relay.addr, "d", "r", Some(reader), None)
        .await
        .unwrap();
    assert!(matches!(
        welcome,
        ServerMessage::Welcome {
            role: Role::Read,
            ..
        }
    ));
    w.edit(vec![add("/a", "1")]).await.unwrap();
    w.flush().await.unwrap();
    let applied = r
        .recv_until(|m| matches!(m, ServerMessage::Applied { .. }))
        .await
        .unwrap();
    assert!(matches!(applied, ServerMessage::Applied { .. }));
    r.send(&ClientMessage::Submit {
        seq: 1,
        base_rev: Revision(1),
        ops: vec![add("/b", "2")],
        overwrites: Vec::new(),
    })
    .await
    .unwrap();
    let reject = r
        .recv_until(|m| matches!(m, ServerMessage::Reject { .. }))
        .await
        .unwrap();
    assert!(matches!(reject, ServerMessage::Reject { code, .. } if code == "read_only"));
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_access_follows_the_policy() {
    // Loopback listener with the default policy: allowed.
    let open = TestRelay::start(|_| {}).await.unwrap();
    let (_c, welcome) = Client::join(open.addr, "d", "a", None, None).await.unwrap();
    assert!(matches!(welcome, ServerMessage::Welcome { .. }));
    open.stop().await.unwrap();
    // Denied by configuration.
    let closed = secured().await;
    let (_c, answer) = Client::join(closed.addr, "d", "a", None, None)
        .await
        .unwrap();
    assert_eq!(error_code(&answer), "unauthorized");
    closed.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_listener_without_a_secret_refuses_to_start() {
    let dir = e2e::temp_dir("public");
    let mut config = relay::config::Config {
        data_dir: dir.to_path_buf(),
        ..Default::default()
    };
    config.listen = "0.0.0.0:0".parse().unwrap();
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let error = relay::run(listener, config.clone(), shutdown.clone())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("no signing secret"), "{error}");
    // Asked for explicitly, it starts.
    config.anonymous = Anonymous::Allow;
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    shutdown.cancel();
    relay::run(listener, config, shutdown).await.unwrap();
}

/// Runs the relay's command line (the `relay-process` binary of this package).
pub(crate) fn command_line(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_relay-process"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

#[test]
fn the_token_command_mints_a_token_the_relay_accepts() {
    let dir = e2e::temp_dir("token-cli");
    let output = command_line(&[
        "token",
        "--data-dir",
        dir.to_str().unwrap(),
        "--user",
        "ann",
        "--docs",
        "team-*",
        "--role",
        "read",
        "--ttl",
        "1h",
    ]);
    assert!(output.status.success(), "{output:?}");
    let token = String::from_utf8(output.stdout).unwrap();
    // The secret was created on first use, readable by its owner only.
    let path = dir.join("secret.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let secret = Secret::load(&path).unwrap().unwrap();
    let claims = secret.verify(token.trim(), now()).unwrap();
    assert_eq!(
        (claims.user.as_str(), claims.docs.as_str(), claims.role),
        ("ann", "team-*", Role::Read)
    );
    assert!(claims.exp > now() + 3500 && claims.exp <= now() + 3600);
}

#[test]
fn serve_help_explains_every_option_and_its_environment_variable() {
    let output = command_line(&["serve", "--help"]);
    assert!(output.status.success(), "{output:?}");
    let help = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "--listen",
        "CONCORD_LISTEN",
        "--data-dir",
        "CONCORD_DATA_DIR",
        "--config",
        "CONCORD_CONFIG",
        "--anonymous",
        "CONCORD_ANONYMOUS",
        "--max-connections",
        "CONCORD_MAX_CONNECTIONS",
        "--trusted-proxy",
        "CONCORD_TRUSTED_PROXIES",
        "--tls-cert",
        "CONCORD_TLS_CERT",
        "--tls-key",
        "CONCORD_TLS_KEY",
        "--max-unauthenticated",
        "CONCORD_MAX_UNAUTHENTICATED",
        "--max-unauthenticated-per-address",
        "CONCORD_MAX_UNAUTHENTICATED_PER_ADDRESS",
    ] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hello_without_a_name_is_named_after_the_token_or_anonymous() {
    // Loopback: anonymous peers are let in, and tokens are checked where given.
    let relay = TestRelay::start(|_| {}).await.unwrap();
    let t = token(&relay, "*", Role::Write, now() + 3600);
    let name_of = |welcome: ServerMessage, client: &str| {
        let ServerMessage::Welcome { peers, .. } = welcome else {
            panic!("no welcome: {welcome:?}")
        };
        let peer = peers.into_iter().find(|p| p.client.0 == client).unwrap();
        peer.name
    };
    for (client, token, name) in [("nameless", None, "anonymous"), ("signed", Some(&t), "ann")] {
        let mut c = Client::connect(relay.addr).await.unwrap();
        let token = token.map_or(String::new(), |t| format!(r#", "token": "{t}""#));
        let hello = format!(
            r#"{{"type": "hello", "protocol": 1, "doc": "d", "client": "{client}"{token}}}"#
        );
        c.send_raw(Message::Text(hello.into())).await.unwrap();
        assert_eq!(name_of(c.recv().await.unwrap(), client), name);
    }
    relay.stop().await.unwrap();
}
