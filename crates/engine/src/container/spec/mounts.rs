//! `mounts`: Docker's default mounts, then the user's binds, `--mount`s, `--tmpfs` and the init
//! binary, with Docker's read-only, privileged and tmpfs-option rules.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::{SpecContext, SpecError, INIT_PATH};
use crate::container::options::{
    check_destination, parse_bind, tmpfs_size, BindMount, CreateOptions, IpcKind, OptionsError,
    DEFAULT_SHM_SIZE,
};

/// The generated files in the container's directory and where they are mounted.
pub const ETC_FILES: [(&str, &str); 3] = [
    ("hostname", "/etc/hostname"),
    ("hosts", "/etc/hosts"),
    ("resolv.conf", "/etc/resolv.conf"),
];

fn mount(dst: &str, kind: &str, src: &str, options: &[&str]) -> Value {
    json!({"destination": dst, "type": kind, "source": src, "options": options})
}

/// Docker's default mounts, then the user's (binds, `--mount`, `--tmpfs`, init) sorted by
/// depth; a user mount replaces the default at the same destination.
pub(super) fn mounts(
    opts: &CreateOptions,
    ctx: &SpecContext,
    init: bool,
    ipc: &IpcKind,
) -> Result<Vec<Value>, SpecError> {
    let hc = &opts.host_config;
    let shm = if hc.shm_size == 0 {
        DEFAULT_SHM_SIZE
    } else {
        hc.shm_size
    };
    let shm_size = format!("size={shm}");
    let mut defaults = vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        ),
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["ro", "nosuid", "noexec", "nodev"],
        ),
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", &shm_size],
        ),
    ];
    // `/dev/shm` by `IpcMode`, as moby's `WithMounts`: a private tmpfs, none, or a bind of
    // the host's or of the shareable container's (a tmpfs the engine mounts on the host).
    let shm_bind = |src: &str| mount("/dev/shm", "bind", src, &["rbind", "rprivate"]);
    match ipc {
        IpcKind::Private => {}
        IpcKind::None => defaults.retain(|m| m["destination"] != "/dev/shm"),
        IpcKind::Host => replace_shm(&mut defaults, shm_bind("/dev/shm")),
        IpcKind::Shareable | IpcKind::Container(_) => {
            let src = ctx.shm_path.as_ref().ok_or_else(|| {
                SpecError::Internal("no /dev/shm directory given for a shared IPC mode".into())
            })?;
            replace_shm(&mut defaults, shm_bind(&src.to_string_lossy()));
        }
    }
    if hc.readonly_rootfs {
        // Docker: the default mounts become read-only too, except the ones a process needs
        // to write (/proc, /dev and its children).
        for m in &mut defaults {
            let keep_rw = ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue"];
            if !keep_rw.iter().any(|d| m["destination"] == *d) {
                if let Some(o) = m["options"].as_array_mut() {
                    if !o.iter().any(|x| x == "ro") {
                        o.push(json!("ro"));
                    }
                }
            }
        }
    }
    if hc.privileged {
        // Docker (after the read-only pass): a privileged container may write /sys and its
        // cgroup tree.
        for m in &mut defaults {
            if m["destination"] == "/sys" || m["type"] == "cgroup" {
                if let Some(o) = m["options"].as_array_mut() {
                    o.retain(|x| x != "ro");
                }
            }
        }
    }

    let mut user: Vec<(String, Value)> = Vec::new();
    let bind = |b: BindMount| {
        let mut o = vec!["rbind"];
        if b.read_only {
            o.push("ro");
        }
        o.push(&b.propagation);
        (
            b.destination.clone(),
            mount(&b.destination, "bind", &b.source.to_string_lossy(), &o),
        )
    };
    for spec in &hc.binds {
        user.push(bind(parse_bind(spec)?));
    }
    for m in &hc.mounts {
        let err = |reason: String| OptionsError::Mount {
            kind: m.kind.clone(),
            reason,
        };
        check_destination(&m.target).map_err(err)?;
        match m.kind.as_str() {
            "bind" => {
                if !m.source.starts_with('/') {
                    return Err(err(format!(
                        "invalid mount path: {:?} the bind source must be an absolute host path",
                        m.source
                    ))
                    .into());
                }
                let propagation = m
                    .bind_options
                    .as_ref()
                    .map(|b| b.propagation.as_str())
                    .filter(|p| !p.is_empty())
                    .unwrap_or("rprivate");
                let propagation = propagation.to_owned();
                if ![
                    "rprivate", "private", "rshared", "shared", "rslave", "slave",
                ]
                .contains(&propagation.as_str())
                {
                    return Err(err(format!(
                        "invalid propagation {propagation:?}: use rprivate, private, rshared, shared, rslave or slave"
                    ))
                    .into());
                }
                user.push(bind(BindMount {
                    source: PathBuf::from(&m.source),
                    destination: m.target.clone(),
                    read_only: m.read_only,
                    propagation,
                }));
            }
            "tmpfs" => {
                if !m.source.is_empty() {
                    return Err(err("Source must not be specified for tmpfs mounts".into()).into());
                }
                let mut data = Vec::new();
                if m.read_only {
                    data.push("ro".to_owned());
                }
                if let Some(t) = &m.tmpfs_options {
                    if t.size_bytes < 0 {
                        return Err(err(format!("invalid tmpfs size {}", t.size_bytes)).into());
                    }
                    if t.size_bytes > 0 {
                        data.push(format!("size={}", tmpfs_size(t.size_bytes)));
                    }
                    if t.mode != 0 {
                        data.push(format!("mode={:o}", t.mode));
                    }
                }
                user.push((m.target.clone(), tmpfs(&m.target, &data.join(","))));
            }
            "volume" => {
                return Err(err(
                    "volumes are not supported yet: use a bind mount of a host directory".into(),
                )
                .into())
            }
            other => {
                return Err(err(format!("unknown mount type {other:?}: use bind or tmpfs")).into())
            }
        }
    }
    for (dst, data) in &hc.tmpfs {
        check_destination(dst).map_err(|reason| OptionsError::Mount {
            kind: "tmpfs".into(),
            reason,
        })?;
        user.push((dst.clone(), tmpfs(dst, data)));
    }
    if init {
        // Checked by the caller of `mounts`.
        let src = ctx.init_binary.as_deref().unwrap_or(Path::new(""));
        user.push((
            INIT_PATH.into(),
            mount(INIT_PATH, "bind", &src.to_string_lossy(), &["bind", "ro"]),
        ));
    }

    let clean = |d: &str| d.trim_end_matches('/').to_owned();
    if let Some(dir) = &ctx.etc_dir {
        // Docker's generated files, unless the user mounts something there; read-only with
        // a read-only root file system.
        let mut o = vec!["rbind", "rprivate"];
        if hc.readonly_rootfs {
            o.push("ro");
        }
        for (file, dst) in ETC_FILES {
            if !user.iter().any(|(d, _)| clean(d) == *dst) {
                let src = dir.join(file);
                user.push((
                    dst.to_string(),
                    mount(dst, "bind", &src.to_string_lossy(), &o),
                ));
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for (dst, _) in &user {
        if !seen.insert(clean(dst)) {
            return Err(SpecError::DuplicateMount(dst.clone()));
        }
    }
    // moby's sortMounts: parents before children, by number of path components.
    user.sort_by_key(|(dst, _)| clean(dst).split('/').filter(|c| !c.is_empty()).count());
    defaults.retain(|m| !seen.contains(&clean(m["destination"].as_str().unwrap_or_default())));
    Ok(defaults
        .into_iter()
        .chain(user.into_iter().map(|(_, m)| m))
        .collect())
}

/// Puts `shm` in place of the default `/dev/shm` mount.
fn replace_shm(defaults: &mut [Value], shm: Value) {
    if let Some(m) = defaults.iter_mut().find(|m| m["destination"] == "/dev/shm") {
        *m = shm;
    }
}

/// A `--tmpfs` mount: Docker's `noexec,nosuid,nodev,rprivate` then the user's options, later
/// ones winning (`exec` cancels `noexec`, the last `size=` counts), as `MergeTmpfsOptions`.
fn tmpfs(dst: &str, data: &str) -> Value {
    let pairs = [
        ("exec", "noexec"),
        ("suid", "nosuid"),
        ("dev", "nodev"),
        ("rw", "ro"),
        ("atime", "noatime"),
        ("diratime", "nodiratime"),
    ];
    let opposite = |o: &str| {
        pairs.iter().find_map(|(a, b)| {
            if o == *a {
                Some(*b)
            } else if o == *b {
                Some(*a)
            } else {
                None
            }
        })
    };
    let mut out: Vec<String> = Vec::new();
    for o in ["noexec", "nosuid", "nodev", "rprivate"]
        .into_iter()
        .chain(data.split(',').map(str::trim).filter(|o| !o.is_empty()))
    {
        let key = o.split_once('=').map(|(k, _)| k);
        out.retain(|x| {
            if let Some(k) = key {
                x.split_once('=').map(|(xk, _)| xk) != Some(k)
            } else {
                x != o && Some(x.as_str()) != opposite(o)
            }
        });
        out.push(o.to_owned());
    }
    json!({"destination": dst, "type": "tmpfs", "source": "tmpfs", "options": out})
}
