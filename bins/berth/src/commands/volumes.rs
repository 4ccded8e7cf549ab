//! `volume create/ls/inspect/rm/prune` over the API, with docker's output.

use anyhow::Result;
use berth_api_types::VolumeCreateRequest;
use berth_client::Client;
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::inspect::print_found;
use super::{daemon, each};
use crate::format::human_size;
use crate::gotemplate;

#[derive(Debug, Subcommand)]
pub enum VolumeCmd {
    /// Create a volume.
    Create(Create),
    /// List volumes.
    #[command(alias = "list")]
    Ls(Ls),
    /// Display detailed information on one or more volumes.
    Inspect(InspectArgs),
    /// Remove one or more volumes.
    #[command(alias = "remove")]
    Rm(Rm),
    /// Remove unused local volumes.
    Prune(Prune),
}

#[derive(Debug, Args)]
pub struct Create {
    /// Specify volume driver name.
    #[arg(short, long, default_value = "local")]
    driver: String,
    /// Set metadata for a volume.
    #[arg(long)]
    label: Vec<String>,
    /// Set driver specific options.
    #[arg(short, long)]
    opt: Vec<String>,
    /// The volume's name (random when omitted).
    name: Option<String>,
}

#[derive(Debug, Args)]
pub struct Ls {
    /// Only display volume names.
    #[arg(short, long)]
    quiet: bool,
    /// Provide filter values (e.g. "dangling=true").
    #[arg(short, long)]
    filter: Vec<String>,
    /// Format output using a custom template.
    #[arg(long)]
    format: Option<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format output using a custom template.
    #[arg(short, long)]
    format: Option<String>,
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct Rm {
    /// Force the removal of one or more volumes.
    #[arg(short, long)]
    force: bool,
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct Prune {
    /// Remove all unused volumes, not just anonymous ones.
    #[arg(short, long)]
    all: bool,
    /// Provide filter values (e.g. "label=<label>").
    #[arg(long)]
    filter: Vec<String>,
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    force: bool,
}

fn map(items: &[String]) -> Option<std::collections::BTreeMap<String, String>> {
    Some(
        items
            .iter()
            .map(|i| {
                let (k, v) = i.split_once('=').unwrap_or((i, ""));
                (k.to_string(), v.to_string())
            })
            .collect(),
    )
}

pub fn run(c: &Client, cmd: &VolumeCmd) -> Result<()> {
    match cmd {
        VolumeCmd::Create(a) => {
            let req = VolumeCreateRequest {
                name: a.name.clone(),
                driver: Some(a.driver.clone()),
                driver_opts: map(&a.opt),
                labels: map(&a.label),
            };
            let v = c.create_volume(&req).map_err(daemon)?;
            println!("{}", v.name);
        }
        VolumeCmd::Ls(a) => {
            let list = c.list_volumes(&a.filter).map_err(daemon)?;
            let mut vols = list.volumes;
            vols.sort_by(|x, y| x.name.cmp(&y.name));
            if a.quiet && a.format.is_none() {
                for v in &vols {
                    println!("{}", v.name);
                }
                return Ok(());
            }
            let rows: Vec<Value> = vols
                .iter()
                .map(|v| {
                    let labels: Vec<String> =
                        v.labels.iter().map(|(k, x)| format!("{k}={x}")).collect();
                    let size = v.usage_data.as_ref().map_or("N/A".to_string(), |u| {
                        if u.size < 0 {
                            "N/A".into()
                        } else {
                            human_size(u.size as u64)
                        }
                    });
                    json!({"Name": v.name, "Driver": v.driver, "Mountpoint": v.mountpoint,
                        "Scope": v.scope, "Labels": labels.join(","), "Size": size,
                        "Links": "N/A", "CreatedAt": v.created_at})
                })
                .collect();
            let tpl = a
                .format
                .as_deref()
                .unwrap_or("table {{.Driver}}\t{{.Name}}");
            let header = |f: &str| {
                if f == "Name" {
                    "VOLUME NAME".into()
                } else {
                    f.to_uppercase()
                }
            };
            print!("{}", gotemplate::render_list(tpl, &rows, &header)?);
        }
        VolumeCmd::Inspect(a) => {
            let mut found = Vec::new();
            let mut failed = false;
            for n in &a.names {
                match c.inspect_volume_raw(n) {
                    Ok(v) => found.push(v),
                    Err(e) => {
                        eprintln!("{}", daemon(e));
                        failed = true;
                    }
                }
            }
            print_found(found, a.format.as_deref(), failed)?;
        }
        VolumeCmd::Rm(a) => each(&a.names, true, |n| c.remove_volume(n, a.force))?,
        VolumeCmd::Prune(a) => {
            let mut filters = a.filter.clone();
            if a.all {
                filters.push("all=true".into());
            }
            let r = c.prune_volumes(&filters).map_err(daemon)?;
            if !r.volumes_deleted.is_empty() {
                println!("Deleted Volumes:");
                for v in &r.volumes_deleted {
                    println!("{v}");
                }
                println!();
            }
            println!("Total reclaimed space: {}", human_size(r.space_reclaimed));
        }
    }
    Ok(())
}
