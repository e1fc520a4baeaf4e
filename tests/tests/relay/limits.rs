//! Limits: the hello deadline, the connection cap, slow consumers, document size; and the
//! health and metrics endpoints.

use std::time::Duration;

use e2e::{Client, Peer, TestRelay, error_code};
use sync_core::protocol::{ClientMessage, Revision, ServerMessage};

use crate::add;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_never_says_hello_is_closed() {
    let relay = TestRelay::start(|c| c.limits.hello_timeout_secs = 1)
        .await
        .unwrap();
    let mut c = Client::connect(relay.addr).await.unwrap();
    assert_eq!(error_code(&c.recv().await.unwrap()), "hello_timeout");
    assert!(c.closed().await.is_ok());
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_are_refused() {
    let relay = TestRelay::start(|c| c.limits.max_connections = 2)
        .await
        .unwrap();
    let (_a, _) = Client::join(relay.addr, "d", "a", None, None)
        .await
        .unwrap();
    let (_b, _) = Client::join(relay.addr, "d", "b", None, None)
        .await
        .unwrap();
    let mut c = Client::connect(relay.addr).await.unwrap();
    assert_eq!(error_code(&c.recv().await.unwrap()), "too_many_connections");
    assert_eq!(c.closed().await.unwrap(), Some(1013));
    drop(_a);
    // A freed slot is taken again.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_d, welcome) = Client::join(relay.addr, "d", "d", None, None)
        .await
        .unwrap();
    assert!(
        matches!(welcome, ServerMessage::Welcome { .. }),
        "{welcome:?}"
    );
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_told_to_resync_not_skipped() {
    let relay = TestRelay::start(|c| {
        c.limits.outbound_queue = 8;
        c.limits.ops_per_second = 100_000;
        c.limits.ops_burst = 100_000;
    })
    .await
    .unwrap();
    // The sleeper joins and never reads; a writer makes many changes.
    let (mut sleeper, _) = Client::join(relay.addr, "d", "sleeper", None, None)
        .await
        .unwrap();
    let mut writer = Peer::join(relay.addr, "d", "writer", None).await.unwrap();
    writer
        .edit(vec![add("/pad", &format!("\"{}\"", "x".repeat(50_000)))])
        .await
        .unwrap();
    writer.flush().await.unwrap();
    for i in 0..500 {
        writer
            .edit(vec![add(
                &format!("/k{i}"),
                &format!("\"{}\"", "y".repeat(40_000)),
            )])
            .await
            .unwrap();
        writer.flush().await.unwrap();
    }
    // The sleeper finally reads: what was queued, then the reason it was dropped.
    let mut last = None;
    while let Ok(message) = sleeper.recv().await {
        last = Some(message);
    }
    assert_eq!(
        last.as_ref().map(error_code).as_deref(),
        Some("slow_consumer"),
        "{last:?}"
    );
    // It reconnects with the revision it had and catches up.
    let (_s, welcome) = Client::join(relay.addr, "d", "sleeper", None, Some(Revision(1)))
        .await
        .unwrap();
    assert!(matches!(
        welcome,
        ServerMessage::Welcome {
            rev: Revision(501),
            ..
        }
    ));
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_past_the_document_size_limit_is_rejected() {
    let relay = TestRelay::start(|c| c.limits.max_document_bytes = 10_000)
        .await
        .unwrap();
    let (mut c, _) = Client::join(relay.addr, "d", "a", None, None)
        .await
        .unwrap();
    c.send(&ClientMessage::Submit {
        seq: 1,
        base_rev: Revision(0),
        ops: vec![add("/big", &format!("\"{}\"", "x".repeat(20_000)))],
        overwrites: Vec::new(),
    })
    .await
    .unwrap();
    let reject = c.recv().await.unwrap();
    assert!(
        matches!(&reject, ServerMessage::Reject { code, .. } if code == "document_too_large"),
        "{reject:?}"
    );
    c.send(&ClientMessage::Submit {
        seq: 2,
        base_rev: Revision(0),
        ops: vec![add("/small", "1")],
        overwrites: Vec::new(),
    })
    .await
    .unwrap();
    assert!(matches!(
        c.recv().await.unwrap(),
        ServerMessage::Ack {
            rev: Revision(1),
            ..
        }
    ));
    relay.stop().await.unwrap();
}

pub(crate) async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    e2e::http_get(addr, path).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics_answer_over_plain_http() {
    let relay = TestRelay::start(|_| {}).await.unwrap();
    let mut a = Peer::join(relay.addr, "m", "a", None).await.unwrap();
    a.edit(vec![add("/x", "1")]).await.unwrap();
    a.flush().await.unwrap();
    let health = http_get(relay.addr, "/healthz").await;
    assert!(
        health.starts_with("HTTP/1.1 200 OK") && health.ends_with("ok\n"),
        "{health}"
    );
    let metrics = http_get(relay.addr, "/metrics").await;
    assert!(metrics.contains("concord_connections 1"), "{metrics}");
    assert!(metrics.contains("concord_documents 1"), "{metrics}");
    assert!(metrics.contains("concord_changes_total 1"), "{metrics}");
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_pings_every_interval() {
    let relay = TestRelay::start(|c| c.limits.ping_interval_secs = 1)
        .await
        .unwrap();
    let (mut c, _) = Client::join(relay.addr, "d", "a", None, None)
        .await
        .unwrap();
    // The connection stays quiet; the relay's pings keep coming.
    c.pinged().await.unwrap();
    c.pinged().await.unwrap();
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_shutdown_closes_every_socket_with_a_code() {
    let relay = TestRelay::start(|_| {}).await.unwrap();
    let (mut a, _) = Client::join(relay.addr, "d", "a", None, None)
        .await
        .unwrap();
    let (mut b, _) = Client::join(relay.addr, "e", "b", None, None)
        .await
        .unwrap();
    relay.stop().await.unwrap();
    for c in [&mut a, &mut b] {
        let error = c
            .recv_until(|m| matches!(m, ServerMessage::Error { .. }))
            .await
            .unwrap();
        assert_eq!(error_code(&error), "shutting_down");
        assert_eq!(c.closed().await.unwrap(), Some(1001));
    }
}
