//! The stable codes of `error` and `reject` messages.

use serde::{Deserialize, Serialize};

/// The codes of `error` messages: something a connection sent could not be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not JSON.
    InvalidJson,
    /// JSON, but not a message: unknown `type`, a missing or mistyped field, a bad pointer.
    InvalidMessage,
    /// A binary frame; the protocol uses text frames.
    BinaryFrame,
    /// A frame or message larger than the relay accepts.
    FrameTooLarge,
    /// `hello` carried a protocol version the relay does not speak.
    UnsupportedProtocol,
    /// A message other than `hello` before `hello`.
    HelloRequired,
    /// A second `hello` on one connection.
    DuplicateHello,
    /// No `hello` within the relay's deadline; the connection closes.
    HelloTimeout,
    /// Nothing heard (not even a pong) for the relay's idle timeout; the connection closes.
    IdleTimeout,
    /// No token where one is required, or a token whose signature does not verify.
    Unauthorized,
    /// The token has expired.
    TokenExpired,
    /// The token was revoked by the relay's operator (or the relay's signing secret was
    /// rotated): refused at `hello`, and open connections holding it are closed.
    TokenRevoked,
    /// The token does not cover this document.
    Forbidden,
    /// The document id has characters or a length the relay refuses.
    InvalidDocumentId,
    /// The document could not be loaded; it is not served (and never overwritten).
    DocumentUnavailable,
    /// More operations per second than the relay allows this connection.
    RateLimited,
    /// The relay could not store changes; it acknowledges nothing until it can.
    StorageFailed,
    /// The relay is at its connection limit.
    TooManyConnections,
    /// The connection fell too far behind; it must reconnect and catch up.
    SlowConsumer,
    /// The relay is shutting down.
    ShuttingDown,
    /// The requested revision is no longer retained.
    NotRetained,
    /// `hello` carried a client id that is empty, too long or has characters the protocol
    /// does not allow (see [`ClientId::validate`](super::ClientId::validate)).
    InvalidClientId,
    /// `history` or `snapshot` asked for revisions in the wrong order or after the head.
    InvalidRange,
    /// A `submit_part` that does not continue the change being sent in parts (see
    /// [`crate::parts`]): not the next part, another change's, or a later part with none
    /// begun. The change being sent is abandoned.
    PartOutOfOrder,
    /// The relay that owns the document (in a cluster of relays) cannot be reached, and its
    /// lease has not yet run out for another to take the document over: try again shortly.
    OwnerUnavailable,
    /// This relay no longer owns the document (in a cluster of relays, another took it over):
    /// reconnect, and the connection reaches the new owner.
    OwnerChanged,
}

impl ErrorCode {
    /// Every code, for documentation and tests.
    pub const ALL: [ErrorCode; 26] = [
        ErrorCode::InvalidJson,
        ErrorCode::InvalidMessage,
        ErrorCode::BinaryFrame,
        ErrorCode::FrameTooLarge,
        ErrorCode::UnsupportedProtocol,
        ErrorCode::HelloRequired,
        ErrorCode::DuplicateHello,
        ErrorCode::HelloTimeout,
        ErrorCode::IdleTimeout,
        ErrorCode::Unauthorized,
        ErrorCode::TokenExpired,
        ErrorCode::TokenRevoked,
        ErrorCode::Forbidden,
        ErrorCode::InvalidDocumentId,
        ErrorCode::DocumentUnavailable,
        ErrorCode::RateLimited,
        ErrorCode::StorageFailed,
        ErrorCode::TooManyConnections,
        ErrorCode::SlowConsumer,
        ErrorCode::ShuttingDown,
        ErrorCode::NotRetained,
        ErrorCode::InvalidClientId,
        ErrorCode::InvalidRange,
        ErrorCode::PartOutOfOrder,
        ErrorCode::OwnerUnavailable,
        ErrorCode::OwnerChanged,
    ];

    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::InvalidMessage => "invalid_message",
            ErrorCode::BinaryFrame => "binary_frame",
            ErrorCode::FrameTooLarge => "frame_too_large",
            ErrorCode::UnsupportedProtocol => "unsupported_protocol",
            ErrorCode::HelloRequired => "hello_required",
            ErrorCode::DuplicateHello => "duplicate_hello",
            ErrorCode::HelloTimeout => "hello_timeout",
            ErrorCode::IdleTimeout => "idle_timeout",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::TokenRevoked => "token_revoked",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::InvalidDocumentId => "invalid_document_id",
            ErrorCode::DocumentUnavailable => "document_unavailable",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::StorageFailed => "storage_failed",
            ErrorCode::TooManyConnections => "too_many_connections",
            ErrorCode::SlowConsumer => "slow_consumer",
            ErrorCode::ShuttingDown => "shutting_down",
            ErrorCode::NotRetained => "not_retained",
            ErrorCode::InvalidClientId => "invalid_client_id",
            ErrorCode::InvalidRange => "invalid_range",
            ErrorCode::PartOutOfOrder => "part_out_of_order",
            ErrorCode::OwnerUnavailable => "owner_unavailable",
            ErrorCode::OwnerChanged => "owner_changed",
        }
    }
}

/// The codes of `reject` messages: why a submitted change was not applied. The first four are
/// the Authority's, the next two the relay's; then the [`crate::ApplyErrorKind::code`]s of the
/// operation that failed (`too_deep` also comes from the relay, for a change whose values nest
/// too deep to be read at all); last the relay's answer to a change it cannot read.
pub const REJECT_CODES: [&str; 18] = [
    "read_only",
    "stale_seq",
    "base_ahead",
    "base_too_old",
    "document_too_large",
    "not_storable",
    "path_not_found",
    "not_a_container",
    "bad_index",
    "test_failed",
    "move_into_descendant",
    "remove_root",
    "not_a_string",
    "not_a_number",
    "splice_out_of_range",
    "number_overflow",
    "too_deep",
    "invalid_change",
];
