//! Start and stop order from `depends_on`: topological, ties broken by name.
//!
//! A service that joins another's namespaces (`network_mode`, `pid` or `ipc` set to
//! `service:NAME`) depends on it implicitly, as compose-go adds it: NAME must run first.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{ComposeError, Result};
use crate::model::{Dependency, Project, Service};

/// `s`'s namespace modes that may name another service: (key, what it shares, value).
pub(crate) fn namespace_modes(s: &Service) -> Vec<(&'static str, &'static str, &String)> {
    [
        ("network_mode", "network", &s.network_mode),
        ("pid", "pid namespace", &s.pid),
        ("ipc", "ipc namespace", &s.ipc),
    ]
    .into_iter()
    .filter_map(|(k, w, v)| v.as_ref().map(|v| (k, w, v)))
    .collect()
}

/// Adds the implicit `depends_on` of `service:NAME` namespace modes (condition
/// `service_started`) where `depends_on` does not already name NAME.
pub(crate) fn imply_dependencies(p: &mut Project) {
    for s in p.services.values_mut() {
        let implied: Vec<String> = namespace_modes(s)
            .into_iter()
            .filter_map(|(.., m)| m.strip_prefix("service:").map(str::to_string))
            .collect();
        for other in implied {
            s.depends_on
                .entry(other)
                .or_insert_with(Dependency::default);
        }
    }
}

/// Services in start order (dependencies first); errors on a cycle, naming it.
pub fn start_order(services: &BTreeMap<String, Service>) -> Result<Vec<String>> {
    let deps = |s: &Service| -> Vec<String> {
        s.depends_on
            .keys()
            .filter(|d| services.contains_key(*d))
            .cloned()
            .collect()
    };
    let mut pending: BTreeMap<&str, usize> = services
        .iter()
        .map(|(n, s)| (n.as_str(), deps(s).len()))
        .collect();
    let mut ready: BTreeSet<&str> = pending
        .iter()
        .filter(|(_, c)| **c == 0)
        .map(|(n, _)| *n)
        .collect();
    let mut out = Vec::new();
    while let Some(n) = ready.pop_first() {
        pending.remove(n);
        out.push(n.to_string());
        for (m, s) in services {
            if s.depends_on.contains_key(n) {
                if let Some(c) = pending.get_mut(m.as_str()) {
                    *c -= 1;
                    if *c == 0 {
                        ready.insert(m);
                    }
                }
            }
        }
    }
    if pending.is_empty() {
        return Ok(out);
    }
    Err(ComposeError::DependencyCycle {
        chain: find_cycle(services, pending.keys().copied().collect()),
    })
}

/// Follows dependencies inside the stuck set until a service repeats.
fn find_cycle(services: &BTreeMap<String, Service>, stuck: BTreeSet<&str>) -> String {
    let mut path: Vec<&str> = vec![stuck.first().copied().unwrap_or_default()];
    loop {
        let cur = *path.last().expect("non-empty");
        let next = services[cur]
            .depends_on
            .keys()
            .map(String::as_str)
            .find(|d| stuck.contains(d))
            .unwrap_or(cur);
        if let Some(pos) = path.iter().position(|p| *p == next) {
            let mut cycle: Vec<&str> = path[pos..].to_vec();
            cycle.push(next);
            return cycle.join(" -> ");
        }
        path.push(next);
    }
}

impl Project {
    /// Active services in start order.
    pub fn start_order(&self) -> Vec<String> {
        start_order(&self.services).unwrap_or_else(|_| self.services.keys().cloned().collect())
    }

    /// Active services in stop order (the reverse of the start order).
    pub fn stop_order(&self) -> Vec<String> {
        let mut v = self.start_order();
        v.reverse();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(deps: &[&str]) -> Service {
        let mut s = Service::default();
        for d in deps {
            s.depends_on.insert(d.to_string(), Dependency::default());
        }
        s
    }

    #[test]
    fn order_and_cycle() {
        let mut m = BTreeMap::new();
        m.insert("web".to_string(), svc(&["db", "cache"]));
        m.insert("db".to_string(), svc(&[]));
        m.insert("cache".to_string(), svc(&[]));
        m.insert("a".to_string(), svc(&[]));
        assert_eq!(start_order(&m).unwrap(), vec!["a", "cache", "db", "web"]);
        m.insert("db".to_string(), svc(&["web"]));
        let e = start_order(&m).unwrap_err().to_string();
        assert!(e.contains("db -> web -> db"), "{e}");
    }
}
