//! Volumes: Docker's named and anonymous volumes (local driver) and how containers use them.
//!
//! The store is `berth_volume::VolumeStore` on `<data-root>/volumes`. What uses a volume is
//! derived from the container records on disk (their resolved `mounts`), never counted in
//! memory: a counter would drift from the records over a crash, the records cannot. As in
//! Docker, any container, running or not, keeps its volumes in use.
//!
//! Container create resolves the mounts ([`Engine::resolve_mounts`]): a `Binds` entry whose
//! source is not an absolute path names a volume (`name:/dst[:ro|rw|nocopy]`), a `Mounts`
//! entry of type `volume` names one or asks for an anonymous one, and the image's and the
//! body's `Volumes` get anonymous volumes where nothing else is mounted. Volumes reach the OCI
//! spec as bind mounts of their `_data`. At start ([`Engine::prepare_volumes`]) driver
//! options are mounted and a new, empty volume receives the image's content at its
//! destination (copy-up) unless `nocopy`.
//!
//! Lock order: the engine's container lock, then the store's own.

use std::collections::BTreeMap;

use berth_volume::{CreateRequest, Volume, VolumeError};
use serde::{Deserialize, Serialize};

use crate::{Engine, LabelFilter, Result};

mod mounts;

/// One resolved mount of a container, in the shape of inspect's `Mounts`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MountPoint {
    /// `volume` or `bind`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// The volume's name (empty for a bind).
    #[serde(default)]
    pub name: String,
    /// The host path: the volume's `_data`, or the bind's source.
    pub source: String,
    /// The path in the container.
    pub destination: String,
    /// `local` for a volume.
    #[serde(default)]
    pub driver: String,
    /// The mode as given (`ro`, `z`), empty by default.
    #[serde(default)]
    pub mode: String,
    /// Writable.
    #[serde(rename = "RW")]
    pub rw: bool,
    /// The bind's propagation (empty for a volume).
    #[serde(default)]
    pub propagation: String,
    /// The volume was made for this container (removed with it by `rm -v` and `--rm`).
    #[serde(default)]
    pub anonymous: bool,
    /// `nocopy`: no copy-up of the image's content.
    #[serde(default)]
    pub no_copy: bool,
}

/// A volume with what uses it.
#[derive(Debug, Clone)]
pub struct VolumeView {
    /// The metadata.
    pub volume: Volume,
    /// `<data-root>/volumes/<name>/_data`.
    pub mountpoint: String,
    /// Ids of the containers that mount it.
    pub users: Vec<String>,
}

/// `GET /volumes` filters (all given ones must match).
#[derive(Debug, Clone, Default)]
pub struct VolumeFilters {
    /// `dangling=true|false`: used by no container, or used.
    pub dangling: Option<bool>,
    /// `name=`: substrings of the name, any of which matches.
    pub names: Vec<String>,
    /// `label=` (and `label!=`) filters.
    pub labels: Vec<LabelFilter>,
    /// `driver=`: exact driver names, any of which matches.
    pub drivers: Vec<String>,
}

/// `POST /volumes/prune` options.
#[derive(Debug, Clone, Default)]
pub struct VolumePruneOptions {
    /// `all=true`: named volumes too (API ≥ 1.42 prunes only anonymous ones otherwise).
    pub all: bool,
    /// `label=` (and `label!=`) filters.
    pub labels: Vec<LabelFilter>,
}

/// What a prune removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumePruneReport {
    /// Names of the removed volumes.
    pub deleted: Vec<String>,
    /// Bytes their data took.
    pub space_reclaimed: u64,
}

pub(crate) fn labels_match(filters: &[LabelFilter], labels: &BTreeMap<String, String>) -> bool {
    filters.iter().all(|f| {
        let has = labels
            .get(&f.key)
            .is_some_and(|v| f.value.as_ref().is_none_or(|want| want == v));
        has != f.negate
    })
}

impl Engine {
    fn volume_view(&self, volume: Volume, users: &BTreeMap<String, Vec<String>>) -> VolumeView {
        VolumeView {
            mountpoint: self.volumes.mountpoint(&volume.name).display().to_string(),
            users: users.get(&volume.name).cloned().unwrap_or_default(),
            volume,
        }
    }

    /// Volume name → ids of the containers whose records mount it.
    fn volume_users(&self) -> Result<BTreeMap<String, Vec<String>>> {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in self.records()? {
            for p in r.mounts.iter().filter(|p| p.kind == "volume") {
                m.entry(p.name.clone()).or_default().push(r.id.clone());
            }
        }
        Ok(m)
    }

    /// Creates a volume, or returns the existing one of that name.
    pub fn create_volume(&self, req: CreateRequest) -> Result<VolumeView> {
        let (v, made) = self.volumes.create(req)?;
        if made {
            self.emit_volume(&v.name, "create", &[]);
        }
        Ok(self.volume_view(v, &self.volume_users()?))
    }

    /// One volume.
    pub fn volume(&self, name: &str) -> Result<VolumeView> {
        let v = self.volumes.get(name)?;
        Ok(self.volume_view(v, &self.volume_users()?))
    }

    /// Bytes a volume's data takes.
    pub fn volume_size(&self, name: &str) -> u64 {
        self.volumes.size(name)
    }

    /// Volumes passing `f`, by name.
    pub fn volumes(&self, f: &VolumeFilters) -> Result<Vec<VolumeView>> {
        let users = self.volume_users()?;
        Ok(self
            .volumes
            .list()?
            .into_iter()
            .map(|v| self.volume_view(v, &users))
            .filter(|v| f.dangling.is_none_or(|d| d == v.users.is_empty()))
            .filter(|v| f.names.is_empty() || f.names.iter().any(|n| v.volume.name.contains(n)))
            .filter(|v| f.drivers.is_empty() || f.drivers.contains(&v.volume.driver))
            .filter(|v| labels_match(&f.labels, &v.volume.labels))
            .collect())
    }

    /// Removes a volume no container uses; `force` makes a missing one not an error.
    pub fn remove_volume(&self, name: &str, force: bool) -> Result<()> {
        let _guard = self
            .containers_lock
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Err(e) = self.volumes.get(name) {
            return match e {
                VolumeError::NotFound(_) if force => Ok(()),
                e => Err(e.into()),
            };
        }
        if let Some(ids) = self.volume_users()?.remove(name) {
            return Err(VolumeError::InUse {
                name: name.to_owned(),
                ids,
            }
            .into());
        }
        self.volumes.remove(name)?;
        self.emit_volume(name, "destroy", &[]);
        Ok(())
    }

    /// Removes unused volumes: anonymous ones only, unless `all`.
    pub fn prune_volumes(&self, opts: &VolumePruneOptions) -> Result<VolumePruneReport> {
        let _guard = self
            .containers_lock
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let users = self.volume_users()?;
        let mut out = VolumePruneReport::default();
        for v in self.volumes.list()? {
            if users.contains_key(&v.name)
                || !(opts.all || v.anonymous)
                || !labels_match(&opts.labels, &v.labels)
            {
                continue;
            }
            let size = self.volumes.size(&v.name);
            self.volumes.remove(&v.name)?;
            out.space_reclaimed += size;
            out.deleted.push(v.name);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_through_the_engine() {
        let dir = tempfile::tempdir().unwrap();
        let e = Engine::open(crate::EngineConfig::new(dir.path())).unwrap();
        let mut req = CreateRequest {
            name: Some("v1".into()),
            ..Default::default()
        };
        req.labels.insert("team".into(), "a".into());
        let v = e.create_volume(req).unwrap();
        assert!(v.mountpoint.ends_with("/volumes/v1/_data") && v.users.is_empty());
        e.create_volume(CreateRequest::default()).unwrap();
        let f = VolumeFilters {
            labels: vec![LabelFilter::parse("team=a", false)],
            ..Default::default()
        };
        assert_eq!(e.volumes(&f).unwrap().len(), 1);
        assert_eq!(e.volumes(&VolumeFilters::default()).unwrap().len(), 2);
        let r = e.prune_volumes(&VolumePruneOptions::default()).unwrap();
        assert_eq!(r.deleted.len(), 1);
        assert_eq!(e.volume("v1").unwrap().volume.name, "v1");
        let all = VolumePruneOptions {
            all: true,
            ..Default::default()
        };
        assert_eq!(
            e.prune_volumes(&all).unwrap().deleted,
            vec!["v1".to_string()]
        );
        let err = e.remove_volume("v1", false).unwrap_err();
        assert_eq!(err.to_string(), "get v1: no such volume");
        e.remove_volume("v1", true).unwrap();
    }
}
