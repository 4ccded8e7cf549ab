//! Settings from flags and `daemon.json`, merged as dockerd does: a flag given on the command
//! line wins over the file; list flags (`--insecure-registry`, `--registry-mirror`, `-H`)
//! replace the file's list when given; so do `--default-ulimit` flags replace the file's
//! `default-ulimits` (dockerd refuses a directive given both ways; berthd lets the flag win).

use std::collections::BTreeMap;
use std::ffi::CString;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use berth_engine::container::options::rlimit;
use berth_engine::container::Ulimit;
use serde::Deserialize;

use crate::tls::TlsFiles;
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
    init_path: Option<PathBuf>,
    tlsverify: Option<bool>,
    tlscacert: Option<PathBuf>,
    tlscert: Option<PathBuf>,
    tlskey: Option<PathBuf>,
    group: Option<String>,
    live_restore: Option<bool>,
    /// `{"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 2048}}`, as dockerd's.
    default_ulimits: Option<BTreeMap<String, Ulimit>>,
    bip: Option<String>,
    bridge: Option<String>,
    iptables: Option<bool>,
    firewall_table: Option<String>,
    #[serde(default)]
    dns: Vec<String>,
    compose_expiry_interval: Option<u64>,
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
    /// The CA, certificate and key TCP listeners use; set exactly when `tlsverify` is.
    pub tls: Option<TlsFiles>,
    pub shim_binary: PathBuf,
    /// The default seccomp profile file, or `None` for "unconfined".
    pub seccomp_profile: Option<PathBuf>,
    /// The init binary for `--init` (None: none found; `--init` is then refused).
    pub init_path: Option<PathBuf>,
    /// The group unix sockets are chowned to (`-G`, default `docker` when it exists).
    pub socket_gid: Option<u32>,
    /// `--live-restore` / `"live-restore"` as configured (`None`: not mentioned). berthd
    /// always keeps containers running across its restarts, whatever this says.
    pub live_restore: Option<bool>,
    /// `--default-ulimit` / `"default-ulimits"`, validated, sorted by name. Not applied yet:
    /// the engine has no hook for daemon-wide defaults, so berthd warns at startup.
    pub default_ulimits: Vec<Ulimit>,
    /// `--bip`: the default bridge's address and prefix.
    pub bip: Option<Bip>,
    /// `-b`: the default bridge's interface; `None` for `-b none`.
    pub bridge: Option<String>,
    /// `--iptables`: manage berth's nftables table.
    pub firewall: bool,
    /// `--firewall-table`.
    pub firewall_table: String,
    /// `--dns`.
    pub dns: Vec<String>,
    /// `--compose-expiry-interval`: how often expired compose projects are removed.
    pub compose_expiry: Option<std::time::Duration>,
}

/// dockerd's `-G` default.
pub const DEFAULT_SOCKET_GROUP: &str = "docker";

/// A group's id by name (NSS, like dockerd's `user.LookupGroup`), else the name read as a
/// number (as dockerd's `lookupGID` does); `None` when neither.
fn lookup_gid(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 4096];
    loop {
        // SAFETY: a zeroed `group` is a valid out-parameter (null pointers, zero id).
        let mut grp: libc::group = unsafe { std::mem::zeroed() };
        let mut res: *mut libc::group = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call and `buf.len()` is the buffer's size.
        let rc = unsafe {
            libc::getgrnam_r(c.as_ptr(), &mut grp, buf.as_mut_ptr(), buf.len(), &mut res)
        };
        if rc == libc::ERANGE && buf.len() < (1 << 20) {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc == 0 && !res.is_null() {
            return Some(grp.gr_gid);
        }
        return name.parse().ok();
    }
}

/// `-G/--group` (or `"group"`): the socket group's id. The default `docker` may be missing
/// (the sockets stay root:root); a group named explicitly must exist; `""` means no chown.
pub fn socket_group(flag: Option<String>, file: Option<String>) -> Result<Option<u32>> {
    let (name, explicit) = match flag.or(file) {
        Some(n) => (n, true),
        None => (DEFAULT_SOCKET_GROUP.to_string(), false),
    };
    if name.is_empty() {
        return Ok(None);
    }
    match lookup_gid(&name) {
        Some(gid) => Ok(Some(gid)),
        None if !explicit => Ok(None),
        None => bail!(
            "group {name:?} not found: the API sockets are chowned to the group given with              -G/--group (daemon.json \"group\"); create it (groupadd {name}), name an existing              group or gid, or pass -G \"\" to leave the sockets root:root"
        ),
    }
}

/// One `--default-ulimit name=soft[:hard]` as go-units' `ParseUlimit` reads it (a missing
/// hard limit equals the soft one; -1 is unlimited), checked as a container's would be.
pub fn parse_ulimit(val: &str) -> Result<Ulimit> {
    let (name, limits) = val.split_once('=').ok_or_else(|| {
        anyhow!("invalid ulimit argument: {val}: use name=soft[:hard], e.g. nofile=1024:2048")
    })?;
    let num = |s: &str| {
        s.parse::<i64>()
            .map_err(|_| anyhow!("invalid ulimit argument: {val}: {s:?} is not an integer"))
    };
    let (soft, hard) = match limits.split(':').collect::<Vec<_>>()[..] {
        [soft] => (num(soft)?, num(soft)?),
        [soft, hard] => (num(soft)?, num(hard)?),
        _ => bail!(
            "too many limit value arguments - {limits}, can only have up to two, `soft[:hard]`"
        ),
    };
    let u = Ulimit {
        name: name.to_string(),
        soft,
        hard,
    };
    check_ulimit(&u)?;
    Ok(u)
}

fn check_ulimit(u: &Ulimit) -> Result<()> {
    rlimit(u).map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// `--default-ulimit` flags (the last of a name wins, as dockerd's map does), else the
/// file's `default-ulimits`, whose keys must match their `Name` (an empty `Name` takes the key).
pub fn default_ulimits(
    flags: &[String],
    file: Option<BTreeMap<String, Ulimit>>,
) -> Result<Vec<Ulimit>> {
    let mut out = BTreeMap::new();
    if !flags.is_empty() {
        for f in flags {
            let u = parse_ulimit(f).with_context(|| format!("--default-ulimit {f}"))?;
            out.insert(u.name.clone(), u);
        }
    } else {
        for (key, mut u) in file.unwrap_or_default() {
            if u.name.is_empty() {
                u.name = key.clone();
            }
            if u.name != key {
                bail!(
                    "invalid \"default-ulimits\" entry {key:?}: its \"Name\" is {:?}; the key and \
                     the name must match",
                    u.name
                );
            }
            check_ulimit(&u).context("daemon.json \"default-ulimits\"")?;
            out.insert(key, u);
        }
    }
    Ok(out.into_values().collect())
}

/// `--bip`: the default bridge's IPv4 address with its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bip {
    /// The bridge's own address (a host address in the subnet).
    pub addr: Ipv4Addr,
    /// The subnet's prefix length.
    pub prefix: u8,
}

impl std::fmt::Display for Bip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Parses `--bip` (`172.17.0.1/16`): an IPv4 CIDR whose address is a host of the subnet,
/// neither its network nor its broadcast address, with room for containers (prefix <= 30).
pub fn parse_bip(val: &str) -> Result<Bip> {
    let usage = "use the bridge's address with the subnet's prefix, e.g. --bip 172.17.0.1/16";
    let (a, p) = val
        .split_once('/')
        .ok_or_else(|| anyhow!("invalid --bip {val:?}: not a CIDR; {usage}"))?;
    let addr: Ipv4Addr = a.parse().map_err(|_| {
        if a.parse::<std::net::Ipv6Addr>().is_ok() {
            anyhow!("invalid --bip {val:?}: --bip takes an IPv4 address; {usage}")
        } else {
            anyhow!("invalid --bip {val:?}: {a:?} is not an IPv4 address; {usage}")
        }
    })?;
    let prefix: u8 = p
        .parse()
        .ok()
        .filter(|p| *p <= 32)
        .ok_or_else(|| anyhow!("invalid --bip {val:?}: the prefix must be 0 to 32; {usage}"))?;
    if prefix > 30 {
        bail!(
            "invalid --bip {val:?}: a /{prefix} subnet leaves no address for containers; {usage}"
        );
    }
    let host_mask = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
    let host = u32::from(addr) & host_mask;
    if host == 0 {
        bail!("invalid --bip {val:?}: {addr} is the subnet's network address, not a host address; {usage}");
    }
    if host == host_mask {
        bail!("invalid --bip {val:?}: {addr} is the subnet's broadcast address; {usage}");
    }
    Ok(Bip { addr, prefix })
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

/// Where Docker's packages put docker-init (tini, statically linked: it runs inside any
/// image), then Debian's tini-static.
const INIT_CANDIDATES: [&str; 3] = [
    "/usr/libexec/docker/docker-init",
    "/usr/bin/docker-init",
    "/usr/bin/tini-static",
];

fn default_init_path() -> Option<PathBuf> {
    INIT_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
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
    let tlsverify = args.tlsverify || file.tlsverify == Some(true);
    let tls = if tlsverify {
        Some(TlsFiles::require(
            args.tlscacert.clone().or(file.tlscacert),
            args.tlscert.clone().or(file.tlscert),
            args.tlskey.clone().or(file.tlskey),
        )?)
    } else {
        None
    };
    let live_restore = if args.live_restore {
        Some(true)
    } else {
        file.live_restore
    };
    let bip = args
        .bip
        .clone()
        .or(file.bip)
        .map(|b| parse_bip(&b))
        .transpose()?;
    let bridge = match args.bridge.clone().or(file.bridge) {
        Some(b) if b == "none" => None,
        Some(b) => {
            if !berth_network::sysctl::valid_ifname(&b) {
                bail!("invalid --bridge {b:?}: use an interface name of 1 to 15 characters without '/' or spaces, or none");
            }
            Some(b)
        }
        None => Some(berth_engine::networks::DEFAULT_BRIDGE.to_string()),
    };
    let firewall_table = args
        .firewall_table
        .clone()
        .or(file.firewall_table)
        .unwrap_or_else(|| "berth".into());
    if firewall_table.is_empty()
        || !firewall_table
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        bail!("invalid --firewall-table {firewall_table:?}: use letters, digits, '_' and '-'");
    }
    let dns = if args.dns.is_empty() {
        file.dns
    } else {
        args.dns.clone()
    };
    for d in &dns {
        if d.parse::<std::net::IpAddr>().is_err() {
            bail!("invalid --dns {d:?}: use an IP address");
        }
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
        tlsverify,
        tls,
        shim_binary: args.shim_binary.clone().unwrap_or_else(default_shim_binary),
        seccomp_profile: seccomp_profile(args.seccomp_profile.clone(), file.seccomp_profile)?,
        init_path: args
            .init_path
            .clone()
            .or(file.init_path)
            .or_else(default_init_path),
        socket_gid: socket_group(args.group.clone(), file.group)?,
        live_restore,
        default_ulimits: default_ulimits(&args.default_ulimits, file.default_ulimits)?,
        bip,
        bridge,
        firewall: args.iptables.or(file.iptables).unwrap_or(true),
        firewall_table,
        dns,
        compose_expiry: args
            .compose_expiry_interval
            .or(file.compose_expiry_interval)
            .filter(|s| *s > 0)
            .map(std::time::Duration::from_secs),
    })
}

/// A listening address berthd can serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// A unix socket path.
    Unix(PathBuf),
    /// A TCP `host:port` served with mutual TLS only.
    Tcp(String),
}

/// dockerd's port for `tcp://` with TLS when none is given.
pub const DEFAULT_TLS_PORT: u16 = 2376;

/// Parses `-H` values: `unix:///path` (or a bare absolute path), or `tcp://HOST:PORT` (host
/// defaults to 127.0.0.1, port to 2376), which is served only with `--tlsverify`.
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
    if let Some(rest) = host.strip_prefix("tcp://") {
        if !tlsverify {
            bail!(
                "refusing to listen on {host}: the API gives root on this host to anyone who can \
                 reach it, so TCP requires --tlsverify with TLS client certificates (--tlscacert, \
                 --tlscert, --tlskey); dockerd only warns here, berthd refuses by design; or use \
                 a unix socket (-H unix:///run/berth/berth.sock)"
            );
        }
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') {
            bail!("invalid bind address ({host}): should not contain a path element");
        }
        let (h, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| anyhow!("invalid bind address ({host}): missing ']'"))?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| {
                    anyhow!("invalid bind address ({host}): expected :PORT after ']'")
                })?),
            };
            (format!("[{h}]"), port)
        } else {
            match rest.rsplit_once(':') {
                Some((h, _)) if h.contains(':') => bail!(
                    "invalid bind address ({host}): write IPv6 addresses in brackets, \
                     tcp://[::1]:2376"
                ),
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (rest.to_string(), None),
            }
        };
        let h = if h.is_empty() { "127.0.0.1".into() } else { h };
        let port = match port {
            None | Some("") => DEFAULT_TLS_PORT,
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| anyhow!("invalid bind address ({host}): invalid port {p:?}"))?,
        };
        return Ok(Listen::Tcp(format!("{h}:{port}")));
    }
    bail!("invalid host {host:?}: use unix:///path/to/socket or tcp://HOST:PORT (with --tlsverify)")
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
        assert!(e.contains("by design"), "{e}");
        let tcp = |h: &str| parse_host(h, true).map_err(|e| e.to_string());
        assert_eq!(
            tcp("tcp://0.0.0.0:2376"),
            Ok(Listen::Tcp("0.0.0.0:2376".into()))
        );
        assert_eq!(
            tcp("tcp://127.0.0.1"),
            Ok(Listen::Tcp("127.0.0.1:2376".into()))
        );
        assert_eq!(
            tcp("tcp://:2377/"),
            Ok(Listen::Tcp("127.0.0.1:2377".into()))
        );
        assert_eq!(
            tcp("tcp://[::1]:2376"),
            Ok(Listen::Tcp("[::1]:2376".into()))
        );
        assert!(tcp("tcp://127.0.0.1:2376/x").unwrap_err().contains("path"));
        assert!(tcp("tcp://127.0.0.1:http").unwrap_err().contains("port"));
        assert!(tcp("tcp://::1:2376").is_err());
        assert!(parse_host("ssh://x", false).is_err());
    }

    fn args(extra: &[&str]) -> Args {
        use clap::Parser;
        let mut v = vec!["berthd", "--seccomp-profile", "unconfined"];
        v.extend_from_slice(extra);
        Args::try_parse_from(v).unwrap()
    }

    /// Settings from `flags` over a daemon.json holding `json`.
    fn settings_with(flags: &[&str], json: &str) -> Result<Settings> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.json");
        std::fs::write(&path, json).unwrap();
        let path = path.to_str().unwrap().to_string();
        let mut v = vec!["--config-file", path.as_str()];
        v.extend_from_slice(flags);
        settings(&args(&v))
    }

    #[test]
    fn tls_flags_and_keys() {
        let s = settings_with(&[], "{}").unwrap();
        assert!(!s.tlsverify && s.tls.is_none());
        let s = settings_with(
            &[
                "--tlsverify",
                "--tlscacert",
                "/a",
                "--tlscert",
                "/c",
                "--tlskey",
                "/k",
            ],
            "{}",
        )
        .unwrap();
        assert_eq!(
            s.tls,
            Some(TlsFiles {
                ca: "/a".into(),
                cert: "/c".into(),
                key: "/k".into()
            })
        );
        // The file's keys, and a flag over a key.
        let s = settings_with(
            &["--tlskey", "/flag"],
            r#"{"tlsverify":true,"tlscacert":"/a","tlscert":"/c","tlskey":"/k"}"#,
        )
        .unwrap();
        assert!(s.tlsverify);
        assert_eq!(s.tls.unwrap().key, PathBuf::from("/flag"));
        let e = settings_with(&["--tlsverify", "--tlscert", "/c", "--tlskey", "/k"], "{}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("--tlscacert"), "{e}");
    }

    #[test]
    fn group() {
        // The default may be missing: no chown, no error.
        assert_eq!(socket_group(None, None).unwrap(), lookup_gid("docker"));
        assert_eq!(socket_group(Some("root".into()), None).unwrap(), Some(0));
        assert_eq!(socket_group(None, Some("root".into())).unwrap(), Some(0));
        assert_eq!(socket_group(Some("4242".into()), None).unwrap(), Some(4242));
        assert_eq!(socket_group(Some(String::new()), None).unwrap(), None);
        let e = socket_group(Some("no-such-group-berth".into()), Some("root".into()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"no-such-group-berth\" not found"), "{e}");
        assert!(settings_with(&["-G", "no-such-group-berth"], "{}").is_err());
        assert!(settings_with(&[], r#"{"group":"no-such-group-berth"}"#).is_err());
        assert_eq!(
            settings_with(&["--group", "root"], "{}")
                .unwrap()
                .socket_gid,
            Some(0)
        );
    }

    #[test]
    fn ulimits() {
        let u = |name: &str, soft, hard| Ulimit {
            name: name.into(),
            soft,
            hard,
        };
        assert_eq!(
            parse_ulimit("nofile=1024").unwrap(),
            u("nofile", 1024, 1024)
        );
        assert_eq!(
            parse_ulimit("nofile=1024:2048").unwrap(),
            u("nofile", 1024, 2048)
        );
        assert_eq!(parse_ulimit("core=-1:-1").unwrap(), u("core", -1, -1));
        assert_eq!(parse_ulimit("core=0:-1").unwrap(), u("core", 0, -1));
        let bad = |v: &str| parse_ulimit(v).unwrap_err().to_string();
        assert!(
            bad("nofile").contains("invalid ulimit argument"),
            "{}",
            bad("nofile")
        );
        assert!(
            bad("nofiles=1").contains("unknown name"),
            "{}",
            bad("nofiles=1")
        );
        assert!(bad("nofile=x").contains("not an integer"));
        assert!(bad("nofile=1:2:3").contains("too many limit value arguments"));
        assert!(bad("nofile=10:5").contains("soft limit must be less than or equal to hard"));
        assert!(bad("nofile=-2").contains("negative"));

        let s = settings_with(
            &[
                "--default-ulimit",
                "nproc=10:20",
                "--default-ulimit",
                "nofile=1:2",
                "--default-ulimit",
                "nofile=3:4",
            ],
            r#"{"default-ulimits":{"core":{"Name":"core","Soft":0,"Hard":0}}}"#,
        )
        .unwrap();
        assert_eq!(s.default_ulimits, [u("nofile", 3, 4), u("nproc", 10, 20)]);
        let s = settings_with(
            &[],
            r#"{"default-ulimits":{"nofile":{"Name":"nofile","Soft":1024,"Hard":2048},"core":{"Soft":-1,"Hard":-1}}}"#,
        )
        .unwrap();
        assert_eq!(
            s.default_ulimits,
            [u("core", -1, -1), u("nofile", 1024, 2048)]
        );
        let e = settings_with(&["--default-ulimit", "nofile=9:1"], "{}").unwrap_err();
        assert!(
            format!("{e:#}").contains("--default-ulimit nofile=9:1"),
            "{e:#}"
        );
        let e = settings_with(
            &[],
            r#"{"default-ulimits":{"nofile":{"Name":"nproc","Soft":1,"Hard":1}}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("must match"), "{e}");
        let e = settings_with(&[], r#"{"default-ulimits":{"nofile":{"Soft":9,"Hard":1}}}"#)
            .unwrap_err();
        assert!(format!("{e:#}").contains("default-ulimits"), "{e:#}");
    }

    #[test]
    fn bip() {
        let b = parse_bip("172.18.0.1/16").unwrap();
        assert_eq!(b.to_string(), "172.18.0.1/16");
        assert_eq!(parse_bip("10.0.0.254/24").unwrap().prefix, 24);
        for (bad, why) in [
            ("172.18.0.1", "not a CIDR"),
            ("172.18.0.0/16", "network address"),
            ("192.168.1.255/24", "broadcast"),
            ("10.0.0.1/31", "no address for containers"),
            ("10.0.0.1/33", "prefix must be"),
            ("fd00::1/64", "IPv4"),
            ("nope/8", "not an IPv4 address"),
        ] {
            let e = parse_bip(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
        assert_eq!(
            settings_with(&[], r#"{"bip":"10.9.0.1/24"}"#)
                .unwrap()
                .bip
                .unwrap()
                .to_string(),
            "10.9.0.1/24"
        );
        assert_eq!(
            settings_with(&["--bip", "10.8.0.1/24"], r#"{"bip":"10.9.0.1/24"}"#)
                .unwrap()
                .bip
                .unwrap()
                .to_string(),
            "10.8.0.1/24"
        );
        assert!(settings_with(&["--bip", "10.8.0.0/24"], "{}").is_err());
    }

    #[test]
    fn live_restore() {
        assert_eq!(settings_with(&[], "{}").unwrap().live_restore, None);
        assert_eq!(
            settings_with(&["--live-restore"], "{}")
                .unwrap()
                .live_restore,
            Some(true)
        );
        assert_eq!(
            settings_with(&[], r#"{"live-restore":true}"#)
                .unwrap()
                .live_restore,
            Some(true)
        );
        assert_eq!(
            settings_with(&[], r#"{"live-restore":false}"#)
                .unwrap()
                .live_restore,
            Some(false)
        );
    }

    #[test]
    fn file_keys() {
        let f: FileConfig = serde_json::from_str(
            r#"{"data-root":"/d","insecure-registries":["a:5000"],"log-level":"debug"}"#,
        )
        .unwrap();
        assert_eq!(f.data_root.as_deref(), Some(Path::new("/d")));
        assert!(serde_json::from_str::<FileConfig>(r#"{"nope":1}"#).is_err());
        let f: FileConfig = serde_json::from_str(
            r#"{"tlsverify":true,"tlscacert":"/a","tlscert":"/c","tlskey":"/k","group":"g",
                "live-restore":true,"bip":"10.0.0.1/24",
                "default-ulimits":{"nofile":{"Name":"nofile","Soft":1,"Hard":2}}}"#,
        )
        .unwrap();
        assert_eq!(f.group.as_deref(), Some("g"));
        assert_eq!(f.default_ulimits.unwrap()["nofile"].hard, 2);
    }
}
