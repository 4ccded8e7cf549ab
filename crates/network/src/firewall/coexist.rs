//! Living beside dockerd, firewalld or ufw: what berth sees, and the one thing it changes.
//!
//! Every nftables base chain at a hook sees the packet, lowest priority first; `accept` ends
//! only the walk through that one chain, `drop` ends everything. iptables-nft's
//! `table ip filter` / `chain FORWARD` is such a base chain. dockerd sets its policy to drop
//! when it had to enable `net.ipv4.ip_forward` itself, and loads `br_netfilter`
//! (`bridge-nf-call-iptables=1`), after which even traffic between two containers of one berth
//! bridge walks that chain. Whatever berth's own chain says, such traffic is then dropped, and
//! no rule inside berth's table can change that.
//!
//! **The fix berth applies** (the project's decision: berth must keep working beside dockerd,
//! without asking the admin to edit someone else's firewall): [`allow_in_foreign`] inserts, at
//! the top of each such foreign chain, `iifname "<bridge>" counter accept` and
//! `oifname "<bridge>" counter accept` for each of berth's bridges, every one carrying
//! `comment "<tag>"` (`berth:<table>`, see [`foreign_tag`]). That is exactly what dockerd puts
//! there for `docker0` (`-i docker0 -j ACCEPT`…), so it opens nothing beyond berth's own
//! bridges; berth's own `forward` chain still applies isolation and `--internal` drops,
//! because its drops are final whatever the foreign chain accepts.
//!
//! **Rules of others are never changed or removed.** berth only ever deletes rules whose
//! comment is its tag: a re-apply finds them (`nft -j -a list chain …`, by handle), deletes
//! them and inserts the new ones in the *same* `nft -f -` batch, so the chain is never seen
//! half-updated and calling it twice leaves one copy; [`remove_from_foreign`] deletes exactly
//! the tagged rules and leaves the chain as it was before berth came. The expressions are kept
//! to what iptables-nft itself generates (interface compare, counter, accept, comment), so
//! `iptables -S FORWARD` still lists the chain, showing berth's rules with
//! `-m comment --comment "berth:…"`. When dockerd restarts and rebuilds its chain, the rules
//! are gone; berthd re-applies them with its firewall.
//!
//! Other answers that exist, for the record: dockerd leaves the policy alone when forwarding
//! was already on when it started, or with `"ip-forward-no-drop": true` (Docker 28+); for
//! firewalld, netavark asks it over D-Bus to put the subnet in the `trusted` zone.
//! [`foreign_forward_drops`] reads with `nft -j list chains`, which sees iptables-nft's chains
//! but not iptables-legacy's: beside a legacy-iptables dockerd the engine can only warn.

use serde::Serialize;

use std::fmt::Write as _;

use serde_json::Value;

use super::render::check_ifname;
use super::{nft, FirewallError};

/// The comment berth puts on its rules in foreign chains: `berth:<table>`.
pub fn foreign_tag(table: &str) -> String {
    format!("berth:{table}")
}

/// Inserts, at the top of each chain of `chains`, `iifname "<br>" counter accept` and
/// `oifname "<br>" counter accept` for each of `bridges`, commented `tag`; rules already
/// carrying `tag` in those chains are replaced, in the same nft transaction. Nothing else in
/// the chains is touched. With no bridges, it only removes berth's rules from those chains.
pub fn allow_in_foreign(
    chains: &[ForeignChain],
    bridges: &[String],
    tag: &str,
) -> Result<(), FirewallError> {
    check_tag(tag)?;
    for b in bridges {
        check_ifname(b)?;
    }
    let mut script = String::new();
    for c in chains {
        check_chain(c)?;
        let (f, t, ch) = (&c.family, &c.table, &c.chain);
        let listing = nft(&["-j", "-a", "list", "chain", f, t, ch], None)?;
        for handle in tagged(&parse(&listing)?, tag).map(|(_, h)| h) {
            let _ = writeln!(script, "delete rule {f} {t} {ch} handle {handle}");
        }
        // `insert` puts each rule first: inserted in reverse, they read in bridge order.
        for b in bridges.iter().rev() {
            for dir in ["oifname", "iifname"] {
                let _ = writeln!(
                    script,
                    "insert rule {f} {t} {ch} {dir} \"{b}\" counter accept comment \"{tag}\""
                );
            }
        }
    }
    run_script(&script)
}

/// Deletes every rule, in any table, whose comment is `tag`: exactly what [`allow_in_foreign`]
/// added. Succeeds when there is none.
pub fn remove_from_foreign(tag: &str) -> Result<(), FirewallError> {
    check_tag(tag)?;
    let listing = parse(&nft(&["-j", "-a", "list", "ruleset"], None)?)?;
    let mut script = String::new();
    for (rule, handle) in tagged(&listing, tag) {
        let s = |k: &str| rule[k].as_str().unwrap_or_default();
        let chain = ForeignChain {
            family: s("family").into(),
            table: s("table").into(),
            chain: s("chain").into(),
        };
        check_chain(&chain)?;
        let _ = writeln!(
            script,
            "delete rule {} {} {} handle {handle}",
            chain.family, chain.table, chain.chain
        );
    }
    run_script(&script)
}

fn run_script(script: &str) -> Result<(), FirewallError> {
    match script.is_empty() {
        true => Ok(()),
        false => nft(&["-f", "-"], Some(script)).map(drop),
    }
}

fn parse(json: &str) -> Result<Value, FirewallError> {
    serde_json::from_str(json)
        .map_err(|e| FirewallError::Invalid(format!("unreadable nft output: {e}")))
}

/// The rules of an `nft -j` listing whose comment is `tag`, with their handles.
fn tagged<'a>(listing: &'a Value, tag: &'a str) -> impl Iterator<Item = (&'a Value, u64)> + 'a {
    listing["nftables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o.get("rule"))
        .filter(move |r| r["comment"] == tag)
        .filter_map(|r| Some((r, r["handle"].as_u64()?)))
}

/// Tags go into nft scripts quoted: letters, digits and `:_.-` only.
fn check_tag(tag: &str) -> Result<(), FirewallError> {
    let ok = !tag.is_empty()
        && tag.len() <= 64
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '.' | '-'));
    match ok {
        true => Ok(()),
        false => Err(FirewallError::Invalid(format!("bad rule tag {tag:?}"))),
    }
}

/// Names go into nft scripts unquoted: nft's identifier syntax (`DOCKER-USER` is fine).
fn check_chain(c: &ForeignChain) -> Result<(), FirewallError> {
    let ident = |s: &str| {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            && s.len() <= 64
    };
    let family_ok = matches!(c.family.as_str(), "ip" | "inet");
    match family_ok && ident(&c.table) && ident(&c.chain) {
        true => Ok(()),
        false => Err(FirewallError::Invalid(format!("unexpected chain {c}"))),
    }
}

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

    #[test]
    fn finds_only_rules_with_the_tag_and_validates_names() {
        let json = r#"{"nftables": [{"metainfo": {}},
          {"rule": {"family": "ip", "table": "filter", "chain": "FORWARD", "handle": 4,
                    "comment": "berth:berth", "expr": []}},
          {"rule": {"family": "ip", "table": "filter", "chain": "FORWARD", "handle": 5,
                    "comment": "berth:berth2", "expr": []}},
          {"rule": {"family": "ip", "table": "filter", "chain": "FORWARD", "handle": 6,
                    "expr": []}}]}"#;
        let v: Value = serde_json::from_str(json).unwrap();
        let handles: Vec<u64> = tagged(&v, "berth:berth").map(|(_, h)| h).collect();
        assert_eq!(handles, [4]);
        assert_eq!(foreign_tag("berth"), "berth:berth");
        assert!(check_tag("berth:x-1").is_ok());
        for bad in ["", "a\"b", "a b", "a;b"] {
            assert!(check_tag(bad).is_err(), "{bad}");
        }
        let chain = |f: &str, t: &str, c: &str| ForeignChain {
            family: f.into(),
            table: t.into(),
            chain: c.into(),
        };
        assert!(check_chain(&chain("ip", "filter", "DOCKER-USER")).is_ok());
        assert!(check_chain(&chain("inet", "firewalld", "filter_FORWARD")).is_ok());
        assert!(check_chain(&chain("ip6", "filter", "FORWARD")).is_err());
        assert!(check_chain(&chain("ip", "fil ter", "FORWARD")).is_err());
        assert!(check_chain(&chain("ip", "filter", "x;flush ruleset")).is_err());
        let err = allow_in_foreign(&[], &["bad name".into()], "t").unwrap_err();
        assert!(err.to_string().contains("bad interface name"), "{err}");
    }
}
