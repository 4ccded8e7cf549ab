//! Networks end to end with the docker CLI: reachability by address and by name, isolation,
//! `--internal`, published TCP and UDP ports on 127.0.0.1 and the host's address, subnets,
//! live connect/disconnect, no leaks after many runs, and recovery after `kill -9 berthd`.
//!
//! Every daemon runs in a private network namespace of its own (`Daemon::start`), so its
//! bridges, subnets and nftables table are its own; all traffic stays inside it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use berth_testutil::netns::TestNet;
use berth_testutil::require_root;

use crate::daemon::{loaded, Daemon};

pub(crate) const IMAGE: &str = "bench/load:latest";

/// A web server answering `/hostname` with the container's hostname.
pub(crate) const HTTPD: &[&str] = &["busybox", "httpd", "-f", "-p", "80", "-h", "/etc"];

/// Polls `f` until it gives `Some`, for at most `secs` seconds.
pub(crate) fn until<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
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
pub(crate) fn get_hostname(net: &TestNet, addr: SocketAddr) -> Option<String> {
    net.http_body(addr, "/hostname")
}

pub(crate) fn net(d: &Daemon) -> &TestNet {
    d.net.as_ref().expect("daemon in a private namespace")
}

/// Runs `script` with busybox sh in a new container on `network`; (exit code, output).
pub(crate) fn sh_on(d: &Daemon, network: &str, script: &str) -> (i32, String) {
    let out = d.docker(&[
        "run",
        "--rm",
        "--network",
        network,
        IMAGE,
        "busybox",
        "sh",
        "-c",
        script,
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
pub(crate) fn nc_get(host: &str) -> String {
    format!(
        "printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 2 {host} 80 | busybox tail -n 1"
    )
}

pub(crate) fn inspect(d: &Daemon, what: &str, format: &str) -> String {
    d.docker_ok(&["inspect", what, "--format", format])
        .trim()
        .to_string()
}

pub(crate) fn run_web(d: &Daemon, name: &str, extra: &[&str]) -> String {
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
    assert!(
        own.starts_with("172.") && own.ends_with(&hostname),
        "{hosts}"
    );

    // The default bridge has no name resolution (Docker's rule), but addresses work.
    let on_bridge = run_web(&d, "plain", &[]);
    let bridge_ip = inspect(&d, "plain", "{{.NetworkSettings.IPAddress}}");
    let (_, by_ip) = until("plain reachable by address", 10, || {
        let r = sh_on(&d, "bridge", &nc_get(&bridge_ip));
        (r.1.trim() == on_bridge).then_some(r)
    });
    assert_eq!(by_ip.trim(), on_bridge);
    let (_, by_name) = sh_on(&d, "bridge", &nc_get("plain"));
    assert_ne!(
        by_name.trim(),
        on_bridge,
        "names resolve on the default bridge"
    );

    // DNS answers only on the network the name lives on, even when another network's
    // responder is asked directly.
    let (code, out) = sh_on(&d, "bridge", &format!("busybox nslookup web {gateway}"));
    assert!(
        code != 0 || !out.contains(&ip),
        "web resolvable from the default bridge: {out}"
    );
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
    assert_ne!(
        from_b.trim(),
        short,
        "network b reached a container on network a"
    );
    let (_, from_default) = sh_on(&d, "bridge", &nc_get(&ip));
    assert_ne!(
        from_default.trim(),
        short,
        "the default bridge reached network a"
    );

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
    assert!(
        !routes.contains("default"),
        "internal network with a default route: {routes}"
    );
    assert!(!accepted(&listener), "an internal network reached the host");
    let internal = inspect(&d, "sealed", "{{.Internal}}");
    assert_eq!(internal, "true");
    d.docker_ok(&["rm", "-f", "web"]);
    d.docker_ok(&["network", "rm", "a", "b", "sealed"]);
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
        "network",
        "create",
        "--subnet",
        "10.91.0.0/24",
        "--gateway",
        "10.91.0.254",
        "--ip-range",
        "10.91.0.128/25",
        "fixed",
    ]);
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "dyn",
        "--network",
        "fixed",
        IMAGE,
        "busybox",
        "sleep",
        "60",
    ]);
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "static",
        "--network",
        "fixed",
        "--ip",
        "10.91.0.7",
        IMAGE,
        "busybox",
        "sleep",
        "60",
    ]);
    let dynamic = inspect(&d, "dyn", "{{.NetworkSettings.Networks.fixed.IPAddress}}");
    assert!(
        dynamic.starts_with("10.91.0.")
            && dynamic["10.91.0.".len()..].parse::<u8>().expect("octet") >= 128,
        "{dynamic}"
    );
    assert_eq!(
        inspect(
            &d,
            "static",
            "{{.NetworkSettings.Networks.fixed.IPAddress}}"
        ),
        "10.91.0.7"
    );
    assert_eq!(
        inspect(&d, "dyn", "{{.NetworkSettings.Networks.fixed.Gateway}}"),
        "10.91.0.254"
    );
    let dup = d.docker(&[
        "run",
        "--rm",
        "--network",
        "fixed",
        "--ip",
        "10.91.0.7",
        IMAGE,
        "busybox",
        "true",
    ]);
    assert!(!dup.status.success(), "an address in use was given twice");

    // Removal: refused for predefined networks and while a container is on it.
    let e = d.docker(&["network", "rm", "bridge"]);
    assert!(
        String::from_utf8_lossy(&e.stderr).contains("pre-defined"),
        "{e:?}"
    );
    let e = d.docker(&["network", "rm", "fixed"]);
    assert!(
        String::from_utf8_lossy(&e.stderr).contains("active endpoints"),
        "{e:?}"
    );
    d.docker_ok(&["rm", "-f", "dyn", "static"]);
    let pruned = d.docker_ok(&["network", "prune", "-f"]);
    for name in ["n0", "n4", "fixed"] {
        assert!(pruned.contains(name), "{pruned}");
    }
    let left = d.docker_ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert_eq!(
        left.split_whitespace().collect::<Vec<_>>(),
        ["bridge", "host", "none"]
    );
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

#[test]
fn none_and_container_network_modes() {
    require_root!();
    let d = loaded();
    let short = run_web(&d, "web", &[]);
    // `--network container:web` shares web's namespace: its server is on our loopback.
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "container:web",
        IMAGE,
        "busybox",
        "sh",
        "-c",
        &nc_get("127.0.0.1"),
    ]);
    assert_eq!(out.trim(), short);
    // `none`: loopback only.
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        IMAGE,
        "busybox",
        "ip",
        "-o",
        "link",
    ]);
    let links: Vec<&str> = out.lines().filter_map(|l| l.split(": ").nth(1)).collect();
    assert_eq!(links, ["lo"], "{out}");
    let ports = d.docker(&[
        "run",
        "--rm",
        "--network",
        "container:web",
        "-p",
        "81:80",
        IMAGE,
        "true",
    ]);
    assert!(
        String::from_utf8_lossy(&ports.stderr).contains("conflicting options"),
        "{ports:?}"
    );
    d.docker_ok(&["rm", "-f", "web"]);
}
