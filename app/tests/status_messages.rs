//! The status bar never says something stale: a message is replaced by what happens next, and
//! goes on its own after a while; counts read as people write them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use app::ui::{ConcordApp, MESSAGE_SECONDS};
use egui::Event;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;

fn message(h: &Harness<'_, ConcordApp>) -> Option<String> {
    h.state().workspace.message.clone()
}

/// What a paste does is a workspace test; here, that the window's paste reaches it and the
/// status bar shows what the last one said.
#[test]
fn a_paste_says_what_it_did_replacing_what_an_earlier_one_said() {
    let mut h = common::window(r#"{"list": [1]}"#);
    h.get_by_label("node /list").click();
    h.run();
    h.event(Event::Paste("not json".to_owned()));
    h.run();
    assert!(message(&h).unwrap().contains("does not hold JSON"));
    h.event(Event::Paste("[2]".to_owned()));
    h.run();
    assert_eq!(message(&h).as_deref(), Some("pasted after /list"));
    assert!(h.query_by_label("pasted after /list").is_some());
}

#[test]
fn a_message_goes_after_a_while() {
    let mut h = common::window(r#"{"a": 1}"#);
    h.get_by_label("node /a").click();
    h.run();
    h.event(Event::Paste("{".to_owned()));
    h.run();
    assert!(message(&h).is_some());
    // Still there a moment later.
    for _ in 0..30 {
        h.step();
    }
    assert!(message(&h).is_some());
    // Gone once its time is up, with no input needed.
    let later = h.ctx.input(|i| i.time) + MESSAGE_SECONDS + 0.5;
    h.input_mut().time = Some(later);
    h.step();
    assert_eq!(message(&h), None);
}

#[test]
fn counts_read_as_people_write_them() {
    let h = common::window("{}");
    assert!(h.query_by_label("1 node").is_some());
    let many: String = format!(
        "[{}]",
        (0..1500)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let h = common::window(&many);
    assert!(h.query_by_label("1,501 nodes").is_some());
}
