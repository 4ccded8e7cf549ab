//! `berth network …`, `run -p/--network/--network-alias`, `port` and ps's PORTS against a
//! private berthd, with the docker CLI's output on the same daemon as the reference.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use berth_testutil::netns::TestNet;
use berth_testutil::require_root;

use crate::daemon_client::Daemon;

const IMAGE: &str = "bench/load:latest";

#[test]
fn network_verbs_ports_and_docker_parity() {
    require_root!();
    let d = Daemon::start();
    d.load_image();
    let id = d.ok(&[
        "network",
        "create",
        "--subnet",
        "10.77.0.0/24",
        "--label",
        "k=v",
        "front",
    ]);
    assert_eq!(id.trim().len(), 64, "{id}");
    for args in [
        &["network", "ls"][..],
        &[
            "network",
            "ls",
            "--filter",
            "label=k=v",
            "--format",
            "{{.Name}} {{.Driver}}",
        ],
        &[
            "network",
            "inspect",
            "front",
            "--format",
            "{{.Name}} {{.Driver}} {{.Internal}} {{.Labels}}",
        ],
    ] {
        assert_eq!(
            d.ok(args),
            d.docker(args),
            "berth {args:?} differs from docker"
        );
    }
    let web = d.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "front",
        "--network-alias",
        "site",
        "-p",
        "18070:80",
        IMAGE,
        "busybox",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/etc",
    ]);
    let short = &web.trim()[..12];
    assert_eq!(d.ok(&["port", "web"]), "80/tcp -> 0.0.0.0:18070\n");
    assert_eq!(d.ok(&["port", "web"]), d.docker(&["port", "web"]));
    let ps = ["ps", "--format", "{{.Names}} {{.Ports}} {{.Networks}}"];
    assert_eq!(d.ok(&ps), "web 0.0.0.0:18070->80/tcp front\n");
    assert_eq!(d.ok(&ps), d.docker(&ps));
    // The published port answers from berthd's namespace, on loopback and the host address.
    for ip in [std::net::Ipv4Addr::LOCALHOST, TestNet::HOST_ADDR] {
        let addr = SocketAddr::from((ip, 18070));
        let deadline = Instant::now() + Duration::from_secs(10);
        let body = loop {
            let got = d.net.http_body(addr, "/hostname");
            if let Some(b) = got {
                break b;
            }
            assert!(Instant::now() < deadline, "{addr} never answered");
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(body, short, "via {ip}");
    }
    // By alias from another container on the network.
    let probe =
        "printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 2 site 80 | busybox tail -n 1";
    let out = d.ok(&[
        "run",
        "--rm",
        "--network",
        "front",
        IMAGE,
        "busybox",
        "sh",
        "-c",
        probe,
    ]);
    assert_eq!(out.trim(), short);
    d.ok(&["network", "create", "back"]);
    d.ok(&["network", "connect", "--alias", "api", "back", "web"]);
    let nets = d.ok(&[
        "inspect",
        "web",
        "--format",
        "{{len .NetworkSettings.Networks}}",
    ]);
    assert_eq!(nets.trim(), "2");
    d.ok(&["network", "disconnect", "back", "web"]);
    let busy = d.berth(&["network", "rm", "front"]);
    assert!(
        !busy.ok && busy.stderr.contains("active endpoints"),
        "{busy:?}"
    );
    d.ok(&["rm", "-f", "web"]);
    assert_eq!(d.ok(&["network", "rm", "front", "back"]), "front\nback\n");
    let bad = d.berth(&["run", "--rm", "-p", "80:x", IMAGE, "true"]);
    assert!(
        !bad.ok && bad.stderr.contains("invalid containerPort: x"),
        "{bad:?}"
    );
}
