//! `COPY` and `ADD` (local sources): the files selected from the context (or from another
//! stage's image with `--from`) become one layer tar, written straight into the store.
//!
//! Why the digest walks the same selection as the copy: the cache key of the step is the
//! sha256 of every selected entry's destination, kind, mode, size and content (mtimes are
//! left out, so a `touch` or a fresh checkout rebuilds nothing) plus `--chown`/`--chmod`.
//! Why nothing is read through a symlink: directories are walked without following links
//! and files are opened with `open_in_root`, so neither a context nor a stage image can make
//! the build read a host file.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use berth_build::{Copy, CopySource};
use berth_image::BuildHistory;
use sha2::{Digest as _, Sha256};

use super::fswalk::{content_in, digest_in, excluded, expand_glob, link_in, meta_in, walk};
use super::stage::{stage_ref, Build, State};
use super::steps::parse_id;
use crate::{EngineError, Result};

/// One entry to copy: where it is (relative to its root) and where it goes (absolute).
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) src: PathBuf,
    pub(super) dest: String,
    pub(super) meta: std::fs::Metadata,
}

/// Where sources are read from: the context, or a mounted image.
pub(super) struct Source {
    /// The root directory, open: every path below it is resolved inside it.
    pub(super) fd: std::fs::File,
    /// The key of a temporary rootfs to remove afterwards.
    mounted: Option<String>,
    pub(super) ignore: Option<berth_build::DockerIgnore>,
    /// A manifest context's contents (its files are extracted empty).
    pub(super) content: Option<std::sync::Arc<super::context::ContentIndex>>,
}

impl Build<'_> {
    fn source(&self, c: &Copy) -> Result<Source> {
        let Some(from) = c.from.as_deref() else {
            let root = self.ctx.path().to_path_buf();
            let fd =
                std::fs::File::open(&root).map_err(|e| EngineError::io("opening", &root, e))?;
            return Ok(Source {
                fd,
                mounted: None,
                ignore: Some(self.ctx.ignore.clone()),
                content: self.ctx.content.clone(),
            });
        };
        let image = match stage_ref(self.file, from, self.current) {
            Some(i) => self
                .stages
                .get(&i)
                .and_then(|s| s.id.clone())
                .ok_or_else(|| {
                    EngineError::InvalidArgument(format!(
                        "COPY --from={from}: that stage has no image"
                    ))
                })?,
            None => self
                .engine
                .store
                .resolve(from)
                .map_err(|_| {
                    EngineError::NotFound(format!("COPY --from={from}: no such stage or image"))
                })?
                .to_string(),
        };
        let key = format!(
            "build-{}",
            &berth_types::random_id().unwrap_or_default()[..16]
        );
        self.engine.store.create_rootfs(&key, &parse_id(&image)?)?;
        let root = match self.engine.store.mount_rootfs(&key) {
            Ok(r) => r,
            Err(e) => {
                let _ = self.engine.store.remove_rootfs(&key);
                return Err(e.into());
            }
        };
        let fd = std::fs::File::open(&root).map_err(|e| EngineError::io("opening", &root, e))?;
        Ok(Source {
            fd,
            mounted: Some(key),
            ignore: None,
            content: None,
        })
    }

    fn release(&self, s: Source) {
        if let Some(key) = s.mounted {
            let _ = self.engine.store.remove_rootfs(&key);
        }
    }

    /// The entries `c` copies, with their destinations (sorted by destination).
    fn select(&self, state: &State, c: &Copy, src: &Source) -> Result<Vec<Entry>> {
        let workdir = state
            .config
            .working_dir
            .clone()
            .unwrap_or_else(|| "/".into());
        let dest = if c.dest.starts_with('/') {
            c.dest.clone()
        } else {
            format!("{}/{}", workdir.trim_end_matches('/'), c.dest)
        };
        let paths: Vec<&String> = c
            .sources
            .iter()
            .filter_map(|s| match s {
                CopySource::Path(p) => Some(p),
                CopySource::Heredoc(_) => None,
            })
            .collect();
        let many = paths.len() > 1 || paths.iter().any(|p| p.contains(['*', '?', '[']));
        if many && !dest.ends_with('/') {
            return Err(EngineError::InvalidArgument(format!(
                "When using COPY with more than one source file, the destination must be a \
                 directory and end with a /: {}",
                c.dest
            )));
        }
        let mut out = Vec::new();
        for p in paths {
            if p.starts_with("http://") || p.starts_with("https://") {
                return Err(EngineError::InvalidArgument(format!(
                    "ADD {p}: remote sources are not supported by berth's builder yet; download it in the context"
                )));
            }
            let rel = berth_build::ignore::clean(p.trim_start_matches('/'));
            let matches = expand_glob(src, &rel)?;
            if matches.is_empty() {
                return Err(EngineError::InvalidArgument(format!(
                    "COPY failed: file not found in build context or excluded by .dockerignore: stat {p}: file does not exist"
                )));
            }
            for m in matches {
                let meta = meta_in(src, &m)?;
                if meta.is_dir() {
                    walk(src, &m, dest.trim_end_matches('/'), &mut out)?;
                } else {
                    let target = if dest.ends_with('/') {
                        format!(
                            "{dest}{}",
                            Path::new(&m)
                                .file_name()
                                .unwrap_or_default()
                                .to_string_lossy()
                        )
                    } else {
                        dest.clone()
                    };
                    if !excluded(src, &m) {
                        out.push(Entry {
                            src: m.into(),
                            dest: target,
                            meta,
                        });
                    }
                }
            }
        }
        out.sort_by(|a, b| a.dest.cmp(&b.dest));
        Ok(out)
    }

    /// The source of `c`: the one [`Build::copy_digest`] opened for this step, else a new one.
    fn take_source(&mut self, c: &Copy) -> Result<Source> {
        match self.open_source.take() {
            Some(s) => Ok(s),
            None => self.source(c),
        }
    }

    /// Releases the source a step's digest kept open (a cache hit never copies).
    pub(super) fn end_step(&mut self) {
        if let Some(s) = self.open_source.take() {
            self.release(s);
        }
    }

    /// The cache input of a COPY/ADD: what it copies, by content. The source stays open for
    /// the copy itself (a stage's rootfs is mounted once per step).
    pub(super) fn copy_digest(&mut self, state: &State, c: &Copy) -> Result<String> {
        let src = self.take_source(c)?;
        let result = (|| {
            let mut h = Sha256::new();
            for e in self.select(state, c, &src)? {
                h.update(format!("{}\0{:o}\0", e.dest, e.meta.mode()).as_bytes());
                if e.meta.is_file() {
                    let (digest, size) = digest_in(&src, &e)?;
                    h.update(format!("{size}\0{digest}\0").as_bytes());
                } else if e.meta.file_type().is_symlink() {
                    h.update(link_in(&src, &e.src)?.as_os_str().as_encoded_bytes());
                }
            }
            for s in &c.sources {
                if let CopySource::Heredoc(d) = s {
                    h.update(d.content.as_bytes());
                }
            }
            Ok(format!("{:x}", h.finalize()))
        })();
        match result {
            Ok(_) => self.open_source = Some(src),
            Err(_) => self.release(src),
        }
        result
    }

    pub(super) fn copy_step(
        &mut self,
        state: &mut State,
        c: &Copy,
        text: &str,
        add: bool,
    ) -> Result<String> {
        let src = self.take_source(c)?;
        let tar_path = self.ctx.path().with_extension(format!(
            "layer-{}",
            &berth_types::random_id().unwrap_or_default()[..8]
        ));
        let result = (|| {
            let entries = self.select(state, c, &src)?;
            let (uid, gid) = self.owner(state, c)?;
            let chmod = match c.chmod.as_deref() {
                Some(m) => Some(u32::from_str_radix(m, 8).map_err(|_| {
                    EngineError::InvalidArgument(format!(
                        "invalid --chmod={m}: use an octal mode such as 0755"
                    ))
                })?),
                None => None,
            };
            let file = std::fs::File::options()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&tar_path)
                .map_err(|e| EngineError::io("creating", &tar_path, e))?;
            let mut tar = tar::Builder::new(file);
            for e in &entries {
                let mut h = tar::Header::new_ustar();
                let mode = chmod.unwrap_or(e.meta.mode() & 0o7777);
                h.set_mode(mode);
                h.set_uid(u64::from(uid));
                h.set_gid(u64::from(gid));
                let mtime = u64::try_from(e.meta.mtime()).unwrap_or(0);
                h.set_mtime(
                    self.epoch
                        .map_or(mtime, |ep| mtime.min(u64::try_from(ep).unwrap_or(0))),
                );
                let path = e.dest.trim_start_matches('/');
                let ft = e.meta.file_type();
                let io = |er: std::io::Error| EngineError::io("writing the layer", &tar_path, er);
                if ft.is_dir() {
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_size(0);
                    tar.append_data(&mut h, path, std::io::empty())
                        .map_err(io)?;
                } else if ft.is_symlink() {
                    let t = link_in(&src, &e.src)?;
                    h.set_entry_type(tar::EntryType::Symlink);
                    h.set_size(0);
                    tar.append_link(&mut h, path, t).map_err(io)?;
                } else if ft.is_file() {
                    // ADD: a local tar archive (plain or gzip) is unpacked at the destination.
                    if add && c.from.is_none() {
                        let (f, _) = content_in(&src, e)?;
                        if let Some(archive) = super::addtar::open_archive(f)? {
                            let dir = if c.dest.ends_with('/') || entries.len() > 1 {
                                e.dest.rsplit_once('/').map_or("", |(d, _)| d).to_string()
                            } else {
                                e.dest.clone()
                            };
                            super::addtar::append_unpacked(&mut tar, archive, &dir)?;
                            continue;
                        }
                    }
                    let (f, size) = content_in(&src, e)?;
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(size);
                    tar.append_data(&mut h, path, f.take(size)).map_err(io)?;
                }
            }
            for s in &c.sources {
                if let CopySource::Heredoc(d) = s {
                    let mut h = tar::Header::new_ustar();
                    h.set_mode(chmod.unwrap_or(0o644));
                    h.set_uid(u64::from(uid));
                    h.set_gid(u64::from(gid));
                    h.set_mtime(u64::try_from(self.now()).unwrap_or(0));
                    h.set_size(d.content.len() as u64);
                    let dest = if c.dest.ends_with('/') {
                        format!("{}{}", c.dest, d.name)
                    } else {
                        c.dest.clone()
                    };
                    tar.append_data(&mut h, dest.trim_start_matches('/'), d.content.as_bytes())
                        .map_err(|er| EngineError::io("writing the layer", &tar_path, er))?;
                }
            }
            let mut file = tar
                .into_inner()
                .map_err(|er| EngineError::io("writing the layer", &tar_path, er))?;
            file.flush().ok();
            file.rewind()
                .map_err(|er| EngineError::io("reading", &tar_path, er))?;
            let history = BuildHistory {
                created_by: format!("/bin/sh -c #(nop) {text}"),
                created: self.now(),
                comment: None,
            };
            let parent = state.id.as_deref().map(parse_id).transpose()?;
            let id = self.engine.store.append_layer(
                parent.as_ref(),
                file,
                state.config.clone(),
                history,
            )?;
            Ok(id.to_string())
        })();
        let _ = std::fs::remove_file(&tar_path);
        self.release(src);
        result
    }

    /// `--chown`: numbers, or names looked up in the parent image's /etc/passwd and /etc/group.
    fn owner(&self, state: &State, c: &Copy) -> Result<(u32, u32)> {
        let Some(spec) = c.chown.as_deref() else {
            return Ok((0, 0));
        };
        let numeric = |s: &str| s.parse::<u32>().ok();
        let (u, g) = spec.split_once(':').unwrap_or((spec, ""));
        if let (Some(uid), Some(gid)) = (
            numeric(u),
            if g.is_empty() { numeric(u) } else { numeric(g) },
        ) {
            return Ok((uid, gid));
        }
        let Some(parent) = state.id.as_deref() else {
            return Err(EngineError::InvalidArgument(format!(
                "--chown={spec}: a stage FROM scratch has no user database: use numeric ids"
            )));
        };
        let key = format!(
            "build-{}",
            &berth_types::random_id().unwrap_or_default()[..16]
        );
        self.engine.store.create_rootfs(&key, &parse_id(parent)?)?;
        let resolved = self
            .engine
            .store
            .mount_rootfs(&key)
            .map_err(EngineError::from)
            .and_then(|root| {
                crate::container::resolve_user(&root, spec, &[]).map_err(EngineError::from)
            });
        let _ = self.engine.store.remove_rootfs(&key);
        let r = resolved?;
        Ok((r.uid, r.gid))
    }
}

use std::os::unix::fs::MetadataExt;
