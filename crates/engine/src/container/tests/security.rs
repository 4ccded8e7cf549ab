//! Capabilities, namespaces and masked paths, privileged, ulimits, security opts, seccomp,
//! sysctls.

use super::*;

#[test]
fn default_capabilities_namespaces_and_paths() {
    let spec = build_ok(&image(None, Some(&["sh"])), &CreateOptions::default());
    let caps = bounding(&spec);
    assert_eq!(caps.len(), 14);
    for c in [
        Capability::Chown,
        Capability::NetRaw,
        Capability::AuditWrite,
        Capability::Kill,
    ] {
        assert!(caps.contains(&c), "{c}");
    }
    assert!(!caps.contains(&Capability::SysAdmin));
    let p = spec.process().as_ref().unwrap();
    let pc = p.capabilities().as_ref().unwrap();
    assert_eq!(pc.effective().as_ref(), Some(&caps));
    assert_eq!(pc.permitted().as_ref(), Some(&caps));
    assert!(pc.inheritable().is_none() && pc.ambient().is_none());

    let linux = spec.linux().as_ref().unwrap();
    let ns: Vec<LinuxNamespaceType> = linux
        .namespaces()
        .as_ref()
        .unwrap()
        .iter()
        .map(|n| n.typ())
        .collect();
    for t in [
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Network,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Cgroup,
    ] {
        assert!(ns.contains(&t), "{t:?}");
    }
    assert_eq!(linux.masked_paths().as_ref().unwrap().len(), 11);
    assert!(linux
        .readonly_paths()
        .as_ref()
        .unwrap()
        .contains(&"/proc/sysrq-trigger".to_string()));
    let devices = linux
        .resources()
        .as_ref()
        .unwrap()
        .devices()
        .clone()
        .unwrap();
    assert!(!devices[0].allow() && devices[0].major().is_none());
    assert!(devices
        .iter()
        .any(|d| d.allow() && d.major() == Some(1) && d.minor() == Some(3)));
    assert_eq!(
        linux.cgroups_path().as_deref(),
        Some(Path::new("/berth/0123456789ab"))
    );
    assert!(linux.seccomp().is_none(), "no profile given: unconfined");
    assert_eq!(p.no_new_privileges(), None);

    assert_eq!(
        options_of(&spec, "/sys"),
        s(&["nosuid", "noexec", "nodev", "ro"])
    );
    assert_eq!(
        options_of(&spec, "/dev/shm"),
        s(&["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"])
    );
    assert_eq!(
        options_of(&spec, "/dev/pts"),
        s(&[
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5"
        ])
    );
    assert!(options_of(&spec, "/dev").contains(&"size=65536k".to_string()));
    assert!(mount_of(&spec, "/dev/mqueue").is_some());
    assert!(mount_of(&spec, "/sys/fs/cgroup").is_some());
}

#[test]
fn cap_add_drop_all() {
    let img = image(None, Some(&["sh"]));
    let caps = |add: &[&str], drop: &[&str]| {
        bounding(&build_ok(
            &img,
            &hc(|h| {
                h.cap_add = s(add);
                h.cap_drop = s(drop);
            }),
        ))
    };
    let c = caps(&["NET_ADMIN", "cap_sys_ptrace"], &["CAP_NET_RAW", "mknod"]);
    assert_eq!(c.len(), 14);
    assert!(c.contains(&Capability::NetAdmin) && c.contains(&Capability::SysPtrace));
    assert!(!c.contains(&Capability::NetRaw) && !c.contains(&Capability::Mknod));

    let c = caps(&["ALL"], &["SYS_ADMIN"]);
    assert_eq!(c.len(), ALL_CAPABILITIES.len() - 1);
    assert!(!c.contains(&Capability::SysAdmin));

    let c = caps(&["CHOWN"], &["all"]);
    assert_eq!(c, HashSet::from([Capability::Chown]));

    assert_eq!(
        build_err(&img, &hc(|h| h.cap_add = s(&["FLY"]))),
        "unknown capability: \"FLY\": use a name from capabilities(7), with or without CAP_, or ALL"
    );
}

#[test]
fn privileged() {
    let opts = hc(|h| {
        h.privileged = true;
        h.cap_drop = s(&["ALL"]);
    });
    let (_dir, mut ctx) = ctx_with_rootfs();
    ctx.seccomp_profile = Some(br#"{"defaultAction":"SCMP_ACT_ERRNO"}"#.to_vec());
    let spec = build(&image(None, Some(&["sh"])), &opts, &ctx).unwrap();
    assert_eq!(bounding(&spec).len(), ALL_CAPABILITIES.len());
    let linux = spec.linux().as_ref().unwrap();
    assert!(linux.masked_paths().is_none() && linux.readonly_paths().is_none());
    assert!(linux.seccomp().is_none());
    let devices = linux
        .resources()
        .as_ref()
        .unwrap()
        .devices()
        .clone()
        .unwrap();
    assert_eq!(devices.len(), 1);
    assert!(devices[0].allow());
    assert!(!options_of(&spec, "/sys").contains(&"ro".to_string()));
    assert!(!options_of(&spec, "/sys/fs/cgroup").contains(&"ro".to_string()));
}

#[test]
fn ulimits() {
    let img = image(None, Some(&["sh"]));
    let spec = build_ok(
        &img,
        &hc(|h| {
            h.ulimits = vec![
                Ulimit {
                    name: "nofile".into(),
                    soft: 1024,
                    hard: 4096,
                },
                Ulimit {
                    name: "core".into(),
                    soft: -1,
                    hard: -1,
                },
            ]
        }),
    );
    let rl = spec.process().as_ref().unwrap().rlimits().clone().unwrap();
    assert_eq!(rl[0].typ(), PosixRlimitType::RlimitNofile);
    assert_eq!((rl[0].soft(), rl[0].hard()), (1024, 4096));
    assert_eq!(rl[1].typ(), PosixRlimitType::RlimitCore);
    assert_eq!(rl[1].hard(), u64::MAX);

    let bad = |name: &str, soft, hard| {
        build_err(
            &img,
            &hc(|h| {
                h.ulimits = vec![Ulimit {
                    name: name.into(),
                    soft,
                    hard,
                }]
            }),
        )
    };
    assert!(bad("nofiles", 1, 1).starts_with("invalid ulimit \"nofiles\": unknown name"));
    assert_eq!(
        bad("nofile", 10, 5),
        "invalid ulimit \"nofile\": ulimit soft limit must be less than or equal to hard limit: 10 > 5"
    );
}

#[test]
fn security_opts() {
    let p = parse_security_opts(&s(&["no-new-privileges"])).unwrap();
    assert!(p.no_new_privileges);
    let p = parse_security_opts(&s(&["no-new-privileges:false"])).unwrap();
    assert!(!p.no_new_privileges);
    let p = parse_security_opts(&s(&["no-new-privileges=true", "seccomp=unconfined"])).unwrap();
    assert!(p.no_new_privileges);
    assert_eq!(p.seccomp, SeccompChoice::Unconfined);
    let p = parse_security_opts(&s(&[r#"seccomp={"defaultAction":"SCMP_ACT_ALLOW"}"#])).unwrap();
    assert_eq!(
        p.seccomp,
        SeccompChoice::Profile(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#.into())
    );
    assert!(parse_security_opts(&s(&["bogus"])).is_err());
    assert!(parse_security_opts(&s(&["no-new-privileges=maybe"])).is_err());

    let spec = build_ok(
        &image(None, Some(&["sh"])),
        &hc(|h| h.security_opt = s(&["no-new-privileges"])),
    );
    assert_eq!(
        spec.process().as_ref().unwrap().no_new_privileges(),
        Some(true)
    );
}

#[test]
fn seccomp_from_the_default_profile() {
    let path = Path::new("/usr/share/containers/seccomp.json");
    let Ok(profile) = std::fs::read(path) else {
        eprintln!("skipping: {} is absent", path.display());
        return;
    };
    let (_dir, mut ctx) = ctx_with_rootfs();
    ctx.seccomp_profile = Some(profile);
    let img = image(None, Some(&["sh"]));
    let spec = build(&img, &CreateOptions::default(), &ctx).unwrap();
    let seccomp = spec.linux().as_ref().unwrap().seccomp().clone().unwrap();
    assert_eq!(seccomp.default_action(), LinuxSeccompAction::ScmpActErrno);
    let syscalls = seccomp.syscalls().clone().unwrap();
    assert!(!syscalls.is_empty());
    assert!(syscalls
        .iter()
        .any(|r| r.names().contains(&"read".to_string())));

    // Unconfined by option, and an inline profile from the client.
    let opts = hc(|h| h.security_opt = s(&["seccomp=unconfined"]));
    assert!(build(&img, &opts, &ctx)
        .unwrap()
        .linux()
        .as_ref()
        .unwrap()
        .seccomp()
        .is_none());
    let opts =
        hc(|h| h.security_opt = s(&[r#"seccomp={"defaultAction":"SCMP_ACT_LOG","syscalls":[]}"#]));
    let spec = build(&img, &opts, &ctx).unwrap();
    let seccomp = spec.linux().as_ref().unwrap().seccomp().clone().unwrap();
    assert_eq!(seccomp.default_action(), LinuxSeccompAction::ScmpActLog);
}

#[test]
fn sysctls() {
    let img = image(None, Some(&["sh"]));
    let spec = build_ok(
        &img,
        &hc(|h| {
            h.sysctls = [
                ("net.ipv4.ip_forward".to_string(), "1".to_string()),
                ("kernel.shmmax".to_string(), "1000".to_string()),
            ]
            .into()
        }),
    );
    let sysctl = spec.linux().as_ref().unwrap().sysctl().clone().unwrap();
    assert_eq!(sysctl["net.ipv4.ip_forward"], "1");
    let e = build_err(
        &img,
        &hc(|h| h.sysctls = [("kernel.panic".into(), "1".into())].into()),
    );
    assert!(
        e.starts_with("sysctl \"kernel.panic\" is not allowed: only namespaced"),
        "{e}"
    );
    let e = build_err(
        &img,
        &hc(|h| {
            h.network_mode = "host".into();
            h.sysctls = [("net.ipv4.ip_forward".into(), "1".into())].into();
        }),
    );
    assert!(e.contains("host's network namespace"), "{e}");
}
