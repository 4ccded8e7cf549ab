//! berthd beside a running dockerd in one network namespace.
//!
//! dockerd, when it has to turn `net.ipv4.ip_forward` on itself, sets the policy of iptables'
//! `FORWARD` chain to drop; with `bridge-nf-call-iptables=1` even traffic inside one bridge
//! walks that chain. berthd must keep its containers reachable (by name, through published
//! ports, to the outside) by adding only its own accept rules there (comment `berth:<table>`),
//! and leave every rule of dockerd's as it was: dockerd's own containers keep working too.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_testutil::netns::TestNet;
use berth_testutil::peers::{self, Dockerd};
use berth_testutil::require_root;

use crate::daemon::{bench_archive, Daemon};
use crate::network::{get_hostname, HTTPD};

const IMAGE: &str = "bench/load:latest";
/// docker0's address: off 172.17.0.0/16, which berth's default bridge may take.
const DOCKER_BIP: &str = "10.123.0.1/24";
/// The "outside": a second namespace behind a veth, reached only by forwarding.
const OUTSIDE_NEAR: &str = "198.51.100.1";
const OUTSIDE_FAR: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);

/// Runs `prog args` inside `net`: (success, stdout, stderr).
fn in_net(net: &TestNet, prog: &str, args: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new(prog);
    cmd.args(args);
    net.enter(&mut cmd);
    peers::run(&mut cmd)
}

fn in_net_ok(net: &TestNet, prog: &str, args: &[&str]) -> String {
    let (ok, out, err) = in_net(net, prog, args);
    assert!(ok, "{prog} {args:?} in the test namespace: {err}");
    out
}

/// The policy of `table ip filter` chain `FORWARD` in `net` (`None`: no such chain).
fn forward_policy(net: &TestNet) -> Option<String> {
    let (ok, out, _) = in_net(
        net,
        "nft",
        &["-j", "list", "chain", "ip", "filter", "FORWARD"],
    );
    if !ok {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&out).expect("nft -j output");
    v["nftables"]
        .as_array()?
        .iter()
        .find_map(|o| o["chain"]["policy"].as_str().map(str::to_string))
}

/// `iptables-nft -S` of the filter and nat tables in `net`, each line prefixed by its table.
fn iptables_rules(net: &TestNet) -> Vec<String> {
    let mut lines = Vec::new();
    for table in ["filter", "nat"] {
        let out = in_net_ok(net, "iptables-nft", &["-t", table, "-S"]);
        lines.extend(out.lines().map(|l| format!("{table}: {l}")));
    }
    lines
}

/// Every line of `before` is in `after`, in the same order; the only new lines are berth's.
fn assert_only_berth_added(before: &[String], after: &[String]) {
    let mut next = after.iter();
    for line in before {
        assert!(
            next.any(|l| l == line),
            "dockerd's rule {line:?} is gone or moved.\nbefore:\n{}\nafter:\n{}",
            before.join("\n"),
            after.join("\n")
        );
    }
    let added: Vec<&String> = after.iter().filter(|l| !before.contains(l)).collect();
    for line in &added {
        assert!(
            line.contains("berth:"),
            "a new rule that is not berth's: {line:?}\nafter:\n{}",
            after.join("\n")
        );
    }
    // Two bridges (berth0 and the user network's): in and out accepts for each.
    let accepts = |dir: &str| {
        added
            .iter()
            .filter(|l| l.starts_with(&format!("filter: -A FORWARD {dir} ")))
            .count()
    };
    assert!(
        accepts("-i") >= 2 && accepts("-o") >= 2 && added.iter().any(|l| l.contains(" berth0 ")),
        "berth did not add its accepts for both bridges to dockerd's FORWARD chain:\n{}",
        after.join("\n")
    );
}

/// Polls `f` every 200 ms for up to 10 s until it gives a value; panics with `what` and the
/// last `explain()` otherwise.
fn poll<T>(what: &str, mut f: impl FnMut() -> Option<T>, explain: impl Fn() -> String) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what} (10 s): {}", explain());
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A TCP listener in the namespace `net` at `ip`: each connection is answered with
/// `hello <peer address>` and closed. Returns its port.
fn greeter(net: &TestNet, ip: Ipv4Addr) -> u16 {
    let l = net
        .run(move || TcpListener::bind((ip, 0)))
        .expect("listener in the namespace");
    let port = l.local_addr().expect("local addr").port();
    // The socket stays in its namespace whichever thread accepts; the thread ends with the
    // test process.
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let peer = s
                .peer_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_default();
            let _ = writeln!(s, "hello {peer}");
        }
    });
    port
}

/// A shell command, for a container, that prints the greeting of the [`greeter`] at
/// `ip:port`.
fn nc_script(ip: impl std::fmt::Display, port: u16) -> String {
    format!("/bin/busybox nc -w 3 {ip} {port} </dev/null")
}

fn hostname_of(d: &Daemon, name: &str) -> String {
    d.docker_ok(&["inspect", "-f", "{{.Config.Hostname}}", name])
        .trim()
        .to_string()
}

fn dockerd_cli(dockerd: &Dockerd, args: &[&str]) -> String {
    let (ok, out, err) = peers::run(dockerd.docker().args(args));
    assert!(
        ok,
        "dockerd: docker {args:?}: {err}\ndockerd log:\n{}",
        dockerd.log()
    );
    out
}

#[test]
fn berthd_keeps_working_beside_a_running_dockerd() {
    require_root!();
    if peers::need("dockerd").is_none() || peers::need("containerd").is_none() {
        return;
    }
    let t0 = Instant::now();
    let net = Arc::new(TestNet::new());

    // 1. Forwarding off, so that dockerd turns it on itself and therefore sets FORWARD's
    //    policy to drop. The sysctl is per network namespace: the host's is untouched.
    net.run(|| std::fs::write("/proc/sys/net/ipv4/ip_forward", "0"))
        .expect("ip_forward=0 in the test namespace");

    // The "outside": a second namespace behind a veth, so that egress really is forwarded
    // (a connection to an address of the namespace itself goes to INPUT, not FORWARD).
    let outside = TestNet::new();
    let outside_path = outside.path().to_str().expect("utf-8 path").to_string();
    in_net_ok(
        &net,
        "ip",
        &[
            "link",
            "add",
            "bx0",
            "type",
            "veth",
            "peer",
            "name",
            "bx1",
            "netns",
            &outside_path,
        ],
    );
    in_net_ok(
        &net,
        "ip",
        &["addr", "add", &format!("{OUTSIDE_NEAR}/24"), "dev", "bx0"],
    );
    in_net_ok(&net, "ip", &["link", "set", "bx0", "up"]);
    in_net_ok(
        &outside,
        "ip",
        &["addr", "add", &format!("{OUTSIDE_FAR}/24"), "dev", "bx1"],
    );
    in_net_ok(&outside, "ip", &["link", "set", "bx1", "up"]);

    // 2. dockerd with docker0 and its iptables rules, in the same namespace.
    let dockerd = Dockerd::start_in(&net, &["--bip", DOCKER_BIP]);
    let t_dockerd = t0.elapsed();
    let forward_on = net
        .run(|| std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward"))
        .expect("read ip_forward");
    let nf_call = net
        .run(|| std::fs::read_to_string("/proc/sys/net/bridge/bridge-nf-call-iptables"))
        .unwrap_or_else(|e| format!("unreadable: {e}"));
    let policy = forward_policy(&net);
    eprintln!(
        "dockerd up in {t_dockerd:?}: ip_forward={}, bridge-nf-call-iptables={}, \
         filter FORWARD policy {policy:?}",
        forward_on.trim(),
        nf_call.trim()
    );
    assert_eq!(forward_on.trim(), "1", "dockerd did not enable forwarding");
    if policy.as_deref() != Some("drop") {
        // dockerd did not set the drop policy this time (it does only when it had to enable
        // forwarding itself): set it as dockerd would, the point is berth beside that policy.
        eprintln!("dockerd left FORWARD's policy at {policy:?}: the test sets it to drop");
        in_net_ok(
            &net,
            "nft",
            &[
                "add",
                "chain",
                "ip",
                "filter",
                "FORWARD",
                "{ policy drop; }",
            ],
        );
    }
    let dockers_rules = iptables_rules(&net);

    // 3. berthd in the same namespace, with its default table and bridge.
    let d = Daemon::start_in(net.clone(), tempfile::tempdir().expect("tempdir"), &[]);
    let archive = bench_archive(d.dir.path());
    let archive = archive.to_str().expect("utf-8 path");
    d.docker_ok(&["load", "-i", archive]);
    d.docker_ok(&["network", "create", "coex"]);
    let web = "run -d --name web --network coex -p 18080:80";
    let web: Vec<&str> = web
        .split(' ')
        .chain([IMAGE])
        .chain(HTTPD.iter().copied())
        .collect();
    d.docker_ok(&web);
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "client",
        "--network",
        "coex",
        IMAGE,
        "/bin/busybox",
        "sleep",
        "1000",
    ]);
    let web = hostname_of(&d, "web");
    let t_berth = Instant::now();
    let state = |d: &Daemon| {
        let (_, ruleset, _) = in_net(&net, "nft", &["list", "ruleset"]);
        format!(
            "ruleset:\n{ruleset}\nberthd log (tail):\n{}",
            tail(&d.log())
        )
    };

    // (a) By name, on the user network: bridged traffic that walks dockerd's FORWARD chain.
    let script = "/bin/busybox printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' \
                  | /bin/busybox nc -w 2 web 80";
    poll(
        "client did not reach web by name",
        || {
            let out = d.docker(&["exec", "client", "/bin/busybox", "sh", "-c", script]);
            String::from_utf8_lossy(&out.stdout)
                .contains(&web)
                .then_some(())
        },
        || state(&d),
    );

    // (b) The published port, on loopback and on the namespace's address.
    for ip in [Ipv4Addr::LOCALHOST, TestNet::HOST_ADDR] {
        let addr = SocketAddr::from((ip, 18080));
        let got = poll(
            &format!("berth's published port {addr} did not answer"),
            || get_hostname(&net, addr),
            || state(&d),
        );
        assert_eq!(got, web, "{addr} answered for another container");
    }

    // (c) Egress from the default bridge (and the user network): to the namespace's own
    //     address, and through FORWARD and masquerade to the outside namespace.
    let host_port = greeter(&net, TestNet::HOST_ADDR);
    let far_port = greeter(&outside, OUTSIDE_FAR);
    let to_host = nc_script(TestNet::HOST_ADDR, host_port);
    let to_far = nc_script(OUTSIDE_FAR, far_port);
    let far_hello = format!("hello {OUTSIDE_NEAR}");
    for (what, script, expect) in [
        ("the namespace's address", to_host.as_str(), "hello "),
        (
            "the outside, masqueraded",
            to_far.as_str(),
            far_hello.as_str(),
        ),
    ] {
        poll(
            &format!("a container on the default bridge did not reach {what}"),
            || {
                let out = d.docker(&["run", "--rm", IMAGE, "/bin/busybox", "sh", "-c", script]);
                String::from_utf8_lossy(&out.stdout)
                    .contains(expect)
                    .then_some(())
            },
            || state(&d),
        );
    }
    poll(
        "a container on the user network did not reach the outside",
        || {
            let out = d.docker(&["exec", "client", "/bin/busybox", "sh", "-c", &to_far]);
            String::from_utf8_lossy(&out.stdout)
                .contains(&far_hello)
                .then_some(())
        },
        || state(&d),
    );
    let t_berth = t_berth.elapsed();

    // 4. dockerd's rules are all still there, in order; berth only added its own.
    let after = iptables_rules(&net);
    assert_only_berth_added(&dockers_rules, &after);
    assert_eq!(forward_policy(&net).as_deref(), Some("drop"));

    // dockerd's own network still works beside berth.
    let t_docker = Instant::now();
    dockerd_cli(&dockerd, &["load", "-i", archive]);
    let dweb = "run -d --name dweb -p 18081:80";
    let dweb: Vec<&str> = dweb
        .split(' ')
        .chain([IMAGE])
        .chain(HTTPD.iter().copied())
        .collect();
    dockerd_cli(&dockerd, &dweb);
    let dweb = dockerd_cli(&dockerd, &["inspect", "-f", "{{.Config.Hostname}}", "dweb"])
        .trim()
        .to_string();
    for ip in [TestNet::HOST_ADDR, Ipv4Addr::LOCALHOST] {
        let addr = SocketAddr::from((ip, 18081));
        let got = poll(
            &format!("dockerd's published port {addr} did not answer"),
            || get_hostname(&net, addr),
            || format!("{}\ndockerd log:\n{}", state(&d), tail(&dockerd.log())),
        );
        assert_eq!(got, dweb, "{addr} answered for another container");
    }
    // And berth's port still answers after dockerd published one.
    let addr = SocketAddr::from((TestNet::HOST_ADDR, 18080));
    assert_eq!(get_hostname(&net, addr).as_deref(), Some(web.as_str()));
    let t_docker = t_docker.elapsed();

    // 5. Clean up: containers on both daemons, then the daemons.
    d.docker_ok(&["rm", "-f", "web", "client"]);
    d.docker_ok(&["network", "rm", "coex"]);
    dockerd_cli(&dockerd, &["rm", "-f", "dweb"]);
    drop(d);
    let left: Vec<String> = iptables_rules(&net)
        .into_iter()
        .filter(|l| l.contains("berth:"))
        .collect();
    eprintln!(
        "timings: dockerd {t_dockerd:?}, berth checks {t_berth:?}, dockerd checks {t_docker:?}, \
         total {:?}; berth's rules left in FORWARD after berthd stopped: {left:?}",
        t0.elapsed()
    );
    drop(dockerd);
}

/// The last 40 lines of a log.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
