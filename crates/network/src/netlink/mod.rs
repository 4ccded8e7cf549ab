//! A synchronous rtnetlink handle: one `NETLINK_ROUTE` socket, one request at a time.
//!
//! Why synchronous: the engine is synchronous and a network setup is a handful of
//! request/acknowledge round trips that each take microseconds; an async runtime would buy
//! nothing here (netavark's `Socket<P>` made the same choice over the same crates). Why netlink
//! and not `ip`: no fork/exec on the container start path, and errors come back as errnos we
//! can classify instead of text we would have to parse.
//!
//! Messages are built and parsed by `netlink-packet-route`; this module only numbers them,
//! sends them, and matches the kernel's acknowledgement (or dump) to the request by sequence
//! number. Every failure is an [`io::Error`] whose kind comes from the errno and whose message
//! names the operation: `creating bridge br-x: File exists`. [`errno`] recovers the errno.
//!
//! A socket belongs to the network namespace it was opened in, for its whole life.
//! [`Netlink::new_in`] opens one inside a namespace (on a short-lived thread that enters it),
//! after which every call on the handle acts inside that namespace without further `setns`.

mod addr;
mod bridge_port;
mod link;

use std::fmt;
use std::io;
use std::os::fd::AsFd;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

pub use addr::{Ipv4Net, LinkAddress};
pub use link::{container_mac, format_mac, LinkDetails};

/// A connection to the kernel's routing netlink in one network namespace.
#[derive(Debug)]
pub struct Netlink {
    socket: Socket,
    seq: u32,
}

impl Netlink {
    /// Opens a handle in the calling thread's network namespace.
    pub fn new() -> io::Result<Self> {
        let ctx = |e: io::Error| with_op("opening a NETLINK_ROUTE socket", e);
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(ctx)?;
        socket.bind_auto().map_err(ctx)?;
        socket.connect(&SocketAddr::new(0, 0)).map_err(ctx)?;
        // Extended acks are a nicety: the kernel says more, we still report the errno.
        let _ = socket.set_ext_ack(true);
        Ok(Netlink { socket, seq: 0 })
    }

    /// Opens a handle inside the network namespace `netns` (an open nsfs file, e.g. from
    /// [`crate::netns::NetNs::file`]). The socket keeps acting in that namespace afterwards.
    pub fn new_in(netns: impl AsFd) -> io::Result<Self> {
        crate::netns::run_in_fd(netns.as_fd(), Netlink::new)?
    }

    /// Sends `msg` with `flags` (plus `NLM_F_REQUEST | NLM_F_ACK`) and waits for the kernel's
    /// acknowledgement. `op` names the operation in the error.
    fn request(&mut self, msg: RouteNetlinkMessage, flags: u16, op: &str) -> io::Result<()> {
        self.exchange(msg, flags | NLM_F_REQUEST | NLM_F_ACK, op)
            .map(drop)
    }

    /// Sends a `GET` for one object and returns the kernel's answer(s).
    fn get(&mut self, msg: RouteNetlinkMessage, op: &str) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.exchange(msg, NLM_F_REQUEST | NLM_F_ACK, op)
    }

    /// Sends a dump request and collects every reply until `NLMSG_DONE`.
    fn dump(&mut self, msg: RouteNetlinkMessage, op: &str) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.exchange(msg, NLM_F_REQUEST | NLM_F_DUMP, op)
    }

    /// One round trip: collects the replies to this request (by sequence number) until the
    /// acknowledgement or `NLMSG_DONE`; a non-zero error code becomes the error.
    fn exchange(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
        op: &str,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        let seq = self.send(msg, flags, op)?;
        let mut out = Vec::new();
        loop {
            for reply in self.recv(op)? {
                if reply.header.sequence_number != seq {
                    continue;
                }
                match reply.payload {
                    NetlinkPayload::InnerMessage(m) => out.push(m),
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::Error(e) => match e.code {
                        None => return Ok(out),
                        Some(code) => return Err(errno_error(op, -code.get())),
                    },
                    _ => {}
                }
            }
        }
    }

    fn send(&mut self, msg: RouteNetlinkMessage, flags: u16, op: &str) -> io::Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        packet.finalize();
        let mut buf = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut buf);
        self.socket
            .send(&buf, 0)
            .map_err(|e| with_op(&format!("{op}: sending the request"), e))?;
        Ok(self.seq)
    }

    /// Reads one datagram and splits it into its netlink messages.
    fn recv(&mut self, op: &str) -> io::Result<Vec<NetlinkMessage<RouteNetlinkMessage>>> {
        let (buf, _) = loop {
            match self.socket.recv_from_full() {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r.map_err(|e| with_op(&format!("{op}: reading the reply"), e))?,
            }
        };
        let mut out = Vec::new();
        let mut rest = &buf[..];
        while rest.len() >= 16 {
            let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            if len < 16 || len > rest.len() {
                break;
            }
            let msg =
                NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rest[..len]).map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        OpError::new(op, format!("undecodable netlink reply: {e}"), None),
                    )
                })?;
            out.push(msg);
            // Messages are aligned on 4 bytes.
            let step = (len + 3) & !3;
            rest = &rest[step.min(rest.len())..];
        }
        Ok(out)
    }
}

/// The error payload inside every [`io::Error`] this crate returns: the operation and what
/// went wrong, plus the errno when the kernel gave one.
#[derive(Debug)]
pub struct OpError {
    op: String,
    msg: String,
    errno: Option<i32>,
}

impl OpError {
    fn new(op: &str, msg: String, errno: Option<i32>) -> Self {
        OpError {
            op: op.to_string(),
            msg,
            errno,
        }
    }

    /// The operation that failed, e.g. `creating bridge br-x`.
    pub fn op(&self) -> &str {
        &self.op
    }

    /// The errno, when the failure came from the kernel.
    pub fn errno(&self) -> Option<i32> {
        self.errno
    }
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.op, self.msg)
    }
}

impl std::error::Error for OpError {}

/// The errno behind an error from this crate (or a plain OS error), if there is one.
pub fn errno(err: &io::Error) -> Option<i32> {
    err.raw_os_error().or_else(|| {
        err.get_ref()
            .and_then(|e| e.downcast_ref::<OpError>())
            .and_then(OpError::errno)
    })
}

/// `strerror` without std's " (os error N)" suffix.
fn strerror(errno: i32) -> String {
    let s = io::Error::from_raw_os_error(errno).to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// An error for `errno` returned by the kernel during `op`.
pub(crate) fn errno_error(op: &str, errno: i32) -> io::Error {
    let kind = io::Error::from_raw_os_error(errno).kind();
    io::Error::new(kind, OpError::new(op, strerror(errno), Some(errno)))
}

/// Puts `op` in front of an existing I/O error, keeping its kind and errno.
pub(crate) fn with_op(op: &str, e: io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(errno) => errno_error(op, errno),
        None => io::Error::new(e.kind(), OpError::new(op, e.to_string(), errno(&e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_operation_and_keeps_errno() {
        let e = errno_error("creating bridge br-x", libc::EEXIST);
        assert_eq!(e.to_string(), "creating bridge br-x: File exists");
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(errno(&e), Some(libc::EEXIST));
        let outer = with_op("setting up", e);
        assert_eq!(errno(&outer), Some(libc::EEXIST));
    }

    #[test]
    fn handle_can_move_between_threads() {
        fn assert_send<T: Send>() {}
        assert_send::<Netlink>();
    }
}
