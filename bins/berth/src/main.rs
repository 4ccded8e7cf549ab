//! `berth`: Docker's command line.
//!
//! Today the image verbs (`load`, `save`, `images`, `tag`, `rmi`, `inspect`, `history`,
//! `import`, `image prune`, `system df`, `pull`, `push`, `login`, `logout`) run in this process against the store under
//! `--data-root`, the way podman works without a daemon. When berthd exists (issue 5) the CLI
//! becomes a client of its Docker Engine API and this local mode stays for daemonless use.

mod commands;
mod format;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use commands::images::{self, ImageCmd};
use commands::registry::{self, RegistryFlags};

/// A container engine that speaks Docker.
#[derive(Debug, Parser)]
#[command(name = "berth", version, about)]
struct Cli {
    /// Root of persistent state (images, layers).
    #[arg(long, global = true, default_value = "/var/lib/berth")]
    data_root: PathBuf,
    #[command(flatten)]
    registry: RegistryFlags,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Manage images.
    Image {
        #[command(subcommand)]
        cmd: ImageCmd,
    },
    /// List images (`image ls`).
    Images(images::Ls),
    /// Load images from a tar archive or STDIN (`image load`).
    Load(images::Load),
    /// Save images to a tar archive (`image save`).
    Save(images::Save),
    /// Create a tag TARGET that refers to SOURCE (`image tag`).
    Tag(images::Tag),
    /// Remove images (`image rm`).
    Rmi(images::Rm),
    /// Import a tarball to create a filesystem image (`image import`).
    Import(images::Import),
    /// Show the history of an image (`image history`).
    History(images::History),
    /// Display detailed information on images (`image inspect`).
    Inspect(images::Inspect),
    /// Download an image from a registry.
    Pull(registry::Pull),
    /// Upload an image to a registry.
    Push(registry::Push),
    /// Log in to a registry.
    Login(registry::Login),
    /// Log out from a registry.
    Logout(registry::Logout),
    /// Manage berth.
    System {
        #[command(subcommand)]
        cmd: SystemCmd,
    },
}

#[derive(Debug, Subcommand)]
enum SystemCmd {
    /// Show disk usage.
    Df(images::Df),
    /// Show or set the automatic image collection policy, and apply it now.
    Gc(commands::gc::Gc),
    /// Check every blob and unpacked layer against its digest.
    Fsck(commands::gc::Fsck),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Image { cmd } => images::run(&cli.data_root, cmd),
        Cmd::Images(a) => images::run(&cli.data_root, ImageCmd::Ls(a)),
        Cmd::Load(a) => images::run(&cli.data_root, ImageCmd::Load(a)),
        Cmd::Save(a) => images::run(&cli.data_root, ImageCmd::Save(a)),
        Cmd::Tag(a) => images::run(&cli.data_root, ImageCmd::Tag(a)),
        Cmd::Rmi(a) => images::run(&cli.data_root, ImageCmd::Rm(a)),
        Cmd::Import(a) => images::run(&cli.data_root, ImageCmd::Import(a)),
        Cmd::History(a) => images::run(&cli.data_root, ImageCmd::History(a)),
        Cmd::Inspect(a) => images::run(&cli.data_root, ImageCmd::Inspect(a)),
        Cmd::Pull(a) => registry::run_pull(&cli.data_root, &cli.registry, &a),
        Cmd::Push(a) => registry::run_push(&cli.data_root, &cli.registry, &a),
        Cmd::Login(a) => registry::run_login(&cli.registry, &a),
        Cmd::Logout(a) => registry::run_logout(&a),
        Cmd::System {
            cmd: SystemCmd::Df(a),
        } => images::df(&cli.data_root, &a),
        Cmd::System {
            cmd: SystemCmd::Gc(a),
        } => commands::gc::run(&cli.data_root, &a),
        Cmd::System {
            cmd: SystemCmd::Fsck(a),
        } => commands::gc::fsck(&cli.data_root, &a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::from(1)
        }
    }
}
