//! berth-shim: the per-container monitor berthd spawns, one per container.
//!
//! A thin command line over the `berth_shim` library, kept separate from berthd so the
//! process that outlives berthd is small and has no async runtime (see the library's docs).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "berth-shim", about = "berth's per-container monitor")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Create and start a container under a new, daemonized shim; prints the init pid.
    Start {
        /// Container id.
        #[arg(long)]
        id: String,
        /// OCI bundle directory.
        #[arg(long)]
        bundle: PathBuf,
        /// The shim's state dir (pid files, socket, logs, exit record).
        #[arg(long)]
        state_dir: PathBuf,
        /// The runtime's state root.
        #[arg(long)]
        runtime_root: PathBuf,
        /// Rotate the json log at this many bytes (0: never).
        #[arg(long, default_value_t = berth_shim::log::DEFAULT_MAX_SIZE)]
        log_max_size: u64,
        /// Log files kept, the live one included.
        #[arg(long, default_value_t = berth_shim::log::DEFAULT_MAX_FILES)]
        log_max_files: u32,
        /// Keep the container's stdin open for attached clients (`docker run -i`).
        #[arg(long)]
        stdin: bool,
        /// Close the stdin when the first attached client leaves.
        #[arg(long)]
        stdin_once: bool,
    },
    /// Run one process in a running container in the foreground; exits with its status.
    Exec {
        /// Container id.
        #[arg(long)]
        id: String,
        /// The runtime's state root.
        #[arg(long)]
        runtime_root: PathBuf,
        /// The OCI `process` object (JSON) to run.
        #[arg(long)]
        process: PathBuf,
        /// Where to write the process's pid.
        #[arg(long)]
        pid_file: PathBuf,
    },
}

fn main() -> ExitCode {
    let code = match Cli::parse().cmd {
        Cmd::Start {
            id,
            bundle,
            state_dir,
            runtime_root,
            log_max_size,
            log_max_files,
            stdin,
            stdin_once,
        } => berth_shim::start(berth_shim::ShimOptions {
            id,
            bundle,
            state_dir,
            runtime_root,
            log_max_size,
            log_max_files,
            stdin,
            stdin_once,
        }),
        Cmd::Exec {
            id,
            runtime_root,
            process,
            pid_file,
        } => berth_shim::exec::exec(&runtime_root, &id, &process, &pid_file),
    };
    ExitCode::from(code.clamp(0, 255) as u8)
}
