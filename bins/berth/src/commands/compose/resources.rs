//! The project's networks and named volumes: created with docker compose's labels before
//! the containers (`<project>_default`, `<project>_<volume>` unless `name:`), external ones
//! only checked, and removed by `down` (never the external ones).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};
use berth_api_types::VolumeCreateRequest;
use berth_client::{encode, Client};
use berth_compose::Project;
use serde_json::{json, Value};

use super::{event, state};
use crate::commands::daemon;

/// Network keys used by the project's active services.
fn used_networks(p: &Project) -> BTreeSet<String> {
    p.services
        .values()
        .filter(|s| s.network_mode.is_none())
        .flat_map(|s| s.networks.keys().cloned())
        .collect()
}

/// Volume keys used by the project's active services.
fn used_volumes(p: &Project) -> BTreeSet<String> {
    p.services
        .values()
        .flat_map(|s| s.volumes.iter())
        .filter(|m| m.kind == berth_compose::MountType::Volume)
        .filter_map(|m| m.source.clone())
        .filter(|k| p.volumes.contains_key(k))
        .collect()
}

fn network_exists(c: &Client, name: &str) -> Result<Option<Value>> {
    match c.get::<Value>(&format!("/networks/{}", encode(name))) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(daemon(e)),
    }
}

/// Creates the missing networks of the active services; external ones must exist.
pub fn ensure_networks(c: &Client, p: &Project) -> Result<()> {
    for key in used_networks(p) {
        let Some(n) = p.networks.get(&key) else {
            continue;
        };
        if let Some(existing) = network_exists(c, &n.name)? {
            let owner = existing["Labels"][state::PROJECT].as_str().unwrap_or("");
            if !n.external && owner != p.name {
                eprintln!(
                    "WARN[0000] a network with name {} exists but was not created for project {:?}. Set `external: true` to use an existing network",
                    n.name, p.name
                );
            }
            continue;
        }
        if n.external {
            bail!(
                "network {} declared as external, but could not be found; create it with `berth network create {}`",
                n.name,
                n.name
            );
        }
        let labels = object_labels(&n.labels, p, state::NETWORK, &key);
        let mut body = json!({
            "Name": n.name,
            "Driver": n.driver.clone().unwrap_or_else(|| "bridge".into()),
            "Internal": n.internal,
            "Attachable": n.attachable,
            "Options": n.driver_opts,
            "Labels": labels,
        });
        if n.enable_ipv6 {
            body["EnableIPv6"] = json!(true);
        }
        if let Some(ipam) = &n.ipam {
            let config: Vec<Value> = ipam
                .config
                .iter()
                .map(|c| {
                    json!({"Subnet": c.subnet.clone().unwrap_or_default(),
                        "Gateway": c.gateway.clone().unwrap_or_default(),
                        "IPRange": c.ip_range.clone().unwrap_or_default()})
                })
                .collect();
            body["IPAM"] =
                json!({"Driver": ipam.driver.clone().unwrap_or_default(), "Config": config});
        }
        event("Network", &n.name, "Creating");
        c.post::<Value>("/networks/create", Some(&body))
            .map_err(daemon)?;
        event("Network", &n.name, "Created");
    }
    Ok(())
}

/// A project network's or volume's labels: its own plus docker compose's project, object key
/// (`kind`: the network or volume label) and version labels.
fn object_labels(
    own: &BTreeMap<String, String>,
    p: &Project,
    kind: &str,
    key: &str,
) -> BTreeMap<String, String> {
    let mut labels = own.clone();
    labels.insert(state::PROJECT.into(), p.name.clone());
    labels.insert(kind.into(), key.into());
    labels.insert(state::VERSION.into(), state::COMPOSE_VERSION.into());
    labels
}

/// Creates the missing named volumes of the active services; external ones must exist.
pub fn ensure_volumes(c: &Client, p: &Project) -> Result<()> {
    for key in used_volumes(p) {
        let v = &p.volumes[&key];
        match c.inspect_volume_raw(&v.name) {
            Ok(_) => continue,
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(daemon(e)),
        }
        if v.external {
            bail!(
                "external volume \"{}\" not found; create it with `berth volume create {}`",
                v.name,
                v.name
            );
        }
        let labels = object_labels(&v.labels, p, state::VOLUME, &key);
        let req = VolumeCreateRequest {
            name: Some(v.name.clone()),
            driver: v.driver.clone(),
            driver_opts: Some(v.driver_opts.clone()),
            labels: Some(labels),
        };
        event("Volume", &format!("\"{}\"", v.name), "Creating");
        c.create_volume(&req).map_err(daemon)?;
        event("Volume", &format!("\"{}\"", v.name), "Created");
    }
    Ok(())
}

/// Removes the project's networks: the model's (not external) and any labelled with the
/// project. Missing ones are skipped.
pub fn remove_networks(c: &Client, name: &str, p: Option<&Project>) -> Result<()> {
    let mut names: BTreeSet<String> = p
        .map(|p| {
            p.networks
                .values()
                .filter(|n| !n.external)
                .map(|n| n.name.clone())
                .collect()
        })
        .unwrap_or_default();
    let filter = encode(&json!({"label": [format!("{}={name}", state::PROJECT)]}).to_string());
    let listed: Vec<Value> = c
        .get(&format!("/networks?filters={filter}"))
        .map_err(daemon)?;
    names.extend(
        listed
            .iter()
            .filter(|n| n["Labels"][state::PROJECT].as_str() == Some(name))
            .filter_map(|n| n["Name"].as_str().map(str::to_string)),
    );
    for n in names {
        if network_exists(c, &n)?.is_none() {
            continue;
        }
        event("Network", &n, "Removing");
        let delete = "DELETE".parse().map_err(|e| anyhow::anyhow!("{e}"))?;
        match c.call(delete, &format!("/networks/{}", encode(&n)), None) {
            Ok(_) => event("Network", &n, "Removed"),
            Err(e) if e.is_not_found() => {}
            Err(e) => eprintln!("{}", daemon(e)),
        }
    }
    Ok(())
}

/// Removes the project's named volumes (`down -v`): the model's (not external) and any
/// labelled with the project.
pub fn remove_volumes(c: &Client, name: &str, p: Option<&Project>) -> Result<()> {
    let mut names: BTreeSet<String> = p
        .map(|p| {
            p.volumes
                .values()
                .filter(|v| !v.external)
                .map(|v| v.name.clone())
                .collect()
        })
        .unwrap_or_default();
    let listed = c
        .list_volumes(&[format!("label={}={name}", state::PROJECT)])
        .map_err(daemon)?;
    for v in listed.volumes {
        if v.labels.get(state::PROJECT).map(String::as_str) == Some(name) {
            names.insert(v.name);
        }
    }
    for v in names {
        match c.remove_volume(&v, false) {
            Ok(()) => event("Volume", &v, "Removed"),
            Err(e) if e.is_not_found() => {}
            Err(e) => eprintln!("{}", daemon(e)),
        }
    }
    Ok(())
}
