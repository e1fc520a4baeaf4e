//! Loading a file on a background thread, so the window stays responsive (and shows progress)
//! however large the file. The thread reads in chunks, reporting bytes read, then parses and
//! prepares the editor, and hands it over on a channel.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};

use crate::editor::Editor;

/// A file being loaded.
pub struct Loader {
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes (0 if unknown).
    pub total: u64,
    read: Arc<AtomicU64>,
    rx: Receiver<Result<Editor, LoadError>>,
}

/// Why a file did not open.
#[derive(Debug)]
pub enum LoadError {
    /// It could not be read (or loading stopped).
    Failed(String),
    /// It is not JSON.
    NotJson(Box<Broken>),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Failed(reason) => f.write_str(reason),
            LoadError::NotJson(broken) => write!(
                f,
                "{} is not JSON: line {}, column {}: {}",
                broken.path.display(),
                broken.line,
                broken.column,
                broken.reason
            ),
        }
    }
}

/// A file that is not JSON: where and why, the text around the place, and (when it is text
/// and not too large) all of it, to fix in the raw view.
#[derive(Debug, Clone, PartialEq)]
pub struct Broken {
    /// The file.
    pub path: PathBuf,
    /// 1-based line of the error.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong there.
    pub reason: String,
    /// The lines around the error, each with its number (a long line only near the error).
    pub around: Vec<(usize, String)>,
    /// Where the error is in its line as shown, 1-based, in characters.
    pub caret: usize,
    /// The whole text, if it is UTF-8 and at most [`FIXABLE`] bytes.
    pub text: Option<String>,
}

/// The largest file offered for fixing in the raw view.
pub const FIXABLE: usize = 16 << 20;

impl Broken {
    fn new(path: &Path, bytes: &[u8], error: &sync_core::ParseError) -> Broken {
        const CONTEXT: usize = 3;
        const WIDE: usize = 160;
        let first = error.line.saturating_sub(CONTEXT).max(1);
        let mut caret = error.column;
        let around = bytes
            .split(|&b| b == b'\n')
            .enumerate()
            .skip(first - 1)
            .take(error.line + CONTEXT + 1 - first)
            .map(|(i, line)| {
                // A minified file is one long line: only the part near the error.
                let line = String::from_utf8_lossy(line);
                let shown: String = if i + 1 == error.line && line.chars().count() > WIDE {
                    let start = error.column.saturating_sub(WIDE / 2);
                    caret = error.column - start;
                    line.chars().skip(start).take(WIDE).collect()
                } else {
                    line.chars().take(WIDE).collect()
                };
                (i + 1, shown)
            })
            .collect();
        let text = (bytes.len() <= FIXABLE)
            .then(|| std::str::from_utf8(bytes).ok().map(str::to_owned))
            .flatten();
        Broken {
            path: path.to_path_buf(),
            line: error.line,
            column: error.column,
            reason: error.kind.to_string(),
            around,
            caret,
            text,
        }
    }
}

/// Where a load is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Progress {
    /// Reading: the fraction read so far.
    Reading(f32),
    /// Read; parsing.
    Parsing,
}

impl Loader {
    /// Starts loading `path`; `wake` is called when there is progress to show (the app passes
    /// `request_repaint`).
    pub fn start(path: &Path, wake: impl Fn() + Send + 'static) -> Loader {
        let total = std::fs::metadata(path).map_or(0, |m| m.len());
        let read = Arc::new(AtomicU64::new(0));
        let (tx, rx) = sync_channel(1);
        let (path_buf, counter) = (path.to_path_buf(), Arc::clone(&read));
        let spawned = std::thread::Builder::new()
            .name("concord-load".to_owned())
            .spawn(move || {
                let result = load(&path_buf, &counter, &wake);
                let _ = tx.send(result);
                wake();
            });
        if let Err(e) = spawned {
            // No thread: report it through the channel as a failed load.
            let (tx, rx2) = sync_channel(1);
            let _ = tx.send(Err(LoadError::Failed(format!("cannot start loading: {e}"))));
            return Loader {
                path: path.to_path_buf(),
                total,
                read,
                rx: rx2,
            };
        }
        Loader {
            path: path.to_path_buf(),
            total,
            read,
            rx,
        }
    }

    /// How far it has got.
    pub fn progress(&self) -> Progress {
        let read = self.read.load(Ordering::Relaxed);
        if self.total > 0 && read >= self.total {
            Progress::Parsing
        } else if self.total == 0 {
            Progress::Reading(0.0)
        } else {
            Progress::Reading(read as f32 / self.total as f32)
        }
    }

    /// The editor, once loaded (or why it could not be); `None` while still loading.
    pub fn poll(&self) -> Option<Result<Editor, LoadError>> {
        match self.rx.try_recv() {
            Ok(result) => Some(result),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(LoadError::Failed(format!(
                "loading {} stopped",
                self.path.display()
            )))),
        }
    }
}

fn load(path: &Path, read: &AtomicU64, wake: &dyn Fn()) -> Result<Editor, LoadError> {
    let unreadable =
        |e: std::io::Error| LoadError::Failed(format!("cannot read {}: {e}", path.display()));
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    let size = file.metadata().map_err(unreadable)?.len();
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    let mut chunk = vec![0u8; 4 << 20];
    loop {
        let n = file.read(&mut chunk).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(chunk.get(..n).unwrap_or_default());
        read.fetch_add(n as u64, Ordering::Relaxed);
        wake();
    }
    let (doc, style) = sync_core::Value::parse_slice_styled(&bytes)
        .map_err(|e| LoadError::NotJson(Box::new(Broken::new(path, &bytes, &e))))?;
    let mut editor = Editor::new(doc, Some(path.to_path_buf()), style);
    editor.read_from(bytes.len());
    drop(bytes);
    // Build the rows here, not in the first frame.
    editor.rows();
    Ok(editor)
}

#[cfg(test)]
mod tests {
    use super::Broken;

    #[test]
    fn a_broken_file_is_shown_around_its_error() {
        let text = "{\n  \"a\": 1,\n  \"b\": ,\n  \"c\": 3\n}\n";
        let error = sync_core::Value::parse(text).unwrap_err();
        let broken = Broken::new(std::path::Path::new("x.json"), text.as_bytes(), &error);
        assert_eq!((broken.line, broken.column), (3, 8));
        assert_eq!(broken.around.first(), Some(&(1, "{".to_owned())));
        assert!(broken.around.contains(&(3, "  \"b\": ,".to_owned())));
        assert_eq!(broken.text.as_deref(), Some(text));
        // Not text: nothing to fix in the raw view, still shown.
        let bytes = b"{\"a\": \xff}";
        let error = sync_core::Value::parse_slice(bytes).unwrap_err();
        let broken = Broken::new(std::path::Path::new("x.json"), bytes, &error);
        assert_eq!(broken.text, None);
        assert_eq!(broken.around.len(), 1);
    }
}
