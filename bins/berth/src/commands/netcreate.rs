//! `network create`: docker 28.2's flags and the `POST /networks/create` body, IPAM
//! included (`createIPAMConfig`: every `--ip-range`/`--gateway`/`--aux-address` must fall
//! in exactly one `--subnet`, checked here before the daemon sees it, with docker's words).
//!
//! Why apart from `networks.rs`: the CIDR arithmetic and its checks are pure and want their
//! own tests; the other network verbs are one request each.

use std::net::IpAddr;

use anyhow::{anyhow, bail, Result};
use clap::Args;
use serde_json::{json, Map, Value};

use super::ports::parse_ip;

#[derive(Debug, Default, Args)]
pub struct Create {
    /// Driver to manage the Network.
    #[arg(short, long, default_value = "bridge")]
    driver: String,
    /// Set driver specific options.
    #[arg(short, long)]
    opt: Vec<String>,
    /// Set metadata on a network.
    #[arg(long, value_parser = label)]
    label: Vec<String>,
    /// Restrict external access to the network.
    #[arg(long)]
    internal: bool,
    /// Enable or disable IPv4 address assignment (default true).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    ipv4: Option<bool>,
    /// Enable or disable IPv6 address assignment.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    ipv6: Option<bool>,
    /// Enable manual container attachment.
    #[arg(long)]
    attachable: bool,
    /// Create swarm routing-mesh network.
    #[arg(long)]
    ingress: bool,
    /// Control the network's scope.
    #[arg(long, default_value = "", hide_default_value = true)]
    scope: String,
    /// Create a configuration only network.
    #[arg(long)]
    config_only: bool,
    /// The network from which to copy the configuration.
    #[arg(long)]
    config_from: Option<String>,
    /// IP Address Management Driver.
    #[arg(long, default_value = "default")]
    ipam_driver: String,
    /// Subnet in CIDR format that represents a network segment.
    #[arg(long, value_delimiter = ',')]
    subnet: Vec<String>,
    /// Allocate container ip from a sub-range.
    #[arg(long, value_delimiter = ',')]
    ip_range: Vec<String>,
    /// IPv4 or IPv6 Gateway for the master subnet.
    #[arg(long, value_delimiter = ',')]
    gateway: Vec<String>,
    /// Auxiliary IPv4 or IPv6 addresses used by Network driver.
    #[arg(long)]
    aux_address: Vec<String>,
    /// Set IPAM driver specific options.
    #[arg(long)]
    ipam_opt: Vec<String>,
    /// The network's name.
    name: String,
}

/// `k=v` items as a map (`opts.MapOpts` / `ConvertKVStringsToMap`: no `=` means `""`).
pub(super) fn kv(items: &[String]) -> Map<String, Value> {
    items
        .iter()
        .map(|i| {
            let (k, v) = i.split_once('=').unwrap_or((i, ""));
            (k.to_string(), json!(v))
        })
        .collect()
}

/// A CIDR as Go's `net.ParseCIDR` reads it: the network address and prefix length.
fn cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (ip, len) = s.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let len: u8 = len
        .parse()
        .ok()
        .filter(|_| len.bytes().all(|b| b.is_ascii_digit()))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((ip, len))
}

fn bits(ip: IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    }
}

/// docker's `subnetMatches`: whether `data` (an address or a CIDR) lies in `subnet`.
fn subnet_matches(subnet: &str, data: &str) -> Result<bool> {
    let (net, len) =
        cidr(subnet).ok_or_else(|| anyhow!("invalid subnet: invalid CIDR address: {subnet}"))?;
    let ip = if data.contains('/') {
        cidr(data)
            .ok_or_else(|| anyhow!("invalid CIDR address: {data}"))?
            .0
    } else {
        match parse_ip(data) {
            Some(ip) => ip,
            None => return Ok(false),
        }
    };
    let ((n, w), (i, w2)) = (bits(net), bits(ip));
    if w != w2 {
        return Ok(false);
    }
    let shift = u32::from(w - len);
    Ok(len == 0 || (n >> shift) == (i >> shift))
}

/// `createIPAMConfig`: subnets with their ranges, gateways and aux addresses.
fn ipam(a: &Create) -> Result<Value> {
    if a.subnet.len() < a.ip_range.len() || a.subnet.len() < a.gateway.len() {
        bail!("every ip-range or gateway must have a corresponding subnet");
    }
    let mut cfgs: Vec<(String, Map<String, Value>)> = Vec::new();
    for s in &a.subnet {
        for (k, _) in &cfgs {
            if subnet_matches(s, k)? || subnet_matches(k, s)? {
                bail!("multiple overlapping subnet configuration is not supported");
            }
        }
        cfgs.push((s.clone(), Map::from_iter([("Subnet".into(), json!(s))])));
    }
    let mut assign = |items: &[String], field: &str, what: &str, multi: &str| -> Result<()> {
        for r in items {
            if field == "IPRange" && cidr(r).is_none() {
                bail!("invalid CIDR address: {r}");
            }
            let mut matched = false;
            for (s, m) in cfgs.iter_mut() {
                if !subnet_matches(s, r)? {
                    continue;
                }
                if let Some(old) = m.get(field).and_then(Value::as_str) {
                    bail!(
                        "cannot configure multiple {multi} ({r}, {old}) {} ({s})",
                        if field == "IPRange" {
                            "on the same subnet"
                        } else {
                            "for the same subnet"
                        }
                    );
                }
                m.insert(field.into(), json!(r));
                matched = true;
            }
            if !matched {
                bail!("no matching subnet for {what} {r}");
            }
        }
        Ok(())
    };
    assign(&a.ip_range, "IPRange", "range", "ranges")?;
    assign(&a.gateway, "Gateway", "gateway", "gateways")?;
    for (key, addr) in kv(&a.aux_address) {
        let addr = addr.as_str().unwrap_or_default().to_string();
        let mut matched = false;
        for (s, m) in cfgs.iter_mut() {
            if subnet_matches(s, &addr)? {
                let aux = m.entry("AuxiliaryAddresses").or_insert_with(|| json!({}));
                aux[&key] = json!(addr);
                matched = true;
            }
        }
        if !matched {
            bail!("no matching subnet for aux-address {addr}");
        }
    }
    let config: Vec<Value> = cfgs.into_iter().map(|(_, m)| Value::Object(m)).collect();
    Ok(json!({ "Driver": a.ipam_driver, "Options": kv(&a.ipam_opt), "Config": config }))
}

/// `--label`: docker's `ValidateLabel`.
fn label(v: &str) -> Result<String, String> {
    let key = v
        .split('=')
        .next()
        .unwrap_or("")
        .trim_start_matches([' ', '\t']);
    if key.is_empty() {
        return Err(format!("invalid label '{v}': empty name"));
    }
    if key.contains([' ', '\t']) {
        return Err(format!("label '{key}' contains whitespaces"));
    }
    Ok(v.to_string())
}

/// The body of `POST /networks/create`.
pub fn create_body(a: &Create) -> Result<Value> {
    let mut b = json!({
        "Name": a.name,
        "CheckDuplicate": true,
        "Driver": a.driver,
        "Scope": a.scope,
        "IPAM": ipam(a)?,
        "Internal": a.internal,
        "Attachable": a.attachable,
        "Ingress": a.ingress,
        "ConfigOnly": a.config_only,
        "ConfigFrom": a.config_from.as_ref().map(|n| json!({ "Network": n })),
        "Options": kv(&a.opt),
        "Labels": kv(&a.label),
    });
    if let Some(v) = a.ipv4 {
        b["EnableIPv4"] = json!(v);
    }
    if let Some(v) = a.ipv6 {
        b["EnableIPv6"] = json!(v);
    }
    Ok(b)
}

#[cfg(test)]
#[path = "netcreate_tests.rs"]
mod tests;
