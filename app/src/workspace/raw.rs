//! The raw view's text: the document as JSON, edited as text. Text that does not parse is
//! reported with its line and column and never reaches the document; text that does is applied
//! as the smallest change from the current document (one undoable edit).

use super::Workspace;

/// The text being edited in the raw view.
#[derive(Debug, Clone, Default)]
pub struct Raw {
    /// The text.
    pub text: String,
    /// Why the text does not parse, if it does not.
    pub error: Option<String>,
    /// Whether the text differs from the document it was made from.
    pub edited: bool,
}

impl Raw {
    /// The raw view of `app`'s document.
    pub fn of(app: &Workspace) -> Raw {
        Raw {
            // Indented as the file is (tabs, four spaces…), its strings escaped as it does.
            text: app.editor.doc().to_json_styled(app.editor.style(), true),
            error: None,
            edited: false,
        }
    }
}

/// Applies the raw text to the document. On a syntax error nothing changes and the error
/// (with line and column) is kept for display; returns whether the text applied.
impl Workspace {
    /// Applies the raw text to the document. On a syntax error nothing changes and the error
    /// (with line and column) is kept for display; returns whether the text applied.
    pub(crate) fn apply_raw(&mut self) -> bool {
        let app = self;
        let Some(raw) = &mut app.raw else {
            return true;
        };
        if !raw.edited {
            return true;
        }
        match sync_core::Value::parse(&raw.text) {
            // The text of a file that did not open, fixed: the file's document now.
            Ok(doc) if app.broken.is_some() => {
                app.fixed(doc);
                true
            }
            Ok(doc) => {
                raw.error = None;
                raw.edited = false;
                match app.editor.replace_with(&doc) {
                    Ok(n) => {
                        app.message = Some(format!("applied ({n} operations)"));
                        true
                    }
                    Err(e) => {
                        app.message = Some(e.to_string());
                        false
                    }
                }
            }
            Err(e) => {
                let message = format!("line {}, column {}: {}", e.line, e.column, e.kind);
                raw.error = Some(message);
                false
            }
        }
    }
}
