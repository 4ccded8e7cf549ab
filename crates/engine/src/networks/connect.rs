//! `network connect` and `network disconnect`: live on a running container (a new veth in
//! its namespace, or one removed), recorded only on a stopped one.

use berth_network::netlink::Netlink;
use berth_network::netns::NetNs;

use super::attach::dns_names;
use super::{Endpoint, NetworkRecord};
use crate::container::options::{network_kind, EndpointConfig, NetworkKind};
use crate::containers::record;
use crate::events::Event;
use crate::{Engine, EngineError, Result};

impl Engine {
    /// Connects container `container` to network `network` with `cfg`'s aliases and address.
    pub fn connect_network(
        &self,
        network: &str,
        container: &str,
        cfg: &EndpointConfig,
    ) -> Result<()> {
        let net = self.find_network(network)?;
        let rec = self.find_container(container)?;
        let kind = network_kind(&rec.options.host_config.network_mode)
            .map_err(crate::container::SpecError::from)?;
        if !net.is_bridge() || !kind.own_namespace() {
            return Err(EngineError::Forbidden(
                "container sharing network namespace with another container or host cannot be \
                 connected to any other network"
                    .into(),
            ));
        }
        if rec.networks.contains_key(&net.name) {
            return Err(EngineError::Forbidden(format!(
                "endpoint with name {} already exists in network {}",
                rec.name, net.name
            )));
        }
        let ep = super::plan::endpoint_from(&net, cfg)?;
        let _containers = self
            .containers_lock
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mut state = self.net_state();
        let mut rec = record::load(&self.container_dir(&rec.id)).map_err(|e| {
            EngineError::io("reading the record of", &self.container_dir(&rec.id), e)
        })?;
        let running = self.container_status(&rec).is_running();
        let mut ep = ep;
        if running && kind != NetworkKind::None {
            let ns = NetNs::open(&self.netns_path(&rec.id)).map_err(|e| {
                EngineError::Internal(format!(
                    "opening the network namespace of {}: {e}",
                    rec.name
                ))
            })?;
            let mut inside = Netlink::new_in(ns.file())
                .map_err(|e| EngineError::Internal(format!("rtnetlink in {}: {e}", rec.name)))?;
            let index = (0..)
                .find(|i| {
                    let n = format!("eth{i}");
                    rec.networks
                        .values()
                        .all(|e| e.live.as_ref().is_none_or(|l| l.ifname != n))
                })
                .unwrap_or(0);
            let mut routed = rec.networks.values().any(|e| e.live.is_some());
            let live =
                self.attach_one(&mut state, &ns, &mut inside, &net, &ep, index, &mut routed)?;
            self.names
                .add(&net.id, &rec.id, &dns_names(&rec, &ep), live.ip);
            ep.live = Some(live);
        }
        rec.networks.insert(net.name.clone(), ep);
        drop(state);
        record::save(&self.container_dir(&rec.id), &rec).map_err(|e| {
            EngineError::io("writing the record in", &self.container_dir(&rec.id), e)
        })?;
        if running {
            self.write_etc_files(&rec)?;
        }
        self.emit_network(&net, "connect", Some(&rec.id));
        Ok(())
    }

    /// Disconnects `container` from `network`.
    pub fn disconnect_network(&self, network: &str, container: &str, _force: bool) -> Result<()> {
        let net = self.find_network(network)?;
        let rec = self.find_container(container)?;
        if !rec.networks.contains_key(&net.name) {
            return Err(EngineError::Forbidden(format!(
                "container {} is not connected to network {}",
                rec.id, net.name
            )));
        }
        if !net.is_bridge() {
            return Err(EngineError::Forbidden(format!(
                "container cannot be disconnected from the {} network",
                net.name
            )));
        }
        let _containers = self
            .containers_lock
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mut state = self.net_state();
        let dir = self.container_dir(&rec.id);
        let mut rec =
            record::load(&dir).map_err(|e| EngineError::io("reading the record of", &dir, e))?;
        if let Some(mut ep) = rec.networks.remove(&net.name) {
            self.detach_one(&mut state, &rec.id, &mut ep);
        }
        drop(state);
        record::save(&dir, &rec).map_err(|e| EngineError::io("writing the record in", &dir, e))?;
        if self.container_status(&rec).is_running() {
            self.write_etc_files(&rec)?;
        }
        self.emit_network(&net, "disconnect", Some(&rec.id));
        Ok(())
    }

    /// A `network` event with Docker's attributes.
    pub(crate) fn emit_network(&self, net: &NetworkRecord, action: &str, container: Option<&str>) {
        let mut ev = Event::new("network", action, &net.id)
            .attr("name", net.name.clone())
            .attr("type", net.driver.clone());
        if let Some(c) = container {
            ev = ev.attr("container", c);
        }
        self.emit(ev);
    }
}

/// Docker's checks on an endpoint's settings for `net`.
pub(super) fn check_endpoint(net: &NetworkRecord, ep: &Endpoint) -> Result<()> {
    if net.default_bridge && !ep.aliases.is_empty() {
        return Err(EngineError::InvalidArgument(
            "network-scoped alias is supported only for containers in user defined networks".into(),
        ));
    }
    if let Some(ip) = ep.requested_ip {
        if net.default_bridge || !net.ipam_given {
            return Err(EngineError::InvalidArgument(
                "user specified IP address is supported only when connecting to networks with \
                 user configured subnets"
                    .into(),
            ));
        }
        if !net.subnet.is_some_and(|s| s.contains(ip)) {
            return Err(EngineError::InvalidArgument(format!(
                "no configured subnet contains IP address {ip} on network {}",
                net.name
            )));
        }
    }
    Ok(())
}
