//! The marks other people leave on the tree: name tags on the rows they are at, and their
//! carets in the strings they are editing.

use egui::{Color32, RichText, WidgetInfo};
use sync_core::Pointer;

use super::palette;
use crate::ui::ConcordApp;

/// Coloured name tags for the people (other than me) at a row.
pub(in crate::ui) fn markers_ui(ui: &mut egui::Ui, app: &ConcordApp, path: &Pointer) {
    for peer in app.peers_at(path) {
        let text = RichText::new(format!(" {} ", peer.name))
            .small()
            .color(Color32::BLACK)
            .background_color(palette(peer.color));
        let tag = ui.label(text);
        let what = if peer.caret.is_some() {
            "editing"
        } else {
            "at"
        };
        let label = format!("{} is {what} {}", peer.name, crate::ui::tree::display(path));
        tag.widget_info(|| WidgetInfo::labeled(egui::Role::Label, true, label.clone()));
    }
}

/// The carets other people have in the string at `path`, with their colours.
pub(in crate::ui) fn carets_at(app: &ConcordApp, path: &Pointer) -> Vec<(Color32, usize)> {
    app.peers_at(path)
        .filter_map(|p| p.caret.map(|c| (palette(p.color), c)))
        .collect()
}

/// Draws other people's carets in a string shown in `galley` at `origin`.
pub(in crate::ui) fn paint_carets(
    ui: &egui::Ui,
    galley: &egui::Galley,
    origin: egui::Pos2,
    carets: &[(Color32, usize)],
    offset: usize,
) {
    for &(color, caret) in carets {
        let rect = galley.pos_from_cursor(egui::text::CCursor::new(caret + offset));
        let rect = rect.translate(origin.to_vec2());
        ui.painter()
            .vline(rect.left(), rect.y_range(), egui::Stroke::new(2.0, color));
    }
}
