//! `berth`: Docker's command line.
//!
//! Two modes. Without `--data-root`, `berth` is a client of berthd's Docker Engine API
//! (`berth-client`): `-H`, then `BERTH_HOST`, then `DOCKER_HOST`, then
//! `unix:///run/berth/berth.sock` pick the daemon, and every verb is an API call, with
//! docker's flags, output and exit codes. With `--data-root DIR`, the image verbs (`load`,
//! `save`, `images`, `tag`, `rmi`, `inspect`, `history`, `import`, `image prune`,
//! `system df`, `pull`, `push`) run in this process against the store under DIR, the way
//! podman works without a daemon; container verbs need the daemon.
//!
//! Why the split by module: `commands/` holds one module per verb group; `gotemplate` the
//! `--format` templates, `format` docker's sizes/ages/tables, `tty` the local terminal.

mod buildview;
mod commands;
mod format;
mod gotemplate;
mod progress;
mod tty;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use berth_client::{Client, Host};
use clap::{Parser, Subcommand};

use commands::images::{self, ImageCmd};
use commands::networks::NetworkCmd;
use commands::registry::{self, RegistryFlags};
use commands::volumes::VolumeCmd;
use commands::{api_images, containers as ct, exec, inspect, run, system, Exit};

/// A container engine that speaks Docker.
#[derive(Debug, Parser)]
#[command(name = "berth", version, about, args_override_self = true)]
struct Cli {
    /// Daemon socket to connect to (unix:///path or tcp://host:port).
    #[arg(short = 'H', long = "host")]
    host: Option<String>,
    /// Work on the image store under this directory in-process, without berthd.
    #[arg(long, global = true)]
    data_root: Option<PathBuf>,
    #[command(flatten)]
    registry: RegistryFlags,
    #[command(subcommand)]
    cmd: Cmd,
}

/// The container verbs, both top-level (`berth ps`) and under `berth container`.
#[derive(Debug, Subcommand)]
enum ContainerCmd {
    /// Create and run a new container from an image.
    Run(run::Run),
    /// Create a new container.
    Create(run::ContainerOpts),
    /// List containers.
    #[command(alias = "ls", alias = "list")]
    Ps(ct::Ps),
    /// Start one or more stopped containers.
    Start(ct::Start),
    /// Stop one or more running containers.
    Stop(ct::Stop),
    /// Restart one or more containers.
    Restart(ct::Stop),
    /// Kill one or more running containers.
    Kill(ct::Kill),
    /// Remove one or more containers.
    #[command(alias = "remove")]
    Rm(ct::Rm),
    /// Fetch the logs of a container.
    Logs(ct::Logs),
    /// Execute a command in a running container.
    Exec(exec::Exec),
    /// Attach local standard input, output, and error streams to a running container.
    Attach(ct::Attach),
    /// Block until one or more containers stop, then print their exit codes.
    Wait(ct::Names),
    /// Return low-level information on Docker objects.
    Inspect(inspect::Inspect),
    /// Display the running processes of a container.
    Top(ct::Top),
    /// Pause all processes within one or more containers.
    Pause(ct::Names),
    /// Unpause all processes within one or more containers.
    Unpause(ct::Names),
    /// Rename a container.
    Rename(ct::Rename),
    /// Update configuration of one or more containers.
    Update(ct::Update),
    /// List port mappings or a specific mapping for the container.
    Port(commands::ports::Port),
}

#[derive(Debug, Subcommand)]
enum Cmd {
    #[command(flatten)]
    C(ContainerCmd),
    /// Manage containers.
    Container {
        #[command(subcommand)]
        cmd: ContainerCmd,
    },
    /// Manage images.
    Image {
        #[command(subcommand)]
        cmd: ImageCmd,
    },
    /// Manage volumes.
    Volume {
        #[command(subcommand)]
        cmd: VolumeCmd,
    },
    /// Manage networks.
    Network {
        #[command(subcommand)]
        cmd: NetworkCmd,
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
    /// Define and run multi-container applications (docker compose).
    Compose(commands::compose::Compose),
    /// Build an image from a Dockerfile (the legacy builder, over berthd).
    Build(commands::build::Build),
    /// Manage builds.
    Builder {
        #[command(subcommand)]
        cmd: BuilderCmd,
    },
    /// Show the history of an image (`image history`).
    History(images::History),
    /// Download an image from a registry.
    Pull(registry::Pull),
    /// Upload an image to a registry.
    Push(registry::Push),
    /// Log in to a registry.
    Login(registry::Login),
    /// Log out from a registry.
    Logout(registry::Logout),
    /// Display system-wide information.
    Info(system::FormatArg),
    /// Show the berth version information.
    Version(system::FormatArg),
    /// Manage berth.
    System {
        #[command(subcommand)]
        cmd: SystemCmd,
    },
}

#[derive(Debug, Subcommand)]
enum BuilderCmd {
    /// Remove build cache.
    Prune(commands::build::Prune),
}

#[derive(Debug, Subcommand)]
enum SystemCmd {
    /// Show disk usage.
    Df(images::Df),
    /// Display system-wide information.
    Info(system::FormatArg),
    /// Show or set the automatic image collection policy, and apply it now (local store).
    Gc(commands::gc::Gc),
    /// Check every blob and unpacked layer against its digest (local store).
    Fsck(commands::gc::Fsck),
}

/// The in-process verbs on `--data-root`; `None` when the verb needs the daemon.
fn local(cli: &Cli, root: &std::path::Path, cmd: Cmd) -> Option<Result<ExitCode>> {
    Some(match cmd {
        Cmd::Image { cmd } => images::run(root, cmd),
        Cmd::Images(a) => images::run(root, ImageCmd::Ls(a)),
        Cmd::Load(a) => images::run(root, ImageCmd::Load(a)),
        Cmd::Save(a) => images::run(root, ImageCmd::Save(a)),
        Cmd::Tag(a) => images::run(root, ImageCmd::Tag(a)),
        Cmd::Rmi(a) => images::run(root, ImageCmd::Rm(a)),
        Cmd::Import(a) => images::run(root, ImageCmd::Import(a)),
        Cmd::History(a) => images::run(root, ImageCmd::History(a)),
        Cmd::C(ContainerCmd::Inspect(a)) => images::run(
            root,
            ImageCmd::Inspect(images::Inspect {
                format: a.format,
                images: a.names,
            }),
        ),
        Cmd::Pull(a) => registry::run_pull(root, &cli.registry, &a),
        Cmd::Push(a) => registry::run_push(root, &cli.registry, &a),
        Cmd::System {
            cmd: SystemCmd::Df(a),
        } => images::df(root, &a),
        Cmd::System {
            cmd: SystemCmd::Gc(a),
        } => commands::gc::run(root, &a),
        Cmd::System {
            cmd: SystemCmd::Fsck(a),
        } => commands::gc::fsck(root, &a),
        _ => return None,
    })
}

fn container(c: &Client, cmd: &ContainerCmd) -> Result<()> {
    match cmd {
        ContainerCmd::Run(a) => run::run(c, a),
        ContainerCmd::Create(a) => run::create_cmd(c, a),
        ContainerCmd::Ps(a) => ct::ps(c, a),
        ContainerCmd::Start(a) => ct::start(c, a),
        ContainerCmd::Stop(a) => ct::stop(c, a),
        ContainerCmd::Restart(a) => ct::restart(c, a),
        ContainerCmd::Kill(a) => ct::kill(c, a),
        ContainerCmd::Rm(a) => ct::rm(c, a),
        ContainerCmd::Logs(a) => ct::logs(c, a),
        ContainerCmd::Exec(a) => exec::exec(c, a),
        ContainerCmd::Attach(a) => ct::attach(c, a),
        ContainerCmd::Wait(a) => ct::wait(c, a),
        ContainerCmd::Inspect(a) => inspect::inspect(c, a),
        ContainerCmd::Top(a) => ct::top(c, a),
        ContainerCmd::Pause(a) => ct::pause(c, a, "pause"),
        ContainerCmd::Unpause(a) => ct::pause(c, a, "unpause"),
        ContainerCmd::Rename(a) => ct::rename(c, a),
        ContainerCmd::Update(a) => ct::update(c, a),
        ContainerCmd::Port(a) => commands::ports::port(c, a),
    }
}

/// Every verb over the daemon's API.
fn remote(cli: &Cli, cmd: &Cmd) -> Result<()> {
    let c = Client::new(Host::from_env(cli.host.as_deref())?)?;
    let img = |k: ImageCmd| api_images::run(&c, &k);
    match cmd {
        Cmd::C(k) | Cmd::Container { cmd: k } => container(&c, k),
        Cmd::Image { cmd } => api_images::run(&c, cmd),
        Cmd::Volume { cmd } => commands::volumes::run(&c, cmd),
        Cmd::Network { cmd } => commands::networks::run(&c, cmd),
        Cmd::Images(_) | Cmd::Load(_) | Cmd::Save(_) | Cmd::Tag(_) | Cmd::Rmi(_) => {
            img(to_image_cmd(cmd))
        }
        Cmd::Import(_) | Cmd::History(_) => img(to_image_cmd(cmd)),
        Cmd::Pull(a) => api_images::pull(&c, a),
        Cmd::Build(a) => commands::build::build(&c, a),
        Cmd::Builder {
            cmd: BuilderCmd::Prune(a),
        } => commands::build::prune(&c, a),
        Cmd::Compose(a) => commands::compose::run(&c, a),
        Cmd::Push(a) => api_images::push(&c, a),
        Cmd::Info(a)
        | Cmd::System {
            cmd: SystemCmd::Info(a),
        } => system::info(&c, a),
        Cmd::Version(a) => system::version(&c, a),
        Cmd::System {
            cmd: SystemCmd::Df(_),
        } => api_images::df(&c),
        Cmd::System { .. } | Cmd::Login(_) | Cmd::Logout(_) => unreachable!("handled locally"),
    }
}

/// The image verbs' top-level aliases as `image` subcommands (moved out of `cmd`).
fn to_image_cmd(cmd: &Cmd) -> ImageCmd {
    // Re-parsing is not possible here; the arguments are cloned field by field instead.
    match cmd {
        Cmd::Images(a) => ImageCmd::Ls(a.clone()),
        Cmd::Load(a) => ImageCmd::Load(a.clone()),
        Cmd::Save(a) => ImageCmd::Save(a.clone()),
        Cmd::Tag(a) => ImageCmd::Tag(a.clone()),
        Cmd::Rmi(a) => ImageCmd::Rm(a.clone()),
        Cmd::Import(a) => ImageCmd::Import(a.clone()),
        Cmd::History(a) => ImageCmd::History(a.clone()),
        _ => unreachable!("only image verbs"),
    }
}

fn finish(r: Result<()>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.downcast::<Exit>() {
            Ok(x) => {
                if let Some(m) = &x.msg {
                    eprintln!("{m}");
                }
                ExitCode::from(x.code)
            }
            Err(e) => {
                eprintln!("{e:#}");
                ExitCode::from(1)
            }
        },
    }
}

fn main() -> ExitCode {
    // Like docker (and any Unix filter): `berth … | head` ends quietly on a closed pipe.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let mut cli = Cli::parse();
    let cmd = std::mem::replace(
        &mut cli.cmd,
        Cmd::Version(system::FormatArg { format: None }),
    );
    // Credentials live in the local docker config in both modes.
    match &cmd {
        Cmd::Login(a) => return local_result(registry::run_login(&cli.registry, a)),
        Cmd::Logout(a) => return local_result(registry::run_logout(a)),
        Cmd::System {
            cmd: SystemCmd::Gc(_) | SystemCmd::Fsck(_),
        } if cli.data_root.is_none() => {
            let root = PathBuf::from("/var/lib/berth");
            return local_result(local(&cli, &root, cmd).expect("a local verb"));
        }
        _ => {}
    }
    if let Some(root) = cli.data_root.clone() {
        if let Some(r) = local(&cli, &root, cmd) {
            return local_result(r);
        }
        eprintln!("Error: this verb needs berthd: drop --data-root to use the daemon");
        return ExitCode::from(1);
    }
    finish(remote(&cli, &cmd))
}

fn local_result(r: Result<ExitCode>) -> ExitCode {
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::from(1)
        }
    }
}
