//! Helpers shared by the app's window tests: a window on a document, a window that opened a
//! file in the background, a close request, a temporary folder.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use app::editor::Editor;
use app::ui::ConcordApp;
use egui_kittest::Harness;
use sync_core::Value;
use sync_core::value::Style;

/// A window on the document `text`, after its first frames.
pub fn window(text: &str) -> Harness<'static, ConcordApp> {
    let editor = Editor::new(Value::parse(text).unwrap(), None, Style::default());
    let mut harness = Harness::builder()
        .with_size(egui::vec2(900.0, 700.0))
        .build_eframe(move |_cc| ConcordApp::new(editor));
    harness.run();
    harness
}

/// A window that opens `path` as `concord FILE` does (in the background), once it is loaded.
pub fn opened(path: &Path) -> Harness<'static, ConcordApp> {
    let path = path.to_path_buf();
    let mut h = Harness::builder()
        .with_size(egui::vec2(900.0, 700.0))
        .build_eframe(move |cc| ConcordApp::open(&path, &cc.egui_ctx));
    wait_for_loading(&mut h);
    h
}

/// Steps `h` until its background load is done (or fails after 30 s).
pub fn wait_for_loading(h: &mut Harness<'_, ConcordApp>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while h.state().workspace.loading.is_some() {
        assert!(Instant::now() < deadline, "loading took too long");
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    h.run();
}

/// What the window system sends when the user closes the window.
pub fn request_close(h: &mut Harness<'_, ConcordApp>) {
    h.input_mut()
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default()
        .events
        .push(egui::ViewportEvent::Close);
    h.run();
}

/// A new, empty folder for `name`, removed when dropped: at the end of the test, and also when
/// it fails (dropped while the panic unwinds). It dereferences to its path.
pub fn temp_dir(name: &str) -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix(&format!("concord-ui-{name}-"))
        .tempdir()
        .unwrap();
    TempDir(dir)
}

/// A folder of [`temp_dir`].
pub struct TempDir(tempfile::TempDir);

impl std::ops::Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}
