//! `network create/ls/inspect/rm/prune/connect/disconnect` over the API: docker 28.2's
//! flags, request bodies and output.
//!
//! Why the bodies are built here as JSON and not through typed client helpers: berth-client
//! has no network endpoints yet, and the generic `get`/`post`/`call` already speak the API.
//! The bodies carry every field docker's client encodes (zero values included, and
//! `CheckDuplicate` because our API prefix is v1.43, where docker's client still sends it),
//! so a capture of berth's requests diffs cleanly against docker's.

use super::confirm;

use anyhow::{bail, Result};
use berth_client::{encode, Client};
use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};

use super::inspect::print_found;
use super::netcreate::{create_body, Create};
use super::ports::natural_cmp;
use super::{daemon, Exit};
use crate::gotemplate;

#[derive(Debug, Subcommand)]
pub enum NetworkCmd {
    /// Create a network.
    Create(Create),
    /// List networks.
    #[command(alias = "list")]
    Ls(Ls),
    /// Display detailed information on one or more networks.
    Inspect(InspectArgs),
    /// Remove one or more networks.
    #[command(alias = "remove")]
    Rm(Rm),
    /// Remove all unused networks.
    Prune(Prune),
    /// Connect a container to a network.
    Connect(Connect),
    /// Disconnect a container from a network.
    Disconnect(Disconnect),
}

#[derive(Debug, Args)]
pub struct Ls {
    /// Only display network IDs.
    #[arg(short, long)]
    quiet: bool,
    /// Do not truncate the output.
    #[arg(long)]
    no_trunc: bool,
    /// Format output using a custom template ('table', 'json' or a Go template).
    #[arg(long)]
    format: Option<String>,
    /// Provide filter values (e.g. "driver=bridge").
    #[arg(short, long)]
    filter: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format output using a custom template.
    #[arg(short, long)]
    format: Option<String>,
    /// Verbose output for diagnostics.
    #[arg(short, long)]
    verbose: bool,
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct Rm {
    /// Do not error if the network does not exist.
    #[arg(short, long)]
    force: bool,
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct Prune {
    /// Provide filter values (e.g. "until=<timestamp>").
    #[arg(long)]
    filter: Vec<String>,
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    force: bool,
}

#[derive(Debug, Args)]
pub struct Connect {
    /// IPv4 address (e.g., "172.30.100.104").
    #[arg(long, default_value = "")]
    ip: String,
    /// IPv6 address (e.g., "2001:db8::33").
    #[arg(long, default_value = "")]
    ip6: String,
    /// Add network-scoped alias for the container.
    #[arg(long, value_delimiter = ',')]
    alias: Vec<String>,
    /// Add a link-local address for the container.
    #[arg(long, value_delimiter = ',')]
    link_local_ip: Vec<String>,
    /// driver options for the network.
    #[arg(long, value_delimiter = ',')]
    driver_opt: Vec<String>,
    /// Highest gw-priority provides the default gateway.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    gw_priority: i64,
    network: String,
    container: String,
}

#[derive(Debug, Args)]
pub struct Disconnect {
    /// Force the container to disconnect from a network.
    #[arg(short, long)]
    force: bool,
    network: String,
    container: String,
}

/// `?filters=` of `key=value` items, in the API's `{"key":["value"]}` form.
fn filters_query(filters: &[String]) -> String {
    if filters.is_empty() {
        return String::new();
    }
    let mut m: Map<String, Value> = Map::new();
    for f in filters {
        let (k, v) = f.split_once('=').unwrap_or((f, ""));
        if let Value::Array(a) = m.entry(k).or_insert_with(|| json!([])) {
            a.push(json!(v));
        }
    }
    format!("?filters={}", encode(&Value::Object(m).to_string()))
}

/// One `network ls` row: the fields docker's network formatter knows.
pub fn ls_row(n: &Value, trunc: bool) -> Value {
    let s = |k: &str| n.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let b = |k: &str| {
        n.get(k)
            .and_then(Value::as_bool)
            .unwrap_or(false)
            .to_string()
    };
    let id = s("Id");
    let id = if trunc {
        let hex = id.split_once(':').map_or(id.as_str(), |(_, h)| h);
        hex.chars().take(12).collect()
    } else {
        id
    };
    let labels: Vec<String> = n["Labels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    let created = s("Created");
    let created = match created.strip_suffix('Z') {
        Some(t) => format!("{} +0000 UTC", t.replace('T', " ")),
        None => created,
    };
    json!({ "ID": id, "Name": s("Name"), "Driver": s("Driver"), "Scope": s("Scope"),
        "IPv4": b("EnableIPv4"), "IPv6": b("EnableIPv6"), "Internal": b("Internal"),
        "Labels": labels.join(","), "CreatedAt": created })
}

/// `ps`'s NETWORKS column: the names under a summary's `NetworkSettings.Networks`.
pub fn ps_networks(settings: &Value) -> String {
    let nets = settings["Networks"].as_object();
    nets.map_or_else(String::new, |m| {
        m.keys().cloned().collect::<Vec<_>>().join(",")
    })
}

fn ls_header(f: &str) -> String {
    match f {
        "ID" => "NETWORK ID".into(),
        "CreatedAt" => "CREATED AT".into(),
        other => other.to_uppercase(),
    }
}

pub fn run(c: &Client, cmd: &NetworkCmd) -> Result<()> {
    match cmd {
        NetworkCmd::Create(a) => {
            let r: Value = c
                .post("/networks/create", Some(&create_body(a)?))
                .map_err(daemon)?;
            println!("{}", r["Id"].as_str().unwrap_or_default());
        }
        NetworkCmd::Ls(a) => {
            let path = format!("/networks{}", filters_query(&a.filter));
            let mut list: Vec<Value> = c.get(&path).map_err(daemon)?;
            let name = |v: &Value| v["Name"].as_str().unwrap_or("").to_string();
            list.sort_by(|x, y| natural_cmp(&name(x), &name(y)));
            let rows: Vec<Value> = list.iter().map(|n| ls_row(n, !a.no_trunc)).collect();
            let tpl = match a.format.as_deref() {
                None | Some("" | "table") if a.quiet => "{{.ID}}",
                None | Some("" | "table") => "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
                Some("json") => "{{json .}}",
                Some(f) => f,
            };
            print!("{}", gotemplate::render_list(tpl, &rows, &ls_header)?);
        }
        NetworkCmd::Inspect(a) => {
            let q = if a.verbose { "?verbose=true" } else { "" };
            let (mut found, mut errs) = (Vec::new(), Vec::new());
            for n in &a.names {
                match c.get::<Value>(&format!("/networks/{}{q}", encode(n))) {
                    Ok(v) => found.push(v),
                    Err(e) => errs.push(daemon(e).to_string()),
                }
            }
            print_found(found, a.format.as_deref(), false)?;
            if !errs.is_empty() {
                return Err(Exit {
                    code: 1,
                    msg: Some(errs.join("\n")),
                }
                .into());
            }
        }
        NetworkCmd::Rm(a) => {
            let mut failed = false;
            for n in &a.names {
                let path = format!("/networks/{}", encode(n));
                if let Ok(v) = c.get::<Value>(&path) {
                    if v["Ingress"].as_bool() == Some(true) && !confirm(INGRESS_WARNING) {
                        continue;
                    }
                }
                match c.call("DELETE".parse().expect("an HTTP method"), &path, None) {
                    Ok(_) => println!("{n}"),
                    Err(e) if a.force && e.is_not_found() => {}
                    Err(e) => {
                        eprintln!("{}", daemon(e));
                        failed = true;
                    }
                }
            }
            if failed {
                return Err(Exit::code(1));
            }
        }
        NetworkCmd::Prune(a) => {
            if !a.force && !confirm(PRUNE_WARNING) {
                return Ok(());
            }
            let path = format!("/networks/prune{}", filters_query(&a.filter));
            let r: Value = c.post(&path, None).map_err(daemon)?;
            let deleted = r["NetworksDeleted"].as_array().cloned().unwrap_or_default();
            if !deleted.is_empty() {
                println!("Deleted Networks:");
                for d in &deleted {
                    println!("{}", d.as_str().unwrap_or_default());
                }
                println!();
            }
        }
        NetworkCmd::Connect(a) => {
            let body = connect_body(a)?;
            let path = format!("/networks/{}/connect", encode(&a.network));
            c.post_empty(&path, Some(&body)).map_err(daemon)?;
        }
        NetworkCmd::Disconnect(a) => {
            let body = json!({ "Container": a.container, "Force": a.force });
            let path = format!("/networks/{}/disconnect", encode(&a.network));
            c.post_empty(&path, Some(&body)).map_err(daemon)?;
        }
    }
    Ok(())
}

const PRUNE_WARNING: &str = "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?";

const INGRESS_WARNING: &str = "WARNING! Before removing the routing-mesh network, make sure all the nodes in your swarm run the same docker engine version. Otherwise, removal may not be effective and functionality of newly create ingress networks will be impaired.\nAre you sure you want to continue?";

/// The body of `POST /networks/{id}/connect` (docker always sends an `IPAMConfig`).
pub fn connect_body(a: &Connect) -> Result<Value> {
    let mut opts = Map::new();
    for o in &a.driver_opt {
        match o.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                opts.insert(k.trim().into(), json!(v.trim()));
            }
            _ => bail!("invalid key/value pair format in driver options"),
        }
    }
    let mut ipam = Map::new();
    for (k, v) in [("IPv4Address", &a.ip), ("IPv6Address", &a.ip6)] {
        if !v.is_empty() {
            ipam.insert(k.into(), json!(v));
        }
    }
    if !a.link_local_ip.is_empty() {
        ipam.insert("LinkLocalIPs".into(), json!(a.link_local_ip));
    }
    Ok(json!({ "Container": a.container, "EndpointConfig": {
        "IPAMConfig": ipam, "Links": null, "Aliases": a.alias, "MacAddress": "",
        "DriverOpts": opts, "GwPriority": a.gw_priority, "NetworkID": "", "EndpointID": "",
        "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": null,
    }}))
}

#[cfg(test)]
#[path = "networks_tests.rs"]
mod tests;
