//! `berth compose …`: `docker compose` v2 as a client of berthd's Docker API.
//!
//! Why in the CLI and not in the daemon: like docker compose, everything is done with
//! ordinary API calls (create, start, networks, volumes, build), so the same code drives
//! berthd or dockerd, and the daemon needs no notion of a project. The project model comes
//! from `berth-compose` (loading, interpolation, validation); this module turns it into API
//! calls. State lives only in container, network and volume labels
//! (`com.docker.compose.project`, `.service`, `.container-number`, `.config-hash`), so every
//! verb finds a project's objects by label filter, never by name prefix.
//!
//! Layout: `mod.rs` the global flags and the dispatch; `state` the labels and the
//! lookup of a project's containers; `spec` the service → create body translation;
//! `resources` networks and volumes; `files` file-based secrets and configs; `up`,
//! `deps` (depends_on conditions), `down`, `ephemeral` (`up --ttl/--priority/
//! --max-projects` and `prune`), `ps` (ps/ls/images/top), `logs`, `lifecycle` (start/stop/restart/kill/rm),
//! `exec` (exec/run), `images` (build/pull/push), `verbs` the per-verb flags.

mod attached;
mod deps;
mod down;
mod ephemeral;
mod exec;
mod files;
mod images;
mod lifecycle;
mod logs;
mod ps;
mod resources;
mod rolling;
mod spec;
mod state;
mod up;
mod verbs;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;
use berth_client::Client;
use berth_compose::{ComposeError, LoadOptions, Project};
use clap::{Args, Subcommand};

use super::Exit;
pub use verbs::*;

/// Exit code of docker compose for a missing compose file.
const EXIT_NO_FILE: u8 = 14;
/// Exit code of docker compose for a compose file that does not parse or validate.
const EXIT_BAD_CONFIG: u8 = 15;

/// `berth compose [OPTIONS] COMMAND`.
#[derive(Debug, Args)]
pub struct Compose {
    /// Compose configuration files.
    #[arg(short = 'f', long = "file")]
    files: Vec<PathBuf>,
    /// Project name.
    #[arg(short = 'p', long = "project-name")]
    project_name: Option<String>,
    /// Specify a profile to enable.
    #[arg(long = "profile")]
    profiles: Vec<String>,
    /// Specify an alternate environment file.
    #[arg(long = "env-file")]
    env_files: Vec<PathBuf>,
    /// Specify an alternate working directory (default: the path of the first Compose file).
    #[arg(long)]
    project_directory: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Verb,
}

/// The compose verbs.
#[derive(Debug, Subcommand)]
enum Verb {
    /// Parse, resolve and render compose file in canonical format.
    Config(Config),
    /// Create and start containers.
    Up(Up),
    /// Stop and remove containers, networks.
    Down(Down),
    /// List containers.
    Ps(Ps),
    /// List running compose projects.
    Ls(Ls),
    /// View output from containers.
    Logs(Logs),
    /// Start services.
    Start(Services),
    /// Stop services.
    Stop(Timeout),
    /// Restart service containers.
    Restart(Timeout),
    /// Force stop service containers.
    Kill(Kill),
    /// Removes stopped service containers.
    Rm(Rm),
    /// Execute a command in a running container.
    Exec(ExecArgs),
    /// Run a one-off command on a service.
    Run(RunArgs),
    /// Display the running processes.
    Top(Services),
    /// List images used by the created containers.
    Images(Services),
    /// Build or rebuild services.
    Build(BuildArgs),
    /// Pull service images.
    Pull(PullArgs),
    /// Push service images.
    Push(Services),
    /// Remove expired projects (`up --ttl`), of every project unless `-p NAME`.
    Prune(Prune),
}

/// What every verb works with: the daemon, the load options, and the `-p` name.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub c: &'a Client,
    opts: LoadOptions,
}

impl Ctx<'_> {
    /// Loads the project (warnings to stderr, like docker compose's `WARN[0000]`), the
    /// named services enabled whatever their profiles.
    pub fn load(&self, services: &[String]) -> Result<Project> {
        let mut o = self.opts.clone();
        o.services = services.to_vec();
        let loaded = Project::load(&o).map_err(config_error)?;
        for w in &loaded.warnings {
            eprintln!("WARN[0000] {w}");
        }
        Ok(loaded.project)
    }

    /// The project name, and the model when a compose file is there: verbs such as `down`,
    /// `ps` or `logs` also work with only `-p NAME` (docker compose does the same).
    pub fn target(&self) -> Result<(String, Option<Project>)> {
        match Project::load(&self.opts) {
            Ok(l) => Ok((l.project.name.clone(), Some(l.project))),
            Err(ComposeError::NoComposeFile { .. }) if self.explicit_name().is_some() => {
                Ok((self.explicit_name().unwrap_or_default(), None))
            }
            Err(e) => Err(config_error(e)),
        }
    }

    /// The compose files, absolute and comma-separated (the `config_files` label).
    pub fn config_files(&self) -> String {
        let wd = &self.opts.working_dir;
        let files: Vec<PathBuf> = if self.opts.files.is_empty() {
            berth_compose::DEFAULT_FILES
                .iter()
                .map(|f| wd.join(f))
                .find(|p| p.exists())
                .into_iter()
                .collect()
        } else {
            self.opts.files.iter().map(|f| wd.join(f)).collect()
        };
        let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        names.join(",")
    }

    fn explicit_name(&self) -> Option<String> {
        self.opts
            .project_name
            .clone()
            .or_else(|| self.opts.env.get("COMPOSE_PROJECT_NAME").cloned())
            .filter(|s| !s.is_empty())
    }
}

/// A load error as docker compose exits on it: 14 without a file, 15 for a bad one.
fn config_error(e: ComposeError) -> anyhow::Error {
    let code = match e {
        ComposeError::NoComposeFile { .. } => EXIT_NO_FILE,
        ComposeError::Io { ref source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            EXIT_NO_FILE
        }
        ComposeError::NoSuchService(_) => 1,
        _ => EXIT_BAD_CONFIG,
    };
    Exit {
        code,
        msg: Some(e.to_string()),
    }
    .into()
}

fn load_options(a: &Compose) -> Result<LoadOptions> {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let mut files = a.files.clone();
    if files.is_empty() {
        if let Some(f) = env.get("COMPOSE_FILE").filter(|s| !s.is_empty()) {
            let sep = env
                .get("COMPOSE_PATH_SEPARATOR")
                .cloned()
                .unwrap_or_else(|| ":".into());
            files = f.split(sep.as_str()).map(PathBuf::from).collect();
        }
    }
    Ok(LoadOptions {
        files,
        working_dir: std::env::current_dir()?,
        project_directory: a.project_directory.clone(),
        project_name: a.project_name.clone(),
        env,
        env_files: (!a.env_files.is_empty()).then(|| a.env_files.clone()),
        profiles: a.profiles.clone(),
        services: Vec::new(),
    })
}

/// Runs one compose verb against the daemon behind `c`.
pub fn run(c: &Client, a: &Compose) -> Result<()> {
    let ctx = Ctx {
        c,
        opts: load_options(a)?,
    };
    match &a.cmd {
        Verb::Config(v) => config(&ctx, v),
        Verb::Up(v) => up::up(&ctx, v),
        Verb::Down(v) => down::down(&ctx, v),
        Verb::Ps(v) => ps::ps(&ctx, v),
        Verb::Ls(v) => ps::ls(&ctx, v),
        Verb::Logs(v) => logs::logs_cmd(&ctx, v),
        Verb::Start(v) => lifecycle::start(&ctx, v),
        Verb::Stop(v) => lifecycle::stop(&ctx, v, false),
        Verb::Restart(v) => lifecycle::stop(&ctx, v, true),
        Verb::Kill(v) => lifecycle::kill(&ctx, v),
        Verb::Rm(v) => lifecycle::rm(&ctx, v),
        Verb::Exec(v) => exec::exec(&ctx, v),
        Verb::Run(v) => exec::run(&ctx, v),
        Verb::Top(v) => ps::top(&ctx, v),
        Verb::Images(v) => ps::images(&ctx, v),
        Verb::Build(v) => images::build_cmd(&ctx, v),
        Verb::Pull(v) => images::pull_cmd(&ctx, v),
        Verb::Push(v) => images::push_cmd(&ctx, v),
        Verb::Prune(v) => {
            let only = a.project_name.as_deref().filter(|_| !v.all_expired);
            ephemeral::prune(&ctx, v, only)
        }
    }
}

/// `config`: the resolved model (or parts of it) on stdout.
fn config(ctx: &Ctx, a: &Config) -> Result<()> {
    let p = ctx.load(&a.services)?;
    let p = if a.services.is_empty() {
        p
    } else {
        let names: Vec<&str> = a.services.iter().map(String::as_str).collect();
        p.with_services(&names).map_err(config_error)?
    };
    if a.quiet {
        return Ok(());
    }
    if a.list_services {
        for s in p.start_order() {
            println!("{s}");
        }
    } else if a.list_volumes {
        for v in p.volumes.keys() {
            println!("{v}");
        }
    } else {
        print!("{}", p.to_yaml());
    }
    Ok(())
}

/// docker compose's progress lines (` Container p-web-1  Started`), on stderr as compose
/// writes them.
pub(crate) fn event(kind: &str, name: &str, what: &str) {
    eprintln!(" {kind} {name}  {what}");
}
