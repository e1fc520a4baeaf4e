//! The raw view: the document as JSON text, editable, coloured. Text that does not parse is
//! reported with its line and column and never reaches the document; text that does is applied
//! as the smallest change from the current document (one undoable edit).

use std::borrow::Cow;
use std::sync::Arc;

use egui::text::{LayoutJob, TextFormat};
use egui::{Color32, FontId, Galley, Role, TextBuffer, TextEdit, WidgetInfo};

use crate::workspace::{Intent, RawAsk, Workspace};

/// The raw view: Apply and Discard, the reason the text does not parse, and the text.
pub(super) fn raw_ui(ui: &mut egui::Ui, app: &Workspace, intents: &mut Vec<Intent>) {
    let Some(raw) = &app.raw else { return };
    ui.horizontal(|ui| {
        if ui
            .add_enabled(raw.edited, egui::Button::new("Apply"))
            .on_hover_text("Apply the text to the document")
            .clicked()
        {
            intents.push(Intent::Raw(RawAsk::Apply));
        }
        if ui
            .add_enabled(raw.edited, egui::Button::new("Discard"))
            .on_hover_text("Go back to the document as it is")
            .clicked()
        {
            intents.push(Intent::Raw(RawAsk::Discard));
        }
        if let Some(error) = &raw.error {
            ui.colored_label(ui.visuals().error_fg_color, format!("Not JSON: {error}"));
        }
    });
    let dark = ui.visuals().dark_mode;
    let mut layouter = |ui: &egui::Ui, text: &dyn TextBuffer, wrap_width: f32| -> Arc<Galley> {
        let mut job = highlight(text.as_str(), dark);
        job.wrap.max_width = wrap_width;
        ui.fonts_mut(|f| f.layout_job(job))
    };
    // Copied only when a key changes it.
    let mut text = Cow::Borrowed(raw.text.as_str());
    let response = egui::ScrollArea::both()
        .auto_shrink(false)
        .show(ui, |ui| {
            ui.add(
                TextEdit::multiline(&mut text)
                    .code_editor()
                    .desired_width(f32::INFINITY)
                    .desired_rows(30)
                    .layouter(&mut layouter),
            )
        })
        .inner;
    response.widget_info(|| WidgetInfo::labeled(Role::MultilineTextInput, true, "raw JSON"));
    let edited = matches!(text, Cow::Owned(_));
    if let Cow::Owned(text) = text {
        intents.push(Intent::Raw(RawAsk::Text(text)));
    }
    // Leaving the text after editing it applies it.
    if response.lost_focus() && (raw.edited || edited) {
        intents.push(Intent::Raw(RawAsk::Apply));
    }
}

/// JSON text coloured by token: keys, strings, numbers, literals, punctuation. Tolerant of
/// invalid text (it is being edited).
fn highlight(text: &str, dark: bool) -> LayoutJob {
    let palette = |kind: Token| -> Color32 {
        match (kind, dark) {
            (Token::Key, true) => Color32::from_rgb(0x9c, 0xdc, 0xfe),
            (Token::Key, false) => Color32::from_rgb(0x00, 0x45, 0x8a),
            (Token::String, true) => Color32::from_rgb(0xa5, 0xd6, 0x8a),
            (Token::String, false) => Color32::from_rgb(0x2e, 0x7d, 0x32),
            (Token::Number, true) => Color32::from_rgb(0x82, 0xb1, 0xff),
            (Token::Number, false) => Color32::from_rgb(0x15, 0x65, 0xc0),
            (Token::Literal, true) => Color32::from_rgb(0xff, 0xb7, 0x4d),
            (Token::Literal, false) => Color32::from_rgb(0xb2, 0x5e, 0x00),
            (Token::Other, true) => Color32::from_gray(0xc8),
            (Token::Other, false) => Color32::from_gray(0x40),
        }
    };
    let mut job = LayoutJob::default();
    let font = FontId::monospace(13.0);
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let kind = match bytes.get(i) {
            Some(b'"') => {
                i += 1;
                while let Some(&b) = bytes.get(i) {
                    i += 1;
                    if b == b'\\' {
                        i += 1;
                    } else if b == b'"' || b == b'\n' {
                        break;
                    }
                }
                // A string followed by `:` is a key.
                let rest = text.get(i.min(text.len())..).unwrap_or_default();
                if rest.trim_start().starts_with(':') {
                    Token::Key
                } else {
                    Token::String
                }
            }
            Some(b'-' | b'0'..=b'9') => {
                while bytes
                    .get(i)
                    .is_some_and(|b| b.is_ascii_digit() || b"+-.eE".contains(b))
                {
                    i += 1;
                }
                Token::Number
            }
            Some(b) if b.is_ascii_alphabetic() => {
                while bytes.get(i).is_some_and(u8::is_ascii_alphabetic) {
                    i += 1;
                }
                Token::Literal
            }
            _ => {
                // Everything else up to the next token, as one run (keeping UTF-8 whole).
                i += 1;
                while bytes
                    .get(i)
                    .is_some_and(|b| !(b'"' == *b || *b == b'-' || b.is_ascii_alphanumeric()))
                {
                    i += 1;
                }
                Token::Other
            }
        };
        let end = i.min(text.len());
        // Keep the cut on a character boundary.
        let end = (end..=text.len())
            .find(|&e| text.is_char_boundary(e))
            .unwrap_or(text.len());
        i = end;
        let piece = text.get(start..end).unwrap_or_default();
        job.append(piece, 0.0, TextFormat::simple(font.clone(), palette(kind)));
    }
    job
}

#[derive(Clone, Copy)]
enum Token {
    Key,
    String,
    Number,
    Literal,
    Other,
}

#[cfg(test)]
mod tests {
    use super::highlight;

    #[test]
    fn highlighting_keeps_every_character_even_of_broken_text() {
        for text in [
            "{\"a\": [1, -2.5e3, true, null, \"é\\\"x\"]}",
            "{\"unterminated",
            "  ünïcödé ✓ {",
            "",
        ] {
            assert_eq!(highlight(text, true).text, text);
        }
    }
}
