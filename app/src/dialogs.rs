//! Native open and save dialogs, through the desktop portal (`xdg-desktop-portal` on Linux),
//! run on a background thread so that the window never waits for them.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};

/// Which dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Choose a file to open.
    Open,
    /// Choose where to save.
    SaveAs,
    /// Choose where to write a patch.
    ExportPatch,
    /// Choose a patch to apply.
    ImportPatch,
}

/// A dialog that is open.
pub struct Pending {
    /// What it is for.
    pub purpose: Purpose,
    rx: Receiver<Option<PathBuf>>,
}

/// What came of a dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Still open.
    Open,
    /// A file was chosen.
    Chosen(PathBuf),
    /// Cancelled, or no dialog could be shown (no desktop portal, say).
    Nothing,
}

impl Pending {
    /// Shows a dialog; `wake` is called when it closes.
    pub fn start(
        purpose: Purpose,
        directory: Option<PathBuf>,
        wake: impl Fn() + Send + 'static,
    ) -> Pending {
        let (tx, rx) = sync_channel(1);
        let spawned = std::thread::Builder::new()
            .name("concord-dialog".to_owned())
            .spawn(move || {
                let _ = tx.send(show(purpose, directory));
                wake();
            });
        if spawned.is_err() {
            let (tx, rx) = sync_channel(1);
            let _ = tx.send(None);
            return Pending { purpose, rx };
        }
        Pending { purpose, rx }
    }

    /// Whether the dialog has closed, and with what.
    pub fn poll(&self) -> Outcome {
        match self.rx.try_recv() {
            Ok(Some(path)) => Outcome::Chosen(path),
            Ok(None) | Err(TryRecvError::Disconnected) => Outcome::Nothing,
            Err(TryRecvError::Empty) => Outcome::Open,
        }
    }
}

fn show(purpose: Purpose, directory: Option<PathBuf>) -> Option<PathBuf> {
    // The portal client needs an async runtime of its own; this thread is only for the dialog.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    runtime.block_on(async move {
        let mut dialog = rfd::AsyncFileDialog::new()
            .add_filter("JSON", &["json"])
            .add_filter("All files", &["*"]);
        if let Some(directory) = directory {
            dialog = dialog.set_directory(directory);
        }
        let file = match purpose {
            Purpose::Open => dialog.set_title("Open a JSON file").pick_file().await,
            Purpose::ImportPatch => dialog.set_title("Import a patch").pick_file().await,
            Purpose::ExportPatch => {
                dialog
                    .set_title("Export changes as a patch")
                    .set_file_name("changes.patch.json")
                    .save_file()
                    .await
            }
            Purpose::SaveAs => {
                dialog
                    .set_title("Save as")
                    .set_file_name("document.json")
                    .save_file()
                    .await
            }
        };
        file.map(|f| f.path().to_path_buf())
    })
}
