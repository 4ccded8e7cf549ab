//! `process`: entrypoint/cmd merge, the create body's JSON, env, working dir, user lookup.

use super::*;

#[test]
fn entrypoint_cmd_merge_table() {
    let ep = Some(&["/ep", "-x"][..]);
    let cmd = Some(&["run"][..]);
    type Row<'a> = (
        Option<&'a [&'a str]>,
        Option<&'a [&'a str]>,
        Option<&'a [&'a str]>,
        Option<&'a [&'a str]>,
        Result<&'a [&'a str], &'a str>,
    );
    let table: [Row; 9] = [
        // image EP, image CMD, opts EP, opts CMD → args
        (ep, cmd, None, None, Ok(&["/ep", "-x", "run"])),
        (ep, cmd, None, Some(&["other"]), Ok(&["/ep", "-x", "other"])),
        (ep, cmd, None, Some(&[]), Ok(&["/ep", "-x", "run"])),
        // Overriding the entrypoint drops the image's Cmd.
        (ep, cmd, Some(&["/new"]), None, Ok(&["/new"])),
        (ep, cmd, Some(&["/new"]), Some(&["a"]), Ok(&["/new", "a"])),
        // `--entrypoint ""` clears the entrypoint (and the image's Cmd).
        (ep, cmd, Some(&[""]), Some(&["sh"]), Ok(&["sh"])),
        (ep, cmd, Some(&[""]), None, Err("No command specified")),
        // `[]` clears the entrypoint but keeps the image's Cmd (Docker's len == 0 rule).
        (ep, cmd, Some(&[]), None, Ok(&["run"])),
        (None, None, None, None, Err("No command specified")),
    ];
    for (i, (iep, icmd, oep, ocmd, want)) in table.into_iter().enumerate() {
        let img = image(iep, icmd);
        let opts = CreateOptions {
            entrypoint: oep.map(s),
            cmd: ocmd.map(s),
            ..Default::default()
        };
        match want {
            Ok(want) => assert_eq!(args(&build_ok(&img, &opts)), s(want), "row {i}"),
            Err(msg) => assert_eq!(build_err(&img, &opts), msg, "row {i}"),
        }
    }
}

#[test]
fn entrypoint_null_vs_empty_in_json() {
    let o: CreateOptions = serde_json::from_str(r#"{"Entrypoint": null, "Cmd": "sh"}"#).unwrap();
    assert_eq!(o.entrypoint, None);
    assert_eq!(o.cmd, Some(s(&["sh"])));
    let o: CreateOptions = serde_json::from_str(r#"{"Entrypoint": []}"#).unwrap();
    assert_eq!(o.entrypoint, Some(vec![]));
    let o: CreateOptions = serde_json::from_str(r#"{"Entrypoint": [""]}"#).unwrap();
    assert_eq!(o.entrypoint, Some(s(&[""])));
}

#[test]
fn deserializes_a_docker_cli_body() {
    let body = r#"{
        "Hostname": "", "Domainname": "", "User": "", "AttachStdin": false,
        "Tty": true, "OpenStdin": true, "StdinOnce": true, "Env": null,
        "Cmd": ["sh"], "Image": "alpine", "Volumes": {}, "WorkingDir": "",
        "Entrypoint": null, "Labels": {}, "StopTimeout": 5,
        "HostConfig": {
            "Binds": ["/srv:/data:ro"], "NetworkMode": "host", "Memory": 104857600,
            "NanoCpus": 1500000000, "CapAdd": null, "CapDrop": ["NET_RAW"],
            "Tmpfs": {"/run": "size=64m"}, "PidsLimit": null, "Init": true,
            "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}],
            "Mounts": [{"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1048576, "Mode": 448}}],
            "SecurityOpt": ["no-new-privileges"], "Sysctls": {"net.ipv4.ip_forward": "1"},
            "RestartPolicy": {"Name": "no"}
        },
        "NetworkingConfig": {"EndpointsConfig": {}}
    }"#;
    let o: CreateOptions = serde_json::from_str(body).unwrap();
    assert!(o.tty && o.open_stdin && o.stdin_once);
    assert_eq!(o.image, "alpine");
    assert!(o.env.is_empty());
    assert_eq!(o.stop_timeout, Some(5));
    let h = &o.host_config;
    assert_eq!(h.binds, s(&["/srv:/data:ro"]));
    assert_eq!(h.network_mode, "host");
    assert_eq!(h.nano_cpus, 1_500_000_000);
    assert_eq!(h.cap_drop, s(&["NET_RAW"]));
    assert_eq!(h.init, Some(true));
    assert_eq!(h.ulimits[0].hard, 2048);
    assert_eq!(h.mounts[0].tmpfs_options.as_ref().unwrap().mode, 0o700);
    assert_eq!(h.tmpfs["/run"], "size=64m");
}

#[test]
fn env_merge_and_defaults() {
    let img = image(None, Some(&["sh"]));
    let spec = build_ok(&img, &CreateOptions::default());
    assert_eq!(
        env(&spec),
        s(&[
            "PATH=/image/bin",
            "HOSTNAME=0123456789ab",
            "LANG=C",
            "KEEP=1"
        ])
    );
    assert_eq!(spec.hostname().as_deref(), Some("0123456789ab"));

    let opts = CreateOptions {
        env: s(&["LANG=en_US.UTF-8", "NEW=x", "KEEP"]),
        tty: true,
        hostname: "web".into(),
        ..Default::default()
    };
    let spec = build_ok(&img, &opts);
    // Docker: PATH, HOSTNAME, TERM; then the options' env, then the image's not overridden;
    // a bare KEY removes the variable.
    assert_eq!(
        env(&spec),
        s(&[
            "PATH=/image/bin",
            "HOSTNAME=web",
            "TERM=xterm",
            "LANG=en_US.UTF-8",
            "NEW=x"
        ])
    );
    assert_eq!(spec.process().as_ref().unwrap().terminal(), Some(true));

    // No PATH anywhere: Docker's default.
    let mut bare = image(None, Some(&["sh"]));
    bare.config.as_mut().unwrap().env = None;
    assert_eq!(
        env(&build_ok(&bare, &CreateOptions::default()))[0],
        format!("PATH={}", spec::DEFAULT_PATH)
    );
}

#[test]
fn working_dir() {
    let mut img = image(None, Some(&["sh"]));
    let cwd = |spec: &Spec| spec.process().as_ref().unwrap().cwd().clone();
    assert_eq!(
        cwd(&build_ok(&img, &CreateOptions::default())),
        Path::new("/")
    );
    img.config.as_mut().unwrap().working_dir = Some("/app".into());
    assert_eq!(
        cwd(&build_ok(&img, &CreateOptions::default())),
        Path::new("/app")
    );
    let opts = CreateOptions {
        working_dir: "/srv".into(),
        ..Default::default()
    };
    assert_eq!(cwd(&build_ok(&img, &opts)), Path::new("/srv"));
    let opts = CreateOptions {
        working_dir: "rel".into(),
        ..Default::default()
    };
    assert_eq!(
        build_err(&img, &opts),
        "the working directory 'rel' is invalid, it needs to be an absolute path"
    );
}

#[test]
fn user_resolution() {
    let (_dir, ctx) = ctx_with_rootfs();
    let r = |spec: &str, add: &[&str]| resolve_user(&ctx.rootfs, spec, &s(add));
    let u = |uid, gid, add: &[u32]| ResolvedUser {
        uid,
        gid,
        additional_gids: add.to_vec(),
    };
    // Default: root, plus the groups listing root.
    assert_eq!(r("", &[]).unwrap(), u(0, 0, &[0, 10]));
    assert_eq!(r("nginx", &[]).unwrap(), u(101, 102, &[10, 27]));
    assert_eq!(r("101", &[]).unwrap(), u(101, 102, &[10, 27]));
    // A group given: that gid, no membership groups.
    assert_eq!(r("nginx:wheel", &[]).unwrap(), u(101, 10, &[]));
    assert_eq!(r("nginx:500", &[]).unwrap(), u(101, 500, &[]));
    // Unknown numeric ids are fine.
    assert_eq!(r("1234:5678", &[]).unwrap(), u(1234, 5678, &[]));
    assert_eq!(r("1234", &[]).unwrap(), u(1234, 0, &[]));
    // GroupAdd.
    assert_eq!(r("1234", &["video", "99"]).unwrap(), u(1234, 0, &[27, 99]));
    assert_eq!(
        r("bob", &[]).unwrap_err().to_string(),
        "unable to find user bob: no matching entries in passwd file"
    );
    assert_eq!(
        r("nginx:staff", &[]).unwrap_err().to_string(),
        "unable to find group staff: no matching entries in group file"
    );
    assert_eq!(
        r("0", &["nope"]).unwrap_err().to_string(),
        "unable to find group nope: no matching entries in group file"
    );

    // Through build: opts.User over the image's User.
    let mut img = image(None, Some(&["sh"]));
    img.config.as_mut().unwrap().user = Some("nginx".into());
    let spec = build(&img, &CreateOptions::default(), &ctx).unwrap();
    let user = spec.process().as_ref().unwrap().user().clone();
    assert_eq!((user.uid(), user.gid()), (101, 102));
    let opts = CreateOptions {
        user: "0:0".into(),
        ..Default::default()
    };
    let spec = build(&img, &opts, &ctx).unwrap();
    let user = spec.process().as_ref().unwrap().user().clone();
    assert_eq!((user.uid(), user.gid()), (0, 0));
}

#[test]
fn user_lookup_never_leaves_the_rootfs() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("shadow-outside");
    std::fs::write(&outside, "evil:x:666:666::/:/bin/sh\n").unwrap();
    let root = dir.path().join("rootfs");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    // Both an absolute and a `..`-escaping symlink: inside the root they resolve to
    // rootfs/<dir>/shadow-outside and rootfs/shadow-outside, which do not exist.
    std::os::unix::fs::symlink(&outside, root.join("etc/passwd")).unwrap();
    std::os::unix::fs::symlink("../../shadow-outside", root.join("etc/group")).unwrap();
    assert_eq!(
        resolve_user(&root, "evil", &[]).unwrap_err().to_string(),
        "unable to find user evil: no matching entries in passwd file"
    );
    assert_eq!(
        resolve_user(&root, "0:evil", &[]).unwrap_err().to_string(),
        "unable to find group evil: no matching entries in group file"
    );
    // A symlink that stays inside is followed.
    std::fs::remove_file(root.join("etc/passwd")).unwrap();
    std::fs::write(root.join("etc/passwd.real"), "app:x:7:8::/:/bin/sh\n").unwrap();
    std::os::unix::fs::symlink("/etc/passwd.real", root.join("etc/passwd")).unwrap();
    assert_eq!(resolve_user(&root, "app", &[]).unwrap().uid, 7);
    // A FIFO is refused, not read (it would block).
    std::fs::remove_file(root.join("etc/passwd")).unwrap();
    nix::unistd::mkfifo(&root.join("etc/passwd"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    let err = resolve_user(&root, "app", &[]).unwrap_err().to_string();
    assert!(err.contains("not a regular file"), "{err}");
}
