//! Tokens on a running relay: checking them at `hello`, and acting on revocations as they are
//! recorded in the registry ([`crate::auth::registry`]), a few times a second. A revoked token
//! is refused from then on and every connection holding it is closed with `token_revoked`; a
//! rotated signing secret is read again and closes every connection that came with a token.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use sync_core::protocol::ErrorCode;
use tokio_util::sync::CancellationToken;

use crate::auth::registry::{self, ROTATED, Registry};
use crate::auth::{Claims, Secret};

/// How often the registry is read for new revocations.
const WATCH_EVERY: Duration = Duration::from_millis(250);

/// What the relay knows of tokens.
pub(crate) struct Access {
    secret: RwLock<Option<Arc<Secret>>>,
    revoked: RwLock<HashSet<String>>,
    /// Open connections by the id of the token they came with.
    holders: Mutex<HashMap<String, HashMap<u64, Holder>>>,
    registry: Registry,
    /// The last revocation acted on.
    seen: Mutex<i64>,
}

/// How to end a connection whose token is void: why, then the signal its reader waits on.
#[derive(Clone, Default)]
pub(crate) struct Revocation {
    reason: Arc<OnceLock<String>>,
    signal: CancellationToken,
}

impl Revocation {
    /// Waits until the token is void; returns why.
    pub(crate) async fn revoked(&self) -> String {
        self.signal.cancelled().await;
        self.reason.get().cloned().unwrap_or_default()
    }

    fn revoke(&self, reason: &str) {
        let _ = self.reason.set(reason.to_owned());
        self.signal.cancel();
    }
}

type Holder = Revocation;

/// A connection's hold on its token: dropped when the connection ends.
pub(crate) struct Holding {
    access: Arc<Access>,
    id: String,
    conn: u64,
}

impl Drop for Holding {
    fn drop(&mut self) {
        let mut holders = self.access.holders();
        if let Some(conns) = holders.get_mut(&self.id) {
            conns.remove(&self.conn);
            if conns.is_empty() {
                holders.remove(&self.id);
            }
        }
    }
}

impl Access {
    /// Reads every revocation so far from `registry`, where `secret` came from.
    pub(crate) async fn open(
        registry: Registry,
        secret: Option<Secret>,
    ) -> anyhow::Result<Arc<Access>> {
        let past = registry.revocations_after(0).await?;
        let seen = past.last().map_or(0, |(n, _)| *n);
        let revoked = past
            .into_iter()
            .map(|(_, id)| id)
            .filter(|id| id != ROTATED)
            .collect();
        Ok(Arc::new(Access {
            secret: RwLock::new(secret.map(Arc::new)),
            revoked: RwLock::new(revoked),
            holders: Mutex::new(HashMap::new()),
            registry,
            seen: Mutex::new(seen),
        }))
    }

    fn holders(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashMap<u64, Holder>>> {
        self.holders.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Checks `token` at `now` (Unix seconds): its signature, expiry and revocation. Returns
    /// its claims and id.
    pub(crate) fn verify(
        &self,
        token: &str,
        now: u64,
    ) -> Result<(Claims, String), (ErrorCode, String)> {
        let secret = self
            .secret
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some(secret) = secret else {
            return Err((
                ErrorCode::Unauthorized,
                "this relay has no signing secret, so it cannot check tokens".to_owned(),
            ));
        };
        let claims = secret
            .verify(token, now)
            .map_err(|e| (e.code(), e.to_string()))?;
        let id = registry::token_id(token);
        if self
            .revoked
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&id)
        {
            return Err((
                ErrorCode::TokenRevoked,
                format!("token {id} was revoked; ask the relay's operator for a new one"),
            ));
        }
        Ok((claims, id))
    }

    /// The tag that vouches for `text` to the other relays of a cluster, which share the
    /// signing secret; `None` without a secret.
    pub(crate) fn vouch(&self, text: &str) -> Option<String> {
        let secret = self.secret.read().unwrap_or_else(PoisonError::into_inner);
        secret.as_ref().map(|secret| secret.vouch(text))
    }

    /// Whether `tag` is a relay of the cluster's [`Access::vouch`] for `text`.
    pub(crate) fn vouches(&self, text: &str, tag: &str) -> bool {
        let secret = self.secret.read().unwrap_or_else(PoisonError::into_inner);
        secret
            .as_ref()
            .is_some_and(|secret| secret.vouches(text, tag))
    }

    /// Records that connection `conn` holds token `id`, so that revoking it signals
    /// `revocation`, on which the connection's reader waits. The token must be verified again
    /// after this: a revocation (or rotation) between the first check and the hold would
    /// otherwise be missed.
    pub(crate) fn hold(
        self: &Arc<Access>,
        id: String,
        conn: u64,
        revocation: Revocation,
    ) -> Holding {
        self.holders()
            .entry(id.clone())
            .or_default()
            .insert(conn, revocation);
        Holding {
            access: Arc::clone(self),
            id,
            conn,
        }
    }

    /// Reads the registry for new revocations until `shutdown`.
    pub(crate) async fn watch(self: Arc<Access>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(WATCH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = shutdown.cancelled() => return,
            }
            if let Err(e) = self.read_revocations().await {
                tracing::warn!(error = %format!("{e:#}"), "cannot read revocations");
            }
        }
    }

    /// Acts on the revocations recorded since the last read.
    async fn read_revocations(&self) -> anyhow::Result<()> {
        let after = *self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let new = self.registry.revocations_after(after).await?;
        for (n, id) in new {
            if id == ROTATED {
                // Not marked as seen until the new secret is read: the next read tries again.
                self.rotate().await?;
            } else {
                self.revoke(&id);
            }
            *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = n;
        }
        Ok(())
    }

    /// Refuses token `id` from now on and closes the connections holding it. In that order:
    /// a connection that checks its token after taking its hold ([`Access::hold`]) is either
    /// refused or found here.
    fn revoke(&self, id: &str) {
        self.revoked
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_owned());
        let conns = self.holders().remove(id).unwrap_or_default();
        tracing::info!(token = id, connections = conns.len(), "token revoked");
        let message = format!("token {id} was revoked; ask the relay's operator for a new one");
        close_all(conns.into_values(), &message);
    }

    /// The signing secret was replaced: read it, and close every connection with a token. A
    /// secret that cannot be read fails closed: no token is accepted until it can be, which
    /// the next read of the registry tries again (a database may fail for a moment).
    async fn rotate(&self) -> anyhow::Result<()> {
        let (secret, failure) = match self.registry.secret().await {
            Ok(secret) => (secret.map(Arc::new), None),
            Err(e) => (None, Some(e)),
        };
        *self.secret.write().unwrap_or_else(PoisonError::into_inner) = secret;
        let all: Vec<Holder> = self
            .holders()
            .drain()
            .flat_map(|(_, conns)| conns.into_values())
            .collect();
        tracing::info!(
            connections = all.len(),
            "signing secret rotated: every token is void"
        );
        close_all(
            all.into_iter(),
            "the relay's signing secret was rotated, so every token is void; ask its operator for a new one",
        );
        if let Some(e) = failure {
            anyhow::bail!(
                "the rotated signing secret cannot be read ({e}): no token is accepted until it can"
            );
        }
        Ok(())
    }
}

/// Ends each connection: its reader leaves the room at once and closes it with
/// `token_revoked`.
fn close_all(holders: impl Iterator<Item = Holder>, message: &str) {
    for holder in holders {
        holder.revoke(message);
    }
}
