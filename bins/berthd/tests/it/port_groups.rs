//! berthd's port groups (`org.berth.port-group`), driven by the docker CLI: members share a
//! published host port, the ready members of the newest ready revision get the connections
//! (round robin) and the DNS answers for a shared alias, a member that is not ready gets
//! neither, and the port stays held while any member runs — the engine's half of `berth compose up`'s zero-downtime updates.

use std::net::SocketAddr;

use berth_testutil::require_root;

use crate::daemon::loaded;
use crate::network::{get_hostname, inspect, net, run_web, sh_on, until, HTTPD, IMAGE};

const GROUP: &[&str] = &[
    "--label",
    "org.berth.port-group=shop/web",
    "--network",
    "pg",
    "--network-alias",
    "web",
    "-p",
    "8080:80",
];

fn with<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    GROUP.iter().chain(extra).copied().collect()
}

#[test]
fn a_port_group_shares_its_port_and_routes_to_its_active_members() {
    require_root!();
    let d = loaded();
    d.docker_ok(&["network", "create", "pg"]);
    let addr: SocketAddr = ([127, 0, 0, 1], 8080).into();
    let served = |want: &str| {
        until(&format!("{want} on {addr}"), 20, || {
            (get_hostname(net(&d), addr).as_deref() == Some(want)).then_some(())
        })
    };
    let ip = |name: &str| inspect(&d, name, "{{.NetworkSettings.Networks.pg.IPAddress}}");
    let ready = |name: &str| inspect(&d, name, "{{json .State.Ready}}");
    let dns = || sh_on(&d, "pg", "busybox nslookup web").1;
    let outsider = || {
        let mut args = vec!["run", "-d", "-p", "8080:80", IMAGE];
        args.extend_from_slice(HTTPD);
        d.docker(&args)
    };

    let v1 = run_web(&d, "v1", GROUP);
    served(&v1);
    until("v1 ready (its port answers the probe)", 10, || {
        (ready("v1") == "true").then_some(())
    });
    let o = outsider();
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("port is already allocated"),
        "a container outside the group took the port: {o:?}"
    );

    // v2 never gets healthy: it shares the port but gets no connection and no DNS answer.
    run_web(
        &d,
        "v2",
        &with(&[
            "--health-cmd",
            "false",
            "--health-interval",
            "1s",
            "--health-retries",
            "1",
        ]),
    );
    until("v2 unhealthy", 20, || {
        (inspect(&d, "v2", "{{.State.Health.Status}}") == "unhealthy").then_some(())
    });
    assert_eq!(ready("v2"), "false");
    for _ in 0..10 {
        assert_eq!(get_hostname(net(&d), addr).as_deref(), Some(v1.as_str()));
    }
    let answer = dns();
    assert!(
        answer.contains(&ip("v1")) && !answer.contains(&ip("v2")),
        "{answer}"
    );

    // v3 (revision r2) turns healthy: the group switches to its revision, so it gets every
    // connection and the DNS answers; v1 is ready but of an older revision.
    let r2 = ["--label", "org.berth.port-group.revision=r2"];
    let v3 = run_web(
        &d,
        "v3",
        &with(&[
            r2[0],
            r2[1],
            "--health-cmd",
            "true",
            "--health-interval",
            "1s",
        ]),
    );
    served(&v3);
    assert_eq!(inspect(&d, "v3", "{{.State.Health.Status}}"), "healthy");
    for _ in 0..10 {
        assert_eq!(get_hostname(net(&d), addr).as_deref(), Some(v3.as_str()));
    }
    let answer = dns();
    assert!(
        answer.contains(&ip("v3")) && !answer.contains(&ip("v1")) && !answer.contains(&ip("v2")),
        "{answer}"
    );

    // v4, a replica of revision r2: the connections are spread over v3 and v4.
    let v4 = run_web(&d, "v4", &with(&r2));
    until("connections spread over v3 and v4", 20, || {
        let seen: std::collections::BTreeSet<String> = (0..10)
            .filter_map(|_| get_hostname(net(&d), addr))
            .collect();
        (seen == [v3.clone(), v4.clone()].into()).then_some(())
    });
    let answer = dns();
    assert!(
        answer.contains(&ip("v3")) && answer.contains(&ip("v4")),
        "{answer}"
    );

    // v1 held the port's socket: it is handed to a remaining member, so the port stays held.
    d.docker_ok(&["rm", "-f", "v1", "v4"]);
    served(&v3);
    let o = outsider();
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("port is already allocated"),
        "the port was free after its holder left the group: {o:?}"
    );
    d.docker_ok(&["rm", "-f", "v2", "v3"]);
    let o = outsider();
    assert!(
        o.status.success(),
        "the port is free once the group is gone: {o:?}"
    );
    let id = String::from_utf8_lossy(&o.stdout).trim().to_string();
    d.docker_ok(&["rm", "-f", &id]);
    d.docker_ok(&["network", "rm", "pg"]);
}
