//! A relay process under load from several windows, killed with SIGKILL at random moments and
//! restarted on the same data directory: every change is there once (acknowledged ones because
//! they were stored; the others because the windows resubmit them), and the windows resume.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use e2e::{Peer, RelayProcess, temp_dir};
use sync_core::Value;
use sync_core::replica::Replica;

use crate::add;

const WINDOWS: usize = 3;

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_relay-process"))
}

/// SplitMix64, seeded from `CRASH_SEED` or the clock (printed, so a failure can be replayed).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    }
}

/// One window's edits during one life of the relay: appends until the connection dies.
async fn edit_until_killed(
    addr: std::net::SocketAddr,
    replica: Replica,
    made: &mut u64,
) -> Replica {
    let client = replica.client().0.clone();
    let mut peer = match Peer::resume(addr, "crash", replica, None).await {
        Ok(peer) => peer,
        Err(e) => panic!("{client} could not reconnect: {e:#}"),
    };
    loop {
        let item = format!("\"{client}-{made}\"");
        if peer.edit(vec![add("/log/-", &item)]).await.is_err() {
            // The edit is applied locally and pending even if sending it failed.
            *made += 1;
            break;
        }
        *made += 1;
        // Read what arrived; a dead connection ends this life.
        match peer.step_within(Duration::from_millis(5)).await {
            Ok(_) => {}
            Err(_) => break,
        }
    }
    peer.disconnect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_survive_sigkill_and_windows_resume() {
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let rounds: usize = std::env::var("CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    eprintln!("crash test: CRASH_SEED={seed} CRASH_ROUNDS={rounds}");
    let mut rng = Rng(seed);
    let dir = temp_dir("crash");

    // The document and the windows.
    let relay = RelayProcess::start(&binary(), &dir).await.unwrap();
    let mut seedling = Peer::join(relay.addr, "crash", "seed", None).await.unwrap();
    seedling.edit(vec![add("/log", "[]")]).await.unwrap();
    seedling.flush().await.unwrap();
    drop(seedling);
    let mut replicas: Vec<Replica> = (0..WINDOWS)
        .map(|w| {
            Replica::new(
                sync_core::protocol::ClientId(format!("w{w}")),
                &format!("w{w}"),
            )
        })
        .collect();
    let mut made = vec![0u64; WINDOWS];
    let mut relay = Some(relay);

    for round in 0..rounds {
        let current = relay.take().unwrap();
        let addr = current.addr;
        let mut tasks = Vec::new();
        for (w, replica) in replicas.drain(..).enumerate() {
            let mut count = made[w];
            tasks.push(tokio::spawn(async move {
                let replica = edit_until_killed(addr, replica, &mut count).await;
                (replica, count)
            }));
        }
        let life = 100 + rng.below(500);
        tokio::time::sleep(Duration::from_millis(life)).await;
        current.kill().unwrap();
        for (w, task) in tasks.into_iter().enumerate() {
            let (replica, count) = task.await.unwrap();
            replicas.push(replica);
            made[w] = count;
        }
        eprintln!("round {round}: killed after {life} ms; edits made so far {made:?}");
        relay = Some(RelayProcess::start(&binary(), &dir).await.unwrap());
    }

    // The last life: every window reconnects and sends what it still has pending.
    let last = relay.take().unwrap();
    let mut views = Vec::new();
    for replica in replicas {
        let mut peer = Peer::resume(last.addr, "crash", replica, None)
            .await
            .unwrap();
        peer.flush().await.unwrap();
        views.push(peer);
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
    let Value::Object(root) = &doc else {
        panic!("{doc}")
    };
    let Some(Value::Array(log)) = root.get("log") else {
        panic!("{doc}")
    };
    let mut seen = HashSet::new();
    for item in log {
        assert!(
            seen.insert(item.to_json()),
            "{item} applied twice (seed {seed})"
        );
    }
    for (w, n) in made.iter().enumerate() {
        for i in 0..*n {
            assert!(
                seen.contains(&format!("\"w{w}-{i}\"")),
                "w{w}-{i} lost (seed {seed})"
            );
        }
    }
    assert_eq!(log.len() as u64, made.iter().sum::<u64>());
    let status = last.terminate().unwrap();
    assert!(status.success(), "graceful stop: {status}");
}
