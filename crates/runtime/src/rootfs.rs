//! The container's filesystem view: mounts from the spec, /dev, pivot_root, masked and read-only
//! paths. Runs inside the container's new mount namespace, in the init child.
//!
//! Every path inside the rootfs is opened with `openat2(RESOLVE_IN_ROOT)` and mounts are made
//! onto the opened fd (`/proc/self/fd/N`), never onto a path string: a rootfs that plants a
//! symlink (`/proc -> /etc`, `/dev/null -> /proc/sys/kernel/core_pattern`) can redirect nothing
//! outside itself, and cannot swap a target between our check and our mount.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::symlink;
use std::path::{Component, Path, PathBuf};

use berth_cgroups::{Hierarchy, HierarchyKind};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::{fstat, major, makedev, minor, Mode, SFlag};
use nix::unistd::{chdir, fchdir, pivot_root};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType, Mount, Spec};

use crate::error::{Result, RuntimeError};
use crate::mounts::{self, Recursive};
use crate::sys::{fd_path, open_in_root};

/// What rootfs setup needs to know beyond the spec.
#[derive(Debug)]
pub(crate) struct RootfsPlan<'a> {
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    pub user_ns: bool,
    pub cgroup_ns: bool,
    pub cgroup_path: &'a Path,
    pub hierarchies: &'a [Hierarchy],
}

/// The devices every container gets (OCI runtime spec, "Default Devices").
const DEFAULT_DEVICES: [(&str, u64, u64); 6] = [
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

fn mount_err(what: &str, dest: &Path, errno: Errno) -> RuntimeError {
    RuntimeError::sys(format!("{what} at {}", dest.display()), errno)
}

/// Everything before pivot_root: propagation, the rootfs bind, spec mounts and /dev.
pub(crate) fn prepare(plan: &RootfsPlan<'_>) -> Result<OwnedFd> {
    // Our mounts must not leak back to the host: default to rslave like runc; the spec's
    // rootfsPropagation is applied to the new root after pivot.
    make_rslave("/").map_err(|e| mount_err("make / rslave", Path::new("/"), e))?;
    // pivot_root needs the new root to be a mount point.
    mount(
        Some(plan.rootfs),
        plan.rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| mount_err("bind rootfs onto itself", plan.rootfs, e))?;
    let root = nix::fcntl::open(
        plan.rootfs,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| mount_err("open rootfs", plan.rootfs, e))?;

    for m in plan.spec.mounts().iter().flatten() {
        mount_one(plan, root.as_raw_fd(), m)?;
    }
    create_devices(plan, root.as_raw_fd())?;
    Ok(root)
}

fn mount_one(plan: &RootfsPlan<'_>, root: RawFd, m: &Mount) -> Result<()> {
    let dest = m.destination();
    if !dest.is_absolute() {
        return Err(RuntimeError::Invalid(format!(
            "mount destination {} is not absolute: OCI requires an absolute path inside the container",
            dest.display()
        )));
    }
    let opts = mounts::parse(m.options().as_deref().unwrap_or(&[]));
    let typ = m.typ().as_deref().unwrap_or("");
    let is_bind = opts.bind.is_some() || typ == "bind";

    if typ == "cgroup" {
        return mount_cgroup(plan, root, dest, opts.flags);
    }

    let source = m.source().clone().unwrap_or_default();
    let target_is_dir = if is_bind {
        std::fs::metadata(&source)
            .map(|md| md.is_dir())
            .map_err(|e| RuntimeError::io("bind mount source", &source, e))?
    } else {
        true
    };
    let target = ensure_in_root(root, dest, target_is_dir)?;
    if matches!(typ, "proc" | "sysfs") {
        // The target of a procfs/sysfs must be a real directory of the rootfs, never a symlink.
        let st = fstat(&target).map_err(|e| mount_err("stat", dest, e))?;
        if SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) != SFlag::S_IFDIR {
            return Err(RuntimeError::Invalid(format!(
                "{typ} mount destination {} is not a directory in the rootfs",
                dest.display()
            )));
        }
    }
    let tpath = fd_path(target.as_raw_fd());

    if is_bind {
        let mut flags = MsFlags::MS_BIND;
        if opts.bind == Some(Recursive::Yes) {
            flags |= MsFlags::MS_REC;
        }
        mount(
            Some(&source),
            tpath.as_str(),
            None::<&str>,
            flags,
            None::<&str>,
        )
        .map_err(|e| mount_err(&format!("bind {}", source.display()), dest, e))?;
        let extra = opts.flags & !MsFlags::MS_REMOUNT;
        if !extra.is_empty() {
            // Flags on a bind take a second, remount call.
            remount_in_root(root, dest, target_is_dir, extra, "remount bind with flags")?;
        }
    } else {
        let data = (!opts.data.is_empty()).then_some(opts.data.as_str());
        let res = mount(
            Some(source.as_path())
                .filter(|s| !s.as_os_str().is_empty())
                .or(Some(Path::new(typ))),
            tpath.as_str(),
            Some(typ),
            opts.flags,
            data,
        );
        match res {
            Ok(()) => {}
            // sysfs cannot be mounted in a user namespace that does not own the network
            // namespace; runc falls back to a read-only recursive bind of the host's /sys.
            Err(Errno::EPERM) if typ == "sysfs" && plan.user_ns => {
                mount(
                    Some("/sys"),
                    tpath.as_str(),
                    None::<&str>,
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    None::<&str>,
                )
                .map_err(|e| mount_err("bind /sys (sysfs fallback)", dest, e))?;
            }
            Err(e) => return Err(mount_err(&format!("mount {typ}"), dest, e)),
        }
    }
    if !opts.propagation.is_empty() {
        let target = ensure_in_root(root, dest, target_is_dir)?;
        for p in &opts.propagation {
            mount(
                None::<&str>,
                fd_path(target.as_raw_fd()).as_str(),
                None::<&str>,
                *p,
                None::<&str>,
            )
            .map_err(|e| mount_err("set propagation", dest, e))?;
        }
    }
    Ok(())
}

/// A `cgroup` mount: with a cgroup namespace, fresh cgroupfs mounts (rooted at the namespace);
/// without one, binds of the container's own cgroup directories. v1 gets a tmpfs with one
/// directory per hierarchy, as Docker and runc lay it out.
fn mount_cgroup(plan: &RootfsPlan<'_>, root: RawFd, dest: &Path, flags: MsFlags) -> Result<()> {
    let rel = plan
        .cgroup_path
        .strip_prefix("/")
        .unwrap_or(plan.cgroup_path);
    let base_flags = flags & (MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC);
    let unified_only =
        plan.hierarchies.len() == 1 && matches!(plan.hierarchies[0].kind, HierarchyKind::V2);
    if unified_only {
        let t = ensure_in_root(root, dest, true)?;
        let tp = fd_path(t.as_raw_fd());
        if plan.cgroup_ns {
            mount(
                Some("cgroup2"),
                tp.as_str(),
                Some("cgroup2"),
                flags,
                None::<&str>,
            )
        } else {
            let src = plan.hierarchies[0].mountpoint.join(rel);
            mount(
                Some(&src),
                tp.as_str(),
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
        }
        .map_err(|e| mount_err("mount cgroup2", dest, e))?;
        return Ok(());
    }
    let t = ensure_in_root(root, dest, true)?;
    mount(
        Some("tmpfs"),
        fd_path(t.as_raw_fd()).as_str(),
        Some("tmpfs"),
        base_flags,
        Some("mode=755"),
    )
    .map_err(|e| mount_err("mount cgroup tmpfs", dest, e))?;
    for h in plan.hierarchies {
        // On a hybrid host the cgroup2 mount holds no controller of ours; runc and Docker do not
        // show it inside containers either.
        if matches!(h.kind, HierarchyKind::V2) {
            continue;
        }
        let Some(name) = h.mountpoint.file_name() else {
            continue;
        };
        let sub = dest.join(name);
        let t = ensure_in_root(root, &sub, true)?;
        let tp = fd_path(t.as_raw_fd());
        match (&h.kind, plan.cgroup_ns) {
            (HierarchyKind::V1 { controllers }, true) => {
                let data = controllers.join(",");
                // A named hierarchy (name=systemd) is mounted with its name as source, as runc does.
                let source = controllers
                    .iter()
                    .find_map(|c| c.strip_prefix("name="))
                    .unwrap_or("cgroup");
                mount(
                    Some(source),
                    tp.as_str(),
                    Some("cgroup"),
                    flags,
                    Some(data.as_str()),
                )
                .map_err(|e| mount_err("mount cgroup hierarchy", &sub, e))
            }
            (HierarchyKind::V2, true) => mount(
                Some("cgroup2"),
                tp.as_str(),
                Some("cgroup2"),
                flags,
                None::<&str>,
            )
            .map_err(|e| mount_err("mount cgroup hierarchy", &sub, e)),
            (_, false) => {
                let src = h.mountpoint.join(rel);
                let src = if src.exists() {
                    src
                } else {
                    h.mountpoint.clone()
                };
                mount(
                    Some(&src),
                    tp.as_str(),
                    None::<&str>,
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    None::<&str>,
                )
                .map_err(|e| mount_err("mount cgroup hierarchy", &sub, e))
                .and_then(|()| remount_in_root(root, &sub, true, flags, "mount cgroup hierarchy"))
            }
        }?;
    }
    if flags.contains(MsFlags::MS_RDONLY) {
        remount_in_root(
            root,
            dest,
            true,
            base_flags | MsFlags::MS_RDONLY,
            "remount cgroup tmpfs read-only",
        )?;
    }
    Ok(())
}

/// Applies `flags` to the mount now at `dest` with a bind remount. The target is reopened so
/// the call reaches the mount just made there, not the directory it covers.
fn remount_in_root(root: RawFd, dest: &Path, dir: bool, flags: MsFlags, what: &str) -> Result<()> {
    let t = ensure_in_root(root, dest, dir)?;
    mount(
        None::<&str>,
        fd_path(t.as_raw_fd()).as_str(),
        None::<&str>,
        flags | MsFlags::MS_BIND | MsFlags::MS_REMOUNT,
        None::<&str>,
    )
    .map_err(|e| mount_err(what, dest, e))
}

/// Makes the mount at `path` and everything below it a slave: mount events still reach it
/// from its peers, but nothing done to it propagates back to the host.
fn make_rslave(path: &str) -> nix::Result<()> {
    mount(
        None::<&str>,
        path,
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
}

/// Opens (creating if missing) `path` inside the root, as an `O_PATH` fd. Missing parents are
/// created as directories; the last component as a directory or an empty file.
pub(crate) fn ensure_in_root(root: RawFd, path: &Path, dir: bool) -> Result<OwnedFd> {
    if let Ok(fd) = open_in_root(root, path, libc::O_PATH) {
        return Ok(fd);
    }
    // Missing: find where it lands inside the root (through symlinks whose targets do not exist
    // yet), then create each missing component there.
    let resolved = resolve_in_root(root, path)?;
    let mut cur = PathBuf::from("/");
    let comps: Vec<_> = resolved
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect();
    for (i, c) in comps.iter().enumerate() {
        let Component::Normal(name) = c else { continue };
        let next = cur.join(name);
        if open_in_root(root, &next, libc::O_PATH).is_err() {
            let parent = open_in_root(root, &cur, libc::O_PATH | libc::O_DIRECTORY)
                .map_err(|e| mount_err("open parent", &cur, e))?;
            let cname = CString::new(name.as_encoded_bytes())
                .map_err(|_| RuntimeError::Invalid(format!("NUL in {}", path.display())))?;
            let last = i + 1 == comps.len();
            // SAFETY: `parent` is a live directory fd and `cname` a valid C string. Neither
            // mkdirat nor openat with O_EXCL|O_NOFOLLOW follows a symlink in the last component.
            let ret = unsafe {
                if last && !dir {
                    let fd = libc::openat(
                        parent.as_raw_fd(),
                        cname.as_ptr(),
                        libc::O_CREAT
                            | libc::O_EXCL
                            | libc::O_NOFOLLOW
                            | libc::O_WRONLY
                            | libc::O_CLOEXEC,
                        0o644,
                    );
                    if fd >= 0 {
                        libc::close(fd);
                        0
                    } else {
                        fd
                    }
                } else {
                    libc::mkdirat(parent.as_raw_fd(), cname.as_ptr(), 0o755)
                }
            };
            if ret < 0 && Errno::last() != Errno::EEXIST {
                return Err(mount_err("create mount point", &next, Errno::last()));
            }
        }
        cur = next;
    }
    open_in_root(root, &resolved, libc::O_PATH).map_err(|e| mount_err("open mount point", path, e))
}

/// Resolves `path` the way `RESOLVE_IN_ROOT` does (symlinks and `..` never leave the root), but
/// also through symlinks whose targets do not exist yet, so the caller can create the missing
/// part where the symlink points, inside the root.
fn resolve_in_root(root: RawFd, path: &Path) -> Result<PathBuf> {
    use std::collections::VecDeque;
    use std::ffi::OsString;
    fn push_components(queue: &mut VecDeque<OsString>, p: &Path, front: bool) {
        let comps: Vec<OsString> = p
            .components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_os_string()),
                Component::ParentDir => Some("..".into()),
                _ => None,
            })
            .collect();
        if front {
            for c in comps.into_iter().rev() {
                queue.push_front(c);
            }
        } else {
            queue.extend(comps);
        }
    }
    let mut queue = VecDeque::new();
    push_components(&mut queue, path, false);
    let mut resolved: Vec<OsString> = Vec::new();
    let mut hops = 0;
    let mut missing = false;
    while let Some(c) = queue.pop_front() {
        if c == ".." {
            resolved.pop();
            continue;
        }
        if !missing {
            let parent: PathBuf = Path::new("/").join(resolved.iter().collect::<PathBuf>());
            match open_in_root(root, &parent, libc::O_PATH | libc::O_DIRECTORY) {
                Ok(pfd) => match nix::fcntl::readlinkat(&pfd, c.as_os_str()) {
                    Ok(target) => {
                        hops += 1;
                        if hops > 40 {
                            return Err(mount_err("resolve", path, Errno::ELOOP));
                        }
                        let target = PathBuf::from(target);
                        if target.is_absolute() {
                            resolved.clear();
                        }
                        push_components(&mut queue, &target, true);
                        continue;
                    }
                    Err(Errno::ENOENT) => missing = true,
                    Err(_) => {}
                },
                Err(_) => missing = true,
            }
        }
        resolved.push(c);
    }
    Ok(Path::new("/").join(resolved.iter().collect::<PathBuf>()))
}

/// One device node to create in the container's /dev.
#[derive(Debug)]
struct DevNode {
    path: PathBuf,
    kind: SFlag,
    major: u64,
    minor: u64,
    mode: u32,
    uid: u32,
    gid: u32,
}

fn create_devices(plan: &RootfsPlan<'_>, root: RawFd) -> Result<()> {
    let mut devices: Vec<DevNode> = DEFAULT_DEVICES
        .iter()
        .map(|(p, ma, mi)| DevNode {
            path: PathBuf::from(p),
            kind: SFlag::S_IFCHR,
            major: *ma,
            minor: *mi,
            mode: 0o666,
            uid: 0,
            gid: 0,
        })
        .collect();
    for d in plan
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.devices().clone())
        .unwrap_or_default()
    {
        devices.retain(|x| x.path != *d.path());
        devices.push(spec_device(&d)?);
    }
    for dev in devices {
        let path = &dev.path;
        if plan.user_ns {
            // mknod is refused in a user namespace: bind the host's node instead, as runc does.
            let t = ensure_in_root(root, path, false)?;
            mount(
                Some(path),
                fd_path(t.as_raw_fd()).as_str(),
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .map_err(|e| mount_err("bind device", path, e))?;
            continue;
        }
        let parent = path.parent().unwrap_or(Path::new("/"));
        let pfd = ensure_in_root(root, parent, true)?;
        let pdir = nix::fcntl::open(
            fd_path(pfd.as_raw_fd()).as_str(),
            OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| mount_err("open device dir", parent, e))?;
        let name = path.file_name().unwrap_or_default();
        let cname = CString::new(name.as_encoded_bytes())
            .map_err(|_| RuntimeError::Invalid("NUL in device path".into()))?;
        let rdev = makedev(dev.major, dev.minor);
        let node = || {
            nix::sys::stat::mknodat(
                &pdir,
                name,
                dev.kind,
                Mode::from_bits_truncate(dev.mode & 0o7777),
                rdev,
            )
        };
        match node() {
            Ok(()) => {}
            Err(Errno::EEXIST) => {
                // Whatever the rootfs had there (perhaps a symlink to a host file) is replaced by
                // the real node: we never chmod or chown through it.
                let st =
                    nix::sys::stat::fstatat(&pdir, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
                        .map_err(|e| mount_err("stat", path, e))?;
                let same = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) == dev.kind
                    && st.st_rdev == rdev;
                if !same {
                    nix::unistd::unlinkat(&pdir, name, nix::unistd::UnlinkatFlags::NoRemoveDir)
                        .map_err(|e| mount_err("replace non-device", path, e))?;
                    node().map_err(|e| mount_err("mknod", path, e))?;
                }
            }
            Err(e) => return Err(mount_err("mknod", path, e)),
        }
        // SAFETY: pdir is a live directory fd, cname a valid C string, and the entry is the
        // device node made above (never a symlink); AT_SYMLINK_NOFOLLOW keeps chown on it.
        unsafe {
            libc::fchmodat(pdir.as_raw_fd(), cname.as_ptr(), dev.mode & 0o7777, 0);
            libc::fchownat(
                pdir.as_raw_fd(),
                cname.as_ptr(),
                dev.uid,
                dev.gid,
                libc::AT_SYMLINK_NOFOLLOW,
            );
        }
    }
    Ok(())
}

fn spec_device(d: &LinuxDevice) -> Result<DevNode> {
    let kind = match d.typ() {
        LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
        LinuxDeviceType::B => SFlag::S_IFBLK,
        LinuxDeviceType::P => SFlag::S_IFIFO,
        LinuxDeviceType::A => {
            return Err(RuntimeError::Invalid(format!(
                "device {}: type 'a' is only valid in cgroup rules",
                d.path().display()
            )))
        }
    };
    let major = u64::try_from(d.major()).map_err(|_| {
        RuntimeError::Invalid(format!("device {}: negative major", d.path().display()))
    })?;
    let minor = u64::try_from(d.minor()).map_err(|_| {
        RuntimeError::Invalid(format!("device {}: negative minor", d.path().display()))
    })?;
    Ok(DevNode {
        path: d.path().clone(),
        kind,
        major,
        minor,
        mode: d.file_mode().unwrap_or(0o666),
        uid: d.uid().unwrap_or(0),
        gid: d.gid().unwrap_or(0),
    })
}

/// The standard symlinks in /dev.
pub(crate) fn dev_symlinks(root: &Path) {
    let mut links = vec![
        ("/proc/self/fd", "dev/fd"),
        ("/proc/self/fd/0", "dev/stdin"),
        ("/proc/self/fd/1", "dev/stdout"),
        ("/proc/self/fd/2", "dev/stderr"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("/proc/kcore", "dev/core"));
    }
    if root.join("dev/pts/ptmx").exists() || root.join("dev/pts").is_dir() {
        let _ = std::fs::remove_file(root.join("dev/ptmx"));
        links.push(("pts/ptmx", "dev/ptmx"));
    }
    for (target, link) in links {
        let _ = symlink(target, root.join(link));
    }
}

/// Moves into the new root: pivot_root, then detaches the old root so nothing of the host
/// stays reachable. With `no_pivot` (rootfs on ramfs/initramfs, where pivot_root is impossible)
/// it moves the mount onto / and chroots instead, which is weaker and said so by the caller.
pub(crate) fn pivot(rootfs: &Path, no_pivot: bool) -> Result<()> {
    if no_pivot {
        chdir(rootfs).map_err(|e| mount_err("chdir", rootfs, e))?;
        mount(
            Some(rootfs),
            "/",
            None::<&str>,
            MsFlags::MS_MOVE,
            None::<&str>,
        )
        .map_err(|e| mount_err("move rootfs to /", rootfs, e))?;
        nix::unistd::chroot(".").map_err(|e| mount_err("chroot", rootfs, e))?;
        return chdir("/").map_err(|e| mount_err("chdir", Path::new("/"), e));
    }
    let old = nix::fcntl::open(
        "/",
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| mount_err("open old root", Path::new("/"), e))?;
    let new = nix::fcntl::open(
        rootfs,
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| mount_err("open new root", rootfs, e))?;
    fchdir(&new).map_err(|e| mount_err("fchdir", rootfs, e))?;
    pivot_root(".", ".").map_err(|e| mount_err("pivot_root", rootfs, e))?;
    fchdir(&old).map_err(|e| mount_err("fchdir old root", rootfs, e))?;
    // Make the old root a slave so the detach below cannot propagate to the host.
    make_rslave(".").map_err(|e| mount_err("make old root rslave", rootfs, e))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| mount_err("detach old root", rootfs, e))?;
    chdir("/").map_err(|e| mount_err("chdir", Path::new("/"), e))
}

/// After pivot: rootfs propagation, read-only paths, masked paths, read-only root.
///
/// Masked files are covered with /dev/null only after checking, through an fd that cannot be
/// swapped afterwards, that it is the null device (char 1:3): a rootfs that planted a symlink
/// or another file there (CVE-2025-31133 class) gets an error, never a bind of that file.
pub(crate) fn finish(spec: &Spec) -> Result<()> {
    let linux = spec.linux().clone().unwrap_or_default();
    let root = nix::fcntl::open(
        "/",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| mount_err("open /", Path::new("/"), e))?;
    if let Some(p) = linux.rootfs_propagation() {
        let flags = mounts::propagation(p).ok_or_else(|| {
            RuntimeError::Invalid(format!("linux.rootfsPropagation {p:?} is not one of private, rprivate, shared, rshared, slave, rslave, unbindable, runbindable"))
        })?;
        mount(None::<&str>, "/", None::<&str>, flags, None::<&str>)
            .map_err(|e| mount_err("set rootfs propagation", Path::new("/"), e))?;
    }
    for p in linux.readonly_paths().iter().flatten() {
        let Ok(fd) = open_in_root(
            root.as_raw_fd(),
            Path::new(p),
            libc::O_PATH | libc::O_NOFOLLOW,
        ) else {
            continue;
        };
        let fp = fd_path(fd.as_raw_fd());
        mount(
            Some(fp.as_str()),
            fp.as_str(),
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| mount_err("bind read-only path", Path::new(p), e))?;
        let fd = open_in_root(
            root.as_raw_fd(),
            Path::new(p),
            libc::O_PATH | libc::O_NOFOLLOW,
        )
        .map_err(|e| mount_err("reopen read-only path", Path::new(p), e))?;
        let fp = fd_path(fd.as_raw_fd());
        let keep = statvfs_flags(&fp);
        mount(
            None::<&str>,
            fp.as_str(),
            None::<&str>,
            keep | MsFlags::MS_RDONLY | MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| mount_err("remount read-only", Path::new(p), e))?;
    }
    let masked = linux.masked_paths().clone().unwrap_or_default();
    let devnull = if masked.is_empty() {
        None
    } else {
        Some(open_devnull(root.as_raw_fd())?)
    };
    for p in &masked {
        let Ok(fd) = open_in_root(
            root.as_raw_fd(),
            Path::new(p),
            libc::O_PATH | libc::O_NOFOLLOW,
        ) else {
            continue;
        };
        let st = fstat(&fd).map_err(|e| mount_err("stat masked path", Path::new(p), e))?;
        let fp = fd_path(fd.as_raw_fd());
        let is_dir = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFDIR;
        let res = if is_dir {
            mount(
                Some("tmpfs"),
                fp.as_str(),
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                Some("size=0"),
            )
        } else {
            let null = devnull
                .as_ref()
                .map(|d| fd_path(d.as_raw_fd()))
                .unwrap_or_default();
            mount(
                Some(null.as_str()),
                fp.as_str(),
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
        };
        res.map_err(|e| mount_err("mask path", Path::new(p), e))?;
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        let keep = statvfs_flags("/");
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            keep | MsFlags::MS_RDONLY | MsFlags::MS_BIND | MsFlags::MS_REMOUNT,
            None::<&str>,
        )
        .map_err(|e| mount_err("remount root read-only", Path::new("/"), e))?;
    }
    Ok(())
}

/// The nosuid/nodev/noexec flags a mount has now; a bind remount must repeat locked flags.
fn statvfs_flags(path: &str) -> MsFlags {
    use nix::sys::statvfs::{statvfs, FsFlags};
    let Ok(st) = statvfs(path) else {
        return MsFlags::empty();
    };
    let f = st.flags();
    let mut out = MsFlags::empty();
    for (a, b) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
    ] {
        if f.contains(a) {
            out |= b;
        }
    }
    out
}

/// Opens the container's /dev/null without following symlinks and checks it is the null device.
fn open_devnull(root: RawFd) -> Result<OwnedFd> {
    let fd = open_in_root(
        root,
        Path::new("/dev/null"),
        libc::O_PATH | libc::O_NOFOLLOW,
    )
    .map_err(|e| mount_err("open", Path::new("/dev/null"), e))?;
    let st = fstat(&fd).map_err(|e| mount_err("stat", Path::new("/dev/null"), e))?;
    let is_chr = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFCHR;
    if !is_chr || major(st.st_rdev) != 1 || minor(st.st_rdev) != 3 {
        return Err(RuntimeError::Invalid("/dev/null in the container is not the null device (char 1:3): refusing to use it to mask paths".into()));
    }
    Ok(fd)
}
