//! berthd: the long-lived daemon. This main only wires flags and `daemon.json` to the engine
//! and serves `berth-api` on unix sockets and mutual-TLS TCP; everything it answers is decided
//! in the libraries.
//!
//! Lifecycle: read settings → load the TLS files → write the pidfile (refusing if a live
//! daemon holds it) → open the engine → bind each socket (mode 0660, group `-G`; a stale
//! socket left by a crash is replaced, a live one is refused) and TCP address → serve until
//! SIGTERM or SIGINT → remove the sockets and the pidfile.

mod config;

mod server;

mod tls;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Serves the Docker Engine API for berth.
#[derive(Debug, Parser)]
#[command(name = "berthd", version, about)]
pub struct Args {
    /// Daemon socket(s) to listen on (unix:///path, or tcp://HOST:PORT with --tlsverify).
    #[arg(short = 'H', long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// Root directory of persistent state.
    #[arg(long, value_name = "DIR")]
    pub data_root: Option<PathBuf>,
    /// Root directory for execution state (sockets, pidfile).
    #[arg(long, value_name = "DIR")]
    pub exec_root: Option<PathBuf>,
    /// Path to use for the daemon PID file.
    #[arg(short = 'p', long, value_name = "FILE")]
    pub pidfile: Option<PathBuf>,
    /// Daemon configuration file.
    #[arg(long, value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// Set the logging level (debug, info, warn, error, fatal).
    #[arg(short = 'l', long, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Enable insecure registry communication.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registries: Vec<String>,
    /// Preferred Docker registry mirror.
    #[arg(long = "registry-mirror", value_name = "URL")]
    pub registry_mirrors: Vec<String>,
    /// The per-container monitor executable (default: `berth-shim` beside berthd, else on
    /// PATH).
    #[arg(long, value_name = "FILE")]
    pub shim_binary: Option<PathBuf>,
    /// The init run as pid 1 for `--init` containers: a static binary (dockerd's
    /// `--init-path`; default: Docker's docker-init, else Debian's tini-static).
    #[arg(long, value_name = "FILE")]
    pub init_path: Option<PathBuf>,
    /// The default seccomp profile (Docker's JSON), or "unconfined" (default: Docker's profile
    /// from /usr/share/containers/seccomp.json).
    #[arg(long, value_name = "FILE")]
    pub seccomp_profile: Option<String>,
    /// Use TLS and verify the remote: require client certificates signed by --tlscacert
    /// (needed for tcp:// hosts).
    #[arg(long)]
    pub tlsverify: bool,
    /// Trust certs signed only by this CA (clients' certificates).
    #[arg(long, value_name = "FILE")]
    pub tlscacert: Option<PathBuf>,
    /// Path to TLS certificate file.
    #[arg(long, value_name = "FILE")]
    pub tlscert: Option<PathBuf>,
    /// Path to TLS key file.
    #[arg(long, value_name = "FILE")]
    pub tlskey: Option<PathBuf>,
    /// Group for the unix socket [default: docker, when it exists].
    #[arg(short = 'G', long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Enable live restore of containers while the daemon is down (always on in berthd).
    #[arg(long)]
    pub live_restore: bool,
    /// Default ulimits for containers (name=soft[:hard], repeatable).
    #[arg(long = "default-ulimit", value_name = "ULIMIT")]
    pub default_ulimits: Vec<String>,
    /// Specify network bridge IP (CIDR, e.g. 172.17.0.1/16).
    #[arg(long, value_name = "CIDR")]
    pub bip: Option<String>,
    /// The default bridge's interface [default: berth0]; "none" disables the default
    /// bridge network (containers in the default mode get loopback only).
    #[arg(short = 'b', long, value_name = "NAME")]
    pub bridge: Option<String>,
    /// Manage berth's nftables table: NAT, published ports, isolation [default: true].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub iptables: Option<bool>,
    /// berth's nftables table (family ip) [default: berth].
    #[arg(long, value_name = "NAME")]
    pub firewall_table: Option<String>,
    /// Remove expired compose projects (`berth compose up --ttl`) every SECONDS
    /// [default: 0, off].
    #[arg(long, value_name = "SECONDS")]
    pub compose_expiry_interval: Option<u64>,
    /// DNS server for containers and the embedded DNS's upstream (repeatable).
    #[arg(long = "dns", value_name = "IP")]
    pub dns: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match server::run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berthd: {e:#}");
            ExitCode::from(1)
        }
    }
}
