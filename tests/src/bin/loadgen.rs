//! Load generator for the relay. Start a relay, then point this at it:
//!
//! ```text
//! cargo build --release -p relay -p e2e
//! target/release/concord-relay serve --data-dir /tmp/load --ops-per-second 1000 &
//! target/release/loadgen --addr 127.0.0.1:9090 --pid $! busy
//! target/release/loadgen --addr 127.0.0.1:9090 --pid $! many
//! target/release/loadgen --addr 127.0.0.1:9090 --pid $! idle
//! ```
//!
//! Against a cluster, `--addr` lists every relay (comma-separated): each document's editors
//! go to different relays, so most connections are forwarded to the document's owner.
//! `takeover --kill PID` measures how long a dead owner's documents take to be served again.
//!
//! Each editor behaves like a window: at most one change in flight, each change one `replace`
//! of the editor's own member with the time it was sent (microseconds since the run started),
//! so every receiver can tell how long the broadcast took. Reports throughput, ack latency
//! (submit to ack), broadcast latency (submit to another editor's `applied`), and the relay's
//! resident memory (from `/proc/PID/status`).

#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use e2e::Client;
use sync_core::protocol::{ClientMessage, ServerMessage};
use sync_core::{Operation, Pointer, Value};
use tokio::sync::Barrier;

#[derive(Parser)]
#[command(
    name = "loadgen",
    about = "Load scenarios against a running Concord relay"
)]
struct Cli {
    /// The relay's address, or every relay's of a cluster, comma-separated.
    #[arg(long, default_value = "127.0.0.1:9090", value_delimiter = ',')]
    addr: Vec<SocketAddr>,
    /// The relay's process id (or the relays', comma-separated), to report resident memory.
    #[arg(long, value_delimiter = ',')]
    pid: Vec<u32>,
    /// How long each editing scenario runs, in seconds.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand, Clone, Copy)]
enum Scenario {
    /// One busy document: 100 editors at 10 changes a second each.
    Busy,
    /// Many documents: 1,000 documents with 3 editors each at 2 changes a second.
    Many,
    /// 10,000 idle connections (joined to 100 documents), for the memory per connection.
    Idle,
    /// A cluster's owner dies: `docs` documents are opened (and changed once) through the
    /// first relay, which so owns them all; it is killed (SIGKILL, process `kill`); then each
    /// document's window reconnects to the other relays in turn until its next change is
    /// acknowledged. Reports the time from the kill to that acknowledgement.
    Takeover {
        /// How many documents the dead relay owned.
        #[arg(long, default_value_t = 100)]
        docs: usize,
        /// The first relay's process id.
        #[arg(long)]
        kill: u32,
    },
}

/// What one editor measured.
#[derive(Default)]
struct Measured {
    acks: Vec<u64>,
    broadcasts: Vec<u64>,
    skipped: u64,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.scenario {
            Scenario::Busy => edit(&cli, 1, 100, 10.0).await,
            Scenario::Many => edit(&cli, 1000, 3, 2.0).await,
            Scenario::Idle => idle(&cli, 10_000, 100).await,
            Scenario::Takeover { docs, kill } => takeover(&cli, docs, kill).await,
        }
    })
}

/// `docs` documents, `editors` each, every editor `rate` changes a second.
async fn edit(cli: &Cli, docs: usize, editors: usize, rate: f64) -> anyhow::Result<()> {
    let start = Instant::now();
    let run_for = Duration::from_secs(cli.seconds);
    let before = rss_kib(&cli.pid);
    // Fresh document and client ids for every run, so runs against one relay never collide.
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    // Everyone connects first; the editing (and the timing) starts once all are welcomed.
    let ready = Arc::new(Barrier::new(docs * editors));
    let mut tasks = Vec::new();
    for d in 0..docs {
        for e in 0..editors {
            // Each document's editors on different relays of a cluster.
            let addr = nth(&cli.addr, d + e)?;
            let ready = Arc::clone(&ready);
            let doc = format!("load-{run}-{d}");
            let name = format!("e{run}-{d}-{e}");
            tasks.push(tokio::spawn(async move {
                editor(addr, &doc, &name, rate, start, run_for, &ready).await
            }));
        }
        // Spread the connects a little, as real windows would.
        if d % 50 == 49 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let mut all = Measured::default();
    let mut failed = 0;
    for task in tasks {
        match task.await? {
            Ok(m) => {
                all.acks.extend(m.acks);
                all.broadcasts.extend(m.broadcasts);
                all.skipped += m.skipped;
            }
            Err(e) => {
                failed += 1;
                eprintln!("editor failed: {e:#}");
            }
        }
    }
    let seconds = run_for.as_secs_f64();
    println!(
        "{docs} document(s) x {editors} editor(s) at {rate}/s for {seconds:.0} s ({failed} editors failed)"
    );
    println!(
        "throughput: {:.0} acknowledged changes/s ({} in all; {} ticks skipped with a change still in flight)",
        all.acks.len() as f64 / seconds,
        all.acks.len(),
        all.skipped
    );
    report("ack latency", &mut all.acks);
    report("broadcast latency", &mut all.broadcasts);
    if let (Some(before), Some(after)) = (before, rss_kib(&cli.pid)) {
        println!("relay resident memory: {before} KiB before, {after} KiB after");
    }
    Ok(())
}

/// One window editing `doc` at `rate` changes a second until `run_for` has passed.
async fn editor(
    addr: SocketAddr,
    doc: &str,
    name: &str,
    rate: f64,
    start: Instant,
    run_for: Duration,
    ready: &Barrier,
) -> anyhow::Result<Measured> {
    let joined = match Client::join(addr, doc, name, None, None).await {
        Ok((client, ServerMessage::Welcome { rev, .. })) => Ok((client, rev)),
        Ok((_, other)) => Err(anyhow::anyhow!("no welcome: {other:?}")),
        Err(e) => Err(e),
    };
    // Wait for the others even after failing, or they would wait forever.
    ready.wait().await;
    let (mut client, mut rev) = joined?;
    let path = Pointer::from_tokens([name]);
    let mut measured = Measured::default();
    let mut in_flight: Option<(u64, Instant)> = None;
    let mut seq = 0;
    // Windows do not edit in lockstep: each starts at its own phase of the period.
    let period = Duration::from_secs_f64(1.0 / rate);
    let phase = name
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let first = tokio::time::Instant::now() + period.mul_f64((phase % 1000) as f64 / 1000.0);
    let mut tick = tokio::time::interval_at(first, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let deadline = tokio::time::Instant::now() + run_for;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if tokio::time::Instant::now() >= deadline {
                    break;
                }
                if in_flight.is_some() {
                    measured.skipped += 1;
                    continue;
                }
                seq += 1;
                let sent = start.elapsed().as_micros() as i64;
                let submit = ClientMessage::Submit {
                    seq,
                    base_rev: rev,
                    ops: vec![Operation::add(path.clone(), Value::from(sent))],
                    overwrites: Vec::new(),
                };
                client.send(&submit).await?;
                in_flight = Some((seq, Instant::now()));
            }
            message = client.recv_frame() => match message? {
                ServerMessage::Ack { seq: acked, rev: r, .. } => {
                    if let Some((s, at)) = in_flight && s == acked {
                        measured.acks.push(at.elapsed().as_micros() as u64);
                        in_flight = None;
                    }
                    rev = rev.max(r);
                }
                ServerMessage::Applied { commit, .. } => {
                    rev = rev.max(commit.rev);
                    for op in &commit.ops {
                        if let Operation::Add { value: Value::Number(n), .. } = op
                            && let Ok(sent) = n.to_string().parse::<u128>()
                        {
                            let now = start.elapsed().as_micros();
                            measured.broadcasts.push(now.saturating_sub(sent) as u64);
                        }
                    }
                }
                ServerMessage::Reject { code, message, .. } => anyhow::bail!("rejected: {code}: {message}"),
                ServerMessage::Error { code, message } => anyhow::bail!("error: {code}: {message}"),
                _ => {}
            }
        }
    }
    client.close().await;
    Ok(measured)
}

/// `n` connections that join `docs` documents and then say nothing; the relay's memory is
/// read before and after.
async fn idle(cli: &Cli, n: usize, docs: usize) -> anyhow::Result<()> {
    let before = rss_kib(&cli.pid);
    let mut sockets = Vec::with_capacity(n);
    for i in 0..n {
        let (client, welcome) = Client::join(
            nth(&cli.addr, i)?,
            &format!("idle-{}", i % docs),
            &format!("i{i}"),
            None,
            None,
        )
        .await
        .with_context(|| format!("connection {i}"))?;
        if !matches!(welcome, ServerMessage::Welcome { .. }) {
            anyhow::bail!("connection {i}: no welcome: {welcome:?}");
        }
        sockets.push(client);
    }
    // Let presence broadcasts settle, then measure.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = rss_kib(&cli.pid);
    println!("{n} idle connections on {docs} documents");
    if let (Some(before), Some(after)) = (before, after) {
        let per = (after.saturating_sub(before)) as f64 * 1024.0 / n as f64;
        println!(
            "relay resident memory: {before} KiB before, {after} KiB with them: {:.1} KiB per connection",
            per / 1024.0
        );
    }
    drop(sockets);
    Ok(())
}

/// Prints p50, p99 and max of microsecond samples, in milliseconds.
fn report(what: &str, samples: &mut [u64]) {
    if samples.is_empty() {
        println!("{what}: no samples");
        return;
    }
    samples.sort_unstable();
    let at = |q: f64| {
        let i = ((samples.len() - 1) as f64 * q).round() as usize;
        samples.get(i).copied().unwrap_or_default() as f64 / 1000.0
    };
    println!(
        "{what}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)",
        at(0.5),
        at(0.99),
        at(1.0),
        samples.len()
    );
}

/// The resident memory of the processes `pids` together, in KiB.
fn rss_kib(pids: &[u32]) -> Option<u64> {
    let mut sum = None;
    for pid in pids {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        sum = Some(sum.unwrap_or(0) + kib);
    }
    sum
}

/// The scenario `takeover`: see [`Scenario::Takeover`].
async fn takeover(cli: &Cli, docs: usize, kill: u32) -> anyhow::Result<()> {
    anyhow::ensure!(
        cli.addr.len() >= 2,
        "takeover needs the relays of a cluster (--addr A,B,...)"
    );
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let owner = nth(&cli.addr, 0)?;
    let others: Arc<Vec<SocketAddr>> = Arc::new(cli.addr.iter().skip(1).copied().collect());
    // Every document opened and changed once through the first relay, which takes its lease.
    let mut opened = Vec::new();
    for d in 0..docs {
        let doc = format!("takeover-{run}-{d}");
        opened.push(tokio::spawn(async move {
            let name = format!("t{run}-{d}");
            let (mut client, welcome) = Client::join(owner, &doc, &name, None, None).await?;
            let ServerMessage::Welcome { rev, .. } = welcome else {
                anyhow::bail!("no welcome: {welcome:?}");
            };
            client.send(&change(&name, 1, rev)).await?;
            let rev = acked(&mut client, 1).await?;
            Ok::<_, anyhow::Error>((doc, name, rev, client))
        }));
    }
    let mut windows = Vec::new();
    for task in opened {
        windows.push(task.await??);
    }
    let killed = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(kill)?),
        nix::sys::signal::Signal::SIGKILL,
    )?;
    let mut back = Vec::new();
    for (d, (doc, name, rev, client)) in windows.into_iter().enumerate() {
        drop(client);
        let others = Arc::clone(&others);
        back.push(tokio::spawn(async move {
            let mut turn = d;
            loop {
                let addr = nth(&others, turn)?;
                turn += 1;
                let joined = Client::join(addr, &doc, &name, None, Some(rev)).await;
                if let Ok((mut client, ServerMessage::Welcome { rev: now, .. })) = joined {
                    client.send(&change(&name, 2, now)).await?;
                    acked(&mut client, 2).await?;
                    return Ok::<_, anyhow::Error>(killed.elapsed().as_micros() as u64);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    let mut times = Vec::new();
    for task in back {
        times.push(task.await??);
    }
    let all = killed.elapsed();
    println!(
        "{docs} document(s) owned by the relay killed; all served again {:.0} ms after the kill",
        all.as_secs_f64() * 1000.0
    );
    report("kill to the next change acknowledged", &mut times);
    Ok(())
}

/// The `i`th of `addrs`, going round.
fn nth(addrs: &[SocketAddr], i: usize) -> anyhow::Result<SocketAddr> {
    addrs
        .get(i % addrs.len().max(1))
        .copied()
        .context("no relay address (--addr)")
}

/// A change of the editor `name`'s own member.
fn change(name: &str, seq: u64, base_rev: sync_core::protocol::Revision) -> ClientMessage {
    ClientMessage::Submit {
        seq,
        base_rev,
        ops: vec![Operation::add(
            Pointer::from_tokens([name]),
            Value::from(seq as i64),
        )],
        overwrites: Vec::new(),
    }
}

/// Waits for the ack of change `seq`; its revision.
async fn acked(client: &mut Client, seq: u64) -> anyhow::Result<sync_core::protocol::Revision> {
    loop {
        match client.recv().await? {
            ServerMessage::Ack { seq: s, rev, .. } if s == seq => return Ok(rev),
            ServerMessage::Reject { code, message, .. } => {
                anyhow::bail!("rejected: {code}: {message}")
            }
            ServerMessage::Error { code, message } => anyhow::bail!("error: {code}: {message}"),
            _ => {}
        }
    }
}
