//! Tests: archives are built in code with raw headers (so hostile names survive), extracted
//! into a temp dir, and checked with `lstat`/`readlink`/`lgetxattr`.

mod hostile;
mod observe;
mod pack;
mod sparse;
mod split;

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use tar::{EntryType, Header};

use crate::{unpack_layer, FsError, UnpackOptions, UnpackStats};

/// A tar archive under construction.
pub(crate) struct Tb(tar::Builder<Vec<u8>>);

impl Tb {
    pub(crate) fn new() -> Self {
        Tb(tar::Builder::new(Vec::new()))
    }

    /// Appends an entry with a raw name (and raw link name), bypassing the builder's checks.
    pub(crate) fn raw(
        &mut self,
        name: &str,
        kind: EntryType,
        data: &[u8],
        link: Option<&str>,
        f: impl FnOnce(&mut Header),
    ) -> &mut Self {
        let mut h = Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(l) = link {
            h.as_old_mut().linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(if kind == EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_000_000);
        f(&mut h);
        h.set_cksum();
        self.0.append(&h, data).expect("append");
        self
    }

    pub(crate) fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.raw(name, EntryType::Regular, data, None, |_| {})
    }

    pub(crate) fn dir(&mut self, name: &str) -> &mut Self {
        self.raw(name, EntryType::Directory, b"", None, |_| {})
    }

    pub(crate) fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.raw(name, EntryType::Symlink, b"", Some(target), |_| {})
    }

    pub(crate) fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.raw(name, EntryType::Link, b"", Some(target), |_| {})
    }

    pub(crate) fn pax(&mut self, exts: &[(&str, &[u8])]) -> &mut Self {
        self.0
            .append_pax_extensions(exts.iter().copied())
            .expect("pax");
        self
    }

    pub(crate) fn finish(&mut self) -> Vec<u8> {
        let b = std::mem::replace(&mut self.0, tar::Builder::new(Vec::new()));
        b.into_inner().expect("finish")
    }
}

/// Options for tests that run unprivileged too: ownership is applied only as root.
pub(crate) fn root_opts() -> UnpackOptions {
    UnpackOptions {
        allow_devices: false,
        preserve_ownership: berth_testutil::is_root(),
    }
}

pub(crate) fn unpack(
    bytes: &[u8],
    dest: &Path,
    opts: &UnpackOptions,
) -> Result<UnpackStats, FsError> {
    unpack_layer(bytes, dest, opts)
}

pub(crate) fn xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let p = CString::new(path.as_os_str().as_bytes()).expect("path");
    let n = CString::new(name).expect("name");
    let mut buf = vec![0u8; 256];
    // SAFETY: both strings are NUL-terminated and live across the call; `buf` is writable for
    // `buf.len()` bytes, which is the size passed.
    let r = unsafe { libc::lgetxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    let len = usize::try_from(r).ok()?;
    buf.truncate(len);
    Some(buf)
}

fn normal_layer() -> Vec<u8> {
    let mut tb = Tb::new();
    tb.raw("d/", EntryType::Directory, b"", None, |h| {
        h.set_mode(0o750);
        h.set_uid(1000);
        h.set_gid(1001);
        h.set_mtime(1_500_000);
    });
    tb.pax(&[
        ("SCHILY.xattr.user.x", b"one"),
        ("SCHILY.xattr.trusted.x", b"two"),
    ]);
    tb.raw("d/f", EntryType::Regular, b"hello", None, |h| {
        h.set_mode(0o4755);
        h.set_uid(1000);
        h.set_gid(1001);
        h.set_mtime(1_600_000);
    });
    tb.symlink("d/l", "f").hardlink("d/h", "d/f");
    tb.raw("d/p", EntryType::Fifo, b"", None, |_| {});
    tb.raw("s/", EntryType::Directory, b"", None, |h| {
        h.set_mode(0o1777)
    });
    tb.file("./s/./big", &[7u8; 200_000]);
    tb.finish()
}

#[test]
fn normal_layer_round_trips() {
    berth_testutil::require_root!();
    let t = tempfile::tempdir().expect("tempdir");
    let stats = unpack(&normal_layer(), t.path(), &root_opts()).expect("unpack");
    assert_eq!(
        stats,
        UnpackStats {
            entries: 7,
            bytes: 200_005,
            whiteouts: 0
        }
    );

    let f = t.path().join("d/f");
    assert_eq!(fs::read(&f).expect("read"), b"hello");
    let m = fs::symlink_metadata(&f).expect("stat");
    assert_eq!(m.mode() & 0o7777, 0o4755);
    assert_eq!((m.uid(), m.gid()), (1000, 1001));
    assert_eq!(m.mtime(), 1_600_000);
    assert_eq!(m.nlink(), 2);
    assert_eq!(xattr(&f, "user.x").as_deref(), Some(&b"one"[..]));
    assert_eq!(xattr(&f, "trusted.x").as_deref(), Some(&b"two"[..]));

    let d = fs::symlink_metadata(t.path().join("d")).expect("stat d");
    assert_eq!(d.mode() & 0o7777, 0o750);
    assert_eq!((d.uid(), d.gid(), d.mtime()), (1000, 1001, 1_500_000));
    assert_eq!(
        fs::read_link(t.path().join("d/l")).expect("readlink"),
        Path::new("f")
    );
    assert_eq!(
        fs::symlink_metadata(t.path().join("d/h")).expect("h").ino(),
        m.ino()
    );
    assert!(fs::symlink_metadata(t.path().join("d/p"))
        .expect("p")
        .file_type()
        .is_fifo());
    let s = fs::symlink_metadata(t.path().join("s")).expect("s");
    assert_eq!(s.mode() & 0o7777, 0o1777);
    assert_eq!(
        fs::read(t.path().join("s/big")).expect("big"),
        vec![7u8; 200_000]
    );
}

/// Path → (mode, uid, gid, mtime, content or link target) for every entry under `root`.
fn snapshot(root: &Path) -> BTreeMap<String, (u32, u32, u32, i64, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).expect("read_dir") {
            let p = e.expect("entry").path();
            let m = fs::symlink_metadata(&p).expect("lstat");
            let data = if m.is_file() {
                fs::read(&p).expect("read")
            } else if m.file_type().is_symlink() {
                fs::read_link(&p)
                    .expect("readlink")
                    .into_os_string()
                    .into_vec()
            } else {
                Vec::new()
            };
            if m.is_dir() {
                stack.push(p.clone());
            }
            let rel = p
                .strip_prefix(root)
                .expect("rel")
                .to_string_lossy()
                .into_owned();
            out.insert(rel, (m.mode(), m.uid(), m.gid(), m.mtime(), data));
        }
    }
    out
}

use std::os::unix::ffi::OsStringExt;

#[test]
fn gzip_and_zstd_extract_identically() {
    berth_testutil::require_root!();
    use std::io::Write;
    let plain = normal_layer();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).expect("gz");
    let gz = gz.finish().expect("gz finish");
    let zst = zstd::encode_all(&plain[..], 3).expect("zstd");
    assert_eq!(crate::detect(&gz), crate::Compression::Gzip);
    assert_eq!(crate::detect(&zst), crate::Compression::Zstd);
    assert_eq!(crate::detect(&plain), crate::Compression::None);

    let mut snaps = Vec::new();
    for bytes in [&plain, &gz, &zst] {
        let t = tempfile::tempdir().expect("tempdir");
        let stats = unpack(bytes, t.path(), &root_opts()).expect("unpack");
        assert_eq!(stats.entries, 7);
        snaps.push(snapshot(t.path()));
    }
    assert_eq!(snaps[0], snaps[1]);
    assert_eq!(snaps[0], snaps[2]);
    assert!(snaps[0].contains_key("d/f"));
}

#[test]
fn whiteouts_become_overlay_markers() {
    berth_testutil::require_root!();
    let t = tempfile::tempdir().expect("tempdir");
    let base = Tb::new()
        .dir("d/")
        .file("d/file", b"x")
        .dir("d/sub/")
        .file("d/sub/y", b"y")
        .dir("o/")
        .finish();
    unpack(&base, t.path(), &root_opts()).expect("base");
    let upper = Tb::new()
        .file("d/.wh.file", b"")
        .file("d/.wh.sub", b"")
        .file("o/.wh..wh..opq", b"")
        .finish();
    let stats = unpack(&upper, t.path(), &root_opts()).expect("upper");
    assert_eq!(stats.whiteouts, 3);
    for name in ["d/file", "d/sub"] {
        let m = fs::symlink_metadata(t.path().join(name)).expect("whiteout");
        assert!(m.file_type().is_char_device(), "{name}");
        assert_eq!(m.rdev(), 0, "{name}");
    }
    assert_eq!(
        xattr(&t.path().join("o"), "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..])
    );
    assert!(!t.path().join("o/.wh..wh..opq").exists());
}

#[test]
fn whiteout_of_dot_or_dotdot_is_refused() {
    let t = tempfile::tempdir().expect("tempdir");
    for name in ["d/.wh..", "d/.wh..."] {
        let bytes = Tb::new().dir("d/").file(name, b"").finish();
        let err = unpack(&bytes, t.path(), &root_opts()).expect_err(name);
        assert!(matches!(err, FsError::HostileEntry { .. }), "{name}: {err}");
    }
    assert!(t.path().join("d").is_dir());
}

#[test]
fn truncated_archives_are_errors() {
    use std::io::Write;
    let full = Tb::new().file("a", &[1u8; 10_000]).file("b", b"b").finish();
    for cut in [100, 700, 5_000, 10_500] {
        let t = tempfile::tempdir().expect("tempdir");
        let err = unpack(&full[..cut], t.path(), &root_opts()).expect_err("truncated");
        assert_eq!(
            err.kind(),
            berth_types::ErrorKind::InvalidArgument,
            "cut {cut}: {err}"
        );
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&full).expect("gz");
    let gz = gz.finish().expect("gz");
    let t = tempfile::tempdir().expect("tempdir");
    assert!(unpack(&gz[..gz.len() / 2], t.path(), &root_opts()).is_err());
    // Garbage must not panic; whether it errors depends on the bytes.
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let _ = unpack(&garbage, t.path(), &root_opts());
}

#[test]
fn missing_dest_is_not_found() {
    let t = tempfile::tempdir().expect("tempdir");
    let err = unpack(
        &Tb::new().file("a", b"").finish(),
        &t.path().join("nope"),
        &root_opts(),
    )
    .expect_err("missing");
    assert_eq!(err.kind(), berth_types::ErrorKind::NotFound);
}

#[test]
fn zero_runs_become_holes() {
    let t = tempfile::tempdir().expect("tempdir");
    let mut data = vec![0u8; 4 << 20];
    data[0] = 1;
    unpack(
        &Tb::new().file("sparse", &data).finish(),
        t.path(),
        &root_opts(),
    )
    .expect("unpack");
    let p = t.path().join("sparse");
    assert_eq!(fs::read(&p).expect("read"), data);
    let m = fs::metadata(&p).expect("stat");
    assert_eq!(m.len(), 4 << 20);
    assert!(
        m.blocks() * 512 < 1 << 20,
        "zero runs were written densely: {} blocks",
        m.blocks()
    );
}

#[test]
fn root_dir_entry_applies_to_dest() {
    let t = tempfile::tempdir().expect("tempdir");
    let bytes = Tb::new()
        .raw("./", EntryType::Directory, b"", None, |h| {
            h.set_mode(0o711);
            h.set_mtime(1_234_567);
        })
        .file("a", b"a")
        .finish();
    unpack(&bytes, t.path(), &root_opts()).expect("unpack");
    let m = fs::metadata(t.path()).expect("stat");
    assert_eq!((m.mode() & 0o7777, m.mtime()), (0o711, 1_234_567));
}
