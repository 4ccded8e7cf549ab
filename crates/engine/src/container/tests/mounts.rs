//! Mounts: binds parsing, `--mount`/`--tmpfs`, `/dev/shm`, read-only rootfs, the init binary.

use super::*;

#[test]
fn binds_parsing() {
    let b = parse_bind("/host:/ctr").unwrap();
    assert_eq!(
        b,
        BindMount {
            source: "/host".into(),
            destination: "/ctr".into(),
            read_only: false,
            propagation: "rprivate".into()
        }
    );
    let b = parse_bind("/host:/ctr:ro,Z,rshared").unwrap();
    assert!(b.read_only);
    assert_eq!(b.propagation, "rshared");
    assert!(!parse_bind("/h:/c:rw").unwrap().read_only);

    let err = |spec: &str| parse_bind(spec).unwrap_err().to_string();
    assert_eq!(
        err("a:b:c:d"),
        "invalid bind mount spec \"a:b:c:d\": expected src:dst[:options]"
    );
    assert_eq!(
        err("/only"),
        "invalid bind mount spec \"/only\": expected src:dst[:options]"
    );
    assert!(err("vol:/data").contains("named volumes are not supported yet"));
    assert!(err("/h:rel").contains("mount path must be absolute"));
    assert!(err("/h:/").contains("destination can't be '/'"));
    assert!(err("/h:/c:rx").contains("invalid mode \"rx\""));
    assert!(err("/h:/c:ro,rw").contains("conflicting or repeated"));
}

#[test]
fn mounts_in_spec() {
    let img = image(None, Some(&["sh"]));
    let spec = build_ok(
        &img,
        &hc(|h| {
            h.binds = s(&["/srv/a/b:/data/sub:ro", "/srv/a:/data"]);
            h.tmpfs = [("/run".to_string(), "size=64m,exec".to_string())].into();
            h.mounts = vec![
                MountSpec {
                    kind: "tmpfs".into(),
                    target: "/dev/shm".into(),
                    tmpfs_options: Some(TmpfsOptions {
                        size_bytes: 128 << 20,
                        mode: 0o1777,
                    }),
                    ..Default::default()
                },
                MountSpec {
                    kind: "bind".into(),
                    source: "/etc/hosts".into(),
                    target: "/etc/hosts".into(),
                    read_only: true,
                    ..Default::default()
                },
            ];
        }),
    );
    let m = mount_of(&spec, "/data/sub").unwrap();
    assert_eq!(m.typ().as_deref(), Some("bind"));
    assert_eq!(m.source().as_deref(), Some(Path::new("/srv/a/b")));
    assert_eq!(
        options_of(&spec, "/data/sub"),
        s(&["rbind", "ro", "rprivate"])
    );
    assert_eq!(options_of(&spec, "/data"), s(&["rbind", "rprivate"]));
    assert_eq!(
        options_of(&spec, "/etc/hosts"),
        s(&["rbind", "ro", "rprivate"])
    );
    // Parents before children.
    let dsts: Vec<_> = spec
        .mounts()
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| m.destination().clone())
        .collect();
    let pos = |d: &str| dsts.iter().position(|x| x == Path::new(d)).unwrap();
    assert!(pos("/data") < pos("/data/sub"));
    // tmpfs: Docker's defaults merged with the user's, later wins.
    assert_eq!(
        options_of(&spec, "/run"),
        s(&["nosuid", "nodev", "rprivate", "size=64m", "exec"])
    );
    // The user's /dev/shm replaces the default one.
    assert_eq!(
        dsts.iter().filter(|d| *d == Path::new("/dev/shm")).count(),
        1
    );
    assert_eq!(
        options_of(&spec, "/dev/shm"),
        s(&[
            "noexec",
            "nosuid",
            "nodev",
            "rprivate",
            "size=128m",
            "mode=1777"
        ])
    );

    let e = build_err(&img, &hc(|h| h.binds = s(&["/a:/x", "/b:/x/"])));
    assert_eq!(e, "Duplicate mount point: /x/");
    let e = build_err(
        &img,
        &hc(|h| {
            h.mounts = vec![MountSpec {
                kind: "volume".into(),
                source: "v".into(),
                target: "/v".into(),
                ..Default::default()
            }]
        }),
    );
    assert!(e.starts_with("invalid mount config for type \"volume\": volumes are not supported"));
}

#[test]
fn shm_size_and_readonly_rootfs() {
    let img = image(None, Some(&["sh"]));
    let spec = build_ok(
        &img,
        &hc(|h| {
            h.shm_size = 1 << 30;
            h.readonly_rootfs = true;
        }),
    );
    assert_eq!(spec.root().as_ref().unwrap().readonly(), Some(true));
    assert!(options_of(&spec, "/dev/shm").contains(&"size=1073741824".to_string()));
    assert!(!options_of(&spec, "/dev/shm").contains(&"ro".to_string()));
    assert!(!options_of(&spec, "/dev").contains(&"ro".to_string()));
    assert!(options_of(&spec, "/sys/fs/cgroup").contains(&"ro".to_string()));
    let spec = build_ok(&img, &CreateOptions::default());
    assert_eq!(spec.root().as_ref().unwrap().readonly(), Some(false));
}

#[test]
fn init_binary() {
    let img = image(Some(&["/ep"]), Some(&["a"]));
    let opts = hc(|h| h.init = Some(true));
    assert!(build_err(&img, &opts).contains("no init binary is configured"));
    let (_dir, mut ctx) = ctx_with_rootfs();
    ctx.init_binary = Some("/usr/libexec/berth/docker-init".into());
    let spec = build(&img, &opts, &ctx).unwrap();
    assert_eq!(args(&spec), s(&["/sbin/docker-init", "--", "/ep", "a"]));
    assert_eq!(options_of(&spec, "/sbin/docker-init"), s(&["bind", "ro"]));
    let m = mount_of(&spec, "/sbin/docker-init").unwrap();
    assert_eq!(
        m.source().as_deref(),
        Some(Path::new("/usr/libexec/berth/docker-init"))
    );
}

#[test]
fn privileged_and_readonly_rootfs() {
    let spec = build_ok(
        &image(None, Some(&["sh"])),
        &hc(|h| {
            h.privileged = true;
            h.readonly_rootfs = true;
        }),
    );
    assert_eq!(spec.root().as_ref().unwrap().readonly(), Some(true));
    assert!(!options_of(&spec, "/sys").contains(&"ro".to_string()));
    assert!(!options_of(&spec, "/sys/fs/cgroup").contains(&"ro".to_string()));
    assert!(!options_of(&spec, "/dev").contains(&"ro".to_string()));
}
