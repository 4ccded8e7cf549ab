//! `run` and `create`: docker's container flags turned into the create body (Config +
//! HostConfig with Docker's field names), the pull-on-missing-image retry, and the attached
//! session `run`, `start -a` and `attach` share: hijack first, then register the wait, then
//! start, pump the streams, and end with the container's exit code. The networking flags
//! (`-p`, `--network`, `--dns`, …) and their body fields live in `netopts.rs`.
//!
//! Exit codes as docker's: 125 when the daemon or the flags fail, 126/127 when the command
//! cannot be invoked or found, else the container's own code.

use std::io;

use anyhow::{anyhow, Result};
use berth_client::Client;
use clap::{ArgAction, Args};
use serde_json::{json, Map, Value};

use super::netopts::NetFlags;
use super::opts::{duration_ns, env_entry, env_file, parse_mount};
pub use super::opts::{parse_cpus, parse_restart, ram_in_bytes};
use super::{daemon, Exit};

/// The flags `run` and `create` share.
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct ContainerOpts {
    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
    /// Assign a name to the container.
    #[arg(long)]
    name: Option<String>,
    /// Set environment variables.
    #[arg(short, long)]
    env: Vec<String>,
    /// Read in a file of environment variables.
    #[arg(long)]
    env_file: Vec<String>,
    /// Set meta data on a container.
    #[arg(short, long)]
    label: Vec<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>]).
    #[arg(short, long)]
    user: Option<String>,
    /// Bind mount a volume.
    #[arg(short, long)]
    volume: Vec<String>,
    /// Attach a filesystem mount to the container.
    #[arg(long)]
    mount: Vec<String>,
    /// Mount a tmpfs directory.
    #[arg(long)]
    tmpfs: Vec<String>,
    /// Restart policy to apply when a container exits.
    #[arg(long, default_value = "no")]
    restart: String,
    /// Overwrite the default ENTRYPOINT of the image.
    #[arg(long)]
    entrypoint: Option<String>,
    /// Keep STDIN open even if not attached.
    #[arg(short, long)]
    interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    tty: bool,
    /// Run an init inside the container.
    #[arg(long)]
    init: bool,
    /// Mount the container's root filesystem as read only.
    #[arg(long)]
    read_only: bool,
    /// Give extended privileges to this container.
    #[arg(long)]
    privileged: bool,
    /// Add Linux capabilities.
    #[arg(long)]
    cap_add: Vec<String>,
    /// Drop Linux capabilities.
    #[arg(long)]
    cap_drop: Vec<String>,
    /// Security Options.
    #[arg(long)]
    security_opt: Vec<String>,
    /// Memory limit.
    #[arg(short, long)]
    memory: Option<String>,
    /// Number of CPUs.
    #[arg(long)]
    cpus: Option<String>,
    /// Tune container pids limit (set -1 for unlimited).
    #[arg(long)]
    pids_limit: Option<i64>,
    /// Container host name.
    #[arg(short = 'h', long)]
    hostname: Option<String>,
    /// Command to run to check health.
    #[arg(long)]
    health_cmd: Option<String>,
    /// Time between running the check (ms|s|m|h).
    #[arg(long)]
    health_interval: Option<String>,
    /// Maximum time to allow one check to run (ms|s|m|h).
    #[arg(long)]
    health_timeout: Option<String>,
    /// Consecutive failures needed to report unhealthy.
    #[arg(long)]
    health_retries: Option<i64>,
    /// Start period for the container to initialize.
    #[arg(long)]
    health_start_period: Option<String>,
    /// Disable any container-specified HEALTHCHECK.
    #[arg(long)]
    no_healthcheck: bool,
    /// Logging driver for the container.
    #[arg(long)]
    log_driver: Option<String>,
    /// Log driver options.
    #[arg(long)]
    log_opt: Vec<String>,
    /// PID namespace to use (host, container:<name|id>).
    #[arg(long)]
    pid: Option<String>,
    /// IPC mode to use (private, none, shareable, host, container:<name|id>).
    #[arg(long)]
    ipc: Option<String>,
    #[command(flatten)]
    net: NetFlags,
    /// Signal to stop the container.
    #[arg(long)]
    stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container.
    #[arg(long)]
    stop_timeout: Option<i64>,
    /// Automatically remove the container when it exits.
    #[arg(long)]
    rm: bool,
    /// The image.
    image: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct Run {
    /// Run container in background and print container ID.
    #[arg(short, long)]
    detach: bool,
    #[command(flatten)]
    opts: ContainerOpts,
}

fn kv_map(items: &[String]) -> Value {
    let mut m = Map::new();
    for i in items {
        let (k, v) = i.split_once('=').unwrap_or((i, ""));
        m.insert(k.to_string(), json!(v));
    }
    Value::Object(m)
}

/// The body of `POST /containers/create`.
pub fn create_body(o: &ContainerOpts, detach: bool) -> Result<Value> {
    let mut env: Vec<String> = Vec::new();
    for f in &o.env_file {
        env.extend(env_file(f)?);
    }
    env.extend(o.env.iter().filter_map(|e| env_entry(e)));
    let (mut binds, mut volumes) = (Vec::new(), Map::new());
    for v in &o.volume {
        if v.contains(':') {
            binds.push(v.clone());
        } else {
            volumes.insert(v.clone(), json!({}));
        }
    }
    let mounts = o
        .mount
        .iter()
        .map(|m| parse_mount(m))
        .collect::<Result<Vec<_>>>()?;
    let mut tmpfs = Map::new();
    for t in &o.tmpfs {
        let (p, opts) = t.split_once(':').unwrap_or((t, ""));
        tmpfs.insert(p.to_string(), json!(opts));
    }
    let mut host = json!({
        "Binds": binds,
        "Mounts": mounts,
        "Tmpfs": tmpfs,
        "RestartPolicy": parse_restart(&o.restart)?,
        "AutoRemove": o.rm,
        "CapAdd": o.cap_add,
        "CapDrop": o.cap_drop,
        "SecurityOpt": o.security_opt,
        "ReadonlyRootfs": o.read_only,
        "Privileged": o.privileged,
        "LogConfig": { "Type": o.log_driver.clone().unwrap_or_default(), "Config": kv_map(&o.log_opt) },
    });
    if o.init {
        host["Init"] = json!(true);
    }
    if let Some(m) = &o.memory {
        host["Memory"] = json!(ram_in_bytes(m)?);
    }
    if let Some(c) = &o.cpus {
        host["NanoCpus"] = json!(parse_cpus(c)?);
    }
    if let Some(p) = o.pids_limit {
        host["PidsLimit"] = json!(p);
    }
    if let Some(p) = &o.pid {
        host["PidMode"] = json!(p);
    }
    if let Some(i) = &o.ipc {
        host["IpcMode"] = json!(i);
    }
    let attach = !detach;
    let mut cfg = json!({
        "Hostname": o.hostname.clone().unwrap_or_default(),
        "User": o.user.clone().unwrap_or_default(),
        "AttachStdin": attach && o.interactive,
        "AttachStdout": attach,
        "AttachStderr": attach,
        "Tty": o.tty,
        "OpenStdin": o.interactive,
        "StdinOnce": attach && o.interactive,
        "Env": env,
        "Cmd": if o.command.is_empty() { Value::Null } else { json!(o.command) },
        "Image": o.image,
        "Volumes": volumes,
        "WorkingDir": o.workdir.clone().unwrap_or_default(),
        "Labels": kv_map(&o.label),
        "HostConfig": host,
    });
    if let Some(e) = &o.entrypoint {
        cfg["Entrypoint"] = json!([e]);
    }
    if let Some(s) = &o.stop_signal {
        cfg["StopSignal"] = json!(s);
    }
    if let Some(t) = o.stop_timeout {
        cfg["StopTimeout"] = json!(t);
    }
    if o.no_healthcheck {
        cfg["Healthcheck"] = json!({ "Test": ["NONE"] });
    } else if o.health_cmd.is_some() || o.health_interval.is_some() || o.health_retries.is_some() {
        let dur = |d: &Option<String>| {
            d.as_deref()
                .map(duration_ns)
                .transpose()
                .map(Option::unwrap_or_default)
        };
        let mut h = json!({
            "Interval": dur(&o.health_interval)?,
            "Timeout": dur(&o.health_timeout)?,
            "StartPeriod": dur(&o.health_start_period)?,
            "Retries": o.health_retries.unwrap_or(0),
        });
        if let Some(c) = &o.health_cmd {
            h["Test"] = json!(["CMD-SHELL", c]);
        }
        cfg["Healthcheck"] = h;
    }
    o.net.apply(&mut cfg)?;
    Ok(cfg)
}

/// A failure of `run`/`create` before the container runs: exit 125 (126/127 when the
/// command cannot be invoked or found), message prefixed as docker's `docker: …`.
fn fail(e: anyhow::Error) -> anyhow::Error {
    let msg = format!("{e:#}");
    let code = if msg.contains("executable file not found")
        || msg.contains("no such file or directory") && msg.contains("exec")
    {
        127
    } else if msg.contains("permission denied") && msg.contains("exec") {
        126
    } else {
        125
    };
    Exit {
        code,
        msg: Some(format!("berth: {msg}\nSee 'berth run --help'.")),
    }
    .into()
}

/// Pulls `image`, docker's progress going to stderr.
fn pull_for_run(c: &Client, image: &str) -> Result<()> {
    eprintln!("Unable to find image '{image}' locally");
    let (name, tag) = super::api_images::split_tag(image);
    for m in c.pull(&name, &tag, None, None).map_err(daemon)? {
        let m = m.map_err(daemon)?;
        if let Some(e) = m.error {
            return Err(anyhow!("{e}"));
        }
        if let Some(s) = m.status {
            match m.id {
                Some(id) if m.progress.is_none() => eprintln!("{id}: {s}"),
                None => eprintln!("{s}"),
                _ => {}
            }
        }
    }
    Ok(())
}

/// Creates the container, pulling its image first when the daemon does not have it.
fn create(c: &Client, o: &ContainerOpts, detach: bool) -> Result<String> {
    let body = create_body(o, detach)?;
    let r = match c.create_container(o.name.as_deref(), &body) {
        Err(e) if e.is_not_found() && e.to_string().starts_with("No such image") => {
            pull_for_run(c, &o.image)?;
            c.create_container(o.name.as_deref(), &body)
        }
        r => r,
    };
    let r = r.map_err(daemon)?;
    for w in &r.warnings {
        eprintln!("WARNING: {w}");
    }
    Ok(r.id)
}

pub fn create_cmd(c: &Client, o: &ContainerOpts) -> Result<()> {
    let id = create(c, o, true).map_err(fail)?;
    println!("{id}");
    Ok(())
}

pub fn run(c: &Client, a: &Run) -> Result<()> {
    let o = &a.opts;
    if a.detach && o.rm && o.restart != "no" {
        return Err(fail(anyhow!("Conflicting options: --restart and --rm")));
    }
    let id = create(c, o, a.detach).map_err(fail)?;
    if a.detach {
        c.start_container(&id).map_err(daemon).map_err(fail)?;
        println!("{id}");
        return Ok(());
    }
    let cond = if o.rm { "removed" } else { "next-exit" };
    let code = attached(c, &id, o.interactive, o.tty, cond, true).map_err(fail)?;
    Err(Exit::code(code))
}

/// Attaches to `id` (stdin when `stdin`), registers a wait for `condition`, starts the
/// container when `start`, pumps the streams until the daemon closes them, and returns the
/// exit code.
pub fn attached(
    c: &Client,
    id: &str,
    stdin: bool,
    tty: bool,
    condition: &str,
    start: bool,
) -> Result<i64> {
    let conn = c.attach(id, stdin, false, tty).map_err(daemon)?;
    let wait = c.wait_begin(id, condition).map_err(daemon)?;
    if start {
        c.start_container(id).map_err(daemon)?;
    }
    let raw = tty.then(crate::tty::RawMode::enter);
    if tty {
        if let Some((h, w)) = crate::tty::size() {
            let _ = c.resize_container(id, h, w);
        }
    }
    let input: Option<Box<dyn io::Read + Send>> = stdin.then(|| Box::new(io::stdin()) as _);
    let pumped = conn.pump(input, &mut io::stdout(), &mut io::stderr());
    drop(raw);
    pumped.map_err(daemon)?;
    let r = c.wait_end(wait).map_err(daemon)?;
    Ok(r.status_code)
}
