//! `docker system prune` (`-f`, `-af --volumes`) through berthd: every prune the CLI calls
//! answers, and what is unused goes while what is used stays.

use berth_testutil::require_root;

use crate::archive::{loaded, mounts, IMAGE};

#[test]
fn system_prune_removes_what_it_says() {
    require_root!();
    let d = loaded();
    d.docker_ok(&["create", "--name", "stopped", IMAGE]);
    // Its anonymous volume outlives it (`rm` without `-v`).
    d.docker_ok(&["create", "--name", "anon", "-v", "/data", IMAGE]);
    d.docker_ok(&["rm", "anon"]);
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "up",
        IMAGE,
        "/bin/busybox",
        "sleep",
        "1000",
    ]);
    d.docker_ok(&["commit", "stopped"]); // a dangling image
    d.docker_ok(&["volume", "create", "named"]);
    let out = d.docker_ok(&["system", "prune", "-f"]);
    assert!(out.contains("Total reclaimed space"), "{out}");
    let ps = d.docker_ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert_eq!(ps.trim(), "up");
    let images = d.docker_ok(&["images", "-q"]);
    assert_eq!(
        images.lines().count(),
        1,
        "only the image in use stays: {images}"
    );
    assert_eq!(
        d.docker_ok(&["volume", "ls", "-q"]).lines().count(),
        2,
        "no --volumes"
    );
    d.docker_ok(&["rm", "-f", "up"]);
    let out = d.docker_ok(&["system", "prune", "-af", "--volumes"]);
    assert!(out.contains("Deleted Images"), "{out}");
    assert_eq!(d.docker_ok(&["ps", "-aq"]).trim(), "");
    assert_eq!(d.docker_ok(&["images", "-q"]).trim(), "");
    // As Docker's CLI (API >= 1.42): `system prune --volumes` removes anonymous volumes only.
    assert_eq!(d.docker_ok(&["volume", "ls", "-q"]).trim(), "named");
    assert!(mounts(&d).is_empty(), "{:?}", mounts(&d));
    let (code, body) = d.request("POST", "/build/prune");
    assert_eq!(
        (code, body.trim()),
        (200, r#"{"CachesDeleted":[],"SpaceReclaimed":0}"#)
    );
    let (code, body) = d.request("POST", "/networks/prune");
    assert_eq!((code, body.trim()), (200, r#"{"NetworksDeleted":[]}"#));
}
