//! Native open and save dialogs, through the desktop portal (`xdg-desktop-portal` on Linux),
//! run on a background thread so that the window never waits for them. Where no dialog can be
//! shown (no portal running, say), the outcome says so, and the app shows its own.

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

impl Purpose {
    /// The dialog's title.
    pub fn title(self) -> &'static str {
        match self {
            Purpose::Open => "Open a JSON file",
            Purpose::SaveAs => "Save as",
            Purpose::ExportPatch => "Export changes as a patch",
            Purpose::ImportPatch => "Import a patch",
        }
    }

    /// Whether it names a file to write (which need not exist yet).
    pub fn writes(self) -> bool {
        matches!(self, Purpose::SaveAs | Purpose::ExportPatch)
    }

    /// The file name a dialog that writes suggests.
    pub fn suggested_name(self) -> &'static str {
        match self {
            Purpose::ExportPatch => "changes.patch.json",
            _ => "document.json",
        }
    }
}

/// A dialog that is open.
pub struct Pending {
    /// What it is for.
    pub purpose: Purpose,
    rx: Receiver<Outcome>,
}

/// What came of a dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Still open.
    Open,
    /// A file was chosen.
    Chosen(PathBuf),
    /// Cancelled.
    Nothing,
    /// No dialog could be shown (no desktop portal, say): why.
    Unavailable(String),
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
        if let Err(e) = spawned {
            return Pending::failed(purpose, &format!("cannot start a dialog: {e}"));
        }
        Pending { purpose, rx }
    }

    /// A dialog that could not be shown, for `why`.
    pub fn failed(purpose: Purpose, why: &str) -> Pending {
        let (tx, rx) = sync_channel(1);
        let _ = tx.send(Outcome::Unavailable(why.to_owned()));
        Pending { purpose, rx }
    }

    /// Whether the dialog has closed, and with what.
    pub fn poll(&self) -> Outcome {
        match self.rx.try_recv() {
            Ok(outcome) => outcome,
            Err(TryRecvError::Empty) => Outcome::Open,
            Err(TryRecvError::Disconnected) => {
                Outcome::Unavailable("the dialog stopped".to_owned())
            }
        }
    }
}

fn show(purpose: Purpose, directory: Option<PathBuf>) -> Outcome {
    // The portal client needs an async runtime of its own; this thread is only for the dialog.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return Outcome::Unavailable(format!("cannot start a dialog: {e}")),
    };
    runtime.block_on(portal(purpose, directory))
}

/// Asks the desktop portal directly, so that a portal that is missing (or fails) is told from
/// a dialog the user cancelled.
#[cfg(target_os = "linux")]
async fn portal(purpose: Purpose, directory: Option<PathBuf>) -> Outcome {
    use ashpd::desktop::ResponseError;
    use ashpd::desktop::file_chooser::{FileFilter, SelectedFiles};
    let filters = [
        FileFilter::new("JSON").glob("*.json"),
        FileFilter::new("All files").glob("*"),
    ];
    let request = if purpose.writes() {
        let request = SelectedFiles::save_file()
            .title(purpose.title())
            .modal(true)
            .current_name(purpose.suggested_name())
            .filters(filters);
        match request.current_folder::<PathBuf>(directory) {
            Ok(request) => request.send().await,
            Err(e) => Err(e),
        }
    } else {
        let request = SelectedFiles::open_file()
            .title(purpose.title())
            .modal(true)
            .filters(filters);
        match request.current_folder::<PathBuf>(directory) {
            Ok(request) => request.send().await,
            Err(e) => Err(e),
        }
    };
    match request.and_then(|r| r.response()) {
        Ok(files) => match files.uris().first().map(|uri| uri.to_file_path()) {
            Some(Ok(path)) => Outcome::Chosen(path),
            Some(Err(())) => {
                Outcome::Unavailable("the portal chose something that is not a file".to_owned())
            }
            None => Outcome::Nothing,
        },
        Err(ashpd::Error::Response(ResponseError::Cancelled)) => Outcome::Nothing,
        Err(e) => Outcome::Unavailable(format!("no desktop file dialog ({e})")),
    }
}

/// Elsewhere, the platform's own dialogs (which are always there).
#[cfg(not(target_os = "linux"))]
async fn portal(purpose: Purpose, directory: Option<PathBuf>) -> Outcome {
    let mut dialog = rfd::AsyncFileDialog::new()
        .add_filter("JSON", &["json"])
        .add_filter("All files", &["*"])
        .set_title(purpose.title());
    if let Some(directory) = directory {
        dialog = dialog.set_directory(directory);
    }
    let file = if purpose.writes() {
        dialog
            .set_file_name(purpose.suggested_name())
            .save_file()
            .await
    } else {
        dialog.pick_file().await
    };
    file.map_or(Outcome::Nothing, |f| {
        Outcome::Chosen(f.path().to_path_buf())
    })
}
