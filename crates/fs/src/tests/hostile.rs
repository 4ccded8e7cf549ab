//! The hostile corpus. Each case extracts into `<tmp>/dest` next to a unique host directory
//! that plays the escape target, and asserts the host directory is unchanged afterwards.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use tar::EntryType;

use super::{root_opts, unpack, Tb};
use crate::{FsError, UnpackOptions};

struct Case {
    _tmp: tempfile::TempDir,
    dest: PathBuf,
    host: PathBuf,
}

impl Case {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dest = tmp.path().join("layers/x/dest");
        let host = tmp.path().join("host");
        fs::create_dir_all(&dest).expect("dest");
        fs::create_dir(&host).expect("host");
        fs::write(host.join("victim"), b"orig").expect("victim");
        Case {
            _tmp: tmp,
            dest,
            host,
        }
    }

    /// Absolute host dir, as a string for symlink targets.
    fn host_abs(&self) -> String {
        self.host.to_str().expect("utf8").to_owned()
    }

    /// Relative path from `dest` up to `/` and down to the host dir.
    fn host_rel(&self) -> String {
        format!("../../../../../../../../../..{}", self.host_abs())
    }

    fn assert_host_untouched(&self) {
        let names: Vec<_> = fs::read_dir(&self.host)
            .expect("host")
            .map(|e| e.expect("e").file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from("victim")],
            "host dir changed"
        );
        let m = fs::metadata(self.host.join("victim")).expect("victim");
        assert_eq!(m.nlink(), 1, "host file gained a hardlink");
        assert_eq!(fs::read(self.host.join("victim")).expect("read"), b"orig");
        let above: Vec<_> = fs::read_dir(self.dest.parent().expect("p"))
            .expect("above")
            .collect();
        assert_eq!(above.len(), 1, "something was created next to dest");
    }

    fn run(&self, bytes: &[u8]) -> Result<crate::UnpackStats, FsError> {
        unpack(bytes, &self.dest, &root_opts())
    }
}

fn assert_hostile(r: Result<crate::UnpackStats, FsError>, entry: &str) {
    match r {
        Err(FsError::HostileEntry { name, reason }) => {
            assert_eq!(name, entry);
            assert!(!reason.is_empty());
        }
        other => panic!("expected HostileEntry for {entry}, got {other:?}"),
    }
}

#[test]
fn dotdot_and_absolute_names_are_refused() {
    for name in ["../escape", "a/../../escape", "/abs/file", "./../escape"] {
        let c = Case::new();
        assert_hostile(c.run(&Tb::new().file(name, b"pwned").finish()), name);
        c.assert_host_untouched();
    }
}

#[test]
fn dotdot_inside_the_root_is_normalised() {
    let c = Case::new();
    c.run(&Tb::new().file("a/../b", b"ok").finish())
        .expect("unpack");
    assert_eq!(fs::read(c.dest.join("b")).expect("b"), b"ok");
    c.assert_host_untouched();
}

#[test]
fn writing_through_an_outside_symlink_stays_inside() {
    for absolute in [true, false] {
        let c = Case::new();
        let target = if absolute { c.host_abs() } else { c.host_rel() };
        let bytes = Tb::new()
            .symlink("evil", &target)
            .file("evil/pwned", b"pwned")
            .finish();
        // The symlink resolves in-root to `dest/<host path>`, which does not exist: refused.
        let r = c.run(&bytes);
        assert!(r.is_err(), "absolute={absolute}: {r:?}");
        assert_eq!(
            fs::read_link(c.dest.join("evil")).expect("link"),
            Path::new(&target)
        );
        c.assert_host_untouched();
    }
}

#[test]
fn outside_symlink_to_an_inside_dir_is_clamped() {
    let c = Case::new();
    let bytes = Tb::new()
        .dir("inside/")
        .symlink("evil", "../../../../../../inside")
        .file("evil/pwned", b"p")
        .finish();
    c.run(&bytes).expect("unpack");
    assert_eq!(fs::read(c.dest.join("inside/pwned")).expect("pwned"), b"p");
    c.assert_host_untouched();
}

#[test]
fn symlinked_parent_dir_is_clamped_to_root() {
    let c = Case::new();
    let bytes = Tb::new()
        .symlink("a", "../../..")
        .file("a/b", b"b")
        .finish();
    c.run(&bytes).expect("unpack");
    assert_eq!(fs::read(c.dest.join("b")).expect("b"), b"b");
    assert!(fs::symlink_metadata(c.dest.join("a"))
        .expect("a")
        .file_type()
        .is_symlink());
    c.assert_host_untouched();
}

#[test]
fn hardlink_to_dotdot_is_refused() {
    let c = Case::new();
    assert_hostile(
        c.run(&Tb::new().hardlink("x", "../../etc/passwd").finish()),
        "x",
    );
    assert_hostile(c.run(&Tb::new().hardlink("y", "/etc/passwd").finish()), "y");
    assert!(!c.dest.join("x").exists());
    c.assert_host_untouched();
}

#[test]
fn hardlink_through_symlinked_dir_never_links_host_file() {
    for absolute in [true, false] {
        let c = Case::new();
        let target = if absolute { c.host_abs() } else { c.host_rel() };
        let bytes = Tb::new()
            .symlink("d", &target)
            .hardlink("x", "d/victim")
            .finish();
        assert!(c.run(&bytes).is_err());
        assert!(fs::symlink_metadata(c.dest.join("x")).is_err());
        c.assert_host_untouched();
    }
}

#[test]
fn device_nodes_need_allow_devices() {
    berth_testutil::require_root!();
    let bytes = Tb::new()
        .raw("null", EntryType::Char, b"", None, |h| {
            h.set_device_major(1).expect("major");
            h.set_device_minor(3).expect("minor");
        })
        .finish();
    let c = Case::new();
    match c.run(&bytes) {
        Err(FsError::HostileEntry { name, reason }) => {
            assert_eq!(name, "null");
            assert_eq!(reason, "device node not allowed");
        }
        other => panic!("expected refusal, got {other:?}"),
    }
    assert!(!c.dest.join("null").exists());

    let opts = UnpackOptions {
        allow_devices: true,
        preserve_ownership: true,
    };
    unpack(&bytes, &c.dest, &opts).expect("allowed");
    let m = fs::symlink_metadata(c.dest.join("null")).expect("null");
    assert!(m.file_type().is_char_device());
    assert_eq!(m.rdev(), nix::sys::stat::makedev(1, 3));
    c.assert_host_untouched();
}

#[test]
fn entry_replacing_outside_symlink_does_not_write_through() {
    let c = Case::new();
    let victim = format!("{}/victim", c.host_abs());
    let bytes = Tb::new()
        .symlink("v", &victim)
        .file("v", b"pwned")
        .symlink("w", &c.host_abs())
        .dir("w/")
        .file("w/x", b"x")
        .finish();
    c.run(&bytes).expect("unpack");
    let v = fs::symlink_metadata(c.dest.join("v")).expect("v");
    assert!(v.is_file());
    assert_eq!(fs::read(c.dest.join("v")).expect("v"), b"pwned");
    assert!(fs::symlink_metadata(c.dest.join("w")).expect("w").is_dir());
    assert_eq!(fs::read(c.dest.join("w/x")).expect("w/x"), b"x");
    c.assert_host_untouched();
}
