//! `pull`, `push`, `login`, `logout`: Docker's flags and output; credentials in Docker's
//! `config.json` (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`), so a
//! `docker login` works for berth and the other way round.

use std::io::{self, BufRead};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use berth_image::model::Platform;
use berth_image::{ImageStore, Reference};
use berth_registry::{credentials, pull, push, ClientConfig, PullOptions, RegistryClient};
use clap::Args;

use crate::progress::Progress;

/// Registry settings shared by the verbs (global flags).
#[derive(Debug, Clone, Args)]
pub struct RegistryFlags {
    /// Registry to reach over plain HTTP / without certificate checks (host[:port] or CIDR);
    /// 127.0.0.0/8 always is.
    #[arg(long = "insecure-registry", global = true, value_name = "HOST")]
    pub insecure: Vec<String>,
    /// Docker Hub mirror to try first (https://host).
    #[arg(long = "registry-mirror", global = true, value_name = "URL")]
    pub mirrors: Vec<String>,
}

#[derive(Debug, Args)]
pub struct Pull {
    /// Set platform if server is multi-platform capable (os/arch[/variant]).
    #[arg(long)]
    pub(crate) platform: Option<String>,
    /// Suppress verbose output.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Download all tagged images in the repository.
    #[arg(short, long)]
    pub(crate) all_tags: bool,
    /// NAME[:TAG|@DIGEST]
    pub(crate) name: String,
}

#[derive(Debug, Args)]
pub struct Push {
    /// Suppress verbose output.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// NAME[:TAG]
    pub(crate) name: String,
}

#[derive(Debug, Args)]
pub struct Login {
    /// Username.
    #[arg(short, long)]
    pub(crate) username: Option<String>,
    /// Password (prefer --password-stdin).
    #[arg(short, long)]
    pub(crate) password: Option<String>,
    /// Take the password from stdin.
    #[arg(long)]
    pub(crate) password_stdin: bool,
    /// The registry (default: Docker Hub).
    pub(crate) server: Option<String>,
}

#[derive(Debug, Args)]
pub struct Logout {
    /// The registry (default: Docker Hub).
    pub(crate) server: Option<String>,
}

/// Docker's config file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn auth_file() -> PathBuf {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Path::new(&dir).join("config.json");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    Path::new(&home).join(".docker/config.json")
}

fn client(flags: &RegistryFlags) -> Result<RegistryClient> {
    Ok(RegistryClient::new(ClientConfig {
        auth_file: Some(auth_file()),
        insecure_registries: flags.insecure.clone(),
        mirrors: flags.mirrors.clone(),
        user_agent: format!("berth/{}", env!("CARGO_PKG_VERSION")),
        ..ClientConfig::default()
    })?)
}

fn store(root: &Path) -> Result<ImageStore> {
    ImageStore::open(root).with_context(|| format!("opening the image store at {}", root.display()))
}

pub fn run_pull(root: &Path, flags: &RegistryFlags, a: &Pull) -> Result<ExitCode> {
    let store = store(root)?;
    let client = client(flags)?;
    let reference = Reference::parse(&a.name)?;
    let opts = PullOptions {
        platform: a.platform.as_deref().map(Platform::parse).transpose()?,
        ..PullOptions::default()
    };
    let progress = Progress::new(a.quiet);
    let refs = if a.all_tags {
        let given_tag = a
            .name
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains(':'));
        if reference.digest().is_some() || given_tag {
            bail!("tag can't be used with --all-tags/-a");
        }
        client
            .tags(&reference)?
            .into_iter()
            .map(|t| Reference::parse(&format!("{}:{t}", reference.name())))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        vec![reference]
    };
    for r in refs {
        pull(&client, &store, &r, &opts, &|e| progress.event(e))?;
        println!("{}", r.normalized());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_push(root: &Path, flags: &RegistryFlags, a: &Push) -> Result<ExitCode> {
    let store = store(root)?;
    let client = client(flags)?;
    let reference = Reference::parse(&a.name)?;
    let progress = Progress::new(a.quiet);
    push(&client, &store, &reference, 3, &|e| progress.event(e))?;
    Ok(ExitCode::SUCCESS)
}

/// The registry a `login`/`logout` argument names (Docker Hub by default).
fn server_of(arg: Option<&str>) -> String {
    match arg {
        None => credentials::DOCKER_HUB_KEY.to_string(),
        Some(s) => s
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string(),
    }
}

pub fn run_login(flags: &RegistryFlags, a: &Login) -> Result<ExitCode> {
    let server = server_of(a.server.as_deref());
    let Some(user) = a.username.clone() else {
        bail!("Must provide --username with berth login (interactive prompts are not supported)");
    };
    let password = match (&a.password, a.password_stdin) {
        (Some(_), true) => bail!("--password and --password-stdin are mutually exclusive"),
        (Some(p), false) => {
            eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
            p.clone()
        }
        (None, true) => {
            let mut line = String::new();
            io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\n', '\r']).to_string()
        }
        (None, false) => bail!("Must provide --password or --password-stdin"),
    };
    let registry = if server == credentials::DOCKER_HUB_KEY {
        "docker.io"
    } else {
        server.as_str()
    };
    client(flags)?.login(registry, &user, &password)?;
    credentials::store(&auth_file(), &server, &user, &password)?;
    println!("Login Succeeded");
    Ok(ExitCode::SUCCESS)
}

pub fn run_logout(a: &Logout) -> Result<ExitCode> {
    let server = server_of(a.server.as_deref());
    if credentials::erase(&auth_file(), &server)? {
        println!("Removing login credentials for {server}");
    } else {
        println!("Not logged in to {server}");
    }
    Ok(ExitCode::SUCCESS)
}
