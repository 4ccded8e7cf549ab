//! Ephemeral stacks: `up --ttl/--priority`, `compose prune`, and `up --max-projects`.
//!
//! State lives in labels, like the rest of compose, so any client sees the same thing:
//! `org.berth.compose.expires` (unix seconds, UTC: an integer compares without parsing a
//! date or a zone, like the API's own `Created`), `org.berth.compose.priority` and
//! `org.berth.compose.created` (unix seconds of the project's first `up`). They are set on
//! every service container `up` creates, and on the networks and volumes it creates (there
//! only as a record of the values at creation; containers are authoritative).
//!
//! Why renewal needs `--force-recreate`: Docker cannot change the labels of an existing
//! container, and the labels are deliberately not part of `config-hash` (they are added to
//! the create body after [`berth_compose::Service::config_hash`] is taken), so an
//! unchanged `up` keeps its containers. A project's expiry is therefore the *newest*
//! expiry among its service containers: any (re)created container renews the whole
//! project, and `up --ttl D --force-recreate` renews an unchanged one. `up --ttl` warns
//! when the expiry it asked for did not take. A project with a service container without
//! the label never expires (one-off `run` containers do not count). `up` without `--ttl`
//! (or `--priority`) carries the project's current values onto the containers it creates;
//! `--ttl 0` removes the expiry from the containers created from then on.
//!
//! The expiry rule itself is `berth_types::compose::project_expiry`, shared with berthd,
//! which applies it on its own with `--compose-expiry-interval SECONDS`.
//!
//! Eviction (`prune`, the quota) is `down` without a compose file: containers stopped and
//! removed with their anonymous volumes, then the networks labelled with the project;
//! named volumes only with `prune --volumes`. The quota is checked on the client, so two
//! `up`s racing for the last slot can both succeed; it is a policy, not a lock.
//!
//! `ls` is left as docker compose prints it (table and JSON) for compatibility; expiries
//! are seen with `prune --dry-run` or `inspect` of a container's labels.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use berth_api_types::ContainerSummary;
use berth_client::{Client, ContainerListOptions};
use serde_json::Value;

use super::{event, resources, state, up, Ctx, Prune, Up};
use crate::commands::daemon;

pub use berth_types::compose::{
    CREATED_LABEL as CREATED, EXPIRES_LABEL as EXPIRES, PRIORITY_LABEL as PRIORITY,
};
/// The environment variable that sets `--max-projects` when the flag is absent.
pub const MAX_PROJECTS_ENV: &str = "BERTH_COMPOSE_MAX_PROJECTS";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A compact age or delay: `45s`, `5m`, `1h30m`, `2d3h`.
pub fn span(secs: i64) -> String {
    let s = secs.max(0);
    let (d, h, m) = (s / 86400, s % 86400 / 3600, s % 3600 / 60);
    match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{m}m"),
        s if s < 86400 && m == 0 => format!("{h}h"),
        s if s < 86400 => format!("{h}h{m}m"),
        _ if h == 0 => format!("{d}d"),
        _ => format!("{d}d{h}h"),
    }
}

/// A project as `prune` and the quota see it, from its containers' labels.
#[derive(Debug, Clone)]
pub struct Info {
    pub name: String,
    /// Newest expiry of the service containers; `None` if one has none (never expires).
    pub expires: Option<i64>,
    pub priority: i64,
    pub created: i64,
    pub running: bool,
}

impl Info {
    fn of(name: &str, list: &[ContainerSummary]) -> Info {
        let services: Vec<&ContainerSummary> =
            list.iter().filter(|x| !state::is_oneoff(x)).collect();
        let num = |x: &ContainerSummary, k: &str| state::label(x, k).parse::<i64>().ok();
        let expires = berth_types::compose::project_expiry(list.iter().map(|x| &x.labels));
        Info {
            name: name.to_string(),
            expires,
            priority: services
                .iter()
                .filter_map(|x| num(x, PRIORITY))
                .max()
                .unwrap_or(0),
            created: services
                .iter()
                .map(|x| num(x, CREATED).unwrap_or(x.created))
                .min()
                .unwrap_or_else(now),
            running: list.iter().any(|x| x.state == "running"),
        }
    }

    fn expired(&self, at: i64) -> bool {
        self.expires.is_some_and(|e| e <= at)
    }
}

/// Every compose project on the daemon, by name.
pub fn projects(c: &Client) -> Result<Vec<Info>> {
    let o = ContainerListOptions {
        all: true,
        filters: vec![format!("label={}", state::PROJECT)],
        ..ContainerListOptions::default()
    };
    let mut by: BTreeMap<String, Vec<ContainerSummary>> = BTreeMap::new();
    for x in c.list_containers(&o).map_err(daemon)? {
        let p = state::label(&x, state::PROJECT).to_string();
        if !p.is_empty() {
            by.entry(p).or_default().push(x);
        }
    }
    Ok(by.iter().map(|(k, v)| Info::of(k, v)).collect())
}

/// What `up` stamps on the objects it creates.
#[derive(Debug, Clone)]
pub struct Stamp {
    pub expires: Option<i64>,
    pub priority: i64,
    pub created: i64,
    /// The project had containers before this `up`.
    pub existing: bool,
}

impl Stamp {
    /// The labels for project `name` under `a`'s flags, carrying the current values.
    pub fn for_up(c: &Client, name: &str, a: &Up) -> Result<Stamp> {
        let ttl = match a.ttl.as_deref() {
            Some(t) => {
                let d = berth_compose::units::parse_duration(t).map_err(|e| {
                    anyhow::anyhow!("invalid --ttl: {e}; e.g. --ttl 90m or --ttl 2h")
                })?;
                Some(d.as_secs() as i64 + i64::from(d.subsec_nanos() > 0))
            }
            None => None,
        };
        let list = state::containers(c, name, true)?;
        let cur = Info::of(name, &list);
        let expires = match ttl {
            Some(secs) => (secs > 0).then(|| now() + secs),
            None => cur.expires,
        };
        Ok(Stamp {
            expires,
            priority: a.priority.unwrap_or(cur.priority),
            created: if list.is_empty() { now() } else { cur.created },
            existing: !list.is_empty(),
        })
    }

    pub fn labels(&self) -> BTreeMap<String, String> {
        let mut l = BTreeMap::new();
        if let Some(e) = self.expires {
            l.insert(EXPIRES.to_string(), e.to_string());
        }
        l.insert(PRIORITY.to_string(), self.priority.to_string());
        l.insert(CREATED.to_string(), self.created.to_string());
        l
    }

    /// Adds the labels to a create body (after the config hash was taken).
    pub fn apply(&self, body: &mut Value) {
        for (k, v) in self.labels() {
            body["Labels"][k] = Value::String(v);
        }
    }

    /// After `up --ttl`: warns when unchanged containers kept an older expiry.
    pub fn check_renewed(&self, c: &Client, name: &str, ttl: &str) -> Result<()> {
        let Some(want) = self.expires else {
            return Ok(());
        };
        let got = Info::of(name, &state::containers(c, name, true)?).expires;
        if got.is_some_and(|g| g >= want) {
            return Ok(());
        }
        let when = got.map_or_else(
            || "never expires".to_string(),
            |g| format!("still expires in {}", span(g - now())),
        );
        eprintln!(
            "WARN[0000] project {name:?} {when}: --ttl only stamps containers that up creates, and these were unchanged; renew with `berth compose up --ttl {ttl} --force-recreate`"
        );
        Ok(())
    }
}

/// `down` of a project known only by name: containers (with anonymous volumes), its
/// networks, and with `volumes` its named volumes.
pub fn remove_project(c: &Client, name: &str, timeout: Option<i64>, volumes: bool) -> Result<()> {
    let mut list = state::ordered(None, state::containers(c, name, true)?);
    list.reverse();
    for x in &list {
        up::remove(c, x, timeout, true)?;
    }
    resources::remove_networks(c, name, None)?;
    if volumes {
        resources::remove_volumes(c, name, None)?;
    }
    Ok(())
}

/// `compose prune`: removes expired projects (all of them, or only `-p NAME`'s).
pub fn prune(ctx: &Ctx, a: &Prune, only: Option<&str>) -> Result<()> {
    let t = now();
    let mut n = 0;
    for p in projects(ctx.c)? {
        if !p.expired(t) || only.is_some_and(|o| o != p.name) {
            continue;
        }
        let ago = span(t - p.expires.unwrap_or(t));
        if a.dry_run {
            println!("Project {}  Would remove (expired {ago} ago)", p.name);
        } else {
            remove_project(ctx.c, &p.name, a.timeout, a.volumes)?;
            println!("Project {}  Removed (expired {ago} ago)", p.name);
        }
        n += 1;
    }
    let s = if n == 1 { "" } else { "s" };
    if a.dry_run {
        println!("Total: {n} project{s} would be removed");
    } else {
        println!("Total: {n} project{s} removed");
    }
    Ok(())
}

/// `up --max-projects N` for a new project: evicts running projects (expired ones first,
/// then lowest priority, then oldest) until fewer than N run, never one with a higher
/// priority than the new project's. Plans first, so nothing is evicted when no room can
/// be made.
pub fn enforce_quota(c: &Client, name: &str, stamp: &Stamp, a: &Up) -> Result<()> {
    let max = match a.max_projects {
        Some(m) => m,
        None => match std::env::var(MAX_PROJECTS_ENV) {
            Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|_| {
                anyhow::anyhow!(
                    "invalid {MAX_PROJECTS_ENV}={v:?}: use a whole number of projects, or unset it"
                )
            })?,
            _ => return Ok(()),
        },
    };
    if max == 0 || stamp.existing {
        return Ok(());
    }
    let t = now();
    let mut running: Vec<Info> = projects(c)?
        .into_iter()
        .filter(|p| p.running && p.name != name)
        .collect();
    let need = (running.len() + 1).saturating_sub(max);
    if need == 0 {
        return Ok(());
    }
    running.sort_by_key(|p| (!p.expired(t), p.priority, p.created, p.name.clone()));
    let (evict, keep): (Vec<Info>, Vec<Info>) = running
        .into_iter()
        .partition(|p| p.expired(t) || p.priority <= stamp.priority);
    if evict.len() < need {
        let way: Vec<String> = keep
            .iter()
            .map(|p| format!("{} (priority {})", p.name, p.priority))
            .collect();
        bail!(
            "cannot bring up project {name:?} (priority {}): the quota of {max} running projects (--max-projects or {MAX_PROJECTS_ENV}) is reached, and these projects have a higher priority and are never evicted for it: {}; stop one with `berth compose -p NAME down`, raise the quota, or give {name:?} a higher --priority",
            stamp.priority,
            way.join(", ")
        );
    }
    for p in evict.iter().take(need) {
        let why = if p.expired(t) {
            "expired".to_string()
        } else {
            format!("quota {max}, priority {}", p.priority)
        };
        event("Project", &p.name, &format!("Evicting ({why})"));
        remove_project(c, &p.name, a.timeout, false)?;
        event("Project", &p.name, "Evicted");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_compact() {
        assert_eq!(span(0), "0s");
        assert_eq!(span(59), "59s");
        assert_eq!(span(300), "5m");
        assert_eq!(span(5400), "1h30m");
        assert_eq!(span(7200), "2h");
        assert_eq!(span(2 * 86400 + 3 * 3600), "2d3h");
    }
}
