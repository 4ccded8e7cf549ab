//! Networks across many runs and across a `kill -9` of berthd: nothing leaks, running
//! containers keep their addresses, ports and names, a flushed ruleset comes back.

use std::net::SocketAddr;
use std::time::Duration;

use berth_testutil::netns::TestNet;
use berth_testutil::require_root;

use crate::daemon::loaded;
use crate::network::{get_hostname, inspect, nc_get, net, run_web, sh_on, until, IMAGE};

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
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            "cycle",
            "-p",
            "18500:80",
            IMAGE,
            "busybox",
            "sleep",
            "60",
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
    assert!(
        res.contains("NXDOMAIN") || res.contains("can't find"),
        "{res}"
    );
    d.docker_ok(&["rm", "-f", "last"]);
}

#[test]
fn kill9_and_restart_keep_running_containers_networked() {
    require_root!();
    let mut d = loaded();
    d.docker_ok(&["network", "create", "keep"]);
    let short = run_web(&d, "web", &["--network", "keep", "-p", "18090:80"]);
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "brief",
        "--network",
        "keep",
        IMAGE,
        "busybox",
        "sleep",
        "3",
    ]);
    let n = d.net.clone().expect("namespace");
    let addr = SocketAddr::from((TestNet::HOST_ADDR, 18090));
    assert_eq!(until("web published", 10, || get_hostname(&n, addr)), short);
    let links_before = links(&n).len();
    d.kill9();
    std::thread::sleep(Duration::from_secs(4)); // `brief` exits while berthd is away.
    d.restart();
    // The running container kept its address, port and name; the ended one lost its veth.
    assert_eq!(
        until("web after restart", 10, || get_hostname(&n, addr)),
        short
    );
    until("brief's veth removed", 10, || {
        (links(&n).len() < links_before).then_some(())
    });
    assert_eq!(
        inspect(&d, "brief", "{{.NetworkSettings.Networks.keep.IPAddress}}"),
        ""
    );
    let (_, by_name) = sh_on(&d, "keep", &nc_get("web"));
    assert_eq!(by_name.trim(), short, "name lost after restart");
    // The port is still held: another container cannot take it.
    let dup = d.docker(&["run", "-d", "-p", "18090:80", IMAGE, "busybox", "true"]);
    assert!(
        !dup.status.success(),
        "port handed out twice after a restart"
    );

    // A flushed ruleset is noticed and restored.
    let st = std::process::Command::new("nsenter")
        .arg(format!("--net={}", n.path().display()))
        .args(["nft", "flush", "ruleset"])
        .status()
        .expect("nft");
    assert!(st.success());
    assert_eq!(
        until("port restored after flush", 15, || get_hostname(&n, addr)),
        short
    );
    until("restore logged", 5, || {
        d.log().contains("restoring it").then_some(())
    });
    d.docker_ok(&["rm", "-f", "web", "brief"]);
}
