//! The build context as `berth build` sends it: the directory's tar with `.dockerignore`
//! applied (as docker's legacy CLI makes it), and, for berthd, the same context as a
//! manifest plus only the contents the daemon lacks.
//!
//! Why the client does the context work: like docker's legacy CLI, berth tars the context
//! directory itself, applying `.dockerignore` here so excluded files (`.git`, `target/`)
//! never cross the socket; the Dockerfile and `.dockerignore` are always sent. Symlinks go
//! as symlinks (the daemon resolves them inside the context, never on this host). A
//! Dockerfile outside the context (or `-f -`) is added under a generated
//! `.dockerfile.<hex>` name, which is appended to `.dockerignore` so `COPY` cannot see it,
//! exactly as docker's `AddDockerfileToBuildContext` does.
//! `build_manifest.rs` turns the prepared context into berthd's manifest context.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use berth_build::DockerIgnore;

use super::build::Build;

/// A context as `berth build` sends it, entry by entry in tar order; files stay on disk until
/// they are sent, so a manifest context reads each file once (to hash it) and sends only what
/// the daemon lacks.
#[derive(Debug, Default)]
pub struct Prepared {
    /// The entries, a directory before what it holds.
    pub items: Vec<Item>,
    /// The context directory it was walked from (none for a lone Dockerfile).
    pub dir: Option<PathBuf>,
}

/// One entry of a [`Prepared`] context.
#[derive(Debug)]
pub struct Item {
    /// The name in the context (`dir/` for a directory).
    pub name: String,
    /// Its tar header: kind, mode, mtime, size; owner 0:0.
    pub header: tar::Header,
    /// Where its content is.
    pub data: Data,
}

/// The content of an [`Item`].
#[derive(Debug)]
pub enum Data {
    /// A directory, or a special file sent empty.
    Empty,
    /// A symlink's target.
    Link(PathBuf),
    /// A regular file on disk.
    File(PathBuf),
    /// A file made by the CLI (a generated `.dockerignore` or Dockerfile).
    Bytes(Vec<u8>),
}

impl Prepared {
    /// The context directory `dir` with `.dockerignore` applied, `always` (the Dockerfile's
    /// path in the context) and `.dockerignore` kept regardless, symlinks kept, owner 0:0.
    pub fn walk(dir: &Path, ignore: &DockerIgnore, always: Option<&str>) -> Result<Prepared> {
        let mut p = Prepared {
            dir: Some(dir.to_path_buf()),
            ..Prepared::default()
        };
        p.walk_dir(dir, "", ignore, always)?;
        Ok(p)
    }

    fn walk_dir(
        &mut self,
        dir: &Path,
        rel: &str,
        ignore: &DockerIgnore,
        always: Option<&str>,
    ) -> Result<()> {
        let path = if rel.is_empty() {
            dir.to_path_buf()
        } else {
            dir.join(rel)
        };
        let mut names: Vec<String> = Vec::new();
        for e in fs::read_dir(&path).with_context(|| format!("error checking context: {rel:?}"))? {
            let name = e?.file_name();
            let name = name
                .to_str()
                .ok_or_else(|| anyhow!("error checking context: {name:?} is not UTF-8"))?;
            names.push(name.to_string());
        }
        names.sort();
        for name in names {
            let r = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let full = dir.join(&r);
            let meta = fs::symlink_metadata(&full).with_context(|| {
                format!("error checking context: can't stat '{}'", full.display())
            })?;
            let kept = always.is_some_and(|a| a == r) || r == ".dockerignore";
            if meta.is_dir() {
                let needed = always.is_some_and(|a| a.starts_with(&format!("{r}/")));
                if !needed && ignore.can_skip_dir(&r) {
                    continue;
                }
                if !ignore.is_excluded(&r) {
                    self.push_path(full, format!("{r}/"), &meta)?;
                }
                self.walk_dir(dir, &r, ignore, always)?;
            } else if (kept || !ignore.is_excluded(&r)) && !meta.file_type().is_socket() {
                self.push_path(full, r, &meta)?;
            }
        }
        Ok(())
    }

    fn push_path(&mut self, full: PathBuf, name: String, m: &fs::Metadata) -> Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_metadata_in_mode(m, tar::HeaderMode::Complete);
        header.set_uid(0);
        header.set_gid(0);
        let ft = m.file_type();
        let data = if ft.is_symlink() {
            Data::Link(fs::read_link(&full)?)
        } else if ft.is_file() {
            // Checked now, as docker's CLI does before it sends anything.
            fs::File::open(&full).with_context(|| {
                format!(
                    "error checking context: no permission to read from '{}'",
                    full.display()
                )
            })?;
            Data::File(full)
        } else {
            header.set_size(0);
            Data::Empty
        };
        self.items.push(Item { name, header, data });
        Ok(())
    }

    /// Adds a generated file.
    fn push_bytes(&mut self, name: &str, bytes: Vec<u8>) {
        let header = file_header(bytes.len());
        self.items.push(Item {
            name: name.to_string(),
            header,
            data: Data::Bytes(bytes),
        });
    }

    /// The context as the tar docker's legacy CLI sends.
    pub fn to_tar(&self) -> Result<Vec<u8>> {
        let mut b = tar::Builder::new(Vec::with_capacity(self.tar_size() as usize));
        for it in &self.items {
            let mut h = it.header.clone();
            match &it.data {
                Data::Empty => b.append_data(&mut h, &it.name, io::empty())?,
                Data::Link(t) => b.append_link(&mut h, &it.name, t)?,
                Data::File(p) => b.append_data(&mut h, &it.name, fs::File::open(p)?)?,
                Data::Bytes(v) => b.append_data(&mut h, &it.name, &v[..])?,
            }
        }
        Ok(b.into_inner()?)
    }

    /// The size of [`Prepared::to_tar`]'s tar, for the "Sending build context" line.
    pub fn tar_size(&self) -> u64 {
        let pad = |n: u64| n.div_ceil(512) * 512;
        let long = |n: usize| if n >= 100 { 512 + pad(n as u64 + 1) } else { 0 };
        let entries: u64 = self
            .items
            .iter()
            .map(|it| {
                let link = match &it.data {
                    Data::Link(t) => long(t.as_os_str().len()),
                    _ => 0,
                };
                512 + long(it.name.len()) + link + pad(it.header.size().unwrap_or(0))
            })
            .sum();
        // Two zero blocks end a tar; tar-rs then pads to nothing more.
        entries + 1024
    }
}

/// Adds `dockerfile` as `.dockerfile.<hex>` and hides it with `.dockerignore` (docker's
/// `AddDockerfileToBuildContext`); returns the generated name.
pub fn add_dockerfile(ctx: &mut Prepared, dockerfile: Vec<u8>) -> Result<String> {
    let name = format!(".dockerfile.{}", &berth_types::random_id()?[..20]);
    let mut ignore = b".dockerignore".to_vec();
    if let Some(i) = ctx.items.iter().position(|it| it.name == ".dockerignore") {
        ignore = match ctx.items.remove(i).data {
            Data::File(p) => fs::read(&p).with_context(|| format!("reading {}", p.display()))?,
            Data::Bytes(v) => v,
            Data::Empty | Data::Link(_) => ignore,
        };
    }
    ignore.extend_from_slice(format!("\n{name}\n").as_bytes());
    ctx.push_bytes(".dockerignore", ignore);
    ctx.push_bytes(&name, dockerfile);
    Ok(name)
}

/// A 0600 root-owned regular file's header, modified now.
pub(crate) fn file_header(len: usize) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o600);
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(len as u64);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    h.set_mtime(now.map_or(0, |d| d.as_secs()));
    h
}

/// Whether stdin's bytes are an archive (tar, or compressed) rather than a Dockerfile.
pub(crate) fn is_archive(b: &[u8]) -> bool {
    let magic: [&[u8]; 4] = [b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd"];
    magic.iter().any(|m| b.starts_with(m)) || b.get(257..262) == Some(b"ustar")
}

fn read_stdin() -> io::Result<Vec<u8>> {
    let mut v = Vec::new();
    io::stdin().read_to_end(&mut v).map(|_| v)
}

pub(crate) fn lone_dockerfile(text: &[u8]) -> Prepared {
    let mut p = Prepared::default();
    p.push_bytes("Dockerfile", text.to_vec());
    p
}

/// What `berth build` sends: an archive given on stdin as is, or a context it prepared.
#[derive(Debug)]
pub enum Sendable {
    /// `-` with a tar (maybe compressed) on stdin: sent untouched.
    Archive(Vec<u8>),
    /// A directory (or a lone Dockerfile) prepared entry by entry.
    Entries(Prepared),
}

/// The context and the Dockerfile's name in it, as docker's CLI prepares them.
pub fn prepare(a: &Build) -> Result<(Sendable, String)> {
    let from_stdin = a.file.as_deref() == Some("-");
    if a.context == "-" {
        if from_stdin {
            bail!("invalid argument: can't use stdin for both build context and dockerfile");
        }
        let data = read_stdin()?;
        if is_archive(&data) {
            return Ok((Sendable::Archive(data), a.file.clone().unwrap_or_default()));
        }
        if a.file.is_some() {
            bail!("ambiguous Dockerfile source: both stdin and flag correspond to Dockerfiles");
        }
        return Ok((
            Sendable::Entries(lone_dockerfile(&data)),
            "Dockerfile".into(),
        ));
    }
    if a.context.contains("://") || a.context.starts_with("git@") {
        bail!("unable to prepare context: remote contexts are not supported by berth: give a directory or \"-\"");
    }
    let dir = fs::canonicalize(&a.context)
        .map_err(|_| anyhow!("unable to prepare context: path {:?} not found", a.context))?;
    if !dir.is_dir() {
        bail!(
            "unable to prepare context: context must be a directory: {}",
            dir.display()
        );
    }
    let ignore = match fs::read_to_string(dir.join(".dockerignore")) {
        Ok(t) => DockerIgnore::parse(&t).map_err(|e| anyhow!("error checking context: {e}"))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => DockerIgnore::default(),
        Err(e) => bail!("error checking context: reading .dockerignore: {e}"),
    };
    if from_stdin {
        let mut ctx = Prepared::walk(&dir, &ignore, None)?;
        let name = add_dockerfile(&mut ctx, read_stdin()?)?;
        return Ok((Sendable::Entries(ctx), name));
    }
    let given = match &a.file {
        Some(f) => PathBuf::from(f),
        None if !dir.join("Dockerfile").exists() && dir.join("dockerfile").exists() => {
            dir.join("dockerfile")
        }
        None => dir.join("Dockerfile"),
    };
    let abs = std::path::absolute(&given)?;
    let real = fs::canonicalize(&abs).map_err(|e| {
        anyhow!(
            "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {}: {}",
            abs.display(),
            if e.kind() == io::ErrorKind::NotFound {
                "no such file or directory".to_string()
            } else {
                e.to_string()
            }
        )
    })?;
    match real.strip_prefix(&dir) {
        Ok(rel) => {
            let rel = rel
                .to_str()
                .ok_or_else(|| anyhow!("the Dockerfile path is not UTF-8"))?;
            let ctx = Prepared::walk(&dir, &ignore, Some(rel))?;
            Ok((Sendable::Entries(ctx), rel.to_string()))
        }
        Err(_) => {
            let df = fs::read(&real).with_context(|| format!("reading {}", real.display()))?;
            let mut ctx = Prepared::walk(&dir, &ignore, None)?;
            let name = add_dockerfile(&mut ctx, df)?;
            Ok((Sendable::Entries(ctx), name))
        }
    }
}
