//! Joining a change sent in parts (`submit_part`, see [`sync_core::parts`]) back into the text
//! of its `submit`.
//!
//! One connection sends one change in parts at a time, its parts consecutive and in order
//! (other messages may come between them). The text is held until the last part arrives, then
//! handed over whole, to be read and served exactly like a `submit` that came in one frame.
//! Memory is bounded: an upload holds at most [`Upload::new`]'s `max_bytes` (the document limit
//! plus a frame), and holds nothing once it completes, fails or its connection ends (the
//! [`Upload`] is the connection's, dropped with it).
//!
//! A change longer than the bound could not fit in a document: it is answered as too large
//! (the reject `document_too_large` of its `seq`, never a closed connection) as soon as it
//! passes the bound, and the rest of its parts are passed over without being kept. A part that
//! does not continue the open upload is an error (`part_out_of_order`), and the upload is
//! abandoned: a correct client never sends one (a websocket keeps order), so there is nothing
//! to recover, only memory to release.

use sync_core::parts::SubmitPart;
use sync_core::protocol::ErrorCode;

/// A connection's change in parts, if one is being sent.
#[derive(Debug)]
pub(crate) struct Upload {
    open: Open,
    max_bytes: usize,
}

#[derive(Debug, Default)]
enum Open {
    /// No change is being sent in parts.
    #[default]
    Idle,
    /// Parts `0..next` of change `seq` are joined in `text`.
    Joining {
        seq: u64,
        parts: u32,
        next: u32,
        text: String,
    },
    /// Change `seq` outgrew the bound and was answered; parts up to `parts` are passed over.
    Discarding { seq: u64, parts: u32, next: u32 },
}

/// What a part leads to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Nothing yet: more parts are to come (or a part of a change too large was passed over).
    Pending,
    /// The last part came: the `submit`'s whole text.
    Complete {
        /// The change's `seq`, as its parts said.
        seq: u64,
        /// The text, to read as one frame.
        text: String,
    },
    /// Change `seq` is longer than the bound: answer it with `document_too_large`. Its other
    /// parts will be passed over.
    TooLarge {
        /// The change's `seq`.
        seq: u64,
        /// Why, for people.
        message: String,
    },
}

impl Upload {
    /// No upload open; a change's text may grow to `max_bytes`.
    pub(crate) fn new(max_bytes: usize) -> Upload {
        Upload {
            open: Open::Idle,
            max_bytes,
        }
    }

    /// The bytes held for the open upload (its buffer's capacity).
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        match &self.open {
            Open::Joining { text, .. } => text.capacity(),
            Open::Idle | Open::Discarding { .. } => 0,
        }
    }

    /// Takes the next part. An error abandons the open upload, if any.
    pub(crate) fn push(&mut self, part: SubmitPart<'_>) -> Result<Step, (ErrorCode, String)> {
        let SubmitPart {
            seq,
            part: index,
            parts,
            data,
            ..
        } = part;
        if index >= parts {
            self.open = Open::Idle;
            return Err((
                ErrorCode::InvalidMessage,
                format!("part {index} of change {seq} is not below its count of parts, {parts}"),
            ));
        }
        let open = std::mem::take(&mut self.open);
        let (mut text, next) = match open {
            Open::Idle if index == 0 => (String::new(), 0),
            Open::Idle => {
                return Err((
                    ErrorCode::PartOutOfOrder,
                    format!(
                        "part {index} of change {seq} came with no change being sent in parts; parts start at 0"
                    ),
                ));
            }
            Open::Joining {
                seq: s,
                parts: n,
                next,
                text,
            } if (s, n, next) == (seq, parts, index) => (text, next),
            Open::Discarding {
                seq: s,
                parts: n,
                next,
            } if (s, n, next) == (seq, parts, index) => {
                if next + 1 < parts {
                    self.open = Open::Discarding {
                        seq,
                        parts,
                        next: next + 1,
                    };
                }
                return Ok(Step::Pending);
            }
            Open::Joining {
                seq: s,
                parts: n,
                next,
                ..
            }
            | Open::Discarding {
                seq: s,
                parts: n,
                next,
            } => {
                return Err((
                    ErrorCode::PartOutOfOrder,
                    format!(
                        "expected part {next} of {n} of change {s}, not part {index} of {parts} of change {seq}; change {s} is abandoned, send it again from part 0"
                    ),
                ));
            }
        };
        let length = text.len().saturating_add(data.len());
        if length > self.max_bytes {
            if next + 1 < parts {
                self.open = Open::Discarding {
                    seq,
                    parts,
                    next: next + 1,
                };
            }
            return Ok(Step::TooLarge {
                seq,
                message: format!(
                    "change {seq} was not applied: it is longer than {} bytes, more than a document may hold",
                    self.max_bytes
                ),
            });
        }
        // Grown by doubling as usual, but never past the bound.
        if length > text.capacity() {
            let wanted = length
                .max(text.capacity().saturating_mul(2))
                .min(self.max_bytes);
            text.reserve_exact(wanted - text.len());
        }
        text.push_str(&data);
        if next + 1 == parts {
            return Ok(Step::Complete { seq, text });
        }
        self.open = Open::Joining {
            seq,
            parts,
            next: next + 1,
            text,
        };
        Ok(Step::Pending)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::borrow::Cow;

    use sync_core::parts::{PartType, SubmitPart};
    use sync_core::protocol::{ClientMessage, ErrorCode, Revision};
    use sync_core::{Operation, Pointer, Value};

    use super::{Step, Upload};

    fn part(seq: u64, part: u32, parts: u32, data: &str) -> SubmitPart<'_> {
        SubmitPart {
            kind: PartType::SubmitPart,
            seq,
            part,
            parts,
            data: Cow::Borrowed(data),
        }
    }

    fn code(result: Result<Step, (ErrorCode, String)>) -> ErrorCode {
        match result {
            Err((code, _)) => code,
            Ok(step) => panic!("expected an error, got {step:?}"),
        }
    }

    #[test]
    fn parts_in_order_join_into_the_text_and_release_it() {
        let mut upload = Upload::new(100);
        assert_eq!(upload.push(part(4, 0, 3, "ab")), Ok(Step::Pending));
        assert!(upload.held() >= 2);
        assert_eq!(upload.push(part(4, 1, 3, "")), Ok(Step::Pending));
        assert_eq!(
            upload.push(part(4, 2, 3, "cd")),
            Ok(Step::Complete {
                seq: 4,
                text: "abcd".to_owned()
            })
        );
        assert_eq!(upload.held(), 0);
        // The next change starts afresh; a single part is a whole change.
        assert_eq!(
            upload.push(part(5, 0, 1, "e")),
            Ok(Step::Complete {
                seq: 5,
                text: "e".to_owned()
            })
        );
    }

    #[test]
    fn the_parts_of_a_real_submit_join_back_into_it() {
        let submit = ClientMessage::Submit {
            seq: 9,
            base_rev: Revision(2),
            ops: vec![Operation::add(
                Pointer::parse("/t").unwrap(),
                Value::from("é\"\n😀".repeat(500).as_str()),
            )],
            overwrites: Vec::new(),
        };
        let frames: Vec<String> = sync_core::parts::frames(&submit, 256).unwrap().collect();
        let mut upload = Upload::new(1 << 20);
        let mut last = Step::Pending;
        for frame in &frames {
            last = upload
                .push(serde_json::from_str::<SubmitPart<'_>>(frame).unwrap())
                .unwrap();
        }
        let Step::Complete { seq: 9, text } = last else {
            panic!("{last:?}")
        };
        assert_eq!(
            serde_json::from_str::<ClientMessage>(&text).unwrap(),
            submit
        );
    }

    #[test]
    fn a_part_out_of_order_abandons_the_upload() {
        let cases: [&[(u64, u32, u32)]; 6] = [
            // A gap, a repeat, a later part with nothing open.
            &[(1, 0, 3), (1, 2, 3)],
            &[(1, 0, 3), (1, 0, 3)],
            &[(1, 1, 3)],
            // Another change's part, or another count, while one is open.
            &[(1, 0, 3), (2, 0, 3)],
            &[(1, 0, 3), (2, 1, 3)],
            &[(1, 0, 3), (1, 1, 4)],
        ];
        for case in cases {
            let mut upload = Upload::new(100);
            let (last, first) = case.split_last().unwrap();
            for &(seq, i, n) in first {
                assert_eq!(upload.push(part(seq, i, n, "x")), Ok(Step::Pending));
            }
            let (seq, i, n) = *last;
            assert_eq!(
                code(upload.push(part(seq, i, n, "x"))),
                ErrorCode::PartOutOfOrder,
                "{case:?}"
            );
            assert_eq!(upload.held(), 0, "{case:?}");
            // Abandoned: its next part is out of order too, and a new change starts cleanly.
            assert_eq!(
                code(upload.push(part(1, 1, 3, "x"))),
                ErrorCode::PartOutOfOrder
            );
            assert_eq!(upload.push(part(3, 0, 2, "y")), Ok(Step::Pending));
            assert!(matches!(
                upload.push(part(3, 1, 2, "z")),
                Ok(Step::Complete { seq: 3, text }) if text == "yz"
            ));
        }
    }

    #[test]
    fn a_part_numbered_past_its_count_is_invalid() {
        let mut upload = Upload::new(100);
        assert_eq!(upload.push(part(1, 0, 2, "x")), Ok(Step::Pending));
        assert_eq!(
            code(upload.push(part(1, 2, 2, "x"))),
            ErrorCode::InvalidMessage
        );
        assert_eq!(upload.held(), 0);
        assert_eq!(
            code(upload.push(part(1, 0, 0, "x"))),
            ErrorCode::InvalidMessage
        );
    }

    #[test]
    fn a_change_past_the_bound_is_too_large_once_and_its_other_parts_pass_over() {
        let mut upload = Upload::new(10);
        assert_eq!(upload.push(part(7, 0, 4, "123456")), Ok(Step::Pending));
        assert!(matches!(
            upload.push(part(7, 1, 4, "789ab")),
            Ok(Step::TooLarge { seq: 7, message }) if message.contains("10 bytes")
        ));
        assert_eq!(upload.held(), 0);
        assert_eq!(upload.push(part(7, 2, 4, "more")), Ok(Step::Pending));
        assert_eq!(upload.push(part(7, 3, 4, "more")), Ok(Step::Pending));
        assert_eq!(upload.held(), 0);
        // The connection goes on: the next change is joined.
        assert!(matches!(
            upload.push(part(8, 0, 1, "0123456789")),
            Ok(Step::Complete { seq: 8, .. })
        ));
        // Too large on its last part: nothing is left to pass over.
        assert!(matches!(
            upload.push(part(9, 0, 1, "0123456789a")),
            Ok(Step::TooLarge { seq: 9, .. })
        ));
        assert_eq!(upload.push(part(10, 0, 2, "a")), Ok(Step::Pending));
    }

    #[test]
    fn the_buffer_never_grows_past_the_bound() {
        let mut upload = Upload::new(1000);
        for i in 0..9 {
            assert_eq!(
                upload.push(part(1, i, 10, &"x".repeat(100))),
                Ok(Step::Pending)
            );
            assert!(upload.held() <= 1000, "{}", upload.held());
        }
        let Ok(Step::Complete { text, .. }) = upload.push(part(1, 9, 10, &"x".repeat(100))) else {
            panic!()
        };
        assert!(text.capacity() <= 1000);
    }
}
