//! The few plain HTTP requests the relay answers besides the websocket upgrade: `GET /healthz`
//! and `GET /metrics`. The request line is peeked, not read, so a websocket handshake reaches
//! tungstenite untouched.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where a new connection is headed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// Anything else: handed to the websocket handshake, which refuses what is not an upgrade.
    WebSocket,
    /// `GET /healthz`.
    Health,
    /// `GET /metrics`.
    Metrics,
}

/// The longest request line looked at.
const PEEK: usize = 256;

/// Reads the request line without consuming it. Gives up (as a websocket, which will then fail
/// its handshake) if no line arrives within `deadline`.
pub(crate) async fn route(stream: &TcpStream, deadline: Duration) -> Route {
    let mut buf = [0u8; PEEK];
    let start = tokio::time::Instant::now();
    loop {
        let Ok(Ok(n)) = tokio::time::timeout(deadline, stream.peek(&mut buf)).await else {
            return Route::WebSocket;
        };
        let seen = buf.get(..n).unwrap_or_default();
        if let Some(end) = seen.windows(2).position(|w| w == b"\r\n") {
            let line = seen.get(..end).unwrap_or_default();
            return match line {
                b"GET /healthz HTTP/1.1" | b"GET /healthz HTTP/1.0" => Route::Health,
                b"GET /metrics HTTP/1.1" | b"GET /metrics HTTP/1.0" => Route::Metrics,
                _ => Route::WebSocket,
            };
        }
        if n == 0 || n == PEEK || start.elapsed() >= deadline {
            return Route::WebSocket;
        }
        // Part of a line: wait for the rest.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Reads the request's head and answers `200 OK` with `body`, then closes.
pub(crate) async fn respond(mut stream: TcpStream, content_type: &str, body: &str) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // Requests here are a line and a few headers; a head over 8 KiB is not worth reading.
    while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte)).await {
            Ok(Ok(1)) => head.extend_from_slice(&byte),
            _ => return,
        }
    }
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}
