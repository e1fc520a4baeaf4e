//! Find: the search's state and its matches, found a slice at a time, a few milliseconds a
//! frame, so that a large document never freezes the window.

use std::collections::HashSet;
use std::time::Duration;

use sync_core::Pointer;

use super::{Opening, Workspace};
use crate::editor::search::{KEPT_MATCHES, Scan};

/// How long a frame spends searching, at most: over a third of a 60 Hz frame, so that with
/// the frame's own work it stays well within one.
pub(crate) const SLICE: Duration = Duration::from_millis(6);

/// The search bar's state.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// What is searched for.
    pub query: String,
    /// Set until the field has the keyboard (see [`Opening`]).
    pub opening: Option<Opening>,
    /// The search through the document as it is now.
    scan: Scan,
    /// The matches found so far, to mark their rows.
    marked: HashSet<Pointer>,
    /// The version of the document the scan searches.
    version: crate::editor::Version,
    /// The match shown, if any.
    current: Option<usize>,
    /// Show the first match as soon as it is found (the query changed, not the document).
    show_first: bool,
}

impl Search {
    /// The matches found so far, in document order (the first [`KEPT_MATCHES`]).
    pub fn matches(&self) -> &[Pointer] {
        self.scan.matches()
    }

    /// How many matches have been found so far.
    pub fn count(&self) -> usize {
        self.scan.count()
    }

    /// Whether the whole document has been searched.
    pub fn is_done(&self) -> bool {
        self.scan.is_done()
    }

    /// Whether the node at `path` is a match found so far.
    pub fn is_match(&self, path: &Pointer) -> bool {
        self.marked.contains(path)
    }

    /// The match shown (its index in [`matches`](Self::matches)), if any.
    pub fn current(&self) -> Option<usize> {
        self.current
    }

    /// What the bar says about the matches.
    pub(crate) fn summary(&self) -> String {
        let count = crate::words::counted(self.count(), "match", "matches");
        let kept = if self.count() > KEPT_MATCHES {
            format!(
                " (the first {} can be stepped through)",
                crate::words::number(KEPT_MATCHES)
            )
        } else {
            String::new()
        };
        match (self.current, self.count(), self.is_done()) {
            (_, 0, _) if self.query.is_empty() => String::new(),
            (_, 0, true) => "no matches".to_owned(),
            (_, 0, false) => "searching…".to_owned(),
            (Some(i), _, true) => format!("{} of {count}{kept}", i + 1),
            (Some(i), _, false) => format!("{} of {count} so far…", i + 1),
            (None, _, true) => format!("{count}{kept}"),
            (None, _, false) => format!("{count} so far…"),
        }
    }
}

impl Workspace {
    /// The query typed in the search bar is now `query`.
    pub(super) fn find(&mut self, query: String) {
        if let Some(search) = &mut self.search
            && search.query != query
        {
            search.query = query;
            self.refresh_search();
        }
    }

    /// Searches again from the start (from the next frame on), after the query changed; shows
    /// the first match when it is found.
    pub(crate) fn refresh_search(&mut self) {
        let version = self.editor.version();
        let Some(search) = &mut self.search else {
            return;
        };
        search.scan = Scan::new(&search.query);
        search.marked.clear();
        search.version = version;
        search.current = None;
        search.show_first = true;
    }

    /// Goes on searching for about `budget`: from the start if the document changed since
    /// the search began, or is another (keeping the selection where it is). Returns whether the search is
    /// done.
    pub(crate) fn advance_search(&mut self, budget: Duration) -> bool {
        let version = self.editor.version();
        let Some(search) = &mut self.search else {
            return true;
        };
        if search.version != version {
            search.scan = Scan::new(&search.query);
            search.marked.clear();
            search.version = version;
            search.current = None;
        }
        let before = search.scan.matches().len();
        let done = search.scan.run_for(self.editor.doc(), budget);
        let found = search.scan.matches().get(before..).unwrap_or_default();
        search.marked.extend(found.iter().cloned());
        if search.show_first && !search.scan.matches().is_empty() {
            search.show_first = false;
            self.step_match(1);
        }
        done
    }

    /// Shows the next (`by` = 1) or previous (-1) match found so far, wrapping around:
    /// expands the tree to it, selects it and scrolls to it.
    pub(crate) fn step_match(&mut self, by: isize) {
        let Some(search) = &mut self.search else {
            return;
        };
        let n = search.scan.matches().len();
        if n == 0 {
            search.current = None;
            return;
        }
        let next = match search.current {
            None if by < 0 => n - 1,
            None => 0,
            Some(i) => (i as isize + by).rem_euclid(n as isize) as usize,
        };
        search.current = Some(next);
        if let Some(path) = search.scan.matches().get(next).cloned() {
            self.editor.reveal(&path);
            self.editor.select(Some(path.clone()));
            self.scroll_to = Some(path);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::editor::Editor;
    use crate::workspace::tests::workspace as app;
    use sync_core::Value;
    use sync_core::value::Style;

    #[test]
    fn a_search_goes_on_a_slice_at_a_time_and_shows_the_first_match_when_found() {
        let items: Vec<String> = (0..5000).map(|i| format!("\"item {i}\"")).collect();
        let mut app = app(&format!("[{}, \"needle\"]", items.join(",")));
        app.search = Some(Search {
            query: "needle".to_owned(),
            ..Search::default()
        });
        app.refresh_search();
        let mut slices = 0;
        while !app.advance_search(Duration::ZERO) {
            slices += 1;
        }
        // Each slice visits 4,096 nodes at least.
        assert_eq!(slices, 1);
        let search = app.search.as_ref().unwrap();
        assert_eq!(search.count(), 1);
        assert_eq!(search.current(), Some(0));
        let needle = Pointer::parse("/5000").unwrap();
        assert!(search.is_match(&needle));
        assert_eq!(app.editor.selected(), Some(&needle));
    }

    #[test]
    fn another_document_in_the_window_is_searched_afresh() {
        let mut app = app(r#"{"a": "x"}"#);
        app.search = Some(Search {
            query: "needle".to_owned(),
            ..Search::default()
        });
        app.refresh_search();
        assert!(app.advance_search(SLICE));
        assert_eq!(app.search.as_ref().unwrap().count(), 0);
        // A file opened in the window (as a load finishing does), unchanged since it was read.
        app.editor = Editor::new(
            Value::parse(r#"{"b": "needle"}"#).unwrap(),
            None,
            Style::default(),
        );
        assert!(app.advance_search(SLICE));
        assert_eq!(app.search.as_ref().unwrap().count(), 1);
    }

    #[test]
    fn a_change_of_the_document_searches_it_again_without_moving_the_selection() {
        let mut app = app(r#"{"a": "needle", "b": "x"}"#);
        app.search = Some(Search {
            query: "needle".to_owned(),
            ..Search::default()
        });
        app.refresh_search();
        assert!(app.advance_search(SLICE));
        let a = Pointer::parse("/a").unwrap();
        let b = Pointer::parse("/b").unwrap();
        assert_eq!(app.editor.selected(), Some(&a));
        app.editor.select(Some(b.clone()));
        app.editor.set_string(&b, "another needle").unwrap();
        assert!(app.advance_search(SLICE));
        let search = app.search.as_ref().unwrap();
        assert_eq!(search.matches(), [a, b.clone()]);
        assert_eq!(search.current(), None);
        assert_eq!(app.editor.selected(), Some(&b));
    }
}
