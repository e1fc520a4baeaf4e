//! Who a `hello` lets in: its token checked (or the relay's rule for coming without one), and
//! the name others will see.

use sync_core::protocol::{ErrorCode, Role};

use crate::Shared;
use crate::peer::Peer;
use crate::wire::now_millis;

/// What a peer who gave no name is called without a token.
const ANONYMOUS: &str = "anonymous";

/// A name as the relay shows and stores it: every control character (which no name means,
/// and which PostgreSQL cannot keep in text, as with NUL) replaced by U+FFFD.
pub(crate) fn shown_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_control() {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect()
}

/// Who a `hello` let in.
pub(crate) struct Admitted {
    /// The `hello`'s name, or else the token's user, or else [`ANONYMOUS`].
    pub(crate) author: String,
    pub(crate) role: Role,
    /// The id of the token it came with.
    pub(crate) token: Option<String>,
}

/// Checks the token (or the anonymous policy).
pub(crate) fn admit(
    shared: &Shared,
    peer: &Peer,
    token: Option<&str>,
    doc: &str,
    name: &str,
) -> Result<Admitted, (ErrorCode, String)> {
    let name = shown_name(name);
    // A relay's vouch is for one document: believed for another, it would let a vouch made
    // for an anonymous client of one document open any.
    if peer.from_node && peer.vouched_doc.as_deref() != Some(doc) {
        return Err((
            ErrorCode::OwnerUnavailable,
            "the relay that passed this connection on vouched for another document; try again"
                .to_owned(),
        ));
    }
    let Some(token) = token else {
        if shared.config.allows_anonymous(peer) {
            let author = if name.is_empty() { ANONYMOUS } else { &name };
            return Ok(Admitted {
                author: author.to_owned(),
                role: Role::Write,
                token: None,
            });
        }
        // A relay of the cluster forwarded it, but its word could not be checked: a passing
        // state (clocks apart, a secret being rotated), not the client's fault, so not the
        // `unauthorized` a window stops retrying on.
        if peer.unverified_vouch {
            return Err((
                ErrorCode::OwnerUnavailable,
                "the relay that passed this connection on could not be verified; try again"
                    .to_owned(),
            ));
        }
        return Err((
            ErrorCode::Unauthorized,
            "this relay needs a token; ask its operator for one".to_owned(),
        ));
    };
    let (claims, id) = shared.access.verify(token, now_millis() / 1000)?;
    if !claims.covers(doc) {
        return Err((
            ErrorCode::Forbidden,
            format!("the token does not cover document {doc}"),
        ));
    }
    let author = if name.is_empty() {
        shown_name(&claims.user)
    } else {
        name
    };
    Ok(Admitted {
        author,
        role: claims.role,
        token: Some(id),
    })
}
