//! The set-up most collaboration tests share: a relay, and windows that each have a data
//! directory of their own (as if each were on its own computer). Everything it made goes when
//! it is dropped, also when a test fails: the relay stops and the directories are removed.
//! Windows are the test's own, declared after the team, so they are dropped first.

use app::session::Target;
use e2e::{TempDir, TestRelay, temp_dir};

use super::{Window, connected, runtime, until, window};

/// A relay and the data directories of the windows on it, for one test.
pub(crate) struct Team {
    /// The runtime the relay and the windows' network work run on.
    pub(crate) rt: tokio::runtime::Runtime,
    /// The relay (none for a team whose windows share from themselves); a test that stops
    /// it takes it.
    pub(crate) relay: Option<TestRelay>,
    /// Every directory made for it, by name, removed last.
    dirs: Vec<(String, TempDir)>,
}

impl Team {
    /// A relay with the default settings.
    pub(crate) fn new() -> Team {
        Team::with(|_| {})
    }

    /// A relay with the default settings changed by `tweak`.
    pub(crate) fn with(tweak: impl FnOnce(&mut relay::config::Config)) -> Team {
        let rt = runtime();
        let relay = rt.block_on(TestRelay::start(tweak)).unwrap();
        Team {
            rt,
            relay: Some(relay),
            dirs: Vec::new(),
        }
    }

    /// No relay: the windows share from themselves, or work alone.
    pub(crate) fn without_relay() -> Team {
        Team {
            rt: runtime(),
            relay: None,
            dirs: Vec::new(),
        }
    }

    /// The relay, while it runs.
    pub(crate) fn relay(&self) -> &TestRelay {
        self.relay.as_ref().expect("the team's relay runs")
    }

    /// A new directory named after `name`, removed with the team.
    pub(crate) fn dir(&mut self, name: &str) -> std::path::PathBuf {
        let dir = temp_dir(name);
        let path = dir.to_path_buf();
        self.dirs.push((name.to_owned(), dir));
        path
    }

    /// A window of `name`'s, on a data directory of its own, not joined to anything.
    pub(crate) fn window(&mut self, name: &str) -> Window {
        let dir = self.dir(name);
        window(&self.rt, &dir)
    }

    /// A window that starts again on the data directory of `name`'s earlier window (one
    /// closed, as after a restart).
    pub(crate) fn reopen(&self, name: &str) -> Window {
        let (_, dir) = self
            .dirs
            .iter()
            .rfind(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} had no window"));
        window(&self.rt, dir)
    }

    /// Where the document `doc` is on the team's relay.
    pub(crate) fn target(&self, doc: &str) -> Target {
        Target {
            relay: self.relay().url(),
            doc: doc.to_owned(),
            token: None,
        }
    }

    /// A window of `name`'s that joined `doc` on the relay, once it is connected.
    pub(crate) fn member(&mut self, doc: &str, name: &str) -> Window {
        let mut window = self.window(&name.to_lowercase());
        let target = self.target(doc);
        window.state_mut().workspace.join(target, name).unwrap();
        until(&mut [&mut window], &format!("{name} is connected"), |w| {
            connected(w[0])
        });
        window
    }
}

impl Drop for Team {
    fn drop(&mut self) {
        if let Some(relay) = self.relay.take() {
            // A test that failed may leave it failing to stop; the directories go regardless.
            let _ = self.rt.block_on(relay.discard());
        }
    }
}
