//! Find: the search bar and stepping through the matches, which the tree marks.

use crate::commands::Command;
use crate::workspace::Workspace;

/// The search bar: the query, previous and next, the match count. Searches on (a slice a
/// frame) until the whole document is searched.
pub(super) fn search_ui(ui: &mut egui::Ui, app: &mut Workspace, commands: &mut Vec<Command>) {
    if !app.advance_search(crate::workspace::SLICE) {
        ui.ctx().request_repaint();
    }
    let mut changed = false;
    let mut close = false;
    ui.horizontal(|ui| {
        let Some(search) = &mut app.search else {
            return;
        };
        ui.label("Find");
        let id = ui.make_persistent_id("search query");
        if let Some(opening) = search.opening.take() {
            changed = super::open_field(ui, id, &mut search.query, opening);
        }
        let field = ui.add(
            egui::TextEdit::singleline(&mut search.query)
                .id(id)
                .hint_text("key or value")
                .desired_width(260.0),
        );
        field.widget_info(|| egui::WidgetInfo::labeled(egui::Role::TextInput, true, "search"));
        changed |= field.changed();
        if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            let back = ui.input(|i| i.modifiers.shift);
            commands.push(if back {
                Command::FindPrevious
            } else {
                Command::FindNext
            });
            field.request_focus();
        }
        if ui
            .button("Previous")
            .on_hover_text("Previous match (Shift+F3)")
            .clicked()
        {
            commands.push(Command::FindPrevious);
        }
        if ui.button("Next").on_hover_text("Next match (F3)").clicked() {
            commands.push(Command::FindNext);
        }
        ui.label(search.summary());
        if ui
            .button("Close")
            .on_hover_text("Close the search bar (Escape)")
            .clicked()
            || ui.input(|i| i.key_pressed(egui::Key::Escape))
        {
            close = true;
        }
    });
    if close {
        app.search = None;
    } else if changed {
        app.refresh_search();
        ui.ctx().request_repaint();
    }
}
