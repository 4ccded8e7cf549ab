//! Kernel state from records: a network's bridge and DNS responder, and berthd's start —
//! the predefined networks, then every container's networking reconciled with what runs.
//!
//! Why at every start and idempotent: after `kill -9 berthd` containers keep running under
//! their shims with their veths; what berthd held in memory (address spaces, port sockets,
//! DNS names) is rebuilt from the records, and what belonged to containers that ended
//! meanwhile (veths, namespaces) is removed.

use std::net::SocketAddr;
use std::sync::Arc;

use berth_network::dns::DnsServer;
use berth_network::ipam::{self, AddressSpace, Cidr};
use berth_network::netlink::{Ipv4Net, Netlink};

use super::names::NetworkResolver;
use super::{net_err, NetState, NetworkRecord};
use crate::{Engine, EngineError, Result};

impl Engine {
    /// The bridge of `rec` with its gateway address, up; its DNS responder (user networks).
    pub(super) fn bring_up(&self, state: &mut NetState, rec: &NetworkRecord) -> Result<()> {
        let (Some(subnet), Some(gateway)) = (rec.subnet, rec.gateway) else {
            return Ok(());
        };
        let mut nl = Netlink::new().map_err(net_err("opening rtnetlink".into()))?;
        let mtu = rec
            .options
            .get("com.docker.network.driver.mtu")
            .and_then(|m| m.parse().ok());
        nl.create_bridge(&rec.bridge, mtu)
            .map_err(net_err(format!("creating bridge {}", rec.bridge)))?;
        let addr = Ipv4Net::new(gateway, subnet.prefix()).expect("prefix <= 32");
        let has = nl
            .addresses(&rec.bridge)
            .map_err(net_err(format!("reading addresses of {}", rec.bridge)))?
            .iter()
            .any(|a| a.addr == std::net::IpAddr::V4(gateway) && a.prefix == subnet.prefix());
        if !has {
            nl.add_address(&rec.bridge, addr)
                .map_err(net_err(format!("adding {addr} to {}", rec.bridge)))?;
        }
        nl.set_up(&rec.bridge)
            .map_err(net_err(format!("setting {} up", rec.bridge)))?;
        if self.config.network.firewall {
            if let Err(e) = berth_network::firewall::enable_route_localnet(&rec.bridge) {
                crate::log::warn(&format!("{e}: 127.0.0.1 will not reach published ports"));
            }
        }
        if !rec.default_bridge && !state.dns.contains_key(&rec.id) {
            let resolver = Arc::new(NetworkResolver {
                names: self.names.clone(),
                net: rec.id.clone(),
            });
            match DnsServer::start(SocketAddr::from((gateway, 53)), resolver, self.upstreams()) {
                Ok(s) => {
                    state.dns.insert(rec.id.clone(), s);
                }
                Err(e) => crate::log::warn(&format!(
                    "network {}: no embedded DNS on {gateway}:53 ({e}); containers on it get \
                     the host's resolvers and cannot resolve each other by name",
                    rec.name
                )),
            }
        }
        Ok(())
    }

    /// Removes what [`Engine::bring_up`] made.
    pub(super) fn tear_down(&self, state: &mut NetState, rec: &NetworkRecord) {
        state.dns.remove(&rec.id);
        if rec.bridge.is_empty() {
            return;
        }
        if let Ok(mut nl) = Netlink::new() {
            if let Err(e) = nl.delete_link(&rec.bridge, true) {
                crate::log::warn(&format!("deleting bridge {}: {e}", rec.bridge));
            }
        }
    }

    /// The upstream resolvers of the embedded DNS: the daemon's `--dns`, else the host's.
    pub(super) fn upstreams(&self) -> Vec<SocketAddr> {
        let given: Vec<SocketAddr> = self
            .config
            .network
            .dns
            .iter()
            .filter_map(|s| s.parse::<std::net::IpAddr>().ok())
            .map(|ip| SocketAddr::new(ip, 53))
            .collect();
        if !given.is_empty() {
            return given;
        }
        let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        berth_network::dns::upstreams_from_resolv_conf(&host)
    }

    /// The predefined networks, every bridge up, and containers' networking reconciled.
    pub(crate) fn init_networks(self: &Arc<Self>) -> Result<()> {
        match berth_network::sysctl::enable_ip_forward() {
            Ok(true) => crate::log::info("enabled IPv4 forwarding (net.ipv4.ip_forward=1)"),
            Ok(false) => {}
            Err(e) => crate::log::warn(&format!(
                "cannot enable IPv4 forwarding ({e}): containers will not reach the outside"
            )),
        }
        let mut state = self.net_state();
        let mut all = self.network_records()?;
        for (name, driver) in [("host", "host"), ("none", "null")] {
            if !all.iter().any(|n| n.name == name) {
                let rec = self.predefined(name, driver)?;
                self.save_network(&rec)?;
                all.push(rec);
            }
        }
        self.default_bridge(&mut all)?;
        for rec in all.iter().filter(|n| n.is_bridge()) {
            if let Err(e) = self.bring_up(&mut state, rec) {
                crate::log::warn(&format!("network {}: {e}", rec.name));
            }
            if let (Some(subnet), gateway) = (rec.subnet, rec.gateway) {
                if let Ok(space) = AddressSpace::new(subnet, gateway, rec.ip_range) {
                    state.spaces.insert(rec.id.clone(), space);
                }
            }
        }
        drop(state);
        self.recover_containers(&all)?;
        let mut state = self.net_state();
        self.refresh_firewall(&mut state);
        drop(state);
        self.watch_firewall();
        Ok(())
    }

    fn predefined(&self, name: &str, driver: &str) -> Result<NetworkRecord> {
        Ok(NetworkRecord {
            id: berth_types::random_id()
                .map_err(|e| EngineError::io("reading", "/dev/urandom".as_ref(), e))?,
            name: name.into(),
            driver: driver.into(),
            created: berth_shim::time::now(),
            internal: false,
            attachable: false,
            labels: Default::default(),
            options: Default::default(),
            subnet: None,
            gateway: None,
            ip_range: None,
            ipam_given: false,
            bridge: String::new(),
            default_bridge: false,
        })
    }

    /// The `bridge` network as the config says: `--bip`, else the recorded subnet while it
    /// is still clear, else a free one from Docker's pools; removed with `-b none`.
    fn default_bridge(&self, all: &mut Vec<NetworkRecord>) -> Result<()> {
        let pos = all.iter().position(|n| n.default_bridge);
        let Some(bridge) = self.config.network.bridge.clone() else {
            if let Some(i) = pos {
                let old = all.remove(i);
                let path = self.networks_dir_path().join(format!("{}.json", old.id));
                let _ = std::fs::remove_file(path);
            }
            return Ok(());
        };
        let others: Vec<Cidr> = all
            .iter()
            .filter(|n| !n.default_bridge)
            .filter_map(|n| n.subnet)
            .collect();
        let (subnet, gateway) = match self.config.network.bip {
            Some((addr, prefix)) => (
                Cidr::new(addr, prefix).map_err(|e| EngineError::InvalidArgument(e.to_string()))?,
                Some(addr),
            ),
            None => match pos.map(|i| &all[i]).filter(|r| r.bridge == bridge) {
                Some(NetworkRecord {
                    subnet: Some(s),
                    gateway,
                    ..
                }) if !others.iter().any(|o| o.overlaps(s)) => (*s, *gateway),
                _ => {
                    // Our own bridge's route must not count as taken.
                    let routes: Vec<Cidr> = own_routes_excluded(&bridge);
                    let s = ipam::pick_subnet(&ipam::docker_default_pools(), &others, &routes)
                        .map_err(|e| EngineError::Internal(format!("default bridge: {e}")))?;
                    (s, None)
                }
            },
        };
        let gateway = AddressSpace::new(subnet, gateway, None)
            .map_err(|e| EngineError::InvalidArgument(format!("--bip: {e}")))?
            .gateway;
        let mut rec = match pos {
            Some(i) => all.remove(i),
            None => self.predefined("bridge", "bridge")?,
        };
        rec.default_bridge = true;
        rec.bridge = bridge;
        rec.subnet = Some(subnet);
        rec.gateway = Some(gateway);
        rec.options.insert(
            "com.docker.network.bridge.default_bridge".into(),
            "true".into(),
        );
        rec.options
            .insert("com.docker.network.bridge.name".into(), rec.bridge.clone());
        self.save_network(&rec)?;
        all.push(rec);
        Ok(())
    }

    fn networks_dir_path(&self) -> std::path::PathBuf {
        self.config.data_root.join("networks")
    }
}

/// The host's routes except those through `bridge` (a restarted berthd's own bridge).
fn own_routes_excluded(bridge: &str) -> Vec<Cidr> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    let filtered: String = text
        .lines()
        .enumerate()
        .filter(|(i, l)| *i == 0 || l.split_whitespace().next() != Some(bridge))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    ipam::parse_proc_net_route(&filtered)
}
