//! berth beside a dockerd-style `FORWARD` drop policy, all inside a private network namespace
//! (a thread that unshared CLONE_NEWNET; nft, iptables and ip children inherit it): the
//! foreign table, the bridges and the "containers" (namespaces of their own) die with it.
//!
//! Topology: bridge A with containers a1 and a2 (bridged traffic, which walks the IPv4
//! FORWARD hook only with `bridge-nf-call-iptables=1`), bridge B with container b1 (routed
//! traffic between the two subnets, which always walks it).

use std::process::{Command, Stdio};

use berth_network::firewall::{self, ForeignChain};
use berth_network::netlink::{Ipv4Net, Netlink};
use berth_network::netns::NetNs;
use berth_testutil::require_root;

use crate::util::{link_name, NsDir};

const DOCKER: &str = "table ip filter {
\tchain FORWARD {
\t\ttype filter hook forward priority filter; policy drop;
\t\tiifname \"docker0\" oifname != \"docker0\" accept
\t}
}
";

fn run(cmd: &str, args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {cmd}: {e}"));
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        std::io::Write::write_all(&mut pipe, text.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// A "container": its own namespace, a veth whose host end is on `bridge`, `ip`/24 on eth0
/// and a default route via `gw`.
fn attach(nl: &mut Netlink, ns: &NetNs, bridge: &str, ip: Ipv4Net, gw: Ipv4Net) {
    let (host, peer) = (link_name(), link_name());
    nl.create_veth(&host, &peer, ns, Some(bridge)).unwrap();
    nl.set_up(&host).unwrap();
    let mut inside = Netlink::new_in(ns).unwrap();
    inside.set_name(&peer, "eth0").unwrap();
    inside.add_address("eth0", ip).unwrap();
    inside.set_up("lo").unwrap();
    inside.set_up("eth0").unwrap();
    inside.add_default_route(gw.addr).unwrap();
}

fn ping(from: &NetNs, to: Ipv4Net, tries: usize) -> bool {
    crate::util::ping_from(from, &to.addr.to_string(), tries)
}

fn tagged_rules(tag: &str) -> usize {
    let (ok, text) = run("nft", &["list", "chain", "ip", "filter", "FORWARD"], None);
    assert!(ok, "{text}");
    text.lines()
        .filter(|l| l.contains(&format!("comment \"{tag}\"")))
        .count()
}

#[test]
fn accept_rules_in_a_foreign_drop_chain_let_berth_traffic_through() {
    require_root!();
    let dir = NsDir::new();
    let (a1, a2, b1) = (dir.create("a1"), dir.create("a2"), dir.create("b1"));
    std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
        scenario(&a1, &a2, &b1);
    })
    .join()
    .expect("test thread in the private netns failed");
    drop(dir);
}

fn scenario(a1: &NetNs, a2: &NetNs, b1: &NetNs) {
    let net = |s: &str| s.parse::<Ipv4Net>().unwrap();
    let (br_a, br_b) = (link_name(), link_name());
    let mut nl = Netlink::new().unwrap();
    nl.set_up("lo").unwrap();
    for (br, gw) in [(&br_a, "10.77.1.1/24"), (&br_b, "10.77.2.1/24")] {
        nl.create_bridge(br, None).unwrap();
        nl.add_address(br, net(gw)).unwrap();
        nl.set_up(br).unwrap();
    }
    attach(&mut nl, a1, &br_a, net("10.77.1.2/24"), net("10.77.1.1/24"));
    attach(&mut nl, a2, &br_a, net("10.77.1.3/24"), net("10.77.1.1/24"));
    attach(&mut nl, b1, &br_b, net("10.77.2.2/24"), net("10.77.2.1/24"));
    std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").unwrap();
    // br_netfilter's switch is per namespace since Linux 5.3: on here, as dockerd sets it.
    let bridged = std::fs::write("/proc/sys/net/bridge/bridge-nf-call-iptables", "1").is_ok();
    if !bridged {
        eprintln!("br_netfilter unavailable: only routed traffic is checked");
    }
    let (a2_ip, b1_ip) = (net("10.77.1.3/24"), net("10.77.2.2/24"));
    assert!(ping(a1, a2_ip, 5), "bridged ping before any firewall");
    assert!(ping(a1, b1_ip, 5), "routed ping before any firewall");

    let (ok, out) = run("nft", &["-f", "-"], Some(DOCKER));
    assert!(ok, "{out}");
    let (_, before) = run("nft", &["list", "table", "ip", "filter"], None);
    assert!(
        !ping(a1, b1_ip, 1),
        "routed traffic must be dropped by the foreign policy"
    );
    if bridged {
        assert!(!ping(a1, a2_ip, 1), "bridged traffic must be dropped too");
    }

    let chains = firewall::foreign_forward_drops("berth").unwrap();
    let want = ForeignChain {
        family: "ip".into(),
        table: "filter".into(),
        chain: "FORWARD".into(),
    };
    assert_eq!(chains, [want]);
    let tag = firewall::foreign_tag("berth");
    let bridges = [br_a.clone(), br_b.clone()];
    firewall::allow_in_foreign(&chains, &bridges, &tag).unwrap();
    assert!(ping(a1, b1_ip, 3), "routed traffic allowed");
    if bridged {
        assert!(ping(a1, a2_ip, 3), "bridged traffic allowed");
    }
    let (_, listing) = run("nft", &["list", "chain", "ip", "filter", "FORWARD"], None);
    assert!(
        listing.contains("iifname \"docker0\" oifname != \"docker0\" accept"),
        "the foreign rule must stay: {listing}"
    );
    let first_rule = listing.lines().find(|l| l.contains("accept")).unwrap();
    assert!(
        first_rule.contains(&tag),
        "berth's rules come first: {listing}"
    );
    assert_eq!(tagged_rules(&tag), 4, "{listing}");

    // Idempotent: a second call replaces, it does not add.
    firewall::allow_in_foreign(&chains, &bridges, &tag).unwrap();
    assert_eq!(tagged_rules(&tag), 4);
    // Another tag's rules are left alone by this tag's calls.
    firewall::allow_in_foreign(&chains, &bridges[..1], "berth:other").unwrap();
    firewall::allow_in_foreign(&chains, &bridges[1..], &tag).unwrap();
    assert_eq!(tagged_rules(&tag), 2);
    assert_eq!(tagged_rules("berth:other"), 2);
    firewall::remove_from_foreign("berth:other").unwrap();
    firewall::allow_in_foreign(&chains, &bridges, &tag).unwrap();

    // iptables-nft still understands the chain, comments included.
    let (ok, rules) = run("iptables-nft", &["-S", "FORWARD"], None);
    assert!(ok, "iptables-nft -S FORWARD failed: {rules}");
    assert!(
        !rules.contains("unsupported") && !rules.contains("incompatible"),
        "{rules}"
    );
    for (flag, br) in [("-i", &br_a), ("-o", &br_a), ("-i", &br_b), ("-o", &br_b)] {
        let want = format!("-A FORWARD {flag} {br} -m comment --comment {tag} -j ACCEPT");
        let quoted = want.replace(&tag, &format!("\"{tag}\""));
        assert!(
            rules.lines().any(|l| l == want || l == quoted),
            "{want} missing from:\n{rules}"
        );
    }
    assert!(
        rules.contains("-A FORWARD -i docker0 ! -o docker0 -j ACCEPT"),
        "{rules}"
    );

    firewall::remove_from_foreign(&tag).unwrap();
    let (_, after) = run("nft", &["list", "table", "ip", "filter"], None);
    assert_eq!(after, before, "the foreign table must be exactly as before");
    firewall::remove_from_foreign(&tag).expect("nothing left to remove is fine");
    assert!(!ping(a1, b1_ip, 1), "dropped again");
}
