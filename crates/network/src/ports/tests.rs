//! Parsing is pure; everything that binds runs on a thread inside a private network namespace
//! (root only), so fixed port numbers can never collide with the host's own listeners.

use std::net::{TcpListener, UdpSocket};

use super::*;

fn one(key: &str, host_ip: &str, host_port: &str) -> BTreeMap<String, Vec<PortBinding>> {
    let b = PortBinding {
        host_ip: host_ip.into(),
        host_port: host_port.into(),
    };
    BTreeMap::from([(key.to_string(), vec![b])])
}

const IP: Ipv4Addr = Ipv4Addr::new(10, 88, 0, 2);

/// Runs `f` in a fresh network namespace on a thread of its own; skips without root.
fn in_netns(f: impl FnOnce() + Send + 'static) {
    if !berth_testutil::is_root() {
        eprintln!("skipped: binding tests need root for a private network namespace");
        return;
    }
    std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
        let mut nl = crate::netlink::Netlink::new().expect("netlink in the private netns");
        nl.set_up("lo").expect("lo up");
        f();
    })
    .join()
    .expect("test thread failed");
}

#[test]
fn keys_and_host_ports_parse_like_docker() {
    let (r, p, raw) = parse_key("80/tcp").unwrap();
    assert_eq!((r, p, raw.as_str()), (PortRange::one(80), Proto::Tcp, "80"));
    assert_eq!(parse_key("53/UDP").unwrap().1, Proto::Udp);
    assert_eq!(parse_key("9/sctp").unwrap().1, Proto::Sctp);
    assert_eq!(parse_key("80").unwrap().1, Proto::Tcp, "tcp is the default");
    let (r, _, _) = parse_key("8000-8010/tcp").unwrap();
    assert_eq!(
        r,
        PortRange {
            start: 8000,
            end: 8010
        }
    );
    assert_eq!(parse_host_ports("").unwrap(), None);
    assert_eq!(parse_host_ports("0").unwrap(), None);
    assert_eq!(
        parse_host_ports("8080").unwrap(),
        Some(PortRange::one(8080))
    );
    assert_eq!(parse_host_ip("").unwrap(), None);
    assert_eq!(parse_host_ip("0.0.0.0").unwrap(), None);
    assert_eq!(
        parse_host_ip("127.0.0.1").unwrap(),
        Some(Ipv4Addr::LOCALHOST)
    );
}

#[test]
fn bad_specs_fail_with_dockers_words() {
    let msg = |r: Result<Reservation, PortError>| r.unwrap_err().to_string();
    let none = BTreeMap::new();
    for (key, host, want) in [
        ("x/tcp", "", r#"invalid port specification: "x""#),
        ("0/tcp", "", r#"invalid port specification: "0""#),
        ("90-80/tcp", "", r#"invalid port specification: "90-80""#),
        ("70000/tcp", "", r#"invalid port specification: "70000""#),
        ("80/tcp", "x", r#"invalid port specification: "x""#),
        ("80/tcp", "+8080", r#"invalid port specification: "+8080""#),
        ("80/icmp", "", "invalid proto: icmp"),
    ] {
        assert_eq!(msg(reserve(&one(key, "", host), false, &[], IP)), want);
    }
    assert_eq!(
        msg(reserve(&one("80/tcp", "nope", "1"), false, &[], IP)),
        "invalid IP address: nope"
    );
    assert!(msg(reserve(&one("80/tcp", "::", "1"), false, &[], IP)).contains("IPv4 only"));
    assert_eq!(
        msg(reserve(&one("80-82/tcp", "", "8000-8010"), false, &[], IP)),
        "invalid ranges specified for container and host Ports: 80-82 and 8000-8010"
    );
    let exposed = ["bad/tcp".to_string()];
    assert!(reserve(&none, true, &exposed, IP).is_err());
    assert!(reserve(&none, false, &exposed, IP)
        .unwrap()
        .bindings()
        .is_empty());
}

#[test]
fn random_port_comes_from_the_local_range_and_is_held() {
    in_netns(|| {
        let res = reserve(&one("80/tcp", "", ""), false, &[], IP).unwrap();
        let b = res.bindings();
        assert_eq!(b.len(), 1);
        let (key, ip, port) = &b[0];
        assert_eq!((key.as_str(), ip.as_str()), ("80/tcp", "0.0.0.0"));
        let (lo, hi) = hold::local_port_range();
        assert!((lo..=hi).contains(port), "{port} not in {lo}-{hi}");
        let m = &res.mappings()[0];
        assert_eq!(
            (m.container_ip, m.container_ports),
            (IP, PortRange::one(80))
        );
        assert_eq!((m.host_ip, m.host_ports), (None, PortRange::one(*port)));
        assert!(
            TcpListener::bind(("0.0.0.0", *port)).is_err(),
            "port not held"
        );
    });
}

#[test]
fn same_port_twice_conflicts_and_is_released_on_drop() {
    in_netns(|| {
        let first = reserve(&one("80/tcp", "", "8080"), false, &[], IP).unwrap();
        let err = reserve(&one("81/tcp", "", "8080"), false, &[], IP).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Bind for 0.0.0.0:8080 failed: port is already allocated"
        );
        // A specific address conflicts with the wildcard too, and other processes are kept out.
        let err = reserve(&one("81/tcp", "127.0.0.1", "8080"), false, &[], IP).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Bind for 127.0.0.1:8080 failed: port is already allocated"
        );
        assert!(TcpListener::bind("0.0.0.0:8080").is_err());
        drop(first);
        let again = reserve(&one("81/tcp", "", "8080"), false, &[], IP).unwrap();
        assert_eq!(
            again.bindings(),
            [("81/tcp".into(), "0.0.0.0".into(), 8080)]
        );
    });
}

#[test]
fn a_port_with_connections_in_time_wait_can_be_published() {
    in_netns(|| {
        use std::io::Read;
        // A server that closes first leaves its side in TIME_WAIT on port 8090.
        let server = TcpListener::bind("127.0.0.1:8090").unwrap();
        let client = std::net::TcpStream::connect("127.0.0.1:8090").unwrap();
        let (conn, _) = server.accept().unwrap();
        drop(conn);
        let mut buf = [0u8; 1];
        let _ = (&client).read(&mut buf);
        drop(client);
        drop(server);
        let held = reserve(&one("80/tcp", "", "8090"), false, &[], IP).unwrap();
        assert_eq!(held.bindings()[0].2, 8090);
        // Held all the same: nobody else can listen there.
        assert!(TcpListener::bind("0.0.0.0:8090").is_err());
        assert!(reserve(&one("81/tcp", "", "8090"), false, &[], IP).is_err());
    });
}

#[test]
fn tcp_and_udp_of_one_number_do_not_conflict() {
    in_netns(|| {
        let tcp = reserve(&one("53/tcp", "", "5353"), false, &[], IP).unwrap();
        let udp = reserve(&one("53/udp", "", "5353"), false, &[], IP).unwrap();
        assert_eq!(udp.mappings()[0].proto, Proto::Udp);
        assert!(
            UdpSocket::bind("0.0.0.0:5353").is_err(),
            "udp port not held"
        );
        let err = reserve(&one("54/udp", "", "5353"), false, &[], IP).unwrap_err();
        assert!(
            err.to_string().contains("port is already allocated"),
            "{err}"
        );
        drop((tcp, udp));
    });
}

#[test]
fn host_range_for_one_port_takes_the_first_free_one() {
    in_netns(|| {
        let taken = reserve(&one("1/tcp", "", "9000"), false, &[], IP).unwrap();
        let res = reserve(&one("80/tcp", "", "9000-9002"), false, &[], IP).unwrap();
        assert_eq!(res.bindings(), [("80/tcp".into(), "0.0.0.0".into(), 9001)]);
        let _more = reserve(&one("81/tcp", "", "9002"), false, &[], IP).unwrap();
        let err = reserve(&one("82/tcp", "", "9000-9002"), false, &[], IP).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Bind for 0.0.0.0:9000-9002 failed: port is already allocated"
        );
        drop(taken);
    });
}

#[test]
fn equal_ranges_map_one_to_one_in_one_rule() {
    in_netns(|| {
        let res = reserve(&one("80-82/udp", "", "7080-7082"), false, &[], IP).unwrap();
        assert_eq!(res.mappings().len(), 1);
        let m = &res.mappings()[0];
        assert_eq!(
            m.host_ports,
            PortRange {
                start: 7080,
                end: 7082
            }
        );
        assert_eq!(m.container_ports, PortRange { start: 80, end: 82 });
        let want: Vec<(String, String, u16)> = (0..3)
            .map(|i| (format!("{}/udp", 80 + i), "0.0.0.0".into(), 7080 + i))
            .collect();
        assert_eq!(res.bindings(), want);
        assert!(UdpSocket::bind("0.0.0.0:7082").is_err());
        // One taken port fails the whole request, and the rest is released.
        let blocker = UdpSocket::bind("0.0.0.0:6082").unwrap();
        let err = reserve(&one("80-82/udp", "", "6080-6082"), false, &[], IP).unwrap_err();
        assert!(err.to_string().contains("0.0.0.0:6082"), "{err}");
        drop(blocker);
        assert!(UdpSocket::bind("0.0.0.0:6080").is_ok(), "6080 leaked");
        // A container range without host ports: one random port each.
        let res = reserve(&one("90-91/tcp", "", ""), false, &[], IP).unwrap();
        assert_eq!(res.mappings().len(), 2);
    });
}

#[test]
fn publish_all_gives_unbound_exposed_ports_random_ones() {
    in_netns(|| {
        let exposed = ["80/tcp".to_string(), "443/tcp".into(), "53/udp".into()];
        let res = reserve(&one("80/tcp", "", "8081"), true, &exposed, IP).unwrap();
        let b = res.bindings();
        let keys: Vec<&str> = b.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(keys, ["53/udp", "80/tcp", "443/tcp"]);
        assert_eq!(b[1].2, 8081, "an explicit binding wins over -P");
        assert_ne!(b[0].2, 0);
        assert_ne!(b[2].2, 0);
        let plain = reserve(&one("80/tcp", "", "8082"), false, &exposed, IP).unwrap();
        assert_eq!(plain.bindings().len(), 1, "without -P only the bindings");
    });
}

#[test]
fn a_shared_port_is_mapped_twice_held_once_and_handed_over() {
    in_netns(|| {
        let other = Ipv4Addr::new(10, 0, 0, 3);
        let mut first = reserve(&one("80/tcp", "", "8080"), false, &[], IP).unwrap();
        let peer_holds = |proto: Proto, ip: Option<Ipv4Addr>, port: u16| {
            proto == Proto::Tcp && ip.is_none() && port == 8080
        };
        let mut second =
            reserve_shared(&one("80/tcp", "", "8080"), false, &[], other, &peer_holds).unwrap();
        assert_eq!(second.mappings()[0].container_ip, other);
        assert_eq!(second.mappings()[0].host_ports, PortRange::one(8080));
        // Not shared for anyone else: a third reservation still conflicts.
        assert!(reserve(&one("80/tcp", "", "8080"), false, &[], IP).is_err());
        // The holder goes: its socket moves to the peer, so the port stays held.
        first.hand_over(&mut second);
        drop(first);
        assert!(TcpListener::bind("0.0.0.0:8080").is_err(), "port freed");
        drop(second);
        assert!(TcpListener::bind("0.0.0.0:8080").is_ok(), "port still held");
    });
}

#[test]
fn a_shared_reservation_listens_only_when_told() {
    in_netns(|| {
        let never = |_, _, _| false;
        let res = reserve_shared(&one("80/tcp", "", "8080"), false, &[], IP, &never).unwrap();
        // Bound, not listening: a client is refused at once instead of waiting in a backlog.
        let e = std::net::TcpStream::connect("127.0.0.1:8080").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
        res.listen().unwrap();
        assert!(TcpListener::bind("0.0.0.0:8080").is_err(), "not exclusive");
        res.listen().unwrap();
    });
}
