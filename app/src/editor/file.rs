//! The editor and its file: reading one, saving (atomically, keeping the file's style), and
//! how large the document is.

use std::path::Path;

use sync_core::Value;
use sync_core::value::Style;

use super::Editor;

impl Editor {
    /// Reads a JSON file.
    pub fn open(path: &Path) -> anyhow::Result<Editor> {
        use anyhow::Context as _;
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        Editor::from_file(path, &bytes)
    }

    /// An editor on the contents of the file at `path`, already read.
    pub fn from_file(path: &Path, bytes: &[u8]) -> anyhow::Result<Editor> {
        use anyhow::Context as _;
        let (doc, style) = Value::parse_slice_styled(bytes)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        let mut editor = Editor::new(doc, Some(path.to_path_buf()), style);
        editor.read_from(bytes.len());
        Ok(editor)
    }

    /// Marks the document as changed since its file was written (a fixed version of a file
    /// that did not parse, say).
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// Notes that the document was read from its file, `bytes` long.
    pub fn read_from(&mut self, bytes: usize) {
        self.saved_size = Some(bytes as u64);
    }

    /// The document's size as compact JSON, when it is small enough to count after every
    /// change; otherwise the file's size when last read or written.
    pub fn size(&self) -> DocumentSize {
        match (self.counts.size, self.saved_size) {
            (Some(bytes), _) => DocumentSize::Exact(bytes),
            (None, Some(bytes)) => DocumentSize::Saved(bytes),
            (None, None) => DocumentSize::Unknown,
        }
    }

    /// Saves files laid out as `layout` from now on, rather than as the file was read (`None`).
    pub fn lay_out(&mut self, layout: Option<sync_core::value::Layout>) {
        self.layout = layout;
    }

    /// How the document is written when saved: the file's escaping, and its layout unless one
    /// is imposed (see [`Editor::lay_out`]).
    pub fn style(&self) -> Style {
        match self.layout {
            // An imposed layout is the whole layout: no container kept on one line.
            Some(layout) => Style {
                layout,
                inline: None,
                ..self.style
            },
            None => self.style,
        }
    }

    /// Saves the document to `path`, which becomes its file.
    pub fn save_as(&mut self, path: &Path) -> anyhow::Result<()> {
        let previous = self.path.replace(path.to_path_buf());
        let result = self.save();
        if result.is_err() {
            self.path = previous;
        }
        result
    }

    /// Writes the document to its file: to a temporary file beside it, then renamed over it,
    /// so a crash never leaves half a file. Key order, numbers, string escaping and layout
    /// (minified, or the unit of indentation) are kept.
    pub fn save(&mut self) -> anyhow::Result<()> {
        use anyhow::Context as _;
        let Some(path) = self.path.clone() else {
            anyhow::bail!("the document has no file yet");
        };
        let mut text = self.doc().to_json_as(self.style());
        text.push('\n');
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = dir.join(format!(".{name}.concord-{}.tmp", std::process::id()));
        std::fs::write(&temp, text.as_bytes())
            .with_context(|| format!("cannot write {}", temp.display()))?;
        if let Err(e) = std::fs::rename(&temp, &path) {
            let _ = std::fs::remove_file(&temp);
            return Err(e).with_context(|| format!("cannot replace {}", path.display()));
        }
        self.dirty = false;
        self.saved_size = Some(text.len() as u64);
        Ok(())
    }
}

/// How large a document is, as far as the editor knows cheaply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentSize {
    /// Its compact JSON, counted.
    Exact(usize),
    /// The file's size when last read or written (large documents are not counted on every
    /// change).
    Saved(u64),
    /// Neither.
    Unknown,
}

impl std::fmt::Display for DocumentSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn human(bytes: f64) -> String {
            match bytes {
                b if b >= 1024.0 * 1024.0 => format!("{:.1} MiB", b / 1024.0 / 1024.0),
                b if b >= 1024.0 => format!("{:.1} KiB", b / 1024.0),
                b => format!("{b:.0} bytes"),
            }
        }
        match self {
            DocumentSize::Exact(bytes) => write!(f, "{}", human(*bytes as f64)),
            DocumentSize::Saved(bytes) => write!(f, "{} on disk", human(*bytes as f64)),
            DocumentSize::Unknown => write!(f, "size unknown"),
        }
    }
}
