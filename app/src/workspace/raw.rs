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

/// What is done in the raw view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawAsk {
    /// The text is now this.
    Text(String),
    /// Apply the text to the document (Apply, or the text left after an edit).
    Apply,
    /// Go back to the document as it is (or to the file that did not open).
    Discard,
}

impl Workspace {
    pub(super) fn ask_raw(&mut self, ask: RawAsk) {
        match ask {
            RawAsk::Text(text) => {
                if let Some(raw) = &mut self.raw {
                    raw.text = text;
                    raw.edited = true;
                    raw.error = None;
                }
            }
            RawAsk::Discard if self.broken.is_some() => self.raw = None,
            RawAsk::Discard => self.raw = Some(Raw::of(self)),
            RawAsk::Apply => {
                self.apply_raw();
                if self.raw.as_ref().is_some_and(|r| r.error.is_none()) {
                    self.raw = Some(Raw::of(self));
                }
            }
        }
    }

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
