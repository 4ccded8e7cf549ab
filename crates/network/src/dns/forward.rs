//! Relaying a query to the upstream nameservers, raw bytes in, raw bytes out.
//!
//! Why relay instead of resolving: the container's resolver already speaks DNS and the
//! upstream already answers it, so the server only has to pass the message through unchanged
//! (EDNS, DNSSEC bits and all) — as Docker's embedded DNS does. Upstreams are tried in order,
//! each for at most [`UPSTREAM_TIMEOUT`]; a SERVFAIL or REFUSED from one moves on to the next,
//! and is relayed only if no later upstream does better.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::wire;

/// How long one upstream gets to answer.
pub(crate) const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a waiting forward looks at the stop flag.
const SLICE: Duration = Duration::from_millis(100);
const RCODE_SERVFAIL: u8 = 2;
const RCODE_REFUSED: u8 = 5;

/// Whether a reply is worth no more than silence (the next upstream may do better).
fn is_failure(reply: &[u8]) -> bool {
    matches!(
        reply.get(3).map(|b| b & 0x0F),
        Some(RCODE_SERVFAIL | RCODE_REFUSED)
    )
}

fn relay(
    upstreams: &[SocketAddr],
    mut one: impl FnMut(SocketAddr) -> Option<Vec<u8>>,
) -> Option<Vec<u8>> {
    let mut fallback = None;
    for &up in upstreams {
        match one(up) {
            Some(reply) if is_failure(&reply) => fallback = Some(reply),
            Some(reply) => return Some(reply),
            None => {}
        }
    }
    fallback
}

/// Relays `query` over UDP; `None` if no upstream answered (or `stop` was set).
pub(crate) fn udp(query: &[u8], upstreams: &[SocketAddr], stop: &AtomicBool) -> Option<Vec<u8>> {
    relay(upstreams, |up| {
        if stop.load(Ordering::Acquire) {
            return None;
        }
        udp_one(query, up, stop).ok().flatten()
    })
}

fn udp_one(query: &[u8], up: SocketAddr, stop: &AtomicBool) -> io::Result<Option<Vec<u8>>> {
    let local: SocketAddr = match up {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let sock = UdpSocket::bind(local)?;
    // Connected: replies from anyone else are filtered out by the kernel, and an ICMP port
    // unreachable comes back as ECONNREFUSED, moving on to the next upstream at once.
    sock.connect(up)?;
    sock.send(query)?;
    let deadline = Instant::now() + UPSTREAM_TIMEOUT;
    let mut buf = vec![0u8; 65535];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stop.load(Ordering::Acquire) {
            return Ok(None);
        }
        sock.set_read_timeout(Some(left.min(SLICE)))?;
        match sock.recv(&mut buf) {
            Ok(n) if wire::is_reply_to(query, &buf[..n]) => return Ok(Some(buf[..n].to_vec())),
            Ok(_) => {}
            Err(e) if super::server::is_timeout(&e) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Relays `query` over TCP (length-prefixed, RFC 1035 4.2.2); `None` if no upstream answered.
pub(crate) fn tcp(query: &[u8], upstreams: &[SocketAddr]) -> Option<Vec<u8>> {
    relay(upstreams, |up| tcp_one(query, up).ok())
}

fn remaining(deadline: Instant) -> io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "upstream timed out",
        ));
    }
    Ok(left)
}

fn tcp_one(query: &[u8], up: SocketAddr) -> io::Result<Vec<u8>> {
    let deadline = Instant::now() + UPSTREAM_TIMEOUT;
    let len =
        u16::try_from(query.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut stream = TcpStream::connect_timeout(&up, UPSTREAM_TIMEOUT)?;
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(remaining(deadline)?))?;
    let mut msg = Vec::with_capacity(query.len() + 2);
    msg.extend_from_slice(&len.to_be_bytes());
    msg.extend_from_slice(query);
    stream.write_all(&msg)?;
    let mut len = [0u8; 2];
    read_exact_by(&mut stream, &mut len, deadline)?;
    let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
    read_exact_by(&mut stream, &mut reply, deadline)?;
    if !wire::is_reply_to(query, &reply) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "upstream reply does not match",
        ));
    }
    Ok(reply)
}

fn read_exact_by(stream: &mut TcpStream, mut buf: &mut [u8], deadline: Instant) -> io::Result<()> {
    while !buf.is_empty() {
        stream.set_read_timeout(Some(remaining(deadline)?))?;
        match stream.read(buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => buf = &mut buf[n..],
            Err(e) if super::server::is_timeout(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
