//! What travels to a connection: the items of its writer's queue, and server messages
//! serialized once for any number of recipients; and the clock rooms and connections read.
//! Rooms, connections and forwarded connections all use it, and it uses none of them.

use std::time::{SystemTime, UNIX_EPOCH};

use sync_core::protocol::{ErrorCode, ServerMessage};
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

/// What a connection hands the writer task.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A message, serialized.
    Text(Utf8Bytes),
    /// An error to send, then close the connection with this close code.
    Close {
        /// The error's code.
        code: ErrorCode,
        /// Why, for people.
        message: String,
    },
    /// The close frame the relay that owns the document ended a forwarded connection with:
    /// sent as it is (its `error` came before it as text).
    Closed(Option<CloseFrame>),
}

/// Milliseconds since the Unix epoch: the Authority's time input.
pub(crate) fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Serializes a server message once, for any number of recipients.
pub(crate) fn encode(message: &ServerMessage) -> Utf8Bytes {
    // Server messages are plain data: serializing them cannot fail.
    Utf8Bytes::from(serde_json::to_string(message).unwrap_or_default())
}

/// An error message, serialized.
pub(crate) fn error_text(code: ErrorCode, message: impl Into<String>) -> Utf8Bytes {
    encode(&ServerMessage::Error {
        code: code.as_str().to_owned(),
        message: message.into(),
    })
}

/// Seconds since the Unix epoch.
pub(crate) fn now_secs() -> u64 {
    now_millis() / 1000
}
