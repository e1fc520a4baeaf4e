//! The request that opens every connection. The relay reads its head itself to learn where it
//! is headed (`GET /healthz`, `GET /metrics`, or the websocket upgrade) and who sent it (proxy
//! headers, see [`crate::peer`]); for a websocket the head is then put back, so the handshake
//! reads it untouched. Any other request gets a plain HTTP answer (404, or 405 for another
//! method on the two paths), so that a load balancer's check says what is wrong.

use std::net::IpAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::peer::{ClientHeader, Peer, TrustedProxies};
use crate::stream::Stream;

/// Where a new connection is headed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// A request with `Upgrade: websocket`: handed to the websocket handshake, which refuses
    /// what is not a valid one.
    WebSocket,
    /// `GET /healthz` (`HEAD` too: the same answer without its body).
    Health {
        /// Whether only the head is wanted.
        head: bool,
    },
    /// `GET /metrics`.
    Metrics,
    /// Another method on `/healthz` or `/metrics`: 405.
    NotAllowed,
    /// Anything else: 404.
    NotFound,
}

/// The longest request head read; a longer one is not a request the relay serves.
const MAX_HEAD: usize = 8 * 1024;
/// The most headers looked at.
const MAX_HEADERS: usize = 64;

/// A request head that has been read.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) route: Route,
    pub(crate) peer: Peer,
    /// The header another relay of a cluster vouches for its client with, if there is one
    /// (see `cluster::vouch`).
    pub(crate) forwarded: Option<String>,
}

/// Reads the request head (and whatever came with it), then puts it all back in front of the
/// stream. `None` when no complete, well-formed head arrives by `deadline`.
pub(crate) async fn read_head(
    stream: &mut Stream,
    socket: IpAddr,
    (trusted, header): (&TrustedProxies, ClientHeader),
    deadline: Instant,
) -> Option<Head> {
    let mut bytes = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let head = loop {
        let read = tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await;
        let n = match read {
            Ok(Ok(n)) if n > 0 => n,
            _ => return None,
        };
        let start = bytes.len().saturating_sub(3);
        bytes.extend_from_slice(chunk.get(..n).unwrap_or_default());
        let end = bytes
            .get(start..)
            .and_then(|tail| tail.windows(4).position(|w| w == b"\r\n\r\n"))
            .map(|at| start + at + 4);
        match end {
            Some(end) if end <= MAX_HEAD => {
                break parse(bytes.get(..end)?, socket, (trusted, header))?;
            }
            _ if bytes.len() >= MAX_HEAD => return None,
            _ => {}
        }
    };
    stream.unread(bytes);
    Some(head)
}

fn parse(
    head: &[u8],
    socket: IpAddr,
    (trusted, header): (&TrustedProxies, ClientHeader),
) -> Option<Head> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(_) = request.parse(head).ok()? else {
        return None;
    };
    let upgrade = request.headers.iter().any(|h| {
        h.name.eq_ignore_ascii_case("upgrade")
            && std::str::from_utf8(h.value)
                .is_ok_and(|v| v.trim().eq_ignore_ascii_case("websocket"))
    });
    // The path without its query.
    let path = request.path.map(|p| p.split('?').next().unwrap_or(p));
    let route = match (request.method, path) {
        (Some("GET"), Some("/healthz")) => Route::Health { head: false },
        (Some("HEAD"), Some("/healthz")) => Route::Health { head: true },
        (Some("GET"), Some("/metrics")) => Route::Metrics,
        (_, Some("/healthz" | "/metrics")) => Route::NotAllowed,
        _ if upgrade => Route::WebSocket,
        _ => Route::NotFound,
    };
    let peer = Peer::from_request(
        socket,
        request.headers.iter().map(|h| (h.name, h.value)),
        trusted,
        header,
    );
    let header_text = |name: &str| {
        request
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .map(str::to_owned)
    };
    Some(Head {
        route,
        peer,
        forwarded: header_text(crate::cluster::vouch::HEADER),
    })
}

/// Answers `200 OK` with `body` to a request whose head was read, then closes.
pub(crate) async fn respond(stream: Stream, content_type: &str, body: &str) {
    respond_with(stream, "200 OK", content_type, body).await;
}

/// Answers with `status` (`503 Service Unavailable`) and `body`, then closes.
pub(crate) async fn respond_with(stream: Stream, status: &str, content_type: &str, body: &str) {
    answer(stream, status, content_type, body, true).await;
}

/// Answers with `status`, and `body` unless only the head is wanted, then closes.
pub(crate) async fn answer(
    mut stream: Stream,
    status: &str,
    content_type: &str,
    body: &str,
    with_body: bool,
) {
    let shown = if with_body { body } else { "" };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{shown}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn head(text: &str) -> Option<Head> {
        parse(
            text.as_bytes(),
            IpAddr::from([127, 0, 0, 1]),
            (&TrustedProxies::default(), ClientHeader::default()),
        )
    }

    #[test]
    fn requests_are_routed_by_method_and_path() {
        let health = head("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(health.route, Route::Health { head: false });
        assert_eq!(
            head("HEAD /healthz?probe=1 HTTP/1.1\r\n\r\n")
                .unwrap()
                .route,
            Route::Health { head: true }
        );
        assert_eq!(
            head("OPTIONS /healthz HTTP/1.1\r\n\r\n").unwrap().route,
            Route::NotAllowed
        );
        assert_eq!(
            head("GET /other HTTP/1.1\r\n\r\n").unwrap().route,
            Route::NotFound
        );
        assert!(health.peer.is_local());
        assert_eq!(
            head("GET /metrics HTTP/1.0\r\n\r\n").unwrap().route,
            Route::Metrics
        );
        assert_eq!(
            head("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n")
                .unwrap()
                .route,
            Route::WebSocket
        );
        let proxied =
            head("GET / HTTP/1.1\r\nUpgrade: websocket\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n")
                .unwrap();
        assert!(!proxied.peer.is_local());
        assert!(head("not http\r\n\r\n").is_none());
    }
}
