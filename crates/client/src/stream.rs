//! Streams: answers read chunk by chunk ([`BodyStream`]), JSON-lines streams ([`JsonLines`]:
//! pull/push/load progress, events), Docker's multiplexed stdout/stderr frames ([`Demux`]),
//! request bodies fed from a blocking reader ([`reader_body`]) and hijacked connections
//! ([`Hijacked`]: attach, exec start).

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Frame;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::{Client, Error, ReqBody, Result};

/// An answer's body, read one chunk at a time.
#[derive(Debug)]
pub struct BodyStream<'a> {
    client: &'a Client,
    body: Incoming,
    headers: http::HeaderMap,
}

impl<'a> BodyStream<'a> {
    pub(crate) fn new(client: &'a Client, resp: http::Response<Incoming>) -> Self {
        let (parts, body) = resp.into_parts();
        BodyStream {
            client,
            body,
            headers: parts.headers,
        }
    }

    /// A response header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether the body is a TTY's raw stream rather than multiplexed frames.
    pub fn is_raw(&self) -> bool {
        self.header("content-type")
            .is_some_and(|t| t.contains("raw-stream"))
    }

    /// The next chunk, `None` at the end.
    pub fn next_chunk(&mut self) -> Result<Option<Bytes>> {
        loop {
            let frame = self.client.block_on(self.body.frame());
            match frame {
                None => return Ok(None),
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(f)) => {
                    if let Ok(data) = f.into_data() {
                        if !data.is_empty() {
                            return Ok(Some(data));
                        }
                    }
                }
            }
        }
    }

    /// Copies the whole body to `w`.
    pub fn copy_to(&mut self, w: &mut dyn Write) -> Result<()> {
        while let Some(c) = self.next_chunk()? {
            w.write_all(&c)?;
        }
        w.flush()?;
        Ok(())
    }

    /// Demultiplexes the body (frames, or raw for a TTY) into `out` and `err` as it arrives.
    pub fn demux_to(&mut self, out: &mut dyn Write, err: &mut dyn Write) -> Result<()> {
        let raw = self.is_raw();
        let mut d = Demux::default();
        while let Some(c) = self.next_chunk()? {
            if raw {
                out.write_all(&c)?;
                out.flush()?;
                continue;
            }
            d.push(&c);
            d.drain_to(out, err)?;
        }
        Ok(())
    }

    /// The body as JSON lines.
    pub fn json_lines<T: serde::de::DeserializeOwned>(self) -> JsonLines<'a, T> {
        JsonLines {
            stream: self,
            buf: Vec::new(),
            done: false,
            _t: std::marker::PhantomData,
        }
    }
}

/// An iterator of the JSON values of a newline-delimited stream.
#[derive(Debug)]
pub struct JsonLines<'a, T> {
    stream: BodyStream<'a>,
    buf: Vec<u8>,
    done: bool,
    _t: std::marker::PhantomData<T>,
}

impl<T: serde::de::DeserializeOwned> Iterator for JsonLines<'_, T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        loop {
            if let Some(nl) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=nl).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Some(serde_json::from_slice(&line).map_err(Error::from));
            }
            if self.done {
                if self.buf.iter().all(u8::is_ascii_whitespace) {
                    return None;
                }
                let line = std::mem::take(&mut self.buf);
                return Some(serde_json::from_slice(&line).map_err(Error::from));
            }
            match self.stream.next_chunk() {
                Ok(Some(c)) => self.buf.extend_from_slice(&c),
                Ok(None) => self.done = true,
                Err(e) => {
                    self.done = true;
                    self.buf.clear();
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Which stream a frame belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// 0: stdin (written back by some daemons for a TTY).
    Stdin,
    /// 1.
    Stdout,
    /// 2.
    Stderr,
}

/// Docker's multiplexed frames: an 8-byte header (stream, 3 zero bytes, big-endian u32
/// length) before each payload. Bytes are pushed as they arrive; whole frames come out.
#[derive(Debug, Default)]
pub struct Demux {
    buf: Vec<u8>,
}

impl Demux {
    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next whole frame, if one has arrived.
    pub fn next_frame(&mut self) -> Option<(StreamKind, Vec<u8>)> {
        if self.buf.len() < 8 {
            return None;
        }
        let len = u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]) as usize;
        if self.buf.len() < 8 + len {
            return None;
        }
        let kind = match self.buf[0] {
            0 => StreamKind::Stdin,
            2 => StreamKind::Stderr,
            _ => StreamKind::Stdout,
        };
        let payload = self.buf[8..8 + len].to_vec();
        self.buf.drain(..8 + len);
        Some((kind, payload))
    }

    /// Writes every whole frame to `out` or `err`.
    pub fn drain_to(&mut self, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<()> {
        while let Some((k, p)) = self.next_frame() {
            let w: &mut dyn Write = if k == StreamKind::Stderr { err } else { out };
            w.write_all(&p)?;
            w.flush()?;
        }
        Ok(())
    }
}

/// A request body fed from a blocking reader (a file, stdin) by a thread, 64 KiB at a time.
pub fn reader_body(mut r: Box<dyn Read + Send>) -> ReqBody {
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(4);
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match r.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if tx
                        .blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])))
                        .is_err()
                    {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    ChannelBody { rx }.boxed_unsync()
}

struct ChannelBody {
    rx: mpsc::Receiver<io::Result<Bytes>>,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, io::Error>>> {
        self.rx.poll_recv(cx).map(|o| o.map(|r| r.map(Frame::data)))
    }
}

/// A hijacked connection: the caller's stdin goes in, the process's output comes out
/// (multiplexed frames, or raw bytes for a TTY) until the daemon shuts its side down.
#[derive(Debug)]
pub struct Hijacked<'a> {
    client: &'a Client,
    io: TokioIo<Upgraded>,
    tty: bool,
}

impl<'a> Hijacked<'a> {
    pub(crate) fn new(client: &'a Client, io: TokioIo<Upgraded>, tty: bool) -> Self {
        Hijacked { client, io, tty }
    }

    /// Copies `stdin` (when given, by a thread) into the connection — half-closing it at the
    /// input's end — and the output to `out`/`err`, until the daemon closes the output.
    pub fn pump(
        self,
        stdin: Option<Box<dyn Read + Send>>,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<()> {
        let Hijacked { client, io, tty } = self;
        client.block_on(async move {
            let (mut rd, mut wr) = tokio::io::split(io);
            let input = stdin.map(|mut r| {
                let (tx, mut rx) = mpsc::channel::<Bytes>(4);
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 32 * 1024];
                    loop {
                        match r.read(&mut buf) {
                            Ok(0) => return,
                            Ok(n) => {
                                if tx.blocking_send(Bytes::copy_from_slice(&buf[..n])).is_err() {
                                    return;
                                }
                            }
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(_) => return,
                        }
                    }
                });
                tokio::spawn(async move {
                    while let Some(b) = rx.recv().await {
                        if wr.write_all(&b).await.is_err() || wr.flush().await.is_err() {
                            return;
                        }
                    }
                    let _ = wr.shutdown().await;
                })
            });
            let mut d = Demux::default();
            let mut buf = vec![0u8; 32 * 1024];
            let res: Result<()> = loop {
                let n = match rd.read(&mut buf).await {
                    Ok(0) => break Ok(()),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break Ok(()),
                    Err(e) => break Err(e.into()),
                };
                if tty {
                    if let Err(e) = out.write_all(&buf[..n]).and_then(|()| out.flush()) {
                        break Err(e.into());
                    }
                } else {
                    d.push(&buf[..n]);
                    if let Err(e) = d.drain_to(out, err) {
                        break Err(e.into());
                    }
                }
            };
            if let Some(t) = input {
                t.abort();
            }
            res
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_anywhere() {
        let wire = b"\x01\0\0\0\0\0\0\x03hi\n\x02\0\0\0\0\0\0\x01e";
        for cut in 0..wire.len() {
            let mut d = Demux::default();
            let (mut out, mut err) = (Vec::new(), Vec::new());
            d.push(&wire[..cut]);
            d.drain_to(&mut out, &mut err).unwrap();
            d.push(&wire[cut..]);
            d.drain_to(&mut out, &mut err).unwrap();
            assert_eq!((out.as_slice(), err.as_slice()), (&b"hi\n"[..], &b"e"[..]));
        }
    }
}
