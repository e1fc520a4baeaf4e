//! How a document's text was laid out, read from the text itself (the parser notes it so that
//! the writer can lay the document out the same way): on one line or indented, by what unit,
//! and which containers indented text kept on one line.

use super::{Inline, Layout};

/// Whether the first `:` or `,` of `text` (valid JSON on one line), outside strings, is
/// followed by a space.
fn spaced(text: &str) -> bool {
    separator_spaced(text).unwrap_or(false)
}

/// Whether the first `:` or `,` of `text`, outside strings, is followed by a space; `None`
/// if it has none.
fn separator_spaced(text: &str) -> Option<bool> {
    let bytes = text.as_bytes();
    let mut in_string = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match (in_string, b) {
            (true, b'\\') => i += 1,
            (true, b'"') | (false, b'"') => in_string = !in_string,
            (false, b':' | b',') => return Some(bytes.get(i + 1) == Some(&b' ')),
            _ => {}
        }
        i += 1;
    }
    None
}

/// How `text` (valid JSON) is laid out: compact when it is on one line, otherwise indented by
/// what leads its first indented line (the unit of one level).
pub(super) fn layout(text: &str) -> Layout {
    let body = text.trim_end();
    let Some(first) = body.find('\n') else {
        return if spaced(body) {
            Layout::Spaced
        } else {
            Layout::Compact
        };
    };
    let rest = body.get(first + 1..).unwrap_or_default();
    let line = rest
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    if line.starts_with('\t') {
        return Layout::Tabs;
    }
    let spaces = line.len() - line.trim_start_matches(' ').len();
    Layout::Spaces(u8::try_from(spaces).unwrap_or(u8::MAX))
}

/// Which containers `text` (valid, indented JSON) wrote on one line, if any (see [`Inline`]).
/// Only the outermost of them count: what a container on one line holds is on that line too.
pub(super) fn inline(text: &str) -> Option<Inline> {
    /// A container being read: the line it opened on, where, what it holds so far, and what
    /// its children on one line told.
    struct Open {
        line: usize,
        at: usize,
        empty: bool,
        holds_container: bool,
        found: Option<Found>,
    }
    let bytes = text.as_bytes();
    let mut open: Vec<Open> = Vec::new();
    let (mut line, mut line_start) = (0, 0);
    let mut found: Option<Found> = None;
    // The deepest non-empty container, not the document itself, written over several lines.
    let mut deepest_expanded = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\n' => {
                line += 1;
                line_start = i + 1;
            }
            b'"' => {
                if let Some(top) = open.last_mut() {
                    top.empty = false;
                }
                i = string_end(bytes, i);
            }
            b'[' | b'{' => {
                if let Some(top) = open.last_mut() {
                    top.empty = false;
                    top.holds_container = true;
                }
                open.push(Open {
                    line,
                    at: i,
                    empty: true,
                    holds_container: false,
                    found: None,
                });
            }
            b']' | b'}' => {
                let Some(closed) = open.pop() else {
                    break;
                };
                // Its depth: the document is at 0.
                let depth = open.len();
                match open.last_mut() {
                    // A non-empty container, not the document itself, that ends on its first
                    // line: it tells its parent (which may be on one line too).
                    Some(parent) if closed.line == line && !closed.empty => {
                        let written = text.get(closed.at..=i).unwrap_or_default();
                        let this = Found {
                            depth,
                            width: u32::try_from(i + 1 - line_start).unwrap_or(u32::MAX),
                            arrays: b == b']',
                            objects: b == b'}',
                            nested: closed.holds_container,
                            spacing: separator_spaced(written),
                            padded: padded(written),
                        };
                        parent.found = Found::merge(parent.found.take(), this);
                    }
                    // Written over several lines: what its children told stands.
                    parent => {
                        if parent.is_some() && !closed.empty {
                            deepest_expanded = deepest_expanded.max(depth);
                        }
                        if let Some(told) = closed.found {
                            found = Found::merge(found, told);
                        }
                    }
                }
            }
            b' ' | b'\t' | b'\r' | b',' | b':' => {}
            _ => {
                if let Some(top) = open.last_mut() {
                    top.empty = false;
                }
            }
        }
        i += 1;
    }
    found.map(|f| Inline {
        // Everything from the shallowest one-line container down is on one line. (Not the
        // document's own members: they differ too much for one to speak for the others.)
        depth: (f.depth >= 2 && deepest_expanded < f.depth)
            .then(|| u32::try_from(f.depth).unwrap_or(u32::MAX)),
        width: f.width,
        arrays: f.arrays,
        objects: f.objects,
        nested: f.nested,
        spaced: f.spacing.unwrap_or(true),
        padded: f.padded.unwrap_or(false),
    })
}

/// What containers written on one line told, in document order.
#[derive(Clone, Copy)]
struct Found {
    /// The shallowest depth of them.
    depth: usize,
    width: u32,
    arrays: bool,
    objects: bool,
    nested: bool,
    /// As the first of them with a separator spaced it.
    spacing: Option<bool>,
    /// As the first object among them padded its braces.
    padded: Option<bool>,
}

impl Found {
    fn merge(earlier: Option<Found>, later: Found) -> Option<Found> {
        let Some(earlier) = earlier else {
            return Some(later);
        };
        Some(Found {
            depth: earlier.depth.min(later.depth),
            width: earlier.width.max(later.width),
            arrays: earlier.arrays || later.arrays,
            objects: earlier.objects || later.objects,
            nested: earlier.nested || later.nested,
            spacing: earlier.spacing.or(later.spacing),
            padded: earlier.padded.or(later.padded),
        })
    }
}

/// The index of the quote that ends the string whose opening quote is at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while let Some(&c) = bytes.get(i) {
        match c {
            b'\\' => i += 1,
            b'"' => break,
            _ => {}
        }
        i += 1;
    }
    i
}

/// Whether the first non-empty object of `text` (JSON on one line), outside strings, has a
/// space inside its opening brace; `None` if it has none.
fn padded(text: &str) -> Option<bool> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match (b, bytes.get(i + 1)) {
            (b'"', _) => i = string_end(bytes, i),
            (b'{', Some(b'}')) => {}
            (b'{', next) => return Some(next == Some(&b' ')),
            _ => {}
        }
        i += 1;
    }
    None
}
