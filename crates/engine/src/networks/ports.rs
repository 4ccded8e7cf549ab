//! A container's published ports for one run: `HostConfig.PortBindings` and `-P` resolved
//! and held (see `berth_network::ports`), and inspect's `NetworkSettings.Ports` from them.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use berth_network::ports::{self, PortBinding, Reservation};

use super::{NetState, PublishedPort};
use crate::containers::ContainerRecord;
use crate::{Engine, EngineError, Result};

/// What a run holds: the reservation (for the firewall) and what inspect shows.
pub(super) struct Reserved {
    pub(super) held: Reservation,
    pub(super) published: Vec<PublishedPort>,
}

impl Engine {
    /// Holds the ports `rec` publishes, for its address `ip`; `None` when it publishes none.
    /// A fixed host port another member of `rec`'s port group publishes is shared.
    /// A record that already lists ports (a running container after a berthd restart) gets
    /// exactly those host ports back.
    pub(super) fn reserve_ports(
        &self,
        state: &NetState,
        rec: &ContainerRecord,
        ip: Ipv4Addr,
    ) -> Result<Option<Reserved>> {
        let hc = &rec.options.host_config;
        let (bindings, all) = if rec.ports.is_empty() {
            let b: BTreeMap<String, Vec<PortBinding>> = hc
                .port_bindings
                .iter()
                .map(|(k, v)| {
                    let list = v
                        .iter()
                        .map(|b| PortBinding {
                            host_ip: b.host_ip.clone(),
                            host_port: b.host_port.clone(),
                        })
                        .collect();
                    (k.clone(), list)
                })
                .collect();
            (b, hc.publish_all_ports)
        } else {
            let mut b: BTreeMap<String, Vec<PortBinding>> = BTreeMap::new();
            for p in &rec.ports {
                b.entry(p.container_port.clone())
                    .or_default()
                    .push(PortBinding {
                        host_ip: p.host_ip.clone(),
                        host_port: p.host_port.to_string(),
                    });
            }
            (b, false)
        };
        if bindings.is_empty() && !all {
            return Ok(None);
        }
        let exposed = self.exposed_ports(rec);
        let shared = |proto, host_ip, port| state.group_holds(rec, proto, host_ip, port);
        let held = ports::reserve_shared(&bindings, all, &exposed, ip, &shared)
            .map_err(|e| EngineError::InvalidArgument(e.to_string()))?;
        let published = held
            .bindings()
            .into_iter()
            .map(|(container_port, host_ip, host_port)| PublishedPort {
                container_port,
                host_ip,
                host_port,
            })
            .collect();
        Ok(Some(Reserved { held, published }))
    }

    /// The container's exposed ports (`80/tcp`; the image's are merged in at create), for
    /// `-P`.
    pub fn exposed_ports(&self, rec: &ContainerRecord) -> Vec<String> {
        rec.options.exposed_ports.keys().cloned().collect()
    }
}
