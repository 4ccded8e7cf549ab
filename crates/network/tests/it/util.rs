//! Guards, unique names, a free subnet, and leak checks shared by the tests.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::Ipv4Addr;
use std::path::Path;

use berth_network::netlink::{Ipv4Net, Netlink};
use berth_network::netns::{self, NetNs};

fn random() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// `bt` + 6 random lowercase letters and digits: at most 15 bytes, as IFNAMSIZ requires.
pub fn link_name() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut r = random();
    let mut s = String::from("bt");
    for _ in 0..6 {
        s.push(ALPHABET[(r % 36) as usize] as char);
        r /= 36;
    }
    s
}

/// Deletes the link on drop (in the host namespace), tolerating its absence.
pub struct LinkGuard(pub String);

impl Drop for LinkGuard {
    fn drop(&mut self) {
        if let Ok(mut nl) = Netlink::new() {
            let _ = nl.delete_link(&self.0, true);
        }
    }
}

/// A temp dir for namespace files; on drop deletes the namespaces named in it and releases
/// the dir's own mount, then removes the dir.
pub struct NsDir {
    pub dir: tempfile::TempDir,
}

impl NsDir {
    pub fn new() -> Self {
        NsDir {
            dir: tempfile::Builder::new()
                .prefix("berth-netns-")
                .tempdir()
                .expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn create(&self, name: &str) -> NetNs {
        NetNs::create(self.path(), name).expect("create netns")
    }
}

impl Drop for NsDir {
    fn drop(&mut self) {
        if let Ok(entries) = std::fs::read_dir(self.path()) {
            for e in entries.flatten() {
                let _ = netns::delete(self.path(), &e.file_name().to_string_lossy());
            }
        }
        let _ = netns::release_dir(self.path());
    }
}

/// A random 10.2xx.y.0/24 that no host route (other than the default) overlaps.
pub fn free_subnet() -> Ipv4Net {
    let routes = Netlink::new()
        .and_then(|mut nl| nl.ipv4_routes())
        .expect("list routes");
    for _ in 0..100 {
        let r = random();
        let net = Ipv4Net::new(
            Ipv4Addr::new(10, 200 + (r % 56) as u8, ((r >> 8) % 256) as u8, 0),
            24,
        )
        .unwrap();
        let overlaps = routes.iter().filter(|r| r.prefix > 0).any(|r| {
            let shorter = if r.prefix < net.prefix { *r } else { net };
            let other = if r.prefix < net.prefix { net } else { *r };
            shorter.contains(other.addr)
        });
        if !overlaps {
            return net;
        }
    }
    panic!("no free 10.2xx.y.0/24 subnet: the host routes cover them all");
}

/// The `n`th host address of a /24.
pub fn host(net: Ipv4Net, n: u8) -> Ipv4Net {
    let o = net.network().octets();
    Ipv4Net::new(Ipv4Addr::new(o[0], o[1], o[2], n), net.prefix).unwrap()
}

/// `ip -o link` output (read-only inspection, to check from outside the crate).
pub fn ip_links() -> String {
    let out = std::process::Command::new("ip")
        .args(["-o", "link"])
        .output()
        .expect("ip -o link");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Panics if any of `names` appears as a link on the host.
pub fn assert_no_links(names: &[&str]) {
    let text = ip_links();
    for name in names {
        let found = text.lines().any(|l| {
            l.split(':')
                .nth(1)
                .map(|n| n.trim().split('@').next() == Some(name))
                == Some(true)
        });
        assert!(!found, "link {name} leaked:\n{text}");
    }
}

/// Panics if a mount under `dir` is still in /proc/self/mountinfo.
pub fn assert_no_mounts_under(dir: &Path) {
    let info = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let d = dir.to_string_lossy();
    let leaked: Vec<&str> = info.lines().filter(|l| l.contains(&*d)).collect();
    assert!(leaked.is_empty(), "mounts leaked under {d}: {leaked:#?}");
}

/// Waits up to 5 s for `cond`.
pub fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..100 {
        if cond() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

/// Whether `target` answers a ping from inside `ns` within `tries` one-second attempts.
pub fn ping_from(ns: &NetNs, target: &str, tries: usize) -> bool {
    let target = target.to_string();
    ns.run(move || {
        (0..tries).any(|_| {
            std::process::Command::new("/bin/busybox")
                .args(["ping", "-c1", "-W1", &target])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
    })
    .unwrap()
}
