//! The parent↔child conversation during create and exec, over a SOCK_SEQPACKET socketpair.
//!
//! One message per packet, first byte the tag. The child never blocks the parent forever: if
//! it dies, the parent reads EOF; if the parent dies, the child reads EOF and exits.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};

use crate::error::{Result, RuntimeError};

/// A message between the runtime (parent) and the child it cloned.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Msg {
    /// Parent → child: id maps written (or hooks done): carry on.
    Go,
    /// Parent → child: you are in your cgroup now. Sent after `Go`, so the child's setup runs
    /// while the kernel migrates it (the first cgroup migration waits for an RCU grace period:
    /// milliseconds, most of a container start); the child waits for it only where it matters.
    Cgroup,
    /// Child → parent: namespaces exist, run the prestart/createRuntime hooks now.
    Hooks,
    /// Child → parent: everything is set up; waiting for start.
    Ready,
    /// Parent → child: exec the user process now (run/exec, where there is no fifo).
    Start,
    /// Child → parent: setup failed, with the reason.
    Error(String),
    /// Child → parent: the pty master for the parent to proxy (fd travels alongside).
    Pty,
}

/// Creates the pair: (parent end, child end). Both close-on-exec.
pub(crate) fn pair() -> Result<(OwnedFd, OwnedFd)> {
    socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| RuntimeError::sys("socketpair", e))
}

pub(crate) fn send(fd: RawFd, msg: &Msg) -> Result<()> {
    send_with_fd(fd, msg, None)
}

pub(crate) fn send_with_fd(fd: RawFd, msg: &Msg, pass: Option<RawFd>) -> Result<()> {
    let mut buf = Vec::with_capacity(16);
    match msg {
        Msg::Go => buf.push(b'G'),
        Msg::Cgroup => buf.push(b'C'),
        Msg::Hooks => buf.push(b'H'),
        Msg::Ready => buf.push(b'R'),
        Msg::Start => buf.push(b'S'),
        Msg::Pty => buf.push(b'P'),
        Msg::Error(s) => {
            buf.push(b'E');
            buf.extend_from_slice(s.as_bytes());
        }
    }
    let iov = [std::io::IoSlice::new(&buf)];
    let fds;
    let cmsg: Vec<ControlMessage<'_>> = match pass {
        Some(f) => {
            fds = [f];
            vec![ControlMessage::ScmRights(&fds)]
        }
        None => vec![],
    };
    sendmsg::<()>(fd, &iov, &cmsg, MsgFlags::MSG_NOSIGNAL, None)
        .map_err(|e| RuntimeError::sys("send to peer", e))?;
    Ok(())
}

/// Receives one message; `None` on EOF (the peer exited).
pub(crate) fn recv(fd: RawFd) -> Result<Option<(Msg, Option<OwnedFd>)>> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let (n, passed) = loop {
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        match recvmsg::<()>(fd, &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC) {
            Ok(r) => {
                let mut passed = None;
                if let Ok(cms) = r.cmsgs() {
                    for c in cms {
                        if let ControlMessageOwned::ScmRights(fds) = c {
                            // SAFETY: the kernel installed these fds in our table for us.
                            passed = fds.first().map(|f| unsafe { OwnedFd::from_raw_fd(*f) });
                        }
                    }
                }
                break (r.bytes, passed);
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(RuntimeError::sys("receive from peer", e)),
        }
    };
    if n == 0 {
        return Ok(None);
    }
    let msg = match buf[0] {
        b'G' => Msg::Go,
        b'C' => Msg::Cgroup,
        b'H' => Msg::Hooks,
        b'R' => Msg::Ready,
        b'S' => Msg::Start,
        b'P' => Msg::Pty,
        b'E' => Msg::Error(String::from_utf8_lossy(&buf[1..n]).into_owned()),
        other => {
            return Err(RuntimeError::Init(format!(
                "unexpected sync message {other:#x}"
            )))
        }
    };
    Ok(Some((msg, passed)))
}

/// The child's end: like [`expect`], but a `Cgroup` message may arrive between any two others
/// and is remembered.
#[derive(Debug)]
pub(crate) struct ParentLink<'a> {
    fd: &'a OwnedFd,
    in_cgroup: std::cell::Cell<bool>,
}

impl<'a> ParentLink<'a> {
    pub(crate) fn new(fd: &'a OwnedFd) -> Self {
        ParentLink {
            fd,
            in_cgroup: std::cell::Cell::new(false),
        }
    }

    /// Waits for `want`, noting a `Cgroup` message on the way.
    pub(crate) fn expect(&self, want: Msg) -> Result<()> {
        loop {
            match recv(self.fd.as_raw_fd())? {
                Some((Msg::Cgroup, _)) if want != Msg::Cgroup => self.in_cgroup.set(true),
                Some((m, _)) if m == want => {
                    if m == Msg::Cgroup {
                        self.in_cgroup.set(true);
                    }
                    return Ok(());
                }
                Some((Msg::Error(e), _)) => return Err(RuntimeError::Init(e)),
                Some((m, _)) => {
                    return Err(RuntimeError::Init(format!("expected {want:?}, got {m:?}")))
                }
                None => return Err(RuntimeError::Init("the runtime exited during setup".into())),
            }
        }
    }

    /// Returns once the parent has moved us into our cgroup.
    pub(crate) fn wait_cgroup(&self) -> Result<()> {
        if self.in_cgroup.get() {
            return Ok(());
        }
        self.expect(Msg::Cgroup)
    }
}
