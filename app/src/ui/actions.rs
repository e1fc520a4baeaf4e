//! Copy, cut and paste of whole nodes, which egui reports as events rather than keys.

use crate::workspace::Intent;

/// Copy, cut and paste of whole nodes as JSON, through the system clipboard (egui reports them
/// as events, not keys), when no text field has the keyboard.
pub(super) fn clipboard_intents(ctx: &egui::Context, intents: &mut Vec<Intent>) {
    if ctx.egui_wants_keyboard_input() {
        return;
    }
    ctx.input(|i| {
        for event in &i.events {
            match event {
                egui::Event::Copy => intents.push(Intent::CopyNode { cut: false }),
                egui::Event::Cut => intents.push(Intent::CopyNode { cut: true }),
                egui::Event::Paste(text) => intents.push(Intent::Paste(text.clone())),
                _ => {}
            }
        }
    });
}
