//! Who gets in without a token, and the cap on connections that have not said hello: what a
//! self-hosted relay behind a reverse proxy relies on.

use std::net::IpAddr;
use std::time::Duration;

use e2e::{Client, Dial, TestRelay, error_code, hello, tcp_from};
use relay::config::Anonymous;
use relay::peer::{TrustedProxies, parse_net};
use sync_core::protocol::{Role, ServerMessage};
use tokio::io::AsyncReadExt;

use crate::auth::{now, token};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn proxied(header: &str, value: &str) -> Dial {
    Dial {
        headers: vec![(header.to_owned(), value.to_owned())],
        ..Dial::default()
    }
}

async fn join_with(
    relay: &TestRelay,
    dial: &Dial,
    token: Option<String>,
) -> (Client, ServerMessage) {
    let mut c = Client::dial(relay.addr, dial).await.unwrap();
    c.send(&hello("d", "c", token, None)).await.unwrap();
    let answer = c.recv().await.unwrap();
    (c, answer)
}

/// The reverse proxy on the same machine: its connections come from 127.0.0.1, with the
/// headers it adds. Under the default policy they need a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxied_connection_from_loopback_needs_a_token() {
    let relay = TestRelay::start(|c| assert_eq!(c.anonymous, Anonymous::Loopback))
        .await
        .unwrap();
    for (header, value) in [
        ("X-Forwarded-For", "203.0.113.9"),
        ("Forwarded", "for=203.0.113.9;proto=https"),
        ("X-Real-IP", "203.0.113.9"),
        // Whatever the proxy says, even that the client is local.
        ("X-Forwarded-For", "127.0.0.1"),
    ] {
        let (mut c, answer) = join_with(&relay, &proxied(header, value), None).await;
        assert_eq!(error_code(&answer), "unauthorized", "{header}: {value}");
        assert!(c.closed().await.is_ok(), "{header}");
    }
    // Nothing reached the document; the same connection with a token is let in, and a truly
    // local one without.
    let t = token(&relay, "*", Role::Write, now() + 3600);
    let (_c, answer) = join_with(&relay, &proxied("X-Forwarded-For", "203.0.113.9"), Some(t)).await;
    assert!(
        matches!(answer, ServerMessage::Welcome { rev, .. } if rev.0 == 0),
        "{answer:?}"
    );
    let (_d, answer) = join_with(&relay, &Dial::default(), None).await;
    assert!(
        matches!(answer, ServerMessage::Welcome { .. }),
        "{answer:?}"
    );
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_anonymous_deny_even_a_local_connection_needs_a_token() {
    let relay = TestRelay::start(|c| c.anonymous = Anonymous::Deny)
        .await
        .unwrap();
    let (_c, answer) = join_with(&relay, &Dial::default(), None).await;
    assert_eq!(error_code(&answer), "unauthorized");
    relay.stop().await.unwrap();
}

/// Silent sockets from one address fill that address's share of the cap on connections that
/// have not said hello; someone with a token from elsewhere still gets in, and the flood's
/// next connection is told why it is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_silent_sockets_from_one_address_does_not_lock_others_out() {
    let relay = TestRelay::start(|c| {
        c.anonymous = Anonymous::Deny;
        c.limits.max_unauthenticated_per_address = 8;
        c.limits.max_unauthenticated = Some(40);
        c.limits.max_connections = 100;
    })
    .await
    .unwrap();
    let flooder = Some(ip("127.0.0.2"));
    let mut silent = Vec::new();
    for _ in 0..60 {
        silent.push(tcp_from(flooder, relay.addr).await.unwrap());
    }
    // The relay has taken them all in (accepted and counted, or refused).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = token(&relay, "*", Role::Write, now() + 3600);
    let (_ann, answer) = join_with(&relay, &Dial::default(), Some(t)).await;
    assert!(
        matches!(answer, ServerMessage::Welcome { .. }),
        "{answer:?}"
    );
    // One more from the flooding address that does speak is told, with 1013 (try again later).
    let mut next = Client::dial(
        relay.addr,
        &Dial {
            from: flooder,
            ..Dial::default()
        },
    )
    .await
    .unwrap();
    let refusal = next.recv().await.unwrap();
    assert_eq!(error_code(&refusal), "too_many_connections");
    assert!(
        matches!(&refusal, ServerMessage::Error { message, .. } if message.contains("127.0.0.2")),
        "{refusal:?}"
    );
    assert_eq!(next.closed().await.unwrap(), Some(1013));
    // Past its share, the flood's sockets were closed after a second's grace to say
    // something: at most 8 of them are still open.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut open = 0;
    for mut socket in silent {
        let mut byte = [0u8; 1];
        match tokio::time::timeout(Duration::from_millis(50), socket.read(&mut byte)).await {
            Ok(Ok(0) | Err(_)) => {}
            _ => open += 1,
        }
    }
    assert!(open <= 8, "{open} silent sockets still open");
    let counted = crate::limits::http_get(relay.addr, "/metrics").await;
    let refused: u64 = counted
        .lines()
        .find_map(|l| l.strip_prefix("concord_refused_unauthenticated_total "))
        .unwrap()
        .parse()
        .unwrap();
    // Every one past the share was counted, the silent ones too (52), and the one told.
    assert_eq!(refused, 53, "{counted}");
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_total_cap_refuses_new_connections_until_one_says_hello() {
    let relay = TestRelay::start(|c| {
        c.anonymous = Anonymous::Allow;
        c.limits.max_unauthenticated_per_address = 100;
        c.limits.max_unauthenticated = Some(3);
    })
    .await
    .unwrap();
    let mut waiting = Vec::new();
    for _ in 0..3 {
        waiting.push(Client::connect(relay.addr).await.unwrap());
    }
    let mut over = Client::connect(relay.addr).await.unwrap();
    assert_eq!(
        error_code(&over.recv().await.unwrap()),
        "too_many_connections"
    );
    assert_eq!(over.closed().await.unwrap(), Some(1013));
    // One of the waiting says hello: it is in, and its place is free again.
    let mut first = waiting.remove(0);
    first.send(&hello("d", "a", None, None)).await.unwrap();
    assert!(matches!(
        first.recv().await.unwrap(),
        ServerMessage::Welcome { .. }
    ));
    let (_late, answer) = Client::join(relay.addr, "d", "b", None, None)
        .await
        .unwrap();
    assert!(
        matches!(answer, ServerMessage::Welcome { .. }),
        "{answer:?}"
    );
    relay.stop().await.unwrap();
}

/// Behind a trusted proxy, the limits count the address it forwards: two people behind one
/// proxy are two addresses; the same person is one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_forwarded_address_is_counted() {
    let relay = TestRelay::start(|c| {
        c.anonymous = Anonymous::Deny;
        c.trusted_proxies = TrustedProxies::new(vec![parse_net("127.0.0.1").unwrap()]);
        c.limits.max_unauthenticated_per_address = 2;
    })
    .await
    .unwrap();
    let from = |client: &str| proxied("X-Forwarded-For", client);
    let _a1 = Client::dial(relay.addr, &from("198.51.100.7"))
        .await
        .unwrap();
    let _a2 = Client::dial(relay.addr, &from("198.51.100.7"))
        .await
        .unwrap();
    let mut a3 = Client::dial(relay.addr, &from("198.51.100.7"))
        .await
        .unwrap();
    let refusal = a3.recv().await.unwrap();
    assert!(
        matches!(&refusal, ServerMessage::Error { code, message } if code == "too_many_connections" && message.contains("198.51.100.7")),
        "{refusal:?}"
    );
    let t = token(&relay, "*", Role::Write, now() + 3600);
    let (_b, answer) = join_with(&relay, &from("198.51.100.8"), Some(t)).await;
    assert!(
        matches!(answer, ServerMessage::Welcome { .. }),
        "{answer:?}"
    );
    relay.stop().await.unwrap();
}

/// The relay as the systemd unit starts it (its own command line, read from
/// `assets/concord-relay.service`) lets nobody in without a token: neither what the proxy
/// forwards nor a connection from the machine itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_of_the_systemd_unit_lets_nobody_in_without_a_token() {
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/concord-relay.service"
    ))
    .unwrap();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap();
    let mut words = exec.split_whitespace();
    assert!(words.next().unwrap().ends_with("concord-relay"));
    assert_eq!(words.next(), Some("serve"));
    let mut options = Vec::new();
    while let Some(word) = words.next() {
        // The test's own data directory instead.
        if word == "--data-dir" {
            words.next();
        } else {
            options.push(std::ffi::OsStr::new(word));
        }
    }
    let dir = e2e::temp_dir("unit");
    let binary = std::path::PathBuf::from(env!("CARGO_BIN_EXE_relay-process"));
    let relay = e2e::RelayProcess::start_with(&binary, &dir, &options)
        .await
        .unwrap();
    for dial in [Dial::default(), proxied("X-Forwarded-For", "203.0.113.9")] {
        let mut c = Client::dial(relay.addr, &dial).await.unwrap();
        c.send(&hello("d", "c", None, None)).await.unwrap();
        assert_eq!(error_code(&c.recv().await.unwrap()), "unauthorized");
    }
    let token = crate::revocation::mint(&dir, "ann");
    let mut c = Client::dial(relay.addr, &proxied("X-Forwarded-For", "203.0.113.9"))
        .await
        .unwrap();
    c.send(&hello("d", "c", Some(token), None)).await.unwrap();
    let answer = c.recv().await.unwrap();
    assert!(
        matches!(answer, ServerMessage::Welcome { .. }),
        "{answer:?}"
    );
    relay.terminate().unwrap();
}

/// A silent socket holds nothing up at shutdown: the relay stops at once, not at its hello
/// deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_sockets_that_said_nothing() {
    let relay = TestRelay::start(|c| c.limits.hello_timeout_secs = 600)
        .await
        .unwrap();
    let _silent = tcp_from(None, relay.addr).await.unwrap();
    let _upgraded = Client::connect(relay.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    tokio::time::timeout(e2e::WAIT, relay.stop())
        .await
        .expect("the relay waited for a socket that said nothing")
        .unwrap();
}

/// A client that closes gets the close answered (the websocket closing handshake), whether it
/// came with a token or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_from_the_client_is_answered() {
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    // Pings far apart, so that only the answer can end the wait.
    let relay = TestRelay::start(|c| c.limits.ping_interval_secs = 600)
        .await
        .unwrap();
    let t = token(&relay, "*", Role::Write, now() + 3600);
    for token in [None, Some(t)] {
        let (mut c, answer) = Client::join(relay.addr, "d", "c", token, None)
            .await
            .unwrap();
        assert!(
            matches!(answer, ServerMessage::Welcome { .. }),
            "{answer:?}"
        );
        c.send_raw(Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "bye".into(),
        })))
        .await
        .unwrap();
        assert_eq!(c.closed().await.unwrap(), Some(1000));
    }
    relay.stop().await.unwrap();
}
