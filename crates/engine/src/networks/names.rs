//! The names each network's DNS responder answers: container names, network aliases and
//! short ids, per network — a container is found only from networks it shares.
//!
//! Why a table of its own (not a scan of the records per query): a query must not read
//! files or take the engine's locks; the table is updated at attach/detach under the
//! network lock and read by the responders' threads.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, RwLock};

use berth_network::dns::Resolve;

#[derive(Debug, Clone)]
struct Entry {
    container: String,
    names: Vec<String>,
    ip: Ipv4Addr,
}

/// Why a standby set: a port-group member that is not ready yet (see `groups`) is left out
/// of answers for a name that a ready container also answers to.
type Standby = std::collections::HashSet<String>;

/// Network id → the containers on it with their names.
#[derive(Debug, Default)]
pub(crate) struct Names {
    table: RwLock<HashMap<String, Vec<Entry>>>,
    standby: RwLock<Standby>,
}

impl Names {
    /// Records that `container` answers to `names` at `ip` on network `net`.
    pub(crate) fn add(&self, net: &str, container: &str, names: &[String], ip: Ipv4Addr) {
        let mut t = self.table.write().unwrap_or_else(|p| p.into_inner());
        let list = t.entry(net.to_string()).or_default();
        list.retain(|e| e.container != container);
        list.push(Entry {
            container: container.to_string(),
            names: names.iter().map(|n| n.to_ascii_lowercase()).collect(),
            ip,
        });
    }

    /// Forgets `container` on `net`.
    pub(crate) fn remove(&self, net: &str, container: &str) {
        let mut t = self.table.write().unwrap_or_else(|p| p.into_inner());
        if let Some(list) = t.get_mut(net) {
            list.retain(|e| e.container != container);
        }
    }

    /// Puts `container` on standby (not ready) or takes it off.
    pub(crate) fn set_standby(&self, container: &str, on: bool) {
        let mut s = self.standby.write().unwrap_or_else(|p| p.into_inner());
        match on {
            true => s.insert(container.to_string()),
            false => s.remove(container),
        };
    }

    /// Renames a container on every network (`docker rename`).
    pub(crate) fn rename(&self, container: &str, old: &str, new: &str) {
        let mut t = self.table.write().unwrap_or_else(|p| p.into_inner());
        for e in t
            .values_mut()
            .flatten()
            .filter(|e| e.container == container)
        {
            for n in e.names.iter_mut().filter(|n| n.as_str() == old) {
                *n = new.to_ascii_lowercase();
            }
        }
    }

    fn lookup(&self, net: &str, name: &str) -> Option<Vec<Ipv4Addr>> {
        let t = self.table.read().unwrap_or_else(|p| p.into_inner());
        let standby = self.standby.read().unwrap_or_else(|p| p.into_inner());
        let (ready, waiting): (Vec<&Entry>, Vec<&Entry>) = t
            .get(net)?
            .iter()
            .filter(|e| e.names.iter().any(|n| n == name))
            .partition(|e| !standby.contains(&e.container));
        let pick = if ready.is_empty() { waiting } else { ready };
        let ips: Vec<Ipv4Addr> = pick.iter().map(|e| e.ip).collect();
        (!ips.is_empty()).then_some(ips)
    }

    fn reverse(&self, net: &str, ip: Ipv4Addr) -> Option<String> {
        let t = self.table.read().unwrap_or_else(|p| p.into_inner());
        t.get(net)?
            .iter()
            .find(|e| e.ip == ip)
            .and_then(|e| e.names.first().cloned())
    }
}

/// One network's view of [`Names`], for its DNS responder.
#[derive(Debug)]
pub(crate) struct NetworkResolver {
    pub(crate) names: Arc<Names>,
    pub(crate) net: String,
}

impl Resolve for NetworkResolver {
    fn resolve(&self, name: &str) -> Option<Vec<Ipv4Addr>> {
        self.names.lookup(&self.net, name)
    }

    fn reverse(&self, ip: Ipv4Addr) -> Option<String> {
        self.names.reverse(&self.net, ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_per_network() {
        let n = Names::default();
        let ip = Ipv4Addr::new(10, 0, 0, 2);
        n.add("a", "c1", &["Web".into(), "alias".into()], ip);
        assert_eq!(n.lookup("a", "web"), Some(vec![ip]));
        assert_eq!(n.lookup("a", "alias"), Some(vec![ip]));
        assert_eq!(n.lookup("b", "web"), None);
        assert_eq!(n.reverse("a", ip).as_deref(), Some("web"));
        n.rename("c1", "web", "front");
        assert_eq!(n.lookup("a", "front"), Some(vec![ip]));
        n.remove("a", "c1");
        assert_eq!(n.lookup("a", "front"), None);
    }

    #[test]
    fn a_member_on_standby_is_hidden_only_behind_a_ready_one() {
        let n = Names::default();
        let (old, new) = (Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 3));
        n.add("a", "c1", &["p-web-1".into(), "web".into()], old);
        n.add("a", "c2", &["p-web-2".into(), "web".into()], new);
        n.set_standby("c2", true);
        assert_eq!(n.lookup("a", "web"), Some(vec![old]));
        // Its own name still answers: nothing else has it.
        assert_eq!(n.lookup("a", "p-web-2"), Some(vec![new]));
        n.set_standby("c2", false);
        assert_eq!(n.lookup("a", "web"), Some(vec![old, new]));
        n.remove("a", "c1");
        n.set_standby("c2", true);
        assert_eq!(n.lookup("a", "web"), Some(vec![new]));
    }
}
