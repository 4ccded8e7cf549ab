//! Published ports end to end: TCP and UDP on 127.0.0.1 and the host's address, hairpin,
//! `docker port` and ps's PORTS, `-P`, a port asked for twice, ports freed on removal, and
//! connections refused (never left hanging) while a published container goes.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use berth_testutil::netns::TestNet;
use berth_testutil::require_root;

use crate::daemon::loaded;
use crate::network::{get_hostname, inspect, net, run_web, until, IMAGE};

/// A UDP server in a container: the host's python3 (bind-mounted read-only with its
/// libraries; the busybox image has no UDP server) echoing datagrams upper-cased.
const UDP_ECHO: &str = "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
s.bind(('0.0.0.0',5353))\nwhile True:\n d,a=s.recvfrom(2048)\n s.sendto(d.upper(),a)\n";

#[test]
fn published_tcp_and_udp_ports_answer_on_loopback_and_host_address() {
    require_root!();
    let d = loaded();
    let short = run_web(&d, "web", &["-p", "18080:80"]);
    let n = net(&d);
    for ip in [std::net::Ipv4Addr::LOCALHOST, TestNet::HOST_ADDR] {
        let body = until(&format!("{ip}:18080"), 10, || {
            get_hostname(n, SocketAddr::from((ip, 18080)))
        });
        assert_eq!(body, short, "via {ip}");
    }
    assert_eq!(
        d.docker_ok(&["port", "web"]).trim(),
        "80/tcp -> 0.0.0.0:18080"
    );
    let ps = d.docker_ok(&["ps", "--format", "{{.Ports}}", "--filter", "name=web"]);
    assert_eq!(ps.trim(), "0.0.0.0:18080->80/tcp");
    // Hairpin: the container reaches its own published port through the host address.
    let own = d.docker_ok(&[
        "exec", "web", "busybox", "sh", "-c",
        &format!(
            "printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 2 {} 18080 | busybox tail -n 1",
            TestNet::HOST_ADDR
        ),
    ]);
    assert_eq!(own.trim(), short, "hairpin");

    // The same host port twice: Docker's error, nothing left running.
    let out = d.docker(&[
        "run", "-d", "--name", "dup", "-p", "18080:80", IMAGE, "busybox", "true",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("port is already allocated"), "{err}");

    // -P: a random host port from the kernel's range, for the exposed port.
    let random = run_web(&d, "rand", &["-P", "--expose", "80"]);
    let port: u16 = inspect(
        &d,
        "rand",
        "{{(index (index .NetworkSettings.Ports \"80/tcp\") 0).HostPort}}",
    )
    .parse()
    .expect("a host port");
    assert!(port >= 1024, "{port}");
    let body = until("-P port", 10, || {
        get_hostname(n, SocketAddr::from((TestNet::HOST_ADDR, port)))
    });
    assert_eq!(body, random);

    // UDP, on both addresses.
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "udp",
        "-p",
        "15353:5353/udp",
        "-v",
        "/usr:/usr:ro",
        "-v",
        "/lib:/lib:ro",
        "-v",
        "/lib64:/lib64:ro",
        IMAGE,
        "/usr/bin/python3",
        "-c",
        UDP_ECHO,
    ]);
    for ip in [std::net::Ipv4Addr::LOCALHOST, TestNet::HOST_ADDR] {
        let reply = until(&format!("udp echo via {ip}"), 15, || {
            n.run(move || {
                let s = UdpSocket::bind("0.0.0.0:0").ok()?;
                s.set_read_timeout(Some(Duration::from_millis(500))).ok()?;
                s.send_to(b"ping", (ip, 15353)).ok()?;
                let mut buf = [0u8; 64];
                let (len, _) = s.recv_from(&mut buf).ok()?;
                Some(String::from_utf8_lossy(&buf[..len]).into_owned())
            })
        });
        assert_eq!(reply, "PING", "via {ip}");
    }
    d.docker_ok(&["rm", "-f", "web", "rand", "udp"]);
    // The ports are free again: the next container gets the same one.
    run_web(&d, "again", &["-p", "18080:80"]);
    d.docker_ok(&["rm", "-f", "again"]);
}

/// How each connection attempt to `addr` ended while `during` ran: answered, refused (or
/// reset), or left hanging until the 3 s timeout.
fn attempts_during(net: &TestNet, addr: SocketAddr, during: impl FnOnce()) -> Vec<&'static str> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let looper = s.spawn(|| {
            net.run(|| {
                let mut seen = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let r = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3));
                    seen.push(match r {
                        Ok(_) => "connected",
                        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => "hung",
                        Err(_) => "refused",
                    });
                    std::thread::sleep(Duration::from_millis(5));
                }
                seen
            })
        });
        std::thread::sleep(Duration::from_millis(300));
        during();
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, Ordering::Relaxed);
        looper.join().expect("the loop thread")
    })
}

#[test]
fn connections_to_a_removed_container_are_refused_not_left_hanging() {
    require_root!();
    let d = loaded();
    let addr: SocketAddr = ([127, 0, 0, 1], 8091).into();
    for round in 0..3 {
        run_web(&d, "gone", &["-p", "8091:80"]);
        until("the server answering", 10, || get_hostname(net(&d), addr));
        let seen = attempts_during(net(&d), addr, || {
            d.docker_ok(&["rm", "-f", "gone"]);
        });
        assert!(seen.contains(&"connected"), "round {round}: {seen:?}");
        assert!(
            !seen.contains(&"hung"),
            "round {round}: a connection hung: {seen:?}"
        );
        assert!(seen.ends_with(&["refused"]), "round {round}: {seen:?}");
    }
}
