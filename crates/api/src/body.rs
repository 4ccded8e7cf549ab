//! Bodies between hyper's async world and the engine's blocking one.
//!
//! Engine calls run on tokio's blocking pool. A request body reaches them as a [`Read`]
//! fed by a task that pumps frames through a bounded channel ([`reader`]); a streamed answer
//! (a tar, a JSON progress stream) leaves them through a [`Write`] that sends chunks the other
//! way ([`stream`]). Both channels are bounded, so a slow peer slows the engine instead of
//! filling memory.
//!
//! Like Docker, a streamed answer becomes an ordinary error response when the engine fails
//! before anything was sent; after that, a JSON stream ends with an `error` line and a binary
//! stream is cut (the client sees a truncated body).

use std::convert::Infallible;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use berth_api_types::{ErrorDetail, JsonMessage};
use bytes::Bytes;
use http::{header, Response, StatusCode};
use http_body::{Body as HttpBody, Frame};
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use tokio::sync::mpsc;

use crate::error::{status_of, ApiError};

/// The body of every response.
pub type Body = BoxBody<Bytes, io::Error>;

/// Chunks in flight per stream.
const DEPTH: usize = 16;
/// Bytes buffered before a chunk is sent.
const CHUNK: usize = 64 * 1024;

/// A complete body.
pub fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into())
        .map_err(|e: Infallible| match e {})
        .boxed()
}

/// A JSON response with `status`.
pub fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(mut v) => {
            v.push(b'\n');
            let mut r = Response::new(full(v));
            *r.status_mut() = status;
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/json"),
            );
            r
        }
        Err(e) => error_response(&ApiError::Internal(format!("encoding the answer: {e}"))),
    }
}

/// The response for a failed request.
pub fn error_response(e: &ApiError) -> Response<Body> {
    let status = status_of(e.kind());
    let mut v = serde_json::to_vec(&e.body()).unwrap_or_default();
    v.push(b'\n');
    let mut r = Response::new(full(v));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r
}

/// What is still read and discarded of a request body its handler left unread (an error
/// answered before the upload's end), so the client finishes writing and reads the answer
/// instead of a broken pipe; Go's net/http discards up to the same 256 KiB.
const DISCARD_UNREAD: usize = 256 << 10;

/// The request body as a blocking reader; the pump task ends with the body (draining up to
/// [`DISCARD_UNREAD`] of it once the reader is dropped).
pub fn reader<B>(body: B) -> ChanReader
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: std::fmt::Display + Send,
{
    let (tx, rx) = mpsc::channel(DEPTH);
    tokio::spawn(async move {
        let mut body = std::pin::pin!(body);
        while let Some(frame) = body.frame().await {
            let item = match frame {
                Ok(f) => match f.into_data() {
                    Ok(d) => Ok(d),
                    Err(_) => continue,
                },
                Err(e) => Err(io::Error::other(format!("reading the request body: {e}"))),
            };
            let stop = item.is_err();
            if stop {
                let _ = tx.send(item).await;
                break;
            }
            if tx.send(item).await.is_err() {
                // The handler is done with the body: let the client finish its upload.
                let mut discarded = 0;
                while discarded < DISCARD_UNREAD {
                    match body.frame().await {
                        Some(Ok(f)) => discarded += f.data_ref().map_or(0, Bytes::len),
                        _ => break,
                    }
                }
                break;
            }
        }
    });
    ChanReader {
        rx,
        cur: Bytes::new(),
    }
}

/// See [`reader`].
#[derive(Debug)]
pub struct ChanReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    cur: Bytes,
}

impl Read for ChanReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(item) => self.cur = item?,
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur.split_to(n));
        Ok(n)
    }
}

enum Msg {
    Data(Bytes),
    Fail(ApiError),
}

/// The writer a streaming handler writes its answer to. For JSON streams, call
/// [`ChanWriter::message`] per line: each line is sent at once.
#[derive(Debug)]
pub struct ChanWriter {
    tx: mpsc::Sender<Msg>,
    buf: Vec<u8>,
    sent: bool,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Data(d) => write!(f, "Data({} bytes)", d.len()),
            Msg::Fail(e) => write!(f, "Fail({e})"),
        }
    }
}

impl ChanWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let data = Bytes::from(std::mem::take(&mut self.buf));
        self.sent = true;
        self.tx
            .blocking_send(Msg::Data(data))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }

    /// Whether the response body was dropped (the client went away).
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Writes one JSON stream line and sends it.
    pub fn message(&mut self, m: &JsonMessage) -> io::Result<()> {
        serde_json::to_writer(&mut self.buf, m)?;
        self.buf.extend_from_slice(b"\r\n");
        self.send()
    }
}

impl Write for ChanWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// Whether a failed stream ends with a JSON error line or is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// `application/json` message stream.
    Json,
    /// Bytes (a tar).
    Binary(&'static str),
}

/// Runs `task` on the blocking pool and answers with what it writes (see the module docs).
pub async fn stream<F>(kind: StreamKind, task: F) -> Response<Body>
where
    F: FnOnce(&mut ChanWriter) -> Result<(), ApiError> + Send + 'static,
{
    let (tx, mut rx) = mpsc::channel(DEPTH);
    tokio::task::spawn_blocking(move || {
        let mut w = ChanWriter {
            tx: tx.clone(),
            buf: Vec::new(),
            sent: false,
        };
        match task(&mut w) {
            Ok(()) => {
                let _ = w.flush();
            }
            Err(e) if kind == StreamKind::Json && w.sent => {
                let _ = w.flush();
                let message = e.to_string();
                let _ = w.message(&JsonMessage {
                    error: Some(message.clone()),
                    error_detail: Some(ErrorDetail { message }),
                    ..JsonMessage::default()
                });
            }
            Err(e) => {
                if w.sent {
                    let _ = w.flush();
                }
                let _ = tx.blocking_send(Msg::Fail(e));
            }
        }
    });
    let first = match rx.recv().await {
        Some(Msg::Fail(e)) => return error_response(&e),
        Some(Msg::Data(d)) => Some(d),
        None => None,
    };
    let mut r = Response::new(BodyExt::boxed(ChanBody { first, rx }));
    let ct = match kind {
        StreamKind::Json => "application/json",
        StreamKind::Binary(ct) => ct,
    };
    r.headers_mut()
        .insert(header::CONTENT_TYPE, header::HeaderValue::from_static(ct));
    r
}

/// Like [`stream`], but the status line and headers go out at once (`200`, `content_type`)
/// and the body follows as `task` writes it: for answers that may wait long before their
/// first byte (`wait`, `logs?follow=1`). A failure then cuts the body.
pub fn stream_now<F>(content_type: &'static str, task: F) -> Response<Body>
where
    F: FnOnce(&mut ChanWriter) -> Result<(), ApiError> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(DEPTH);
    tokio::task::spawn_blocking(move || {
        let mut w = ChanWriter {
            tx: tx.clone(),
            buf: Vec::new(),
            sent: false,
        };
        let done = task(&mut w);
        let _ = w.flush();
        if let Err(e) = done {
            let _ = tx.blocking_send(Msg::Fail(e));
        }
    });
    let mut r = Response::new(BodyExt::boxed(ChanBody { first: None, rx }));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    r
}

struct ChanBody {
    first: Option<Bytes>,
    rx: mpsc::Receiver<Msg>,
}

impl HttpBody for ChanBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if let Some(d) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(d))));
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(Msg::Data(d))) => Poll::Ready(Some(Ok(Frame::data(d)))),
            Poll::Ready(Some(Msg::Fail(e))) => {
                Poll::Ready(Some(Err(io::Error::other(e.to_string()))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}
