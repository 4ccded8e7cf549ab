//! Container create's and start's side of volumes: resolving `Binds`, `Mounts` and
//! `Volumes` into volumes and binds, preparing volumes at start, and `rm -v`.

use std::path::Path;

use berth_volume::{CreateRequest, VolumeError};

use super::MountPoint;
use crate::container::options::{check_destination, parse_bind, MountSpec, OptionsError};
use crate::container::CreateOptions;
use crate::containers::ContainerRecord;
use crate::{Engine, EngineError, Result};

/// A `name:/dst[:mode]` bind entry that names a volume.
#[derive(Debug, PartialEq, Eq)]
struct VolumeBind {
    name: String,
    destination: String,
    mode: String,
    read_only: bool,
    no_copy: bool,
}

fn parse_volume_bind(spec: &str) -> Result<Option<VolumeBind>> {
    let parts: Vec<&str> = spec.split(':').collect();
    if parts.len() < 2 || parts[0].is_empty() || parts[0].starts_with('/') {
        return Ok(None);
    }
    let err = |reason: String| -> EngineError {
        crate::container::SpecError::from(OptionsError::Bind {
            spec: spec.to_owned(),
            reason,
        })
        .into()
    };
    let (name, dst, mode) = match parts.as_slice() {
        [n, d] => (*n, *d, ""),
        [n, d, m] => (*n, *d, *m),
        _ => return Err(err("expected name:/dst[:options]".into())),
    };
    if !berth_volume::valid_name(name) {
        return Err(VolumeError::InvalidName(name.to_owned()).into());
    }
    check_destination(dst).map_err(err)?;
    let (mut ro, mut nocopy) = (false, false);
    for m in mode.split(',').filter(|m| !m.is_empty()) {
        match m {
            "ro" => ro = true,
            "rw" => ro = false,
            "nocopy" => nocopy = true,
            "z" | "Z" => {}
            other => {
                return Err(err(format!(
                    "invalid mode {other:?} for a volume: use ro, rw, nocopy, z or Z"
                )))
            }
        }
    }
    Ok(Some(VolumeBind {
        name: name.into(),
        destination: dst.into(),
        mode: mode.into(),
        read_only: ro,
        no_copy: nocopy,
    }))
}

fn clean(d: &str) -> String {
    d.trim_end_matches('/').to_owned()
}

impl Engine {
    /// Resolves `opts`' volumes and binds for a new container (creating the volumes it names
    /// and the anonymous ones it needs). Returns the mounts for the record, the options with
    /// every volume turned into a bind mount of its `_data` (for the spec), and the anonymous
    /// volumes made (to remove if the create fails). `image_volumes` are the image's
    /// `Config.Volumes` destinations.
    pub(crate) fn resolve_mounts(
        &self,
        opts: &CreateOptions,
        image_volumes: &[String],
    ) -> Result<(Vec<MountPoint>, CreateOptions, Vec<String>)> {
        let mut made = Vec::new();
        let out = self.resolve_mounts_into(opts, image_volumes, &mut made);
        if out.is_err() {
            for n in &made {
                let _ = self.volumes.remove(n);
            }
        }
        out.map(|(p, o)| (p, o, made))
    }

    fn resolve_mounts_into(
        &self,
        opts: &CreateOptions,
        image_volumes: &[String],
        made: &mut Vec<String>,
    ) -> Result<(Vec<MountPoint>, CreateOptions)> {
        let mut spec = opts.clone();
        let hc = &opts.host_config;
        spec.host_config.binds.clear();
        spec.host_config.mounts.clear();
        let mut points = Vec::new();
        let mut volume = |req: CreateRequest,
                          dst: &str,
                          ro: bool,
                          mode: &str,
                          nocopy: bool,
                          spec: &mut CreateOptions|
         -> Result<MountPoint> {
            let (v, created) = self.volumes.create(req)?;
            if created && v.anonymous {
                made.push(v.name.clone());
            }
            let source = self.volumes.mountpoint(&v.name).display().to_string();
            spec.host_config.mounts.push(MountSpec {
                kind: "bind".into(),
                source: source.clone(),
                target: dst.to_owned(),
                read_only: ro,
                ..Default::default()
            });
            Ok(MountPoint {
                kind: "volume".into(),
                name: v.name.clone(),
                source,
                destination: dst.to_owned(),
                driver: v.driver,
                mode: mode.to_owned(),
                rw: !ro,
                propagation: String::new(),
                anonymous: v.anonymous,
                no_copy: nocopy,
            })
        };
        for b in &hc.binds {
            if let Some(v) = parse_volume_bind(b)? {
                let req = CreateRequest {
                    name: Some(v.name),
                    ..Default::default()
                };
                let (dst, ro) = (&v.destination, v.read_only);
                points.push(volume(req, dst, ro, &v.mode, v.no_copy, &mut spec)?);
                continue;
            }
            let p = parse_bind(b).map_err(crate::container::SpecError::from)?;
            spec.host_config.binds.push(b.clone());
            points.push(MountPoint {
                kind: "bind".into(),
                source: p.source.display().to_string(),
                destination: p.destination,
                mode: b.splitn(3, ':').nth(2).unwrap_or("").to_owned(),
                rw: !p.read_only,
                propagation: p.propagation,
                ..Default::default()
            });
        }
        for m in &hc.mounts {
            if m.kind != "volume" {
                if m.kind == "bind" {
                    points.push(MountPoint {
                        kind: "bind".into(),
                        source: m.source.clone(),
                        destination: m.target.clone(),
                        rw: !m.read_only,
                        propagation: m
                            .bind_options
                            .as_ref()
                            .map(|b| b.propagation.clone())
                            .filter(|p| !p.is_empty())
                            .unwrap_or_else(|| "rprivate".into()),
                        ..Default::default()
                    });
                }
                spec.host_config.mounts.push(m.clone());
                continue;
            }
            check_destination(&m.target).map_err(|reason| {
                crate::container::SpecError::from(OptionsError::Mount {
                    kind: "volume".into(),
                    reason,
                })
            })?;
            let vo = m.volume_options.clone().unwrap_or_default();
            let driver = vo.driver_config.unwrap_or_default();
            let req = CreateRequest {
                name: Some(m.source.clone()).filter(|s| !s.is_empty()),
                driver: driver.name,
                labels: vo.labels,
                options: driver.options,
            };
            points.push(volume(
                req,
                &m.target,
                m.read_only,
                "",
                vo.no_copy,
                &mut spec,
            )?);
        }
        let mut taken: Vec<String> = points.iter().map(|p| clean(&p.destination)).collect();
        taken.extend(hc.tmpfs.keys().map(|d| clean(d)));
        taken.extend(hc.mounts.iter().map(|m| clean(&m.target)));
        let wanted = image_volumes.iter().chain(opts.volumes.keys());
        for dst in wanted {
            if taken.contains(&clean(dst)) {
                continue;
            }
            taken.push(clean(dst));
            points.push(volume(
                CreateRequest::default(),
                dst,
                false,
                "",
                false,
                &mut spec,
            )?);
        }
        Ok((points, spec))
    }

    /// Before a start: mounts the driver options of `rec`'s volumes and copies the image's
    /// content into the new, empty ones (`rootfs` is the mounted root file system).
    pub(crate) fn prepare_volumes(&self, rec: &ContainerRecord, rootfs: &Path) -> Result<()> {
        for p in rec.mounts.iter().filter(|p| p.kind == "volume") {
            self.volumes.ensure_mounted(&p.name)?;
            if !p.no_copy {
                self.volumes.populate(&p.name, rootfs, &p.destination)?;
            }
        }
        Ok(())
    }

    /// After a container's removal (under the container lock): removes its anonymous volumes
    /// no other container uses. Failures are left: the volume stays and can be pruned.
    pub(crate) fn remove_anonymous_volumes(&self, rec: &ContainerRecord) {
        let Ok(users) = self.volume_users() else {
            return;
        };
        for p in rec
            .mounts
            .iter()
            .filter(|p| p.kind == "volume" && p.anonymous)
        {
            if !users.contains_key(&p.name) {
                let _ = self.volumes.remove(&p.name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_binds() {
        let v = parse_volume_bind("data:/data:ro,nocopy").unwrap().unwrap();
        let want = VolumeBind {
            name: "data".into(),
            destination: "/data".into(),
            mode: "ro,nocopy".into(),
            read_only: true,
            no_copy: true,
        };
        assert_eq!(v, want);
        assert!(parse_volume_bind("/host:/data").unwrap().is_none());
        assert!(parse_volume_bind("bad name:/data").is_err());
        assert!(parse_volume_bind("data:rel").is_err());
        assert!(parse_volume_bind("data:/d:shared").is_err());
    }
}
