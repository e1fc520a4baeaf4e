//! Before the relay answers, a window says so: with nothing of the document here it shows
//! where it is connecting instead of an empty document; with the copy this computer kept, it
//! shows that copy, marked as not yet synced.

use super::*;

#[test]
fn a_window_on_a_relay_that_is_down_says_so_until_the_document_arrives() {
    let rt = runtime();
    let relay_dir = temp_dir("relay");
    let relay = rt
        .block_on(TestRelay::start_in(&relay_dir, |_| {}))
        .unwrap();
    let (addr, place) = (relay.addr, target(&relay, "waiting"));
    let ben_dir = temp_dir("ben");
    let mut ben = window(&rt, &ben_dir);
    join(&mut ben, &place, "Ben");
    until(&mut [&mut ben], "Ben is connected", |w| connected(w[0]));
    ben.state_mut().workspace.import_patch(START).unwrap();
    until(&mut [&mut ben], "Ben's document is stored", |w| {
        connected(w[0])
    });
    drop(ben);
    rt.block_on(relay.stop()).unwrap();

    // Ann joins while the relay is down: no document, and no claim that all is synced.
    let ann_dir = temp_dir("ann");
    let mut ann = window(&rt, &ann_dir);
    join(&mut ann, &place, "Ann");
    until(&mut [&mut ann], "Ann's first attempt failed", |w| {
        matches!(session(w[0]).status(), Status::Reconnecting { .. })
    });
    settle(&mut ann);
    let heading = format!("{} on {}", place.doc, place.relay);
    assert!(ann.query_by_label(&heading).is_some(), "{heading}");
    assert!(
        ann.query_by_label("node (root)").is_none(),
        "no document is shown"
    );
    assert!(ann.query_by_label("sync: no document yet").is_some());
    assert!(ann.query_by_label_contains("all changes synced").is_none());

    // The relay comes back: the document shows, synced.
    let relay = rt
        .block_on(TestRelay::restart_at(&relay_dir, addr))
        .unwrap();
    ann.state_mut()
        .workspace
        .session
        .as_mut()
        .unwrap()
        .connect_now();
    until(&mut [&mut ann], "Ann has the document", |w| {
        connected(w[0]) && doc(w[0]).contains("Plan")
    });
    settle(&mut ann);
    assert!(ann.query_by_label("node (root)").is_some());
    assert!(ann.query_by_label("sync: all changes synced").is_some());

    // Closed, the relay down again, and opened again: the copy kept here shows, marked.
    drop(ann);
    rt.block_on(relay.stop()).unwrap();
    let mut ann = window(&rt, &ann_dir);
    join(&mut ann, &place, "Ann");
    settle(&mut ann);
    assert!(doc(ann.state()).contains("Plan"));
    assert!(ann.query_by_label("node (root)").is_some());
    assert!(
        ann.query_by_label_contains("copy kept on this computer")
            .is_some()
    );
    assert!(
        ann.query_by_label("sync: the copy kept here, not yet synced")
            .is_some()
    );
    drop(ann);
}
