//! The container verbs that are one or two API calls each: ps, rm, stop, start, restart,
//! kill, wait, pause, unpause, rename, top, update, logs, attach — Docker's flags, output
//! and exit codes. `run`/`create` (the create body) live in `run.rs`, exec in `exec.rs`.

use std::io;

use anyhow::Result;
use berth_api_types::ContainerSummary;
use berth_client::{Client, ContainerListOptions, LogsOptions};
use clap::Args;
use serde_json::{json, Value};

use super::run::{attached, parse_cpus, parse_restart, ram_in_bytes};
use super::{daemon, each, Exit};
use crate::format::since;
use crate::gotemplate;

#[derive(Debug, Args)]
pub struct Ps {
    /// Show all containers (default shows just running).
    #[arg(short, long)]
    all: bool,
    /// Only display container IDs.
    #[arg(short, long)]
    quiet: bool,
    /// Show n last created containers (includes all states).
    #[arg(short = 'n', long = "last", default_value_t = -1)]
    last: i64,
    /// Show the latest created container (includes all states).
    #[arg(short, long)]
    latest: bool,
    /// Don't truncate output.
    #[arg(long)]
    no_trunc: bool,
    /// Filter output based on conditions provided.
    #[arg(short, long)]
    filter: Vec<String>,
    /// Format output using a Go template.
    #[arg(long)]
    format: Option<String>,
    /// Display total file sizes.
    #[arg(short, long)]
    size: bool,
}

const PS_TABLE: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

/// Docker's `Ellipsis`: at most `n` characters, the last one `…` when cut.
fn ellipsis(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut t: String = s.chars().take(n - 1).collect();
    t.push('…');
    t
}

/// A Go `strconv.Quote` good enough for command lines.
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The fields docker's `ps --format` knows, for one container.
pub fn ps_row(c: &ContainerSummary, trunc: bool) -> Value {
    let id = if trunc {
        c.id.chars().take(12).collect()
    } else {
        c.id.clone()
    };
    let names: Vec<String> = c
        .names
        .iter()
        .map(|n| n.trim_start_matches('/').to_string())
        .filter(|n| !trunc || !n.contains('/'))
        .collect();
    let command = if trunc {
        ellipsis(&c.command, 20)
    } else {
        c.command.clone()
    };
    let image = match c.image.strip_prefix("sha256:") {
        Some(hex) if trunc => hex.chars().take(12).collect(),
        _ => c.image.clone(),
    };
    let labels: Vec<String> = c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    json!({
        "Command": quote(&command),
        "CreatedAt": created_at(c.created),
        "ID": id,
        "Image": image,
        "Labels": labels.join(","),
        "LocalVolumes": "0",
        "Mounts": "",
        "Names": names.join(","),
        "Networks": super::networks::ps_networks(&c.network_settings),
        "Ports": super::ports::display_ports(&c.ports),
        "RunningFor": since(c.created, now()),
        "Size": "0B",
        "State": c.state,
        "Status": c.status,
    })
}

/// Go's `time.Time.String()` in UTC: `2024-01-01 00:00:00 +0000 UTC`.
fn created_at(secs: i64) -> String {
    let t = berth_image::time::format_rfc3339(secs);
    format!("{} +0000 UTC", t.trim_end_matches('Z').replace('T', " "))
}

/// Column headers of `ps`, as docker names them.
pub fn ps_header(field: &str) -> String {
    match field {
        "ID" => "CONTAINER ID".into(),
        "RunningFor" => "CREATED".into(),
        "CreatedAt" => "CREATED AT".into(),
        "LocalVolumes" => "LOCAL VOLUMES".into(),
        other => other.to_uppercase(),
    }
}

pub fn ps(c: &Client, a: &Ps) -> Result<()> {
    let limit = if a.latest {
        Some(1)
    } else {
        usize::try_from(a.last).ok()
    };
    let opts = ContainerListOptions {
        all: a.all || limit.is_some(),
        limit,
        filters: a.filter.clone(),
        size: a.size,
    };
    let list = c.list_containers(&opts).map_err(daemon)?;
    let trunc = !a.no_trunc;
    if a.quiet && a.format.is_none() {
        for x in &list {
            println!(
                "{}",
                if trunc {
                    &x.id[..x.id.len().min(12)]
                } else {
                    &x.id
                }
            );
        }
        return Ok(());
    }
    let tpl = match a.format.as_deref() {
        None | Some("table") => PS_TABLE,
        Some(f) => f,
    };
    let rows: Vec<Value> = list.iter().map(|x| ps_row(x, trunc)).collect();
    print!("{}", gotemplate::render_list(tpl, &rows, &ps_header)?);
    Ok(())
}

#[derive(Debug, Args)]
pub struct Rm {
    /// Force the removal of a running container (uses SIGKILL).
    #[arg(short, long)]
    force: bool,
    /// Remove anonymous volumes associated with the container.
    #[arg(short, long)]
    volumes: bool,
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn rm(c: &Client, a: &Rm) -> Result<()> {
    each(&a.containers, true, |n| {
        c.remove_container(n, a.force, a.volumes)
    })
}

#[derive(Debug, Args)]
pub struct Stop {
    /// Seconds to wait before killing the container.
    #[arg(short, long = "time", alias = "timeout")]
    time: Option<i64>,
    /// Signal to send to the container.
    #[arg(short, long)]
    signal: Option<String>,
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn stop(c: &Client, a: &Stop) -> Result<()> {
    each(&a.containers, true, |n| {
        c.stop_container(n, a.time, a.signal.as_deref())
    })
}

pub fn restart(c: &Client, a: &Stop) -> Result<()> {
    each(&a.containers, true, |n| c.restart_container(n, a.time))
}

#[derive(Debug, Args)]
pub struct Kill {
    /// Signal to send to the container.
    #[arg(short, long)]
    signal: Option<String>,
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn kill(c: &Client, a: &Kill) -> Result<()> {
    each(&a.containers, true, |n| {
        c.kill_container(n, a.signal.as_deref())
    })
}

#[derive(Debug, Args)]
pub struct Names {
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn pause(c: &Client, a: &Names, verb: &str) -> Result<()> {
    each(&a.containers, true, |n| c.container_action(n, verb))
}

/// `wait`: prints each exit code (docker exits 0 unless a wait failed).
pub fn wait(c: &Client, a: &Names) -> Result<()> {
    each(&a.containers, false, |n| {
        let r = c.wait_container(n, "not-running")?;
        println!("{}", r.status_code);
        Ok(())
    })
}

#[derive(Debug, Args)]
pub struct Start {
    /// Attach STDOUT/STDERR and forward signals.
    #[arg(short, long)]
    attach: bool,
    /// Attach container's STDIN.
    #[arg(short, long)]
    interactive: bool,
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn start(c: &Client, a: &Start) -> Result<()> {
    if !(a.attach || a.interactive) {
        return each(&a.containers, true, |n| c.start_container(n));
    }
    if a.containers.len() > 1 {
        anyhow::bail!("you cannot start and attach multiple containers at once");
    }
    let id = &a.containers[0];
    let info = c.inspect_container_raw(id).map_err(daemon)?;
    let tty = info["Config"]["Tty"].as_bool().unwrap_or(false);
    let code = attached(c, id, a.interactive, tty, "next-exit", true)?;
    Err(Exit::code(code))
}

#[derive(Debug, Args)]
pub struct Attach {
    /// Do not attach STDIN.
    #[arg(long)]
    no_stdin: bool,
    /// Proxy all received signals to the process (accepted; not implemented).
    #[arg(long, default_value_t = true)]
    sig_proxy: bool,
    container: String,
}

pub fn attach(c: &Client, a: &Attach) -> Result<()> {
    let info = c.inspect_container_raw(&a.container).map_err(daemon)?;
    if info["State"]["Running"].as_bool() != Some(true) {
        return Err(anyhow::anyhow!(
            "You cannot attach to a stopped container, start it first"
        ));
    }
    let tty = info["Config"]["Tty"].as_bool().unwrap_or(false);
    let stdin = !a.no_stdin && info["Config"]["OpenStdin"].as_bool().unwrap_or(false);
    let code = attached(c, &a.container, stdin, tty, "not-running", false)?;
    Err(Exit::code(code))
}

#[derive(Debug, Args)]
pub struct Logs {
    /// Follow log output.
    #[arg(short, long)]
    follow: bool,
    /// Number of lines to show from the end of the logs.
    #[arg(short = 'n', long, default_value = "all")]
    tail: String,
    /// Show timestamps.
    #[arg(short, long)]
    timestamps: bool,
    /// Show logs since timestamp or relative (e.g. 42m).
    #[arg(long)]
    since: Option<String>,
    /// Show logs before a timestamp or relative (e.g. 42m).
    #[arg(long)]
    until: Option<String>,
    container: String,
}

pub fn logs(c: &Client, a: &Logs) -> Result<()> {
    let o = LogsOptions {
        follow: a.follow,
        tail: Some(a.tail.clone()),
        timestamps: a.timestamps,
        since: a.since.clone(),
        until: a.until.clone(),
    };
    let mut s = c.logs(&a.container, &o).map_err(daemon)?;
    s.demux_to(&mut io::stdout(), &mut io::stderr())
        .map_err(daemon)
}

#[derive(Debug, Args)]
pub struct Top {
    container: String,
    /// ps options.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    ps_args: Vec<String>,
}

pub fn top(c: &Client, a: &Top) -> Result<()> {
    let args = (!a.ps_args.is_empty()).then(|| a.ps_args.join(" "));
    let v = c.top(&a.container, args.as_deref()).map_err(daemon)?;
    print!("{}", crate::format::table(&top_rows(&v)));
    Ok(())
}

/// The table of a `GET /containers/{id}/top` answer: its titles, then one row a process.
pub fn top_rows(v: &Value) -> Vec<Vec<String>> {
    let strs = |x: &Value| -> Vec<String> {
        x.as_array()
            .map(|a| {
                a.iter()
                    .map(|s| s.as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut rows = vec![strs(&v["Titles"])];
    rows.extend(v["Processes"].as_array().into_iter().flatten().map(strs));
    rows
}

#[derive(Debug, Args)]
pub struct Rename {
    container: String,
    new_name: String,
}

pub fn rename(c: &Client, a: &Rename) -> Result<()> {
    c.rename_container(&a.container, &a.new_name)
        .map_err(daemon)
}

#[derive(Debug, Args)]
pub struct Update {
    /// Memory limit.
    #[arg(short, long)]
    memory: Option<String>,
    /// Number of CPUs.
    #[arg(long)]
    cpus: Option<String>,
    /// Restart policy to apply when a container exits.
    #[arg(long)]
    restart: Option<String>,
    /// Tune container pids limit (set -1 for unlimited).
    #[arg(long)]
    pids_limit: Option<i64>,
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn update(c: &Client, a: &Update) -> Result<()> {
    let mut body = serde_json::Map::new();
    if let Some(m) = &a.memory {
        body.insert("Memory".into(), json!(ram_in_bytes(m)?));
    }
    if let Some(n) = &a.cpus {
        body.insert("NanoCpus".into(), json!(parse_cpus(n)?));
    }
    if let Some(r) = &a.restart {
        body.insert("RestartPolicy".into(), parse_restart(r)?);
    }
    if let Some(p) = a.pids_limit {
        body.insert("PidsLimit".into(), json!(p));
    }
    let body = Value::Object(body);
    each(&a.containers, true, |n| {
        c.update_container(n, &body).map(drop)
    })
}
