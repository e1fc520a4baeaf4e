//! Where a session connects, and invites: the same thing written as a command line that
//! someone else can paste into a terminal or into the Connect dialog.

use serde::{Deserialize, Serialize};

/// A relay and a document on it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The relay's address: `ws://host:port` or `wss://host`.
    pub relay: String,
    /// The document id.
    pub doc: String,
    /// A signed access token, where the relay requires one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl Target {
    /// Checks the address and document id before anything connects, so a typo gets a clear
    /// message rather than a retry loop.
    pub fn validate(&self) -> Result<(), String> {
        let rest = self
            .relay
            .strip_prefix("ws://")
            .or_else(|| self.relay.strip_prefix("wss://"))
            .ok_or_else(|| {
                format!(
                    "a relay address starts with ws:// or wss://, as in ws://127.0.0.1:9090, not {:?}",
                    self.relay
                )
            })?;
        if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
            return Err(format!("{:?} names no host", self.relay));
        }
        relay::docid::validate(&self.doc)?;
        if let Some(token) = &self.token
            && (token.is_empty() || token.contains(char::is_whitespace))
        {
            return Err("a token is one word with no spaces".to_owned());
        }
        Ok(())
    }

    /// The invite: the command that opens this document in another window.
    pub fn invite(&self) -> String {
        let mut text = format!("concord --relay {} --doc {}", self.relay, self.doc);
        if let Some(token) = &self.token {
            text.push_str(" --token ");
            text.push_str(token);
        }
        text
    }

    /// Reads an invite (as [`Target::invite`] writes it; the leading `concord` and a `--name`
    /// are optional, and `--opt=value` works too).
    pub fn parse_invite(text: &str) -> Result<Target, String> {
        let mut words = text.split_whitespace().peekable();
        if words.peek() == Some(&"concord") {
            words.next();
        }
        let mut target = Target::default();
        while let Some(word) = words.next() {
            let (option, inline) = match word.split_once('=') {
                Some((option, value)) => (option, Some(value)),
                None => (word, None),
            };
            let mut value = || {
                inline
                    .map(str::to_owned)
                    .or_else(|| words.next().map(str::to_owned))
                    .ok_or_else(|| format!("{option} needs a value"))
            };
            match option {
                "--relay" => target.relay = value()?,
                "--doc" => target.doc = value()?,
                "--token" => target.token = Some(value()?),
                "--name" => {
                    value()?;
                }
                other => {
                    return Err(format!(
                        "an invite has --relay, --doc and --token, not {other:?}"
                    ));
                }
            }
        }
        target.validate()?;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn invites_round_trip() {
        let target = Target {
            relay: "ws://192.168.1.5:9000".to_owned(),
            doc: "config-1".to_owned(),
            token: Some("abc.def".to_owned()),
        };
        let invite = target.invite();
        assert_eq!(
            invite,
            "concord --relay ws://192.168.1.5:9000 --doc config-1 --token abc.def"
        );
        assert_eq!(Target::parse_invite(&invite).unwrap(), target);
        let bare = Target::parse_invite("--relay=ws://h:1 --doc d --name Ann").unwrap();
        assert_eq!(
            (bare.relay.as_str(), bare.doc.as_str(), bare.token),
            ("ws://h:1", "d", None)
        );
    }

    #[test]
    fn bad_targets_say_what_is_wrong() {
        let bad = |relay: &str, doc: &str| {
            Target {
                relay: relay.to_owned(),
                doc: doc.to_owned(),
                token: None,
            }
            .validate()
            .unwrap_err()
        };
        assert!(bad("http://h:1", "d").contains("ws://"));
        assert!(bad("ws://", "d").contains("no host"));
        assert!(bad("ws://h:1", "a/b").contains("document id"));
        assert!(Target::parse_invite("concord --relay ws://h:1").is_err());
        assert!(
            Target::parse_invite("concord --doc")
                .unwrap_err()
                .contains("needs a value")
        );
        assert!(
            Target::parse_invite("concord --bogus x")
                .unwrap_err()
                .contains("--bogus")
        );
    }
}
