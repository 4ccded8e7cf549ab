//! [`Ruleset`] → nft script. Pure: the unit tests compare the exact text.
//!
//! Chains of `table ip <name>` (numeric priorities: nft 1.0.6 accepts `dstnat` only at
//! prerouting):
//! - `forward` (filter, priority -10, policy accept): replies, same-bridge traffic and DNATed
//!   traffic (published ports, also from other networks via the host address) accepted; then
//!   `--internal` bridges drop everything else in and out, isolated bridges drop traffic to and
//!   from every other berth bridge; then egress accepted. The policy is accept because berth must never drop what is not its own.
//!   The priority only orders evaluation: no priority lets an accept override another table's
//!   drop (see `mod.rs`).
//! - `localnet` (filter, prerouting, -300, before conntrack): packets from berth bridges to
//!   127.0.0.0/8 dropped, which `route_localnet` would otherwise let through. At that priority
//!   replies to a DNATed `127.0.0.1` connection still carry the bridge address, so they pass
//!   (a rule in the input hook would see them de-NATed to 127.0.0.1 and break localhost).
//! - `prerouting` and `output` (nat, -100): `fib daddr type local jump published`, so a port is
//!   published on every local address, 127.0.0.1 included, and from other containers.
//! - `published`: one DNAT per port (a range with equal host and container ports is one rule).
//! - `postrouting` (nat, 100): local sources going into a bridge (loopback, the host address)
//!   and hairpin (a container to a published port of its own network) are masqueraded so
//!   replies come back through conntrack; egress of non-internal networks is masqueraded.

use std::fmt::Write;

use super::{FirewallError, PortMapping, Ruleset};

/// nft identifiers berth uses: a letter, then letters, digits, `_` or `-`; at most 64 bytes.
pub(super) fn check_table(name: &str) -> Result<(), FirewallError> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && name.len() <= 64;
    match ok {
        true => Ok(()),
        false => Err(FirewallError::Invalid(format!(
            "bad nft table name {name:?}"
        ))),
    }
}

/// Linux interface names: 1–15 bytes, no `/`, whitespace, quotes or `:`.
pub(super) fn check_ifname(name: &str) -> Result<(), FirewallError> {
    let ok = !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '/' | ':' | '"' | '\\'));
    match ok {
        true => Ok(()),
        false => Err(FirewallError::Invalid(format!(
            "bad interface name {name:?}"
        ))),
    }
}

/// The whole nft script for `rules`: delete-and-recreate of berth's table only.
pub fn render(rules: &Ruleset) -> Result<String, FirewallError> {
    let t = &rules.table;
    check_table(t)?;
    for n in &rules.networks {
        check_ifname(&n.bridge)?;
        if n.name.contains(['"', '\\', '\n']) {
            return Err(FirewallError::Invalid(format!(
                "bad network name {:?}",
                n.name
            )));
        }
    }
    let mut s = String::new();
    // `add` first so that `delete` cannot fail on a host where the table does not exist yet.
    let _ = writeln!(s, "add table ip {t}\ndelete table ip {t}\ntable ip {t} {{");
    let _ = writeln!(
        s,
        "\tcomment \"managed by berth, generation {}\"",
        rules.generation
    );
    let _ = writeln!(
        s,
        "\tset generation {{\n\t\ttype mark\n\t\telements = {{ {} }}\n\t}}",
        rules.generation
    );
    let bridges: Vec<String> = rules
        .networks
        .iter()
        .map(|n| format!("\"{}\"", n.bridge))
        .collect();
    let _ = write!(s, "\tset bridges {{\n\t\ttype ifname\n");
    if !bridges.is_empty() {
        let _ = writeln!(s, "\t\telements = {{ {} }}", bridges.join(", "));
    }
    s.push_str("\t}\n");

    // Accepts that must win over isolation first, then every drop, then the other accepts:
    // within berth's chain the first verdict ends the walk, so one network's accept must
    // never come before another network's drop.
    chain(&mut s, "forward", "filter hook forward priority -10");
    for n in &rules.networks {
        let b = &n.bridge;
        let note = comment(&n.name);
        let _ = writeln!(s, "\t\toifname \"{b}\" ct state established,related accept");
        let _ = writeln!(s, "\t\tiifname \"{b}\" oifname \"{b}\" accept{note}");
        if !n.internal {
            // Published ports stay reachable from other networks through the host's address.
            let _ = writeln!(s, "\t\toifname \"{b}\" ct status dnat accept");
        }
    }
    for n in &rules.networks {
        let b = &n.bridge;
        if n.internal {
            let _ = writeln!(s, "\t\tiifname \"{b}\" drop\n\t\toifname \"{b}\" drop");
        } else if n.isolated {
            let _ = writeln!(s, "\t\tiifname \"{b}\" oifname @bridges drop");
            let _ = writeln!(s, "\t\toifname \"{b}\" iifname @bridges drop");
        }
    }
    for n in rules.networks.iter().filter(|n| !n.internal) {
        let _ = writeln!(s, "\t\tiifname \"{}\" accept", n.bridge);
    }
    s.push_str("\t}\n");

    // The host's services seen from a bridge: a network's DNS responder (on its gateway)
    // answers only its own network, so another network cannot learn its names by asking
    // that gateway directly.
    chain(&mut s, "input", "filter hook input priority -10");
    for n in &rules.networks {
        let (b, net) = (&n.bridge, n.subnet);
        for proto in ["udp", "tcp"] {
            let _ = writeln!(
                s,
                "\t\tiifname \"{b}\" ip daddr != {net} {proto} dport 53 drop"
            );
        }
    }
    s.push_str(
        "	}
",
    );

    // Before conntrack (-200) and NAT: the address the sender wrote, not a de-NATed reply's.
    chain(&mut s, "localnet", "filter hook prerouting priority -300");
    s.push_str("\t\tiifname @bridges ip daddr 127.0.0.0/8 drop\n\t}\n");
    for hook in ["prerouting", "output"] {
        chain(&mut s, hook, &format!("nat hook {hook} priority -100"));
        s.push_str("\t\tfib daddr type local jump published\n\t}\n");
    }

    s.push_str("\tchain published {\n");
    let same = |a: &PortMapping, b: &PortMapping| {
        (a.proto, a.host_ip, a.host_ports) == (b.proto, b.host_ip, b.host_ports)
    };
    for group in rules.ports.chunk_by(|a, b| same(a, b)) {
        dnat(&mut s, group)?;
    }
    s.push_str("\t}\n");

    chain(&mut s, "postrouting", "nat hook postrouting priority 100");
    for n in &rules.networks {
        let (b, net) = (&n.bridge, n.subnet);
        let _ = writeln!(s, "\t\toifname \"{b}\" fib saddr type local masquerade");
        let _ = writeln!(
            s,
            "\t\toifname \"{b}\" ip saddr {net} ct status dnat masquerade"
        );
        if !n.internal {
            let _ = writeln!(s, "\t\tip saddr {net} oifname != \"{b}\" masquerade");
        }
    }
    s.push_str("\t}\n}\n");
    Ok(s)
}

fn comment(name: &str) -> String {
    match name.is_empty() {
        true => String::new(),
        false => format!(" comment \"network {name}\""),
    }
}

fn chain(s: &mut String, name: &str, spec: &str) {
    let _ = writeln!(s, "\tchain {name} {{\n\t\ttype {spec}; policy accept;");
}

/// The DNAT rules of one host port (or range): to one container, or spread round robin
/// over several (a port group's active members, `backends` all with the same host side).
fn dnat(s: &mut String, backends: &[PortMapping]) -> Result<(), FirewallError> {
    for p in backends {
        let (h, c) = (p.host_ports, p.container_ports);
        if h.start > h.end || c.start > c.end || h.end - h.start != c.end - c.start || h.start == 0
        {
            return Err(FirewallError::Invalid(format!(
                "port range {}-{} cannot map onto {}-{}",
                h.start, h.end, c.start, c.end
            )));
        }
    }
    let [p] = backends else {
        return spread(s, backends);
    };
    let (h, c) = (p.host_ports, p.container_ports);
    let daddr = p
        .host_ip
        .map(|ip| format!("ip daddr {ip} "))
        .unwrap_or_default();
    let proto = p.proto.as_str();
    if h.start != h.end && h == c {
        let _ = writeln!(
            s,
            "\t\t{daddr}{proto} dport {}-{} dnat to {}",
            h.start, h.end, p.container_ip
        );
        return Ok(());
    }
    for (hp, cp) in (h.start..=h.end).zip(c.start..=c.end) {
        let _ = writeln!(
            s,
            "\t\t{daddr}{proto} dport {hp} dnat to {}:{cp}",
            p.container_ip
        );
    }
    Ok(())
}

/// One `numgen` rule per host port, its map naming each backend's address and port.
fn spread(s: &mut String, backends: &[PortMapping]) -> Result<(), FirewallError> {
    let Some(first) = backends.first() else {
        return Ok(());
    };
    let daddr = first
        .host_ip
        .map(|ip| format!("ip daddr {ip} "))
        .unwrap_or_default();
    let proto = first.proto.as_str();
    let h = first.host_ports;
    for (i, hp) in (h.start..=h.end).enumerate() {
        let map: Vec<String> = backends
            .iter()
            .enumerate()
            .map(|(n, b)| {
                format!(
                    "{n} : {} . {}",
                    b.container_ip,
                    b.container_ports.start + i as u16
                )
            })
            .collect();
        let _ = writeln!(
            s,
            "\t\t{daddr}{proto} dport {hp} dnat ip to numgen inc mod {} map {{ {} }}",
            backends.len(),
            map.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
