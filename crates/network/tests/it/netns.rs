//! Named network namespaces: create, open, run inside, delete, no leaked mounts.

use std::io;
use std::os::unix::fs::MetadataExt;

use berth_network::netns::{self, NetNs};
use berth_testutil::require_root;

use crate::util::{assert_no_mounts_under, NsDir};

fn netns_inode_of_this_thread() -> u64 {
    std::fs::metadata("/proc/thread-self/ns/net").unwrap().ino()
}

#[test]
fn create_run_delete_leaves_nothing() {
    require_root!();
    let dir = NsDir::new();
    let path = dir.path().to_path_buf();
    let ns = dir.create("one");
    assert_eq!(ns.path(), path.join("one"));
    let ns_ino = ns.file().metadata().unwrap().ino();
    let host_ino = netns_inode_of_this_thread();
    assert_ne!(ns_ino, host_ino);

    let inside = ns.run(netns_inode_of_this_thread).unwrap();
    assert_eq!(inside, ns_ino);
    assert_eq!(
        netns_inode_of_this_thread(),
        host_ino,
        "caller's thread unchanged"
    );

    // A second handle by path sees the same namespace; a duplicate name is refused.
    let again = NetNs::open(&path.join("one")).unwrap();
    assert_eq!(again.file().metadata().unwrap().ino(), ns_ino);
    drop(again);
    let err = NetNs::create(&path, "one").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");

    ns.delete().unwrap();
    assert!(!path.join("one").exists());
    netns::delete(&path, "one").expect("deleting twice is fine");
    netns::release_dir(&path).unwrap();
    assert_no_mounts_under(&path);
    drop(dir);
}

#[test]
fn a_plain_file_is_not_a_namespace() {
    require_root!();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("plain");
    std::fs::write(&f, b"").unwrap();
    let err = NetNs::open(&f).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    let err = NetNs::create(dir.path(), "a/b").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
}

#[test]
fn guard_cleans_up_on_panic() {
    require_root!();
    let dir = NsDir::new();
    let path = dir.path().to_path_buf();
    let r = std::panic::catch_unwind(move || {
        let _ns = dir.create("doomed");
        panic!("test failure inside");
    });
    assert!(r.is_err());
    assert_no_mounts_under(&path);
    assert!(!path.exists());
}

/// A child process killed and reaped on drop.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A mount namespace copied from ours after the namespace was made holds a copy of the nsfs
/// mount; deleting the namespace here must release that copy too, or the netns and its veths
/// would live on as long as that process (a container that kept host mounts, say).
#[test]
fn delete_releases_copies_in_mount_namespaces_made_later() {
    require_root!();
    let dir = NsDir::new();
    let ns = dir.create("pinned");
    let (vh, peer) = (crate::util::link_name(), crate::util::link_name());
    let _guard = crate::util::LinkGuard(vh.clone());
    let mut nl = berth_network::netlink::Netlink::new().unwrap();
    nl.create_veth(&vh, &peer, &ns, None).unwrap();

    let own_mnt = std::fs::metadata("/proc/self/ns/mnt").unwrap().ino();
    let child = Child(
        std::process::Command::new("unshare")
            .args(["--mount", "--propagation", "unchanged", "sleep", "30"])
            .spawn()
            .expect("unshare(1) from util-linux"),
    );
    let pid = child.0.id();
    crate::util::eventually("the child to enter its mount namespace", || {
        std::fs::metadata(format!("/proc/{pid}/ns/mnt")).is_ok_and(|m| m.ino() != own_mnt)
            && std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))
                .is_ok_and(|m| m.contains("pinned"))
    });

    // The dir is shared: a namespace made now shows up in the copy as well.
    let later = dir.create("later");
    crate::util::eventually("the new namespace to propagate to the copy", || {
        std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))
            .is_ok_and(|m| m.contains("/later "))
    });
    later.delete().unwrap();

    ns.delete().unwrap();
    crate::util::eventually("the copied nsfs mount to go", || {
        std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))
            .is_ok_and(|m| !m.contains("pinned") && !m.contains("/later "))
    });
    crate::util::eventually("the veth to vanish with its namespace", || {
        nl.link(&vh).unwrap().is_none()
    });
    drop(child);
}
