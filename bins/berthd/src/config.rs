//! Settings from flags and `daemon.json`, merged as dockerd does: a flag given on the command
//! line wins over the file; list flags (`--insecure-registry`, `--registry-mirror`, `-H`)
//! replace the file's list when given.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::Args;

/// The default config file; missing is fine when it was not named explicitly.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/berth/daemon.json";

/// `daemon.json` keys berthd understands. Unknown keys are refused, like dockerd does, so a
/// typo does not pass silently.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FileConfig {
    data_root: Option<PathBuf>,
    exec_root: Option<PathBuf>,
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    insecure_registries: Vec<String>,
    #[serde(default)]
    registry_mirrors: Vec<String>,
    log_level: Option<String>,
    pidfile: Option<PathBuf>,
    seccomp_profile: Option<String>,
}

/// The merged settings the daemon runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_root: PathBuf,
    pub exec_root: PathBuf,
    pub hosts: Vec<String>,
    pub insecure_registries: Vec<String>,
    pub registry_mirrors: Vec<String>,
    pub log_level: String,
    pub pidfile: PathBuf,
    pub tlsverify: bool,
    pub shim_binary: PathBuf,
    /// The default seccomp profile file, or `None` for "unconfined".
    pub seccomp_profile: Option<PathBuf>,
}

/// Docker's default profile as Debian ships it (golang-github-containers-common).
pub const DEFAULT_SECCOMP_PROFILE: &str = "/usr/share/containers/seccomp.json";

/// `--seccomp-profile`: a path, `unconfined`, or (default) Docker's profile when installed.
fn seccomp_profile(flag: Option<String>, file: Option<String>) -> Result<Option<PathBuf>> {
    match flag.or(file).as_deref() {
        Some("unconfined") => Ok(None),
        Some(p) => {
            let p = PathBuf::from(p);
            if !p.is_file() {
                bail!("seccomp profile {} not found: give a Docker-format profile file or \"unconfined\"", p.display());
            }
            Ok(Some(p))
        }
        None => {
            let d = PathBuf::from(DEFAULT_SECCOMP_PROFILE);
            if !d.is_file() {
                bail!(
                    "the default seccomp profile {DEFAULT_SECCOMP_PROFILE} is missing: install \
                     golang-github-containers-common, pass --seccomp-profile FILE, or run with \
                     --seccomp-profile unconfined"
                );
            }
            Ok(Some(d))
        }
    }
}

/// `berth-shim` next to berthd's own executable (how they are installed and built), else
/// the bare name, looked up on PATH when spawned.
fn default_shim_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("berth-shim")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("berth-shim"))
}

fn read_file(path: &Path, explicit: bool) -> Result<FileConfig> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.trim_ascii().is_empty() => Ok(FileConfig::default()),
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("unable to configure the daemon from {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
            Ok(FileConfig::default())
        }
        Err(e) => Err(e).with_context(|| format!("reading the config file {}", path.display())),
    }
}

fn pick<T>(flag: Option<T>, file: Option<T>, default: T) -> T {
    flag.or(file).unwrap_or(default)
}

fn pick_list(flag: &[String], file: Vec<String>) -> Vec<String> {
    if flag.is_empty() {
        file
    } else {
        flag.to_vec()
    }
}

/// Merges `args` over the config file they name (or the default one).
pub fn settings(args: &Args) -> Result<Settings> {
    let (path, explicit) = match &args.config_file {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
    };
    let file = read_file(&path, explicit)?;
    let exec_root = pick(args.exec_root.clone(), file.exec_root, "/run/berth".into());
    let mut hosts = pick_list(&args.hosts, file.hosts);
    if hosts.is_empty() {
        hosts.push(format!("unix://{}", exec_root.join("berth.sock").display()));
    }
    let log_level = pick(args.log_level.clone(), file.log_level, "info".into());
    if !["debug", "info", "warn", "error", "fatal"].contains(&log_level.as_str()) {
        bail!("invalid log level {log_level:?}: use debug, info, warn, error or fatal");
    }
    Ok(Settings {
        data_root: pick(
            args.data_root.clone(),
            file.data_root,
            "/var/lib/berth".into(),
        ),
        pidfile: pick(
            args.pidfile.clone(),
            file.pidfile,
            exec_root.join("berthd.pid"),
        ),
        exec_root,
        hosts,
        insecure_registries: pick_list(&args.insecure_registries, file.insecure_registries),
        registry_mirrors: pick_list(&args.registry_mirrors, file.registry_mirrors),
        log_level,
        tlsverify: args.tlsverify,
        shim_binary: args.shim_binary.clone().unwrap_or_else(default_shim_binary),
        seccomp_profile: seccomp_profile(args.seccomp_profile.clone(), file.seccomp_profile)?,
    })
}

/// A listening address berthd can serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// A unix socket path.
    Unix(PathBuf),
}

/// Parses `-H` values: `unix:///path` (or a bare absolute path). TCP needs mutual TLS,
/// which is not implemented yet, so it is refused with the reason.
pub fn parse_host(host: &str, tlsverify: bool) -> Result<Listen> {
    if let Some(p) = host.strip_prefix("unix://") {
        if p.is_empty() {
            bail!("invalid host {host:?}: unix:// needs a path, e.g. unix:///run/berth/berth.sock");
        }
        return Ok(Listen::Unix(PathBuf::from(p)));
    }
    if host.starts_with('/') {
        return Ok(Listen::Unix(PathBuf::from(host)));
    }
    if host.starts_with("tcp://") {
        if !tlsverify {
            bail!(
                "refusing to listen on {host}: the API gives root on this host to anyone who can \
                 reach it, so TCP requires --tlsverify with TLS client certificates; use a unix \
                 socket (-H unix:///run/berth/berth.sock)"
            );
        }
        bail!(
            "listening on {host} with --tlsverify needs TLS client certificates, which berthd \
             does not implement yet; use a unix socket (-H unix:///run/berth/berth.sock)"
        );
    }
    bail!("invalid host {host:?}: use unix:///path/to/socket")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(
            parse_host("unix:///tmp/x.sock", false).unwrap(),
            Listen::Unix("/tmp/x.sock".into())
        );
        let e = parse_host("tcp://0.0.0.0:2375", false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--tlsverify"), "{e}");
        assert!(parse_host("tcp://0.0.0.0:2376", true).is_err());
        assert!(parse_host("ssh://x", false).is_err());
    }

    #[test]
    fn file_keys() {
        let f: FileConfig = serde_json::from_str(
            r#"{"data-root":"/d","insecure-registries":["a:5000"],"log-level":"debug"}"#,
        )
        .unwrap();
        assert_eq!(f.data_root.as_deref(), Some(Path::new("/d")));
        assert!(serde_json::from_str::<FileConfig>(r#"{"nope":1}"#).is_err());
    }
}
