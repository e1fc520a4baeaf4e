//! Two windows on a cluster of two relays behind a load balancer, as a team that outgrew one
//! machine runs it: the relay that owns the document is killed while both people go on
//! editing, and both windows reconnect through the balancer to the other relay, which takes
//! the document over; every edit, made before or during the failover, reaches both.

use std::path::PathBuf;

use e2e::balancer::Balancer;
use e2e::{cluster, temp_dir};
use sync_core::Value;

use super::{START, Window, at, connected, doc, join, runtime, session, until, window};
use app::session::Target;

fn relay_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_relay-process"))
}

fn value(window: &Window, path: &str) -> Option<String> {
    at(path)
        .resolve(window.state().workspace.editor.doc())
        .map(Value::to_json)
}

#[test]
fn windows_on_two_relays_keep_every_edit_when_the_owner_dies() {
    let rt = runtime();
    let Some(store) = rt.block_on(cluster::database("app_failover")).unwrap() else {
        return;
    };
    let dirs = [temp_dir("node-a"), temp_dir("node-b")];
    let mut relays: Vec<Option<e2e::RelayProcess>> = dirs
        .iter()
        .map(|dir| {
            Some(
                rt.block_on(cluster::node(&relay_binary(), dir, &store, 1000))
                    .unwrap(),
            )
        })
        .collect();
    let addrs: Vec<_> = relays.iter().flatten().map(|r| r.addr).collect();
    // Ann's way in tries the first relay first, Ben's the second: each reaches one, and when
    // it dies, the other.
    let balancers = rt.block_on(async {
        [
            Balancer::start(vec![addrs[0], addrs[1]]).await.unwrap(),
            Balancer::start(vec![addrs[1], addrs[0]]).await.unwrap(),
        ]
    });
    let place = |balancer: &Balancer| Target {
        relay: format!("ws://{}", balancer.addr),
        doc: "team-config".to_owned(),
        token: None,
    };
    let (dir_a, dir_b) = (temp_dir("ann"), temp_dir("ben"));
    let (mut ann, mut ben) = (window(&rt, &dir_a), window(&rt, &dir_b));
    // One of them is forwarded to the owner.
    join(&mut ann, &place(&balancers[0]), "Ann");
    join(&mut ben, &place(&balancers[1]), "Ben");
    until(&mut [&mut ann, &mut ben], "both are connected", |w| {
        w.iter().all(|a| connected(a))
    });
    ann.state_mut().workspace.import_patch(START).unwrap();
    ben.state_mut()
        .workspace
        .import_patch(r#"[{"op": "add", "path": "/owner", "value": "ben"}]"#)
        .unwrap();
    until(
        &mut [&mut ann, &mut ben],
        "both edits are everywhere",
        |w| w.iter().all(|a| connected(a)) && doc(w[0]) == doc(w[1]) && doc(w[0]).contains("ben"),
    );

    let owner = rt
        .block_on(cluster::owner(&store, "team-config"))
        .unwrap()
        .unwrap();
    let dead = addrs
        .iter()
        .position(|addr| owner == format!("ws://{addr}"))
        .unwrap();
    // The other window's connection came through the other relay.
    let page = rt.block_on(e2e::http_get(addrs[dead], "/metrics")).unwrap();
    assert_eq!(
        cluster::metric(&page, "concord_connections_from_relays"),
        Some(1),
        "{page}"
    );

    // The owner dies; both go on editing while the document has no owner.
    relays[dead].take().unwrap().kill().unwrap();
    ann.state_mut()
        .workspace
        .import_patch(r#"[{"op": "replace", "path": "/title", "value": "Plan B"}, {"op": "add", "path": "/tags/-", "value": null}]"#)
        .unwrap();
    ben.state_mut()
        .workspace
        .import_patch(r#"[{"op": "replace", "path": "/count", "value": 4}, {"op": "add", "path": "/tags/0", "value": "first"}]"#)
        .unwrap();
    until(
        &mut [&mut ann, &mut ben],
        "both windows are back, through the other relay, and agree",
        |w| w.iter().all(|a| connected(a)) && doc(w[0]) == doc(w[1]),
    );
    for window in [&ann, &ben] {
        assert_eq!(value(window, "/title").as_deref(), Some(r#""Plan B""#));
        assert_eq!(value(window, "/count").as_deref(), Some("4"));
        assert_eq!(
            value(window, "/tags").as_deref(),
            Some(r#"["first","a",null]"#)
        );
        assert_eq!(value(window, "/owner").as_deref(), Some(r#""ben""#));
        assert!(
            session(window.state()).lost.is_empty(),
            "nothing lost: the edits touch different values"
        );
    }
    // The survivor owns it now.
    let survivor = rt
        .block_on(cluster::owner(&store, "team-config"))
        .unwrap()
        .unwrap();
    assert_eq!(survivor, format!("ws://{}", addrs[1 - dead]));
    drop((ann, ben, balancers));
    for relay in relays.into_iter().flatten() {
        assert!(relay.terminate().unwrap().success());
    }
}
