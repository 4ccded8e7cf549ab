//! Hijacked connections: what `attach` and `exec start` answer.
//!
//! Docker's clients send `Connection: Upgrade` and `Upgrade: tcp`; the daemon answers
//! `101 Switching Protocols` and from then on the connection is a raw byte stream both ways:
//! the client's stdin in, the process's output out — multiplexed frames (an 8-byte header:
//! stream 1 or 2, three zero bytes, a big-endian length) or raw bytes for a TTY. The output
//! side ends by shutting the connection down, which is how the client learns the process is
//! done.
//!
//! Output comes from blocking code (pipes, the log file), so it arrives here on a channel of
//! [`Chunk`]s; a failed write to the client (it went away) drops the channel's receiver,
//! which the producer sees as a closed channel.

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::body::{full, Body};
use crate::logs::frame_header;
use berth_engine::LogStream;

/// The upgraded connection.
pub type Conn = TokioIo<Upgraded>;

/// Output bytes of one stream.
pub type Chunk = (LogStream, Bytes);

/// Content type of a TTY's raw stream.
pub const RAW_STREAM: &str = "application/vnd.docker.raw-stream";
/// Content type of multiplexed stdout/stderr frames.
pub const MULTIPLEXED_STREAM: &str = "application/vnd.docker.multiplexed-stream";

/// Whether the client asked for the connection to be upgraded.
pub fn wants_upgrade(headers: &HeaderMap) -> bool {
    let has = |name: header::HeaderName, word: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(word))
    };
    has(header::CONNECTION, "upgrade") && headers.contains_key(header::UPGRADE)
}

/// Answers `101` and runs `task` on the connection once hyper has handed it over.
pub fn switch<F, Fut>(on: OnUpgrade, tty: bool, task: F) -> Response<Body>
where
    F: FnOnce(Conn) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        if let Ok(up) = on.await {
            task(TokioIo::new(up)).await;
        }
    });
    let mut r = Response::new(full(Bytes::new()));
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if tty { RAW_STREAM } else { MULTIPLEXED_STREAM }),
    );
    r
}

/// Writes every chunk of `rx` to `w` (framed unless `tty`) until the channel closes or the
/// client goes; returns whether the client is still there.
pub async fn pump<W: AsyncWrite + Unpin>(
    w: &mut W,
    mut rx: mpsc::Receiver<Chunk>,
    tty: bool,
) -> bool {
    while let Some((stream, data)) = rx.recv().await {
        if !tty
            && w.write_all(&frame_header(stream, data.len()))
                .await
                .is_err()
        {
            return false;
        }
        if w.write_all(&data).await.is_err() || w.flush().await.is_err() {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upgrade_headers() {
        let mut h = HeaderMap::new();
        assert!(!wants_upgrade(&h));
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        assert!(!wants_upgrade(&h));
        h.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
        assert!(wants_upgrade(&h));
    }

    #[tokio::test]
    async fn frames_and_raw() {
        let (tx, rx) = mpsc::channel(4);
        tx.send((LogStream::Stdout, Bytes::from_static(b"hi\n")))
            .await
            .unwrap();
        tx.send((LogStream::Stderr, Bytes::from_static(b"e")))
            .await
            .unwrap();
        drop(tx);
        let mut out = Vec::new();
        assert!(pump(&mut out, rx, false).await);
        assert_eq!(out, b"\x01\0\0\0\0\0\0\x03hi\n\x02\0\0\0\0\0\0\x01e");
        let (tx, rx) = mpsc::channel(4);
        tx.send((LogStream::Stdout, Bytes::from_static(b"raw")))
            .await
            .unwrap();
        drop(tx);
        let mut out = Vec::new();
        assert!(pump(&mut out, rx, true).await);
        assert_eq!(out, b"raw");
    }
}
