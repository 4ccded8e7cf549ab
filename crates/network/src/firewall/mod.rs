//! berth's firewall: NAT, published ports and isolation as nftables rules in berth's own table.
//!
//! **One table, one atomic batch.** Everything berth needs lives in `table ip berth` (the name is
//! [`Ruleset::table`], so tests use their own). [`render`] turns a [`Ruleset`] — plain data the
//! engine derives from its networks and containers — into a single nft script that begins with
//! `add table ip berth; delete table ip berth;` and then declares the whole table again;
//! [`apply`] feeds it to `nft -f -`. The kernel commits an nft batch as one transaction: either
//! the new table replaces the old one entirely or nothing changes, so a re-apply is idempotent,
//! there is never a half-written rule set, and no rule outside berth's table is reordered,
//! changed or flushed (a dockerd beside us keeps its rules; the accept rules berth adds to a
//! foreign drop chain, below, are its only writes elsewhere).
//!
//! **Why not one call per rule**: every call is a fork/exec plus a netlink round trip and a
//! commit; with hundreds of published ports that is seconds, and a crash between calls leaves
//! a partial state that must then be diffed. A full re-render is a few KB and one commit.
//! **Why not iptables**: iptables-nft serialises every writer on one lock and edits shared
//! tables (`filter`, `nat`) that dockerd, firewalld and ufw also edit — the "minutes of xtables
//! lock contention" and "rules clobbered" pains of issue 6; iptables-legacy is a second
//! packet-filter engine beside nftables. nftables lets every owner keep a table of its own.
//! **Why the `nft` binary** (Debian's `nftables` package) rather than raw netlink: it is the
//! standard, stable interface to the batch, parses and validates the script, and is what an
//! admin uses to read the result; the cost is one exec per change, not per rule.
//!
//! **Noticing a flush.** The table carries its generation as the single element of the set
//! `generation`; [`present`] checks that the table is there with the expected number, so berthd
//! can re-apply after `nft flush ruleset` or a firewall reload (Docker loses its rules then).
//!
//! **Living beside dockerd** (see `coexist.rs` for the details): nftables runs every base chain
//! registered at a hook, in priority order; an `accept` only ends the packet's walk through
//! *that* chain, while a `drop` anywhere is final. So berth's chains can always drop (isolation,
//! internal networks) but can never override another table's drop — in particular a `FORWARD`
//! chain with policy drop, which dockerd sets when it had to turn on IP forwarding itself, and
//! which with `br_netfilter` drops even traffic between two containers of one berth bridge.
//! berth must keep working beside dockerd, so it detects such chains
//! ([`foreign_forward_drops`]) and adds its *own* accept rules for its bridges at their top
//! ([`allow_in_foreign`]), each tagged with a comment ([`foreign_tag`]); it only ever removes
//! rules carrying that tag ([`remove_from_foreign`]) and never changes or removes a rule of
//! anyone else. This is the one place where berth writes outside its own table.
//!
//! **Localhost.** DNAT in the `output` hook sends `127.0.0.1:port` to a container; the kernel
//! only routes a loopback source out of a non-loopback device when the device has
//! `route_localnet=1` ([`enable_route_localnet`], set on berth's own bridges only), and the
//! `postrouting` chain masquerades such packets so replies return. berth's `localnet` chain
//! drops packets from its bridges to 127.0.0.0/8, which `route_localnet` would otherwise let
//! containers reach (CVE-2020-8558). A container reaching its *own* published port (hairpin to
//! itself) also needs hairpin mode on its bridge port, which is the link layer's job.

mod coexist;
mod render;

use std::io::{ErrorKind, Write};
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::ipam::Cidr;

pub use coexist::{
    allow_in_foreign, foreign_forward_drops, foreign_tag, parse_forward_drops, remove_from_foreign,
    ForeignChain,
};
pub use render::render;

/// The table berth uses when no other name is given.
pub const DEFAULT_TABLE: &str = "berth";

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    /// The `nft` binary is not on this host.
    #[error("nft not found: install the nftables package (apt-get install nftables)")]
    NftMissing,
    /// The ruleset cannot be expressed (a bad name, mismatched port ranges…).
    #[error("invalid firewall ruleset: {0}")]
    Invalid(String),
    /// `nft` ran and refused.
    #[error("nft {args} failed: {stderr}")]
    Nft {
        /// The arguments given to nft.
        args: String,
        /// What nft printed.
        stderr: String,
    },
    /// Running `nft` or writing a sysctl failed.
    #[error("{what}: {source}")]
    Io {
        /// The operation.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// Everything berth's firewall does, as plain data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ruleset {
    /// The nft table (family `ip`): `berth`, or a unique name in tests.
    pub table: String,
    /// Bumped by the engine on every change; [`present`] compares it.
    pub generation: u32,
    /// Bridge networks.
    pub networks: Vec<Network>,
    /// Published ports.
    pub ports: Vec<PortMapping>,
}

impl Default for Ruleset {
    fn default() -> Ruleset {
        Ruleset {
            table: DEFAULT_TABLE.to_string(),
            generation: 0,
            networks: vec![],
            ports: vec![],
        }
    }
}

/// One bridge network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    /// The network's name (for humans: rendered as a comment).
    pub name: String,
    /// The host bridge interface.
    pub bridge: String,
    /// The network's subnet.
    pub subnet: Cidr,
    /// `--internal`: no traffic leaves the bridge, no masquerade.
    pub internal: bool,
    /// Drop forwarding between this bridge and every other berth bridge (Docker's default for
    /// user networks).
    pub isolated: bool,
}

/// Transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Proto {
    fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
        }
    }
}

/// An inclusive port range; `start == end` for one port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRange {
    /// First port.
    pub start: u16,
    /// Last port (inclusive).
    pub end: u16,
}

impl PortRange {
    /// A single port.
    pub fn one(port: u16) -> PortRange {
        PortRange {
            start: port,
            end: port,
        }
    }
}

/// `-p [host_ip:]host_ports:container_ports[/proto]`, already resolved (random ports picked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    /// Transport protocol.
    pub proto: Proto,
    /// Only this local address; every local address when `None`.
    pub host_ip: Option<Ipv4Addr>,
    /// Ports on the host.
    pub host_ports: PortRange,
    /// The container's address on the network it is published from.
    pub container_ip: Ipv4Addr,
    /// Ports in the container: same length as `host_ports`.
    pub container_ports: PortRange,
}

impl PortMapping {
    /// Whether this mapping publishes host port `port` of `proto` on `host_ip` (`None`:
    /// every address, matched only by a mapping on every address).
    pub fn publishes(&self, proto: Proto, host_ip: Option<Ipv4Addr>, port: u16) -> bool {
        self.proto == proto
            && self.host_ip == host_ip
            && (self.host_ports.start..=self.host_ports.end).contains(&port)
    }
}

/// Replaces berth's table with `rules` in one atomic nft transaction.
pub fn apply(rules: &Ruleset) -> Result<(), FirewallError> {
    nft(&["-f", "-"], Some(&render(rules)?)).map(drop)
}

/// Deletes berth's table (nothing else); succeeds when it is already gone.
pub fn remove(table: &str) -> Result<(), FirewallError> {
    render::check_table(table)?;
    nft(
        &["-f", "-"],
        Some(&format!("add table ip {table}\ndelete table ip {table}\n")),
    )
    .map(drop)
}

/// Whether berth's table exists and carries `generation` (false after a flush or a reload).
pub fn present(table: &str, generation: u32) -> Result<bool, FirewallError> {
    render::check_table(table)?;
    let out = match nft(&["-j", "list", "set", "ip", table, "generation"], None) {
        Ok(out) => out,
        Err(FirewallError::Nft { stderr, .. }) if stderr.contains("No such file") => {
            return Ok(false)
        }
        Err(e) => return Err(e),
    };
    let json: serde_json::Value = serde_json::from_str(&out)
        .map_err(|e| FirewallError::Invalid(format!("unreadable nft output: {e}")))?;
    let elems = json["nftables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["set"]["elem"].as_array());
    Ok(elems
        .flatten()
        .any(|e| e.as_u64() == Some(u64::from(generation))))
}

/// Sets `net.ipv4.conf.<bridge>.route_localnet=1` so `127.0.0.1:<published>` can be DNATed to a
/// container on that bridge. Only ever called for berth's own bridges.
pub fn enable_route_localnet(bridge: &str) -> Result<(), FirewallError> {
    render::check_ifname(bridge)?;
    crate::sysctl::set_conf(bridge, "route_localnet", "1").map_err(|source| FirewallError::Io {
        what: format!("enabling route_localnet on {bridge}"),
        source,
    })
}

/// Runs `nft args`, with `stdin` piped in when given; returns stdout.
fn nft(args: &[&str], stdin: Option<&str>) -> Result<String, FirewallError> {
    let io = |what: &str| {
        let what = format!("{what} nft {}", args.join(" "));
        move |source| FirewallError::Io { what, source }
    };
    let mut child = Command::new("nft")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            ErrorKind::NotFound => FirewallError::NftMissing,
            _ => io("running")(e),
        })?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).map_err(io("writing to"))?;
    }
    let out = child.wait_with_output().map_err(io("waiting for"))?;
    if !out.status.success() {
        return Err(FirewallError::Nft {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
