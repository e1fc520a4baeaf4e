//! The tree view: only the rows on screen are drawn (`ScrollArea::show_rows` over the editor's
//! flattened rows). Drawing only records what the user did; it is applied after the rows are
//! drawn, so the row list never changes under the loop.

use egui::{ComboBox, Response, RichText, Role, ScrollArea, TextEdit, WidgetInfo};
use sync_core::Pointer;

use super::{ConcordApp, Editing, Target};
use crate::editor::rows::Kind;
use crate::editor::{Place, ScalarKind};

/// What is carried while a node is dragged.
#[derive(Debug, Clone)]
struct Dragged(Pointer);

/// What the user did in the tree this frame.
enum Action {
    Toggle(Pointer, bool),
    Select(Pointer),
    Edit(Pointer),
    Rename(Pointer),
    /// A node was dragged onto another.
    Move(Pointer, Pointer, Place),
    /// The text in the edit field changed.
    Typed,
    /// The edit field was left (Enter or a click elsewhere).
    Commit,
    /// Escape.
    Cancel,
    /// The type chosen for the value being edited changed.
    Retype,
}

/// The accessible name of the row showing `path`.
pub fn row_name(path: &Pointer) -> String {
    if path.is_root() {
        "node (root)".to_owned()
    } else {
        format!("node {path}")
    }
}

/// The triangle that expands or collapses a container: pointing right when collapsed, down
/// when expanded. Painted, so it needs no glyph from any font.
fn disclosure_ui(ui: &mut egui::Ui, expanded: bool) -> Response {
    let size = egui::vec2(18.0, ui.text_style_height(&egui::TextStyle::Body));
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::click());
    let visuals = ui.style().interact(&response);
    let c = rect.center();
    let r = 4.5;
    let points = if expanded {
        vec![
            c + egui::vec2(-r, -r * 0.6),
            c + egui::vec2(r, -r * 0.6),
            c + egui::vec2(0.0, r * 0.7),
        ]
    } else {
        vec![
            c + egui::vec2(-r * 0.6, -r),
            c + egui::vec2(-r * 0.6, r),
            c + egui::vec2(r * 0.7, 0.0),
        ]
    };
    ui.painter().add(egui::Shape::convex_polygon(
        points,
        visuals.fg_stroke.color,
        egui::Stroke::NONE,
    ));
    response
}

/// Names a widget for screen readers and tests.
fn name(response: &Response, role: Role, label: &str) {
    let enabled = response.enabled();
    response.widget_info(|| WidgetInfo::labeled(role, enabled, label));
}

impl ScalarKind {
    fn label(self) -> &'static str {
        match self {
            ScalarKind::String => "string",
            ScalarKind::Number => "number",
            ScalarKind::Bool => "boolean",
            ScalarKind::Null => "null",
        }
    }
}

pub(super) fn tree_ui(ui: &mut egui::Ui, app: &mut ConcordApp) {
    let row_height = ui.text_style_height(&egui::TextStyle::Body).max(18.0);
    let count = app.editor.rows().len();
    let mut actions = Vec::new();
    let mut area = ScrollArea::both().auto_shrink(false);
    // Bring a node asked for (a search match) into view, a few rows from the top.
    if let Some(path) = app.scroll_to.take()
        && let Some(row) = app.editor.row_of(&path)
    {
        let spacing = ui.spacing().item_spacing.y;
        let offset = (row.saturating_sub(3) as f32) * (row_height + spacing);
        area = area.vertical_scroll_offset(offset);
    }
    area.show_rows(ui, row_height, count, |ui, range| {
        for index in range {
            row_ui(ui, app, index, &mut actions);
        }
    });
    for action in actions {
        apply(app, action);
    }
}

fn row_ui(ui: &mut egui::Ui, app: &mut ConcordApp, index: usize, actions: &mut Vec<Action>) {
    let Some(row) = app.editor.rows().get(index).cloned() else {
        return;
    };
    let path = app.editor.path_of_row(index);
    let selected = app.editor.selected() == Some(&path);
    let row_response = ui.horizontal(|ui| {
        ui.add_space(f32::from(row.depth) * 16.0);
        if row.kind.is_container() {
            let toggle = disclosure_ui(ui, row.expanded);
            let verb = if row.expanded { "Collapse" } else { "Expand" };
            name(&toggle, Role::Button, &format!("{verb} {}", display(&path)));
            if toggle.clicked() {
                actions.push(Action::Toggle(path.clone(), !row.expanded));
            }
        } else {
            // The same room as the triangle, so keys line up.
            let size = egui::vec2(18.0, ui.text_style_height(&egui::TextStyle::Body));
            ui.allocate_exact_size(size, egui::Sense::hover());
        }
        let editing_key = app
            .editing
            .as_ref()
            .is_some_and(|e| e.path == path && e.target == Target::Key);
        if editing_key {
            if let Some(editing) = &mut app.editing {
                text_field_ui(
                    ui,
                    editing,
                    &format!("rename {}", display(&path)),
                    160.0,
                    true,
                    &[],
                    actions,
                );
            }
        } else {
            let key = if row.parent.is_none() {
                "(root)".to_owned()
            } else {
                row.key.to_string()
            };
            let key_text = if row.in_array {
                RichText::new(key).weak()
            } else {
                RichText::new(key).strong()
            };
            // The key is also the handle for dragging the node (not the root).
            let mut label = ui.selectable_label(selected, key_text);
            if row.parent.is_some() {
                label = label.interact(egui::Sense::drag());
                if label.drag_started() {
                    egui::DragAndDrop::set_payload(ui.ctx(), Dragged(path.clone()));
                }
                if label.dragged() {
                    ui.ctx().set_cursor_icon(egui::CursorIcon::Grabbing);
                }
            }
            name(&label, Role::Button, &row_name(&path));
            if label.double_clicked() && !row.in_array && row.parent.is_some() {
                actions.push(Action::Rename(path.clone()));
            } else if label.clicked() {
                actions.push(Action::Select(path.clone()));
            }
        }
        ui.label(RichText::new(row.kind.badge()).small().weak());
        let editing_here = app
            .editing
            .as_ref()
            .is_some_and(|e| e.path == path && e.target == Target::Value);
        let carets = super::collab::carets_at(app, &path);
        if editing_here {
            if let Some(editing) = &mut app.editing {
                edit_ui(ui, editing, &carets, actions);
            }
        } else {
            let value = path.resolve(app.editor.doc());
            let text = value.map(|v| preview(v, row.kind)).unwrap_or_default();
            let color = value_color(ui, row.kind);
            let (galley_pos, galley, shown) = egui::Label::new(RichText::new(text).color(color))
                .truncate()
                .sense(egui::Sense::click())
                .layout_in_ui(ui);
            if ui.is_rect_visible(shown.rect) {
                ui.painter().galley(galley_pos, galley.clone(), color);
            }
            // A string's preview starts with its opening quote.
            super::collab::paint_carets(ui, &galley, galley_pos, &carets, 1);
            name(&shown, Role::Label, &format!("value of {}", display(&path)));
            if shown.double_clicked() {
                actions.push(Action::Edit(path.clone()));
            } else if shown.clicked() {
                actions.push(Action::Select(path.clone()));
            }
        }
        super::collab::markers_ui(ui, app, &path);
    });
    drop_target(
        ui,
        row_response.response.rect,
        &path,
        row.kind.is_container(),
        actions,
    );
}

/// Where a node dragged over `rect` (the row of `target`) would go: before it, after it, or
/// (the middle of a container's row) into it. Draws the marker, and records the move when the
/// node is released.
fn drop_target(
    ui: &egui::Ui,
    rect: egui::Rect,
    target: &Pointer,
    container: bool,
    actions: &mut Vec<Action>,
) {
    let ctx = ui.ctx();
    let Some(dragged) = egui::DragAndDrop::payload::<Dragged>(ctx) else {
        return;
    };
    let Some(pointer) = ctx.pointer_interact_pos() else {
        return;
    };
    if !rect.contains(pointer) || dragged.0 == *target {
        return;
    }
    let fraction = (pointer.y - rect.top()) / rect.height().max(1.0);
    let place = match fraction {
        f if container && (0.3..=0.7).contains(&f) => Place::Into,
        f if f < 0.5 => Place::Before,
        _ => Place::After,
    };
    let color = ui.visuals().selection.stroke.color;
    match place {
        Place::Into => {
            ui.painter().rect_stroke(
                rect,
                2.0,
                egui::Stroke::new(1.5, color),
                egui::StrokeKind::Inside,
            );
        }
        Place::Before | Place::After => {
            let y = if place == Place::Before {
                rect.top()
            } else {
                rect.bottom()
            };
            ui.painter()
                .hline(rect.x_range(), y, egui::Stroke::new(2.0, color));
        }
    }
    if ctx.input(|i| i.pointer.any_released())
        && let Some(dragged) = egui::DragAndDrop::take_payload::<Dragged>(ctx)
    {
        actions.push(Action::Move(dragged.0.clone(), target.clone(), place));
    }
}

fn edit_ui(
    ui: &mut egui::Ui,
    editing: &mut Editing,
    carets: &[(egui::Color32, usize)],
    actions: &mut Vec<Action>,
) {
    let shown = display(&editing.path);
    let before = editing.kind;
    let switch = ComboBox::from_id_salt(("type", editing.path.to_string()))
        .selected_text(editing.kind.label())
        .show_ui(ui, |ui| {
            for kind in [
                ScalarKind::String,
                ScalarKind::Number,
                ScalarKind::Bool,
                ScalarKind::Null,
            ] {
                ui.selectable_value(&mut editing.kind, kind, kind.label());
            }
        });
    switch
        .response
        .widget_info(|| WidgetInfo::labeled(Role::ComboBox, true, format!("type of {shown}")));
    // Going to the type switch takes the focus from the text field: that is not leaving the
    // edit, so it must not commit it.
    let switching = switch.inner.is_some() || switch.response.clicked();
    if editing.kind != before {
        actions.push(Action::Retype);
        return;
    }
    if editing.kind == ScalarKind::Null {
        ui.label("null");
        return;
    }
    let width = ui.available_width().max(120.0);
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

/// The one-line field of an inline edit: focused when it opens; Enter or (if
/// `commit_on_blur`) a click elsewhere commits, Escape cancels.
fn text_field_ui(
    ui: &mut egui::Ui,
    editing: &mut Editing,
    label: &str,
    width: f32,
    commit_on_blur: bool,
    carets: &[(egui::Color32, usize)],
    actions: &mut Vec<Action>,
) {
    // The field keeps its first id while the edit lasts, even if the node's path changes
    // (someone inserted above it): a new id would lose the focus and the caret.
    let id = editing.field.unwrap_or_else(|| {
        ui.make_persistent_id((
            "edit",
            editing.path.to_string(),
            editing.target == Target::Key,
        ))
    });
    if let Some(opening) = editing.opening.take()
        && super::open_field(ui, id, &mut editing.text, opening)
    {
        actions.push(Action::Typed);
    }
    let output = TextEdit::singleline(&mut editing.text)
        .desired_width(width)
        .id(id)
        .show(ui);
    super::collab::paint_carets(ui, &output.galley, output.galley_pos, carets, 0);
    let field = output.response;
    editing.field = Some(field.id);
    if let Some(range) = output.cursor_range {
        editing.caret = Some(range.primary.index.0);
    }
    name(&field, Role::TextInput, label);
    if field.changed() {
        actions.push(Action::Typed);
    }
    if ui.input(|i| i.key_pressed(egui::Key::Escape)) {
        actions.push(Action::Cancel);
    } else if field.lost_focus()
        && (commit_on_blur || ui.input(|i| i.key_pressed(egui::Key::Enter)))
    {
        actions.push(Action::Commit);
    }
}

fn apply(app: &mut ConcordApp, action: Action) {
    match action {
        Action::Toggle(path, expanded) => app.editor.set_expanded(&path, expanded),
        Action::Select(path) => {
            commit(app);
            app.editor.select(Some(path));
        }
        Action::Edit(path) => {
            commit(app);
            app.editor.select(Some(path));
            app.start_editing();
        }
        Action::Rename(path) => {
            commit(app);
            app.editor.select(Some(path));
            app.start_renaming();
        }
        Action::Typed => {
            // Strings change as they are typed, one splice per change; the field's keystrokes
            // are one undo step.
            if let Some(editing) = &mut app.editing
                && editing.target == Target::Value
                && editing.kind == ScalarKind::String
                && matches!(
                    editing.path.resolve(app.editor.doc()),
                    Some(sync_core::Value::String(_))
                )
            {
                match app
                    .editor
                    .type_string(&editing.path, &editing.text, editing.typed)
                {
                    Ok(changed) => editing.typed |= changed,
                    Err(e) => app.message = Some(e.to_string()),
                }
            }
        }
        Action::Move(from, target, place) => {
            commit(app);
            if let Err(e) = app.editor.move_node(&from, &target, place) {
                app.message = Some(e.to_string());
            }
        }
        Action::Commit | Action::Retype => commit(app),
        // Escape: what the field typed into the document is taken back, as one change (so
        // others get it too), and edits others made meanwhile stay.
        Action::Cancel => {
            if app.editing.take().is_some_and(|editing| editing.typed)
                && let Err(e) = app.editor.undo()
            {
                app.message = Some(e.to_string());
            }
        }
    }
}

/// Applies the value being edited (if it differs) and stops editing. An invalid value is
/// reported and the document stays as it was.
fn commit(app: &mut ConcordApp) {
    let Some(editing) = app.editing.take() else {
        return;
    };
    let result = match editing.target {
        Target::Value => app
            .editor
            .set_scalar(&editing.path, editing.kind, &editing.text),
        Target::Key => app.editor.rename(&editing.path, &editing.text).map(|_| ()),
    };
    match result {
        Ok(()) => app.message = None,
        Err(e) => app.message = Some(e.to_string()),
    }
}

/// The colour of a value's text, by kind (as code editors colour JSON).
fn value_color(ui: &egui::Ui, kind: crate::editor::rows::Kind) -> egui::Color32 {
    use crate::editor::rows::Kind;
    let dark = ui.visuals().dark_mode;
    match (kind, dark) {
        (Kind::String, true) => egui::Color32::from_rgb(0xa5, 0xd6, 0x8a),
        (Kind::String, false) => egui::Color32::from_rgb(0x2e, 0x7d, 0x32),
        (Kind::Number, true) => egui::Color32::from_rgb(0x82, 0xb1, 0xff),
        (Kind::Number, false) => egui::Color32::from_rgb(0x15, 0x65, 0xc0),
        (Kind::Bool | Kind::Null, true) => egui::Color32::from_rgb(0xff, 0xb7, 0x4d),
        (Kind::Bool | Kind::Null, false) => egui::Color32::from_rgb(0xb2, 0x5e, 0x00),
        _ => ui.visuals().weak_text_color(),
    }
}

/// A path as people read it (`/` for the root).
pub(super) fn display(path: &Pointer) -> String {
    if path.is_root() {
        "/".to_owned()
    } else {
        path.to_string()
    }
}

/// The text shown for a value in its row: its JSON, cut at 200 bytes.
fn preview(value: &sync_core::Value, kind: Kind) -> String {
    const LIMIT: usize = 200;
    let mut text = match (kind, value) {
        (Kind::Object(n), _) => return format!("{{{n}}}"),
        (Kind::Array(n), _) => return format!("[{n}]"),
        // Only the start of a long string is escaped, not all of it on every frame: escaping
        // never shortens, so the JSON of its first 200 characters starts with the same 200
        // bytes as the JSON of the whole.
        (_, sync_core::Value::String(string)) => {
            let start: String = string.chunks().flat_map(str::chars).take(LIMIT).collect();
            sync_core::Value::from(start.as_str()).to_json()
        }
        _ => value.to_json(),
    };
    if text.len() > LIMIT {
        let cut = (0..=LIMIT)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        text.truncate(cut);
        text.push('…');
    }
    text
}
