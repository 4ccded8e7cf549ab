//! One held host port: a bound socket, or for SCTP without kernel support an entry in a
//! process-wide table.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::OwnedFd;
use std::sync::Mutex;

use nix::errno::Errno;
use std::os::fd::AsRawFd;

use nix::sys::socket::{
    listen, setsockopt, socket, sockopt, AddressFamily, Backlog, SockFlag, SockProtocol, SockType,
};

use super::{allocated, PortError};
use crate::firewall::Proto;

/// A held port; released on drop.
#[derive(Debug)]
pub(super) struct Held {
    proto: Proto,
    ip: Option<Ipv4Addr>,
    port: u16,
    how: How,
}

#[derive(Debug)]
enum How {
    /// Closing the socket frees the port.
    Socket(#[allow(dead_code)] OwnedFd),
    /// SCTP when the kernel has no SCTP: the key in [`SCTP_TABLE`].
    Table(Option<Ipv4Addr>),
}

/// SCTP ports held without a socket: (address, port), `None` for every address.
static SCTP_TABLE: Mutex<BTreeSet<(Option<Ipv4Addr>, u16)>> = Mutex::new(BTreeSet::new());

impl Held {
    /// The host port (the kernel's pick when 0 was asked for).
    pub(super) fn port(&self) -> u16 {
        self.port
    }

    /// Makes a held TCP port exclusive: `listen`, once the firewall sends the port's traffic
    /// to the container. Before that, a connection would sit in this socket's backlog,
    /// never accepted, until the client times out; once DNAT is in place nothing reaches it.
    /// Idempotent; no-op for UDP and SCTP.
    pub(super) fn listen(&self) -> Result<(), PortError> {
        let How::Socket(fd) = &self.how else {
            return Ok(());
        };
        if self.proto != Proto::Tcp {
            return Ok(());
        }
        let io = |e: Errno| PortError::Io {
            what: format!("listening on port {}/tcp", self.port),
            source: std::io::Error::from(e),
        };
        match listen(fd, Backlog::new(1).map_err(io)?) {
            Ok(()) => Ok(()),
            Err(Errno::EADDRINUSE) => Err(allocated(self.ip, &self.port.to_string())),
            Err(e) => Err(io(e)),
        }
    }

    /// Whether `m` publishes this held port.
    pub(super) fn serves(&self, m: &crate::firewall::PortMapping) -> bool {
        m.publishes(self.proto, self.ip, self.port)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let How::Table(ip) = self.how {
            let mut t = SCTP_TABLE.lock().unwrap_or_else(|e| e.into_inner());
            t.remove(&(ip, self.port));
        }
    }
}

/// Binds `(ip or 0.0.0.0):port` for `proto`; port 0 lets the kernel pick.
pub(super) fn bind(proto: Proto, ip: Option<Ipv4Addr>, port: u16) -> Result<Held, PortError> {
    let (ty, protocol) = match proto {
        Proto::Tcp => (SockType::Stream, SockProtocol::Tcp),
        Proto::Udp => (SockType::Datagram, SockProtocol::Udp),
        Proto::Sctp => (SockType::Stream, SockProtocol::Sctp),
    };
    let addr = SocketAddrV4::new(ip.unwrap_or(Ipv4Addr::UNSPECIFIED), port);
    let io = |e: Errno| PortError::Io {
        what: format!("{addr}/{}", super::proto_name(proto)),
        source: std::io::Error::from(e),
    };
    let fd = match socket(AddressFamily::Inet, ty, SockFlag::SOCK_CLOEXEC, protocol) {
        Ok(fd) => fd,
        Err(Errno::EPROTONOSUPPORT | Errno::ESOCKTNOSUPPORT) if proto == Proto::Sctp => {
            return hold_in_table(ip, port);
        }
        Err(e) => return Err(io(e)),
    };
    // TCP: SO_REUSEADDR so that connections of an earlier server still in TIME_WAIT do not
    // block the port (as with docker-proxy, a Go listener), and [`Held::listen`] later so
    // that the port is exclusively ours all the same: two *listening* sockets never share a
    // port, while two bound-but-idle SO_REUSEADDR ones could.
    if proto == Proto::Tcp {
        setsockopt(&fd, sockopt::ReuseAddr, &true).map_err(io)?;
    }
    match bind_v4(&fd, addr) {
        Ok(()) => {}
        Err(Errno::EADDRINUSE) => return Err(allocated(ip, &port.to_string())),
        Err(e) => return Err(io(e)),
    }
    let port = match port {
        0 => bound_port(&fd).map_err(io)?,
        p => p,
    };
    Ok(Held {
        proto,
        ip,
        port,
        how: How::Socket(fd),
    })
}

/// `bind(2)` to an IPv4 address (nix's socket addresses need a feature berth does not enable).
fn bind_v4(fd: &OwnedFd, addr: SocketAddrV4) -> Result<(), Errno> {
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: addr.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*addr.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: `sin` is a valid, initialised sockaddr_in of `len` bytes that outlives the call,
    // and `fd` is an open socket.
    let r = unsafe { libc::bind(fd.as_raw_fd(), (&raw const sin).cast(), len) };
    Errno::result(r).map(drop)
}

/// The local port of a bound IPv4 socket (`getsockname(2)`).
fn bound_port(fd: &OwnedFd) -> Result<u16, Errno> {
    let mut sin = libc::sockaddr_in {
        sin_family: 0,
        sin_port: 0,
        sin_addr: libc::in_addr { s_addr: 0 },
        sin_zero: [0; 8],
    };
    let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: `sin` and `len` are valid for writes and describe a buffer of `len` bytes.
    let r = unsafe { libc::getsockname(fd.as_raw_fd(), (&raw mut sin).cast(), &mut len) };
    Errno::result(r)?;
    Ok(u16::from_be(sin.sin_port))
}

/// The table's rule: a port is taken when held on the same address or on every address.
fn hold_in_table(ip: Option<Ipv4Addr>, port: u16) -> Result<Held, PortError> {
    let mut t = SCTP_TABLE.lock().unwrap_or_else(|e| e.into_inner());
    let taken = |p: u16| {
        t.iter()
            .any(|&(i, q)| q == p && (i.is_none() || ip.is_none() || i == ip))
    };
    let port = match port {
        0 => {
            let (lo, hi) = local_port_range();
            let span = u32::from(hi - lo) + 1;
            let seed = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            (0..span)
                .map(|i| lo + ((seed + i) % span) as u16)
                .find(|p| !taken(*p))
                .ok_or_else(|| allocated(ip, &format!("{lo}-{hi}")))?
        }
        p if taken(p) => return Err(allocated(ip, &p.to_string())),
        p => p,
    };
    t.insert((ip, port));
    Ok(Held {
        proto: Proto::Sctp,
        ip,
        port,
        how: How::Table(ip),
    })
}

/// `net.ipv4.ip_local_port_range`, or the kernel's default when unreadable.
pub(super) fn local_port_range() -> (u16, u16) {
    let text =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let mut it = text
        .split_whitespace()
        .filter_map(|s| s.parse::<u16>().ok());
    match (it.next(), it.next()) {
        (Some(lo), Some(hi)) if 0 < lo && lo <= hi => (lo, hi),
        _ => (32768, 60999),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sctp_table_conflicts_and_releases() {
        let ip = Some(Ipv4Addr::new(127, 0, 0, 1));
        let a = hold_in_table(ip, 39_001).unwrap();
        let err = hold_in_table(None, 39_001).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Bind for 0.0.0.0:39001 failed: port is already allocated"
        );
        let other = hold_in_table(Some(Ipv4Addr::new(127, 0, 0, 2)), 39_001).unwrap();
        drop((a, other));
        let again = hold_in_table(None, 39_001).unwrap();
        let random = hold_in_table(None, 0).unwrap();
        let (lo, hi) = local_port_range();
        assert!((lo..=hi).contains(&random.port()));
        drop((again, random));
    }
}
