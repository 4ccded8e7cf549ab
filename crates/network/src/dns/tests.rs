//! Server tests: everything on 127.0.0.1, upstreams included (a second [`DnsServer`] or a
//! socket that never answers). No packet ever leaves loopback.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::wire::{TYPE_A, TYPE_AAAA, TYPE_PTR};
use super::{upstreams_from_resolv_conf, DnsServer, Resolve};

/// A standard query (RD set, class IN) for `name`.
pub(crate) fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&[0, 1]);
    m
}

/// The parts of a response the tests look at.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) id: u16,
    pub(crate) flags: u16,
    pub(crate) rcode: u8,
    /// (type, ttl, rdata) of each answer.
    pub(crate) answers: Vec<(u16, u32, Vec<u8>)>,
}

fn skip_name(m: &[u8], mut i: usize) -> usize {
    loop {
        let len = m[i] as usize;
        if len == 0 {
            return i + 1;
        }
        if len & 0xC0 == 0xC0 {
            return i + 2;
        }
        i += len + 1;
    }
}

/// Parses a (trusted) response; panics on anything odd, which fails the test.
pub(crate) fn parse_reply(m: &[u8]) -> Reply {
    let be = |i: usize| u16::from_be_bytes([m[i], m[i + 1]]);
    let (qd, an) = (be(4), be(6));
    let mut i = 12;
    for _ in 0..qd {
        i = skip_name(m, i) + 4;
    }
    let mut answers = Vec::new();
    for _ in 0..an {
        i = skip_name(m, i);
        let ttl = u32::from_be_bytes([m[i + 4], m[i + 5], m[i + 6], m[i + 7]]);
        let len = be(i + 8) as usize;
        answers.push((be(i), ttl, m[i + 10..i + 10 + len].to_vec()));
        i += 10 + len;
    }
    Reply {
        id: be(0),
        flags: be(2),
        rcode: m[3] & 0x0F,
        answers,
    }
}

struct Map(HashMap<String, Vec<Ipv4Addr>>);

impl Resolve for Map {
    fn resolve(&self, name: &str) -> Option<Vec<Ipv4Addr>> {
        self.0.get(name).cloned()
    }
    fn reverse(&self, ip: Ipv4Addr) -> Option<String> {
        self.0
            .iter()
            .find(|(_, ips)| ips.contains(&ip))
            .map(|(n, _)| format!("{n}.net"))
    }
}

fn resolver(entries: &[(&str, &[Ipv4Addr])]) -> Arc<dyn Resolve> {
    Arc::new(Map(entries
        .iter()
        .map(|(n, ips)| (n.to_string(), ips.to_vec()))
        .collect()))
}

fn loopback() -> SocketAddr {
    (Ipv4Addr::LOCALHOST, 0).into()
}

fn server(entries: &[(&str, &[Ipv4Addr])], upstreams: Vec<SocketAddr>) -> DnsServer {
    DnsServer::start(loopback(), resolver(entries), upstreams).unwrap()
}

/// Sends `packet` over UDP and waits up to 5 s for a reply.
fn ask_raw(to: SocketAddr, packet: &[u8]) -> Option<Vec<u8>> {
    let sock = UdpSocket::bind(loopback()).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    sock.send_to(packet, to).unwrap();
    let mut buf = vec![0u8; 65535];
    let (n, _) = sock.recv_from(&mut buf).ok()?;
    Some(buf[..n].to_vec())
}

fn ask(to: SocketAddr, name: &str, qtype: u16) -> Reply {
    parse_reply(&ask_raw(to, &query(0x4242, name, qtype)).expect("no reply"))
}

fn ask_tcp(to: SocketAddr, packet: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(to).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut out = (packet.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(packet);
    s.write_all(&out).unwrap();
    let mut len = [0u8; 2];
    s.read_exact(&mut len).unwrap();
    let mut reply = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut reply).unwrap();
    reply
}

const WEB: [Ipv4Addr; 2] = [Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 3)];
const OUTSIDE: [Ipv4Addr; 1] = [Ipv4Addr::new(192, 0, 2, 7)];

fn a_records(r: &Reply) -> Vec<Ipv4Addr> {
    r.answers
        .iter()
        .map(|(t, _, d)| {
            assert_eq!(*t, TYPE_A);
            Ipv4Addr::new(d[0], d[1], d[2], d[3])
        })
        .collect()
}

#[test]
fn answers_known_names_case_insensitively() {
    let s = server(&[("web", &WEB), ("db.local", &WEB[..1])], vec![]);
    let r = ask(s.local_addr(), "web", TYPE_A);
    assert_eq!((r.id, r.rcode), (0x4242, 0));
    assert_eq!(r.flags & 0x8180, 0x8180, "QR, RD and RA");
    assert_eq!(a_records(&r), WEB);
    assert!(r.answers.iter().all(|a| a.1 == 600));
    assert_eq!(a_records(&ask(s.local_addr(), "WeB.", TYPE_A)), WEB);
    assert_eq!(
        a_records(&ask(s.local_addr(), "DB.Local", TYPE_A)),
        &WEB[..1]
    );
    let raw = ask_raw(s.local_addr(), &query(1, "WeB", TYPE_A)).unwrap();
    assert_eq!(
        &raw[12..21],
        &query(1, "WeB", TYPE_A)[12..],
        "question echoed as sent"
    );
}

#[test]
fn known_name_other_types_are_empty_noerror() {
    let s = server(&[("web", &WEB)], vec![]);
    for qtype in [TYPE_AAAA, 15 /* MX */, 16 /* TXT */] {
        let r = ask(s.local_addr(), "web", qtype);
        assert_eq!((r.rcode, r.answers.len()), (0, 0), "type {qtype}");
    }
}

#[test]
fn unknown_short_name_is_nxdomain_and_qualified_is_servfail_without_upstreams() {
    let s = server(&[("web", &WEB)], vec![]);
    assert_eq!(ask(s.local_addr(), "nosuch", TYPE_A).rcode, 3);
    assert_eq!(ask(s.local_addr(), "nosuch", TYPE_AAAA).rcode, 3);
    assert_eq!(ask(s.local_addr(), "no.such", TYPE_A).rcode, 2);
}

#[test]
fn ptr_answers_from_reverse() {
    let s = server(&[("web", &WEB)], vec![]);
    let r = ask(s.local_addr(), "3.0.0.10.in-addr.arpa", TYPE_PTR);
    assert_eq!(r.rcode, 0);
    assert_eq!(
        r.answers,
        vec![(TYPE_PTR, 600, b"\x03web\x03net\x00".to_vec())]
    );
    // Not a container's address, no upstream: SERVFAIL.
    assert_eq!(
        ask(s.local_addr(), "9.9.0.10.in-addr.arpa", TYPE_PTR).rcode,
        2
    );
}

#[test]
fn forwards_unknown_names_to_upstream_unchanged() {
    let up = server(&[("outside.example", &OUTSIDE)], vec![]);
    let s = server(&[("web", &WEB)], vec![up.local_addr()]);
    let packet = query(0x77, "Outside.Example", TYPE_A);
    let relayed = ask_raw(s.local_addr(), &packet).unwrap();
    assert_eq!(relayed, ask_raw(up.local_addr(), &packet).unwrap());
    assert_eq!(a_records(&parse_reply(&relayed)), OUTSIDE);
    // Local names are still answered locally, and an unknown name comes back as the
    // upstream said (NOERROR/NXDOMAIN/...), here SERVFAIL since it has no upstream itself.
    assert_eq!(a_records(&ask(s.local_addr(), "web", TYPE_A)), WEB);
    assert_eq!(ask(s.local_addr(), "nope.example", TYPE_A).rcode, 2);
    // Over TCP as well.
    let r = parse_reply(&ask_tcp(s.local_addr(), &packet));
    assert_eq!(a_records(&r), OUTSIDE);
}

#[test]
fn tries_upstreams_in_order() {
    // A port nobody listens on (refused at once), then a working upstream.
    let dead = UdpSocket::bind(loopback()).unwrap().local_addr().unwrap();
    let up = server(&[("outside.example", &OUTSIDE)], vec![]);
    let s = server(&[], vec![dead, up.local_addr()]);
    let t = Instant::now();
    assert_eq!(
        a_records(&ask(s.local_addr(), "outside.example", TYPE_A)),
        OUTSIDE
    );
    assert!(t.elapsed() < Duration::from_secs(3));
}

#[test]
fn silent_upstream_gives_servfail_without_blocking_others() {
    let silent = UdpSocket::bind(loopback()).unwrap();
    let s = server(&[("web", &WEB)], vec![silent.local_addr().unwrap()]);
    let addr = s.local_addr();
    let t = Instant::now();
    let slow = std::thread::spawn(move || ask(addr, "slow.example", TYPE_A));
    std::thread::sleep(Duration::from_millis(100));
    let quick = Instant::now();
    assert_eq!(a_records(&ask(addr, "web", TYPE_A)), WEB);
    assert!(
        quick.elapsed() < Duration::from_millis(1000),
        "local answer waited on the upstream"
    );
    let r = slow.join().unwrap();
    assert_eq!(r.rcode, 2);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_millis(3500),
        "{took:?}"
    );
}

#[test]
fn keeps_serving_after_garbage() {
    let s = server(&[("web", &WEB)], vec![]);
    let sock = UdpSocket::bind(loopback()).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut loop_ptr = query(5, "", TYPE_A);
    loop_ptr.truncate(12);
    loop_ptr.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]);
    let garbage: [&[u8]; 5] = [b"", b"\x00", &[0xFF; 11], &[0xAB; 700], &loop_ptr];
    for g in garbage {
        sock.send_to(g, s.local_addr()).unwrap();
    }
    // Only the last one has a header and a question to complain about: FORMERR.
    let mut buf = [0u8; 512];
    let mut formerr = 0;
    while let Ok((n, _)) = sock.recv_from(&mut buf) {
        let r = parse_reply(&buf[..n]);
        assert!(r.rcode == 1 || r.rcode == 4, "{r:?}");
        formerr += usize::from(r.id == 5);
    }
    assert_eq!(formerr, 1);
    assert_eq!(a_records(&ask(s.local_addr(), "web", TYPE_A)), WEB);
    // A half-sent TCP message and a hang-up do not hurt either.
    let mut t = TcpStream::connect(s.local_addr()).unwrap();
    t.write_all(&[0, 40, 1, 2]).unwrap();
    drop(t);
    let r = parse_reply(&ask_tcp(s.local_addr(), &query(8, "web", TYPE_A)));
    assert_eq!(a_records(&r), WEB);
}

#[test]
fn big_answers_truncate_over_udp_not_tcp() {
    let many: Vec<Ipv4Addr> = (1..=60).map(|i| Ipv4Addr::new(10, 1, 0, i)).collect();
    let s = server(&[("svc", &many)], vec![]);
    let r = ask(s.local_addr(), "svc", TYPE_A);
    assert_ne!(r.flags & 0x0200, 0, "TC");
    assert!(r.answers.len() < 60);
    let full = parse_reply(&ask_tcp(s.local_addr(), &query(1, "svc", TYPE_A)));
    assert_eq!(a_records(&full), many);
}

#[test]
fn stops_promptly_and_frees_the_port() {
    let t = Instant::now();
    for _ in 0..40 {
        let mut s = server(&[], vec![]);
        let addr = s.local_addr();
        s.stop();
        s.stop();
        UdpSocket::bind(addr).expect("UDP port released");
        drop(s);
    }
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // Stopping with a forward in flight waits at most ~100 ms for it.
    let silent = UdpSocket::bind(loopback()).unwrap();
    let s = server(&[], vec![silent.local_addr().unwrap()]);
    let c = UdpSocket::bind(loopback()).unwrap();
    c.send_to(&query(1, "a.example", TYPE_A), s.local_addr())
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let t = Instant::now();
    let addr = s.local_addr();
    drop(s);
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    UdpSocket::bind(addr).expect("UDP port released");
}

#[test]
fn reads_upstreams_from_resolv_conf() {
    let text = "# c\nnameserver 192.168.1.1\nnameserver  2001:db8::53 \nnameserver fe80::1%eth0\n\
        nameserver 192.168.1.1\nsearch lan\n;nameserver 9.9.9.9\nnameserver\n";
    let got = upstreams_from_resolv_conf(text);
    let want: Vec<SocketAddr> = vec![
        "192.168.1.1:53".parse().unwrap(),
        "[2001:db8::53]:53".parse().unwrap(),
    ];
    assert_eq!(got, want);
}
