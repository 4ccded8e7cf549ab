//! Port specs and port listings, the way docker 28.2 reads and prints them.
//!
//! Why a module of its own: `-p` is parsed by docker's vendored `go-connections/nat`
//! v0.5.0 (`ParsePortSpecs`), whose quirks (which error comes first, a host range for a
//! single container port meaning "allocate one in this range", `1-2-3` read as `1-2`) are
//! what users' scripts meet; copying them in one pure, tested place keeps `run`/`create`
//! small. The same goes for the two printers: `ps`'s PORTS column (docker's
//! `DisplayablePorts`, collapsing consecutive ports) and `berth port` (natural sort order).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::net::IpAddr;

use anyhow::{anyhow, bail, Result};
use berth_client::Client;
use clap::Args;
use serde_json::Value;

use super::daemon;

/// One parsed mapping: `80/tcp` ← (`HostIp`, `HostPort`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// `80/tcp`.
    pub port: String,
    /// Host address, `""` for all.
    pub host_ip: String,
    /// Host port, `""` for a random one, `8000-8010` for one out of a range.
    pub host_port: String,
}

/// `nat.ParsePortRange`: `80` or `8000-8010`, each a 16-bit number (only the first two
/// `-`-separated parts are read, as Go's code does).
fn port_range(s: &str) -> Option<(u16, u16)> {
    if s.is_empty() {
        return None;
    }
    let mut parts = s.split('-');
    let start = go_u16(parts.next()?).ok()?;
    let end = match parts.next() {
        None => start,
        Some(e) => go_u16(e).ok()?,
    };
    (end >= start).then_some((start, end))
}

/// Go's `net.ParseIP` (`::ffff:a.b.c.d` accepted; zones refused), loosely.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

/// `nat.ParsePortSpec` (v0.5.0): `[ip:][hostPort:]containerPort[/proto]`.
pub fn parse_port_spec(raw: &str) -> Result<Vec<Mapping>> {
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    let (mut ip, host_port, container) = match n {
        1 => (String::new(), "", parts[0]),
        2 => (String::new(), parts[0], parts[1]),
        _ => (parts[..n - 2].join(":"), parts[n - 2], parts[n - 1]),
    };
    let (container, proto) = container.split_once('/').unwrap_or((container, ""));
    let proto = if container.is_empty() {
        ""
    } else if proto.is_empty() {
        "tcp"
    } else {
        proto
    };
    if ip.starts_with('[') {
        match ip.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            Some(inner) if !inner.contains(['[', ']']) => ip = inner.to_string(),
            _ => bail!("invalid IP address {ip}: address {ip}:: missing ']' in address"),
        }
    }
    if !ip.is_empty() && parse_ip(&ip).is_none() {
        bail!("invalid IP address: {ip}");
    }
    if container.is_empty() {
        bail!("no port specified: {raw}<empty>");
    }
    let (start, end) =
        port_range(container).ok_or_else(|| anyhow!("invalid containerPort: {container}"))?;
    let (hstart, hend) = if host_port.is_empty() {
        (0, 0)
    } else {
        port_range(host_port).ok_or_else(|| anyhow!("invalid hostPort: {host_port}"))?
    };
    if !host_port.is_empty() && end - start != hend - hstart && end != start {
        bail!("invalid ranges specified for container and host Ports: {container} and {host_port}");
    }
    let lower = proto.to_lowercase();
    if !matches!(lower.as_str(), "tcp" | "udp" | "sctp") {
        bail!("invalid proto: {proto}");
    }
    Ok((0..=(end - start))
        .map(|i| {
            let mut hp = if host_port.is_empty() {
                String::new()
            } else {
                (hstart + i).to_string()
            };
            if start == end && hstart != hend {
                hp = format!("{hp}-{hend}");
            }
            Mapping {
                port: format!("{}/{lower}", start + i),
                host_ip: ip.clone(),
                host_port: hp,
            }
        })
        .collect())
}

/// `convertToStandardNotation`: the long `-p published=8080,target=80,protocol=udp` form
/// as `8080:80/udp`; short forms as given.
fn standard_notation(spec: &str) -> Result<String> {
    if !spec.contains('=') {
        return Ok(spec.to_string());
    }
    let mut params = BTreeMap::from([("protocol", "tcp")]);
    for p in spec.split(',') {
        match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => params.insert(k, v),
            _ => bail!("invalid publish opts format (should be name=value but got '{p}')"),
        };
    }
    let get = |k| params.get(k).copied().unwrap_or_default();
    Ok(format!(
        "{}:{}/{}",
        get("published"),
        get("target"),
        get("protocol")
    ))
}

/// Exposed ports (`{"80/tcp": {}}`) and bindings (`{"80/tcp": [{HostIp, HostPort}]}`) of
/// `-p` and `--expose` values, as docker's `parse` builds `Config.ExposedPorts` and
/// `HostConfig.PortBindings`.
pub type PortSets = (BTreeMap<String, ()>, BTreeMap<String, Vec<Mapping>>);

pub fn parse_publish(publish: &[String], expose: &[String]) -> Result<PortSets> {
    let (mut exposed, mut bindings) = (BTreeMap::new(), BTreeMap::<_, Vec<_>>::new());
    for p in publish {
        for m in parse_port_spec(&standard_notation(p)?)? {
            exposed.insert(m.port.clone(), ());
            bindings.entry(m.port.clone()).or_default().push(m);
        }
    }
    for e in expose {
        if e.contains(':') {
            bail!("invalid port format for --expose: {e}");
        }
        let (port, proto) = e.split_once('/').unwrap_or((e, ""));
        let proto = if proto.is_empty() { "tcp" } else { proto };
        let (start, end) = port_range(port).ok_or_else(|| {
            anyhow!(
                "invalid range format for --expose: {e}, error: {}",
                go_range_err(port)
            )
        })?;
        for p in start..=end {
            exposed.insert(format!("{p}/{proto}"), ());
        }
    }
    Ok((exposed, bindings))
}

/// Go's `strconv.ParseUint(s, 10, 16)`, with its error text.
fn go_u16(s: &str) -> std::result::Result<u16, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.ParseUint: parsing {s:?}: invalid syntax"));
    }
    s.parse()
        .map_err(|_| format!("strconv.ParseUint: parsing {s:?}: value out of range"))
}

/// The text of Go's error for a bad port range (`nat.ParsePortRange`).
fn go_range_err(s: &str) -> String {
    if s.is_empty() {
        return "empty string specified for ports".into();
    }
    let mut parts = s.split('-');
    let start = parts.next().map(go_u16);
    match (start, parts.next().map(go_u16)) {
        (Some(Err(e)), _) | (_, Some(Err(e))) => e,
        _ => format!("invalid range specified for port: {s}"),
    }
}

/// Go's `net.JoinHostPort`: IPv6 hosts in brackets.
pub fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// One entry of `GET /containers/json`'s `Ports`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ApiPort {
    ip: String,
    private: u16,
    public: u16,
    kind: String,
}

impl ApiPort {
    fn from_json(v: &Value) -> ApiPort {
        let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0) as u16;
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        ApiPort {
            ip: s("IP"),
            private: n("PrivatePort"),
            public: n("PublicPort"),
            kind: s("Type"),
        }
    }

    fn key(&self) -> (u16, &str, u16, &str) {
        (self.private, &self.ip, self.public, &self.kind)
    }
}

/// docker's `DisplayablePorts`: `0.0.0.0:8080->80/tcp, 9000-9001/tcp`; ports published on
/// the same port number grouped into ranges, other host mappings listed last.
pub fn display_ports(ports: &[Value]) -> String {
    let mut ports: Vec<ApiPort> = ports.iter().map(ApiPort::from_json).collect();
    ports.sort_by(|a, b| a.key().cmp(&b.key()));
    let mut groups: BTreeMap<String, (u16, u16)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let (mut result, mut host) = (Vec::new(), Vec::new());
    for p in &ports {
        let mut key = p.kind.clone();
        if !p.ip.is_empty() {
            if p.public != p.private {
                let addr = join_host_port(&p.ip, &p.public.to_string());
                host.push(format!("{addr}->{}/{}", p.private, p.kind));
                continue;
            }
            key = format!("{}/{}", p.ip, p.kind);
        }
        match groups.get_mut(&key) {
            None => {
                groups.insert(key.clone(), (p.private, p.private));
                order.push(key);
            }
            Some(g) if u32::from(p.private) == u32::from(g.1) + 1 => g.1 = p.private,
            Some(g) => {
                result.push(form_group(&key, g.0, g.1));
                *g = (p.private, p.private);
            }
        }
    }
    for k in &order {
        let (a, b) = groups[k];
        result.push(form_group(k, a, b));
    }
    result.extend(host);
    result.join(", ")
}

fn form_group(key: &str, start: u16, last: u16) -> String {
    let (ip, kind) = match key.split_once('/') {
        Some((ip, kind)) => (ip, kind),
        None => ("", key),
    };
    let mut group = start.to_string();
    if start != last {
        group = format!("{group}-{last}");
    }
    if !ip.is_empty() {
        group = format!("{}->{group}", join_host_port(ip, &group));
    }
    format!("{group}/{kind}")
}

/// `sortorder.NaturalLess`: runs of digits compare as numbers and sort before other bytes.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (da, db) = (a[i].is_ascii_digit(), b[j].is_ascii_digit());
        if da != db {
            return if da {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        if !da {
            if a[i] != b[j] {
                return a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
            continue;
        }
        let skip0 = |s: &[u8], mut k: usize| {
            while k < s.len() && s[k] == b'0' {
                k += 1;
            }
            k
        };
        let digits = |s: &[u8], mut k: usize| {
            while k < s.len() && s[k].is_ascii_digit() {
                k += 1;
            }
            k
        };
        let (nz_a, nz_b) = (skip0(a, i), skip0(b, j));
        (i, j) = (digits(a, nz_a), digits(b, nz_b));
        let by_len = (i - nz_a).cmp(&(j - nz_b));
        let ord = by_len
            .then_with(|| a[nz_a..i].cmp(&b[nz_b..j]))
            .then_with(|| nz_a.cmp(&nz_b));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    a.len().cmp(&b.len())
}

#[derive(Debug, Args)]
pub struct Port {
    /// The container.
    container: String,
    /// PRIVATE_PORT[/PROTO]: show only this one's host addresses.
    port: Option<String>,
}

/// `port CONTAINER [PRIVATE_PORT[/PROTO]]` from inspect's `NetworkSettings.Ports`.
pub fn port(c: &Client, a: &Port) -> Result<()> {
    let info = c.inspect_container_raw(&a.container).map_err(daemon)?;
    let ports = &info["NetworkSettings"]["Ports"];
    let addrs = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|f| {
                let s = |k| f.get(k).and_then(Value::as_str).unwrap_or("");
                join_host_port(s("HostIp"), s("HostPort"))
            })
            .collect()
    };
    let mut out: Vec<String> = Vec::new();
    if let Some(spec) = &a.port {
        let (p, proto) = spec.split_once('/').unwrap_or((spec, ""));
        let proto = if proto.is_empty() { "tcp" } else { proto };
        if let Err(e) = go_u16(p) {
            bail!("Error: invalid port ({p}): {e}");
        }
        out = addrs(&ports[format!("{p}/{proto}")]);
        if out.is_empty() {
            bail!(
                "Error: No public port '{spec}' published for {}",
                a.container
            );
        }
    } else if let Some(m) = ports.as_object() {
        for (from, fronts) in m {
            out.extend(addrs(fronts).into_iter().map(|x| format!("{from} -> {x}")));
        }
    }
    out.sort_by(|x, y| natural_cmp(x, y));
    if !out.is_empty() {
        println!("{}", out.join("\n"));
    }
    Ok(())
}

#[cfg(test)]
#[path = "ports_tests.rs"]
mod tests;
