//! Kernel-real tests of berth's nftables table (`berth_network::firewall`), as root.
//!
//! Every test on the host's ruleset uses a table of its own (`berthtest-<pid>-<n>`), removes it
//! through a Drop guard even when it fails, and checks that the host's list of tables is the
//! same before and after, apart from test tables. `nft flush ruleset` would wipe other owners'
//! tables, so a flush is simulated by deleting only the test's table — or done for real inside
//! a private network namespace (a thread that unshared CLONE_NEWNET; nft inherits it), which is
//! also where a dockerd-like `FORWARD` drop policy is set up to test coexistence.

use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use berth_network::firewall::{self, Network, PortMapping, PortRange, Proto, Ruleset};
use serde_json::Value;

const PREFIX: &str = "berthtest";

/// Fails (never skips) when nft is missing: the test machine must have it.
fn require_nft() {
    let ok = Command::new("nft")
        .arg("--version")
        .stdout(Stdio::null())
        .status();
    assert!(
        ok.is_ok_and(|s| s.success()),
        "nft not found: install Debian's nftables package (apt-get install nftables)"
    );
}

fn nft(args: &[&str]) -> (bool, String) {
    let out = Command::new("nft")
        .args(args)
        .output()
        .expect("running nft");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The host's tables, without the ones tests of this file make (they may run in parallel).
fn other_tables() -> Vec<String> {
    let (ok, out) = nft(&["list", "tables"]);
    assert!(ok);
    let mut t: Vec<String> = out
        .lines()
        .filter(|l| !l.contains(PREFIX))
        .map(String::from)
        .collect();
    t.sort();
    t
}

/// Removes the test's table on drop, and checks nothing else changed.
struct Guard {
    table: String,
    before: Vec<String>,
}

impl Guard {
    fn new() -> Guard {
        require_nft();
        Guard {
            table: berth_testutil::unique(PREFIX),
            before: other_tables(),
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = firewall::remove(&self.table);
        if !std::thread::panicking() {
            assert_eq!(
                other_tables(),
                self.before,
                "tables other than the test's changed"
            );
        }
    }
}

fn ruleset(table: &str, generation: u32) -> Ruleset {
    let net = |name: &str, bridge: &str, subnet: &str, internal| Network {
        name: name.into(),
        bridge: bridge.into(),
        subnet: subnet.parse().unwrap(),
        internal,
        isolated: true,
    };
    let port = |proto, host: u16, last: u16, ip: [u8; 4], container: u16| PortMapping {
        proto,
        host_ip: None,
        host_ports: PortRange {
            start: host,
            end: last,
        },
        container_ip: Ipv4Addr::from(ip),
        container_ports: PortRange {
            start: container,
            end: container + (last - host),
        },
    };
    Ruleset {
        table: table.into(),
        generation,
        networks: vec![
            net("a", "bt-fw-a", "10.251.0.0/24", false),
            net("b", "bt-fw-b", "10.251.1.0/24", true),
        ],
        ports: vec![
            port(Proto::Tcp, 18080, 18080, [10, 251, 0, 2], 80),
            port(Proto::Udp, 15353, 15354, [10, 251, 0, 3], 53),
        ],
    }
}

/// `nft -j list table ip <t>` as (chains with their hooks, rules per chain), handles dropped.
/// (chain name, hook) and (chain name, rule expression) pairs.
type Listing = (Vec<(String, Option<String>)>, Vec<(String, Value)>);

fn listing(table: &str) -> Listing {
    let (ok, out) = nft(&["-j", "list", "table", "ip", table]);
    assert!(ok, "table {table} missing");
    let v: Value = serde_json::from_str(&out).unwrap();
    let (mut chains, mut rules) = (vec![], vec![]);
    for o in v["nftables"].as_array().unwrap() {
        if let Some(c) = o.get("chain") {
            chains.push((
                c["name"].as_str().unwrap().into(),
                c["hook"].as_str().map(String::from),
            ));
        }
        if let Some(r) = o.get("rule") {
            rules.push((r["chain"].as_str().unwrap().into(), r["expr"].clone()));
        }
    }
    (chains, rules)
}

fn count(rules: &[(String, Value)], chain: &str) -> usize {
    rules.iter().filter(|(c, _)| c == chain).count()
}

#[test]
fn apply_creates_berths_chains_and_rules() {
    berth_testutil::require_root!();
    let g = Guard::new();
    firewall::apply(&ruleset(&g.table, 1)).unwrap();
    let (chains, rules) = listing(&g.table);
    let hooked = |name: &str, hook: &str| chains.contains(&(name.into(), Some(hook.into())));
    assert!(hooked("forward", "forward") && hooked("localnet", "prerouting"));
    assert!(hooked("prerouting", "prerouting") && hooked("output", "output"));
    assert!(hooked("postrouting", "postrouting"));
    assert!(chains.contains(&("published".into(), None)));
    assert_eq!(count(&rules, "published"), 3, "one DNAT per port");
    assert_eq!(count(&rules, "prerouting"), 1);
    // a: established, same-bridge, dnat, 2 isolation drops, egress; b (internal): 2 + 2 drops.
    assert_eq!(count(&rules, "forward"), 10);
    // a: local, hairpin, egress; b (internal): local, hairpin, no egress.
    assert_eq!(count(&rules, "postrouting"), 5);
    let (_, text) = nft(&["list", "chain", "ip", &g.table, "published"]);
    assert!(
        text.contains("tcp dport 18080 dnat to 10.251.0.2:80"),
        "{text}"
    );
    assert!(firewall::present(&g.table, 1).unwrap());
    assert!(!firewall::present(&g.table, 2).unwrap());
}

#[test]
fn reapply_is_idempotent_and_replaces() {
    berth_testutil::require_root!();
    let g = Guard::new();
    let rules = ruleset(&g.table, 1);
    firewall::apply(&rules).unwrap();
    let first = listing(&g.table);
    firewall::apply(&rules).unwrap();
    assert_eq!(
        listing(&g.table),
        first,
        "a second apply must not add or change anything"
    );

    let mut changed = ruleset(&g.table, 2);
    changed.ports.truncate(1);
    changed.networks.truncate(1);
    firewall::apply(&changed).unwrap();
    let (_, rules) = listing(&g.table);
    assert_eq!(count(&rules, "published"), 1);
    assert!(firewall::present(&g.table, 2).unwrap());
    assert!(!firewall::present(&g.table, 1).unwrap());
}

#[test]
fn a_deleted_table_is_noticed_and_restored() {
    berth_testutil::require_root!();
    let g = Guard::new();
    let rules = ruleset(&g.table, 5);
    firewall::apply(&rules).unwrap();
    assert!(firewall::present(&g.table, 5).unwrap());
    // What a flush does to berth's table, without touching anyone else's.
    assert!(nft(&["delete", "table", "ip", &g.table]).0);
    assert!(!firewall::present(&g.table, 5).unwrap());
    firewall::apply(&rules).unwrap();
    assert!(firewall::present(&g.table, 5).unwrap());
}

#[test]
fn remove_leaves_nothing_and_is_idempotent() {
    berth_testutil::require_root!();
    let g = Guard::new();
    firewall::apply(&ruleset(&g.table, 1)).unwrap();
    firewall::remove(&g.table).unwrap();
    assert!(!nft(&["list", "table", "ip", &g.table]).0);
    assert!(!nft(&["list", "tables"]).1.contains(&g.table));
    firewall::remove(&g.table).unwrap();
    assert!(!firewall::present(&g.table, 1).unwrap());
}

#[test]
fn a_refused_script_changes_nothing() {
    berth_testutil::require_root!();
    let g = Guard::new();
    firewall::apply(&ruleset(&g.table, 1)).unwrap();
    let before = listing(&g.table);
    // nft rejects the whole batch (a jump to a missing chain): the delete at its top included.
    let script = firewall::render(&ruleset(&g.table, 2)).unwrap();
    assert!(!nft_stdin(
        &script.replace("jump published", "jump nowhere")
    ));
    assert!(
        firewall::present(&g.table, 1).unwrap(),
        "the failed batch must not have applied"
    );
    assert_eq!(listing(&g.table), before);
}

fn nft_stdin(script: &str) -> bool {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("running nft");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), script.as_bytes()).unwrap();
    drop(child.stdin.take());
    child.wait().unwrap().success()
}

/// Runs `f` on a thread of its own in a fresh network namespace (nft children inherit it).
fn in_private_netns(f: impl FnOnce() + Send + 'static) {
    std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
        f();
    })
    .join()
    .expect("test thread in private netns failed");
}

#[test]
fn beside_a_dockerd_style_forward_drop_in_a_private_netns() {
    berth_testutil::require_root!();
    require_nft();
    in_private_netns(|| {
        // What dockerd (iptables-nft) leaves: table ip filter, chain FORWARD, policy drop.
        let docker = "table ip filter {\n\tchain FORWARD {\n\t\ttype filter hook forward priority 0; policy drop;\n\t\tiifname \"docker0\" accept\n\t}\n}\n";
        assert!(nft_stdin(docker));
        let (_, docker_before) = nft(&["list", "table", "ip", "filter"]);

        firewall::apply(&ruleset("berth", 1)).unwrap();
        let found = firewall::foreign_forward_drops("berth").unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].to_string(), "table ip filter chain FORWARD");
        firewall::remove("berth").unwrap();
        assert_eq!(
            nft(&["list", "table", "ip", "filter"]).1,
            docker_before,
            "dockerd's table changed"
        );

        // A real `nft flush ruleset` (harmless here: the namespace is ours) is noticed.
        firewall::apply(&ruleset("berth", 9)).unwrap();
        assert!(nft(&["flush", "ruleset"]).0);
        assert!(!firewall::present("berth", 9).unwrap());
        assert!(firewall::foreign_forward_drops("berth").unwrap().is_empty());
    });
}

fn sh(script: &str) -> (bool, String) {
    let out = Command::new("sh")
        .args(["-c", script])
        .output()
        .expect("running sh");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// A "container": a child in a network namespace of its own that serves `reply` on port 80,
/// with `ip` on bridge `bt-fw-a` through veth `host_end`. Killed on drop, even on failure.
fn container(ip: &str, host_end: &str, reply: &str) -> Container {
    let args = [
        "-n", "busybox", "nc", "-ll", "-p", "80", "-e", "echo", reply,
    ];
    let child = Container(Command::new("unshare").args(args).spawn().expect("unshare"));
    let pid = child.0.id();
    let (ok, out) = sh(&format!(
        "set -e
        ip link add {host_end} type veth peer name {host_end}c
        ip link set {host_end} master bt-fw-a up && ip link set {host_end}c netns {pid}
        nsenter -t {pid} -n sh -c 'ip link set lo up && ip link set {host_end}c name eth0 &&
            ip addr add {ip}/24 dev eth0 && ip link set eth0 up &&
            ip route add default via 10.251.0.1'"
    ));
    assert!(ok, "{out}");
    child
}

struct Container(std::process::Child);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Traffic, all inside a private netns: container A (10.251.0.2) on bridge bt-fw-a publishes
/// port 80 as 18080; the "host" reaches it on 127.0.0.1 and on its own address (10.252.0.1),
/// and container B on the same bridge reaches it through the host address (hairpin NAT).
#[test]
fn published_port_answers_on_loopback_host_address_and_hairpin() {
    berth_testutil::require_root!();
    require_nft();
    let busybox = Command::new("busybox").arg("true").status();
    assert!(
        busybox.is_ok_and(|s| s.success()),
        "busybox not found: install busybox-static"
    );
    in_private_netns(|| {
        let (ok, out) = sh("set -e
            ip link set lo up
            ip link add hx type veth peer name hy && ip addr add 10.252.0.1/24 dev hx
            ip link set hx up && ip link set hy up
            ip link add bt-fw-a type bridge && ip addr add 10.251.0.1/24 dev bt-fw-a
            ip link set bt-fw-a up
            echo 1 > /proc/sys/net/ipv4/ip_forward");
        assert!(ok, "{out}");
        let _a = container("10.251.0.2", "bt-va", "hello");
        let b = container("10.251.0.3", "bt-vb", "other");
        let mut rules = ruleset("berth", 1);
        rules.networks.truncate(1);
        firewall::apply(&rules).unwrap();
        firewall::enable_route_localnet("bt-fw-a").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        let get =
            |from: &str, addr: &str| sh(&format!("{from} busybox nc -w 3 {addr} 18080 </dev/null"));
        let results = [
            ("127.0.0.1", get("", "127.0.0.1")),
            ("host address", get("", "10.252.0.1")),
            (
                "hairpin",
                get(&format!("nsenter -t {} -n", b.0.id()), "10.252.0.1"),
            ),
        ];
        let got: Vec<_> = results.iter().map(|(w, (_, o))| (*w, o.trim())).collect();
        let want = [
            ("127.0.0.1", "hello"),
            ("host address", "hello"),
            ("hairpin", "hello"),
        ];
        assert_eq!(got, want);
    });
}
