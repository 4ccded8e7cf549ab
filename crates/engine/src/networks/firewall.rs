//! berth's nftables table, derived from the networks and the running containers' ports, and
//! the watch that keeps it there.
//!
//! Why re-render on every change: the table is small and [`berth_network::firewall::apply`]
//! replaces it in one atomic transaction, so there is no diff to get wrong. Why a watch
//! thread: `nft flush ruleset` or a host firewall reload deletes the table; Docker then loses
//! its rules until restarted, berthd notices within [`WATCH_PERIOD`] and restores them. The
//! same tick checks for a foreign forward chain with a drop policy (dockerd's) and keeps
//! berth's own accept rules in it, so berth's bridges keep working beside dockerd.

use std::sync::{Arc, Weak};
use std::time::Duration;

use berth_network::firewall::{self, PortMapping, Ruleset};

use super::NetState;
use crate::Engine;

/// How often the watch checks that the table is still there.
pub(crate) const WATCH_PERIOD: Duration = Duration::from_secs(2);

/// How often berth's accept rules in a foreign drop chain are rewritten when nothing changed.
const FOREIGN_REFRESH: Duration = Duration::from_secs(30);

impl Engine {
    fn ruleset(&self, state: &NetState) -> Ruleset {
        let networks = self
            .network_records()
            .unwrap_or_default()
            .into_iter()
            .filter(|n| n.is_bridge())
            .filter_map(|n| {
                Some(firewall::Network {
                    subnet: n.subnet?,
                    name: n.name,
                    bridge: n.bridge,
                    internal: n.internal,
                    isolated: true,
                })
            })
            .collect();
        let mut ports: Vec<PortMapping> = state.published_mappings();
        // Mappings of one host port stay consecutive (in their given order): render spreads
        // connections over them.
        ports.sort_by_key(|m| {
            (
                m.host_ports.start,
                m.proto as u8,
                m.host_ip,
                m.host_ports.end,
            )
        });
        Ruleset {
            table: self.config.network.firewall_table.clone(),
            generation: state.generation,
            networks,
            ports,
        }
    }

    /// Applies the table for the current state (a new generation); failures are logged: a
    /// container still runs without its ports rather than not at all.
    pub(super) fn refresh_firewall(&self, state: &mut NetState) {
        if !self.config.network.firewall {
            return;
        }
        state.generation = state.generation.wrapping_add(1);
        if let Err(e) = firewall::apply(&self.ruleset(state)) {
            crate::log::warn(&format!("applying the firewall table: {e}"));
        }
        self.keep_foreign_accepts(state, true);
    }

    /// Beside a foreign forward chain that drops by default (dockerd's), adds berth's own
    /// accept rules for its bridges there; never changes a rule it did not add.
    /// With `force` false (the watch's tick) the rules are rewritten only when the foreign
    /// chains or berth's bridges changed, or every [`FOREIGN_REFRESH`] (a dockerd restart
    /// may have flushed its chain): no churn in another owner's chain every tick.
    fn keep_foreign_accepts(&self, state: &mut NetState, force: bool) {
        let table = &self.config.network.firewall_table;
        let chains = match firewall::foreign_forward_drops(table) {
            Ok(c) => c,
            Err(e) => {
                crate::log::warn(&format!("reading the host's forward chains: {e}"));
                return;
            }
        };
        let tag = format!("berth:{table}");
        if chains.is_empty() {
            if !state.foreign_bridges.is_empty() {
                let _ = firewall::remove_from_foreign(&tag);
                state.foreign_bridges.clear();
            }
            return;
        }
        let bridges: Vec<String> = self
            .network_records()
            .unwrap_or_default()
            .into_iter()
            .filter(|n| n.is_bridge() && !n.internal)
            .map(|n| n.bridge)
            .collect();
        let key: Vec<String> = chains
            .iter()
            .map(|c| c.to_string())
            .chain(bridges.iter().cloned())
            .collect();
        let fresh = state
            .foreign_applied
            .is_some_and(|t| t.elapsed() < FOREIGN_REFRESH);
        if !force && fresh && state.foreign_key == key {
            return;
        }
        if state.foreign_bridges.is_empty() {
            let names: Vec<String> = chains.iter().map(|c| c.to_string()).collect();
            crate::log::warn(&format!(
                "{} drops forwarded traffic by default (dockerd does this); berth adds its own \
                 accept rules for its bridges there, tagged {tag:?}, and changes nothing else",
                names.join(", ")
            ));
        }
        match firewall::allow_in_foreign(&chains, &bridges, &tag) {
            Ok(()) => {
                state.foreign_bridges = bridges;
                state.foreign_key = key;
                state.foreign_applied = Some(std::time::Instant::now());
            }
            Err(e) => crate::log::warn(&format!(
                "adding accept rules beside a foreign drop policy: {e}; containers on berth's \
                 bridges may not reach each other or the outside"
            )),
        }
    }

    /// Starts the thread that restores the table after a flush (ends with the engine).
    pub(crate) fn watch_firewall(self: &Arc<Self>) {
        if !self.config.network.firewall {
            return;
        }
        let weak: Weak<Engine> = Arc::downgrade(self);
        std::thread::spawn(move || loop {
            std::thread::sleep(WATCH_PERIOD);
            let Some(e) = weak.upgrade() else { return };
            let mut state = e.net_state();
            let table = e.config.network.firewall_table.clone();
            match firewall::present(&table, state.generation) {
                Ok(true) => e.keep_foreign_accepts(&mut state, false),
                Ok(false) => {
                    crate::log::warn(&format!(
                        "the nftables table ip {table} was removed or flushed; restoring it"
                    ));
                    e.refresh_firewall(&mut state);
                }
                Err(err) => crate::log::warn(&format!("checking the firewall table: {err}")),
            }
        });
    }
}
