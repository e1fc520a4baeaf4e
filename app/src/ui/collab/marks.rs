//! The marks other people leave on the tree: name tags on the rows they are at, and their
//! carets in the strings they are editing.

use egui::{Color32, RichText, WidgetInfo};
use sync_core::Pointer;

use super::palette;
use crate::workspace::Workspace;

/// Coloured name tags for the people (other than me) at a row.
pub(in crate::ui) fn markers_ui(ui: &mut egui::Ui, app: &Workspace, path: &Pointer) {
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
        let label = format!("{} is {what} {}", peer.name, crate::words::path(path));
        tag.widget_info(|| WidgetInfo::labeled(egui::Role::Label, true, label.clone()));
    }
}

/// The carets other people have in the string at `path`, with their colours.
pub(in crate::ui) fn carets_at(app: &Workspace, path: &Pointer) -> Vec<(Color32, usize)> {
    app.peers_at(path)
        .filter_map(|p| p.caret.map(|c| (palette(p.color), c)))
        .collect()
}

/// Draws other people's carets in a string shown in `galley` at `origin`, where they fall inside
/// `clip` (what shows of the text: a long line in a field scrolls, and a caret in the part
/// scrolled away is not drawn over what is beside the field).
pub(in crate::ui) fn paint_carets(
    ui: &egui::Ui,
    galley: &egui::Galley,
    origin: egui::Pos2,
    clip: egui::Rect,
    carets: &[(Color32, usize)],
    offset: usize,
) {
    for (color, x, ys) in caret_lines(galley, origin, clip, carets, offset) {
        ui.painter().vline(x, ys, egui::Stroke::new(2.0, color));
    }
}

/// Where [`paint_carets`] draws each caret: its colour, x and vertical extent.
fn caret_lines(
    galley: &egui::Galley,
    origin: egui::Pos2,
    clip: egui::Rect,
    carets: &[(Color32, usize)],
    offset: usize,
) -> Vec<(Color32, f32, egui::Rangef)> {
    carets
        .iter()
        .filter_map(|&(color, caret)| {
            let rect = galley.pos_from_cursor(egui::text::CCursor::new(caret + offset));
            let rect = rect.translate(origin.to_vec2());
            let inside = clip.x_range().contains(rect.left());
            inside.then(|| {
                (
                    color,
                    rect.left(),
                    rect.y_range().intersection(clip.y_range()),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::caret_lines;
    use egui::{Color32, FontId, Pos2, Rect, vec2};

    #[test]
    fn a_caret_in_the_part_of_a_field_scrolled_away_is_not_drawn() {
        let ctx = egui::Context::default();
        let mut lines = Vec::new();
        let mut output = ctx.run_ui(egui::RawInput::default(), |ui| {
            let text = "a long value that does not fit in its field".to_owned();
            let galley =
                ui.fonts_mut(|f| f.layout_no_wrap(text, FontId::monospace(14.0), Color32::WHITE));
            // The field shows 100 points of it, scrolled 200 points to the right.
            let clip = Rect::from_min_size(Pos2::new(300.0, 10.0), vec2(100.0, 20.0));
            let origin = Pos2::new(100.0, 10.0);
            let carets = [(Color32::RED, 0), (Color32::BLUE, 28)];
            lines = caret_lines(&galley, origin, clip, &carets, 0);
        });
        output.textures_delta.clear();
        assert_eq!(lines.len(), 1, "{lines:?}");
        let (color, x, _) = lines[0];
        assert_eq!(color, Color32::BLUE);
        assert!((300.0..=400.0).contains(&x), "{x}");
    }
}
