//! `PidMode` and `IpcMode`: parsing, namespaces and `/dev/shm`.

use std::path::PathBuf;

use super::*;

/// The spec's namespaces as `(type, path)`.
fn namespaces(spec: &Spec) -> Vec<(LinuxNamespaceType, Option<PathBuf>)> {
    let linux = spec.linux().as_ref().unwrap();
    let list = linux.namespaces().as_ref().unwrap();
    list.iter().map(|n| (n.typ(), n.path().clone())).collect()
}

fn ns_of(spec: &Spec, t: LinuxNamespaceType) -> Option<Option<PathBuf>> {
    namespaces(spec)
        .into_iter()
        .find(|(k, _)| *k == t)
        .map(|(_, p)| p)
}

fn build_with(opts: &CreateOptions, f: impl FnOnce(&mut SpecContext)) -> Result<Spec, SpecError> {
    let (_dir, mut ctx) = ctx_with_rootfs();
    f(&mut ctx);
    build(&image(None, Some(&["sh"])), opts, &ctx)
}

#[test]
fn parse_modes() {
    assert_eq!(pid_kind("").unwrap(), PidKind::Private);
    assert_eq!(pid_kind("host").unwrap(), PidKind::Host);
    assert_eq!(
        pid_kind("container:a").unwrap(),
        PidKind::Container("a".into())
    );
    for bad in ["private", "container:", "hots"] {
        assert!(pid_kind(bad).is_err(), "{bad}");
    }
    assert_eq!(
        pid_kind("hots").unwrap_err().to_string(),
        "invalid PID mode \"hots\": use host or container:<name|id> (or leave it empty for a \
         private pid namespace)"
    );
    for (mode, kind) in [
        ("", IpcKind::Private),
        ("private", IpcKind::Private),
        ("none", IpcKind::None),
        ("shareable", IpcKind::Shareable),
        ("host", IpcKind::Host),
        ("container:b", IpcKind::Container("b".into())),
    ] {
        assert_eq!(ipc_kind(mode).unwrap(), kind, "{mode}");
    }
    assert_eq!(
        ipc_kind("shared").unwrap_err().to_string(),
        "invalid IPC mode \"shared\": use private, none, shareable, host or container:<name|id>"
    );
    assert!(ipc_kind("container:").is_err());
}

#[test]
fn pid_namespaces() {
    let spec = build_ok(&image(None, Some(&["sh"])), &hc(|_| {}));
    assert_eq!(ns_of(&spec, LinuxNamespaceType::Pid), Some(None));
    let spec = build_ok(
        &image(None, Some(&["sh"])),
        &hc(|h| h.pid_mode = "host".into()),
    );
    assert_eq!(ns_of(&spec, LinuxNamespaceType::Pid), None);
    let joined = hc(|h| h.pid_mode = "container:a".into());
    let spec = build_with(&joined, |c| c.pidns_path = Some("/proc/7/ns/pid".into())).unwrap();
    assert_eq!(
        ns_of(&spec, LinuxNamespaceType::Pid),
        Some(Some("/proc/7/ns/pid".into()))
    );
    // Never a fresh namespace in place of the one asked for.
    let err = build_with(&joined, |_| {}).unwrap_err().to_string();
    assert!(
        err.contains("no pid namespace given for container:a"),
        "{err}"
    );
    let err = build_err(
        &image(None, Some(&["sh"])),
        &hc(|h| h.pid_mode = "x".into()),
    );
    assert!(err.starts_with("invalid PID mode \"x\""), "{err}");
}

#[test]
fn ipc_namespaces_and_shm() {
    let img = image(None, Some(&["sh"]));
    let spec = build_ok(&img, &hc(|h| h.ipc_mode = "private".into()));
    assert_eq!(ns_of(&spec, LinuxNamespaceType::Ipc), Some(None));
    assert_eq!(
        mount_of(&spec, "/dev/shm").unwrap().typ().as_deref(),
        Some("tmpfs")
    );

    let spec = build_ok(&img, &hc(|h| h.ipc_mode = "none".into()));
    assert_eq!(ns_of(&spec, LinuxNamespaceType::Ipc), Some(None));
    assert!(mount_of(&spec, "/dev/shm").is_none());

    let spec = build_ok(&img, &hc(|h| h.ipc_mode = "host".into()));
    assert_eq!(ns_of(&spec, LinuxNamespaceType::Ipc), None);
    let shm = mount_of(&spec, "/dev/shm").unwrap();
    assert_eq!(shm.typ().as_deref(), Some("bind"));
    assert_eq!(shm.source().as_deref(), Some(Path::new("/dev/shm")));
    assert_eq!(options_of(&spec, "/dev/shm"), s(&["rbind", "rprivate"]));

    let shareable = hc(|h| h.ipc_mode = "shareable".into());
    let spec = build_with(&shareable, |c| c.shm_path = Some("/data/c/shm".into())).unwrap();
    assert_eq!(ns_of(&spec, LinuxNamespaceType::Ipc), Some(None));
    let shm = mount_of(&spec, "/dev/shm").unwrap();
    assert_eq!(shm.source().as_deref(), Some(Path::new("/data/c/shm")));

    let joined = hc(|h| h.ipc_mode = "container:a".into());
    let spec = build_with(&joined, |c| {
        c.ipcns_path = Some("/proc/7/ns/ipc".into());
        c.shm_path = Some("/data/a/shm".into());
    })
    .unwrap();
    assert_eq!(
        ns_of(&spec, LinuxNamespaceType::Ipc),
        Some(Some("/proc/7/ns/ipc".into()))
    );
    let shm = mount_of(&spec, "/dev/shm").unwrap();
    assert_eq!(shm.source().as_deref(), Some(Path::new("/data/a/shm")));
    assert!(build_with(&joined, |c| c.shm_path = Some("/x".into())).is_err());

    // The user's own /dev/shm still wins.
    let spec = build_ok(
        &img,
        &hc(|h| {
            h.ipc_mode = "host".into();
            h.tmpfs.insert("/dev/shm".into(), "size=1m".into());
        }),
    );
    assert_eq!(
        mount_of(&spec, "/dev/shm").unwrap().typ().as_deref(),
        Some("tmpfs")
    );
}

#[test]
fn ipc_sysctls_need_an_own_ipc_namespace() {
    let img = image(None, Some(&["sh"]));
    let with = |mode: &str| {
        hc(|h| {
            h.ipc_mode = mode.into();
            h.sysctls.insert("kernel.shmmax".into(), "1000".into());
        })
    };
    assert!(build_ok(&img, &with("none")).linux().is_some());
    let err = build_err(&img, &with("host"));
    assert!(
        err.contains("kernel.shmmax") && err.contains("shares another IPC namespace"),
        "{err}"
    );
}
