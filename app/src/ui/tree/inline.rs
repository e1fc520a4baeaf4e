//! The inline editor of a row: a value (with its type switch) or a key. A string changes as it
//! is typed, a checkbox and the type switch at once; everything one field does is one undo
//! step, which Escape takes back. A number is applied when the field is left, and one that does
//! not parse keeps the field open with the reason beside it.

use std::borrow::Cow;

use egui::{ComboBox, Key, Modifiers, Role, TextEdit, WidgetInfo};

use super::name;
use crate::editor::ValueKind;
use crate::workspace::{Editing, Field, Intent};

/// The value editor: the type switch, then what edits a value of the chosen kind.
pub(super) fn edit_ui(
    ui: &mut egui::Ui,
    editing: &Editing,
    carets: &[(egui::Color32, usize)],
    actions: &mut Vec<Intent>,
) {
    let shown = crate::words::path(&editing.path);
    let mut chosen = editing.kind;
    let switch = ComboBox::from_id_salt(("type", editing.path.to_string()))
        .selected_text(editing.kind.label())
        .show_ui(ui, |ui| {
            for kind in ValueKind::ALL {
                ui.selectable_value(&mut chosen, kind, kind.label());
            }
        });
    switch
        .response
        .widget_info(|| WidgetInfo::labeled(Role::ComboBox, true, format!("type of {shown}")));
    // Going to the type switch takes the focus from the field: that is not leaving the edit,
    // so it must not commit it.
    let switching = switch.inner.is_some() || switch.response.clicked();
    if chosen != editing.kind {
        actions.push(Intent::Retype(chosen));
        return;
    }
    match editing.kind {
        ValueKind::String | ValueKind::Number => {
            let width = ui.available_width().max(120.0);
            let width = if editing.error.is_some() {
                (width * 0.5).max(120.0)
            } else {
                width
            };
            text_field_ui(
                ui,
                editing,
                &format!("edit {shown}"),
                width,
                !switching,
                carets,
                actions,
            );
        }
        ValueKind::Bool => checkbox_ui(ui, editing, &shown, !switching, actions),
        // Nothing to type: the switch is the editor, and it has the keyboard.
        ValueKind::Null | ValueKind::Object | ValueKind::Array => {
            if editing.opening.is_some() {
                switch.response.request_focus();
                actions.push(Intent::Opened(Field::Edit));
            }
            if ui.input(|i| i.key_pressed(Key::Escape)) {
                actions.push(Intent::Cancel);
            }
        }
    }
    if let Some(error) = &editing.error {
        let color = ui.visuals().error_fg_color;
        let label = ui.colored_label(color, error);
        name(&label, Role::Label, &format!("problem with {shown}"));
    }
}

/// A boolean's checkbox: Space (or a click) sets it at once, Enter or a click elsewhere ends
/// the edit, Escape takes it back.
fn checkbox_ui(
    ui: &mut egui::Ui,
    editing: &Editing,
    shown: &str,
    commit_on_blur: bool,
    actions: &mut Vec<Intent>,
) {
    let id = ui.next_auto_id();
    if editing.opening.is_some() {
        ui.memory_mut(|m| m.request_focus(id));
        actions.push(Intent::Opened(Field::Edit));
    }
    // Enter ends the edit rather than setting the box.
    let enter = ui.memory(|m| m.has_focus(id))
        && ui.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Enter));
    let mut checked = editing.text == "true";
    let label = if checked { "true" } else { "false" };
    let response = ui.checkbox(&mut checked, label);
    debug_assert_eq!(response.id, id, "the checkbox's id is the one focused");
    name(&response, Role::CheckBox, &format!("edit {shown}"));
    if response.changed() {
        actions.push(Intent::Checked(checked));
    }
    if ui.input(|i| i.key_pressed(Key::Escape)) {
        actions.push(Intent::Cancel);
    } else if enter || (commit_on_blur && response.lost_focus()) {
        actions.push(Intent::Commit);
    }
}

/// The one-line field of an inline edit: focused when it opens; Enter or (if
/// `commit_on_blur`) a click elsewhere commits, Escape cancels.
pub(super) fn text_field_ui(
    ui: &mut egui::Ui,
    editing: &Editing,
    label: &str,
    width: f32,
    commit_on_blur: bool,
    carets: &[(egui::Color32, usize)],
    actions: &mut Vec<Intent>,
) {
    // The field keeps its id while the edit lasts, even if the node's path changes (someone
    // inserted above it): a new id would lose the focus and the caret.
    let id = crate::ui::field_id(editing);
    // Copied only when a key changes it.
    let mut text = Cow::Borrowed(editing.text.as_str());
    if let Some(opening) = &editing.opening {
        crate::ui::open_field(ui, id, &mut text, opening);
        actions.push(Intent::Opened(Field::Edit));
    }
    let mut field = TextEdit::singleline(&mut text).desired_width(width).id(id);
    if editing.error.is_some() {
        field = field.text_color(ui.visuals().error_fg_color);
    }
    let output = field.show(ui);
    crate::ui::collab::paint_carets(
        ui,
        &output.galley,
        output.galley_pos,
        output.text_clip_rect,
        carets,
        0,
    );
    let field = output.response;
    if let Cow::Owned(text) = text {
        actions.push(Intent::Typed(text));
    }
    if let Some(range) = output.cursor_range
        && editing.caret != Some(range.primary.index.0)
    {
        actions.push(Intent::Caret(range.primary.index.0));
    }
    name(&field, Role::TextInput, label);
    if ui.input(|i| i.key_pressed(Key::Escape)) {
        actions.push(Intent::Cancel);
    } else if field.lost_focus() && (commit_on_blur || ui.input(|i| i.key_pressed(Key::Enter))) {
        actions.push(Intent::Commit);
    }
}
