//! Networks end to end with the docker CLI: reachability by address and by name, isolation,
//! `--internal`, published TCP and UDP ports on 127.0.0.1 and the host's address, subnets,
//! live connect/disconnect, no leaks after many runs, and recovery after `kill -9 berthd`.
//!
//! Every daemon runs in a private network namespace of its own (`Daemon::start`), so its
//! bridges, subnets and nftables table are its own; all traffic stays inside it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use berth_testutil::netns::TestNet;
use berth_testutil::require_root;

use crate::daemon::{loaded, Daemon};

const IMAGE: &str = "bench/load:latest";

/// A web server answering `/hostname` with the container's hostname.
const HTTPD: &[&str] = &["busybox", "httpd", "-f", "-p", "80", "-h", "/etc"];

/// Polls `f` until it gives `Some`, for at most `secs` seconds.
fn until<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `GET /hostname` on `addr` from inside the daemon's namespace; the body, or `None`.
fn get_hostname(net: &TestNet, addr: SocketAddr) -> Option<String> {
    net.run(move || {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
        s.write_all(b"GET /hostname HTTP/1.0\r\n\r\n").ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        out.split("\r\n\r\n").nth(1).map(|b| b.trim().to_string())
    })
}

fn net(d: &Daemon) -> &TestNet {
    d.net.as_ref().expect("daemon in a private namespace")
}

/// Runs `script` with busybox sh in a new container on `network`; (exit code, output).
fn sh_on(d: &Daemon, network: &str, script: &str) -> (i32, String) {
    let out = d.docker(&[
        "run", "--rm", "--network", network, IMAGE, "busybox", "sh", "-c", script,
    ]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// An HTTP request to `host` port 80 with busybox nc (which, unlike busybox wget, fails
/// cleanly when the host is unreachable).
fn nc_get(host: &str) -> String {
    format!(
        "printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 2 {host} 80 | busybox tail -n 1"
    )
}

fn inspect(d: &Daemon, what: &str, format: &str) -> String {
    d.docker_ok(&["inspect", what, "--format", format]).trim().to_string()
}

fn run_web(d: &Daemon, name: &str, extra: &[&str]) -> String {
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(extra);
    args.push(IMAGE);
    args.extend_from_slice(HTTPD);
    d.docker_ok(&args).trim()[..12].to_string()
}

#[test]
fn containers_reach_each_other_by_name_and_address() {
    require_root!();
    let d = loaded();
    d.docker_ok(&["network", "create", "front"]);
    let short = run_web(&d, "web", &["--network", "front", "--network-alias", "www"]);
    let ip = inspect(&d, "web", "{{.NetworkSettings.Networks.front.IPAddress}}");
    assert!(ip.starts_with("172."), "address on front: {ip:?}");
    let gateway = inspect(&d, "front", "{{(index .IPAM.Config 0).Gateway}}");

    // By name, by alias, by short id and by address, from another container on `front`.
    for host in ["web", "www", short.as_str(), ip.as_str()] {
        let (code, out) = until(&format!("web reachable as {host}"), 10, || {
            let r = sh_on(&d, "front", &nc_get(host));
            (r.1.trim() == short).then_some(r)
        });
        assert_eq!((code, out.trim()), (0, short.as_str()), "as {host}");
    }

    // Docker's generated files: the container's own address under its hostname, the
    // embedded DNS on the network's gateway.
    let (_, files) = sh_on(&d, "front", "cat /etc/hosts /etc/resolv.conf /etc/hostname");
    assert!(files.contains("127.0.0.1\tlocalhost"), "{files}");
    assert!(files.contains(&format!("nameserver {gateway}")), "{files}");
    let (_, hosts) = sh_on(
        &d,
        "front",
        "busybox hostname; busybox grep -v localhost /etc/hosts | busybox grep -v ip6",
    );
    let mut lines = hosts.lines();
    let hostname = lines.next().unwrap_or_default().to_string();
    let own = lines.next().unwrap_or_default();
    assert!(own.starts_with("172.") && own.ends_with(&hostname), "{hosts}");

    // The default bridge has no name resolution (Docker's rule), but addresses work.
    let on_bridge = run_web(&d, "plain", &[]);
    let bridge_ip = inspect(&d, "plain", "{{.NetworkSettings.IPAddress}}");
    let (_, by_ip) = until("plain reachable by address", 10, || {
        let r = sh_on(&d, "bridge", &nc_get(&bridge_ip));
        (r.1.trim() == on_bridge).then_some(r)
    });
    assert_eq!(by_ip.trim(), on_bridge);
    let (_, by_name) = sh_on(&d, "bridge", &nc_get("plain"));
    assert_ne!(by_name.trim(), on_bridge, "names resolve on the default bridge");

    // DNS answers only on the network the name lives on, even when another network's
    // responder is asked directly.
    let (code, out) = sh_on(&d, "bridge", &format!("busybox nslookup web {gateway}"));
    assert!(code != 0 || !out.contains(&ip), "web resolvable from the default bridge: {out}");
    d.docker_ok(&["rm", "-f", "web", "plain"]);
    d.docker_ok(&["network", "rm", "front"]);
}

#[test]
fn networks_are_isolated_and_internal_has_no_egress() {
    require_root!();
    let d = loaded();
    d.docker_ok(&["network", "create", "a"]);
    d.docker_ok(&["network", "create", "b"]);
    d.docker_ok(&["network", "create", "--internal", "sealed"]);
    let short = run_web(&d, "web", &["--network", "a"]);
    let ip = inspect(&d, "web", "{{.NetworkSettings.Networks.a.IPAddress}}");
    until("web reachable on a", 10, || {
        (sh_on(&d, "a", &nc_get(&ip)).1.trim() == short).then_some(())
    });
    let (_, from_b) = sh_on(&d, "b", &nc_get(&ip));
    assert_ne!(from_b.trim(), short, "network b reached a container on network a");
    let (_, from_default) = sh_on(&d, "bridge", &nc_get(&ip));
    assert_ne!(from_default.trim(), short, "the default bridge reached network a");

    // Egress: a listener on the namespace's host address is reachable from a normal
    // network, not from an internal one (which also has no default route).
    let addr = SocketAddr::from((TestNet::HOST_ADDR, 18099));
    let listener = net(&d).run(move || std::net::TcpListener::bind(addr).expect("bind"));
    listener.set_nonblocking(true).expect("nonblocking");
    let accepted = |l: &std::net::TcpListener| {
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if l.accept().is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    };
    // nc waits for the peer to close, which this listener never does: bounded by timeout.
    let probe = format!(
        "echo hi | busybox timeout 3 busybox nc -w 2 {} 18099",
        TestNet::HOST_ADDR
    );
    sh_on(&d, "b", &probe);
    assert!(accepted(&listener), "no egress from a normal network");
    let (_, routes) = sh_on(&d, "sealed", &format!("busybox ip route; {probe}"));
    assert!(!routes.contains("default"), "internal network with a default route: {routes}");
    assert!(!accepted(&listener), "an internal network reached the host");
    let internal = inspect(&d, "sealed", "{{.Internal}}");
    assert_eq!(internal, "true");
    d.docker_ok(&["rm", "-f", "web"]);
    d.docker_ok(&["network", "rm", "a", "b", "sealed"]);
}

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
    assert_eq!(d.docker_ok(&["port", "web"]).trim(), "80/tcp -> 0.0.0.0:18080");
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
    let out = d.docker(&["run", "-d", "--name", "dup", "-p", "18080:80", IMAGE, "busybox", "true"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("port is already allocated"), "{err}");

    // -P: a random host port from the kernel's range, for the exposed port.
    let random = run_web(&d, "rand", &["-P", "--expose", "80"]);
    let port: u16 = inspect(&d, "rand", "{{(index (index .NetworkSettings.Ports \"80/tcp\") 0).HostPort}}")
        .parse()
        .expect("a host port");
    assert!(port >= 1024, "{port}");
    let body = until("-P port", 10, || {
        get_hostname(n, SocketAddr::from((TestNet::HOST_ADDR, port)))
    });
    assert_eq!(body, random);

    // UDP, on both addresses.
    d.docker_ok(&[
        "run", "-d", "--name", "udp", "-p", "15353:5353/udp",
        "-v", "/usr:/usr:ro", "-v", "/lib:/lib:ro", "-v", "/lib64:/lib64:ro",
        IMAGE, "/usr/bin/python3", "-c", UDP_ECHO,
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

#[test]
fn subnets_never_overlap_and_ipam_options_hold() {
    require_root!();
    let d = loaded();
    let mut subnets = vec![inspect(&d, "bridge", "{{(index .IPAM.Config 0).Subnet}}")];
    for i in 0..5 {
        let name = format!("n{i}");
        d.docker_ok(&["network", "create", &name]);
        subnets.push(inspect(&d, &name, "{{(index .IPAM.Config 0).Subnet}}"));
    }
    let parse = |s: &str| -> (u32, u32) {
        let (a, p) = s.split_once('/').expect("cidr");
        let a: std::net::Ipv4Addr = a.parse().expect("addr");
        let p: u32 = p.parse().expect("prefix");
        let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
        (u32::from(a) & mask, mask)
    };
    for (i, a) in subnets.iter().enumerate() {
        for b in &subnets[i + 1..] {
            let ((na, ma), (nb, mb)) = (parse(a), parse(b));
            let m = ma & mb;
            assert_ne!(na & m, nb & m, "{a} overlaps {b}");
        }
    }
    let out = d.docker(&["network", "create", "--subnet", &subnets[1], "clash"]);
    assert!(!out.status.success(), "an overlapping subnet was accepted");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.to_lowercase().contains("overlap"), "{err}");

    d.docker_ok(&[
        "network", "create", "--subnet", "10.91.0.0/24", "--gateway", "10.91.0.254",
        "--ip-range", "10.91.0.128/25", "fixed",
    ]);
    d.docker_ok(&["run", "-d", "--name", "dyn", "--network", "fixed", IMAGE, "busybox", "sleep", "60"]);
    d.docker_ok(&[
        "run", "-d", "--name", "static", "--network", "fixed", "--ip", "10.91.0.7", IMAGE,
        "busybox", "sleep", "60",
    ]);
    let dynamic = inspect(&d, "dyn", "{{.NetworkSettings.Networks.fixed.IPAddress}}");
    assert!(dynamic.starts_with("10.91.0.") && dynamic["10.91.0.".len()..].parse::<u8>().expect("octet") >= 128, "{dynamic}");
    assert_eq!(inspect(&d, "static", "{{.NetworkSettings.Networks.fixed.IPAddress}}"), "10.91.0.7");
    assert_eq!(inspect(&d, "dyn", "{{.NetworkSettings.Networks.fixed.Gateway}}"), "10.91.0.254");
    let dup = d.docker(&["run", "--rm", "--network", "fixed", "--ip", "10.91.0.7", IMAGE, "busybox", "true"]);
    assert!(!dup.status.success(), "an address in use was given twice");

    // Removal: refused for predefined networks and while a container is on it.
    let e = d.docker(&["network", "rm", "bridge"]);
    assert!(String::from_utf8_lossy(&e.stderr).contains("pre-defined"), "{e:?}");
    let e = d.docker(&["network", "rm", "fixed"]);
    assert!(String::from_utf8_lossy(&e.stderr).contains("active endpoints"), "{e:?}");
    d.docker_ok(&["rm", "-f", "dyn", "static"]);
    let pruned = d.docker_ok(&["network", "prune", "-f"]);
    for name in ["n0", "n4", "fixed"] {
        assert!(pruned.contains(name), "{pruned}");
    }
    let left = d.docker_ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert_eq!(left.split_whitespace().collect::<Vec<_>>(), ["bridge", "host", "none"]);
}

#[test]
fn connect_and_disconnect_live() {
    require_root!();
    let d = loaded();
    d.docker_ok(&["network", "create", "one"]);
    d.docker_ok(&["network", "create", "two"]);
    let short = run_web(&d, "web", &["--network", "one"]);
    let (_, before) = sh_on(&d, "two", &nc_get("web"));
    assert_ne!(before.trim(), short);
    d.docker_ok(&["network", "connect", "--alias", "site", "two", "web"]);
    let ifaces = d.docker_ok(&["exec", "web", "busybox", "ip", "-o", "-4", "addr"]);
    assert!(ifaces.contains("eth1"), "{ifaces}");
    until("web on two by alias", 10, || {
        (sh_on(&d, "two", &nc_get("site")).1.trim() == short).then_some(())
    });
    let hosts = d.docker_ok(&["exec", "web", "cat", "/etc/hosts"]);
    let ip_two = inspect(&d, "web", "{{.NetworkSettings.Networks.two.IPAddress}}");
    assert!(hosts.contains(&ip_two), "hosts not updated: {hosts}");
    d.docker_ok(&["network", "disconnect", "two", "web"]);
    let (_, after) = sh_on(&d, "two", &nc_get("site"));
    assert_ne!(after.trim(), short, "still reachable after disconnect");
    let ifaces = d.docker_ok(&["exec", "web", "busybox", "ip", "-o", "-4", "addr"]);
    assert!(!ifaces.contains("eth1"), "{ifaces}");
    // On a stopped container connect is recorded and applied at the next start.
    d.docker_ok(&["stop", "-t", "0", "web"]);
    d.docker_ok(&["network", "connect", "two", "web"]);
    d.docker_ok(&["start", "web"]);
    until("web on two after restart", 10, || {
        (sh_on(&d, "two", &nc_get("web")).1.trim() == short).then_some(())
    });
    d.docker_ok(&["rm", "-f", "web"]);
    d.docker_ok(&["network", "rm", "one", "two"]);
}

/// The namespace's links, as `ip -o link` names them.
fn links(net: &TestNet) -> Vec<String> {
    let out = std::process::Command::new("nsenter")
        .arg(format!("--net={}", net.path().display()))
        .args(["ip", "-o", "link"])
        .output()
        .expect("nsenter ip link");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_string())
        .collect()
}

#[test]
fn fifty_runs_leave_nothing_behind() {
    require_root!();
    let d = loaded();
    d.docker_ok(&["network", "create", "cycle"]);
    let before = links(net(&d));
    for i in 0..50 {
        let name = format!("c{i}");
        d.docker_ok(&[
            "run", "-d", "--name", &name, "--network", "cycle", "-p", "18500:80", IMAGE,
            "busybox", "sleep", "60",
        ]);
        d.docker_ok(&["rm", "-f", &name]);
    }
    assert_eq!(links(net(&d)), before, "links left behind");
    let netns_dir = d.dir.path().join("run/netns");
    let left: Vec<_> = std::fs::read_dir(&netns_dir)
        .map(|r| r.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "namespaces left: {left:?}");
    assert!(
        berth_testutil::mounts_containing(d.dir.path().to_str().expect("utf-8")).is_empty(),
        "mounts left"
    );
    // The port, the address and the name are free: a new container gets them.
    run_web(&d, "last", &["--network", "cycle", "-p", "18500:80"]);
    let ip = inspect(&d, "last", "{{.NetworkSettings.Networks.cycle.IPAddress}}");
    assert!(!ip.is_empty(), "no address after 50 runs");
    let (_, res) = sh_on(&d, "cycle", "busybox nslookup c7 2>&1");
    assert!(res.contains("NXDOMAIN") || res.contains("can't find"), "{res}");
    d.docker_ok(&["rm", "-f", "last"]);
}

#[test]
fn kill9_and_restart_keep_running_containers_networked() {
    require_root!();
    let mut d = loaded();
    d.docker_ok(&["network", "create", "keep"]);
    let short = run_web(&d, "web", &["--network", "keep", "-p", "18090:80"]);
    d.docker_ok(&["run", "-d", "--name", "brief", "--network", "keep", IMAGE, "busybox", "sleep", "3"]);
    let n = d.net.clone().expect("namespace");
    let addr = SocketAddr::from((TestNet::HOST_ADDR, 18090));
    assert_eq!(until("web published", 10, || get_hostname(&n, addr)), short);
    let links_before = links(&n).len();
    d.kill9();
    std::thread::sleep(Duration::from_secs(4)); // `brief` exits while berthd is away.
    d.restart();
    // The running container kept its address, port and name; the ended one lost its veth.
    assert_eq!(until("web after restart", 10, || get_hostname(&n, addr)), short);
    until("brief's veth removed", 10, || (links(&n).len() < links_before).then_some(()));
    assert_eq!(inspect(&d, "brief", "{{.NetworkSettings.Networks.keep.IPAddress}}"), "");
    let (_, by_name) = sh_on(&d, "keep", &nc_get("web"));
    assert_eq!(by_name.trim(), short, "name lost after restart");
    // The port is still held: another container cannot take it.
    let dup = d.docker(&["run", "-d", "-p", "18090:80", IMAGE, "busybox", "true"]);
    assert!(!dup.status.success(), "port handed out twice after a restart");

    // A flushed ruleset is noticed and restored.
    let st = std::process::Command::new("nsenter")
        .arg(format!("--net={}", n.path().display()))
        .args(["nft", "flush", "ruleset"])
        .status()
        .expect("nft");
    assert!(st.success());
    assert_eq!(until("port restored after flush", 15, || get_hostname(&n, addr)), short);
    until("restore logged", 5, || d.log().contains("restoring it").then_some(()));
    d.docker_ok(&["rm", "-f", "web", "brief"]);
}
