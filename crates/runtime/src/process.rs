//! The child's side: from "inside the new namespaces" to `execve` of the user's program.
//!
//! Shared by a container's init and by `exec` into a running container, so both get exactly the
//! same security settings. The order is runc's, for the same reasons: seccomp without
//! no_new_privileges must load while we still hold CAP_SYS_ADMIN; capabilities are set after the
//! uid change (with keep-caps) so that they survive it; the exec fifo is waited on after every
//! fallible step, so `create` reports failures and `start` only ever starts.

use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::unistd::{Gid, Uid};
use oci_spec::runtime::{PosixRlimit, Process, Spec};

use crate::error::{Result, RuntimeError};
use crate::seccomp::Compiled;
use crate::sync::{self, Msg};
use crate::{caps, rootfs};

/// How the child learns that it may exec.
#[derive(Debug)]
pub(crate) enum StartGate {
    /// `create`: block opening the exec fifo (O_PATH fd) until `start` reads it.
    Fifo(OwnedFd),
    /// `run`/`exec`: wait for `Msg::Start` on the sync socket.
    Sync,
}

/// Where the pty master goes when the process wants a terminal.
#[derive(Debug)]
pub(crate) enum Console {
    /// No terminal.
    None,
    /// Send it over this connected unix socket (runc's --console-socket protocol).
    Socket(OwnedFd),
    /// Send it to the parent over the sync socket, which proxies our stdio.
    Parent,
}

/// Everything the child needs; built by the parent before clone, inherited by copy.
#[derive(Debug)]
pub(crate) struct ChildPlan<'a> {
    pub spec: &'a Spec,
    pub process: &'a Process,
    pub sync: OwnedFd,
    pub gate: StartGate,
    pub console: Console,
    /// Set up the root filesystem (init only; exec joins an existing one).
    pub rootfs: Option<rootfs::RootfsPlan<'a>>,
    pub no_pivot: bool,
    /// Namespaces to join with setns, in order (user first).
    pub join: Vec<(nix::sched::CloneFlags, OwnedFd)>,
    /// Create a cgroup namespace after the parent has moved us into our cgroup.
    pub unshare_cgroup: bool,
    pub user_ns: bool,
    pub seccomp: Option<Compiled>,
    pub preserve_fds: i32,
    pub is_init: bool,
}

/// Runs in the child; never returns. Reports failure to the parent and exits 1.
pub(crate) fn child_main(plan: ChildPlan<'_>) -> ! {
    let sync_fd = plan.sync.as_raw_fd();
    // `run` borrows the plan so the sync socket stays open to report its error.
    let err = match run(&plan) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = sync::send(sync_fd, &Msg::Error(err.to_string()));
    // SAFETY: _exit is always safe; we must not run the parent's atexit handlers or destructors.
    unsafe { libc::_exit(1) }
}

fn run(plan: &ChildPlan<'_>) -> Result<std::convert::Infallible> {
    // Wait until the parent wrote our id maps; our cgroup comes in parallel (see Msg::Cgroup).
    let parent = sync::ParentLink::new(&plan.sync);
    parent.expect(Msg::Go)?;
    if plan.user_ns {
        nix::unistd::setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))
            .map_err(|e| RuntimeError::sys("setresgid 0 in the user namespace", e))?;
        nix::unistd::setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0)).map_err(
            |e| RuntimeError::sys("setresuid 0 in the user namespace (is uid 0 mapped?)", e),
        )?;
    }
    for (kind, fd) in &plan.join {
        nix::sched::setns(fd, *kind)
            .map_err(|e| RuntimeError::sys(format!("join namespace {kind:?}"), e))?;
    }
    if plan.unshare_cgroup {
        // The namespace's root is the cgroup we are in when we unshare: wait to be in ours.
        parent.wait_cgroup()?;
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP)
            .map_err(|e| RuntimeError::sys("unshare cgroup namespace", e))?;
    }
    let linux = plan.spec.linux().clone().unwrap_or_default();

    if let Some(rp) = &plan.rootfs {
        rootfs::prepare(rp)?;
        let has_hooks = plan.spec.hooks().as_ref().is_some_and(|h| {
            h.prestart().as_ref().is_some_and(|v| !v.is_empty())
                || h.create_runtime().as_ref().is_some_and(|v| !v.is_empty())
        });
        if has_hooks {
            sync::send(plan.sync.as_raw_fd(), &Msg::Hooks)?;
            parent.expect(Msg::Go)?;
        }
        rootfs::dev_symlinks(rp.rootfs);
        rootfs::pivot(rp.rootfs, plan.no_pivot)?;
        // As runc: a missing working directory is created (Dockerfile WORKDIR, `run -w`), as
        // root and before a read-only root is sealed. After pivot_root every path, symlinks
        // included, resolves inside the container's root.
        let cwd = plan.process.cwd();
        if !cwd.as_os_str().is_empty() && !cwd.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(cwd)
                .map_err(|e| RuntimeError::io("create process.cwd", cwd.clone(), e))?;
        }
        // sysctls go through the container's /proc/sys before it is made read-only.
        for (k, v) in linux.sysctl().iter().flatten() {
            let path = PathBuf::from("/proc/sys").join(k.replace('.', "/"));
            std::fs::write(&path, v).map_err(|e| RuntimeError::io("write sysctl", path, e))?;
        }
        rootfs::finish(plan.spec)?;
        if let Some(h) = plan.spec.hostname() {
            nix::unistd::sethostname(h)
                .map_err(|e| RuntimeError::sys(format!("sethostname {h:?}"), e))?;
        }
        if let Some(d) = plan.spec.domainname() {
            let c = CString::new(d.as_str())
                .map_err(|_| RuntimeError::Invalid("domainname contains NUL".into()))?;
            // SAFETY: valid pointer and length of a C string we own.
            if unsafe { libc::setdomainname(c.as_ptr(), d.len()) } != 0 {
                return Err(RuntimeError::sys(
                    format!("setdomainname {d:?}"),
                    Errno::last(),
                ));
            }
        }
    }

    // Terminal: the pty must come from the container's own devpts.
    if process_terminal(plan.process) {
        setup_terminal(plan)?;
    } else {
        nix::unistd::setsid().map_err(|e| RuntimeError::sys("setsid", e))?;
    }

    for r in plan.process.rlimits().iter().flatten() {
        set_rlimit(r)?;
    }
    let nnp = plan.process.no_new_privileges().unwrap_or(false);
    if nnp {
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return Err(RuntimeError::sys("set no_new_privs", Errno::last()));
        }
    }
    if let (Some(sc), false) = (&plan.seccomp, nnp) {
        sc.load()?;
    }

    // Identity: bounding set first, then groups and ids, then the capability sets.
    let user = plan.process.user();
    let default_caps = oci_spec::runtime::LinuxCapabilities::default();
    let caps_spec = plan.process.capabilities().as_ref();
    if let Some(c) = caps_spec {
        caps::drop_bounding(c)?;
    }
    let uid = user.uid();
    let gid = user.gid();
    if uid != 0 {
        caps::keep_caps_across_setuid()?;
    }
    let groups: Vec<Gid> = user
        .additional_gids()
        .iter()
        .flatten()
        .map(|g| Gid::from_raw(*g))
        .collect();
    match nix::unistd::setgroups(&groups) {
        Ok(()) => {}
        // In a user namespace with setgroups denied, only an empty list could be set anyway.
        Err(Errno::EPERM) if plan.user_ns && groups.is_empty() => {}
        Err(e) => return Err(RuntimeError::sys(format!("setgroups {groups:?}"), e)),
    }
    nix::unistd::setresgid(Gid::from_raw(gid), Gid::from_raw(gid), Gid::from_raw(gid))
        .map_err(|e| RuntimeError::sys(format!("setresgid {gid} (is it mapped?)"), e))?;
    nix::unistd::setresuid(Uid::from_raw(uid), Uid::from_raw(uid), Uid::from_raw(uid))
        .map_err(|e| RuntimeError::sys(format!("setresuid {uid} (is it mapped?)"), e))?;
    caps::apply_sets(caps_spec.unwrap_or(&default_caps))?;
    if let Some(umask) = user.umask() {
        nix::sys::stat::umask(Mode::from_bits_truncate(umask as libc::mode_t));
    }

    let cwd = plan.process.cwd();
    nix::unistd::chdir(cwd.as_path())
        .map_err(|e| RuntimeError::sys(format!("chdir to process.cwd {}", cwd.display()), e))?;
    let mut env_list = plan.process.env().clone().unwrap_or_default();
    if !env_list.iter().any(|e| e.starts_with("HOME=")) {
        // As runc and Docker do: HOME from the container's /etc/passwd, else "/".
        env_list.push(format!("HOME={}", home_of(uid)));
    }
    let env: Vec<CString> = env_list
        .iter()
        .filter_map(|e| CString::new(e.as_str()).ok())
        .collect();
    let args = plan.process.args().clone().unwrap_or_default();
    let Some(arg0) = args.first() else {
        return Err(RuntimeError::Invalid(
            "process.args is empty: give the program to run".into(),
        ));
    };
    let exe = find_executable(arg0, plan.process.env().as_deref().unwrap_or(&[]))?;
    let argv: Vec<CString> = args
        .iter()
        .map(|a| CString::new(a.as_str()))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| RuntimeError::Invalid("process.args contains a NUL byte".into()))?;

    // Limits must hold before the user's program runs.
    parent.wait_cgroup()?;
    sync::send(plan.sync.as_raw_fd(), &Msg::Ready)?;
    match &plan.gate {
        StartGate::Fifo(fd) => {
            // Blocks until `start` opens the read side.
            let w = nix::fcntl::open(
                format!("/proc/self/fd/{}", fd.as_raw_fd()).as_str(),
                OFlag::O_WRONLY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| RuntimeError::sys("open exec fifo", e))?;
            nix::unistd::write(&w, b"0").map_err(|e| RuntimeError::sys("write exec fifo", e))?;
        }
        StartGate::Sync => {
            parent.expect(Msg::Start)?;
        }
    }
    if let (Some(sc), true) = (&plan.seccomp, nnp) {
        sc.load()?;
    }
    crate::sys::cloexec_from(3 + plan.preserve_fds)?;
    // Reset the signal mask the parent may have blocked for forwarding.
    let _ = nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&nix::sys::signal::SigSet::empty()),
        None,
    );
    let err = nix::unistd::execve(&exe, &argv, &env).unwrap_err();
    // After start nobody listens on sync any more: say it on stderr like runc does.
    let msg = format!("berth-runtime: exec {:?}: {err}\n", exe);
    let _ = nix::unistd::write(std::io::stderr(), msg.as_bytes());
    // SAFETY: exiting the child without unwinding.
    unsafe { libc::_exit(if err == Errno::ENOENT { 127 } else { 126 }) }
}

/// The home directory of `uid` in the container's /etc/passwd, or "/".
fn home_of(uid: u32) -> String {
    // The rootfs is the image's: only read a regular file (a FIFO there would block us forever).
    std::fs::symlink_metadata("/etc/passwd")
        .ok()
        .filter(|m| m.is_file())
        .and_then(|_| std::fs::read_to_string("/etc/passwd").ok())
        .and_then(|text| {
            text.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() >= 6 && f[2].parse() == Ok(uid)).then(|| f[5].to_string())
            })
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/".into())
}

fn process_terminal(p: &Process) -> bool {
    p.terminal().unwrap_or(false)
}

/// Refuses limits the kernel would refuse anyway, with a message that says why.
pub(crate) fn check_rlimit(r: &PosixRlimit) -> Result<()> {
    if r.soft() > r.hard() {
        return Err(RuntimeError::Invalid(format!(
            "rlimit {:?}: soft limit {} is above the hard limit {}: lower the soft limit or raise the hard one",
            r.typ(), r.soft(), r.hard()
        )));
    }
    if matches!(r.typ(), oci_spec::runtime::PosixRlimitType::RlimitNofile) {
        if let Ok(max) = std::fs::read_to_string("/proc/sys/fs/nr_open")
            .map(|s| s.trim().parse::<u64>().unwrap_or(u64::MAX))
        {
            if r.hard() > max {
                return Err(RuntimeError::Invalid(format!(
                    "rlimit RLIMIT_NOFILE: hard limit {} is above the kernel's maximum fs.nr_open = {max}: use at most {max} or raise fs.nr_open on the host",
                    r.hard()
                )));
            }
        }
    }
    Ok(())
}

fn set_rlimit(r: &PosixRlimit) -> Result<()> {
    check_rlimit(r)?;
    let res = rlimit_resource(r.typ());
    let lim = libc::rlimit {
        rlim_cur: r.soft(),
        rlim_max: r.hard(),
    };
    // SAFETY: `lim` is a valid rlimit; setrlimit only reads it.
    if unsafe { libc::setrlimit(res, &lim) } != 0 {
        let errno = Errno::last();
        let mut cur = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into our local struct.
        unsafe { libc::getrlimit(res, &mut cur) };
        return Err(RuntimeError::Invalid(format!(
            "rlimit {:?}: cannot set soft {} / hard {} ({errno}); the current hard limit is {} and raising it needs CAP_SYS_RESOURCE",
            r.typ(), r.soft(), r.hard(), cur.rlim_max
        )));
    }
    Ok(())
}

fn rlimit_resource(t: oci_spec::runtime::PosixRlimitType) -> libc::__rlimit_resource_t {
    use oci_spec::runtime::PosixRlimitType as T;
    match t {
        T::RlimitCpu => libc::RLIMIT_CPU,
        T::RlimitFsize => libc::RLIMIT_FSIZE,
        T::RlimitData => libc::RLIMIT_DATA,
        T::RlimitStack => libc::RLIMIT_STACK,
        T::RlimitCore => libc::RLIMIT_CORE,
        T::RlimitRss => libc::RLIMIT_RSS,
        T::RlimitNproc => libc::RLIMIT_NPROC,
        T::RlimitNofile => libc::RLIMIT_NOFILE,
        T::RlimitMemlock => libc::RLIMIT_MEMLOCK,
        T::RlimitAs => libc::RLIMIT_AS,
        T::RlimitLocks => libc::RLIMIT_LOCKS,
        T::RlimitSigpending => libc::RLIMIT_SIGPENDING,
        T::RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        T::RlimitNice => libc::RLIMIT_NICE,
        T::RlimitRtprio => libc::RLIMIT_RTPRIO,
        T::RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

/// `execvp`'s search, done before waiting for start so that `create` fails on a missing binary.
fn find_executable(arg0: &str, env: &[String]) -> Result<CString> {
    let to_c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| RuntimeError::Invalid("NUL in path".into()))
    };
    if arg0.contains('/') {
        return to_c(Path::new(arg0));
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let cand = Path::new(dir).join(OsStr::new(arg0));
        if let Ok(md) = std::fs::metadata(&cand) {
            use std::os::unix::fs::PermissionsExt;
            if md.is_file() && md.permissions().mode() & 0o111 != 0 {
                return to_c(&cand);
            }
        }
    }
    Err(RuntimeError::Invalid(format!(
        "exec: {arg0:?}: executable file not found in $PATH"
    )))
}

fn setup_terminal(plan: &ChildPlan<'_>) -> Result<()> {
    let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(|e| RuntimeError::sys("open /dev/ptmx", e))?;
    nix::pty::grantpt(&master).map_err(|e| RuntimeError::sys("grantpt", e))?;
    nix::pty::unlockpt(&master).map_err(|e| RuntimeError::sys("unlockpt", e))?;
    let name = nix::pty::ptsname_r(&master).map_err(|e| RuntimeError::sys("ptsname", e))?;
    let slave = nix::fcntl::open(
        name.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| RuntimeError::sys(format!("open {name}"), e))?;
    if let Some(sz) = plan.process.console_size() {
        use std::os::fd::AsFd;
        let _ = crate::tty::set_window_size(slave.as_fd(), sz.height() as u16, sz.width() as u16);
    }
    if plan.is_init {
        // /dev/console is the terminal, as runc makes it.
        let _ = std::fs::File::create("/dev/console");
        let _ = nix::mount::mount(
            Some(name.as_str()),
            "/dev/console",
            None::<&str>,
            nix::mount::MsFlags::MS_BIND,
            None::<&str>,
        );
    }
    let raw_master: RawFd = master.as_raw_fd();
    match &plan.console {
        Console::Socket(sock) => {
            let iov = [std::io::IoSlice::new(name.as_bytes())];
            let fds = [raw_master];
            nix::sys::socket::sendmsg::<()>(sock.as_raw_fd(), &iov, &[nix::sys::socket::ControlMessage::ScmRights(&fds)], nix::sys::socket::MsgFlags::empty(), None)
                .map_err(|e| RuntimeError::sys("send pty master to --console-socket", e))?;
        }
        Console::Parent => sync::send_with_fd(plan.sync.as_raw_fd(), &Msg::Pty, Some(raw_master))?,
        Console::None => return Err(RuntimeError::Invalid("process.terminal is true but no console socket was given: pass --console-socket, or run in the foreground".into())),
    }
    drop(master);
    nix::unistd::setsid().map_err(|e| RuntimeError::sys("setsid", e))?;
    // SAFETY: TIOCSCTTY takes an integer argument.
    if unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) } != 0 {
        return Err(RuntimeError::sys(
            "make the pty the controlling terminal",
            Errno::last(),
        ));
    }
    for fd in 0..3 {
        // SAFETY: replacing our stdio fds 0-2 with the pty slave; nothing else holds them as
        // OwnedFd in this child.
        let new = unsafe { nix::unistd::dup2_raw(&slave, fd) }
            .map_err(|e| RuntimeError::sys("dup2 pty", e))?;
        // The new fd *is* our stdio from now on: never let it close.
        let _ = std::os::fd::IntoRawFd::into_raw_fd(new);
    }
    Ok(())
}
