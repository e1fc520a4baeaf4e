//! The relay's own TLS (`--tls-cert`, `--tls-key`): `wss://` only, and a renewed certificate
//! read again on SIGHUP.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use e2e::tls::TestCa;
use e2e::{Client, Dial, RelayProcess, TestRelay, WAIT, temp_dir};
use sync_core::protocol::{ClientMessage, Revision, ServerMessage};

use crate::add;

fn over_tls(config: Arc<rustls::ClientConfig>) -> Dial {
    Dial {
        tls: Some(config),
        ..Dial::default()
    }
}

async fn join(addr: std::net::SocketAddr, dial: &Dial, client: &str) -> anyhow::Result<Client> {
    match Client::join_dialed(addr, dial, "d", client).await? {
        (c, ServerMessage::Welcome { .. }) => Ok(c),
        (_, other) => anyhow::bail!("expected a welcome, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_with_its_own_certificate_serves_wss_and_nothing_else() {
    let dir = temp_dir("tls");
    let ca = TestCa::new().unwrap();
    let files = ca
        .write_server(&dir, "relay", &["localhost", "127.0.0.1"])
        .unwrap();
    let relay = TestRelay::start(|c| c.tls = Some(files)).await.unwrap();
    assert!(relay.url().starts_with("wss://localhost:"));
    let dial = over_tls(ca.client_config().unwrap());
    let mut ann = join(relay.addr, &dial, "ann").await.unwrap();
    let mut ben = join(relay.addr, &dial, "ben").await.unwrap();
    ann.send(&ClientMessage::Submit {
        seq: 1,
        base_rev: Revision(0),
        ops: vec![add("/x", "1")],
        overwrites: Vec::new(),
    })
    .await
    .unwrap();
    let ack = ann
        .recv_until(|m| matches!(m, ServerMessage::Ack { .. }))
        .await
        .unwrap();
    assert!(matches!(ack, ServerMessage::Ack { seq: 1, .. }), "{ack:?}");
    let applied = ben
        .recv_until(|m| matches!(m, ServerMessage::Applied { .. }))
        .await
        .unwrap();
    assert!(
        matches!(&applied, ServerMessage::Applied { commit, .. } if commit.ops == vec![add("/x", "1")])
    );
    // Plain ws:// to it does not get through; nor does TLS that trusts another authority.
    assert!(Client::connect(relay.addr).await.is_err());
    let stranger = over_tls(TestCa::new().unwrap().client_config().unwrap());
    let refused = Client::dial(relay.addr, &stranger).await.err().unwrap();
    assert!(
        format!("{refused:#}").contains("UnknownIssuer"),
        "{refused:#}"
    );
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reads_a_renewed_certificate_and_keeps_the_old_one_if_the_new_is_broken() {
    let dir = temp_dir("tls-reload");
    let old_ca = TestCa::new().unwrap();
    let files = old_ca.write_server(&dir, "relay", &["localhost"]).unwrap();
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_relay-process"));
    let options = [
        OsStr::new("--tls-cert"),
        files.cert.as_os_str(),
        OsStr::new("--tls-key"),
        files.key.as_os_str(),
    ];
    let relay = RelayProcess::start_with(&binary, &dir.join("data"), &options)
        .await
        .unwrap();
    let old = over_tls(old_ca.client_config().unwrap());
    let mut before = join(relay.addr, &old, "before").await.unwrap();
    // The renewal: a new pair, from another authority, written in place.
    let new_ca = TestCa::new().unwrap();
    let renewed = new_ca
        .write_server(&dir, "renewed", &["localhost"])
        .unwrap();
    std::fs::copy(&renewed.cert, &files.cert).unwrap();
    std::fs::copy(&renewed.key, &files.key).unwrap();
    let new = over_tls(new_ca.client_config().unwrap());
    assert!(
        Client::dial(relay.addr, &new).await.is_err(),
        "not read before SIGHUP"
    );
    relay.signal(nix::sys::signal::Signal::SIGHUP).unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while join(relay.addr, &new, "after").await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the renewed certificate was not taken"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(Client::dial(relay.addr, &old).await.is_err());
    // The connection opened before goes on.
    before
        .send(&ClientMessage::History {
            from: Revision(0),
            to: None,
        })
        .await
        .unwrap();
    assert!(before.recv().await.is_ok());
    // A broken renewal is refused and the certificate in use stays.
    std::fs::write(&files.key, "-----BEGIN PRIVATE KEY-----\nbroken\n").unwrap();
    relay.signal(nix::sys::signal::Signal::SIGHUP).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    join(relay.addr, &new, "still").await.unwrap();
    relay.terminate().unwrap();
}
