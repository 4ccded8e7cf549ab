//! A container's networking for one run: its namespace, a veth per bridge network with an
//! address (and the default route through the first non-internal one), published ports,
//! DNS names and `/etc` files — and the teardown when the run ends.
//!
//! Why a named namespace made before the runtime starts (as CNI does) rather than the
//! runtime's own: the address, routes and veths are in place before the container's first
//! instruction runs (no race with a process that connects at once), `network connect` can
//! reach it while it runs, and a `--network container:<id>` joins it by path.
//!
//! Why a run is identified by its `started_at`: the waiter that sees a run end and a
//! `docker restart` that starts the next one race; the teardown of a run only touches a
//! record that still has that run's start time, and a start first clears whatever a
//! previous run left (after a `kill -9` of berthd, say).

use std::path::PathBuf;

use berth_network::netlink::{container_mac, format_mac, Ipv4Net, Netlink};
use berth_network::netns::{self, NetNs};

use super::{net_err, Endpoint, LiveEndpoint, NetState, NetworkRecord};
use crate::container::options::{network_kind, NetworkKind};
use crate::containers::ContainerRecord;
use crate::{Engine, EngineError, Result};

impl Engine {
    /// Where the network namespace of container `id` is bind-mounted while it runs.
    pub(crate) fn netns_path(&self, id: &str) -> PathBuf {
        self.config.network.netns_dir.join(id)
    }

    /// Everything the run about to start needs; returns `rec` with its live endpoints and
    /// ports (the caller saves it). On failure nothing is left behind.
    pub(crate) fn connect_for_start(&self, rec: &ContainerRecord) -> Result<ContainerRecord> {
        let kind = network_kind(&rec.options.host_config.network_mode)
            .map_err(crate::container::SpecError::from)?;
        let mut out = rec.clone();
        match &kind {
            NetworkKind::Host => {
                self.write_etc_files(&out)?;
                return Ok(out);
            }
            NetworkKind::Container(target) => {
                let t = self.find_container(target)?;
                if !self.container_status(&t).is_running() {
                    return Err(EngineError::FailedPrecondition(format!(
                        "cannot join network namespace of a non running container: {} is not \
                         running; start it first",
                        t.name
                    )));
                }
                return Ok(out);
            }
            _ => {}
        }
        let mut state = self.net_state();
        self.release_locked(&mut state, &mut out);
        let made = self.attach_all(&mut state, &mut out);
        if let Err(e) = made {
            self.release_locked(&mut state, &mut out);
            return Err(e);
        }
        drop(state);
        if let Err(e) = self.write_etc_files(&out) {
            let mut state = self.net_state();
            self.release_locked(&mut state, &mut out);
            return Err(e);
        }
        Ok(out)
    }

    fn attach_all(&self, state: &mut NetState, out: &mut ContainerRecord) -> Result<()> {
        let ns_dir = &self.config.network.netns_dir;
        let ns = NetNs::create(ns_dir, &out.id).map_err(net_err(format!(
            "creating the network namespace of {}",
            out.id
        )))?;
        let mut inside = Netlink::new_in(ns.file()).map_err(net_err(
            "opening rtnetlink in the container's namespace".into(),
        ))?;
        inside
            .set_up("lo")
            .map_err(net_err("setting lo up".into()))?;
        let all = self.network_records()?;
        let mut routed = false;
        let names: Vec<String> = out.networks.keys().cloned().collect();
        for (i, name) in names.iter().enumerate() {
            let ep = out.networks.get(name).cloned().unwrap_or_default();
            let net = super::store::find_in(&all, &ep.network_id)
                .map_err(|_| EngineError::NotFound(format!("network {name} not found")))?;
            if !net.is_bridge() {
                continue;
            }
            let live = self.attach_one(state, &ns, &mut inside, net, &ep, i, &mut routed)?;
            self.names
                .add(&net.id, &out.id, &dns_names(out, &ep), live.ip);
            if let Some(e) = out.networks.get_mut(name) {
                e.live = Some(live);
            }
        }
        let primary = out
            .networks
            .values()
            .find_map(|e| e.live.as_ref().map(|l| l.ip));
        let reserved = match primary {
            Some(ip) => self.reserve_ports(state, out, ip)?,
            None => None,
        };
        let publishes = reserved.is_some();
        if let Some(ports) = reserved {
            out.ports = ports.published;
            state.ports.insert(out.id.clone(), ports.held);
        }
        // After the reservation: whether it publishes TCP ports decides its readiness.
        self.join_group(state, out, false);
        if publishes {
            self.refresh_firewall(state);
            // Only now that DNAT sends the ports' traffic to the container: a client never
            // waits in the holding socket's backlog.
            let listened = state.ports.get(&out.id).map_or(Ok(()), |r| r.listen());
            if let Err(e) = listened {
                let gone = state.ports.remove(&out.id);
                self.leave_group(state, &out.id);
                drop(gone);
                self.refresh_firewall(state);
                out.ports.clear();
                return Err(EngineError::InvalidArgument(e.to_string()));
            }
        }
        Ok(())
    }

    /// One veth between `net`'s bridge and the namespace, as `eth<index>`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn attach_one(
        &self,
        state: &mut NetState,
        ns: &NetNs,
        inside: &mut Netlink,
        net: &NetworkRecord,
        ep: &Endpoint,
        index: usize,
        routed: &mut bool,
    ) -> Result<LiveEndpoint> {
        let (Some(subnet), Some(gateway)) = (net.subnet, net.gateway) else {
            return Err(EngineError::Internal(format!(
                "network {} has no subnet",
                net.name
            )));
        };
        let mut nl = Netlink::new().map_err(net_err("opening rtnetlink".into()))?;
        if nl.link(&net.bridge).ok().flatten().is_none() {
            // Deleted behind our back: made again from the record.
            self.bring_up(state, net)?;
        }
        let space = match state.spaces.entry(net.id.clone()) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => v.insert(
                berth_network::ipam::AddressSpace::new(subnet, Some(gateway), net.ip_range)
                    .map_err(|e| EngineError::Internal(e.to_string()))?,
            ),
        };
        let ip = match ep.requested_ip {
            Some(ip) => space.request(ip).map(|()| ip),
            None => space.allocate(),
        }
        .map_err(|e| EngineError::Forbidden(format!("network {}: {e}", net.name)))?;
        let ifname = format!("eth{index}");
        let host_ifname = format!("veth{}", &berth_types::random_id().unwrap_or_default()[..7]);
        let done = (|| {
            nl.create_veth(&host_ifname, &ifname, ns.file(), Some(&net.bridge))?;
            nl.set_hairpin(&host_ifname, true)?;
            nl.set_up(&host_ifname)?;
            inside.set_mac(&ifname, container_mac(ip))?;
            inside.add_address(&ifname, Ipv4Net::new(ip, subnet.prefix()).expect("prefix"))?;
            inside.set_up(&ifname)?;
            if !net.internal && !*routed {
                inside.add_default_route(gateway)?;
                *routed = true;
            }
            Ok::<_, std::io::Error>(())
        })();
        if let Err(e) = done {
            space.release(ip);
            let _ = nl.delete_link(&host_ifname, true);
            return Err(EngineError::Internal(format!(
                "connecting to network {}: {e}",
                net.name
            )));
        }
        Ok(LiveEndpoint {
            endpoint_id: berth_types::random_id().unwrap_or_default(),
            ip,
            prefix: subnet.prefix(),
            gateway,
            mac: format_mac(container_mac(ip)),
            ifname,
            host_ifname,
        })
    }

    /// Undoes one endpoint of a run: veth, address, DNS names.
    pub(super) fn detach_one(&self, state: &mut NetState, id: &str, ep: &mut Endpoint) {
        let Some(live) = ep.live.take() else { return };
        if let Ok(mut nl) = Netlink::new() {
            let _ = nl.delete_link(&live.host_ifname, true);
        }
        if let Some(space) = state.spaces.get_mut(&ep.network_id) {
            space.release(live.ip);
        }
        self.names.remove(&ep.network_id, id);
    }

    /// Undoes everything `rec`'s run held (idempotent); `rec` is left without live state.
    pub(super) fn release_locked(&self, state: &mut NetState, rec: &mut ContainerRecord) {
        let id = rec.id.clone();
        // Ports first, veths after: while the DNAT rule still points at the container, its
        // veth must exist, so a new connection is refused by the container's namespace (its
        // process is gone) instead of vanishing into the bridge and hanging until the
        // client's timeout (conntrack then keeps retransmitted SYNs on the dead address).
        rec.ports.clear();
        let gone = state
            .ports
            .remove(&id)
            .map(|mut r| state.hand_over_ports(&id, &mut r));
        self.leave_group(state, &id);
        if gone.is_some() {
            self.refresh_firewall(state);
        }
        for ep in rec.networks.values_mut() {
            self.detach_one(state, &id, ep);
        }
        let dir = &self.config.network.netns_dir;
        match netns::delete(dir, &id) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => crate::log::warn(&format!("deleting the network namespace of {id}: {e}")),
        }
        // The directory is a mount point only while it holds namespaces (no mount is left
        // behind once nothing runs); creation happens under the same lock.
        let _ = netns::release_dir(dir);
    }

    /// After the run that started at `started_at` ended: its networking goes, unless a new
    /// run already replaced it.
    pub(crate) fn release_run(&self, id: &str, started_at: Option<&str>) {
        let mut state = self.net_state();
        let Ok(mut rec) = self.find_container(id) else {
            return;
        };
        if rec.started_at.as_deref() != started_at || self.container_status(&rec).is_running() {
            return;
        }
        let had = rec.networks.values().any(|e| e.live.is_some()) || !rec.ports.is_empty();
        self.release_locked(&mut state, &mut rec);
        drop(state);
        if had {
            let _ = self.update_record(id, |r| {
                if r.started_at.as_deref() == started_at {
                    r.networks = rec.networks.clone();
                    r.ports.clear();
                }
            });
        }
    }

    /// For a container being removed (the caller holds the containers lock).
    pub(crate) fn release_removed(&self, rec: &ContainerRecord) {
        let mut state = self.net_state();
        let mut rec = rec.clone();
        self.release_locked(&mut state, &mut rec);
    }

    /// At berthd's start: running containers' addresses, ports and names back in memory;
    /// what ended while berthd was away released.
    pub(super) fn recover_containers(&self, all: &[NetworkRecord]) -> Result<()> {
        let mut keep = std::collections::BTreeSet::new();
        for mut rec in self.records()? {
            let running = self.container_status(&rec).is_running();
            let mut state = self.net_state();
            if !running {
                let had = rec.networks.values().any(|e| e.live.is_some()) || !rec.ports.is_empty();
                self.release_locked(&mut state, &mut rec);
                drop(state);
                if had {
                    let nets = rec.networks.clone();
                    let _ = self.update_record(&rec.id, |r| {
                        r.networks = nets;
                        r.ports.clear();
                    });
                }
                continue;
            }
            keep.insert(rec.id.clone());
            for ep in rec.networks.values() {
                let Some(live) = &ep.live else { continue };
                if let Some(space) = state.spaces.get_mut(&ep.network_id) {
                    let _ = space.request(live.ip);
                }
                if all.iter().any(|n| n.id == ep.network_id) {
                    self.names
                        .add(&ep.network_id, &rec.id, &dns_names(&rec, ep), live.ip);
                }
            }
            let primary = rec
                .networks
                .values()
                .find_map(|e| e.live.as_ref().map(|l| l.ip));
            if let Some(ip) = primary.filter(|_| !rec.ports.is_empty()) {
                match self.reserve_ports(&state, &rec, ip) {
                    Ok(Some(p)) => {
                        if let Err(e) = p.held.listen() {
                            crate::log::warn(&format!(
                                "container {}: its published ports could not be held again: {e}",
                                rec.name
                            ));
                        }
                        state.ports.insert(rec.id.clone(), p.held);
                    }
                    Ok(None) => {}
                    Err(e) => crate::log::warn(&format!(
                        "container {}: its published ports could not be held again: {e}",
                        rec.name
                    )),
                }
            }
            self.join_group(&mut state, &rec, true);
        }
        // Namespaces no running container owns (a crash between create and start).
        if let Ok(entries) = std::fs::read_dir(&self.config.network.netns_dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if !keep.contains(&name) {
                    let _ = netns::delete(&self.config.network.netns_dir, &name);
                }
            }
            let _ = netns::release_dir(&self.config.network.netns_dir);
        }
        Ok(())
    }
}

/// The names a container answers to on a network: its name, its aliases, its short id.
pub fn dns_names(rec: &ContainerRecord, ep: &Endpoint) -> Vec<String> {
    let mut names = vec![rec.name.clone(), rec.id[..12].to_string()];
    names.extend(ep.aliases.iter().cloned());
    names
}
