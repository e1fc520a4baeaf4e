//! Windows on a `wss://` relay with a certificate of its own making: trusted through the CA
//! file in the preferences, they converge; a certificate that does not fit is refused, and the
//! status bar says why.

use e2e::tls::TestCa;

use super::*;

fn reconnect_reason(app: &ConcordApp) -> Option<String> {
    match app.workspace.session.as_ref()?.status() {
        Status::Reconnecting { reason, .. } => Some(reason.clone()),
        _ => None,
    }
}

#[test]
fn windows_trusting_the_relays_ca_edit_together_over_wss() {
    let rt = runtime();
    let dir = temp_dir("wss");
    let ca = TestCa::new().unwrap();
    let files = ca.write_server(&dir, "relay", &["localhost"]).unwrap();
    let ca_file = ca.write_ca(&dir).unwrap();
    let relay = rt
        .block_on(TestRelay::start(|c| c.tls = Some(files)))
        .unwrap();
    let plan = target(&relay, "plan");
    assert!(plan.relay.starts_with("wss://"));
    let mut ann = window(&rt, &dir.join("ann"));
    let mut ben = window(&rt, &dir.join("ben"));
    for w in [&mut ann, &mut ben] {
        w.state_mut().workspace.settings.ca_file = Some(ca_file.clone());
    }
    join(&mut ann, &plan, "Ann");
    join(&mut ben, &plan, "Ben");
    until(&mut [&mut ann, &mut ben], "both are connected", |w| {
        w.iter().all(|a| connected(a))
    });
    ann.state_mut().workspace.import_patch(START).unwrap();
    ben.state_mut()
        .workspace
        .import_patch(r#"[{"op": "add", "path": "/owner", "value": "Ben"}]"#)
        .unwrap();
    until(&mut [&mut ann, &mut ben], "they converge", |w| {
        w.iter().all(|a| connected(a))
            && doc(w[0]) == doc(w[1])
            && doc(w[0]).contains("Plan")
            && doc(w[0]).contains("Ben")
    });
    drop((ann, ben));
    rt.block_on(relay.stop()).unwrap();
}

#[test]
fn a_certificate_that_does_not_fit_is_refused_with_a_clear_message() {
    let rt = runtime();
    let dir = temp_dir("wss-refused");
    let ca = TestCa::new().unwrap();
    // Made for another host than the one the window connects to.
    let files = ca.write_server(&dir, "relay", &["relay.example"]).unwrap();
    let ca_file = ca.write_ca(&dir).unwrap();
    let relay = rt
        .block_on(TestRelay::start(|c| c.tls = Some(files)))
        .unwrap();
    let mut ann = window(&rt, &dir.join("ann"));
    ann.state_mut().workspace.settings.ca_file = Some(ca_file);
    join(&mut ann, &target(&relay, "plan"), "Ann");
    until(&mut [&mut ann], "the connection is refused", |w| {
        reconnect_reason(w[0]).is_some()
    });
    let reason = reconnect_reason(ann.state()).unwrap();
    assert!(reason.contains("not valid for this address"), "{reason}");
    // The status bar says it.
    ann.step();
    assert!(
        ann.query_by_label_contains(" s (the relay's certificate is not valid for this address")
            .is_some()
    );
    // Without the relay's CA, the same relay is an unknown authority.
    let mut ben = window(&rt, &dir.join("ben"));
    join(&mut ben, &target(&relay, "plan"), "Ben");
    until(&mut [&mut ben], "the connection is refused", |w| {
        reconnect_reason(w[0]).is_some()
    });
    let reason = reconnect_reason(ben.state()).unwrap();
    assert!(reason.contains("not signed by an authority"), "{reason}");
    drop((ann, ben));
    rt.block_on(relay.stop()).unwrap();
}

/// Someone whose window refuses the relay's certificate sets the relay's CA file in
/// Preferences: the window trusts it from then on and connects at once.
#[test]
fn setting_the_ca_file_in_preferences_lets_a_refused_window_connect() {
    let rt = runtime();
    let dir = temp_dir("wss-preferences");
    let ca = TestCa::new().unwrap();
    let files = ca.write_server(&dir, "relay", &["localhost"]).unwrap();
    let ca_file = ca.write_ca(&dir).unwrap();
    let relay = rt
        .block_on(TestRelay::start(|c| c.tls = Some(files)))
        .unwrap();
    let mut ann = window(&rt, &dir.join("ann"));
    join(&mut ann, &target(&relay, "plan"), "Ann");
    until(&mut [&mut ann], "the connection is refused", |w| {
        reconnect_reason(w[0]).is_some_and(|r| r.contains("not signed by an authority"))
    });
    ann.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::P,
    );
    settle(&mut ann);
    type_into(&mut ann, "Relay CA file", ca_file.to_str().unwrap());
    // Leaving the field puts it to use.
    ann.get_by_label("Display name").click();
    settle(&mut ann);
    assert_eq!(
        ann.state().workspace.settings.ca_file.as_deref(),
        Some(ca_file.as_path())
    );
    until(&mut [&mut ann], "Ann is connected", |w| connected(w[0]));
    drop(ann);
    rt.block_on(relay.stop()).unwrap();
}

/// The plainest self-hosted setup: one self-signed certificate, given to the relay and, as
/// the CA file, to the window.
#[test]
fn a_self_signed_certificate_given_as_the_ca_file_is_trusted() {
    let rt = runtime();
    let dir = temp_dir("wss-self-signed");
    std::fs::create_dir_all(&dir).unwrap();
    let pair = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let files = relay::tls::TlsFiles {
        cert: dir.join("relay.crt"),
        key: dir.join("relay.key"),
    };
    std::fs::write(&files.cert, pair.cert.pem()).unwrap();
    std::fs::write(&files.key, pair.signing_key.serialize_pem()).unwrap();
    let cert = files.cert.clone();
    let relay = rt
        .block_on(TestRelay::start(|c| c.tls = Some(files)))
        .unwrap();
    let mut ann = window(&rt, &dir.join("ann"));
    ann.state_mut().workspace.settings.ca_file = Some(cert);
    join(&mut ann, &target(&relay, "plan"), "Ann");
    until(&mut [&mut ann], "Ann is connected", |w| connected(w[0]));
    drop(ann);
    rt.block_on(relay.stop()).unwrap();
}
