//! The optional expiry policy for ephemeral compose projects (berthd's
//! `--compose-expiry-interval`): every period, projects whose expiry has passed are removed,
//! as `berth compose prune` would remove them.
//!
//! Why in the daemon too: `berth compose prune` needs someone to run it; a CI host creating a
//! stack per pull request wants the stacks gone when their TTL ends, whoever forgot them.
//! The rule for "expired" is [`berth_types::compose::project_expiry`], the same one the
//! client applies, over the labels `berth compose up --ttl` put on the containers. Named
//! volumes are kept (the client removes them only with `prune --volumes`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_types::compose::{project_expiry, PROJECT_LABEL};

use crate::containers::ContainerRecord;
use crate::{Engine, Result};

impl Engine {
    /// Removes every compose project whose expiry is at or before `now` (unix seconds): its
    /// containers stopped (with their stop timeout) and removed with their anonymous
    /// volumes, then the networks labelled with the project. Returns the projects removed.
    pub fn remove_expired_projects(&self, now: i64) -> Result<Vec<String>> {
        let mut projects: BTreeMap<String, Vec<ContainerRecord>> = BTreeMap::new();
        for r in self.records()? {
            if let Some(p) = r.labels.get(PROJECT_LABEL) {
                projects.entry(p.clone()).or_default().push(r);
            }
        }
        let mut removed = Vec::new();
        for (name, list) in projects {
            let Some(expiry) = project_expiry(list.iter().map(|r| &r.labels)) else {
                continue;
            };
            if expiry > now {
                continue;
            }
            for r in &list {
                let gone = self
                    .stop_container(&r.id, None, None)
                    .and_then(|_| self.remove_container_with(&r.id, true, true));
                if let Err(e) = gone {
                    crate::log::warn(&format!(
                        "removing {} of expired project {name}: {e}",
                        r.name
                    ));
                }
            }
            let networks = self
                .network_records()?
                .into_iter()
                .filter(|n| n.labels.get(PROJECT_LABEL) == Some(&name));
            for n in networks {
                if let Err(e) = self.remove_network(&n.id) {
                    crate::log::warn(&format!(
                        "removing network {} of expired project {name}: {e}",
                        n.name
                    ));
                }
            }
            crate::log::info(&format!(
                "removed compose project {name}: it expired {}s ago",
                now - expiry
            ));
            removed.push(name);
        }
        Ok(removed)
    }

    /// Starts the policy: every `period`, expired projects are removed (the thread ends
    /// with the engine).
    pub fn expire_projects_every(self: &Arc<Self>, period: Duration) {
        let weak = Arc::downgrade(self);
        std::thread::spawn(move || loop {
            std::thread::sleep(period);
            let Some(e) = weak.upgrade() else { return };
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            if let Err(err) = e.remove_expired_projects(now) {
                crate::log::warn(&format!("removing expired compose projects: {err}"));
            }
        });
    }
}
