//! Living beside dockerd, firewalld or ufw: what berth can see, and why it changes nothing.
//!
//! Every nftables base chain at a hook sees the packet, lowest priority first; `accept` ends
//! only the walk through that one chain, `drop` ends everything. iptables-nft's
//! `table ip filter` / `chain FORWARD` is such a base chain. dockerd sets its policy to drop
//! when it had to enable `net.ipv4.ip_forward` itself, and loads `br_netfilter`
//! (`bridge-nf-call-iptables=1`), after which even traffic between two containers of one berth
//! bridge walks that chain. Whatever berth's own chain says, such traffic is then dropped.
//!
//! The fixes all live outside berth's table, which berth must not touch:
//! - an accept rule in the foreign chain (e.g. dockerd's `DOCKER-USER`, which belongs to the
//!   admin, or the `FORWARD` chain itself, which belongs to iptables/dockerd);
//! - dockerd's own switch: it leaves the policy alone when forwarding was already on when it
//!   started (so start berthd, which enables forwarding, first) or, from Docker 28, with
//!   `"ip-forward-no-drop": true` in `daemon.json`;
//! - for firewalld, netavark's answer: ask firewalld over D-Bus to put the subnet in its
//!   `trusted` zone (firewalld's own API for exactly this). netavark does nothing for plain
//!   nftables/iptables drop policies and leaves them to the admin (containers/netavark#977).
//!
//! So berth only *reports*: [`foreign_forward_drops`] lists the base chains of other tables at
//! the forward hook whose policy is drop, and the engine warns with the advice above. It reads
//! with `nft -j list chains`, which sees iptables-nft's chains too but not iptables-legacy's.

use serde::Serialize;

use super::{nft, FirewallError};

/// A base chain of another table that drops forwarded packets by default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForeignChain {
    /// `ip`, `ip6`, `inet`…
    pub family: String,
    /// The table (`filter` for iptables-nft).
    pub table: String,
    /// The chain (`FORWARD` for iptables-nft).
    pub chain: String,
}

impl std::fmt::Display for ForeignChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "table {} {} chain {}",
            self.family, self.table, self.chain
        )
    }
}

/// Forward-hook chains with policy drop in IPv4-capable tables other than `ours`.
pub fn foreign_forward_drops(ours: &str) -> Result<Vec<ForeignChain>, FirewallError> {
    Ok(parse_forward_drops(
        &nft(&["-j", "list", "chains"], None)?,
        ours,
    ))
}

/// The pure half of [`foreign_forward_drops`]: `json` is `nft -j list chains` output.
pub fn parse_forward_drops(json: &str, ours: &str) -> Vec<ForeignChain> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(json) else {
        return vec![];
    };
    let items = v["nftables"].as_array().cloned().unwrap_or_default();
    items
        .iter()
        .filter_map(|o| o.get("chain"))
        .filter(|c| c["hook"] == "forward" && c["policy"] == "drop")
        .filter(|c| matches!(c["family"].as_str(), Some("ip" | "inet")))
        .filter(|c| !(c["family"] == "ip" && c["table"] == ours))
        .map(|c| ForeignChain {
            family: c["family"].as_str().unwrap_or_default().to_string(),
            table: c["table"].as_str().unwrap_or_default().to_string(),
            chain: c["name"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_dockers_drop_policy_only() {
        let json = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}},
          {"chain": {"family": "ip", "table": "filter", "name": "FORWARD", "handle": 1,
                     "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}},
          {"chain": {"family": "ip", "table": "filter", "name": "DOCKER-USER", "handle": 2}},
          {"chain": {"family": "ip", "table": "filter", "name": "INPUT", "handle": 3,
                     "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}},
          {"chain": {"family": "inet", "table": "fw", "name": "fwd", "handle": 1,
                     "type": "filter", "hook": "forward", "prio": 1, "policy": "accept"}},
          {"chain": {"family": "ip6", "table": "filter", "name": "FORWARD", "handle": 1,
                     "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}},
          {"chain": {"family": "ip", "table": "berth", "name": "forward", "handle": 1,
                     "type": "filter", "hook": "forward", "prio": -10, "policy": "drop"}}]}"#;
        let found = parse_forward_drops(json, "berth");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].to_string(), "table ip filter chain FORWARD");
        assert!(parse_forward_drops("not json", "berth").is_empty());
        assert!(parse_forward_drops(r#"{"nftables": []}"#, "berth").is_empty());
    }
}
