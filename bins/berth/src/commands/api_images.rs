//! The image verbs over berthd's API (images, pull, push, tag, rmi, load, save, import,
//! history, image prune, system df). They take the same clap arguments as the in-process
//! `--data-root` verbs of `images.rs`, so both modes share one command line.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};

use anyhow::{bail, Result};
use berth_api_types::{ImageDeleteResponseItem, JsonMessage};
use berth_client::{Client, JsonLines};
use serde_json::{json, Value};

use super::images::{self, ImageCmd};
use super::registry;
use super::{daemon, Exit};
use crate::format::{human_size, since};
use crate::gotemplate;

/// `name[:tag]` → (`name`, `tag`), `latest` by default; a digest stays in the name.
pub fn split_tag(r: &str) -> (String, String) {
    if r.contains('@') {
        return (r.to_string(), String::new());
    }
    match r.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n.to_string(), t.to_string()),
        _ => (r.to_string(), "latest".to_string()),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn short(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

/// Prints a JSON message stream docker's way (non-TTY form); fails on an `error` line.
fn print_stream(lines: JsonLines<'_, JsonMessage>, out: &mut dyn Write, quiet: bool) -> Result<()> {
    for m in lines {
        let m = m.map_err(daemon)?;
        if let Some(e) = m.error {
            bail!("{e}");
        }
        if quiet {
            continue;
        }
        if let Some(s) = m.stream {
            write!(out, "{s}")?;
        } else if let Some(s) = m.status {
            match m.id {
                Some(id) if m.progress.is_none() => writeln!(out, "{id}: {s}")?,
                None => writeln!(out, "{s}")?,
                _ => {}
            }
        }
    }
    Ok(())
}

fn ls(c: &Client, a: &images::Ls) -> Result<()> {
    let mut filters = a.filter.clone();
    if let Some(n) = &a.name {
        filters.push(format!("reference={n}"));
    }
    let list = c.list_images(a.all, &filters).map_err(daemon)?;
    let mut rows = Vec::new();
    for i in &list {
        let id = if a.no_trunc {
            i.id.clone()
        } else {
            short(&i.id)
        };
        let tags: Vec<(String, String)> = if i.repo_tags.is_empty() {
            vec![("<none>".into(), "<none>".into())]
        } else {
            i.repo_tags
                .iter()
                .map(|t| {
                    let (n, t) = split_tag(t);
                    (n, t)
                })
                .collect()
        };
        for (repo, tag) in tags {
            rows.push(json!({"ID": id, "Repository": repo, "Tag": tag,
                "CreatedSince": since(i.created, now()), "CreatedAt": i.created,
                "Size": human_size(i.size.max(0) as u64), "Digest": "<none>",
                "Containers": "N/A", "SharedSize": "N/A", "UniqueSize": "N/A", "VirtualSize": human_size(i.size.max(0) as u64)}));
        }
    }
    if a.quiet && a.format.is_none() {
        let mut seen = std::collections::BTreeSet::new();
        for r in &rows {
            let id = r["ID"].as_str().unwrap_or_default().to_string();
            if seen.insert(id.clone()) {
                println!("{id}");
            }
        }
        return Ok(());
    }
    let tpl = a
        .format
        .as_deref()
        .unwrap_or("table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}");
    let header = |f: &str| match f {
        "ID" => "IMAGE ID".to_string(),
        "CreatedSince" => "CREATED".into(),
        other => other.to_uppercase(),
    };
    print!("{}", gotemplate::render_list(tpl, &rows, &header)?);
    Ok(())
}

fn open_input(p: Option<&std::path::Path>) -> Result<Box<dyn Read + Send>> {
    Ok(match p {
        Some(p) if p.as_os_str() != "-" => Box::new(File::open(p)?),
        _ => Box::new(io::stdin()),
    })
}

fn rmi(c: &Client, a: &images::Rm) -> Result<()> {
    let mut failed = false;
    for n in &a.images {
        match c.remove_image(n, a.force) {
            Ok(items) => {
                for i in items {
                    match i {
                        ImageDeleteResponseItem::Untagged(t) => println!("Untagged: {t}"),
                        ImageDeleteResponseItem::Deleted(d) => println!("Deleted: {d}"),
                    }
                }
            }
            Err(e) => {
                eprintln!("{}", daemon(e));
                failed = true;
            }
        }
    }
    if failed {
        return Err(Exit::code(1));
    }
    Ok(())
}

pub fn run(c: &Client, cmd: &ImageCmd) -> Result<()> {
    match cmd {
        ImageCmd::Ls(a) => ls(c, a),
        ImageCmd::Load(a) => {
            if a.input.is_none() && io::stdin().is_terminal() {
                bail!("requested load from stdin, but stdin is empty");
            }
            let s = c
                .load(open_input(a.input.as_deref())?, a.quiet)
                .map_err(daemon)?;
            print_stream(s, &mut io::stdout(), false)
        }
        ImageCmd::Save(a) => {
            let mut s = c.save(&a.images).map_err(daemon)?;
            match &a.output {
                Some(p) => s.copy_to(&mut File::create(p)?).map_err(daemon),
                None if io::stdout().is_terminal() => {
                    bail!("cowardly refusing to save to a terminal. Use the -o flag or redirect")
                }
                None => s.copy_to(&mut io::stdout().lock()).map_err(daemon),
            }
        }
        ImageCmd::Tag(a) => {
            let (repo, tag) = split_tag(&a.target);
            c.tag_image(&a.source, &repo, &tag).map_err(daemon)
        }
        ImageCmd::Rm(a) => rmi(c, a),
        ImageCmd::Import(a) => {
            let input = if a.file == "-" {
                None
            } else {
                Some(std::path::Path::new(&a.file))
            };
            let (repo, tag) = a.reference.as_deref().map(split_tag).unwrap_or_default();
            let msg = a.message.clone().unwrap_or_default();
            let s = c
                .import(open_input(input)?, &repo, &tag, &msg, &a.change)
                .map_err(daemon)?;
            for m in s {
                let m = m.map_err(daemon)?;
                if let Some(e) = m.error {
                    bail!("{e}");
                }
                if let Some(st) = m.status {
                    println!("{st}");
                }
            }
            Ok(())
        }
        ImageCmd::History(a) => {
            let h = c.image_history(&a.image).map_err(daemon)?;
            let mut rows = vec![vec![
                "IMAGE".to_string(),
                "CREATED".into(),
                "CREATED BY".into(),
                "SIZE".into(),
                "COMMENT".into(),
            ]];
            for e in h {
                let id = if e.id.starts_with("sha256:") && !a.no_trunc {
                    short(&e.id)
                } else {
                    e.id
                };
                let by = if a.no_trunc || e.created_by.chars().count() <= 45 {
                    e.created_by
                } else {
                    format!("{}…", e.created_by.chars().take(44).collect::<String>())
                };
                rows.push(vec![
                    id,
                    since(e.created, now()),
                    by,
                    human_size(e.size.max(0) as u64),
                    e.comment,
                ]);
            }
            if a.quiet {
                for r in &rows[1..] {
                    println!("{}", r[0]);
                }
                return Ok(());
            }
            print!("{}", crate::format::table(&rows));
            Ok(())
        }
        ImageCmd::Inspect(a) => {
            let mut found = Vec::new();
            for n in &a.images {
                found.push(c.inspect_image_raw(n).map_err(daemon)?);
            }
            match &a.format {
                Some(f) => {
                    for v in &found {
                        println!("{}", gotemplate::render(f, v)?);
                    }
                }
                None => println!("{}", super::inspect::pretty(&Value::Array(found))?),
            }
            Ok(())
        }
        ImageCmd::Prune(a) => {
            let mut filters = a.filter.clone();
            filters.push(format!("dangling={}", !a.all));
            let r = c.prune_images(&filters).map_err(daemon)?;
            let items = r.images_deleted.unwrap_or_default();
            if !items.is_empty() {
                println!("Deleted Images:");
                for i in items {
                    match i {
                        ImageDeleteResponseItem::Untagged(t) => println!("untagged: {t}"),
                        ImageDeleteResponseItem::Deleted(d) => println!("deleted: {d}"),
                    }
                }
                println!();
            }
            println!("Total reclaimed space: {}", human_size(r.space_reclaimed));
            Ok(())
        }
    }
}

pub fn pull(c: &Client, a: &registry::Pull) -> Result<()> {
    let (name, tag) = split_tag(&a.name);
    let tag = if a.all_tags { String::new() } else { tag };
    let s = c
        .pull(&name, &tag, a.platform.as_deref(), None)
        .map_err(daemon)?;
    print_stream(s, &mut io::stdout(), a.quiet)?;
    if a.quiet {
        println!(
            "{}",
            if a.name.contains(':') || a.name.contains('@') {
                a.name.clone()
            } else {
                format!("{}:latest", a.name)
            }
        );
    }
    Ok(())
}

pub fn push(c: &Client, a: &registry::Push) -> Result<()> {
    let (name, tag) = split_tag(&a.name);
    let s = c.push(&name, &tag, "e30=".into()).map_err(daemon)?;
    print_stream(s, &mut io::stdout(), a.quiet)
}

pub fn df(c: &Client) -> Result<()> {
    let v = c.system_df().map_err(daemon)?;
    let count = |k: &str| v[k].as_array().map_or(0, Vec::len);
    let images_size: i64 = v["Images"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["Size"].as_i64())
        .sum();
    let rows = vec![
        vec![
            "TYPE".to_string(),
            "TOTAL".into(),
            "ACTIVE".into(),
            "SIZE".into(),
            "RECLAIMABLE".into(),
        ],
        vec![
            "Images".into(),
            count("Images").to_string(),
            "0".into(),
            human_size(images_size.max(0) as u64),
            human_size(images_size.max(0) as u64),
        ],
        vec![
            "Containers".into(),
            count("Containers").to_string(),
            "0".into(),
            "0B".into(),
            "0B".into(),
        ],
        vec![
            "Local Volumes".into(),
            count("Volumes").to_string(),
            "0".into(),
            "0B".into(),
            "0B".into(),
        ],
        vec![
            "Build Cache".into(),
            count("BuildCache").to_string(),
            "0".into(),
            "0B".into(),
            "0B".into(),
        ],
    ];
    print!("{}", crate::format::table(&rows));
    Ok(())
}
