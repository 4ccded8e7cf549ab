//! Finding out which cgroup layout the host has, and where each hierarchy is mounted.
//!
//! Why detect instead of assuming: hosts come in three layouts — legacy (v1 hierarchies on a
//! tmpfs), hybrid (the same plus a cgroup2 mount at `unified/`, usually holding no controllers)
//! and unified (cgroup2 at the root) — and v1 hosts mount controllers in different groupings
//! (`cpu,cpuacct` together on most distributions, separately on ours). The filesystem type of
//! the root decides the layout; `/proc/self/mountinfo` says where each controller lives. The
//! decisions are pure functions of what was read, so they are tested on sample text.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nix::sys::statfs::{statfs, FsType, CGROUP2_SUPER_MAGIC, CGROUP_SUPER_MAGIC, TMPFS_MAGIC};

use crate::files::read_string;
use crate::CgroupError;

/// Where the cgroup hierarchies are mounted on a normal host.
pub const DEFAULT_ROOT: &str = "/sys/fs/cgroup";

/// The cgroup layout of a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupSetup {
    /// Only cgroup v1 hierarchies.
    Legacy,
    /// cgroup v1 hierarchies plus a cgroup2 mount (at `<root>/unified`); the v1 manager is used.
    Hybrid,
    /// Only cgroup v2, mounted at the root.
    Unified,
}

/// The filesystem types that matter for the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FsKind {
    Cgroup2,
    Cgroup1,
    Tmpfs,
    Other(i64),
}

impl FsKind {
    fn of(path: &Path) -> Result<Self, CgroupError> {
        let st = statfs(path).map_err(|e| CgroupError::NoCgroupFs {
            path: path.to_path_buf(),
            why: format!("statfs failed with {e:?} ({})", e.desc()),
        })?;
        let t: FsType = st.filesystem_type();
        Ok(if t == CGROUP2_SUPER_MAGIC {
            Self::Cgroup2
        } else if t == CGROUP_SUPER_MAGIC {
            Self::Cgroup1
        } else if t == TMPFS_MAGIC {
            Self::Tmpfs
        } else {
            #[allow(clippy::unnecessary_cast)] // the field's type differs across targets
            Self::Other(t.0 as i64)
        })
    }
}

/// The layout of the host's cgroups at [`DEFAULT_ROOT`].
pub fn detect_setup() -> Result<CgroupSetup, CgroupError> {
    detect_setup_at(Path::new(DEFAULT_ROOT))
}

/// The layout of the cgroups mounted at `root` (normally `/sys/fs/cgroup`).
pub fn detect_setup_at(root: &Path) -> Result<CgroupSetup, CgroupError> {
    let root_kind = FsKind::of(root)?;
    let unified = root.join("unified");
    let unified_kind = if root_kind == FsKind::Tmpfs && unified.is_dir() {
        Some(FsKind::of(&unified)?)
    } else {
        None
    };
    decide_setup(root, root_kind, unified_kind)
}

/// The decision of [`detect_setup_at`], from the filesystem types it found.
pub(crate) fn decide_setup(
    root: &Path,
    root_kind: FsKind,
    unified_kind: Option<FsKind>,
) -> Result<CgroupSetup, CgroupError> {
    match (root_kind, unified_kind) {
        (FsKind::Cgroup2, _) => Ok(CgroupSetup::Unified),
        (FsKind::Tmpfs, Some(FsKind::Cgroup2)) => Ok(CgroupSetup::Hybrid),
        (FsKind::Tmpfs, _) | (FsKind::Cgroup1, _) => Ok(CgroupSetup::Legacy),
        (FsKind::Other(magic), _) => Err(CgroupError::NoCgroupFs {
            path: root.to_path_buf(),
            why: format!(
                "it is neither cgroup2 nor a tmpfs of v1 hierarchies (filesystem magic {magic:#x}); \
                 mount cgroups there"
            ),
        }),
    }
}

/// What kind of cgroup hierarchy a mount is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HierarchyKind {
    /// A cgroup v1 hierarchy and the controllers bound to it, e.g. `["cpu"]`,
    /// `["cpu", "cpuacct"]` or `["name=systemd"]`.
    V1 {
        /// The controllers, in the order the mount options list them.
        controllers: Vec<String>,
    },
    /// The cgroup v2 hierarchy.
    V2,
}

/// A mounted cgroup hierarchy, as found in mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// Where it is mounted, e.g. `/sys/fs/cgroup/memory`.
    pub mountpoint: PathBuf,
    /// v1 (with its controllers) or v2.
    pub kind: HierarchyKind,
}

impl Hierarchy {
    /// A v1 hierarchy at `mountpoint` with the given controllers.
    pub fn v1(mountpoint: impl Into<PathBuf>, controllers: &[&str]) -> Self {
        let controllers = controllers.iter().map(|c| c.to_string()).collect();
        Self {
            mountpoint: mountpoint.into(),
            kind: HierarchyKind::V1 { controllers },
        }
    }

    /// Whether this is a v1 hierarchy holding `controller`.
    pub fn has_controller(&self, controller: &str) -> bool {
        match &self.kind {
            HierarchyKind::V1 { controllers } => controllers.iter().any(|c| c == controller),
            HierarchyKind::V2 => false,
        }
    }
}

/// The controllers a v1 hierarchy can have; other super options (`rw`, `xattr`,
/// `release_agent=…`) are not controllers.
const V1_CONTROLLERS: &[&str] = &[
    "cpuset",
    "cpu",
    "cpuacct",
    "blkio",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "perf_event",
    "net_prio",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
    "debug",
];

/// The cgroup hierarchies mounted in this process's mount namespace.
pub fn hierarchies() -> Result<Vec<Hierarchy>, CgroupError> {
    let path = Path::new("/proc/self/mountinfo");
    let text = read_string(path)?;
    parse_mountinfo(&text).map_err(|why| CgroupError::parse(path, &text, why))
}

/// The cgroup hierarchies listed in mountinfo text.
///
/// A hierarchy mounted more than once (bind mounts) is listed once, preferring a mount of its
/// root. Lines of other filesystems are skipped.
pub fn parse_mountinfo(text: &str) -> Result<Vec<Hierarchy>, String> {
    // (hierarchy, mounted root is "/") in first-seen order
    let mut found: Vec<(Hierarchy, bool)> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(' ').collect();
        let sep = fields
            .iter()
            .position(|f| *f == "-")
            .ok_or_else(|| format!("mountinfo line without \" - \" separator: {line:?}"))?;
        if sep < 6 || fields.len() < sep + 4 {
            return Err(format!("mountinfo line with too few fields: {line:?}"));
        }
        let (root, mountpoint, fstype, super_opts) =
            (fields[3], fields[4], fields[sep + 1], fields[sep + 3]);
        let kind = match fstype {
            "cgroup2" => HierarchyKind::V2,
            "cgroup" => HierarchyKind::V1 {
                controllers: super_opts
                    .split(',')
                    .filter(|o| V1_CONTROLLERS.contains(o) || o.starts_with("name="))
                    .map(str::to_string)
                    .collect(),
            },
            _ => continue,
        };
        let hierarchy = Hierarchy {
            mountpoint: PathBuf::from(unescape(mountpoint)),
            kind,
        };
        let is_root = root == "/";
        match found.iter_mut().find(|(h, _)| h.kind == hierarchy.kind) {
            Some(entry) if !entry.1 && is_root => *entry = (hierarchy, true),
            Some(_) => {}
            None => found.push((hierarchy, is_root)),
        }
    }
    Ok(found.into_iter().map(|(h, _)| h).collect())
}

/// Undoes mountinfo's octal escapes (`\040` for a space, …).
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if let (b'\\', Some(oct)) = (bytes[i], bytes.get(i + 1..i + 4)) {
            if oct.iter().all(|d| (b'0'..=b'7').contains(d)) {
                out.push(
                    oct.iter()
                        .fold(0u8, |acc, d| acc.wrapping_mul(8).wrapping_add(d - b'0')),
                );
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// This process's own cgroups, from `/proc/self/cgroup`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnCgroups {
    /// v1: controller (or `name=…`) → cgroup path.
    pub v1: BTreeMap<String, PathBuf>,
    /// v2: the path on the `0::` line, when there is one.
    pub v2: Option<PathBuf>,
}

impl OwnCgroups {
    /// Reads `/proc/self/cgroup`.
    pub fn of_self() -> Result<Self, CgroupError> {
        let path = Path::new("/proc/self/cgroup");
        let text = read_string(path)?;
        Self::parse(&text).map_err(|why| CgroupError::parse(path, &text, why))
    }

    /// Parses the text of a `/proc/<pid>/cgroup` file.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut own = Self::default();
        for line in text.lines().filter(|l| !l.is_empty()) {
            let mut parts = line.splitn(3, ':');
            let (Some(id), Some(controllers), Some(path)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err(format!("expected id:controllers:path, got {line:?}"));
            };
            if id == "0" && controllers.is_empty() {
                own.v2 = Some(PathBuf::from(path));
            } else {
                for c in controllers.split(',').filter(|c| !c.is_empty()) {
                    own.v1.insert(c.to_string(), PathBuf::from(path));
                }
            }
        }
        Ok(own)
    }

    /// The cgroup of this process in a v1 hierarchy holding `controllers`.
    pub fn v1_path(&self, controllers: &[String]) -> Option<&Path> {
        controllers
            .iter()
            .find_map(|c| self.v1.get(c))
            .map(PathBuf::as_path)
    }
}

#[cfg(test)]
mod tests;
