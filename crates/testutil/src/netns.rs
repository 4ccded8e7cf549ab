//! A private network namespace per test: a daemon started in it makes its bridges, addresses
//! and nftables table there, so tests running side by side never share a bridge, a subnet or
//! a table, nothing touches the host's network, and everything goes when the namespace does.
//!
//! It has loopback up and one more address, [`TestNet::HOST_ADDR`] on `lo`, standing for "the
//! host's address" (published ports must answer on it as on 127.0.0.1).

use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use berth_network::netlink::{Ipv4Net, Netlink};
use berth_network::netns::{self, NetNs};

/// A private network namespace, deleted on drop.
#[derive(Debug)]
pub struct TestNet {
    ns: Option<NetNs>,
    dir: tempfile::TempDir,
}

impl TestNet {
    /// The non-loopback address the namespace has (TEST-NET-1, never routed anywhere).
    pub const HOST_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);

    /// A new namespace with `lo` up and [`TestNet::HOST_ADDR`].
    pub fn new() -> TestNet {
        let dir = tempfile::tempdir().expect("tempdir for the namespace");
        let ns = NetNs::create(dir.path(), "net").expect("creating a network namespace");
        let mut nl = Netlink::new_in(ns.file()).expect("rtnetlink in the namespace");
        nl.set_up("lo").expect("lo up");
        nl.add_address("lo", Ipv4Net::new(Self::HOST_ADDR, 32).expect("prefix"))
            .expect("host address on lo");
        TestNet { ns: Some(ns), dir }
    }

    /// The nsfs file (for `nsenter --net=…`).
    pub fn path(&self) -> &Path {
        self.ns().path()
    }

    fn ns(&self) -> &NetNs {
        self.ns.as_ref().expect("namespace alive")
    }

    /// Makes `cmd` start inside the namespace (setns between fork and exec).
    pub fn enter(&self, cmd: &mut Command) {
        let fd: RawFd = self.ns().file().as_raw_fd();
        // SAFETY: setns is async-signal-safe; `fd` stays open in the child until exec (the
        // namespace outlives the spawn: the caller holds `self`).
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }

    /// Runs `f` on a thread inside the namespace (to connect to published ports).
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        self.ns().run(f).expect("entering the test namespace")
    }

    /// `GET path` over HTTP/1.0 to `addr` from inside the namespace: the trimmed body, or
    /// `None` when nothing (or no HTTP answer) came back within a few seconds.
    pub fn http_body(&self, addr: std::net::SocketAddr, path: &str) -> Option<String> {
        use std::io::{Read, Write};
        use std::time::Duration;
        let request = format!("GET {path} HTTP/1.0\r\n\r\n");
        self.run(move || {
            let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
            s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
            s.write_all(request.as_bytes()).ok()?;
            let mut raw = String::new();
            s.read_to_string(&mut raw).ok()?;
            raw.split_once("\r\n\r\n")
                .map(|(_, b)| b.trim().to_string())
        })
    }
}

impl Default for TestNet {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        if let Some(ns) = self.ns.take() {
            let _ = ns.delete();
        }
        let _ = netns::release_dir(self.dir.path());
    }
}
