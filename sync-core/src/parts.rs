//! Changes larger than a frame: a `submit` sent as consecutive `submit_part` messages.
//!
//! A relay reads frames up to a limit (1 MiB by default), while a change can be as large as a
//! document (64 MiB by default): a shared document, a big paste, an import. So a client sends a
//! `submit` whose JSON text is longer than [`FRAME_LIMIT`] as `submit_part` messages, each
//! carrying the next slice of that text in `data`, and the relay joins the slices and handles
//! the whole exactly as one `submit` (`docs/PROTOCOL.md`, "Changes larger than a frame").
//!
//! This is transport, below the sync engine: the [`Replica`](crate::replica::Replica) emits one
//! [`ClientMessage::Submit`] whatever its size, and the code that writes frames to the socket
//! asks [`frames`] for them. That is also why a part is not a [`ClientMessage`]: it is a piece
//! of one.
//!
//! ```
//! use sync_core::parts::{self, SubmitPart};
//! use sync_core::protocol::{ClientMessage, Revision};
//! use sync_core::{Operation, Pointer, Value};
//!
//! let big = Value::from("x".repeat(3000).as_str());
//! let submit = ClientMessage::Submit {
//!     seq: 7,
//!     base_rev: Revision(0),
//!     ops: vec![Operation::add(Pointer::parse("/text")?, big)],
//!     overwrites: Vec::new(),
//! };
//! // Frames of at most 1,000 bytes: the submit's text in four parts.
//! let frames: Vec<String> = parts::frames(&submit, 1000)?.collect();
//! assert_eq!(frames.len(), 4);
//! let mut text = String::new();
//! for (i, frame) in frames.iter().enumerate() {
//!     assert!(frame.len() <= 1000);
//!     let part: SubmitPart<'_> = serde_json::from_str(frame)?;
//!     assert_eq!((part.seq, part.part, part.parts), (7, i as u32, 4));
//!     text.push_str(&part.data);
//! }
//! assert_eq!(serde_json::from_str::<ClientMessage>(&text)?, submit);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::protocol::ClientMessage;

/// The frame size every relay accepts (a relay's limit may be larger, never smaller): a client
/// sends a `submit` whose text is longer than this in parts, each frame at most this long.
pub const FRAME_LIMIT: usize = 1 << 20;

/// The `type` of a part: always `submit_part`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartType {
    /// A slice of a `submit`'s text.
    SubmitPart,
}

/// One slice of a `submit` too long for a frame. The parts of a change travel consecutively
/// on one connection, numbered from 0; joined in order, their `data` is the `submit`'s text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitPart<'a> {
    /// `submit_part`.
    #[serde(rename = "type")]
    pub kind: PartType,
    /// The `seq` of the change the parts carry (the relay answers a change too large by it
    /// before it has the whole text).
    pub seq: u64,
    /// This part's index, from 0.
    pub part: u32,
    /// How many parts the change has (the same in each of them).
    pub parts: u32,
    /// The next slice of the `submit`'s JSON text.
    #[serde(borrow)]
    pub data: Cow<'a, str>,
}

/// The frames that carry `message`, in order: its JSON text whole when that is at most `limit`
/// bytes long (or when it is not a `submit`, which nothing needs to split), else the
/// `submit_part` messages of its text, each at most `limit` bytes long. `limit` is at least
/// 128 bytes ([`FRAME_LIMIT`] for a relay whose limit is not known).
pub fn frames(message: &ClientMessage, limit: usize) -> Result<Frames, serde_json::Error> {
    let text = serde_json::to_string(message)?;
    let seq = match message {
        ClientMessage::Submit { seq, .. } if text.len() > limit => *seq,
        _ => return Ok(Frames::whole(text)),
    };
    let budget = limit.saturating_sub(envelope(seq)?).max(MIN_BUDGET);
    let cuts = cuts(&text, budget);
    Ok(Frames {
        text,
        seq,
        cuts,
        next: 0,
    })
}

/// The frames of one message, produced one at a time (so the frames of a large change are
/// never all in memory at once, beside its text).
#[derive(Debug)]
pub struct Frames {
    text: String,
    /// The change's `seq`; unused when the text goes whole.
    seq: u64,
    /// Where each part ends in `text` (the last is its length); empty when it goes whole.
    cuts: Vec<usize>,
    /// The next frame to produce.
    next: usize,
}

impl Frames {
    fn whole(text: String) -> Frames {
        Frames {
            text,
            seq: 0,
            cuts: Vec::new(),
            next: 0,
        }
    }

    /// How many parts the message goes in; 0 when it goes whole, in one frame.
    pub fn parts(&self) -> usize {
        self.cuts.len()
    }
}

impl Iterator for Frames {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        let i = self.next;
        self.next += 1;
        if self.cuts.is_empty() {
            return (i == 0).then(|| std::mem::take(&mut self.text));
        }
        let end = *self.cuts.get(i)?;
        let start = i.checked_sub(1).and_then(|p| self.cuts.get(p)).copied();
        let data = self.text.get(start.unwrap_or(0)..end)?;
        let part = SubmitPart {
            kind: PartType::SubmitPart,
            seq: self.seq,
            part: u32::try_from(i).ok()?,
            parts: u32::try_from(self.cuts.len()).ok()?,
            data: Cow::Borrowed(data),
        };
        // A part is plain data: writing it cannot fail.
        serde_json::to_string(&part).ok()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.cuts.len().max(1).saturating_sub(self.next);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Frames {}

/// The smallest slice budget: room for any character's escape (6 bytes, `\u001f`) with a
/// character boundary strictly inside every slice.
const MIN_BUDGET: usize = 16;

/// The bytes a part's envelope takes (everything but the escaped `data`), with room for the
/// longest part numbers.
fn envelope(seq: u64) -> Result<usize, serde_json::Error> {
    let empty = SubmitPart {
        kind: PartType::SubmitPart,
        seq,
        part: u32::MAX,
        parts: u32::MAX,
        data: Cow::Borrowed(""),
    };
    serde_json::to_string(&empty).map(|e| e.len())
}

/// How many bytes `byte` takes inside a JSON string as serde_json writes it: quotes,
/// backslashes and control characters are escaped (`\n`, or `\u0001` where there is no short
/// form); everything else, the bytes of non-ASCII characters included, is written as it is.
fn escaped_len(byte: u8) -> usize {
    match byte {
        b'"' | b'\\' | b'\x08' | b'\x0c' | b'\n' | b'\r' | b'\t' => 2,
        0..=0x1f => 6,
        _ => 1,
    }
}

/// Where to cut `text` so that each slice, escaped, takes at most `budget` bytes: the end of
/// each slice, on character boundaries. `budget` is at least [`MIN_BUDGET`].
fn cuts(text: &str, budget: usize) -> Vec<usize> {
    let mut cuts = Vec::new();
    let (mut start, mut used) = (0, 0);
    for (i, &byte) in text.as_bytes().iter().enumerate() {
        let width = escaped_len(byte);
        if used + width <= budget {
            used += width;
            continue;
        }
        // Cut before the character this byte belongs to (it began after `start`: the slice
        // holds more bytes than a character has).
        let mut cut = i;
        while cut > start && !text.is_char_boundary(cut) {
            cut -= 1;
        }
        cuts.push(cut);
        start = cut;
        used = text
            .as_bytes()
            .get(cut..=i)
            .map_or(width, |b| b.iter().map(|&b| escaped_len(b)).sum());
    }
    if cuts.last() != Some(&text.len()) {
        cuts.push(text.len());
    }
    cuts
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::protocol::Revision;
    use crate::{Operation, Pointer, Value};

    fn submit(seq: u64, text: &str) -> ClientMessage {
        ClientMessage::Submit {
            seq,
            base_rev: Revision(3),
            ops: vec![Operation::add(
                Pointer::parse("/t").unwrap(),
                Value::from(text),
            )],
            overwrites: Vec::new(),
        }
    }

    /// The parts of `frames`, checked to be numbered in order and within `limit`, joined.
    fn join(frames: Frames, seq: u64, limit: usize) -> String {
        let frames: Vec<String> = frames.collect();
        let mut text = String::new();
        for (i, frame) in frames.iter().enumerate() {
            assert!(frame.len() <= limit, "part {i}: {} > {limit}", frame.len());
            let part: SubmitPart<'_> = serde_json::from_str(frame).unwrap();
            assert_eq!(part.seq, seq);
            assert_eq!(part.part as usize, i);
            assert_eq!(part.parts as usize, frames.len());
            assert!(!part.data.is_empty());
            text.push_str(&part.data);
        }
        text
    }

    #[test]
    fn escaped_lengths_are_serde_jsons() {
        for byte in 0u8..0x80 {
            let s = char::from(byte).to_string();
            let written = serde_json::to_string(&s).unwrap().len() - 2;
            assert_eq!(escaped_len(byte), written, "{byte:#x}");
        }
        let s = "é€😀\u{7f}";
        let written = serde_json::to_string(s).unwrap().len() - 2;
        assert_eq!(s.bytes().map(escaped_len).sum::<usize>(), written);
    }

    #[test]
    fn a_small_message_goes_whole() {
        let message = submit(1, "short");
        let frames = frames(&message, FRAME_LIMIT).unwrap();
        assert_eq!(frames.parts(), 0);
        let all: Vec<String> = frames.collect();
        assert_eq!(all, vec![serde_json::to_string(&message).unwrap()]);
        // Only submits are split.
        let presence = ClientMessage::Presence {
            selection: Some(Pointer::parse(&format!("/{}", "k".repeat(500))).unwrap()),
            caret: None,
        };
        assert_eq!(frames_of(&presence, 128).len(), 1);
    }

    fn frames_of(message: &ClientMessage, limit: usize) -> Vec<String> {
        frames(message, limit).unwrap().collect()
    }

    #[test]
    fn a_large_submit_is_cut_into_parts_within_the_limit_that_join_to_its_text() {
        // Every kind of character: ASCII, escapes short and long, 2-, 3- and 4-byte UTF-8.
        let mix = "ab\"c\\d\n\u{1}é€😀/".repeat(3000);
        for (seq, limit) in [(1, 128), (2, 200), (u64::MAX, 1000), (9, 4096), (5, 65_536)] {
            let message = submit(seq, &mix);
            let whole = serde_json::to_string(&message).unwrap();
            let frames = frames(&message, limit).unwrap();
            assert!(frames.parts() > 1);
            assert_eq!(frames.len(), frames.parts());
            assert_eq!(join(frames, seq, limit), whole, "limit {limit}");
        }
    }

    #[test]
    fn parts_are_as_full_as_the_limit_allows() {
        let message = submit(1, &"x".repeat(100_000));
        let whole = serde_json::to_string(&message).unwrap();
        let escaped = serde_json::to_string(&whole).unwrap().len() - 2;
        let limit = 10_000;
        let parts = frames(&message, limit).unwrap().parts();
        let per_part = limit - envelope(1).unwrap();
        assert_eq!(parts, escaped.div_ceil(per_part));
    }

    #[test]
    fn cuts_fall_on_character_boundaries_even_at_the_smallest_budget() {
        let text = "😀€é\u{1}\"a".repeat(50);
        let cuts = cuts(&text, MIN_BUDGET);
        let mut start = 0;
        for &end in &cuts {
            assert!(end > start);
            let slice = &text[start..end];
            let escaped = serde_json::to_string(slice).unwrap().len() - 2;
            assert!(escaped <= MIN_BUDGET, "{slice:?}");
            start = end;
        }
        assert_eq!(start, text.len());
    }
}
