//! Several relay processes on one PostgreSQL store: clients of one document on different
//! relays converge; the owner dies (SIGKILL) under load, pauses past its lease (SIGSTOP), or
//! every relay restarts in turn, and no acknowledged change is lost or applied twice.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use e2e::{Peer, RelayProcess, cluster, temp_dir};
use nix::sys::signal::Signal;
use sync_core::Value;
use sync_core::protocol::ClientId;
use sync_core::replica::{Event, Replica};
use tokio_util::sync::CancellationToken;

use crate::add;
use crate::limits::http_get;

pub(crate) fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_relay-process"))
}

/// The items of the array `/log`, each once, or a panic saying which came twice.
pub(crate) fn items(doc: &Value) -> HashSet<String> {
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

pub(crate) async fn nodes(store: &str, n: usize, lease_ms: u64) -> Vec<RelayProcess> {
    let mut nodes = Vec::new();
    for i in 0..n {
        // Kept for the process, which outlives this loop (a later test run sweeps it away).
        let dir = temp_dir(&format!("node-{i}")).keep();
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
    // Over TLS, checked as verify-full, when the test PostgreSQL serves it.
    let store = cluster::over_tls(&store);
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
    let (mut held, mut clients, mut from_relays) = (Vec::new(), 0, Vec::new());
    for node in &nodes {
        let page = http_get(node.addr, "/metrics").await;
        held.push(cluster::metric(&page, "concord_leases_held").unwrap());
        let forwarded = cluster::metric(&page, "concord_forwarded_connections").unwrap();
        assert_eq!(forwarded, u64::from(held.last() == Some(&0)), "{page}");
        clients += cluster::metric(&page, "concord_connections").unwrap();
        from_relays.push(cluster::metric(&page, "concord_connections_from_relays").unwrap());
    }
    assert_eq!(held, [1, 0, 0]);
    // Each client counted once, where its socket is: summed over relays, the clients.
    assert_eq!(clients, 4);
    assert_eq!(from_relays, [2, 0, 0]);
    // Encrypted (that the certificate was checked is a_relay_refuses_a_database_whose_...).
    let (sessions, encrypted) = cluster::relay_sessions(&store).await.unwrap();
    assert!(sessions > 0);
    if std::env::var_os("CONCORD_TEST_POSTGRES_TLS").is_some() {
        assert_eq!(encrypted, sessions, "every relay session is encrypted");
    }
    for node in nodes {
        assert!(node.terminate().unwrap().success());
    }
}

/// Makes `/log` in `doc` through the first relay, which so owns it; returns the relays'
/// addresses.
pub(crate) async fn seeded(nodes: &[Option<RelayProcess>], doc: &str) -> Arc<Vec<SocketAddr>> {
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
pub(crate) async fn owner(store: &str, doc: &str, addrs: &[SocketAddr]) -> Option<usize> {
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
        let dir = temp_dir(&format!("node-{victim}-again")).keep();
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
        let dir = temp_dir(&format!("node-{i}-again")).keep();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_refuses_a_database_whose_certificate_it_cannot_check() {
    let Some(store) = cluster::database("wrong_ca").await.unwrap() else {
        return;
    };
    if std::env::var_os("CONCORD_TEST_POSTGRES_TLS").is_none() {
        eprintln!("SKIPPED: needs the test PostgreSQL to serve TLS (CONCORD_TEST_POSTGRES_TLS)");
        return;
    }
    let dir = temp_dir("wrong-ca");
    let stranger = e2e::tls::TestCa::new().unwrap().write_ca(&dir).unwrap();
    // The URL that works, with the authority of somebody else.
    let checked = cluster::over_tls(&store);
    let (base, _) = checked.split_once('?').unwrap();
    let wrong = format!(
        "{base}?sslmode=verify-full&sslrootcert={}",
        stranger.display()
    );
    let out = std::process::Command::new(binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&*dir)
        .args(["--store", &wrong, "--node-url", "ws://127.0.0.1:1"])
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("UnknownIssuer"), "{stderr}");
}
