//! The store on a temporary directory; mount and copy-up cases need root.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use super::*;

fn store() -> (tempfile::TempDir, VolumeStore) {
    let d = tempfile::tempdir().unwrap();
    let s = VolumeStore::open(d.path().join("volumes")).unwrap();
    (d, s)
}

fn named(n: &str) -> CreateRequest {
    CreateRequest {
        name: Some(n.into()),
        ..Default::default()
    }
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[test]
fn names() {
    assert!(valid_name("ab") && valid_name("a.b_c-d") && valid_name("0x"));
    assert!(!valid_name("a") && !valid_name("-ab") && !valid_name("a/b") && !valid_name(""));
    let n = random_name().unwrap();
    assert!(n.len() == 64 && valid_name(&n));
    let t = now_rfc3339();
    assert!(
        t.len() == 20 && t.ends_with('Z') && t.starts_with("20"),
        "{t}"
    );
}

#[test]
fn create_is_idempotent_and_conflicts_on_other_options() {
    let (_d, s) = store();
    let (v, made) = s.create(named("data")).unwrap();
    assert!(made && !v.anonymous && v.driver == "local");
    assert!(s.mountpoint("data").is_dir());
    let (again, made) = s.create(named("data")).unwrap();
    assert!(!made);
    assert_eq!(again, v);
    let mut other = named("data");
    other.options.insert("type".into(), "tmpfs".into());
    other.options.insert("device".into(), "tmpfs".into());
    assert_eq!(
        s.create(other).unwrap_err().kind(),
        berth_types::ErrorKind::Conflict
    );
    let e = s.create(named("bad name")).unwrap_err();
    assert!(e.to_string().contains("includes invalid characters"), "{e}");
    let mut plugin = named("x1");
    plugin.driver = "nfs".into();
    assert!(s.create(plugin).is_err());
    let (anon, _) = s.create(CreateRequest::default()).unwrap();
    assert!(anon.anonymous && anon.name.len() == 64);
    let names: Vec<_> = s.list().unwrap().into_iter().map(|v| v.name).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"data".to_string()));
}

#[test]
fn half_created_volumes_are_ignored_and_swept() {
    let (_d, s) = store();
    let half = s.root().join("half");
    std::fs::create_dir_all(half.join("_data")).unwrap();
    std::fs::write(half.join("_data/stale"), "x").unwrap();
    assert!(s.list().unwrap().is_empty());
    assert!(matches!(s.get("half"), Err(VolumeError::NotFound(_))));
    s.create(named("half")).unwrap();
    assert!(!half.join("_data/stale").exists());
    assert_eq!(s.list().unwrap().len(), 1);
}

#[test]
fn remove_and_not_found() {
    let (_d, s) = store();
    s.create(named("gone")).unwrap();
    std::fs::write(s.mountpoint("gone").join("f"), "data").unwrap();
    assert_eq!(s.size("gone"), 4);
    s.remove("gone").unwrap();
    assert!(!s.root().join("gone").exists());
    let e = s.remove("gone").unwrap_err();
    assert_eq!(e.to_string(), "get gone: no such volume");
    assert_eq!(e.kind(), berth_types::ErrorKind::NotFound);
}

#[test]
fn copy_up_keeps_modes_owners_and_symlinks_and_stays_in_the_root() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let (d, s) = store();
    let rootfs = d.path().join("rootfs");
    let src = rootfs.join("etc/app");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("conf"), "hello").unwrap();
    std::os::unix::fs::chown(src.join("conf"), Some(1000), Some(1001)).unwrap();
    std::fs::set_permissions(src.join("conf"), std::fs::Permissions::from_mode(0o4751)).unwrap();
    std::os::unix::fs::symlink("/etc/shadow", src.join("link")).unwrap();
    std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o750)).unwrap();
    // An escape attempt: the mount point is a symlink out of the rootfs.
    std::fs::create_dir_all(d.path().join("outside")).unwrap();
    std::fs::write(d.path().join("outside/secret"), "no").unwrap();
    std::os::unix::fs::symlink("../../outside", rootfs.join("evil")).unwrap();

    s.create(named("app")).unwrap();
    assert!(s.populate("app", &rootfs, "/etc/app").unwrap());
    let data = s.mountpoint("app");
    assert_eq!(std::fs::read_to_string(data.join("conf")).unwrap(), "hello");
    let md = std::fs::metadata(data.join("conf")).unwrap();
    assert_eq!(
        (md.mode() & 0o7777, md.uid(), md.gid()),
        (0o4751, 1000, 1001)
    );
    assert_eq!(
        std::fs::read_link(data.join("link")).unwrap(),
        Path::new("/etc/shadow")
    );
    assert!(data.join("sub").is_dir());
    assert_eq!(std::fs::metadata(&data).unwrap().mode() & 0o7777, 0o750);
    // Populated once: emptied, it is not filled again.
    std::fs::remove_file(data.join("conf")).unwrap();
    assert!(!s.populate("app", &rootfs, "/etc/app").unwrap());
    assert!(!data.join("conf").exists());

    s.create(named("evil")).unwrap();
    // `evil` resolves inside the rootfs (to a missing /outside): nothing is copied.
    assert!(!s.populate("evil", &rootfs, "/evil").unwrap());
    assert!(!s.mountpoint("evil").join("secret").exists());
    assert!(!s.get("evil").unwrap().populated);
}

#[test]
fn tmpfs_volume_is_mounted_once_and_unmounted_on_remove() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let (_d, s) = store();
    let mut req = named("fast");
    for (k, v) in [("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=1m")] {
        req.options.insert(k.into(), v.into());
    }
    s.create(req).unwrap();
    let data = s.ensure_mounted("fast").unwrap();
    assert!(mount::is_mounted(&data));
    s.ensure_mounted("fast").unwrap();
    let n = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.split(' ').nth(4) == Some(data.to_str().unwrap()))
        .count();
    assert_eq!(n, 1);
    std::fs::write(data.join("f"), "x").unwrap();
    s.remove("fast").unwrap();
    assert!(!mount::is_mounted(&data));
    assert!(!s.root().join("fast").exists());
}
