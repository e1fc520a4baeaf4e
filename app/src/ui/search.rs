//! Find: the search bar and stepping through the matches, which the tree marks.

use std::borrow::Cow;

use crate::commands::Command;
use crate::workspace::{Field, Intent, Workspace};

/// The search bar: the query, previous and next, the match count.
pub(super) fn search_ui(ui: &mut egui::Ui, app: &Workspace, intents: &mut Vec<Intent>) {
    let Some(search) = &app.search else {
        return;
    };
    ui.horizontal(|ui| {
        ui.label("Find");
        let id = ui.make_persistent_id("search query");
        let mut query = Cow::Borrowed(search.query.as_str());
        if let Some(opening) = &search.opening {
            super::open_field(ui, id, &mut query, opening);
            intents.push(Intent::Opened(Field::Search));
        }
        let field = ui.add(
            egui::TextEdit::singleline(&mut query)
                .id(id)
                .hint_text("key or value")
                .desired_width(260.0),
        );
        field.widget_info(|| egui::WidgetInfo::labeled(egui::Role::TextInput, true, "search"));
        if let Cow::Owned(query) = query {
            intents.push(Intent::Find(query));
            ui.ctx().request_repaint();
        }
        if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            let back = ui.input(|i| i.modifiers.shift);
            intents.push(Intent::Command(if back {
                Command::FindPrevious
            } else {
                Command::FindNext
            }));
            field.request_focus();
        }
        if ui
            .button("Previous")
            .on_hover_text("Previous match (Shift+F3)")
            .clicked()
        {
            intents.push(Intent::Command(Command::FindPrevious));
        }
        if ui.button("Next").on_hover_text("Next match (F3)").clicked() {
            intents.push(Intent::Command(Command::FindNext));
        }
        ui.label(search.summary());
        if ui
            .button("Close")
            .on_hover_text("Close the search bar (Escape)")
            .clicked()
            || ui.input(|i| i.key_pressed(egui::Key::Escape))
        {
            intents.push(Intent::CloseSearch);
        }
    });
}
