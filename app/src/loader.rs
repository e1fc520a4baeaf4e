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
    rx: Receiver<anyhow::Result<Editor>>,
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
            let _ = tx.send(Err(anyhow::anyhow!("cannot start loading: {e}")));
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
    pub fn poll(&self) -> Option<anyhow::Result<Editor>> {
        match self.rx.try_recv() {
            Ok(result) => Some(result),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(anyhow::anyhow!(
                "loading {} stopped",
                self.path.display()
            ))),
        }
    }
}

fn load(path: &Path, read: &AtomicU64, wake: &dyn Fn()) -> anyhow::Result<Editor> {
    use anyhow::Context as _;
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut bytes = Vec::with_capacity(usize::try_from(file.metadata()?.len()).unwrap_or(0));
    let mut chunk = vec![0u8; 4 << 20];
    loop {
        let n = file
            .read(&mut chunk)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(chunk.get(..n).unwrap_or_default());
        read.fetch_add(n as u64, Ordering::Relaxed);
        wake();
    }
    let mut editor = Editor::from_file(path, &bytes)?;
    drop(bytes);
    // Build the rows here, not in the first frame.
    editor.rows();
    Ok(editor)
}
