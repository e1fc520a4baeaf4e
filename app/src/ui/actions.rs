//! Copy, cut and paste of whole nodes, which egui reports as events rather than keys.

use crate::ui::ConcordApp;

impl ConcordApp {
    /// Copy, cut and paste of whole nodes as JSON, through the system clipboard (egui reports
    /// them as events, not keys), when no text field has the keyboard.
    pub(super) fn clipboard_events(&mut self, ctx: &egui::Context) {
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        let events = ctx.input(|i| i.events.clone());
        for event in events {
            let selected = self.editor.selected().cloned();
            match event {
                egui::Event::Copy | egui::Event::Cut => {
                    let Some(path) = selected else { continue };
                    if let Some(value) = path.resolve(self.editor.doc()) {
                        self.clipboard = Some(value.to_json_pretty());
                    }
                    if matches!(event, egui::Event::Cut)
                        && let Err(e) = self.editor.delete(&path)
                    {
                        self.message = Some(e.to_string());
                    }
                }
                egui::Event::Paste(text) => {
                    let at = selected.unwrap_or_default();
                    let result = match sync_core::Value::parse(&text) {
                        Ok(value) => self
                            .editor
                            .insert_value_after(&at, value)
                            .map(|_| ())
                            .map_err(|e| e.to_string()),
                        Err(e) => Err(format!("the clipboard does not hold JSON: {e}")),
                    };
                    // Either way the message says what this paste did (not an older one's).
                    self.message = Some(match result {
                        Ok(()) => format!("pasted after {}", crate::words::path(&at)),
                        Err(message) => message,
                    });
                }
                _ => {}
            }
        }
    }
}
