//! Unit tests of the nft script rendering.

use std::net::Ipv4Addr;

use super::*;
use crate::firewall::{Network, PortRange, Proto};

fn sample() -> Ruleset {
    Ruleset {
        table: "berth".into(),
        generation: 7,
        networks: vec![
            Network {
                name: "web".into(),
                bridge: "br-web".into(),
                subnet: "172.18.0.0/16".parse().unwrap(),
                internal: false,
                isolated: true,
            },
            Network {
                name: "db".into(),
                bridge: "br-db".into(),
                subnet: "172.19.0.0/16".parse().unwrap(),
                internal: true,
                isolated: true,
            },
        ],
        ports: vec![
            PortMapping {
                proto: Proto::Tcp,
                host_ip: None,
                host_ports: PortRange::one(8080),
                container_ip: Ipv4Addr::new(172, 18, 0, 2),
                container_ports: PortRange::one(80),
            },
            PortMapping {
                proto: Proto::Udp,
                host_ip: Some(Ipv4Addr::LOCALHOST),
                host_ports: PortRange {
                    start: 5000,
                    end: 5001,
                },
                container_ip: Ipv4Addr::new(172, 18, 0, 3),
                container_ports: PortRange {
                    start: 6000,
                    end: 6001,
                },
            },
            PortMapping {
                proto: Proto::Sctp,
                host_ip: None,
                host_ports: PortRange {
                    start: 7000,
                    end: 7010,
                },
                container_ip: Ipv4Addr::new(172, 18, 0, 3),
                container_ports: PortRange {
                    start: 7000,
                    end: 7010,
                },
            },
        ],
    }
}

const EXPECTED: &str = r#"add table ip berth
delete table ip berth
table ip berth {
	comment "managed by berth, generation 7"
	set generation {
		type mark
		elements = { 7 }
	}
	set bridges {
		type ifname
		elements = { "br-web", "br-db" }
	}
	chain forward {
		type filter hook forward priority -10; policy accept;
		oifname "br-web" ct state established,related accept
		iifname "br-web" oifname "br-web" accept comment "network web"
		oifname "br-web" ct status dnat accept
		oifname "br-db" ct state established,related accept
		iifname "br-db" oifname "br-db" accept comment "network db"
		iifname "br-web" oifname @bridges drop
		oifname "br-web" iifname @bridges drop
		iifname "br-db" drop
		oifname "br-db" drop
		iifname "br-web" accept
	}
	chain input {
		type filter hook input priority -10; policy accept;
		iifname "br-web" ip daddr != 172.18.0.0/16 udp dport 53 drop
		iifname "br-web" ip daddr != 172.18.0.0/16 tcp dport 53 drop
		iifname "br-db" ip daddr != 172.19.0.0/16 udp dport 53 drop
		iifname "br-db" ip daddr != 172.19.0.0/16 tcp dport 53 drop
	}
	chain localnet {
		type filter hook prerouting priority -300; policy accept;
		iifname @bridges ip daddr 127.0.0.0/8 drop
	}
	chain prerouting {
		type nat hook prerouting priority -100; policy accept;
		fib daddr type local jump published
	}
	chain output {
		type nat hook output priority -100; policy accept;
		fib daddr type local jump published
	}
	chain published {
		tcp dport 8080 dnat to 172.18.0.2:80
		ip daddr 127.0.0.1 udp dport 5000 dnat to 172.18.0.3:6000
		ip daddr 127.0.0.1 udp dport 5001 dnat to 172.18.0.3:6001
		sctp dport 7000-7010 dnat to 172.18.0.3
	}
	chain postrouting {
		type nat hook postrouting priority 100; policy accept;
		oifname "br-web" fib saddr type local masquerade
		oifname "br-web" ip saddr 172.18.0.0/16 ct status dnat masquerade
		ip saddr 172.18.0.0/16 oifname != "br-web" masquerade
		oifname "br-db" fib saddr type local masquerade
		oifname "br-db" ip saddr 172.19.0.0/16 ct status dnat masquerade
	}
}
"#;

#[test]
fn renders_the_whole_table() {
    assert_eq!(render(&sample()).unwrap(), EXPECTED);
}

#[test]
fn empty_ruleset_still_declares_every_chain() {
    let s = render(&Ruleset {
        table: "berth_t1".into(),
        ..Ruleset::default()
    })
    .unwrap();
    assert!(s.starts_with("add table ip berth_t1\ndelete table ip berth_t1\ntable ip berth_t1 {\n"));
    assert!(s.contains("\tset bridges {\n\t\ttype ifname\n\t}\n"));
    assert!(s.contains("elements = { 0 }"));
    for chain in [
        "forward",
        "localnet",
        "prerouting",
        "output",
        "published",
        "postrouting",
    ] {
        assert!(s.contains(&format!("\tchain {chain} {{\n")), "{chain}");
    }
    assert!(!s.contains("masquerade"));
}

#[test]
fn open_network_has_no_drops() {
    let mut r = sample();
    r.networks.truncate(1);
    r.networks[0].isolated = false;
    let s = render(&r).unwrap();
    assert!(!s.contains("drop\n\t\toifname") && !s.contains("oifname @bridges drop"));
    assert!(s.contains("iifname \"br-web\" accept\n"));
}

#[test]
fn every_rule_of_other_tables_is_untouched() {
    // The script names no table but its own: no flush, no foreign table, no `insert`.
    let s = render(&sample()).unwrap();
    for line in s.lines().filter(|l| l.contains("table")) {
        assert!(
            line.ends_with(" ip berth") || line.ends_with(" ip berth {"),
            "{line}"
        );
    }
    assert!(!s.contains("flush") && !s.contains("insert") && !s.contains("ruleset"));
}

#[test]
fn rejects_what_nft_would_misread() {
    for table in [
        "",
        "9berth",
        "ber th",
        "berth;flush ruleset",
        &"x".repeat(65),
    ] {
        let r = Ruleset {
            table: table.to_string(),
            ..Ruleset::default()
        };
        assert!(
            matches!(render(&r), Err(FirewallError::Invalid(_))),
            "{table:?}"
        );
    }
    for bridge in ["", "a\"b", "0123456789abcdef", "a b", "..", "a/b"] {
        let mut r = sample();
        r.networks[0].bridge = bridge.to_string();
        assert!(
            matches!(render(&r), Err(FirewallError::Invalid(_))),
            "{bridge:?}"
        );
    }
    let mut r = sample();
    r.networks[0].name = "x\" drop".into();
    assert!(render(&r).is_err());
}

#[test]
fn port_ranges_must_line_up() {
    let mut r = sample();
    r.ports[0].host_ports = PortRange {
        start: 8000,
        end: 8010,
    };
    let e = render(&r).unwrap_err().to_string();
    assert_eq!(
        e,
        "invalid firewall ruleset: port range 8000-8010 cannot map onto 80-80"
    );
    r.ports[0].host_ports = PortRange { start: 9, end: 8 };
    assert!(render(&r).is_err());
    r.ports[0].host_ports = PortRange::one(0);
    assert!(render(&r).is_err());
}

#[test]
fn one_host_port_for_several_backends_is_spread_round_robin() {
    let to = |ip: u8, host: u16, container: u16| PortMapping {
        proto: Proto::Tcp,
        host_ip: None,
        host_ports: PortRange::one(host),
        container_ip: Ipv4Addr::new(172, 18, 0, ip),
        container_ports: PortRange::one(container),
    };
    let mut r = sample();
    r.ports = vec![to(2, 8080, 80), to(3, 8080, 81), to(4, 9090, 80)];
    let text = render(&r).unwrap();
    assert!(
        text.contains(
            "\t\ttcp dport 8080 dnat ip to numgen inc mod 2 map { 0 : 172.18.0.2 . 80, 1 : 172.18.0.3 . 81 }\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("\t\ttcp dport 9090 dnat to 172.18.0.4:80\n"),
        "{text}"
    );
}
