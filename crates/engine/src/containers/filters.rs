//! `docker ps` filters and `docker container prune`.
//!
//! Why the filters are matched here and not at the API edge: `ancestor`, `before` and `since`
//! name images and containers that only the engine can resolve. The API checks the keys
//! (Docker's "invalid filter 'x'") and parses `until`; the values are checked here.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use regex::Regex;

use super::{ContainerStatus, ContainerView};
use crate::{time, Engine, EngineError, Result};

const STATES: &[&str] = &[
    "created",
    "restarting",
    "running",
    "removing",
    "paused",
    "exited",
    "dead",
];

/// Parsed container filters; an empty list does not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerFilters {
    /// `status=`: Docker's state words.
    pub status: Vec<String>,
    /// `name=`: regular expressions matched against the name, with and without `/`.
    pub name: Vec<String>,
    /// `id=`: regular expressions (so prefixes) matched against the full id.
    pub id: Vec<String>,
    /// `label=`: `key` or `key=value`; all must match.
    pub label: Vec<String>,
    /// `label!=`: the container is left out when all of these match.
    pub label_not: Vec<String>,
    /// `exited=`: exit codes of exited containers.
    pub exited: Vec<i32>,
    /// `ancestor=`: image references or ids.
    pub ancestor: Vec<String>,
    /// `before=`: a container; only those created before it.
    pub before: Option<String>,
    /// `since=`: a container; only those created after it.
    pub since: Option<String>,
    /// `until=` (prune): only containers created before this time, seconds since the epoch.
    pub until: Option<i64>,
    /// `expose`, `publish`, `volume`, `network`: berth has no ports, volumes or networks on
    /// containers yet, so any such filter matches nothing.
    pub unsupported: Vec<String>,
    /// `health=`: `starting`, `healthy`, `unhealthy`, or `none` (no health check).
    pub health: Vec<String>,
    /// `is-task=true` matches nothing (no swarm tasks).
    pub is_task: Option<bool>,
}

/// What a container prune did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerPruneReport {
    /// Ids of the removed containers.
    pub deleted: Vec<String>,
    /// Bytes of their writable layers.
    pub space_reclaimed: u64,
}

fn invalid(m: String) -> EngineError {
    EngineError::InvalidArgument(m)
}

impl ContainerFilters {
    /// The filter keys `GET /containers/json` accepts (Docker's list).
    pub const LIST_KEYS: &'static [&'static str] = &[
        "ancestor",
        "before",
        "expose",
        "exited",
        "health",
        "id",
        "isolation",
        "is-task",
        "label",
        "name",
        "network",
        "publish",
        "since",
        "status",
        "volume",
    ];

    /// The filter keys `POST /containers/prune` accepts.
    pub const PRUNE_KEYS: &'static [&'static str] = &["until", "label", "label!"];

    /// Reads Docker's `filters` map (keys already checked by the caller), checking values.
    pub fn from_map(map: &BTreeMap<String, Vec<String>>) -> Result<ContainerFilters> {
        let mut f = ContainerFilters::default();
        for (key, values) in map {
            for v in values {
                match key.as_str() {
                    "status" if STATES.contains(&v.as_str()) => f.status.push(v.clone()),
                    "status" => {
                        return Err(invalid(format!(
                            "Unrecognised filter value for status: {v}"
                        )))
                    }
                    "name" => f.name.push(v.clone()),
                    "id" => f.id.push(v.clone()),
                    "label" => f.label.push(v.clone()),
                    "label!" => f.label_not.push(v.clone()),
                    "exited" => f.exited.push(v.parse().map_err(|_| {
                        invalid(format!("strconv.Atoi: parsing {v:?}: invalid syntax"))
                    })?),
                    "ancestor" => f.ancestor.push(v.clone()),
                    "before" => f.before = Some(v.clone()),
                    "since" => f.since = Some(v.clone()),
                    "health"
                        if matches!(v.as_str(), "starting" | "healthy" | "unhealthy" | "none") =>
                    {
                        f.health.push(v.clone())
                    }
                    "health" => {
                        return Err(invalid(format!(
                            "Unrecognised filter value for health: {v}"
                        )))
                    }
                    "is-task" => {
                        f.is_task = Some(match v.as_str() {
                            "true" | "1" => true,
                            "false" | "0" => false,
                            _ => return Err(invalid(format!("Invalid filter 'is-task={v}'"))),
                        })
                    }
                    // Prune's `until` is a time the caller parses.
                    "until" => {}
                    "isolation" if matches!(v.as_str(), "default" | "process" | "") => {}
                    "isolation" => return Err(invalid(format!("Invalid isolation: {v:?}"))),
                    _ => f.unsupported.push(format!("{key}={v}")),
                }
            }
        }
        Ok(f)
    }

    /// Whether a status filter asks for stopped containers too (Docker then lists all).
    pub fn implies_all(&self) -> bool {
        !self.status.is_empty()
    }
}

/// Docker's `MatchKVList`: every `key` / `key=value` is among `labels`.
fn labels_match(filters: &[String], labels: &BTreeMap<String, String>) -> bool {
    filters.iter().all(|f| match f.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
        None => labels.contains_key(f.as_str()),
    })
}

/// Docker's `Match`: the value as a regular expression found in `text`, or equal to it.
fn regex_match(patterns: &[String], texts: &[&str]) -> bool {
    patterns.iter().any(|p| {
        let re = Regex::new(p).ok();
        texts
            .iter()
            .any(|t| *t == p || re.as_ref().is_some_and(|re| re.is_match(t)))
    })
}

/// The bytes of the files under `dir`, each inode once (`du` with apparent sizes).
pub(crate) fn dir_size(dir: &Path) -> u64 {
    fn walk(dir: &Path, seen: &mut HashSet<(u64, u64)>) -> u64 {
        let Ok(entries) = fs::read_dir(dir) else {
            return 0;
        };
        let mut total = 0;
        for e in entries.flatten() {
            let Ok(md) = fs::symlink_metadata(e.path()) else {
                continue;
            };
            if md.is_dir() {
                total += walk(&e.path(), seen);
            } else if seen.insert((md.dev(), md.ino())) {
                total += md.len();
            }
        }
        total
    }
    walk(dir, &mut HashSet::new())
}

impl Engine {
    /// `docker ps`: containers newest first, running ones unless `all` (or a status filter),
    /// filtered, at most `limit`.
    pub fn list_containers(
        &self,
        all: bool,
        f: &ContainerFilters,
        limit: Option<usize>,
    ) -> Result<Vec<ContainerView>> {
        let views = self.containers(true)?;
        let all = all || f.implies_all();
        let position = |name: &Option<String>| -> Result<Option<usize>> {
            let Some(n) = name else { return Ok(None) };
            let id = self.find_container(n)?.id;
            Ok(views.iter().position(|v| v.record.id == id))
        };
        let (before, since) = (position(&f.before)?, position(&f.since)?);
        let ancestors: Vec<(String, Option<String>)> = f
            .ancestor
            .iter()
            .map(|a| (a.clone(), self.store.resolve(a).ok().map(|d| d.to_string())))
            .collect();
        let mut out = Vec::new();
        for (i, v) in views.iter().enumerate() {
            let r = &v.record;
            let name = format!("/{}", r.name);
            let keep = (all || v.status.is_running())
                && (f.status.is_empty() || f.status.iter().any(|s| s == v.status.docker_state()))
                && (f.name.is_empty() || regex_match(&f.name, &[&name, &r.name]))
                && (f.id.is_empty() || regex_match(&f.id, &[&r.id]))
                && labels_match(&f.label, &r.labels)
                && (f.label_not.is_empty() || !labels_match(&f.label_not, &r.labels))
                && (f.exited.is_empty()
                    || matches!(&v.status, ContainerStatus::Exited { code, .. } if f.exited.contains(code)))
                && (ancestors.is_empty()
                    || ancestors.iter().any(|(given, id)| {
                        r.options.image == *given || id.as_deref() == Some(r.image_id.as_str())
                    }))
                && before.is_none_or(|b| i > b)
                && since.is_none_or(|s| i < s)
                && f.unsupported.is_empty()
                && (f.health.is_empty() || f.health.iter().any(|h| h == v.health_status()))
                && f.is_task != Some(true);
            if keep {
                out.push(v.clone());
            }
        }
        if let Some(n) = limit.filter(|n| *n > 0) {
            out.truncate(n);
        }
        Ok(out)
    }

    /// The bytes of a container's writable layer and of its image (`SizeRw`, `SizeRootFs`).
    pub fn container_size(&self, v: &ContainerView) -> (u64, u64) {
        let rw = v.rootfs.as_ref().map_or(0, |fs| dir_size(&fs.upper));
        let image = self.image(&v.record.image_id).map_or(0, |i| i.size);
        (rw, rw + image)
    }

    /// `docker container prune`: removes every created, exited or dead container the
    /// filters (`until`, `label`, `label!`) let through.
    pub fn prune_containers(&self, f: &ContainerFilters) -> Result<ContainerPruneReport> {
        let mut report = ContainerPruneReport::default();
        for v in self.containers(true)? {
            let r = &v.record;
            if v.status.is_running()
                || !labels_match(&f.label, &r.labels)
                || (!f.label_not.is_empty() && labels_match(&f.label_not, &r.labels))
                || f.until
                    .is_some_and(|u| time::parse_rfc3339(&r.created).unwrap_or(0) >= u)
            {
                continue;
            }
            let size = v.rootfs.as_ref().map_or(0, |fs| dir_size(&fs.upper));
            // A container started meanwhile is refused by remove and kept.
            if self.remove_container(&r.id, false).is_ok() {
                report.deleted.push(r.id.clone());
                report.space_reclaimed += size;
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<String>> {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in pairs {
            m.entry(k.to_string()).or_default().push(v.to_string());
        }
        m
    }

    #[test]
    fn values_are_checked() {
        let f = ContainerFilters::from_map(&map(&[
            ("status", "paused"),
            ("exited", "3"),
            ("label", "a=b"),
            ("name", "^c1$"),
        ]))
        .unwrap();
        assert_eq!(f.status, ["paused"]);
        assert_eq!(f.exited, [3]);
        assert!(f.implies_all());
        let e = ContainerFilters::from_map(&map(&[("status", "sleeping")])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Unrecognised filter value for status: sleeping"
        );
        assert!(ContainerFilters::from_map(&map(&[("exited", "x")])).is_err());
        let f = ContainerFilters::from_map(&map(&[("publish", "80")])).unwrap();
        assert_eq!(f.unsupported, ["publish=80"]);
    }

    #[test]
    fn labels_and_names_match_like_docker() {
        let labels: BTreeMap<String, String> =
            [("a".to_string(), "b".to_string()), ("k".into(), "".into())].into();
        assert!(labels_match(
            &["a".into(), "a=b".into(), "k=".into()],
            &labels
        ));
        assert!(!labels_match(&["a=c".into()], &labels));
        assert!(!labels_match(&["z".into()], &labels));
        assert!(labels_match(&[], &labels));
        assert!(regex_match(&["^c1$".into()], &["/c1", "c1"]));
        assert!(regex_match(&["web".into()], &["/my-web-1", "my-web-1"]));
        assert!(!regex_match(&["^/c2".into()], &["/c1", "c1"]));
        assert!(regex_match(&["abc".into()], &["abcdef"]));
    }

    #[test]
    fn sizes_count_each_inode_once() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("a"), [0u8; 100]).unwrap();
        fs::create_dir(d.path().join("s")).unwrap();
        fs::write(d.path().join("s/b"), [0u8; 50]).unwrap();
        fs::hard_link(d.path().join("a"), d.path().join("s/a2")).unwrap();
        assert_eq!(dir_size(d.path()), 150);
    }
}
