//! The state of the app's own file dialog, for where the desktop has none (no portal running)
//! or the user asks for it (`CONCORD_FILE_DIALOG=in-app`): the path typed, Tab completion, and
//! the folder's entries.

use std::path::{Path, PathBuf};

use super::Opening;
use crate::file_dialog::Purpose;

/// The in-app file dialog, while open.
#[derive(Debug, Clone)]
pub struct FileForm {
    /// What it is for.
    pub purpose: Purpose,
    /// The path typed so far.
    pub path: String,
    /// Set until the field has the keyboard.
    pub opening: Option<Opening>,
    /// Why the path cannot be used, after an attempt.
    pub error: Option<String>,
    /// The folder last listed and its entries (name, is a folder), folders first.
    listing: Option<(PathBuf, Vec<(String, bool)>)>,
}

impl FileForm {
    /// The dialog for `purpose`, starting in `directory` (with the suggested name when it
    /// names a file to write).
    pub fn new(purpose: Purpose, directory: Option<&Path>) -> FileForm {
        let directory = directory
            .map(Path::to_path_buf)
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_default();
        let mut path = directory.join("").display().to_string();
        if purpose.writes() {
            path.push_str(purpose.suggested_name());
        }
        let mut form = FileForm {
            purpose,
            path: String::new(),
            opening: Some(Opening::Keep),
            error: None,
            listing: None,
        };
        form.set_path(path);
        form
    }

    /// The path typed is now `path`: its folder is listed, if it is another.
    pub(crate) fn set_path(&mut self, path: String) {
        self.path = path;
        self.error = None;
        let (dir, _) = self.split();
        if self.listing.as_ref().is_none_or(|(d, _)| *d != dir) {
            let mut entries: Vec<(String, bool)> = std::fs::read_dir(&dir)
                .map(|read| {
                    read.flatten()
                        .map(|e| {
                            let folder = e.file_type().is_ok_and(|t| t.is_dir());
                            (e.file_name().to_string_lossy().into_owned(), folder)
                        })
                        .filter(|(name, _)| !name.starts_with('.'))
                        .collect()
                })
                .unwrap_or_default();
            entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            self.listing = Some((dir, entries));
        }
    }

    /// The folder the typed path is in, and the start of the name typed in it.
    pub(crate) fn split(&self) -> (PathBuf, String) {
        match self.path.rsplit_once('/') {
            Some((dir, name)) => (PathBuf::from(format!("{dir}/")), name.to_owned()),
            None => (PathBuf::from("."), self.path.clone()),
        }
    }

    /// The folder typed and its entries (name, is a folder), folders first.
    pub(crate) fn entries(&self) -> (&Path, &[(String, bool)]) {
        self.listing
            .as_ref()
            .map_or((Path::new("."), &[][..]), |(d, e)| {
                (d.as_path(), e.as_slice())
            })
    }

    /// Completes the typed name to what all entries starting with it share (a folder's name
    /// gets its `/`).
    fn complete(&mut self) {
        let (_, typed) = self.split();
        let (dir, entries) = self.entries();
        let matching: Vec<&(String, bool)> = entries
            .iter()
            .filter(|(n, _)| n.starts_with(&typed))
            .collect();
        let Some((first, folder)) = matching.first() else {
            return;
        };
        let mut common = first.clone();
        for (name, _) in &matching {
            while !name.starts_with(&common) {
                common.pop();
            }
        }
        let mut path = dir.join(&common).display().to_string();
        if matching.len() == 1 && *folder {
            path.push('/');
        }
        // The completed path replaces the text, the caret at its end.
        self.opening = Some(Opening::Replace(path));
    }

    /// The path chosen, if it can be used for this purpose.
    fn check(&self) -> Result<PathBuf, String> {
        let path = PathBuf::from(self.path.trim());
        if self.purpose.writes() {
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
            if path.is_dir() {
                return Err(format!("{} is a folder", path.display()));
            }
            match parent {
                Some(dir) if !dir.is_dir() => Err(format!("there is no folder {}", dir.display())),
                _ => Ok(path),
            }
        } else if path.is_file() {
            Ok(path)
        } else {
            Err(format!("there is no file {}", path.display()))
        }
    }
}

/// What is done in the app's own file dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileAsk {
    /// The path typed is now this.
    Path(String),
    /// Tab: complete the name typed.
    Complete,
    /// An entry of the folder was clicked (`choose`: twice): a folder is gone into, a file's
    /// path is typed, and chosen if it was clicked twice.
    Entry {
        /// Its name.
        name: String,
        /// Whether it is a folder.
        folder: bool,
        /// Whether it was clicked twice.
        choose: bool,
    },
    /// Open or Save (or Enter): use the path typed.
    Choose,
}

impl super::Workspace {
    pub(super) fn ask_file_form(&mut self, ask: FileAsk) {
        let Some(form) = &mut self.file_form else {
            return;
        };
        let choose = match ask {
            FileAsk::Path(path) => {
                form.set_path(path);
                false
            }
            FileAsk::Complete => {
                form.complete();
                false
            }
            FileAsk::Entry {
                name,
                folder,
                choose,
            } => {
                let (dir, _) = form.split();
                let mut path = dir.join(&name).display().to_string();
                if folder {
                    path.push('/');
                }
                form.set_path(path);
                form.opening = Some(Opening::Keep);
                choose && !folder
            }
            FileAsk::Choose => true,
        };
        if !choose {
            return;
        }
        match form.check() {
            Ok(path) => {
                let purpose = form.purpose;
                self.file_form = None;
                self.chosen(purpose, &path);
            }
            Err(e) => {
                form.error = Some(e);
                form.opening = Some(Opening::Keep);
            }
        }
    }
}
