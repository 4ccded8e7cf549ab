//! The image verbs, with Docker's flags and output formats.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use berth_image::{
    changes, short_id, time, ContainerConfig, Image, ImageStore, LabelFilter, NewImage,
    PruneOptions, Reference, RemoveEvent,
};
use clap::{Args, Subcommand};
use serde_json::json;

use crate::format::{human_size, since, table, template};

#[derive(Debug, Subcommand)]
pub enum ImageCmd {
    /// List images.
    #[command(alias = "list")]
    Ls(Ls),
    /// Load images from a tar archive or STDIN.
    Load(Load),
    /// Save images to a tar archive.
    Save(Save),
    /// Create a tag TARGET that refers to SOURCE.
    Tag(Tag),
    /// Remove images.
    #[command(alias = "remove")]
    Rm(Rm),
    /// Import a tarball to create a filesystem image.
    Import(Import),
    /// Show the history of an image.
    History(History),
    /// Display detailed information on images.
    Inspect(Inspect),
    /// Remove unused images.
    Prune(Prune),
}

#[derive(Debug, Clone, Args)]
pub struct Ls {
    /// Show all images (there are no intermediate images to hide).
    #[arg(short, long)]
    pub(crate) all: bool,
    /// Only show image IDs.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Don't truncate output.
    #[arg(long)]
    pub(crate) no_trunc: bool,
    /// Show digests.
    #[arg(long)]
    pub(crate) digests: bool,
    /// Filter output (dangling=, label=, reference=, before=, since=).
    #[arg(short, long)]
    pub(crate) filter: Vec<String>,
    /// Format output using a template ({{.ID}}, {{.Repository}}, {{.Tag}}, ...).
    #[arg(long)]
    pub(crate) format: Option<String>,
    /// REPOSITORY[:TAG]
    pub(crate) name: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct Load {
    /// Read from tar archive file, instead of STDIN.
    #[arg(short, long)]
    pub(crate) input: Option<PathBuf>,
    /// Suppress the load output.
    #[arg(short, long)]
    pub(crate) quiet: bool,
}

#[derive(Debug, Clone, Args)]
pub struct Save {
    /// Write to a file, instead of STDOUT.
    #[arg(short, long)]
    pub(crate) output: Option<PathBuf>,
    #[arg(required = true)]
    pub(crate) images: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct Tag {
    pub(crate) source: String,
    pub(crate) target: String,
}

#[derive(Debug, Clone, Args)]
pub struct Rm {
    /// Force removal of the image.
    #[arg(short, long)]
    pub(crate) force: bool,
    #[arg(required = true)]
    pub(crate) images: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct Import {
    /// Apply Dockerfile instruction to the created image.
    #[arg(short, long)]
    pub(crate) change: Vec<String>,
    /// Set commit message for imported image.
    #[arg(short, long)]
    pub(crate) message: Option<String>,
    /// A tar file, or - for STDIN.
    pub(crate) file: String,
    /// REPOSITORY[:TAG]
    pub(crate) reference: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct History {
    /// Don't truncate output.
    #[arg(long)]
    pub(crate) no_trunc: bool,
    /// Only show image IDs.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Print sizes and dates in human readable format.
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set)]
    pub(crate) human: bool,
    pub(crate) image: String,
}

#[derive(Debug, Clone, Args)]
pub struct Inspect {
    /// Format output using a template.
    #[arg(short, long)]
    pub(crate) format: Option<String>,
    #[arg(required = true)]
    pub(crate) images: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct Prune {
    /// Remove all unused images, not just dangling ones.
    #[arg(short, long)]
    pub(crate) all: bool,
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    pub(crate) force: bool,
    /// Provide filter values (e.g. until=<timestamp>, label=<key>=<value>).
    #[arg(long)]
    pub(crate) filter: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct Df {
    /// Show detailed information on space usage.
    #[arg(short, long)]
    pub(crate) verbose: bool,
}

fn open(root: &Path) -> Result<ImageStore> {
    ImageStore::open(root).with_context(|| format!("opening the image store at {}", root.display()))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub fn run(root: &Path, cmd: ImageCmd) -> Result<ExitCode> {
    let store = open(root)?;
    match cmd {
        ImageCmd::Ls(a) => ls(&store, &a),
        ImageCmd::Load(a) => {
            let report = match &a.input {
                Some(p) => {
                    let f = File::open(p).with_context(|| format!("open {}", p.display()))?;
                    store.load(f)?
                }
                None => {
                    if io::stdin().is_terminal() {
                        bail!("requested load from stdin, but stdin is empty; use -i FILE or pipe an archive");
                    }
                    store.load(io::stdin().lock())?
                }
            };
            if !a.quiet {
                for l in report.lines() {
                    println!("{l}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ImageCmd::Save(a) => {
            let names: Vec<&str> = a.images.iter().map(String::as_str).collect();
            match &a.output {
                Some(p) => {
                    // Write beside the target and rename: a failed save leaves no half file.
                    let tmp = p.with_extension("berth-partial");
                    let f =
                        File::create(&tmp).with_context(|| format!("create {}", tmp.display()))?;
                    let mut w = BufWriter::with_capacity(1 << 20, f);
                    let r = store.save(&names, &mut w).and_then(|()| {
                        w.flush().map_err(|e| berth_image::ImageError::BadArchive {
                            reason: e.to_string(),
                        })
                    });
                    if let Err(e) = r {
                        let _ = std::fs::remove_file(&tmp);
                        return Err(e.into());
                    }
                    std::fs::rename(&tmp, p)?;
                }
                None => {
                    if io::stdout().is_terminal() {
                        bail!(
                            "cowardly refusing to save to a terminal. Use the -o flag or redirect"
                        );
                    }
                    store.save(
                        &names,
                        BufWriter::with_capacity(1 << 20, io::stdout().lock()),
                    )?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ImageCmd::Tag(a) => {
            let target = Reference::parse(&a.target)?;
            store.tag(&a.source, &target)?;
            Ok(ExitCode::SUCCESS)
        }
        ImageCmd::Rm(a) => {
            let mut code = ExitCode::SUCCESS;
            for name in &a.images {
                match store.remove(name, a.force) {
                    Ok(events) => print_events(&events),
                    Err(berth_image::ImageError::ImageNotFound { .. }) => {
                        eprintln!(
                            "Error response from daemon: No such image: {}",
                            berth_image::not_found_name(name)
                        );
                        code = ExitCode::from(1);
                    }
                    Err(e) => {
                        eprintln!("Error response from daemon: {e}");
                        code = ExitCode::from(1);
                    }
                }
            }
            Ok(code)
        }
        ImageCmd::Import(a) => import(&store, &a),
        ImageCmd::History(a) => history(&store, &a),
        ImageCmd::Inspect(a) => inspect(&store, &a),
        ImageCmd::Prune(a) => prune(&store, &a),
    }
}

fn print_events(events: &[RemoveEvent]) {
    for e in events {
        match e {
            RemoveEvent::Untagged(r) => println!("Untagged: {r}"),
            RemoveEvent::Deleted(d) => println!("Deleted: {d}"),
        }
    }
}

/// The size Docker shows for an image: its layers' unpacked content.
fn image_size(store: &ImageStore, image: &Image) -> u64 {
    image
        .chain_ids()
        .iter()
        .filter_map(|c| store.snapshots().meta(c).ok())
        .map(|m| m.size)
        .sum()
}

/// Docker's glob for `reference=`: `*` within a path component, `?` one character.
fn glob(pattern: &str, text: &str) -> bool {
    fn m(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => m(&p[1..], t) || (!t.is_empty() && t[0] != b'/' && m(p, &t[1..])),
            (Some(b'?'), Some(c)) if *c != b'/' => m(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => m(&p[1..], &t[1..]),
            _ => false,
        }
    }
    m(pattern.as_bytes(), text.as_bytes())
}

fn ls(store: &ImageStore, a: &Ls) -> Result<ExitCode> {
    let _ = a.all;
    let images = store.list()?;
    let mut filters: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for f in &a.filter {
        let (k, v) = f
            .split_once('=')
            .with_context(|| format!("bad format of filter {f:?} (expected name=value)"))?;
        if !["dangling", "label", "reference", "before", "since"].contains(&k) {
            bail!("invalid filter '{k}'");
        }
        filters.entry(k).or_default().push(v);
    }
    let created_of = |name: &str| -> Result<i64> {
        let id = store.resolve(name)?;
        Ok(store.get(&id)?.created_unix())
    };
    let before: Option<i64> = filters
        .get("before")
        .and_then(|v| v.first())
        .map(|n| created_of(n))
        .transpose()?;
    let after: Option<i64> = filters
        .get("since")
        .and_then(|v| v.first())
        .map(|n| created_of(n))
        .transpose()?;
    let mut rows = Vec::new();
    let now = now();
    for img in &images {
        if let Some(d) = filters.get("dangling").and_then(|v| v.first()) {
            let want = matches!(*d, "true" | "1");
            if img.is_dangling() != want {
                continue;
            }
        }
        let labels_ok = filters
            .get("label")
            .into_iter()
            .flatten()
            .all(|l| LabelFilter::parse(l, false).matches(img));
        if !labels_ok
            || before.is_some_and(|t| img.created_unix() >= t)
            || after.is_some_and(|t| img.created_unix() <= t)
        {
            continue;
        }
        let mut names: Vec<(String, String)> = img
            .tags
            .iter()
            .map(|t| (t.familiar_name(), t.tag().unwrap_or("latest").to_string()))
            .collect();
        if names.is_empty() {
            names.push(("<none>".into(), "<none>".into()));
        }
        let digest = img
            .digests
            .first()
            .and_then(|d| d.digest())
            .map_or("<none>".into(), |d| d.to_string());
        for (repo, tag) in names {
            let full = format!("{repo}:{tag}");
            if let Some(pats) = filters.get("reference") {
                if !pats.iter().any(|p| glob(p, &full) || glob(p, &repo)) {
                    continue;
                }
            }
            if let Some(n) = &a.name {
                let (nr, nt) = match n.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
                    Some((r, t)) => (r, Some(t)),
                    None => (n.as_str(), None),
                };
                if repo != nr || nt.is_some_and(|t| t != tag) {
                    continue;
                }
            }
            let id = if a.no_trunc {
                img.id().to_string()
            } else {
                short_id(img.id())
            };
            let size = human_size(image_size(store, img));
            let created = since(img.created_unix(), now);
            rows.push((
                repo,
                tag,
                digest.clone(),
                id,
                created,
                size,
                img.created_unix(),
            ));
        }
    }
    if a.quiet {
        let mut seen = std::collections::BTreeSet::new();
        for r in &rows {
            if seen.insert(r.3.clone()) {
                println!("{}", r.3);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(fmt) = &a.format {
        for (repo, tag, digest, id, created, size, ts) in &rows {
            println!(
                "{}",
                template(fmt, |f| Some(match f {
                    "ID" => id.clone(),
                    "Repository" => repo.clone(),
                    "Tag" => tag.clone(),
                    "Digest" => digest.clone(),
                    "CreatedSince" => created.clone(),
                    "CreatedAt" => time::format_rfc3339(*ts),
                    "Size" => size.clone(),
                    _ => return None,
                }))
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = vec![if a.digests {
        vec!["REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"]
    } else {
        vec!["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]
    }
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>()];
    for (repo, tag, digest, id, created, size, _) in rows {
        out.push(if a.digests {
            vec![repo, tag, digest, id, created, size]
        } else {
            vec![repo, tag, id, created, size]
        });
    }
    print!("{}", table(&out));
    Ok(ExitCode::SUCCESS)
}

fn import(store: &ImageStore, a: &Import) -> Result<ExitCode> {
    let mut config = ContainerConfig::default();
    for c in &a.change {
        changes::apply_change(&mut config, c)?;
    }
    let new = NewImage {
        config,
        comment: a.message.clone(),
        author: None,
        created_by: None,
        created: now(),
        tag: a.reference.as_deref().map(Reference::parse).transpose()?,
    };
    let reader: Box<dyn Read> = if a.file == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(File::open(&a.file).with_context(|| format!("open {}", a.file))?)
    };
    let id = store.import(BufReader::with_capacity(1 << 20, reader), &new)?;
    println!("{id}");
    Ok(ExitCode::SUCCESS)
}

fn history(store: &ImageStore, a: &History) -> Result<ExitCode> {
    let img = store.get(&store.resolve(&a.image)?)?;
    let now = now();
    let chains = img.chain_ids();
    let mut layer = 0;
    let mut rows = vec![["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]
        .map(String::from)
        .to_vec()];
    let n = img.config.history.len();
    let mut entries = Vec::new();
    for (i, h) in img.config.history.iter().enumerate() {
        let size = if h.empty_layer == Some(true) {
            0
        } else {
            let s = chains
                .get(layer)
                .and_then(|c| store.snapshots().meta(c).ok())
                .map_or(0, |m| m.size);
            layer += 1;
            s
        };
        let id = if i + 1 != n {
            "<missing>".into()
        } else if a.no_trunc {
            img.id().to_string()
        } else {
            short_id(img.id())
        };
        entries.push((id, h, size));
    }
    for (id, h, size) in entries.into_iter().rev() {
        if a.quiet {
            println!("{id}");
            continue;
        }
        let created = h
            .created
            .as_deref()
            .and_then(time::parse_rfc3339)
            .unwrap_or(0);
        let mut by = h.created_by.clone().unwrap_or_default();
        if !a.no_trunc && by.chars().count() > 45 {
            by = by.chars().take(44).collect::<String>() + "…";
        }
        rows.push(vec![
            id,
            if a.human {
                since(created, now)
            } else {
                time::format_rfc3339(created)
            },
            by,
            if a.human {
                human_size(size)
            } else {
                size.to_string()
            },
            h.comment.clone().unwrap_or_default(),
        ]);
    }
    if !a.quiet {
        print!("{}", table(&rows));
    }
    Ok(ExitCode::SUCCESS)
}

fn inspect(store: &ImageStore, a: &Inspect) -> Result<ExitCode> {
    let mut out = Vec::new();
    let mut code = ExitCode::SUCCESS;
    for name in &a.images {
        let img = match store.resolve(name).and_then(|id| store.get(&id)) {
            Ok(i) => i,
            Err(e) => {
                eprintln!("Error: {e}");
                code = ExitCode::from(1);
                continue;
            }
        };
        let c = &img.config;
        let lowers: Vec<String> = img
            .chain_ids()
            .iter()
            .rev()
            .map(|d| store.snapshots().layer_fs(d).display().to_string())
            .collect();
        let v = json!({
            "Id": img.id().to_string(),
            "RepoTags": img.tags.iter().map(Reference::familiar).collect::<Vec<_>>(),
            "RepoDigests": img.digests.iter().map(Reference::familiar).collect::<Vec<_>>(),
            "Parent": "",
            "Comment": c.history.last().and_then(|h| h.comment.clone()).unwrap_or_default(),
            "Created": c.created.clone().unwrap_or_default(),
            "DockerVersion": c.docker_version.clone().unwrap_or_default(),
            "Author": c.author.clone().unwrap_or_default(),
            "Config": c.config,
            "Architecture": c.architecture,
            "Variant": c.variant,
            "Os": c.os,
            "Size": image_size(store, &img),
            "GraphDriver": {"Name": "overlay", "Data": {"LowerDir": lowers.join(":")}},
            "RootFS": {"Type": "layers", "Layers": c.rootfs.diff_ids.iter().map(ToString::to_string).collect::<Vec<_>>()},
            "Metadata": {"LastTagTime": time::format_rfc3339(img.record.last_used)},
            "Descriptor": img.record.target,
        });
        out.push(v);
    }
    match &a.format {
        Some(f) => {
            for v in &out {
                println!("{}", template(f, |field| lookup(v, field)));
            }
        }
        None => println!("{}", serde_json::to_string_pretty(&out)?),
    }
    Ok(code)
}

/// `.Config.Cmd` style lookup into inspect JSON for `--format`.
fn lookup(v: &serde_json::Value, path: &str) -> Option<String> {
    let mut cur = v;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        cur = cur.get(part)?;
    }
    Some(match cur {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

fn prune(store: &ImageStore, a: &Prune) -> Result<ExitCode> {
    let mut opts = PruneOptions {
        all: a.all,
        ..PruneOptions::default()
    };
    for f in &a.filter {
        match f.split_once('=') {
            Some(("until", v)) => opts.until = Some(parse_until(v)?),
            Some(("label", v)) => opts.labels.push(LabelFilter::parse(v, false)),
            Some(("label!", v)) => opts.labels.push(LabelFilter::parse(v, true)),
            _ => bail!(
                "invalid filter {f:?}: use until=<timestamp|duration> or label=<key>[=<value>]"
            ),
        }
    }
    if !a.force && io::stdin().is_terminal() {
        eprint!(
            "WARNING! This will remove {}.\nAre you sure you want to continue? [y/N] ",
            if a.all {
                "all images without at least one container associated to them"
            } else {
                "all dangling images"
            }
        );
        let mut answer = String::new();
        io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let report = store.prune(&opts)?;
    if !report.events.is_empty() {
        println!("Deleted Images:");
        for e in &report.events {
            match e {
                RemoveEvent::Untagged(r) => println!("untagged: {r}"),
                RemoveEvent::Deleted(d) => println!("deleted: {d}"),
            }
        }
        println!();
    }
    println!(
        "Total reclaimed space: {}",
        human_size(report.space_reclaimed)
    );
    Ok(ExitCode::SUCCESS)
}

/// `until=` takes a timestamp (RFC 3339 or seconds) or a Go duration (`24h`, `30m`).
fn parse_until(v: &str) -> Result<i64> {
    if let Some(t) = time::parse_rfc3339(v) {
        return Ok(t);
    }
    if let Ok(t) = v.parse::<i64>() {
        return Ok(t);
    }
    let (num, unit) = v.split_at(v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len()));
    let n: i64 = num
        .parse()
        .with_context(|| format!("invalid until value {v:?}"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => bail!("invalid until value {v:?}: use a timestamp or a duration like 24h"),
    };
    Ok(now() - secs)
}

pub fn df(root: &Path, a: &Df) -> Result<ExitCode> {
    let store = open(root)?;
    let u = store.disk_usage()?;
    let active = u.images.iter().filter(|i| i.containers > 0).count();
    let pct = |part: u64, whole: u64| (part * 100).checked_div(whole).unwrap_or(0);
    let rows = vec![
        ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
            .map(String::from)
            .to_vec(),
        vec![
            "Images".into(),
            u.images.len().to_string(),
            active.to_string(),
            human_size(u.images_bytes),
            format!(
                "{} ({}%)",
                human_size(u.images_reclaimable),
                pct(u.images_reclaimable, u.images_bytes)
            ),
        ],
        vec![
            "Containers".into(),
            u.containers.to_string(),
            u.containers.to_string(),
            human_size(u.containers_bytes),
            "0B (0%)".into(),
        ],
        vec![
            "Local Volumes".into(),
            "0".into(),
            "0".into(),
            "0B".into(),
            "0B".into(),
        ],
        vec![
            "Build Cache".into(),
            "0".into(),
            "0".into(),
            "0B".into(),
            "0B".into(),
        ],
        vec![
            "Unreferenced".into(),
            "-".into(),
            "-".into(),
            human_size(u.unreferenced_bytes),
            format!("{} (100%)", human_size(u.unreferenced_bytes)),
        ],
        vec![
            "Metadata".into(),
            "-".into(),
            "-".into(),
            human_size(u.metadata_bytes),
            "0B (0%)".into(),
        ],
    ];
    print!("{}", table(&rows));
    println!(
        "Total under {}: {}",
        root.display(),
        human_size(u.total_bytes)
    );
    if a.verbose {
        println!("\nImages space usage:\n");
        let mut rows = vec![[
            "IMAGE ID",
            "REPOSITORY:TAG",
            "SIZE",
            "SHARED SIZE",
            "UNIQUE SIZE",
            "CONTAINERS",
        ]
        .map(String::from)
        .to_vec()];
        for i in &u.images {
            rows.push(vec![
                short_id(&i.id),
                i.tags
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "<none>:<none>".into()),
                human_size(i.size),
                human_size(i.shared_size),
                human_size(i.size - i.shared_size),
                i.containers.to_string(),
            ]);
        }
        print!("{}", table(&rows));
    }
    Ok(ExitCode::SUCCESS)
}
