//! `docker diff` (what a container changed, read from its overlay upper dir) and `docker
//! commit` (the upper dir packed as a layer on top of the container's image).
//!
//! Why from the upper dir: overlayfs already keeps exactly the container's writes there:
//! copied-up or new files, 0:0 character devices for deleted ones (whiteouts) and
//! `trusted.overlay.opaque=y` on directories that were removed and made again. The kinds
//! follow moby's `OverlayChanges`: a whiteout, or an opaque directory that a lower layer has,
//! is deleted (2); anything a lower layer has is modified (0), except a directory whose size,
//! mode and mtime match the lower one; anything else is added (1); the parent of an added or
//! deleted entry is modified. The walk is by directory fd with `O_NOFOLLOW` (`tarwalk`), with
//! the matching directory of every lower layer open beside it, so a running container
//! swapping names under us cannot lead it out of the upper dir.

use std::collections::BTreeSet;
use std::os::fd::{AsFd, OwnedFd};

use berth_image::changes::apply_change;
use berth_image::model::ContainerConfig;
use berth_image::{Digest, NewImage, Reference};
use nix::sys::stat::{FileStat, SFlag};

use super::tarwalk::{kind, list_dir, lstat_at, open_dir_at};
use crate::{Engine, EngineError, Result};

/// The kind of a change, with Docker's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// 0: the path existed in the image and was changed.
    Modified = 0,
    /// 1: the path is new.
    Added = 1,
    /// 2: the path was removed.
    Deleted = 2,
}

/// One entry of `docker diff`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The absolute container path.
    pub path: String,
    /// What happened to it.
    pub kind: ChangeKind,
}

/// `POST /commit` options.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// `repo`, without the tag; `None`: the image is left untagged.
    pub repo: Option<String>,
    /// `tag` (`latest` when a repo is given without one).
    pub tag: Option<String>,
    /// `comment` (`-m`).
    pub comment: Option<String>,
    /// `author` (`-a`).
    pub author: Option<String>,
    /// `pause`: freeze a running container while its upper dir is packed (Docker's default).
    pub pause: bool,
    /// `changes`: Dockerfile instructions applied last.
    pub changes: Vec<String>,
    /// The request body: config fields that override the container's.
    pub config: Option<ContainerConfig>,
}

fn is_whiteout(st: &FileStat) -> bool {
    kind(st) == SFlag::S_IFCHR && st.st_rdev == 0
}

fn is_opaque(dir: &OwnedFd) -> bool {
    let mut buf = [0u8; 4];
    // SAFETY: the fd is live, the name is NUL-terminated, and `buf` is writable for its length.
    let n = unsafe {
        libc::fgetxattr(
            std::os::fd::AsRawFd::as_raw_fd(dir),
            c"trusted.overlay.opaque".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    n == 1 && buf[0] == b'y'
}

struct Walk {
    out: Vec<Change>,
    changed_dirs: BTreeSet<String>,
}

impl Walk {
    fn dir(&mut self, upper: &OwnedFd, lowers: &[Option<OwnedFd>], path: &str) -> Result<()> {
        let io = |e: std::io::Error| EngineError::io("reading the upper dir at", path.as_ref(), e);
        for name in list_dir(upper.as_fd()).map_err(io)? {
            let Ok(st) = lstat_at(upper.as_fd(), &name) else {
                continue;
            };
            let full = format!("{}/{}", path.trim_end_matches('/'), name.to_string_lossy());
            let lower_st: Vec<Option<FileStat>> = lowers
                .iter()
                .map(|l| l.as_ref().and_then(|d| lstat_at(d.as_fd(), &name).ok()))
                .collect();
            let in_lower = lower_st.iter().flatten().next();
            let is_dir = kind(&st) == SFlag::S_IFDIR;
            let sub = if is_dir {
                open_dir_at(upper.as_fd(), &name).ok()
            } else {
                None
            };
            let change = if is_whiteout(&st)
                || (sub.as_ref().is_some_and(is_opaque) && in_lower.is_some())
            {
                Some(ChangeKind::Deleted)
            } else {
                match in_lower {
                    None => Some(ChangeKind::Added),
                    Some(l) if is_dir && kind(l) == SFlag::S_IFDIR && same_dir(&st, l) => None,
                    Some(_) => Some(ChangeKind::Modified),
                }
            };
            if is_dir {
                self.changed_dirs.insert(full.clone());
            }
            if let Some(k) = change {
                if k != ChangeKind::Modified {
                    let parent = path.to_string();
                    if parent != "/" && self.changed_dirs.insert(parent.clone()) {
                        self.out.push(Change {
                            path: parent,
                            kind: ChangeKind::Modified,
                        });
                    }
                }
                self.out.push(Change {
                    path: full.clone(),
                    kind: k,
                });
            }
            if let Some(sub) = sub {
                let sub_lowers: Vec<Option<OwnedFd>> = lowers
                    .iter()
                    .map(|l| l.as_ref().and_then(|d| open_dir_at(d.as_fd(), &name).ok()))
                    .collect();
                self.dir(&sub, &sub_lowers, &full)?;
            }
        }
        Ok(())
    }
}

fn same_dir(a: &FileStat, b: &FileStat) -> bool {
    a.st_size == b.st_size
        && a.st_mode == b.st_mode
        && a.st_mtime == b.st_mtime
        && a.st_mtime_nsec == b.st_mtime_nsec
}

impl Engine {
    /// `GET /containers/{id}/changes`: the container's changes to its image, by path.
    pub fn container_changes(&self, name_or_id: &str) -> Result<Vec<Change>> {
        let rec = self.find_container(name_or_id)?;
        let rootfs = self.store.rootfs(&rec.id)?;
        let open = |p: &std::path::Path| -> std::io::Result<OwnedFd> {
            Ok(std::fs::File::open(p)?.into())
        };
        let upper =
            open(&rootfs.upper).map_err(|e| EngineError::io("opening", &rootfs.upper, e))?;
        let lowers: Vec<Option<OwnedFd>> = rootfs.lowers.iter().map(|p| open(p).ok()).collect();
        let mut w = Walk {
            out: Vec::new(),
            changed_dirs: BTreeSet::new(),
        };
        w.dir(&upper, &lowers, "/")?;
        w.out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(w.out)
    }

    /// `POST /commit`: the container's changes become a new image on top of its own; the
    /// config is the container's, overridden by `opts.config`, then `opts.changes`.
    pub fn commit_container(&self, name_or_id: &str, opts: &CommitOptions) -> Result<Digest> {
        let rec = self.find_container(name_or_id)?;
        let tag = match &opts.repo {
            Some(r) if !r.is_empty() => {
                let t = opts
                    .tag
                    .as_deref()
                    .filter(|t| !t.is_empty())
                    .unwrap_or("latest");
                Some(Reference::parse(&format!("{r}:{t}"))?)
            }
            _ => None,
        };
        let image = self.store.get(&rec.image_id.parse()?)?;
        let mut config = image.config.config.clone().unwrap_or_default();
        let o = &rec.options;
        let mut env = config.env.take().unwrap_or_default();
        for e in &o.env {
            let key = e.split_once('=').map_or(e.as_str(), |(k, _)| k);
            env.retain(|x| x.split_once('=').map_or(x.as_str(), |(k, _)| k) != key);
            if e.contains('=') {
                env.push(e.clone());
            }
        }
        config.env = Some(env);
        if let Some(ep) = &o.entrypoint {
            config.entrypoint = Some(ep.clone()).filter(|e| !(e.len() == 1 && e[0].is_empty()));
            config.cmd = None;
        }
        if let Some(cmd) = o.cmd.clone().filter(|c| !c.is_empty()) {
            config.cmd = Some(cmd);
        }
        let set = |dst: &mut Option<String>, v: &str| {
            if !v.is_empty() {
                *dst = Some(v.to_string());
            }
        };
        set(&mut config.user, &o.user);
        set(&mut config.working_dir, &o.working_dir);
        set(&mut config.stop_signal, &o.stop_signal);
        config.labels = Some(rec.labels.clone()).filter(|l| !l.is_empty());
        if !o.volumes.is_empty() {
            let v = config.volumes.get_or_insert_with(Default::default);
            v.extend(o.volumes.clone());
        }
        if let Some(body) = &opts.config {
            overlay(&mut config, body);
        }
        for c in &opts.changes {
            for line in c.lines().filter(|l| !l.trim().is_empty()) {
                apply_change(&mut config, line)?;
            }
        }
        let created_by = std::iter::once(rec.path.clone())
            .chain(rec.args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        let new = NewImage {
            config,
            comment: opts.comment.clone().filter(|c| !c.is_empty()),
            author: opts.author.clone().filter(|a| !a.is_empty()),
            created_by: Some(created_by),
            created: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0)),
            tag,
        };
        let pause = opts.pause && {
            let s = self.container_status(&rec);
            s.is_running() && !s.is_paused()
        };
        if pause {
            self.pause_container(&rec.id)?;
        }
        let id = self.store.commit_rootfs(&rec.id, &new);
        if pause {
            let _ = self.unpause_container(&rec.id);
        }
        Ok(id?)
    }
}

/// Docker's `merge`: the body's non-empty fields replace the container's; env, labels,
/// ports and volumes are merged by key (the body's win).
fn overlay(config: &mut ContainerConfig, body: &ContainerConfig) {
    let b = body.clone();
    let s = |v: Option<String>| v.filter(|x| !x.is_empty());
    let l = |v: Option<Vec<String>>| v.filter(|x| !x.is_empty());
    for (dst, v) in [
        (&mut config.user, s(b.user)),
        (&mut config.working_dir, s(b.working_dir)),
        (&mut config.stop_signal, s(b.stop_signal)),
    ] {
        if v.is_some() {
            *dst = v;
        }
    }
    let (ep, cmd) = (l(b.entrypoint), l(b.cmd));
    if ep.is_some() || cmd.is_some() {
        config.entrypoint = ep;
        config.cmd = cmd;
    }
    for (dst, v) in [
        (&mut config.on_build, l(b.on_build)),
        (&mut config.shell, l(b.shell)),
    ] {
        if v.is_some() {
            *dst = v;
        }
    }
    if b.healthcheck.is_some() {
        config.healthcheck = b.healthcheck;
    }
    if b.stop_timeout.is_some() {
        config.stop_timeout = b.stop_timeout;
    }
    for (dst, v) in [
        (&mut config.exposed_ports, b.exposed_ports),
        (&mut config.volumes, b.volumes),
    ] {
        dst.get_or_insert_with(Default::default)
            .extend(v.unwrap_or_default());
    }
    if let Some(labels) = b.labels {
        config
            .labels
            .get_or_insert_with(Default::default)
            .extend(labels);
    }
    if let Some(env) = body.env.as_ref() {
        let mine = config.env.get_or_insert_with(Vec::new);
        for e in env {
            let key = e.split_once('=').map_or(e.as_str(), |(k, _)| k);
            mine.retain(|x| x.split_once('=').map_or(x.as_str(), |(k, _)| k) != key);
            mine.push(e.clone());
        }
    }
}
