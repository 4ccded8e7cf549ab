//! `berth build`: `DOCKER_BUILDKIT=0 docker build` over berthd's `POST /build`.
//!
//! Why the client does the context work: like docker's legacy CLI, berth tars the context
//! directory itself, applying `.dockerignore` here so excluded files (`.git`, `target/`)
//! never cross the socket; the Dockerfile and `.dockerignore` are always sent. Symlinks go
//! as symlinks (the daemon resolves them inside the context, never on this host). A
//! Dockerfile outside the context (or `-f -`) is added under a generated
//! `.dockerfile.<hex>` name, which is appended to `.dockerignore` so `COPY` cannot see it,
//! exactly as docker's `AddDockerfileToBuildContext` does.
//!
//! Output is docker's non-TTY form: `Sending build context to Docker daemon  N.NNkB` on
//! stdout, then each `stream` text as is; an `error` message goes to stderr with exit 1;
//! `-q` prints only the id; `--iidfile` gets the `aux.ID` (no newline, as docker writes it).
//! On a terminal (`--progress auto|tty`) the stream goes through `buildview`'s compact view.
//!
//! The tar is built in memory (berth-client has no streamed-body call for `/build` yet).

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, IsTerminal, Read, Write};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use berth_api_types::JsonMessage;
use berth_build::DockerIgnore;
use berth_client::{encode, Client};
use clap::Args;

use super::{daemon, Exit};
use crate::format::human_size4;

/// `berth build [OPTIONS] PATH | -`.
#[derive(Debug, Clone, Args)]
pub struct Build {
    /// Name and optionally a tag in the "name:tag" format.
    #[arg(short = 't', long = "tag")]
    pub tags: Vec<String>,
    /// Name of the Dockerfile (default: "PATH/Dockerfile"; "-" reads it from stdin).
    #[arg(short = 'f', long = "file")]
    pub file: Option<String>,
    /// Set build-time variables (a bare KEY takes its value from the environment).
    #[arg(long = "build-arg")]
    pub build_args: Vec<String>,
    /// Set metadata for an image.
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Set the target build stage to build.
    #[arg(long)]
    pub target: Option<String>,
    /// Do not use cache when building the image.
    #[arg(long)]
    pub no_cache: bool,
    /// Always attempt to pull a newer version of the image.
    #[arg(long)]
    pub pull: bool,
    /// Suppress the build output and print image ID on success.
    #[arg(short, long)]
    pub quiet: bool,
    /// Set the networking mode for the RUN instructions during build.
    #[arg(long)]
    pub network: Option<String>,
    /// Write the image ID to the file.
    #[arg(long)]
    pub iidfile: Option<PathBuf>,
    /// Output: "auto" (a compact view on a terminal, plain otherwise), "plain" or "tty".
    #[arg(long, default_value = "auto", value_parser = ["auto", "plain", "tty"])]
    pub progress: String,
    /// The build context: a directory, or "-" for a tar (or a lone Dockerfile) on stdin.
    pub context: String,
}

/// `k=v` pairs, as docker's `ValidateEnv` + `ConvertKVStringsToMapWithNil` read `--build-arg`:
/// a bare `k` takes `$k`, or `null` (the daemon then ignores it) when it is unset.
pub fn build_args(
    args: &[String],
    env: impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, Option<String>>> {
    let mut m = BTreeMap::new();
    for a in args {
        let (k, v) = match a.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (a.as_str(), env(a)),
        };
        if k.is_empty() {
            bail!("invalid argument {a:?} for \"--build-arg\" flag: invalid environment variable: {a}");
        }
        m.insert(k.to_string(), v);
    }
    Ok(m)
}

/// `--label k=v` (a bare `k` is an empty value, as docker's `ConvertKVStringsToMap`).
pub fn labels(args: &[String]) -> Result<BTreeMap<String, String>> {
    let mut m = BTreeMap::new();
    for a in args {
        let (k, v) = a.split_once('=').unwrap_or((a, ""));
        if k.trim().is_empty() {
            bail!("invalid argument {a:?} for \"--label\" flag: invalid label '{a}': empty name");
        }
        m.insert(k.to_string(), v.to_string());
    }
    Ok(m)
}

/// The `/build` query string.
pub fn query(a: &Build, dockerfile: &str) -> Result<String> {
    let mut q = vec![format!("dockerfile={}", encode(dockerfile))];
    q.extend(a.tags.iter().map(|t| format!("t={}", encode(t))));
    let env = |k: &str| std::env::var(k).ok();
    let ba = serde_json::to_string(&build_args(&a.build_args, env)?)?;
    q.push(format!("buildargs={}", encode(&ba)));
    q.push(format!(
        "labels={}",
        encode(&serde_json::to_string(&labels(&a.labels)?)?)
    ));
    if let Some(t) = &a.target {
        q.push(format!("target={}", encode(t)));
    }
    for (on, k) in [(a.no_cache, "nocache"), (a.pull, "pull"), (a.quiet, "q")] {
        if on {
            q.push(format!("{k}=1"));
        }
    }
    if let Some(n) = &a.network {
        q.push(format!("networkmode={}", encode(n)));
    }
    Ok(q.join("&"))
}

/// The tar of a context directory: `.dockerignore` applied, `always` (the Dockerfile's path
/// in the context) and `.dockerignore` sent regardless, symlinks kept, owner 0:0.
pub fn context_tar(dir: &Path, ignore: &DockerIgnore, always: Option<&str>) -> Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    walk(&mut b, dir, "", ignore, always)?;
    Ok(b.into_inner()?)
}

fn walk(
    b: &mut tar::Builder<Vec<u8>>,
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
        let meta = fs::symlink_metadata(&full)
            .with_context(|| format!("error checking context: can't stat '{}'", full.display()))?;
        let kept = always.is_some_and(|a| a == r) || r == ".dockerignore";
        if meta.is_dir() {
            let needed = always.is_some_and(|a| a.starts_with(&format!("{r}/")));
            if !needed && ignore.can_skip_dir(&r) {
                continue;
            }
            if !ignore.is_excluded(&r) {
                append(b, &full, &format!("{r}/"), &meta)?;
            }
            walk(b, dir, &r, ignore, always)?;
        } else if (kept || !ignore.is_excluded(&r)) && !meta.file_type().is_socket() {
            append(b, &full, &r, &meta)?;
        }
    }
    Ok(())
}

fn append(b: &mut tar::Builder<Vec<u8>>, full: &Path, name: &str, m: &fs::Metadata) -> Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_metadata_in_mode(m, tar::HeaderMode::Complete);
    h.set_uid(0);
    h.set_gid(0);
    let ft = m.file_type();
    if ft.is_symlink() {
        let target = fs::read_link(full)?;
        b.append_link(&mut h, name, target)?;
    } else if ft.is_file() {
        let f = fs::File::open(full).with_context(|| {
            format!(
                "error checking context: no permission to read from '{}'",
                full.display()
            )
        })?;
        b.append_data(&mut h, name, f)?;
    } else {
        h.set_size(0);
        b.append_data(&mut h, name, io::empty())?;
    }
    Ok(())
}

/// Adds `dockerfile` to `tar` as `.dockerfile.<hex>` and hides it with `.dockerignore`
/// (docker's `AddDockerfileToBuildContext`); returns the tar and the generated name.
pub fn add_dockerfile(tar: &[u8], dockerfile: &[u8]) -> Result<(Vec<u8>, String)> {
    let mut hex = [0u8; 10];
    fs::File::open("/dev/urandom")?.read_exact(&mut hex)?;
    let name = format!(
        ".dockerfile.{}",
        hex.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let mut out = tar::Builder::new(Vec::new());
    let mut ignore: Option<Vec<u8>> = None;
    let mut ar = tar::Archive::new(tar);
    for e in ar.entries()? {
        let mut e = e?;
        if e.path_bytes().as_ref() == b".dockerignore" {
            let mut v = Vec::new();
            e.read_to_end(&mut v)?;
            ignore = Some(v);
            continue;
        }
        // Through append_data/append_link, so GNU long names and link targets survive.
        let (path, link) = (
            e.path()?.into_owned(),
            e.link_name()?.map(|l| l.into_owned()),
        );
        let mut h = e.header().clone();
        match link {
            Some(l) => out.append_link(&mut h, &path, l)?,
            None => out.append_data(&mut h, &path, &mut e)?,
        }
    }
    let mut ignore = ignore.unwrap_or_else(|| b".dockerignore".to_vec());
    ignore.extend_from_slice(format!("\n{name}\n").as_bytes());
    for (n, data) in [(".dockerignore", &ignore[..]), (name.as_str(), dockerfile)] {
        out.append_data(&mut file_header(data.len()), n, data)?;
    }
    Ok((out.into_inner()?, name))
}

/// A 0600 root-owned regular file's header, modified now.
fn file_header(len: usize) -> tar::Header {
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
fn is_archive(b: &[u8]) -> bool {
    let magic: [&[u8]; 4] = [b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd"];
    magic.iter().any(|m| b.starts_with(m)) || b.get(257..262) == Some(b"ustar")
}

fn read_stdin() -> io::Result<Vec<u8>> {
    let mut v = Vec::new();
    io::stdin().read_to_end(&mut v).map(|_| v)
}

fn lone_dockerfile(text: &[u8]) -> Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    b.append_data(&mut file_header(text.len()), "Dockerfile", text)?;
    Ok(b.into_inner()?)
}

/// The context tar and the Dockerfile's name in it, as docker's CLI prepares them.
pub fn prepare(a: &Build) -> Result<(Vec<u8>, String)> {
    let from_stdin = a.file.as_deref() == Some("-");
    if a.context == "-" {
        if from_stdin {
            bail!("invalid argument: can't use stdin for both build context and dockerfile");
        }
        let data = read_stdin()?;
        if is_archive(&data) {
            return Ok((data, a.file.clone().unwrap_or_default()));
        }
        if a.file.is_some() {
            bail!("ambiguous Dockerfile source: both stdin and flag correspond to Dockerfiles");
        }
        return Ok((lone_dockerfile(&data)?, "Dockerfile".into()));
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
        return add_dockerfile(&context_tar(&dir, &ignore, None)?, &read_stdin()?);
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
            Ok((context_tar(&dir, &ignore, Some(rel))?, rel.to_string()))
        }
        Err(_) => {
            let df = fs::read(&real).with_context(|| format!("reading {}", real.display()))?;
            add_dockerfile(&context_tar(&dir, &ignore, None)?, &df)
        }
    }
}

pub fn build(c: &Client, a: &Build) -> Result<()> {
    if let Some(f) = &a.iidfile {
        // Docker removes a stale file first, so a failed build leaves none.
        let _ = fs::remove_file(f);
    }
    if a.context == "-" && a.file.as_deref() != Some("-") && io::stdin().is_terminal() {
        bail!("requested build context from stdin, but stdin is a terminal");
    }
    let (tar, dockerfile) = prepare(a)?;
    let mut out = io::stdout().lock();
    if !a.quiet {
        let size = human_size4(tar.len() as u64);
        write!(
            out,
            "Sending build context to Docker daemon {size:>8}\r\r\n"
        )?;
        out.flush()?;
    }
    let path = format!("/build?{}", query(a, &dockerfile)?);
    let headers = [("Content-Type", "application/x-tar".to_string())];
    let post = "POST".parse().map_err(|e| anyhow!("{e}"))?;
    let lines = c
        .stream(post, &path, Some(Client::body(tar)), &headers)
        .map_err(daemon)?
        .json_lines::<JsonMessage>();
    let tty = match a.progress.as_str() {
        "tty" => true,
        "plain" => false,
        _ => io::stdout().is_terminal(),
    };
    let mut view = tty.then(crate::buildview::TtyView::default);
    let mut id = None;
    for m in lines {
        let m = m.map_err(daemon)?;
        if let Some(e) = m.error {
            if let Some(v) = view.as_mut() {
                out.write_all(v.finish().as_bytes())?;
            }
            out.flush()?;
            return Err(Exit {
                code: 1,
                msg: Some(e),
            }
            .into());
        }
        if let Some(s) = &m.stream {
            match view.as_mut() {
                Some(v) => out.write_all(v.feed(s).as_bytes())?,
                None => out.write_all(s.as_bytes())?,
            }
            out.flush()?;
        }
        if let Some(i) = m.aux.as_ref().and_then(|x| x["ID"].as_str()) {
            id = Some(i.to_string());
        }
    }
    if let Some(v) = view.as_mut() {
        out.write_all(v.finish().as_bytes())?;
        out.flush()?;
    }
    if let Some(f) = &a.iidfile {
        let id = id.ok_or_else(|| anyhow!("the daemon did not report the image id"))?;
        fs::write(f, id).with_context(|| format!("writing image ID to {}", f.display()))?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "build_tests.rs"]
mod tests;
