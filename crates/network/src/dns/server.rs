//! The server: one UDP socket and one TCP listener on the same address, each served by its own
//! std thread, plus short-lived threads for what has to wait on an upstream.
//!
//! Why threads and blocking sockets: the rest of the crate (and the engine) is synchronous, a
//! container network sees a handful of queries a second, and a blocking loop is easy to stop —
//! [`DnsServer::stop`] sets a flag and shuts the sockets down, which wakes the blocked
//! `recvfrom`/`accept` at once (the read timeout is only a backstop). Queries the server
//! answers itself never wait on anything; a forwarded query gets its own thread, so one slow
//! upstream holds up only the queries that went to it.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::sys::socket::{shutdown, Shutdown};

use super::forward;
use super::tcp;
use super::wire::{self, Answer, Query, Rcode, WireError};

/// Forwarded UDP queries allowed in flight at once; beyond that the answer is SERVFAIL at once
/// rather than another thread.
const MAX_FORWARDS: usize = 128;
/// Backstop for the UDP loop's blocking read; [`DnsServer::stop`] normally wakes it sooner.
const READ_TIMEOUT: Duration = Duration::from_secs(1);

/// The names the server answers itself: the containers of one network.
///
/// Called on the server's threads, so it must be cheap and never block for long (a map
/// behind a lock is the expected implementation).
pub trait Resolve: Send + Sync {
    /// The addresses of `name` (lower case, no trailing dot), or `None` if the name is not a
    /// container of this network (then the query goes upstream).
    fn resolve(&self, name: &str) -> Option<Vec<Ipv4Addr>>;

    /// The name of the container with address `ip`, for PTR queries; `None` sends the query
    /// upstream.
    fn reverse(&self, ip: Ipv4Addr) -> Option<String> {
        let _ = ip;
        None
    }
}

/// What the loop does with one message.
pub(crate) enum Action {
    /// Send this back.
    Reply(Vec<u8>),
    /// Relay the raw message upstream; the parsed query is kept to build a SERVFAIL.
    Forward(Query),
    /// Say nothing (no header to answer, or a response).
    Drop,
}

/// State shared by the server's threads.
pub(crate) struct Shared {
    pub(crate) stop: AtomicBool,
    pub(crate) resolver: Arc<dyn Resolve>,
    pub(crate) upstreams: Vec<SocketAddr>,
    /// UDP forwards in flight (they hold the UDP socket).
    forwarding: AtomicUsize,
    /// TCP connections being served.
    pub(crate) tcp_conns: AtomicUsize,
}

impl Shared {
    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}

/// Decides what to do with one message; `max_len` bounds the answers the server writes itself.
pub(crate) fn handle(msg: &[u8], shared: &Shared, max_len: usize) -> Action {
    let query = match wire::parse_query(msg) {
        Ok(q) => q,
        Err(WireError::Short | WireError::NotQuery) => return Action::Drop,
        Err(WireError::NotImplemented(_)) => return error(msg, Rcode::NotImp),
        Err(WireError::Malformed(_)) => return error(msg, Rcode::FormErr),
    };
    let q = &query.question;
    if q.qclass == wire::CLASS_IN || q.qclass == wire::CLASS_ANY {
        if q.qtype == wire::TYPE_PTR {
            if let Some(host) = wire::reverse_ip(&q.name).and_then(|ip| shared.resolver.reverse(ip))
            {
                if wire::encode_name(&host).is_some() {
                    let answers = [Answer::Ptr(host)];
                    return Action::Reply(wire::response(
                        &query,
                        Rcode::NoError,
                        &answers,
                        max_len,
                    ));
                }
            }
        } else if let Some(ips) = shared.resolver.resolve(&q.name) {
            let answers: Vec<Answer> = if q.qtype == wire::TYPE_A || q.qtype == wire::TYPE_ANY {
                ips.into_iter().map(Answer::A).collect()
            } else {
                Vec::new()
            };
            return Action::Reply(wire::response(&query, Rcode::NoError, &answers, max_len));
        }
    }
    // Like Docker: a short name that is not a container never leaves the host.
    if !q.name.is_empty() && !q.name.contains('.') {
        return Action::Reply(wire::response(&query, Rcode::NxDomain, &[], max_len));
    }
    if shared.upstreams.is_empty() {
        return Action::Reply(wire::response(&query, Rcode::ServFail, &[], max_len));
    }
    Action::Forward(query)
}

fn error(msg: &[u8], rcode: Rcode) -> Action {
    wire::error_response(msg, rcode).map_or(Action::Drop, Action::Reply)
}

/// An embedded DNS server for one network, running until [`DnsServer::stop`] or drop.
pub struct DnsServer {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    udp: Option<Arc<UdpSocket>>,
    tcp: Option<Arc<TcpListener>>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for DnsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsServer")
            .field("local_addr", &self.local_addr)
            .field("upstreams", &self.shared.upstreams)
            .field("running", &!self.threads.is_empty())
            .finish()
    }
}

impl DnsServer {
    /// Binds UDP and TCP on `bind` (port 0 picks one port free for both) and starts serving:
    /// names `resolver` knows are answered, other qualified names are relayed to `upstreams`
    /// in order (an upstream equal to the server's own address is left out).
    pub fn start(
        bind: SocketAddr,
        resolver: Arc<dyn Resolve>,
        upstreams: Vec<SocketAddr>,
    ) -> io::Result<DnsServer> {
        let (udp, tcp) = bind_both(bind)?;
        let local_addr = udp.local_addr()?;
        udp.set_read_timeout(Some(READ_TIMEOUT))?;
        let upstreams = upstreams
            .into_iter()
            .filter(|u| !same_endpoint(*u, local_addr))
            .collect();
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            resolver,
            upstreams,
            forwarding: AtomicUsize::new(0),
            tcp_conns: AtomicUsize::new(0),
        });
        let udp = Arc::new(udp);
        let tcp = Arc::new(tcp);
        let mut server = DnsServer {
            local_addr,
            shared: shared.clone(),
            udp: Some(udp.clone()),
            tcp: Some(tcp.clone()),
            threads: Vec::new(),
        };
        let s = shared.clone();
        let t = thread::Builder::new()
            .name("berth-dns-udp".into())
            .spawn(move || udp_loop(&udp, &s))?;
        server.threads.push(t);
        let t = thread::Builder::new()
            .name("berth-dns-tcp".into())
            .spawn(move || tcp::accept_loop(&tcp, &shared))?;
        server.threads.push(t);
        Ok(server)
    }

    /// The address served (with the port actually bound).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops serving and closes both sockets; returns once the threads are gone (forwards in
    /// flight notice within ~100 ms). Idempotent; drop calls it.
    pub fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        // Shutting the read side down wakes a blocked recvfrom/accept (on Linux even for an
        // unconnected UDP socket, which reports ENOTCONN but still wakes its readers).
        if let Some(udp) = &self.udp {
            let _ = shutdown(udp.as_raw_fd(), Shutdown::Read);
        }
        if let Some(tcp) = &self.tcp {
            let _ = shutdown(tcp.as_raw_fd(), Shutdown::Read);
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let deadline = Instant::now() + forward::UPSTREAM_TIMEOUT;
        while self.shared.forwarding.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        self.udp = None;
        self.tcp = None;
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn same_endpoint(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port() && (a.ip() == b.ip() || b.ip().is_unspecified())
}

/// UDP and TCP on one address; with port 0, retries until a port is free for both.
fn bind_both(bind: SocketAddr) -> io::Result<(UdpSocket, TcpListener)> {
    let mut tries = 0;
    loop {
        let udp = UdpSocket::bind(bind)?;
        match TcpListener::bind(udp.local_addr()?) {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if bind.port() == 0 && e.kind() == io::ErrorKind::AddrInUse && tries < 16 => {
                tries += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

fn udp_loop(sock: &Arc<UdpSocket>, shared: &Arc<Shared>) {
    let mut buf = vec![0u8; 65535];
    while !shared.stopping() {
        let (n, peer) = match sock.recv_from(&mut buf) {
            Ok(got) => got,
            Err(e) if is_timeout(&e) => continue,
            Err(_) => {
                // ENOMEM and the like: do not spin.
                if !shared.stopping() {
                    thread::sleep(Duration::from_millis(10));
                }
                continue;
            }
        };
        if shared.stopping() {
            break;
        }
        match handle(&buf[..n], shared, wire::UDP_MAX) {
            Action::Reply(reply) => {
                let _ = sock.send_to(&reply, peer);
            }
            Action::Forward(query) => forward_async(sock, shared, buf[..n].to_vec(), query, peer),
            Action::Drop => {}
        }
    }
}

/// Whether a read error only means "nothing yet".
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// Decrements the in-flight count when a forward ends, however it ends.
struct InFlight(Arc<Shared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.forwarding.fetch_sub(1, Ordering::AcqRel);
    }
}

fn forward_async(
    sock: &Arc<UdpSocket>,
    shared: &Arc<Shared>,
    raw: Vec<u8>,
    query: Query,
    peer: SocketAddr,
) {
    let servfail = wire::response(&query, Rcode::ServFail, &[], wire::UDP_MAX);
    if shared.forwarding.fetch_add(1, Ordering::AcqRel) >= MAX_FORWARDS {
        shared.forwarding.fetch_sub(1, Ordering::AcqRel);
        let _ = sock.send_to(&servfail, peer);
        return;
    }
    let guard = InFlight(shared.clone());
    let sock2 = sock.clone();
    let spawned = thread::Builder::new()
        .name("berth-dns-fwd".into())
        .spawn(move || {
            let reply = forward::udp(&raw, &guard.0.upstreams, &guard.0.stop).unwrap_or(servfail);
            if !guard.0.stopping() {
                let _ = sock2.send_to(&reply, peer);
            }
            drop(guard);
        });
    if spawned.is_err() {
        // The closure (and its guard) was dropped; answer now.
        let fail = wire::response(&query, Rcode::ServFail, &[], wire::UDP_MAX);
        let _ = sock.send_to(&fail, peer);
    }
}

/// The nameservers of a resolv.conf text as upstreams (port 53), in order, without duplicates.
/// Addresses with an IPv6 zone (`fe80::1%eth0`) are skipped.
pub fn upstreams_from_resolv_conf(text: &str) -> Vec<SocketAddr> {
    let mut out: Vec<SocketAddr> = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        if fields.next() != Some("nameserver") {
            continue;
        }
        let Some(Ok(ip)) = fields.next().map(str::parse::<IpAddr>) else {
            continue;
        };
        let addr = SocketAddr::new(ip, 53);
        if !out.contains(&addr) {
            out.push(addr);
        }
    }
    out
}
