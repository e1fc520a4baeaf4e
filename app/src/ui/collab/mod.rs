//! Collaboration in the window: joining and sharing, the edits others make to what is being
//! edited, patches as files. Drawn by `panels` (the connection in the status bar, the conflict
//! notice, the notice of a relay that is behind this window with its two ways on, the side
//! panel with people, conflicts and history, an old revision read-only) and `marks` (other
//! people's tags and carets on the tree). The Connect and Share dialogs are with the others,
//! in `ui::dialogs`.

mod marks;
mod panels;

pub(in crate::ui) use marks::{carets_at, markers_ui, paint_carets};
pub(in crate::ui) use panels::{
    kept_copy_ui, notice_ui, relay_behind_ui, revision_ui, side_ui, status_ui, waiting_ui,
};

use egui::Color32;

use super::ConcordApp;

/// The colour of palette entry `index` (the relay gives each peer one of 16).
pub fn palette(index: u8) -> Color32 {
    // The most distinct first: the relay gives people the first colour free in this order.
    const COLORS: [Color32; 16] = [
        Color32::from_rgb(0xe5, 0x39, 0x35), // red
        Color32::from_rgb(0x1e, 0x88, 0xe5), // blue
        Color32::from_rgb(0x43, 0xa0, 0x47), // green
        Color32::from_rgb(0xfb, 0xc0, 0x2d), // yellow
        Color32::from_rgb(0x8e, 0x24, 0xaa), // purple
        Color32::from_rgb(0x00, 0xac, 0xc1), // cyan
        Color32::from_rgb(0xfb, 0x8c, 0x00), // orange
        Color32::from_rgb(0xd8, 0x1b, 0x60), // pink
        Color32::from_rgb(0x7c, 0xb3, 0x42), // lime
        Color32::from_rgb(0x39, 0x49, 0xab), // indigo
        Color32::from_rgb(0x6d, 0x4c, 0x41), // brown
        Color32::from_rgb(0x00, 0x89, 0x7b), // teal
        Color32::from_rgb(0xf0, 0x62, 0x92), // rose
        Color32::from_rgb(0x54, 0x6e, 0x7a), // slate
        Color32::from_rgb(0xc0, 0xca, 0x33), // olive
        Color32::from_rgb(0x5e, 0x35, 0xb1), // violet
    ];
    COLORS
        .get(usize::from(index) % COLORS.len())
        .copied()
        .unwrap_or(Color32::GRAY)
}

impl ConcordApp {
    /// [`Workspace::poll`], then what it asks of the window: the field being edited keeps
    /// its caret and selection on the same characters, and the window is drawn again when it
    /// must poll again.
    pub(super) fn poll(&mut self, ctx: &egui::Context) {
        let polled = self.workspace.poll();
        if let (Some(shift), Some(id)) = (
            &polled.shifted,
            self.workspace.editing.as_ref().map(super::field_id),
        ) && let Some(mut state) = egui::TextEdit::load_state(ctx, id)
            && let Some(range) = state.cursor.char_range()
        {
            let moved = egui::text::CCursorRange::two(
                egui::text::CCursor::new(shift.apply(range.secondary.index.0)),
                egui::text::CCursor::new(shift.apply(range.primary.index.0)),
            );
            state.cursor.set_char_range(Some(moved));
            state.store(ctx, id);
        }
        if let Some(after) = polled.again_after {
            ctx.request_repaint_after(after);
        }
    }
}
