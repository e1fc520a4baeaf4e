//! The rules relays of a cluster keep, one by one: an idle document's lease goes back, an owner
//! that cannot be reached is waited for and then `owner_unavailable`, a change sent again gets
//! its first ack from the new owner, `/healthz` follows PostgreSQL, tokens live in the store,
//! only the cluster's own header vouches for a forwarded client, and many clients opening one
//! document at once all get in under one lease.

use std::time::Duration;

use e2e::tls::TestCa;
use e2e::{Client, Dial, Peer, RelayProcess, TestRelay, cluster, error_code, temp_dir};
use relay::store::Location;
use relay::vouch::{HEADER, Vouch};
use sync_core::protocol::{ClientMessage, Revision, ServerMessage};

use crate::add;
use crate::cluster::{binary, nodes, owner};
use crate::limits::http_get;

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
    // Checked every third of a lease (a third of a second here), not at each request.
    health_becomes(relay.addr, "HTTP/1.1 503").await;
    admin
        .batch_execute(&format!("ALTER DATABASE {db} ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    health_becomes(relay.addr, "HTTP/1.1 200").await;
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
        // Kept for the process, which outlives this loop (a later test run sweeps it away).
        let dir = temp_dir(&format!("tokens-{i}")).keep();
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
    let answer = |headers: Vec<(&'static str, String)>, doc: &'static str| {
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
            Client::join_dialed(addr, &dial, doc, "eve")
                .await
                .unwrap()
                .1
        }
    };
    // Through a proxy a client is not local, so it needs a token...
    let proxied = || ("x-forwarded-for", "203.0.113.7".to_owned());
    assert_eq!(
        error_code(&answer(vec![proxied()], "v").await),
        "unauthorized"
    );
    // The relay's node id, as the other relays find it in its lease.
    let mut local = Peer::join(relay.addr, "v", "ann", None).await.unwrap();
    local.flush().await.unwrap();
    let node: String = relay::store::postgres::connect(&store)
        .await
        .unwrap()
        .query_one("SELECT node FROM leases WHERE doc = 'v'", &[])
        .await
        .unwrap()
        .get(0);
    // ...and a vouch it made up does not let it in (it is told to try again, as a relay whose
    // vouch fails for a moment would be).
    let made_up = Vouch::new(("203.0.113.7".parse().unwrap(), true), (&node, "v"), now).unwrap();
    let forged = made_up.header(|_| Some("0".repeat(64))).unwrap();
    let refused = answer(vec![proxied(), (HEADER, forged)], "v").await;
    assert_eq!(error_code(&refused), "owner_unavailable");
    // A relay of the cluster, which shares the secret, is believed: a client it let in without
    // a token comes in without one...
    let registry = relay::auth::registry::Registry::open_postgres(&store, false)
        .await
        .unwrap();
    let secret = registry.secret().await.unwrap().unwrap();
    let vouch = |anonymous: bool, (node, doc): (&str, &str), at: u64| {
        Vouch::new(("203.0.113.7".parse().unwrap(), anonymous), (node, doc), at)
            .unwrap()
            .header(|text| Some(secret.vouch(text)))
            .unwrap()
    };
    let good = vouch(true, (&node, "v"), now);
    let welcome = answer(vec![(HEADER, good.clone())], "v").await;
    assert!(
        matches!(welcome, ServerMessage::Welcome { .. }),
        "{welcome:?}"
    );
    // ...once: the same header again (read off the relays' network) is not believed.
    let replayed = answer(vec![proxied(), (HEADER, good)], "v").await;
    assert_eq!(error_code(&replayed), "owner_unavailable");
    // One that came with a token must show it here too, even from the same machine.
    let refused = answer(vec![(HEADER, vouch(false, (&node, "v"), now))], "v").await;
    assert_eq!(error_code(&refused), "unauthorized");
    // A vouch is for one document and one relay, and for a minute.
    for (header, doc) in [
        (vouch(true, (&node, "v"), now), "other"),
        (vouch(true, ("0123456789abcdef", "v"), now), "v"),
        (vouch(true, (&node, "v"), now - 3600), "v"),
    ] {
        let refused = answer(vec![proxied(), (HEADER, header.clone())], doc).await;
        assert_eq!(
            error_code(&refused),
            "owner_unavailable",
            "{header} for {doc}"
        );
    }
    drop(local);
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

/// Waits (five seconds at most) until `/healthz` answers with `status`.
async fn health_becomes(addr: std::net::SocketAddr, status: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let answer = http_get(addr, "/healthz").await;
        if answer.starts_with(status) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "still {answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_client_whose_owner_goes_silent_is_told_to_reconnect() {
    let Some(store) = cluster::database("silent").await.unwrap() else {
        return;
    };
    // An "owner" that takes the hello and then says nothing, not even a pong: a relay frozen
    // or cut off mid-connection.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = silent.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let _hello = futures_util::StreamExt::next(&mut ws).await;
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop(ws);
    });
    let relay = in_process(&store, |c| {
        c.limits.ping_interval_secs = 1;
        c.limits.idle_timeout_secs = 2;
    })
    .await;
    let client = relay::store::postgres::connect(&store).await.unwrap();
    client
        .execute(
            "INSERT INTO leases (doc, node, address, epoch, expires) \
             VALUES ('quiet', 'elsewhere', $1, 1, clock_timestamp() + interval '1 minute')",
            &[&format!("ws://{silent_addr}")],
        )
        .await
        .unwrap();
    let mut ann = Client::connect(relay.addr).await.unwrap();
    ann.send(&e2e::hello("quiet", "ann", None, None))
        .await
        .unwrap();
    // Told once the owner has been silent for the idle timeout (well within the wait for a
    // message), rather than left waiting on an owner that will never answer.
    let told = ann.recv().await.unwrap();
    assert_eq!(error_code(&told), "owner_changed", "{told:?}");
    assert_eq!(ann.closed().await.unwrap(), Some(1012));
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_url_that_leads_to_another_relay_is_said_not_looped() {
    let Some(store) = cluster::database("misdirected").await.unwrap() else {
        return;
    };
    // The owner's --node-url gives the address of another live relay by mistake.
    let bystander = in_process(&store, |_| {}).await;
    let owner_relay = in_process(&store, |c| {
        c.node_url = Some(format!("ws://{}", bystander.addr));
    })
    .await;
    let other = in_process(&store, |_| {}).await;
    let mut ann = Peer::join(owner_relay.addr, "astray", "ann", None)
        .await
        .unwrap();
    ann.edit(vec![add("/n", "1")]).await.unwrap();
    ann.flush().await.unwrap();
    // Bob's relay forwards him to that address; the relay there, seeing the connection was
    // meant for another, says so (and logs it for the operator) rather than send him round
    // with owner_changed.
    let (mut bob, answer) = Client::join(other.addr, "astray", "bob", None, None)
        .await
        .unwrap();
    assert_eq!(error_code(&answer), "owner_unavailable", "{answer:?}");
    assert_eq!(bob.closed().await.unwrap(), Some(1013));
    for relay in [bystander, owner_relay, other] {
        relay.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_serving_wss_with_a_private_authority_reach_each_other_through_node_ca() {
    let Some(store) = cluster::database("wss_nodes").await.unwrap() else {
        return;
    };
    let dir = temp_dir("wss-nodes");
    let ca = TestCa::new().unwrap();
    let ca_file = ca.write_ca(&dir).unwrap();
    let files = |stem: &str| {
        ca.write_server(&dir, stem, &["localhost", "127.0.0.1"])
            .unwrap()
    };
    let trusting = |stem: &str| {
        let (files, ca_file) = (files(stem), ca_file.clone());
        move |c: &mut relay::config::Config| {
            c.tls = Some(files);
            c.node_ca = Some(ca_file);
        }
    };
    let owner = in_process(&store, trusting("owner")).await;
    let other = in_process(&store, trusting("other")).await;
    let stranger = in_process(&store, |c| c.tls = Some(files("stranger"))).await;
    let dial = Dial {
        tls: Some(ca.client_config().unwrap()),
        ..Dial::default()
    };
    let join = |addr, name: &'static str| {
        let dial = &dial;
        async move { Client::join_dialed(addr, dial, "w", name).await.unwrap() }
    };
    let (mut ann, welcome) = join(owner.addr, "ann").await;
    assert!(
        matches!(welcome, ServerMessage::Welcome { .. }),
        "{welcome:?}"
    );
    // Through a relay that trusts the authority: forwarded over wss://, and in sync.
    let (mut ben, welcome) = join(other.addr, "ben").await;
    assert!(
        matches!(welcome, ServerMessage::Welcome { .. }),
        "{welcome:?}"
    );
    ann.send(&ClientMessage::Submit {
        seq: 1,
        base_rev: Revision(0),
        ops: vec![add("/x", "1")],
        overwrites: Vec::new(),
    })
    .await
    .unwrap();
    let applied = ben
        .recv_until(|m| matches!(m, ServerMessage::Applied { .. }))
        .await
        .unwrap();
    assert!(
        matches!(&applied, ServerMessage::Applied { commit, .. } if commit.ops == vec![add("/x", "1")]),
        "{applied:?}"
    );
    // The first relay owns the document, at its wss:// address: the second forwarded.
    assert_eq!(
        cluster::owner(&store, "w").await.unwrap(),
        Some(format!("wss://{}", owner.addr))
    );
    // Through one that trusts only the system's authorities, the owner cannot be reached: the
    // client is told to retry, after twice the lease.
    let (_cara, refused) = join(stranger.addr, "cara").await;
    assert_eq!(error_code(&refused), "owner_unavailable");
    for relay in [owner, other, stranger] {
        relay.stop().await.unwrap();
    }
}
