//! The flags, named and shaped as runc's.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "berth-runtime",
    version,
    about = "berth's OCI runtime, with runc's command line"
)]
pub(crate) struct Cli {
    /// Root directory for container state.
    #[arg(long, global = true, default_value = "/run/berth-runtime")]
    pub root: PathBuf,
    /// Write errors to this file as well as stderr.
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Format of --log: text or json.
    #[arg(long = "log-format", global = true, default_value = "text")]
    pub log_format: String,
    /// Accepted for runc compatibility (debug output is not produced).
    #[arg(long, global = true)]
    pub debug: bool,
    /// systemd cgroup paths ("slice:prefix:name"); refused with a clear error when given.
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// Accepted for runc compatibility; rootless mode is detected, not forced.
    #[arg(long, global = true)]
    pub rootless: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CreateArgs {
    /// Container id.
    pub id: String,
    /// Bundle directory (holding config.json).
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Unix socket that receives the pty master when process.terminal is true.
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// File to write the init pid to.
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Use MS_MOVE and chroot instead of pivot_root (for a rootfs on ramfs).
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Accepted for runc compatibility: no session keyring is created.
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass N extra fds (3..3+N) to the process.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: i32,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a container; its process waits for `start`.
    Create(CreateArgs),
    /// Start a created container.
    Start { id: String },
    /// Create and start a container, and wait for it unless detached.
    Run {
        #[command(flatten)]
        create: CreateArgs,
        /// Return after start instead of waiting.
        #[arg(short, long)]
        detach: bool,
        /// Keep the container's state after it exits.
        #[arg(long)]
        keep: bool,
    },
    /// Print a container's state as JSON.
    State { id: String },
    /// Send a signal (default SIGTERM) to a container.
    Kill {
        id: String,
        #[arg(default_value = "SIGTERM")]
        signal: String,
        /// Signal every process of the container.
        #[arg(short, long)]
        all: bool,
    },
    /// Delete a container.
    Delete {
        id: String,
        /// Kill it first if it runs.
        #[arg(short, long)]
        force: bool,
    },
    /// Run a new process inside a running container.
    Exec(ExecArgs),
    /// List the processes of a container.
    Ps {
        id: String,
        /// table or json.
        #[arg(short, long, default_value = "table")]
        format: String,
        /// Arguments for ps(1) in table mode.
        #[arg(trailing_var_arg = true)]
        ps_args: Vec<String>,
    },
    /// List containers.
    List {
        #[arg(short, long, default_value = "table")]
        format: String,
        #[arg(short, long)]
        quiet: bool,
    },
    /// Freeze a container.
    Pause { id: String },
    /// Thaw a paused container.
    Resume { id: String },
    /// Print the runtime's features as JSON (OCI features document).
    Features,
    /// Change the resource limits of a container (runc's flags, or --resources with OCI JSON).
    Update(UpdateArgs),
    /// Print resource usage statistics of a container as JSON (`runc events --stats`).
    Events {
        id: String,
        #[arg(long)]
        stats: bool,
    },
}

#[derive(Debug, clap::Args)]
pub(crate) struct UpdateArgs {
    /// Container id.
    pub id: String,
    /// OCI LinuxResources JSON from this file, or `-` for stdin (containerd's way).
    #[arg(short, long)]
    pub resources: Option<PathBuf>,
    /// Memory limit in bytes.
    #[arg(short, long)]
    pub memory: Option<i64>,
    /// Memory soft limit (reservation) in bytes.
    #[arg(long = "memory-reservation")]
    pub memory_reservation: Option<i64>,
    /// Memory plus swap limit in bytes (-1: unlimited).
    #[arg(long = "memory-swap")]
    pub memory_swap: Option<i64>,
    /// CPU shares (relative weight).
    #[arg(long = "cpu-shares")]
    pub cpu_shares: Option<u64>,
    /// CPU CFS period in microseconds.
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<u64>,
    /// CPU CFS quota in microseconds (-1: none).
    #[arg(long = "cpu-quota")]
    pub cpu_quota: Option<i64>,
    /// CPUs to run on (e.g. 0-1).
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes to use.
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Maximum number of tasks (-1: unlimited).
    #[arg(long = "pids-limit")]
    pub pids_limit: Option<i64>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ExecArgs {
    /// Container id.
    pub id: String,
    /// Command and arguments (unless --process is given).
    #[arg(trailing_var_arg = true)]
    pub command: Vec<String>,
    /// A process.json describing the process.
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Return after the process started.
    #[arg(short, long)]
    pub detach: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    pub tty: bool,
    /// Working directory.
    #[arg(long)]
    pub cwd: Option<String>,
    /// Environment variables (KEY=VALUE).
    #[arg(short, long)]
    pub env: Vec<String>,
    /// uid[:gid].
    #[arg(short, long)]
    pub user: Option<String>,
    /// Additional gids.
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// Add a capability (e.g. CAP_NET_ADMIN).
    #[arg(short, long)]
    pub cap: Vec<String>,
    /// Set no_new_privileges.
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: i32,
}
