//! The networking flags of `run`/`create` (`-p`, `-P`, `--expose`, `--network`,
//! `--network-alias`, `--ip`, `--ip6`, `--dns*`, `--add-host`) and what docker 28.2's
//! `parse`/`parseNetworkOpts` make of them in the create body: `Config.ExposedPorts`,
//! `HostConfig.{PortBindings, PublishAllPorts, NetworkMode, Dns, DnsSearch, DnsOptions,
//! ExtraHosts}` and `NetworkingConfig.EndpointsConfig`.
//!
//! Why apart from `run.rs`: these flags have docker's validators (an IP for `--dns`, a
//! domain for `--dns-search`, `host:ip` for `--add-host`) and its endpoint rules (the
//! first `--network` takes the legacy `--network-alias`/`--ip` flags; a lone network with
//! no options sends no endpoint at all; without `--network` the endpoint is `default`);
//! kept pure here they are testable without a daemon.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};
use clap::Args;
use serde_json::{json, Map, Value};

use super::ports::{parse_ip, parse_publish};

#[derive(Debug, Default, Args)]
pub struct NetFlags {
    /// Publish a container's port(s) to the host.
    #[arg(short = 'p', long)]
    publish: Vec<String>,
    /// Publish all exposed ports to random ports.
    #[arg(short = 'P', long)]
    publish_all: bool,
    /// Expose a port or a range of ports.
    #[arg(long)]
    expose: Vec<String>,
    /// Connect a container to a network.
    #[arg(long, visible_alias = "net")]
    network: Vec<String>,
    /// Add network-scoped alias for the container.
    #[arg(long, alias = "net-alias")]
    network_alias: Vec<String>,
    /// IPv4 address (e.g., 172.30.100.104).
    #[arg(long)]
    ip: Option<String>,
    /// IPv6 address (e.g., 2001:db8::33).
    #[arg(long)]
    ip6: Option<String>,
    /// Set custom DNS servers.
    #[arg(long, value_parser = dns_server)]
    dns: Vec<String>,
    /// Set custom DNS search domains.
    #[arg(long, value_parser = dns_search)]
    dns_search: Vec<String>,
    /// Set DNS options.
    #[arg(long, alias = "dns-opt")]
    dns_option: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip).
    #[arg(long, value_parser = extra_host)]
    add_host: Vec<String>,
}

/// `--dns`: docker's `ValidateIPAddress`, the address in canonical form.
fn dns_server(s: &str) -> Result<String, String> {
    match parse_ip(s.trim()) {
        Some(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_some() => Ok(v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_default()),
        Some(ip) => Ok(ip.to_string()),
        None => Err(format!("IP address is not correctly formatted: {s}")),
    }
}

/// `--dns-search`: docker's `ValidateDNSSearch` (`.` or a domain, trailing dot dropped).
fn dns_search(s: &str) -> Result<String, String> {
    let v = s.trim_matches(' ');
    if v == "." {
        return Ok(v.into());
    }
    let bad = || format!("{v} is not a valid domain");
    let d = v.trim_end_matches([' ', '\t', '\n', '\r']);
    let d = d.strip_suffix('.').unwrap_or(d);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if !v.bytes().any(|b| b.is_ascii_alphabetic()) || !d.split('.').all(label_ok) || d.len() >= 255
    {
        return Err(bad());
    }
    Ok(d.to_string())
}

/// `--add-host`: docker's `ValidateExtraHost`; `host=ip`, `host:ip`, `host:[v6]` and
/// `host-gateway`, sent as `host:ip`.
fn extra_host(s: &str) -> Result<String, String> {
    let (k, v) = s
        .split_once('=')
        .or_else(|| s.split_once(':'))
        .filter(|(k, _)| !k.is_empty() && !k.contains(':'))
        .ok_or_else(|| format!("bad format for add-host: {s:?}"))?;
    let mut v = v;
    if v != "host-gateway" {
        if v.len() > 2 && v.starts_with('[') && v.ends_with(']') {
            v = &v[1..v.len() - 1];
        }
        if parse_ip(v.trim()).is_none() {
            return Err(format!("invalid IP address in add-host: {v:?}"));
        }
    }
    Ok(format!("{k}:{v}"))
}

/// One `--network` value: a name, or docker's long form
/// `name=n,alias=a,ip=…,ip6=…,mac-address=…,link-local-ip=…,driver-opt=k=v,gw-priority=N`.
#[derive(Debug, Default, Clone, PartialEq)]
struct Attachment {
    target: String,
    aliases: Vec<String>,
    ipv4: String,
    ipv6: String,
    mac: String,
    link_local: Vec<String>,
    driver_opts: BTreeMap<String, String>,
    gw_priority: i64,
}

fn is_long_syntax(v: &str) -> bool {
    // docker: regexp `\w+=\w+(,\w+=\w+)*` matched anywhere in the value.
    let w = |c: char| c.is_ascii_alphanumeric() || c == '_';
    v.char_indices()
        .any(|(i, c)| c == '=' && v[..i].ends_with(w) && v[i + 1..].starts_with(w))
}

fn attachment(v: &str) -> Result<Attachment> {
    let mut a = Attachment::default();
    if !is_long_syntax(v) {
        a.target = v.to_string();
        return Ok(a);
    }
    for field in v.split(',') {
        let lower = field.to_lowercase();
        let (key, val) = lower
            .split_once('=')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| anyhow!("invalid field {field}"))?;
        let (key, val) = (key.trim(), val.trim().to_string());
        match key {
            "name" => a.target = val,
            "alias" => a.aliases.push(val),
            "ip" => a.ipv4 = val,
            "ip6" => a.ipv6 = val,
            "mac-address" => a.mac = val,
            "link-local-ip" => a.link_local.push(val),
            "driver-opt" => {
                let (k, v) = val
                    .split_once('=')
                    .ok_or_else(|| anyhow!("invalid key value pair format in driver options"))?;
                a.driver_opts.insert(k.trim().into(), v.trim().into());
            }
            "gw-priority" => {
                a.gw_priority = val
                    .parse()
                    .map_err(|_| anyhow!("invalid gw-priority ({val}): invalid syntax"))?;
            }
            _ => bail!("invalid field key {key}"),
        }
    }
    if a.target.is_empty() {
        bail!("network name/id is not specified");
    }
    Ok(a)
}

/// docker's `container.NetworkMode.IsUserDefined`.
fn user_defined(mode: &str) -> bool {
    !matches!(mode, "default" | "bridge" | "host" | "none") && !mode.starts_with("container:")
}

/// Docker's `EndpointSettings` as its client encodes it (every field, zero values too).
fn endpoint(a: &Attachment) -> Result<Value> {
    if a.target.trim().is_empty() {
        bail!("no name set for network");
    }
    if !user_defined(&a.target) && !a.aliases.is_empty() {
        bail!("network-scoped aliases are only supported for user-defined networks");
    }
    let ipam = if a.ipv4.is_empty() && a.ipv6.is_empty() && a.link_local.is_empty() {
        Value::Null
    } else {
        let mut m = Map::new();
        for (k, v) in [("IPv4Address", &a.ipv4), ("IPv6Address", &a.ipv6)] {
            if !v.is_empty() {
                m.insert(k.into(), json!(v));
            }
        }
        if !a.link_local.is_empty() {
            m.insert("LinkLocalIPs".into(), json!(a.link_local));
        }
        Value::Object(m)
    };
    let or_null = |v: Value, set: bool| if set { v } else { Value::Null };
    Ok(json!({
        "IPAMConfig": ipam,
        "Links": null,
        "Aliases": or_null(json!(a.aliases), !a.aliases.is_empty()),
        "MacAddress": a.mac,
        "DriverOpts": or_null(json!(a.driver_opts), !a.driver_opts.is_empty()),
        "GwPriority": a.gw_priority,
        "NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
        "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "DNSNames": null,
    }))
}

/// The endpoint of an attachment without options: all zero values.
fn ep_if_empty() -> Value {
    json!({
        "IPAMConfig": null, "Links": null, "Aliases": null, "MacAddress": "", "DriverOpts": null,
        "GwPriority": 0, "NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "",
        "IPPrefixLen": 0, "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "DNSNames": null,
    })
}

impl NetFlags {
    /// `HostConfig.NetworkMode`: the first `--network`, else `default`.
    fn mode(&self) -> String {
        self.network.first().map_or("default".into(), |n| {
            attachment(n)
                .map(|a| a.target)
                .unwrap_or_else(|_| n.clone())
        })
    }

    /// The legacy per-container flags folded into the first attachment
    /// (`applyContainerOptions`).
    fn fold_legacy(&self, a: &mut Attachment) -> Result<()> {
        let conflict = |what: &str| anyhow!("conflicting options: cannot specify both {what}");
        if !a.aliases.is_empty() && !self.network_alias.is_empty() {
            return Err(conflict("--network-alias and per-network alias"));
        }
        if !a.ipv4.is_empty() && self.ip.is_some() {
            return Err(conflict("--ip and per-network IPv4 address"));
        }
        if !a.ipv6.is_empty() && self.ip6.is_some() {
            return Err(conflict("--ip6 and per-network IPv6 address"));
        }
        if !self.network_alias.is_empty() {
            a.aliases = self.network_alias.clone();
        }
        if let Some(ip) = &self.ip {
            a.ipv4 = ip.clone();
        }
        if let Some(ip) = &self.ip6 {
            a.ipv6 = ip.clone();
        }
        Ok(())
    }

    /// `NetworkingConfig.EndpointsConfig` (docker's `parseNetworkOpts`).
    fn endpoints(&self) -> Result<Map<String, Value>> {
        let mut eps = Map::new();
        if self.network.is_empty() {
            let mut a = Attachment {
                target: "default".into(),
                ..Attachment::default()
            };
            self.fold_legacy(&mut a)?;
            eps.insert("default".into(), endpoint(&a)?);
            return Ok(eps);
        }
        let (mut user, mut builtin) = (false, false);
        for (i, n) in self.network.iter().enumerate() {
            let mut a = attachment(n)?;
            if user_defined(&a.target) {
                user = true;
            } else {
                builtin = true;
            }
            if i == 0 {
                self.fold_legacy(&mut a)?;
            }
            let ep = endpoint(&a)?;
            if eps.contains_key(&a.target) {
                bail!("network {:?} is specified multiple times", a.target);
            }
            // A lone network without options sends no endpoint (docker's back-compat rule).
            if i == 0 && self.network.len() == 1 && ep == ep_if_empty() {
                continue;
            }
            eps.insert(a.target, ep);
        }
        if user && builtin {
            bail!("conflicting options: cannot attach both user-defined and non-user-defined network-modes");
        }
        Ok(eps)
    }

    /// Adds these flags' fields to a create body (`cfg`, with its `HostConfig`).
    pub fn apply(&self, cfg: &mut Value) -> Result<()> {
        let (exposed, bindings) = parse_publish(&self.publish, &self.expose)?;
        if !exposed.is_empty() {
            let m: Map<String, Value> = exposed.into_keys().map(|k| (k, json!({}))).collect();
            cfg["ExposedPorts"] = Value::Object(m);
        }
        let bindings: Map<String, Value> = bindings
            .into_iter()
            .map(|(k, ms)| {
                let b: Vec<Value> = ms
                    .iter()
                    .map(|m| json!({"HostIp": m.host_ip, "HostPort": m.host_port}))
                    .collect();
                (k, json!(b))
            })
            .collect();
        let host = &mut cfg["HostConfig"];
        host["PortBindings"] = Value::Object(bindings);
        host["PublishAllPorts"] = json!(self.publish_all);
        host["NetworkMode"] = json!(self.mode());
        host["Dns"] = json!(self.dns);
        host["DnsOptions"] = json!(self.dns_option);
        host["DnsSearch"] = json!(self.dns_search);
        host["ExtraHosts"] = if self.add_host.is_empty() {
            Value::Null
        } else {
            json!(self.add_host)
        };
        cfg["NetworkingConfig"] = json!({ "EndpointsConfig": self.endpoints()? });
        Ok(())
    }
}

#[cfg(test)]
#[path = "netopts_tests.rs"]
mod tests;
