//! Packing: trees are built on disk, packed, read back with `tar::Archive` and/or unpacked with
//! [`unpack_layer`], and compared entry by entry.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use nix::sys::stat::{Mode, SFlag};
use nix::sys::time::TimeVal;
use tar::EntryType;

use crate::{pack_layer, sys, unpack_layer, FsError, PackOptions, UnpackOptions};

const LONG_DIR: &str = "long/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const LONG_FILE: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn set_xattr(path: &Path, name: &str, value: &[u8]) {
    let p = CString::new(path.as_os_str().as_bytes()).expect("path");
    let n = CString::new(name).expect("name");
    // SAFETY: both strings are NUL-terminated and live across the call; `value` is valid for
    // `value.len()` bytes; the kernel only reads them.
    let r = unsafe {
        libc::lsetxattr(
            p.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    assert_eq!(r, 0, "lsetxattr {name} on {}", path.display());
}

fn set_times(path: &Path, atime: i64, mtime: i64) {
    nix::sys::stat::lutimes(path, &TimeVal::new(atime, 0), &TimeVal::new(mtime, 0))
        .expect("lutimes");
}

fn own(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).expect("lchown");
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

fn parent(root: &Path, rel: &str) -> std::path::PathBuf {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir -p");
    p
}

/// Builds the test tree under `root`, its parts created in order or in reverse. With `times`
/// = Some((atime, mtime)) every entry gets those times; otherwise they are left as created.
fn build(root: &Path, reverse: bool, times: Option<(i64, i64)>) {
    type Op = fn(&Path);
    let mut ops: Vec<Op> = vec![
        |r| {
            let f = parent(r, "d/f");
            fs::write(&f, b"hello").expect("f");
            own(&f, 1000, 1001);
            chmod(&f, 0o4755);
            fs::hard_link(&f, r.join("d/h")).expect("link");
        },
        |r| std::os::unix::fs::symlink("./f", parent(r, "d/l")).expect("symlink"),
        |r| {
            let target = "c".repeat(150);
            std::os::unix::fs::symlink(target, parent(r, "d/longlink")).expect("symlink")
        },
        |r| {
            let p = parent(r, "d/p");
            nix::unistd::mkfifo(&p, Mode::from_bits_truncate(0o620)).expect("mkfifo");
        },
        |r| {
            let x = parent(r, "d/x");
            fs::write(&x, b"x").expect("x");
            set_xattr(&x, "user.x", b"value");
            set_xattr(&x, "user.a", b"first");
        },
        |r| {
            let g = parent(r, "d/sub/g");
            fs::write(&g, vec![9u8; 100_000]).expect("g");
            chmod(&g, 0o2640);
            own(&g, 0, 42);
        },
        |r| {
            let p = parent(r, &format!("{LONG_DIR}/{LONG_FILE}"));
            fs::write(p, b"long").expect("long");
        },
        |r| {
            let p = parent(r, "dev/null");
            let dev = nix::sys::stat::makedev(1, 3);
            nix::sys::stat::mknod(&p, SFlag::S_IFCHR, Mode::from_bits_truncate(0o666), dev)
                .expect("mknod");
        },
    ];
    if reverse {
        ops.reverse();
    }
    for op in ops {
        op(root);
    }
    let d = root.join("d");
    own(&d, 1000, 1001);
    chmod(&d, 0o750);
    chmod(&root.join("d/sub"), 0o1777);
    if let Some((atime, mtime)) = times {
        // Deepest first, so setting a child's times does not touch its parent's afterwards.
        let mut all: Vec<_> = describe(root).into_keys().collect();
        all.sort_by_key(|p| std::cmp::Reverse(p.matches('/').count()));
        for rel in all {
            set_times(&root.join(rel), atime, mtime);
        }
    }
}

/// One entry as seen by `lstat` and friends.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    kind: &'static str,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: i64,
    nlink: u64,
    rdev: u64,
    data: Vec<u8>,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

fn describe(root: &Path) -> BTreeMap<String, Seen> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).expect("read_dir") {
            let p = e.expect("entry").path();
            let m = fs::symlink_metadata(&p).expect("lstat");
            let ft = m.file_type();
            let (kind, data) = if ft.is_file() {
                ("file", fs::read(&p).expect("read"))
            } else if ft.is_symlink() {
                let t = fs::read_link(&p).expect("readlink");
                ("symlink", t.into_os_string().into_vec())
            } else if ft.is_dir() {
                stack.push(p.clone());
                ("dir", Vec::new())
            } else if ft.is_fifo() {
                ("fifo", Vec::new())
            } else if ft.is_char_device() {
                ("char", Vec::new())
            } else {
                ("other", Vec::new())
            };
            let mut xattrs = sys::llist_xattrs(&p).expect("xattrs");
            xattrs.sort();
            let rel = p
                .strip_prefix(root)
                .expect("rel")
                .to_string_lossy()
                .into_owned();
            let seen = Seen {
                kind,
                mode: m.mode(),
                uid: m.uid(),
                gid: m.gid(),
                mtime: m.mtime(),
                nlink: if ft.is_dir() { 0 } else { m.nlink() },
                rdev: m.rdev(),
                data,
                xattrs,
            };
            out.insert(rel, seen);
        }
    }
    out
}

fn pack(dir: &Path, sde: Option<i64>) -> (Vec<u8>, u64) {
    let mut out = Vec::new();
    let opts = PackOptions {
        source_date_epoch: sde,
    };
    let n = pack_layer(dir, &mut out, &opts).expect("pack");
    (out, n)
}

/// (name, header type, pax keys) of every real entry in `tar`.
fn read_tar(tar: &[u8]) -> Vec<(String, EntryType, Vec<String>, tar::Header)> {
    let mut ar = tar::Archive::new(tar);
    let mut out = Vec::new();
    for e in ar.entries().expect("entries") {
        let mut e = e.expect("entry");
        let kind = e.header().entry_type();
        if kind == EntryType::XHeader {
            continue;
        }
        let name = String::from_utf8(e.path_bytes().into_owned()).expect("utf8");
        let keys = match e.pax_extensions().expect("pax") {
            Some(p) => p
                .map(|x| x.expect("ext").key().expect("key").to_owned())
                .collect(),
            None => Vec::new(),
        };
        out.push((name, kind, keys, e.header().clone()));
    }
    out
}

fn all_opts() -> UnpackOptions {
    UnpackOptions {
        allow_devices: true,
        preserve_ownership: true,
    }
}

#[test]
fn pack_then_unpack_round_trips() {
    berth_testutil::require_root!();
    let src = tempfile::tempdir().expect("src");
    build(src.path(), false, Some((5, 1_600_000)));
    let (tar, n) = pack(src.path(), None);
    let entries = read_tar(&tar);
    assert_eq!(n, entries.len() as u64);
    let long = format!("{LONG_DIR}/{LONG_FILE}");
    assert!(entries.iter().any(|(name, ..)| *name == long), "long name");
    assert!(entries.iter().any(|(name, ..)| name == "d/"), "dir with /");
    let h = entries.iter().find(|e| e.0 == "d/h").expect("d/h");
    assert_eq!(h.1, EntryType::Link);
    assert_eq!(h.3.link_name_bytes().as_deref(), Some(&b"d/f"[..]));
    let x = entries.iter().find(|e| e.0 == "d/x").expect("d/x");
    assert_eq!(x.2, ["SCHILY.xattr.user.a", "SCHILY.xattr.user.x"]);

    let dst = tempfile::tempdir().expect("dst");
    unpack_layer(&tar[..], dst.path(), &all_opts()).expect("unpack");
    let before = describe(src.path());
    let after = describe(dst.path());
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (k, v) in &before {
        assert_eq!(Some(v), after.get(k), "{k}");
    }
    assert_eq!(after["d/f"].nlink, 2);
    assert_eq!(after["d/f"].mode & 0o7777, 0o4755);
    assert_eq!(after["d/l"].data, b"./f");
    assert_eq!(after["d/longlink"].data, "c".repeat(150).as_bytes());
    assert_eq!(after["dev/null"].rdev, nix::sys::stat::makedev(1, 3));
}

#[test]
fn packing_is_deterministic() {
    berth_testutil::require_root!();
    let a = tempfile::tempdir().expect("a");
    build(a.path(), false, Some((5, 1_600_000)));
    assert_eq!(pack(a.path(), None), pack(a.path(), None));

    let b = tempfile::tempdir().expect("b");
    build(b.path(), true, None);
    let (ta, na) = pack(a.path(), Some(1000));
    let (tb, nb) = pack(b.path(), Some(1000));
    assert_eq!(na, nb);
    assert!(ta == tb, "same tree, different bytes");

    for (name, _, _, h) in read_tar(&ta) {
        assert!(h.mtime().expect("mtime") <= 1000, "{name}");
        let gnu = h.as_gnu().expect("gnu header");
        assert!(
            gnu.atime.iter().chain(&gnu.ctime).all(|b| *b == 0),
            "{name}"
        );
        assert_eq!(h.username_bytes(), Some(&b""[..]), "{name}");
        assert_eq!(h.groupname_bytes(), Some(&b""[..]), "{name}");
    }
}

#[test]
fn overlay_whiteouts_become_oci_whiteouts_and_back() {
    berth_testutil::require_root!();
    let up = tempfile::tempdir().expect("upper");
    let gone = up.path().join("gone");
    nix::sys::stat::mknod(&gone, SFlag::S_IFCHR, Mode::empty(), 0).expect("mknod");
    let d = up.path().join("d");
    fs::create_dir(&d).expect("d");
    set_xattr(&d, "trusted.overlay.opaque", b"y");
    fs::write(d.join("keep"), b"k").expect("keep");
    set_xattr(&d.join("keep"), "trusted.overlay.origin", b"opaque-handle");

    let (tar, n) = pack(up.path(), None);
    let entries = read_tar(&tar);
    let names: Vec<_> = entries.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(names, ["d/", "d/.wh..wh..opq", "d/keep", ".wh.gone"]);
    assert_eq!(n, 4);
    for (name, kind, keys, h) in &entries {
        assert_ne!(*kind, EntryType::Char, "{name}");
        assert!(
            keys.iter().all(|k| !k.contains("trusted.overlay")),
            "{name}"
        );
        if name.contains(".wh.") {
            assert_eq!((*kind, h.size().expect("size")), (EntryType::Regular, 0));
        }
    }

    let dst = tempfile::tempdir().expect("dst");
    let opts = UnpackOptions::default();
    unpack_layer(&tar[..], dst.path(), &opts).expect("unpack");
    let m = fs::symlink_metadata(dst.path().join("gone")).expect("gone");
    assert!(m.file_type().is_char_device());
    assert_eq!(m.rdev(), 0);
    let dd = dst.path().join("d");
    assert_eq!(
        super::xattr(&dd, "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..])
    );
    assert_eq!(fs::read(dd.join("keep")).expect("keep"), b"k");
    assert_eq!(
        super::xattr(&dd.join("keep"), "trusted.overlay.origin"),
        None
    );
}

#[test]
fn missing_dir_is_an_error_naming_it() {
    let t = tempfile::tempdir().expect("tempdir");
    let missing = t.path().join("no/such/upper");
    let err = pack_layer(&missing, Vec::new(), &PackOptions::default()).expect_err("missing");
    assert!(
        err.to_string().contains(&*missing.to_string_lossy()),
        "{err}"
    );
    assert_eq!(err.kind(), berth_types::ErrorKind::NotFound);
    match err {
        FsError::Pack { path, .. } => assert_eq!(path, missing),
        other => panic!("unexpected error {other:?}"),
    }
}
