//! The inline editor of a row: a value (with its type switch) or a key. A string changes as it
//! is typed, a checkbox and the type switch at once; everything one field does is one undo
//! step, which Escape takes back. A number is applied when the field is left, and one that does
//! not parse keeps the field open with the reason beside it.

use egui::{ComboBox, Key, Modifiers, Role, TextEdit, WidgetInfo};

use super::{Action, name};
use crate::editor::{ValueKind, text_of};
use crate::ui::{Editing, Opening, Target};
use crate::workspace::Workspace;

/// What the user did in the inline editor this frame.
#[derive(Debug, Clone, Copy)]
pub(super) enum FieldAction {
    /// The text in the field changed.
    Typed,
    /// The checkbox of a boolean was set to this.
    Checked(bool),
    /// The type switch chose this kind.
    Retype(ValueKind),
    /// The field was left (Enter or a click elsewhere).
    Commit,
    /// Escape.
    Cancel,
}

fn push(actions: &mut Vec<Action>, action: FieldAction) {
    actions.push(Action::Field(action));
}

/// The value editor: the type switch, then what edits a value of the chosen kind.
pub(super) fn edit_ui(
    ui: &mut egui::Ui,
    editing: &mut Editing,
    carets: &[(egui::Color32, usize)],
    actions: &mut Vec<Action>,
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
        push(actions, FieldAction::Retype(chosen));
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
            if editing.opening.take().is_some() {
                switch.response.request_focus();
            }
            if ui.input(|i| i.key_pressed(Key::Escape)) {
                push(actions, FieldAction::Cancel);
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
    editing: &mut Editing,
    shown: &str,
    commit_on_blur: bool,
    actions: &mut Vec<Action>,
) {
    let id = ui.next_auto_id();
    if editing.opening.take().is_some() {
        ui.memory_mut(|m| m.request_focus(id));
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
        push(actions, FieldAction::Checked(checked));
    }
    if ui.input(|i| i.key_pressed(Key::Escape)) {
        push(actions, FieldAction::Cancel);
    } else if enter || (commit_on_blur && response.lost_focus()) {
        push(actions, FieldAction::Commit);
    }
}

/// The one-line field of an inline edit: focused when it opens; Enter or (if
/// `commit_on_blur`) a click elsewhere commits, Escape cancels.
pub(super) fn text_field_ui(
    ui: &mut egui::Ui,
    editing: &mut Editing,
    label: &str,
    width: f32,
    commit_on_blur: bool,
    carets: &[(egui::Color32, usize)],
    actions: &mut Vec<Action>,
) {
    // The field keeps its id while the edit lasts, even if the node's path changes (someone
    // inserted above it): a new id would lose the focus and the caret.
    let id = crate::ui::field_id(editing);
    if let Some(opening) = editing.opening.take()
        && crate::ui::open_field(ui, id, &mut editing.text, opening)
    {
        push(actions, FieldAction::Typed);
    }
    let mut field = TextEdit::singleline(&mut editing.text)
        .desired_width(width)
        .id(id);
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
    if let Some(range) = output.cursor_range {
        editing.caret = Some(range.primary.index.0);
    }
    name(&field, Role::TextInput, label);
    if field.changed() {
        push(actions, FieldAction::Typed);
    }
    if ui.input(|i| i.key_pressed(Key::Escape)) {
        push(actions, FieldAction::Cancel);
    } else if field.lost_focus() && (commit_on_blur || ui.input(|i| i.key_pressed(Key::Enter))) {
        push(actions, FieldAction::Commit);
    }
}

pub(super) fn apply(app: &mut Workspace, action: FieldAction) {
    match action {
        FieldAction::Typed => typed(app),
        FieldAction::Checked(checked) => {
            let value = sync_core::Value::Bool(checked);
            set(app, value);
        }
        FieldAction::Retype(kind) => retype(app, kind),
        FieldAction::Commit => {
            commit(app);
        }
        // Escape: what the field did to the document is taken back, as one change (so others
        // get it too), and edits others made meanwhile stay.
        FieldAction::Cancel => {
            if app.editing.take().is_some_and(|editing| editing.typed)
                && let Err(e) = app.editor.undo()
            {
                app.message = Some(e.to_string());
            }
        }
    }
}

/// Strings change as they are typed, one splice per change; the field's keystrokes are one
/// undo step. A number waits for the field to be left.
fn typed(app: &mut Workspace) {
    let Some(editing) = &mut app.editing else {
        return;
    };
    editing.error = None;
    let is_string = matches!(
        editing.path.resolve(app.editor.doc()),
        Some(sync_core::Value::String(_))
    );
    if editing.target == Target::Value && editing.kind == ValueKind::String && is_string {
        match app
            .editor
            .type_string(&editing.path, &editing.text, editing.typed)
        {
            Ok(changed) => editing.typed |= changed,
            Err(e) => app.message = Some(e.to_string()),
        }
    }
}

/// Sets the edited value from the field at once (a checkbox), in the field's undo step.
fn set(app: &mut Workspace, value: sync_core::Value) {
    let Some(editing) = &mut app.editing else {
        return;
    };
    editing.text = text_of(&value);
    match app.editor.set_in_field(&editing.path, value, editing.typed) {
        Ok(changed) => editing.typed |= changed,
        Err(e) => app.message = Some(e.to_string()),
    }
}

/// The type switch chose `kind`: the value becomes one of that kind at once, starting from
/// what it was (or what its field shows). A string, number or boolean goes on being edited;
/// `null` is done; an object or array is opened in the tree to take members.
fn retype(app: &mut Workspace, kind: ValueKind) {
    let Some(editing) = &mut app.editing else {
        return;
    };
    let Some(current) = editing.path.resolve(app.editor.doc()).cloned() else {
        app.editing = None;
        return;
    };
    let shown = editing.kind.is_text().then_some(editing.text.as_str());
    let value = kind.convert(&current, shown);
    editing.text = text_of(&value);
    editing.kind = kind;
    editing.error = None;
    match app.editor.set_in_field(&editing.path, value, editing.typed) {
        Ok(changed) => editing.typed |= changed,
        Err(e) => {
            app.message = Some(e.to_string());
            return;
        }
    }
    match kind {
        ValueKind::String | ValueKind::Number | ValueKind::Bool => {
            editing.opening = Some(Opening::SelectAll);
        }
        ValueKind::Null => app.editing = None,
        ValueKind::Object | ValueKind::Array => {
            let path = editing.path.clone();
            app.editing = None;
            app.editor.set_expanded(&path, true);
            app.editor.select(Some(path));
        }
    }
}

/// Applies the value being edited (if it differs) and stops editing. Returns whether the edit
/// ended: a value the field cannot take (a number that does not parse) keeps it open, with the
/// reason beside it and the document as it was.
pub(super) fn commit(app: &mut Workspace) -> bool {
    let Some(mut editing) = app.editing.take() else {
        return true;
    };
    let result = match (editing.target, editing.kind) {
        (Target::Value, ValueKind::String | ValueKind::Number) => {
            app.editor
                .set_scalar(&editing.path, editing.kind, &editing.text)
        }
        // A checkbox and the type switch applied what they did at once.
        (Target::Value, _) => Ok(()),
        (Target::Key, _) => app.editor.rename(&editing.path, &editing.text).map(|_| ()),
    };
    match result {
        Ok(()) => {
            app.message = None;
            true
        }
        Err(crate::editor::EditError::Invalid(reason)) => {
            editing.error = Some(reason);
            editing.opening = Some(Opening::Keep);
            app.editing = Some(editing);
            false
        }
        Err(e) => {
            app.message = Some(e.to_string());
            true
        }
    }
}
