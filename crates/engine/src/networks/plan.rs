//! At create: which networks a container will be on, from `NetworkMode` and
//! `NetworkingConfig`, checked with Docker's rules (the network exists; aliases and `--ip`
//! only on user networks with their own subnet; no ports with `container:` mode).

use std::collections::BTreeMap;

use super::{store::find_in, Endpoint, NetworkRecord};
use crate::container::options::{network_kind, CreateOptions, EndpointConfig, NetworkKind};
use crate::{Engine, EngineError, Result};

/// The endpoint settings `cfg` asks for on `net`, checked.
pub(super) fn endpoint_from(net: &NetworkRecord, cfg: &EndpointConfig) -> Result<Endpoint> {
    let requested_ip = match cfg.ipam_config.as_ref().map(|i| i.ipv4_address.as_str()) {
        None | Some("") => None,
        Some(s) => Some(s.parse().map_err(|_| {
            EngineError::InvalidArgument(format!("invalid IPv4 address {s:?} for --ip"))
        })?),
    };
    let ep = Endpoint {
        network_id: net.id.clone(),
        aliases: cfg.aliases.clone(),
        requested_ip,
        live: None,
    };
    super::connect::check_endpoint(net, &ep)?;
    Ok(ep)
}

impl Engine {
    /// The networks of a container created with `opts`, keyed by network name.
    pub(crate) fn plan_networks(&self, opts: &CreateOptions) -> Result<BTreeMap<String, Endpoint>> {
        let hc = &opts.host_config;
        let kind = network_kind(&hc.network_mode).map_err(crate::container::SpecError::from)?;
        let all = self.network_records()?;
        let configs = &opts.networking_config.endpoints_config;
        // The docker CLI keys the primary network's settings by `NetworkMode` as given
        // (`default` when no --network was given).
        let mode = hc.network_mode.as_str();
        let cfg_for = |net: &NetworkRecord| {
            configs
                .get(&net.name)
                .or_else(|| configs.get(&net.id))
                .or_else(|| configs.get(mode).filter(|_| !mode.is_empty()))
                .cloned()
                .unwrap_or_default()
        };
        let mut out = BTreeMap::new();
        let primary = match &kind {
            NetworkKind::Bridge => all.iter().find(|n| n.default_bridge),
            NetworkKind::Host => all.iter().find(|n| n.driver == "host"),
            NetworkKind::None => all.iter().find(|n| n.driver == "null"),
            NetworkKind::User(name) => Some(find_in(&all, name)?),
            NetworkKind::Container(_) => None,
        };
        if let NetworkKind::Container(_) = kind {
            if !hc.port_bindings.is_empty() || hc.publish_all_ports {
                return Err(EngineError::InvalidArgument(
                    "conflicting options: port publishing and the container type network mode"
                        .into(),
                ));
            }
            if !opts.hostname.is_empty() {
                return Err(EngineError::InvalidArgument(
                    "conflicting options: hostname and the network mode".into(),
                ));
            }
        }
        if let Some(net) = primary {
            out.insert(net.name.clone(), endpoint_from(net, &cfg_for(net))?);
        }
        for key in configs.keys() {
            if key == mode || (key == "default" && kind == NetworkKind::Bridge) {
                continue;
            }
            let net = find_in(&all, key)?;
            if out.contains_key(&net.name) {
                continue;
            }
            if !net.is_bridge() || !kind.own_namespace() || kind == NetworkKind::None {
                return Err(EngineError::InvalidArgument(format!(
                    "container cannot be connected to network {} in network mode {}",
                    net.name, hc.network_mode
                )));
            }
            out.insert(net.name.clone(), endpoint_from(net, &cfg_for(net))?);
        }
        Ok(out)
    }
}
