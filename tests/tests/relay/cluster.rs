//! Several relay processes on one PostgreSQL store: clients of one document on different
//! relays converge; the owner dies (SIGKILL) under load, pauses past its lease (SIGSTOP), or
//! every relay restarts in turn, and no acknowledged change is lost or applied twice.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use e2e::{Client, Peer, RelayProcess, TestRelay, cluster, error_code, temp_dir};
use nix::sys::signal::Signal;
use relay::store::Location;
use sync_core::Value;
use sync_core::protocol::ClientId;
use sync_core::protocol::{ClientMessage, Revision, ServerMessage};
use sync_core::replica::{Event, Replica};
use tokio_util::sync::CancellationToken;

use crate::add;
use crate::limits::http_get;

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_relay-process"))
}

/// The items of the array `/log`, each once, or a panic saying which came twice.
fn items(doc: &Value) -> HashSet<String> {
    let Value::Object(root) = doc else {
        panic!("{doc}")
    };
    let Some(Value::Array(log)) = root.get("log") else {
        panic!("{doc}")
    };
    let mut seen = HashSet::new();
    for item in log {
        assert!(seen.insert(item.to_json()), "{item} applied twice in {doc}");
    }
    seen
}

async fn nodes(store: &str, n: usize, lease_ms: u64) -> Vec<RelayProcess> {
    let mut nodes = Vec::new();
    for i in 0..n {
        let dir = temp_dir(&format!("node-{i}"));
        nodes.push(
            cluster::node(&binary(), &dir, store, lease_ms)
                .await
                .unwrap(),
        );
    }
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_of_one_document_on_different_relays_converge() {
    let Some(store) = cluster::database("converge").await.unwrap() else {
        return;
    };
    let nodes = nodes(&store, 3, 2000).await;
    let mut seed = Peer::join(nodes[0].addr, "shared", "seed", None)
        .await
        .unwrap();
    seed.edit(vec![add("/log", "[]")]).await.unwrap();
    seed.flush().await.unwrap();
    let mut peers = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        peers.push(
            Peer::join(node.addr, "shared", &format!("p{i}"), None)
                .await
                .unwrap(),
        );
    }
    for round in 0..10 {
        for (i, peer) in peers.iter_mut().enumerate() {
            let item = format!("\"p{i}-{round}\"");
            peer.edit(vec![add("/log/-", &item)]).await.unwrap();
        }
    }
    for peer in &mut peers {
        peer.flush().await.unwrap();
    }
    let head = peers
        .iter()
        .map(|p| p.replica.rev().unwrap())
        .max()
        .unwrap();
    for peer in &mut peers {
        peer.settle(head).await.unwrap();
    }
    let doc = peers[0].view().clone();
    for peer in &peers {
        assert_eq!(peer.view(), &doc, "every client converged");
    }
    assert_eq!(items(&doc).len(), 30, "{doc}");
    // One relay owns the document; the others forwarded their clients to it.
    let mut held = Vec::new();
    for node in &nodes {
        let page = http_get(node.addr, "/metrics").await;
        held.push(cluster::metric(&page, "concord_leases_held").unwrap());
        let forwarded = cluster::metric(&page, "concord_forwarded_connections").unwrap();
        assert_eq!(forwarded, u64::from(held.last() == Some(&0)), "{page}");
    }
    assert_eq!(held, [1, 0, 0]);
    for node in nodes {
        assert!(node.terminate().unwrap().success());
    }
}

/// Makes `/log` in `doc` through the first relay, which so owns it; returns the relays'
/// addresses.
async fn seeded(nodes: &[Option<RelayProcess>], doc: &str) -> Arc<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = nodes.iter().flatten().map(|n| n.addr).collect();
    let mut seed = Peer::join(addrs[0], doc, "seed", None).await.unwrap();
    seed.edit(vec![add("/log", "[]")]).await.unwrap();
    seed.flush().await.unwrap();
    Arc::new(addrs)
}

/// A window that edits until `stop`: connects to the relays in turn (starting with its own)
/// until one welcomes it, appends its items (`w{w}-{n}`) until that connection ends, and goes
/// on at the next relay. Returns its replica and how many items it made.
async fn window(
    addrs: Arc<Vec<SocketAddr>>,
    doc: &'static str,
    w: usize,
    stop: CancellationToken,
) -> (Replica, u64) {
    let name = format!("w{w}");
    let mut replica = Replica::new(ClientId(name.clone()), &name);
    let mut made = 0;
    let mut turn = w;
    while !stop.is_cancelled() {
        let addr = addrs[turn % addrs.len()];
        turn += 1;
        let mut peer = match Peer::try_resume(addr, doc, replica).await {
            Ok(peer) => peer,
            Err((back, _)) => {
                replica = back;
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        while !stop.is_cancelled() {
            let item = format!("\"{name}-{made}\"");
            // Applied and pending even when sending it fails.
            let sent = peer.edit(vec![add("/log/-", &item)]).await;
            made += 1;
            if sent.is_err() || peer.step_within(Duration::from_millis(5)).await.is_err() {
                break;
            }
        }
        replica = peer.disconnect();
    }
    (replica, made)
}

/// Every replica reconnects (to any relay that welcomes it), sends what it still has pending
/// and catches up; they all see the same document, which is returned.
async fn rejoined(addrs: &[SocketAddr], doc: &str, replicas: Vec<Replica>) -> Value {
    let mut views = Vec::new();
    for (w, mut replica) in replicas.into_iter().enumerate() {
        let mut turn = w;
        let peer = loop {
            match Peer::try_resume(addrs[turn % addrs.len()], doc, replica).await {
                Ok(peer) => break peer,
                Err((back, _)) => replica = back,
            }
            turn += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        views.push(peer);
    }
    for peer in &mut views {
        peer.flush().await.unwrap();
    }
    let head = views
        .iter()
        .map(|p| p.replica.rev().unwrap())
        .max()
        .unwrap();
    for peer in &mut views {
        peer.settle(head).await.unwrap();
    }
    let doc = views[0].view().clone();
    for peer in &views {
        assert_eq!(peer.view(), &doc, "every window converged");
    }
    doc
}

/// Every item the windows made (`w{w}-{n}` for `n` below `made[w]`) is in `/log` exactly once,
/// and nothing else is.
fn made_once(doc: &Value, made: &[u64]) {
    let seen = items(doc);
    for (w, n) in made.iter().enumerate() {
        for i in 0..*n {
            assert!(seen.contains(&format!("\"w{w}-{i}\"")), "w{w}-{i} lost");
        }
    }
    assert_eq!(seen.len() as u64, made.iter().sum::<u64>(), "nothing else");
}

/// The windows stop; then [`rejoined`] and [`made_once`].
async fn converged(addrs: &[SocketAddr], doc: &str, windows: Vec<(Replica, u64)>) {
    let (replicas, made): (Vec<Replica>, Vec<u64>) = windows.into_iter().unzip();
    eprintln!("items made: {made:?}");
    let doc = rejoined(addrs, doc, replicas).await;
    made_once(&doc, &made);
}

/// The relay that holds `doc`'s lease, by its index in `addrs`.
async fn owner(store: &str, doc: &str, addrs: &[SocketAddr]) -> Option<usize> {
    let address = cluster::owner(store, doc).await.unwrap()?;
    addrs.iter().position(|a| address == format!("ws://{a}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_killed_under_load_loses_no_acknowledged_change() {
    let Some(store) = cluster::database("failover").await.unwrap() else {
        return;
    };
    let rounds: usize = std::env::var("CLUSTER_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let lease = 1000;
    let mut nodes: Vec<Option<RelayProcess>> = nodes(&store, 3, lease)
        .await
        .into_iter()
        .map(Some)
        .collect();
    let addrs = seeded(&nodes, "failover").await;
    let stop = CancellationToken::new();
    let windows: Vec<_> = (0..3)
        .map(|w| tokio::spawn(window(Arc::clone(&addrs), "failover", w, stop.clone())))
        .collect();
    let mut kills = 0;
    for round in 0..rounds {
        tokio::time::sleep(Duration::from_millis(300 + 150 * (round as u64 % 4))).await;
        let Some(victim) = owner(&store, "failover", &addrs).await else {
            eprintln!("round {round}: no owner at this moment");
            continue;
        };
        nodes[victim].take().unwrap().kill().unwrap();
        kills += 1;
        // Another relay takes the document over once the lease runs out, as clients come.
        let killed = tokio::time::Instant::now();
        let mut now_owner = None;
        while killed.elapsed() < Duration::from_millis(5 * lease) {
            now_owner = owner(&store, "failover", &addrs)
                .await
                .filter(|o| *o != victim);
            if now_owner.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let taken = now_owner.expect("another relay took the document over");
        eprintln!(
            "round {round}: killed the owner, relay {victim}; relay {taken} owns it {} ms later",
            killed.elapsed().as_millis()
        );
        let dir = temp_dir(&format!("node-{victim}-again"));
        let again = cluster::node_at(&binary(), &dir, &store, lease, addrs[victim]).await;
        nodes[victim] = Some(again.unwrap());
    }
    assert!(kills > 0, "an owner was killed");
    stop.cancel();
    let mut done = Vec::new();
    for window in windows {
        done.push(window.await.unwrap());
    }
    converged(&addrs, "failover", done).await;
    for node in nodes.into_iter().flatten() {
        assert!(node.terminate().unwrap().success());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_paused_past_its_lease_writes_nothing_more_and_its_clients_move() {
    let Some(store) = cluster::database("fence").await.unwrap() else {
        return;
    };
    let nodes: Vec<Option<RelayProcess>> =
        nodes(&store, 2, 1000).await.into_iter().map(Some).collect();
    let addrs = seeded(&nodes, "fence").await;
    let nodes: Vec<RelayProcess> = nodes.into_iter().flatten().collect();
    let mut ann = Peer::join(addrs[0], "fence", "ann", None).await.unwrap();
    ann.edit(vec![add("/log/-", "\"ann-0\"")]).await.unwrap();
    ann.flush().await.unwrap();
    assert_eq!(owner(&store, "fence", &addrs).await, Some(0));

    // The owner freezes; a client of the other relay waits for the lease to run out, and the
    // other relay takes the document over.
    nodes[0].signal(Signal::SIGSTOP).unwrap();
    let mut bob = Peer::join(addrs[1], "fence", "bob", None).await.unwrap();
    assert_eq!(owner(&store, "fence", &addrs).await, Some(1));
    bob.edit(vec![add("/log/-", "\"bob-0\"")]).await.unwrap();
    bob.flush().await.unwrap();

    // Ann's change reaches the frozen relay, which wakes up believing it owns the document.
    ann.edit(vec![add("/log/-", "\"ann-1\"")]).await.unwrap();
    nodes[0].signal(Signal::SIGCONT).unwrap();
    while ann.step().await.is_ok() {}
    let told: Vec<&str> = ann
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Error { code, .. } => Some(code.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(told, ["owner_changed"], "{:?}", ann.events);
    assert_eq!(ann.replica.pending(), 1, "ann-1 was not acknowledged");

    // She reconnects through the relay she knew, which now forwards her to the new owner; her
    // change is applied there, once.
    let mut ann = Peer::resume(addrs[0], "fence", ann.disconnect(), None)
        .await
        .unwrap();
    ann.flush().await.unwrap();
    let rev = ann.replica.rev().unwrap();
    let doc = rejoined(&addrs, "fence", vec![ann.disconnect(), bob.disconnect()]).await;
    let seen = items(&doc);
    let expected: HashSet<String> = ["\"ann-0\"", "\"bob-0\"", "\"ann-1\""]
        .map(str::to_owned)
        .into();
    assert_eq!(seen, expected);
    // The log holds every revision once: the frozen relay wrote nothing after the takeover.
    let client = relay::store::postgres::connect(&store).await.unwrap();
    let stored: i64 = client
        .query_one("SELECT count(*) FROM changes WHERE doc = 'fence'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored as u64, rev.0);
    for node in nodes {
        assert!(node.terminate().unwrap().success());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_under_load_loses_nothing() {
    let Some(store) = cluster::database("rolling").await.unwrap() else {
        return;
    };
    let lease = 10_000;
    let mut nodes: Vec<Option<RelayProcess>> = nodes(&store, 3, lease)
        .await
        .into_iter()
        .map(Some)
        .collect();
    let addrs = seeded(&nodes, "rolling").await;
    let stop = CancellationToken::new();
    let windows: Vec<_> = (0..3)
        .map(|w| tokio::spawn(window(Arc::clone(&addrs), "rolling", w, stop.clone())))
        .collect();
    for i in 0..nodes.len() {
        tokio::time::sleep(Duration::from_millis(300)).await;
        // SIGTERM: the relay stores what it has, gives its leases back and exits; with a
        // lease of 10 s, the test would wait that long for each document it held if it did not.
        let status = nodes[i].take().unwrap().terminate().unwrap();
        assert!(status.success(), "{status}");
        let dir = temp_dir(&format!("node-{i}-again"));
        nodes[i] = Some(
            cluster::node_at(&binary(), &dir, &store, lease, addrs[i])
                .await
                .unwrap(),
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.cancel();
    let mut done = Vec::new();
    for window in windows {
        done.push(window.await.unwrap());
    }
    converged(&addrs, "rolling", done).await;
    for node in nodes.into_iter().flatten() {
        assert!(node.terminate().unwrap().success());
    }
}

/// A relay of the cluster on `store` in this process, with `tweak` applied to its config.
async fn in_process(store: &str, tweak: impl FnOnce(&mut relay::config::Config)) -> TestRelay {
    TestRelay::start(|config| {
        config.store = Some(Location::Postgres(store.to_owned()));
        config.lease_ms = 1000;
        tweak(config);
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_document_gives_its_lease_back_and_another_relay_takes_it_at_once() {
    let Some(store) = cluster::database("idle").await.unwrap() else {
        return;
    };
    let first = in_process(&store, |c| {
        c.documents.idle_unload_secs = 1;
        c.lease_ms = 60_000;
    })
    .await;
    let second = in_process(&store, |c| c.lease_ms = 60_000).await;
    let mut ann = Peer::join(first.addr, "quiet", "ann", None).await.unwrap();
    ann.edit(vec![add("/n", "1")]).await.unwrap();
    ann.flush().await.unwrap();
    let addrs = [first.addr, second.addr];
    assert_eq!(owner(&store, "quiet", &addrs).await, Some(0));
    drop(ann.disconnect());
    // Unloaded after a second alone: the lease (good for a minute) is given back...
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while owner(&store, "quiet", &addrs).await.is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the lease was not given back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let page = http_get(first.addr, "/metrics").await;
    assert_eq!(cluster::metric(&page, "concord_leases_held"), Some(0));
    assert_eq!(
        cluster::metric(&page, "concord_lease_changes_total"),
        Some(2)
    );
    // ...so the other relay serves the document at once, as it was.
    let mut bob = Peer::join(second.addr, "quiet", "bob", None).await.unwrap();
    assert_eq!(bob.view(), &crate::json(r#"{"n": 1}"#));
    assert_eq!(owner(&store, "quiet", &addrs).await, Some(1));
    bob.edit(vec![add("/m", "2")]).await.unwrap();
    bob.flush().await.unwrap();
    first.stop().await.unwrap();
    second.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_that_cannot_be_reached_while_its_lease_holds_is_owner_unavailable() {
    let Some(store) = cluster::database("unreachable").await.unwrap() else {
        return;
    };
    // The owner renews its lease but gives the others an address where nothing answers: a
    // partition between relays that both still reach PostgreSQL.
    let nowhere = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let owner_relay = in_process(&store, |c| {
        c.node_url = Some(format!("ws://{nowhere}"));
        c.lease_ms = 500;
    })
    .await;
    let other = in_process(&store, |c| c.lease_ms = 500).await;
    let mut ann = Peer::join(owner_relay.addr, "cut", "ann", None)
        .await
        .unwrap();
    ann.edit(vec![add("/n", "1")]).await.unwrap();
    ann.flush().await.unwrap();
    // Held for twice the lease, then told to come back: a code the app retries on.
    let (mut bob, answer) = Client::join(other.addr, "cut", "bob", None, None)
        .await
        .unwrap();
    assert_eq!(error_code(&answer), "owner_unavailable", "{answer:?}");
    assert_eq!(bob.closed().await.unwrap(), Some(1013));
    // Ann goes on with the owner meanwhile.
    ann.edit(vec![add("/n2", "2")]).await.unwrap();
    ann.flush().await.unwrap();
    owner_relay.stop().await.unwrap();
    // Given back when it stopped: the other relay serves the document now.
    let (_bob, answer) = Client::join(other.addr, "cut", "bob", None, None)
        .await
        .unwrap();
    assert!(
        matches!(
            answer,
            ServerMessage::Welcome {
                rev: Revision(2),
                ..
            }
        ),
        "{answer:?}"
    );
    other.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_sent_again_after_failover_gets_its_first_ack_from_the_new_owner() {
    let Some(store) = cluster::database("again").await.unwrap() else {
        return;
    };
    let nodes = nodes(&store, 2, 1000).await;
    let submit = ClientMessage::Submit {
        seq: 1,
        base_rev: Revision(0),
        ops: vec![add("/title", "\"first\"")],
        overwrites: vec![],
    };
    // The first relay owns the document (its first client came there); Ann's change goes
    // through the second, forwarded to the first.
    let (_seed, welcome) = Client::join(nodes[0].addr, "again", "seed", None, None)
        .await
        .unwrap();
    assert!(
        matches!(welcome, ServerMessage::Welcome { .. }),
        "{welcome:?}"
    );
    let (mut ann, welcome) = Client::join(nodes[1].addr, "again", "ann", None, None)
        .await
        .unwrap();
    assert!(
        matches!(welcome, ServerMessage::Welcome { .. }),
        "{welcome:?}"
    );
    ann.send(&submit).await.unwrap();
    let first = ann
        .recv_until(|m| matches!(m, ServerMessage::Ack { .. }))
        .await
        .unwrap();
    let ServerMessage::Ack { rev, .. } = first else {
        unreachable!()
    };
    // The owner dies; Ann, not knowing whether her change landed, sends it again.
    let mut nodes = nodes.into_iter();
    nodes.next().unwrap().kill().unwrap();
    let survivor = nodes.next().unwrap();
    let (mut ann, welcome) = Client::join(survivor.addr, "again", "ann", None, Some(Revision(0)))
        .await
        .unwrap();
    assert!(
        matches!(welcome, ServerMessage::Welcome { .. }),
        "{welcome:?}"
    );
    ann.send(&submit).await.unwrap();
    let again = ann
        .recv_until(|m| matches!(m, ServerMessage::Ack { .. }))
        .await
        .unwrap();
    assert!(
        matches!(again, ServerMessage::Ack { seq: 1, rev: r, .. } if r == rev),
        "{again:?}"
    );
    let (_, doc) = {
        let (_c, welcome) = Client::join(survivor.addr, "again", "check", None, None)
            .await
            .unwrap();
        match welcome {
            ServerMessage::Welcome {
                rev,
                catch_up: sync_core::protocol::CatchUp::Snapshot { doc, .. },
                ..
            } => (rev, doc),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(doc, crate::json(r#"{"title": "first"}"#));
    assert!(survivor.terminate().unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_fails_while_postgresql_cannot_be_reached() {
    let Some(store) = cluster::database("health").await.unwrap() else {
        return;
    };
    let relay = in_process(&store, |_| {}).await;
    assert!(
        http_get(relay.addr, "/healthz")
            .await
            .starts_with("HTTP/1.1 200")
    );
    // The database refuses connections, and the relay's are ended.
    let db = store.rsplit_once('/').unwrap().1.to_owned();
    let base = std::env::var("CONCORD_TEST_POSTGRES").unwrap();
    let admin = relay::store::postgres::connect(&base).await.unwrap();
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {db} ALLOW_CONNECTIONS false; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
        ))
        .await
        .unwrap();
    let answer = http_get(relay.addr, "/healthz").await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    admin
        .batch_execute(&format!("ALTER DATABASE {db} ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    assert!(
        http_get(relay.addr, "/healthz")
            .await
            .starts_with("HTTP/1.1 200")
    );
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_minted_on_the_store_is_checked_and_revoked_by_every_relay() {
    let Some(store) = cluster::database("tokens").await.unwrap() else {
        return;
    };
    let cli = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--store", &store]);
        crate::auth::command_line(&all)
    };
    // Minted before any relay ran: the command makes the schema and the cluster's secret.
    let minted = cli(&[
        "token", "--user", "ann", "--docs", "team-*", "--role", "write",
    ]);
    assert!(minted.status.success(), "{minted:?}");
    let token = String::from_utf8(minted.stdout).unwrap().trim().to_owned();
    let mut nodes = Vec::new();
    for i in 0..2 {
        let dir = temp_dir(&format!("tokens-{i}"));
        let options: [&std::ffi::OsStr; 6] = [
            "--store".as_ref(),
            store.as_ref(),
            "--lease-ms".as_ref(),
            "1000".as_ref(),
            "--anonymous".as_ref(),
            "deny".as_ref(),
        ];
        nodes.push(
            RelayProcess::start_with(&binary(), &dir, &options)
                .await
                .unwrap(),
        );
    }
    // Either relay takes it (the second forwards to the first); neither lets anyone in without.
    let mut held = Vec::new();
    for node in &nodes {
        let (client, welcome) = Client::join(node.addr, "team-a", "ann", Some(token.clone()), None)
            .await
            .unwrap();
        assert!(
            matches!(welcome, ServerMessage::Welcome { .. }),
            "{welcome:?}"
        );
        held.push(client);
        let (_, refused) = Client::join(node.addr, "team-a", "eve", None, None)
            .await
            .unwrap();
        assert_eq!(error_code(&refused), "unauthorized");
    }
    let listed = cli(&["token", "list"]);
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(listed.contains("\tann\tteam-*\twrite\t"), "{listed}");
    // Revoked once, on the store: both relays close what holds it and refuse it again.
    let revoked = cli(&["token", "revoke", &token]);
    assert!(revoked.status.success(), "{revoked:?}");
    for client in &mut held {
        let error = client
            .recv_until(|m| matches!(m, ServerMessage::Error { .. }))
            .await
            .unwrap();
        assert_eq!(error_code(&error), "token_revoked");
    }
    for node in &nodes {
        let (_, refused) = Client::join(node.addr, "team-a", "ann", Some(token.clone()), None)
            .await
            .unwrap();
        assert_eq!(error_code(&refused), "token_revoked");
    }
    for node in nodes {
        assert!(node.terminate().unwrap().success());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_header_signed_by_the_cluster_vouches_for_a_forwarded_client() {
    let Some(store) = cluster::database("vouch").await.unwrap() else {
        return;
    };
    let relay = in_process(&store, |_| {}).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let answer = |headers: Vec<(&'static str, String)>| {
        let addr = relay.addr;
        let headers: Vec<(String, String)> = headers
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v))
            .collect();
        async move {
            let dial = e2e::Dial {
                headers,
                ..e2e::Dial::default()
            };
            let mut client = Client::dial(addr, &dial).await.unwrap();
            client
                .send(&e2e::hello("v", "eve", None, None))
                .await
                .unwrap();
            client.recv().await.unwrap()
        }
    };
    // Through a proxy a client is not local, so it needs a token...
    let proxied = || ("x-forwarded-for", "203.0.113.7".to_owned());
    assert_eq!(error_code(&answer(vec![proxied()]).await), "unauthorized");
    // ...and a vouch it made up changes nothing.
    let forged = format!("203.0.113.7 1 {now} {}", "0".repeat(64));
    let refused = answer(vec![proxied(), ("concord-forwarded", forged)]).await;
    assert_eq!(error_code(&refused), "unauthorized");
    // A relay of the cluster, which shares the secret, is believed: a client it let in without
    // a token comes in without one...
    let registry = relay::auth::registry::Registry::open_postgres(&store)
        .await
        .unwrap();
    let secret = registry.secret().await.unwrap().unwrap();
    let vouch = |anonymous: u8| {
        let text = format!("203.0.113.7 {anonymous} {now}");
        format!("{text} {}", secret.vouch(&text))
    };
    let welcome = answer(vec![("concord-forwarded", vouch(1))]).await;
    assert!(
        matches!(welcome, ServerMessage::Welcome { .. }),
        "{welcome:?}"
    );
    // ...and one that came with a token must show it here too, even from the same machine.
    let refused = answer(vec![("concord-forwarded", vouch(0))]).await;
    assert_eq!(error_code(&refused), "unauthorized");
    // A vouch from long ago is not believed.
    let text = format!("203.0.113.7 1 {}", now - 3600);
    let stale = format!("{text} {}", secret.vouch(&text));
    let refused = answer(vec![proxied(), ("concord-forwarded", stale)]).await;
    assert_eq!(error_code(&refused), "unauthorized");
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_opening_one_document_at_once_on_every_relay_are_all_welcomed() {
    let Some(store) = cluster::database("rush").await.unwrap() else {
        return;
    };
    let relays = [
        in_process(&store, |_| {}).await,
        in_process(&store, |_| {}).await,
    ];
    let addrs = [relays[0].addr, relays[1].addr];
    // Each relay claims the lease for several of its clients at once, and forwards others.
    let joins: Vec<_> = (0..40)
        .map(|i| {
            let addr = addrs[i % 2];
            tokio::spawn(async move {
                Client::join(addr, "rush", &format!("c{i}"), None, None)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut clients = Vec::new();
    for join in joins {
        let (client, answer) = join.await.unwrap();
        assert!(
            matches!(answer, ServerMessage::Welcome { .. }),
            "{answer:?}"
        );
        clients.push(client);
    }
    // All of them in one room, under one lease taken once.
    let client = relay::store::postgres::connect(&store).await.unwrap();
    let epoch: i64 = client
        .query_one("SELECT epoch FROM leases WHERE doc = 'rush'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(epoch, 1);
    drop(clients);
    for relay in relays {
        relay.stop().await.unwrap();
    }
}
