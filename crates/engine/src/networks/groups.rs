//! Port groups: the engine's half of a zero-downtime update (beyond Docker).
//!
//! Why: Docker's recreate stops the old container before the new one exists, so a service
//! is down for as long as its successor takes to start and become ready, and a successor
//! that never becomes ready leaves nothing serving; and Docker cannot publish one host port
//! for several replicas. A container labelled `org.berth.port-group=<key>` joins the group
//! `<key>` while it runs, optionally with a revision (`org.berth.port-group.revision`, by
//! default its own id), and then:
//! - it may publish the same fixed host port as another running member: the port is held
//!   once ([`berth_network::ports::reserve_shared`]) and handed to a remaining member when
//!   its holder goes, so it is never free for a moment;
//! - the group's *active* members are its ready members of the revision of its newest ready
//!   member: an update switches to the new revision as soon as one new member is ready, and
//!   replicas of one revision share the load. Ready means healthy for a container with a
//!   health check; otherwise, for one that publishes TCP ports, that every one of them
//!   accepted a connection (probed from the host side every [`PROBE_PERIOD`], for up to
//!   [`PROBE_LIMIT`]); otherwise at once;
//! - each shared port's DNAT spreads new connections over the active members publishing it
//!   (`numgen` round robin), or goes to the newest member when none is active;
//! - members not active are left out of DNS answers for a name an active container also
//!   answers to (the service alias), so clients on the network switch too;
//! - a member being stopped while another member is ready leaves the active set first, so no
//!   new connection reaches it while it shuts down.
//!
//! Every change re-renders berth's table in one atomic nft transaction: new connections go
//! to the new members from one packet to the next, while connections already established
//! keep their conntrack mapping until they close. Inspect shows a member's readiness as
//! `State.Ready`. The update itself (start the new containers beside the old, wait until they
//! are ready, then stop the old ones) is the client's: `berth compose up`.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::sync::Weak;
use std::time::{Duration, Instant};

use berth_network::firewall::{PortMapping, Proto};

use super::NetState;
use crate::containers::ContainerRecord;
use crate::Engine;

/// The label that makes a container a member of a port group (its value names the group).
pub const PORT_GROUP_LABEL: &str = "org.berth.port-group";

/// The label naming a member's revision: members of one revision share the traffic.
pub const PORT_GROUP_REVISION_LABEL: &str = "org.berth.port-group.revision";

/// Time between two readiness probes of a member without a health check.
pub const PROBE_PERIOD: Duration = Duration::from_millis(50);

/// How long a member's ports are probed before it is left not ready (with a warning).
pub const PROBE_LIMIT: Duration = Duration::from_secs(120);

/// A running member of a port group.
#[derive(Debug)]
pub(super) struct Member {
    group: String,
    revision: String,
    /// Join order: the newest ready member's revision gets the traffic.
    seq: u64,
    ready: bool,
    /// It has a health check, which then decides its readiness (not the port probe).
    checked: bool,
    /// In the group's active set (see the module docs); set by [`NetState::settle`].
    active: bool,
}

/// The group container `rec` belongs to, if any.
fn group_of(rec: &ContainerRecord) -> Option<&String> {
    rec.labels.get(PORT_GROUP_LABEL).filter(|g| !g.is_empty())
}

impl NetState {
    /// Whether a running member of `rec`'s group (other than `rec`) publishes
    /// `(proto, ip, port)`: then `rec` may publish it too.
    pub(super) fn group_holds(
        &self,
        rec: &ContainerRecord,
        proto: Proto,
        ip: Option<Ipv4Addr>,
        port: u16,
    ) -> bool {
        let Some(group) = group_of(rec) else {
            return false;
        };
        self.ports.iter().any(|(id, r)| {
            *id != rec.id
                && self.members.get(id).is_some_and(|m| m.group == *group)
                && r.mappings().iter().any(|m| m.publishes(proto, ip, port))
        })
    }

    /// The DNAT mappings of every running container. Where members of a group publish the
    /// same host port, the active members' mappings (consecutive: the table spreads the
    /// connections over them), or the newest member's when none is active.
    pub(super) fn published_mappings(&self) -> Vec<PortMapping> {
        type Key = (u8, Option<Ipv4Addr>, u16, u16);
        let mut by_key: HashMap<Key, Vec<(bool, u64, &PortMapping)>> = HashMap::new();
        for (id, r) in &self.ports {
            let (active, seq) = self
                .members
                .get(id)
                .map_or((true, u64::MAX), |m| (m.active, m.seq));
            for m in r.mappings() {
                let key = (
                    m.proto as u8,
                    m.host_ip,
                    m.host_ports.start,
                    m.host_ports.end,
                );
                by_key.entry(key).or_default().push((active, seq, m));
            }
        }
        let mut out = Vec::new();
        for mut list in by_key.into_values() {
            list.sort_by_key(|(_, seq, m)| (*seq, m.container_ip));
            if list.iter().any(|(active, ..)| *active) {
                out.extend(list.iter().filter(|(a, ..)| *a).map(|(.., m)| (*m).clone()));
            } else if let Some((.., m)) = list.last() {
                out.push((*m).clone());
            }
        }
        out
    }

    /// Recomputes every group's active set (the ready members of the revision of the newest
    /// ready member) and which members DNS answers for.
    fn settle(&mut self, names: &super::Names) {
        let mut newest: HashMap<&str, (u64, &str)> = HashMap::new();
        for m in self.members.values().filter(|m| m.ready) {
            let e = newest.entry(m.group.as_str()).or_insert((0, ""));
            if m.seq >= e.0 {
                *e = (m.seq, m.revision.as_str());
            }
        }
        let winners: HashMap<String, String> = newest
            .into_iter()
            .map(|(g, (_, r))| (g.to_string(), r.to_string()))
            .collect();
        for (id, m) in self.members.iter_mut() {
            m.active = m.ready && winners.get(&m.group) == Some(&m.revision);
            names.set_standby(id, !m.active);
        }
    }

    /// Before `id`'s reservation is dropped: its held sockets go to the newest remaining
    /// member of its group that maps them.
    pub(super) fn hand_over_ports(
        &mut self,
        id: &str,
        gone: &mut berth_network::ports::Reservation,
    ) {
        let Some(group) = self.members.get(id).map(|m| m.group.clone()) else {
            return;
        };
        let mut heirs: Vec<(u64, String)> = self
            .members
            .iter()
            .filter(|(other, m)| other.as_str() != id && m.group == group)
            .map(|(other, m)| (m.seq, other.clone()))
            .collect();
        heirs.sort_unstable_by(|a, b| b.cmp(a));
        for (_, heir) in heirs {
            if let Some(r) = self.ports.get_mut(&heir) {
                gone.hand_over(r);
            }
        }
    }
}

impl Engine {
    /// After `rec`'s ports are reserved at start (or recovered): `rec` joins its group. A
    /// recovered member is ready unless its health check says otherwise.
    pub(super) fn join_group(&self, state: &mut NetState, rec: &ContainerRecord, recovered: bool) {
        let Some(group) = group_of(rec) else { return };
        let checked = self.health_check(rec).is_some();
        let ready = match checked {
            true => {
                recovered
                    && self
                        .container_health(&rec.id)
                        .is_some_and(|h| h.status == "healthy")
            }
            false => recovered || !publishes_tcp(state, &rec.id),
        };
        state.seq += 1;
        let revision = rec
            .labels
            .get(PORT_GROUP_REVISION_LABEL)
            .filter(|r| !r.is_empty())
            .unwrap_or(&rec.id);
        let member = Member {
            group: group.clone(),
            revision: revision.clone(),
            seq: state.seq,
            ready,
            checked,
            active: false,
        };
        state.members.insert(rec.id.clone(), member);
        state.settle(&self.names);
    }

    /// When a run ends: `id` leaves its group.
    pub(super) fn leave_group(&self, state: &mut NetState, id: &str) {
        if state.members.remove(id).is_some() {
            self.names.set_standby(id, false);
            state.settle(&self.names);
        }
    }

    /// Marks member `id` ready or not (health changes, the port probe); `seq`, when given,
    /// must still be its run's. Re-renders the firewall when its ports are affected.
    pub(crate) fn set_member_ready(&self, id: &str, seq: Option<u64>, ready: bool) {
        let mut state = self.net_state();
        let Some(m) = state.members.get_mut(id) else {
            return;
        };
        if m.ready == ready || seq.is_some_and(|s| s != m.seq) {
            return;
        }
        m.ready = ready;
        let group = m.group.clone();
        state.settle(&self.names);
        let publishes = state
            .ports
            .keys()
            .any(|k| state.members.get(k).is_some_and(|o| o.group == group));
        if publishes {
            self.refresh_firewall(&mut state);
        }
    }

    /// Before container `id` is stopped: when another member of its group is ready, it
    /// leaves the active set (and the table) first, so no new connection reaches it while
    /// it shuts down.
    pub(crate) fn withdraw_member(&self, id: &str) {
        let peers = {
            let state = self.net_state();
            let Some(m) = state.members.get(id).filter(|m| m.ready) else {
                return;
            };
            state
                .members
                .iter()
                .any(|(other, o)| other != id && o.group == m.group && o.ready)
        };
        if peers {
            self.set_member_ready(id, None, false);
        }
    }

    /// `Some(ready)` for a running port-group member (inspect's `State.Ready`).
    pub fn member_ready(&self, id: &str) -> Option<bool> {
        self.net_state().members.get(id).map(|m| m.ready)
    }
}

fn publishes_tcp(state: &NetState, id: &str) -> bool {
    state
        .ports
        .get(id)
        .is_some_and(|r| r.mappings().iter().any(|m| m.proto == Proto::Tcp))
}

/// For a member without a health check that publishes TCP ports: probes its container ports
/// from the host side until all accept a connection, then marks it ready. Returns at once
/// for any other container; ends when the run ends or after [`PROBE_LIMIT`].
pub(crate) fn probe_readiness(engine: Weak<Engine>, id: String) {
    let Some(e) = engine.upgrade() else { return };
    let (seq, targets) = {
        let state = e.net_state();
        let Some(m) = state.members.get(&id).filter(|m| !m.ready && !m.checked) else {
            return;
        };
        let targets: Vec<SocketAddrV4> = state
            .ports
            .get(&id)
            .map(|r| {
                r.mappings()
                    .iter()
                    .filter(|m| m.proto == Proto::Tcp)
                    .flat_map(|m| {
                        (m.container_ports.start..=m.container_ports.end)
                            .map(move |p| SocketAddrV4::new(m.container_ip, p))
                    })
                    .collect()
            })
            .unwrap_or_default();
        (m.seq, targets)
    };
    drop(e);
    if targets.is_empty() {
        return;
    }
    let deadline = Instant::now() + PROBE_LIMIT;
    loop {
        let up = targets
            .iter()
            .all(|a| TcpStream::connect_timeout(&(*a).into(), Duration::from_millis(250)).is_ok());
        let Some(e) = engine.upgrade() else { return };
        let current = e.net_state().members.get(&id).map(|m| m.seq);
        if current != Some(seq) {
            return;
        }
        if up {
            e.set_member_ready(&id, Some(seq), true);
            return;
        }
        if Instant::now() > deadline {
            crate::log::warn(&format!(
                "container {id}: its published TCP ports did not accept connections within {}s; \
                 it gets traffic only if no other member of its port group is ready",
                PROBE_LIMIT.as_secs()
            ));
            return;
        }
        drop(e);
        std::thread::sleep(PROBE_PERIOD);
    }
}
