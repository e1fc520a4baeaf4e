//! The tree view: only the rows on screen are drawn (`ScrollArea::show_rows` over the editor's
//! flattened rows). Drawing only records what the user did; it is applied after the rows are
//! drawn, so the row list never changes under the loop.

use egui::{Response, RichText, Role, ScrollArea, WidgetInfo};
use sync_core::Pointer;

use crate::editor::Place;
use crate::editor::rows::Kind;
use crate::workspace::Part;
use crate::workspace::{Intent, Workspace};

mod inline;

/// What is carried while a node is dragged.
#[derive(Debug, Clone)]
struct Dragged(Pointer);

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

/// The tree: the rows on screen, and what is done to them.
pub(super) fn tree_ui(ui: &mut egui::Ui, app: &Workspace, intents: &mut Vec<Intent>) {
    let row_height = ui.text_style_height(&egui::TextStyle::Body).max(18.0);
    let count = app.editor.rows().len();
    let mut area = ScrollArea::both().auto_shrink(false);
    // Bring a node asked for (a search match) into view, a few rows from the top.
    if let Some(path) = &app.scroll_to {
        if let Some(row) = app.editor.row_of(path) {
            let spacing = ui.spacing().item_spacing.y;
            let offset = (row.saturating_sub(3) as f32) * (row_height + spacing);
            area = area.vertical_scroll_offset(offset);
        }
        intents.push(Intent::ScrolledTo(path.clone()));
    }
    area.show_rows(ui, row_height, count, |ui, range| {
        for index in range {
            row_ui(ui, app, index, intents);
        }
    });
}

/// The mark behind a search match's row: a faint amber, readable in both themes.
const MATCH: egui::Color32 = egui::Color32::from_rgba_premultiplied(60, 45, 0, 60);

fn row_ui(ui: &mut egui::Ui, app: &Workspace, index: usize, actions: &mut Vec<Intent>) {
    let Some(row) = app.editor.rows().get(index).cloned() else {
        return;
    };
    let path = app.editor.path_of_row(index);
    let selected = app.editor.selected() == Some(&path);
    // A search match is marked behind the row, once its size is known.
    let is_match = app.search.as_ref().is_some_and(|s| s.is_match(&path));
    let mark = ui.painter().add(egui::Shape::Noop);
    let row_response = ui.horizontal(|ui| {
        ui.add_space(f32::from(row.depth) * 16.0);
        if row.kind.is_container() {
            let toggle = disclosure_ui(ui, row.expanded);
            let verb = if row.expanded { "Collapse" } else { "Expand" };
            name(
                &toggle,
                Role::Button,
                &format!("{verb} {}", crate::words::path(&path)),
            );
            if toggle.clicked() {
                actions.push(Intent::Toggle(path.clone(), !row.expanded));
            }
        } else {
            // The same room as the triangle, so keys line up.
            let size = egui::vec2(18.0, ui.text_style_height(&egui::TextStyle::Body));
            ui.allocate_exact_size(size, egui::Sense::hover());
        }
        let editing_key = app
            .editing
            .as_ref()
            .filter(|e| e.path == path && e.part == Part::Key);
        if let Some(editing) = editing_key {
            {
                inline::text_field_ui(
                    ui,
                    editing,
                    &format!("rename {}", crate::words::path(&path)),
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
                actions.push(Intent::Rename(path.clone()));
            } else if label.clicked() {
                actions.push(Intent::Select(path.clone()));
            }
        }
        ui.label(RichText::new(row.kind.badge()).small().weak());
        let editing_here = app
            .editing
            .as_ref()
            .filter(|e| e.path == path && e.part == Part::Value);
        let carets = super::collab::carets_at(app, &path);
        if let Some(editing) = editing_here {
            inline::edit_ui(ui, editing, &carets, actions);
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
            super::collab::paint_carets(ui, &galley, galley_pos, shown.rect, &carets, 1);
            name(
                &shown,
                Role::Label,
                &format!("value of {}", crate::words::path(&path)),
            );
            if shown.double_clicked() {
                actions.push(Intent::Edit(path.clone()));
            } else if shown.clicked() {
                actions.push(Intent::Select(path.clone()));
            }
        }
        super::collab::markers_ui(ui, app, &path);
    });
    if is_match {
        let rect = row_response.response.rect.with_max_x(ui.max_rect().right());
        ui.painter()
            .set(mark, egui::Shape::rect_filled(rect, 2.0, MATCH));
    }
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
    actions: &mut Vec<Intent>,
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
        actions.push(Intent::Move(dragged.0.clone(), target.clone(), place));
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
