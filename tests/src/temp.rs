//! Temporary directories for tests: removed when dropped, also when a test fails; and those
//! that killed test processes left behind, swept away by the next.

use std::path::{Path, PathBuf};

/// A fresh, empty directory under the system temp directory, named after `name`, removed when
/// it is dropped: at the end of the test, and also when the test fails (dropped while the
/// panic unwinds). A process that is killed drops nothing, so the first call in each process
/// also removes the directories that test processes no longer running left behind.
#[expect(
    clippy::panic,
    reason = "a test cannot go on without its directory, and says why it has none"
)]
pub fn temp_dir(name: &str) -> TempDir {
    static SWEPT: std::sync::Once = std::sync::Once::new();
    SWEPT.call_once(sweep_temp_dirs);
    let dir = tempfile::Builder::new()
        .prefix(&format!("concord-e2e-{name}-{}-", std::process::id()))
        .rand_bytes(8)
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot make a temporary directory: {e}"));
    TempDir(dir)
}

/// A directory of [`temp_dir`]: a path (it dereferences to one) that is removed with what it
/// holds when dropped.
#[derive(Debug)]
pub struct TempDir(tempfile::TempDir);

impl std::ops::Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        self.0.path()
    }
}

impl TempDir {
    /// Keeps the directory after this is dropped (for a later process to sweep away): its
    /// data outlive what made them.
    pub fn keep(self) -> PathBuf {
        self.0.keep()
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}

/// Removes the directories of [`temp_dir`] whose process has ended. Where the system cannot
/// say which processes run (no `/proc`), it removes nothing.
fn sweep_temp_dirs() {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("concord-e2e-")) else {
            continue;
        };
        // concord-e2e-{name}-{pid}-{random}
        let mut parts = rest.rsplit('-');
        let (Some(_random), Some(pid)) = (parts.next(), parts.next()) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !proc.join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
