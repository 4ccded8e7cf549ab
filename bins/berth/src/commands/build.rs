//! `berth build`: `DOCKER_BUILDKIT=0 docker build` over berthd's `POST /build`.
//!
//! The context is prepared by `build_context.rs`, as docker's legacy CLI does, and sent to
//! berthd as a manifest context (only the contents it lacks cross the socket).
//!
//! Output is docker's non-TTY form: `Sending build context to Docker daemon  N.NNkB` on
//! stdout, then each `stream` text as is; an `error` message goes to stderr with exit 1;
//! `-q` prints only the id; `--iidfile` gets the `aux.ID` (no newline, as docker writes it).
//! On a terminal (`--progress auto|tty`) the stream goes through `buildview`'s compact view.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context as _, Result};
use berth_api_types::JsonMessage;
use berth_build::manifest::CONTEXT_MANIFEST_FORMAT;
use berth_client::{encode, Client};
use clap::Args;

use super::build_context::{prepare, Sendable};
use super::build_manifest::manifest_context;
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

pub fn build(c: &Client, a: &Build) -> Result<()> {
    if let Some(f) = &a.iidfile {
        // Docker removes a stale file first, so a failed build leaves none.
        let _ = fs::remove_file(f);
    }
    if a.context == "-" && a.file.as_deref() != Some("-") && io::stdin().is_terminal() {
        bail!("requested build context from stdin, but stdin is a terminal");
    }
    let (ctx, dockerfile) = prepare(a)?;
    let mut out = io::stdout().lock();
    if !a.quiet {
        let size = human_size4(match &ctx {
            Sendable::Archive(v) => v.len() as u64,
            Sendable::Entries(p) => p.tar_size(),
        });
        write!(
            out,
            "Sending build context to Docker daemon {size:>8}\r\r\n"
        )?;
        out.flush()?;
    }
    let mut path = format!("/build?{}", query(a, &dockerfile)?);
    let body = match ctx {
        Sendable::Archive(v) => v,
        Sendable::Entries(p) => match manifest_context(c, &p)? {
            Some(body) => {
                path.push_str("&contextformat=");
                path.push_str(CONTEXT_MANIFEST_FORMAT);
                body
            }
            None => p.to_tar()?,
        },
    };
    let headers = [("Content-Type", "application/x-tar".to_string())];
    let post = "POST".parse().map_err(|e| anyhow!("{e}"))?;
    let lines = c
        .stream(post, &path, Some(Client::body(body)), &headers)
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

/// `berth builder prune [-a] [-f]`.
#[derive(Debug, Clone, Args)]
pub struct Prune {
    /// Remove all unused build cache (berthd keeps no other kind: the same as without).
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    pub force: bool,
}

/// `POST /build/prune`, printed as docker prints it.
pub fn prune(c: &Client, a: &Prune) -> Result<()> {
    if !a.force
        && !super::confirm(
            "WARNING! This will remove all dangling build cache.\nAre you sure you want to continue?",
        )
    {
        return Ok(());
    }
    let r: serde_json::Value = c.post("/build/prune", None).map_err(daemon)?;
    let mut out = io::stdout().lock();
    let deleted: Vec<&str> = r["CachesDeleted"]
        .as_array()
        .map(|v| v.iter().filter_map(|x| x.as_str()).collect())
        .unwrap_or_default();
    if !deleted.is_empty() {
        writeln!(out, "Deleted build cache objects:")?;
        for id in deleted {
            writeln!(out, "{id}")?;
        }
        writeln!(out)?;
    }
    let space = r["SpaceReclaimed"].as_u64().unwrap_or(0);
    writeln!(
        out,
        "Total reclaimed space: {}",
        crate::format::human_size(space)
    )?;
    Ok(())
}

#[cfg(test)]
#[path = "build_tests.rs"]
mod tests;
