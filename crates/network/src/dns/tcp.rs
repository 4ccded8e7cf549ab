//! DNS over TCP (RFC 1035 4.2.2, RFC 7766): what a client falls back to when a UDP answer came
//! back truncated, and what some resolvers (`options use-vc`) use throughout.
//!
//! Each connection gets its own short-lived thread, serving length-prefixed queries one after
//! another until the client closes it or stays idle for [`IDLE`]; the number of connections is
//! capped so a misbehaving container cannot exhaust threads.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::forward;
use super::server::{handle, is_timeout, Action, Shared};
use super::wire::{self, Rcode};

/// Connections served at once; more are closed at accept.
const MAX_CONNS: usize = 64;
/// An idle connection is closed after this long.
const IDLE: Duration = Duration::from_secs(10);
/// How often a blocked read looks at the stop flag.
const SLICE: Duration = Duration::from_millis(100);

/// Accepts until the server stops (the listener's shutdown wakes `accept`).
pub(crate) fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    while !shared.stopping() {
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(_) => {
                if !shared.stopping() {
                    thread::sleep(Duration::from_millis(10));
                }
                continue;
            }
        };
        if shared.stopping() {
            break;
        }
        if shared.tcp_conns.fetch_add(1, Ordering::AcqRel) >= MAX_CONNS {
            shared.tcp_conns.fetch_sub(1, Ordering::AcqRel);
            continue;
        }
        let s = shared.clone();
        let spawned = thread::Builder::new()
            .name("berth-dns-conn".into())
            .spawn(move || {
                let _ = serve(stream, &s);
                s.tcp_conns.fetch_sub(1, Ordering::AcqRel);
            });
        if spawned.is_err() {
            shared.tcp_conns.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

fn serve(mut stream: TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(SLICE))?;
    stream.set_write_timeout(Some(forward::UPSTREAM_TIMEOUT))?;
    loop {
        let mut len = [0u8; 2];
        if !read_full(&mut stream, &mut len, shared)? {
            return Ok(());
        }
        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if !read_full(&mut stream, &mut msg, shared)? {
            return Ok(());
        }
        let reply = match handle(&msg, shared, usize::from(u16::MAX)) {
            Action::Reply(r) => r,
            Action::Drop => return Ok(()),
            Action::Forward(query) => forward::tcp(&msg, &shared.upstreams).unwrap_or_else(|| {
                wire::response(&query, Rcode::ServFail, &[], usize::from(u16::MAX))
            }),
        };
        if shared.stopping() {
            return Ok(());
        }
        let Ok(len) = u16::try_from(reply.len()) else {
            return Ok(());
        };
        let mut out = Vec::with_capacity(reply.len() + 2);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&reply);
        stream.write_all(&out)?;
    }
}

/// Fills `buf`; `Ok(false)` on a clean end of stream (or stop, or idleness) before any byte.
fn read_full(stream: &mut TcpStream, buf: &mut [u8], shared: &Shared) -> io::Result<bool> {
    let deadline = Instant::now() + IDLE;
    let mut got = 0;
    while got < buf.len() {
        if shared.stopping() || Instant::now() >= deadline {
            return if got == 0 {
                Ok(false)
            } else {
                Err(io::ErrorKind::TimedOut.into())
            };
        }
        match stream.read(&mut buf[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if is_timeout(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}
