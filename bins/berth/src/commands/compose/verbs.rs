//! The flags of each compose verb, as docker compose v2 names them.

use clap::Args;

/// `config`.
#[derive(Debug, Args)]
pub struct Config {
    /// Only validate the configuration, don't print anything.
    #[arg(short, long)]
    pub quiet: bool,
    /// Print the service names, one per line.
    #[arg(long = "services")]
    pub list_services: bool,
    /// Print the volume names, one per line.
    #[arg(long = "volumes")]
    pub list_volumes: bool,
    /// Services to render (and their dependencies).
    pub services: Vec<String>,
}

/// How `up` replaces a changed running container.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Strategy {
    /// Start the new container first, stop the old one once the new one is ready.
    #[default]
    Rolling,
    /// Stop and remove the old container, then create the new one (docker compose).
    Recreate,
}

/// `up`.
#[derive(Debug, Args, Default)]
pub struct Up {
    /// Detached mode: run containers in the background.
    #[arg(short, long)]
    pub detach: bool,
    /// Build images before starting containers.
    #[arg(long)]
    pub build: bool,
    /// Don't build an image, even if it's policy.
    #[arg(long, conflicts_with = "build")]
    pub no_build: bool,
    /// Recreate containers even if their configuration and image haven't changed.
    #[arg(long)]
    pub force_recreate: bool,
    /// If containers already exist, don't recreate them.
    #[arg(long, conflicts_with = "force_recreate")]
    pub no_recreate: bool,
    /// Don't start linked services.
    #[arg(long)]
    pub no_deps: bool,
    /// Remove containers for services not defined in the Compose file.
    #[arg(long)]
    pub remove_orphans: bool,
    /// Scale SERVICE to NUM instances (SERVICE=NUM).
    #[arg(long)]
    pub scale: Vec<String>,
    /// Wait for services to be running|healthy. Implies detached mode.
    #[arg(long)]
    pub wait: bool,
    /// Maximum duration in seconds to wait for the project to be running|healthy.
    #[arg(long)]
    pub wait_timeout: Option<u64>,
    /// Don't start the services after creating them.
    #[arg(long)]
    pub no_start: bool,
    /// Stops all containers if any container was stopped. Incompatible with -d.
    #[arg(long)]
    pub abort_on_container_exit: bool,
    /// Stops all containers if any container exited with failure. Incompatible with -d.
    #[arg(long, conflicts_with = "abort_on_container_exit")]
    pub abort_on_container_failure: bool,
    /// Return the exit code of the selected service container. Implies
    /// --abort-on-container-exit.
    #[arg(long, value_name = "SERVICE")]
    pub exit_code_from: Option<String>,
    /// How a changed running container is replaced: `rolling` starts the new one beside it,
    /// switches traffic when it is ready, then stops the old one (no downtime; a new one
    /// that never becomes ready is removed and the old one keeps serving); `recreate` stops
    /// the old one first, as docker compose does. A service that writes to a volume or bind
    /// mount is replaced stop-first unless its `deploy.update_config.order` is
    /// `start-first`; `order: stop-first` always is.
    #[arg(long, value_enum, default_value_t = Strategy::Rolling)]
    pub strategy: Strategy,
    /// Seconds a rolling update waits for a new container to be ready (healthy, or its
    /// published TCP ports answering) before it gives up and keeps the old one.
    #[arg(long, value_name = "SECONDS", default_value_t = super::rolling::READY_TIMEOUT)]
    pub ready_timeout: u64,
    /// Use this timeout in seconds for container shutdown when attached or when containers
    /// are already running.
    #[arg(short = 't', long)]
    pub timeout: Option<i64>,
    /// Mark the project ephemeral: `compose prune` removes it this long after the
    /// containers are created (Go duration: 90m, 2h, 1h30m; 0 for no expiry).
    #[arg(long, value_name = "DURATION")]
    pub ttl: Option<String>,
    /// Eviction priority of the project under a quota (higher is kept longer; default 0,
    /// or the project's current one).
    #[arg(long, allow_negative_numbers = true)]
    pub priority: Option<i64>,
    /// Before bringing up a new project, evict lower-priority projects until fewer than N
    /// run (env BERTH_COMPOSE_MAX_PROJECTS; 0 for no quota).
    #[arg(long, value_name = "N")]
    pub max_projects: Option<usize>,
    /// Services to start (and their dependencies).
    pub services: Vec<String>,
}

/// `prune`.
#[derive(Debug, Args)]
pub struct Prune {
    /// List the expired projects without removing them.
    #[arg(long)]
    pub dry_run: bool,
    /// Consider every project, even when `-p NAME` names one.
    #[arg(long)]
    pub all_expired: bool,
    /// Also remove the named volumes of the removed projects.
    #[arg(short, long)]
    pub volumes: bool,
    /// Shutdown timeout in seconds for the containers.
    #[arg(short = 't', long)]
    pub timeout: Option<i64>,
}

/// `down`.
#[derive(Debug, Args)]
pub struct Down {
    /// Remove named volumes declared in the "volumes" section and anonymous volumes.
    #[arg(short, long)]
    pub volumes: bool,
    /// Remove images used by services: "local" (no custom tag) or "all".
    #[arg(long, value_parser = ["local", "all"])]
    pub rmi: Option<String>,
    /// Remove containers for services not defined in the Compose file.
    #[arg(long)]
    pub remove_orphans: bool,
    /// Specify a shutdown timeout in seconds.
    #[arg(short = 't', long)]
    pub timeout: Option<i64>,
}

/// `ps`.
#[derive(Debug, Args)]
pub struct Ps {
    /// Show all stopped containers.
    #[arg(short, long)]
    pub all: bool,
    /// Only display IDs.
    #[arg(short, long)]
    pub quiet: bool,
    /// Display services.
    #[arg(long = "services")]
    pub list_services: bool,
    /// Format the output: table or json.
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// Services to list.
    pub services: Vec<String>,
}

/// `ls`.
#[derive(Debug, Args)]
pub struct Ls {
    /// Show all stopped Compose projects.
    #[arg(short, long)]
    pub all: bool,
    /// Only display project names.
    #[arg(short, long)]
    pub quiet: bool,
    /// Format the output: table or json.
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
}

/// `logs`.
#[derive(Debug, Args, Default)]
pub struct Logs {
    /// Follow log output.
    #[arg(short, long)]
    pub follow: bool,
    /// Show timestamps.
    #[arg(short, long)]
    pub timestamps: bool,
    /// Number of lines to show from the end of the logs for each container.
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Produce monochrome output.
    #[arg(long)]
    pub no_color: bool,
    /// Don't print prefix in logs.
    #[arg(long)]
    pub no_log_prefix: bool,
    /// Services to show.
    pub services: Vec<String>,
}

/// Verbs that take only services.
#[derive(Debug, Args)]
pub struct Services {
    /// Services (default: all).
    pub services: Vec<String>,
}

/// `stop` and `restart`.
#[derive(Debug, Args)]
pub struct Timeout {
    /// Specify a shutdown timeout in seconds.
    #[arg(short = 't', long)]
    pub timeout: Option<i64>,
    /// Services (default: all).
    pub services: Vec<String>,
}

/// `kill`.
#[derive(Debug, Args)]
pub struct Kill {
    /// SIGNAL to send to the container.
    #[arg(short, long, default_value = "SIGKILL")]
    pub signal: String,
    /// Services (default: all).
    pub services: Vec<String>,
}

/// `rm`.
#[derive(Debug, Args)]
pub struct Rm {
    /// Don't ask to confirm removal.
    #[arg(short, long)]
    pub force: bool,
    /// Stop the containers, if required, before removing.
    #[arg(short, long)]
    pub stop: bool,
    /// Remove any anonymous volumes attached to containers.
    #[arg(short, long)]
    pub volumes: bool,
    /// Services (default: all).
    pub services: Vec<String>,
}

/// `exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Detached mode: run command in the background.
    #[arg(short, long)]
    pub detach: bool,
    /// Disable pseudo-TTY allocation (by default a TTY is allocated on a terminal).
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,
    /// Set environment variables.
    #[arg(short, long)]
    pub env: Vec<String>,
    /// Path to workdir directory for this command.
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Run the command as this user.
    #[arg(short, long)]
    pub user: Option<String>,
    /// Give extended privileges to the process.
    #[arg(long)]
    pub privileged: bool,
    /// Index of the container if service has multiple replicas.
    #[arg(long, default_value_t = 1)]
    pub index: u32,
    /// The service.
    pub service: String,
    /// The command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run container in background and print container ID.
    #[arg(short, long)]
    pub detach: bool,
    /// Automatically remove the container when it exits.
    #[arg(long)]
    pub rm: bool,
    /// Set environment variables.
    #[arg(short, long)]
    pub env: Vec<String>,
    /// Don't start linked services.
    #[arg(long)]
    pub no_deps: bool,
    /// Disable pseudo-TTY allocation (by default a TTY is allocated on a terminal).
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,
    /// Assign a name to the container.
    #[arg(long)]
    pub name: Option<String>,
    /// Override the entrypoint of the image.
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Run as specified username or uid.
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Run command with all service's ports enabled and mapped to the host.
    #[arg(long)]
    pub service_ports: bool,
    /// Build image before starting container.
    #[arg(long)]
    pub build: bool,
    /// The service.
    pub service: String,
    /// The command and its arguments (default: the service's command).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// `build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Do not use cache when building the image.
    #[arg(long)]
    pub no_cache: bool,
    /// Always attempt to pull a newer version of the image (ignored).
    #[arg(long)]
    pub pull: bool,
    /// Don't print anything to STDOUT.
    #[arg(short, long)]
    pub quiet: bool,
    /// Set build-time variables for services.
    #[arg(long = "build-arg")]
    pub build_args: Vec<String>,
    /// Services to build.
    pub services: Vec<String>,
}

/// `pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// Ignore images that can be built.
    #[arg(long)]
    pub ignore_buildable: bool,
    /// Pull without printing progress information.
    #[arg(short, long)]
    pub quiet: bool,
    /// Services to pull.
    pub services: Vec<String>,
}
