//! Network records: the predefined three, `network create/ls/inspect/rm/prune`.
//!
//! Why the lock: a name and a subnet must be unique, so create and remove run under the
//! engine's network state lock, which also guards the address spaces they change.

use std::fs;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use berth_network::ipam::{self, AddressSpace, Cidr, IpamError};

use super::request::{NetworkCreateRequest, NetworkIpamConfig};
use super::{NetState, NetworkRecord};
use crate::{Engine, EngineError, LabelFilter, Result};

/// `GET /networks` filters, all of which must match.
#[derive(Debug, Clone, Default)]
pub struct NetworkFilters {
    /// Name substrings.
    pub name: Vec<String>,
    /// Id prefixes.
    pub id: Vec<String>,
    /// Drivers.
    pub driver: Vec<String>,
    /// `label=k` / `label=k=v`.
    pub labels: Vec<LabelFilter>,
    /// `custom` or `builtin`.
    pub kind: Option<String>,
    /// Only networks no container uses (`true`) or only used ones.
    pub dangling: Option<bool>,
    /// `until=`: created before this time (seconds since the epoch), for prune.
    pub until: Option<i64>,
}

fn ipam_err(e: IpamError) -> EngineError {
    EngineError::InvalidArgument(e.to_string())
}

impl Engine {
    fn networks_dir(&self) -> PathBuf {
        self.config.data_root.join("networks")
    }

    /// Every network record.
    pub fn network_records(&self) -> Result<Vec<NetworkRecord>> {
        let dir = self.networks_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(EngineError::io("reading", &dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let data = fs::read(&path).map_err(|e| EngineError::io("reading", &path, e))?;
            match serde_json::from_slice::<NetworkRecord>(&data) {
                Ok(r) => out.push(r),
                Err(e) => crate::log::warn(&format!("skipping {}: {e}", path.display())),
            }
        }
        out.sort_by(|a, b| a.created.cmp(&b.created).then(a.name.cmp(&b.name)));
        Ok(out)
    }

    pub(super) fn save_network(&self, rec: &NetworkRecord) -> Result<()> {
        let dir = self.networks_dir();
        fs::create_dir_all(&dir).map_err(|e| EngineError::io("creating", &dir, e))?;
        let path = dir.join(format!("{}.json", rec.id));
        let data = serde_json::to_vec_pretty(rec)
            .map_err(|e| EngineError::Internal(format!("encoding network {}: {e}", rec.name)))?;
        berth_fs::write_atomic(&path, &data).map_err(|e| EngineError::io("writing", &path, e))
    }

    /// The network with this name, id or unique id prefix (Docker's order).
    pub fn find_network(&self, name_or_id: &str) -> Result<NetworkRecord> {
        let all = self.network_records()?;
        find_in(&all, name_or_id).cloned()
    }

    /// Networks passing `filters`, oldest first.
    pub fn networks(&self, f: &NetworkFilters) -> Result<Vec<NetworkRecord>> {
        let used = self.used_networks()?;
        Ok(self
            .network_records()?
            .into_iter()
            .filter(|n| f.name.is_empty() || f.name.iter().any(|s| n.name.contains(s.as_str())))
            .filter(|n| f.id.is_empty() || f.id.iter().any(|s| n.id.starts_with(s.as_str())))
            .filter(|n| f.driver.is_empty() || f.driver.contains(&n.driver))
            .filter(|n| crate::volumes::labels_match(&f.labels, &n.labels))
            .filter(|n| match f.kind.as_deref() {
                Some("custom") => !n.predefined(),
                Some("builtin") => n.predefined(),
                _ => true,
            })
            .filter(|n| f.dangling.is_none_or(|d| d != used.contains(&n.id)))
            .filter(|n| {
                f.until
                    .is_none_or(|u| crate::time::parse_rfc3339(&n.created).is_some_and(|c| c < u))
            })
            .collect())
    }

    /// Ids of networks some container (running or not) is on.
    pub(super) fn used_networks(&self) -> Result<std::collections::BTreeSet<String>> {
        Ok(self
            .records()?
            .into_iter()
            .flat_map(|r| r.networks.into_values().map(|e| e.network_id))
            .collect())
    }

    /// Creates a user-defined bridge network and its bridge; returns the record.
    pub fn create_network(&self, req: &NetworkCreateRequest) -> Result<NetworkRecord> {
        let name = req.name.as_str();
        if name.is_empty() {
            return Err(EngineError::InvalidArgument(
                "network name is required: give the network a name".into(),
            ));
        }
        let valid = name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !valid {
            return Err(EngineError::InvalidArgument(format!(
                "invalid network name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        match req.driver.as_str() {
            "" | "bridge" => {}
            d => {
                return Err(EngineError::NotFound(format!(
                    "plugin \"{d}\" not found: berth has the bridge driver only"
                )))
            }
        }
        if req.enable_ipv6 == Some(true) {
            return Err(EngineError::InvalidArgument(
                "IPv6 networks are not supported by berth yet: drop --ipv6".into(),
            ));
        }
        let mut state = self.net_state();
        let all = self.network_records()?;
        if let Some(other) = all.iter().find(|n| n.name == name) {
            return Err(EngineError::Conflict(format!(
                "network with name {name} already exists ({}): pick another name or remove it",
                &other.id[..12]
            )));
        }
        let configs: Vec<&NetworkIpamConfig> = req
            .ipam
            .iter()
            .flat_map(|i| &i.config)
            .filter(|c| !c.subnet.contains(':'))
            .collect();
        if configs.len() > 1 {
            return Err(EngineError::InvalidArgument(
                "berth supports one IPv4 subnet per network: give one --subnet".into(),
            ));
        }
        let taken: Vec<Cidr> = all.iter().filter_map(|n| n.subnet).collect();
        let given = configs.first();
        let subnet = match given.map(|c| c.subnet.as_str()).filter(|s| !s.is_empty()) {
            Some(s) => {
                let s = Cidr::parse_subnet(s).map_err(ipam_err)?;
                ipam::check_subnet(&s, &taken)
                    .map_err(|e| EngineError::Forbidden(e.to_string()))?;
                s
            }
            None => {
                let routes = ipam::host_routes().unwrap_or_default();
                ipam::pick_subnet(&ipam::docker_default_pools(), &taken, &routes)
                    .map_err(ipam_err)?
            }
        };
        let parse_ip = |s: &str, what: &str| -> Result<Option<Ipv4Addr>> {
            if s.is_empty() {
                return Ok(None);
            }
            s.parse().map(Some).map_err(|_| {
                EngineError::InvalidArgument(format!("invalid {what} {s:?}: use an IPv4 address"))
            })
        };
        let gateway = parse_ip(given.map_or("", |c| c.gateway.as_str()), "gateway")?;
        let ip_range = match given.map(|c| c.ip_range.as_str()).filter(|s| !s.is_empty()) {
            Some(r) => Some(Cidr::parse_subnet(r).map_err(ipam_err)?),
            None => None,
        };
        let space = AddressSpace::new(subnet, gateway, ip_range).map_err(ipam_err)?;
        let id = berth_types::random_id()
            .map_err(|e| EngineError::io("reading", "/dev/urandom".as_ref(), e))?;
        let bridge = match req.options.get("com.docker.network.bridge.name") {
            Some(b) => {
                if all.iter().any(|n| &n.bridge == b) {
                    return Err(EngineError::Conflict(format!(
                        "bridge name {b} is used by another network: pick another one"
                    )));
                }
                b.clone()
            }
            None => format!("br-{}", &id[..12]),
        };
        let rec = NetworkRecord {
            id,
            name: name.to_string(),
            driver: "bridge".into(),
            created: berth_shim::time::now(),
            internal: req.internal,
            attachable: req.attachable,
            labels: req.labels.clone(),
            options: req.options.clone(),
            subnet: Some(subnet),
            gateway: Some(space.gateway),
            ip_range,
            ipam_given: given.is_some(),
            bridge,
            default_bridge: false,
        };
        self.bring_up(&mut state, &rec)?;
        if let Err(e) = self.save_network(&rec) {
            self.tear_down(&mut state, &rec);
            return Err(e);
        }
        state.spaces.insert(rec.id.clone(), space);
        self.refresh_firewall(&mut state);
        drop(state);
        self.emit_network(&rec, "create", None);
        Ok(rec)
    }

    /// Removes a user-defined network no running container is on.
    pub fn remove_network(&self, name_or_id: &str) -> Result<()> {
        let mut state = self.net_state();
        let rec = self.find_network(name_or_id)?;
        if rec.predefined() {
            return Err(EngineError::Forbidden(format!(
                "{} is a pre-defined network and cannot be removed",
                rec.name
            )));
        }
        let active: Vec<String> = self
            .records()?
            .into_iter()
            .filter(|c| {
                c.networks
                    .values()
                    .any(|e| e.network_id == rec.id && e.live.is_some())
            })
            .map(|c| c.name)
            .collect();
        if !active.is_empty() {
            return Err(EngineError::Forbidden(format!(
                "error while removing network: network {} id {} has active endpoints ({}): \
                 stop or disconnect them first",
                rec.name,
                rec.id,
                active.join(", ")
            )));
        }
        let path = self.networks_dir().join(format!("{}.json", rec.id));
        fs::remove_file(&path).map_err(|e| EngineError::io("removing", &path, e))?;
        self.tear_down(&mut state, &rec);
        state.spaces.remove(&rec.id);
        self.refresh_firewall(&mut state);
        drop(state);
        self.emit_network(&rec, "destroy", None);
        Ok(())
    }

    /// Removes every user-defined network no container is on; returns their names.
    pub fn prune_networks(&self, f: &NetworkFilters) -> Result<Vec<String>> {
        let f = NetworkFilters {
            kind: Some("custom".into()),
            dangling: Some(true),
            ..f.clone()
        };
        let mut out = Vec::new();
        for n in self.networks(&f)? {
            match self.remove_network(&n.id) {
                Ok(()) => out.push(n.name),
                Err(e) => crate::log::warn(&format!("pruning network {}: {e}", n.name)),
            }
        }
        Ok(out)
    }

    pub(super) fn net_state(&self) -> std::sync::MutexGuard<'_, NetState> {
        self.nets.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Docker's lookup order: exact name, exact id, then a unique id prefix.
pub(super) fn find_in<'a>(all: &'a [NetworkRecord], key: &str) -> Result<&'a NetworkRecord> {
    let not_found = || EngineError::NotFound(format!("network {key} not found"));
    if let Some(n) = all.iter().find(|n| n.name == key || n.id == key) {
        return Ok(n);
    }
    if key.is_empty() {
        return Err(not_found());
    }
    let mut hits = all.iter().filter(|n| n.id.starts_with(key));
    match (hits.next(), hits.next()) {
        (Some(n), None) => Ok(n),
        (Some(_), Some(_)) => Err(EngineError::Conflict(format!(
            "network {key} is ambiguous: give more of the id or the name"
        ))),
        _ => Err(not_found()),
    }
}

/// A running container on a network, for inspect's `Containers`.
#[derive(Debug, Clone)]
pub struct NetworkMember {
    /// The container's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its endpoint.
    pub endpoint: super::LiveEndpoint,
}

impl Engine {
    /// The running containers on network `id`.
    pub fn network_members(&self, id: &str) -> Result<Vec<NetworkMember>> {
        Ok(self
            .records()?
            .into_iter()
            .filter_map(|r| {
                let live = r
                    .networks
                    .values()
                    .find(|e| e.network_id == id)
                    .and_then(|e| e.live.clone())?;
                Some(NetworkMember {
                    id: r.id,
                    name: r.name,
                    endpoint: live,
                })
            })
            .collect())
    }
}
