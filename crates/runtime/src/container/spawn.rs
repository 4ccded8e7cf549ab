//! The create path: namespaces and cgroup prepared, one clone, the parent's half of the
//! conversation with the child until it is ready.

use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use berth_cgroups::{AnyCgroupManager, CgroupManager};
use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::{LinuxNamespaceType, Process, Spec};

use crate::error::{Result, RuntimeError};
use crate::process::{self, ChildPlan, Console, StartGate};
use crate::rootfs::RootfsPlan;
use crate::state::{self, State};
use crate::sync::{self, Msg};
use crate::{hooks, seccomp, sys};

use super::{load_spec, now_secs, CreateOptions, Runtime, Spawned};

fn ns_flag(t: LinuxNamespaceType) -> CloneFlags {
    match t {
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
    }
}

/// The namespaces of a spec, split into "create" flags and "join these paths".
#[derive(Debug)]
struct NsPlan {
    clone: CloneFlags,
    join: Vec<(CloneFlags, OwnedFd)>,
    pid_join: Option<OwnedFd>,
    user_ns: bool,
    cgroup_new: bool,
    mount_new: bool,
}

fn plan_namespaces(spec: &Spec) -> Result<NsPlan> {
    let mut plan = NsPlan {
        clone: CloneFlags::empty(),
        join: Vec::new(),
        pid_join: None,
        user_ns: false,
        cgroup_new: false,
        mount_new: false,
    };
    let nss = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    let mut joins = Vec::new();
    for ns in &nss {
        let flag = ns_flag(ns.typ());
        match ns.path() {
            None => match ns.typ() {
                // A cgroup namespace must be made after the child is in its cgroup.
                LinuxNamespaceType::Cgroup => plan.cgroup_new = true,
                LinuxNamespaceType::Time => {
                    return Err(RuntimeError::Unsupported(
                        "time namespaces are not supported yet: remove the \"time\" namespace"
                            .into(),
                    ))
                }
                t => {
                    plan.clone |= flag;
                    if t == LinuxNamespaceType::User {
                        plan.user_ns = true;
                    }
                    if t == LinuxNamespaceType::Mount {
                        plan.mount_new = true;
                    }
                }
            },
            Some(p) => {
                let fd = nix::fcntl::open(p, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
                    .map_err(|e| {
                        RuntimeError::sys(
                            format!("open namespace {:?} path {}", ns.typ(), p.display()),
                            e,
                        )
                    })?;
                if ns.typ() == LinuxNamespaceType::Pid {
                    plan.pid_join = Some(fd);
                } else {
                    joins.push((flag, fd));
                }
            }
        }
    }
    // Join the user namespace first: the others are owned by it.
    joins.sort_by_key(|(f, _)| *f != CloneFlags::CLONE_NEWUSER);
    if joins.iter().any(|(f, _)| *f == CloneFlags::CLONE_NEWUSER) && !plan.clone.is_empty() {
        return Err(RuntimeError::Unsupported("joining an existing user namespace while creating new namespaces is not supported yet: give paths for all namespaces or create a new user namespace".into()));
    }
    plan.join = joins;
    Ok(plan)
}

/// Refuses sysctls that are not namespaced, or whose namespace the container does not have.
fn check_sysctls(spec: &Spec) -> Result<()> {
    let linux = spec.linux().clone().unwrap_or_default();
    let nss = linux.namespaces().clone().unwrap_or_default();
    let has = |t: LinuxNamespaceType| nss.iter().any(|n| n.typ() == t);
    let owned = crate::sysctl::Owned {
        ipc: has(LinuxNamespaceType::Ipc),
        net: has(LinuxNamespaceType::Network),
        uts: has(LinuxNamespaceType::Uts),
    };
    for key in linux.sysctl().iter().flat_map(|m| m.keys()) {
        crate::sysctl::check(key, owned)?;
    }
    Ok(())
}

fn write_id_maps(pid: i32, spec: &Spec) -> Result<()> {
    let linux = spec.linux().clone().unwrap_or_default();
    let fmt = |maps: Option<Vec<oci_spec::runtime::LinuxIdMapping>>| -> String {
        maps.unwrap_or_default()
            .iter()
            .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
            .collect()
    };
    let uid = fmt(linux.uid_mappings().clone());
    let gid = fmt(linux.gid_mappings().clone());
    if uid.is_empty() || gid.is_empty() {
        return Err(RuntimeError::Invalid(
            "a user namespace needs linux.uidMappings and linux.gidMappings".into(),
        ));
    }
    for (file, data) in [("uid_map", uid), ("gid_map", gid)] {
        let path = format!("/proc/{pid}/{file}");
        fs::write(&path, data.as_bytes())
            .map_err(|e| RuntimeError::io("write id mapping", path, e))?;
    }
    Ok(())
}

/// Warnings for spec fields this host cannot honour and that runc would also ignore.
fn unsupported_warnings(spec: &Spec) -> Vec<String> {
    let mut w = Vec::new();
    let apparmor_on = fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y");
    if let Some(p) = spec
        .process()
        .as_ref()
        .and_then(|p| p.apparmor_profile().clone())
    {
        if !apparmor_on {
            w.push(format!(
                "apparmor profile {p:?} ignored: AppArmor is not enabled on this host"
            ));
        }
    }
    if let Some(l) = spec
        .process()
        .as_ref()
        .and_then(|p| p.selinux_label().clone())
    {
        if !Path::new("/sys/fs/selinux/enforce").exists() {
            w.push(format!(
                "selinux label {l:?} ignored: SELinux is not enabled on this host"
            ));
        }
    }
    if let Some(h) = spec.hooks() {
        if h.create_container().as_ref().is_some_and(|v| !v.is_empty())
            || h.start_container().as_ref().is_some_and(|v| !v.is_empty())
        {
            w.push("createContainer and startContainer hooks are not run yet".into());
        }
    }
    w
}

impl Runtime {
    pub(super) fn spawn_init(&self, opts: &CreateOptions, with_fifo: bool) -> Result<Spawned> {
        berth_types::validate_container_id(&opts.id)?;
        let dir = state::container_dir(&self.root, &opts.id);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o711)
            .create(&self.root)
            .map_err(|e| RuntimeError::io("create state root", &self.root, e))?;
        match fs::DirBuilder::new().mode(0o711).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(RuntimeError::Exists(opts.id.clone()))
            }
            Err(e) => return Err(RuntimeError::io("create container dir", &dir, e)),
        }
        let mut cgroup: Option<AnyCgroupManager> = None;
        let result = self.spawn_init_in(opts, with_fifo, &dir, &mut cgroup);
        if result.is_err() {
            if let Some(cg) = &cgroup {
                let _ = cg.kill_all(libc::SIGKILL);
                let _ = cg.remove();
            }
            let _ = fs::remove_dir_all(&dir);
        }
        result
    }

    fn spawn_init_in(
        &self,
        opts: &CreateOptions,
        with_fifo: bool,
        dir: &Path,
        cgroup_slot: &mut Option<AnyCgroupManager>,
    ) -> Result<Spawned> {
        let bundle = fs::canonicalize(&opts.bundle)
            .map_err(|e| RuntimeError::io("open bundle", &opts.bundle, e))?;
        let spec = load_spec(&bundle)?;
        let process = spec.process().clone().ok_or_else(|| {
            RuntimeError::Invalid("config.json has no process: nothing to run".into())
        })?;
        for r in process.rlimits().iter().flatten() {
            process::check_rlimit(r)?;
        }
        check_sysctls(&spec)?;
        let root_path = spec
            .root()
            .as_ref()
            .map(|r| r.path().clone())
            .ok_or_else(|| RuntimeError::Invalid("config.json has no root.path".into()))?;
        let rootfs = fs::canonicalize(bundle.join(&root_path))
            .map_err(|e| RuntimeError::io("open rootfs", bundle.join(&root_path), e))?;
        let mut warnings = unsupported_warnings(&spec);
        let linux = spec.linux().clone().unwrap_or_default();
        let compiled = match linux.seccomp() {
            Some(sc) => {
                let c = seccomp::compile(sc)?;
                warnings.extend(c.warnings().iter().cloned());
                Some(c)
            }
            None => None,
        };

        let cg = AnyCgroupManager::for_container(linux.cgroups_path().as_deref(), &opts.id)?;
        cg.create()?;
        let cg = cgroup_slot.insert(cg);
        cg.apply(&with_default_device_rules(
            linux.resources().clone().unwrap_or_default(),
        ))?;
        let cgroup_path = cg.path().to_path_buf();
        let hierarchies = cg.hierarchies();

        let ns = plan_namespaces(&spec)?;
        if !ns.mount_new {
            return Err(RuntimeError::Unsupported("berth-runtime needs a new mount namespace (\"mount\" in linux.namespaces) to set up the rootfs".into()));
        }
        let gate = if with_fifo {
            let fifo = state::exec_fifo(dir);
            nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o622))
                .map_err(|e| RuntimeError::sys(format!("mkfifo {}", fifo.display()), e))?;
            let fd = nix::fcntl::open(&fifo, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
                .map_err(|e| RuntimeError::sys("open exec fifo", e))?;
            StartGate::Fifo(fd)
        } else {
            StartGate::Sync
        };
        let console = console_for(&process, opts.console_socket.as_deref(), with_fifo)?;
        let (parent_end, child_end) = sync::pair()?;
        if let Some(fd) = &ns.pid_join {
            nix::sched::setns(fd, CloneFlags::CLONE_NEWPID)
                .map_err(|e| RuntimeError::sys("join pid namespace", e))?;
        }

        let rootfs_plan = RootfsPlan {
            spec: &spec,
            rootfs: &rootfs,
            user_ns: ns.user_ns,
            cgroup_ns: ns.cgroup_new,
            cgroup_path: &cgroup_path,
            hierarchies: &hierarchies,
        };
        // SAFETY: berth-runtime's callers are single-threaded at this point (the CLI, a shim);
        // the child runs only child_main, which ends in execve or _exit.
        let pid = unsafe { sys::clone_fork_undumpable(ns.clone.bits()) }?;
        if pid == 0 {
            drop(parent_end);
            process::child_main(ChildPlan {
                spec: &spec,
                process: &process,
                sync: child_end,
                gate,
                console,
                rootfs: Some(rootfs_plan),
                no_pivot: opts.no_pivot,
                join: ns.join,
                unshare_cgroup: ns.cgroup_new,
                user_ns: ns.user_ns,
                seccomp: compiled,
                preserve_fds: opts.preserve_fds,
                is_init: true,
            });
        }
        drop(child_end);
        drop(gate);
        drop(console);
        let child = Child {
            pid,
            sync: parent_end,
        };
        if ns.user_ns {
            write_id_maps(pid, &spec).map_err(|e| child.fail(e))?;
        }
        child.release(cg, process.oom_score_adj())?;

        let init_start_time = state::proc_stat(pid).map(|(_, t)| t).unwrap_or(0);
        let st = State {
            oci_version: spec.version().clone(),
            id: opts.id.clone(),
            pid,
            bundle: bundle.clone(),
            annotations: spec.annotations().clone().unwrap_or_default(),
            init_start_time,
            cgroup_path: cgroup_path.clone(),
            created: now_secs(),
            rootfs: rootfs.clone(),
            has_user_ns: ns.user_ns,
        };
        let pty = child.await_ready(|| {
            let hs = spec.hooks().clone().unwrap_or_default();
            let mut doc = st.to_oci_json(&self.root);
            doc["status"] = "creating".into();
            doc["pid"] = pid.into();
            hooks::run("prestart", hs.prestart().as_deref().unwrap_or(&[]), &doc)?;
            hooks::run(
                "createRuntime",
                hs.create_runtime().as_deref().unwrap_or(&[]),
                &doc,
            )
        })?;
        st.save(&self.root).map_err(|e| child.fail(e))?;
        if let Some(p) = &opts.pid_file {
            write_pid_file(p, pid).map_err(|e| child.fail(e))?;
        }
        Ok(Spawned {
            pid,
            sync: child.sync,
            pty,
            warnings,
        })
    }
}

/// Appends the device rules every container needs to use its default /dev nodes (runc's
/// "allowed devices"): a spec that denies all devices, as `runc spec` does, still gets a working
/// /dev/null, /dev/tty and ptys.
pub(super) fn with_default_device_rules(
    mut res: oci_spec::runtime::LinuxResources,
) -> oci_spec::runtime::LinuxResources {
    use oci_spec::runtime::{LinuxDeviceCgroupBuilder, LinuxDeviceType as T};
    let mut rules = res.devices().clone().unwrap_or_default();
    let defaults: [(T, Option<i64>, Option<i64>, &str); 11] = [
        (T::C, None, None, "m"),
        (T::B, None, None, "m"),
        (T::C, Some(1), Some(3), "rwm"),
        (T::C, Some(1), Some(5), "rwm"),
        (T::C, Some(1), Some(7), "rwm"),
        (T::C, Some(1), Some(8), "rwm"),
        (T::C, Some(1), Some(9), "rwm"),
        (T::C, Some(5), Some(0), "rwm"),
        (T::C, Some(5), Some(1), "rwm"),
        (T::C, Some(5), Some(2), "rwm"),
        (T::C, Some(136), None, "rwm"),
    ];
    for (typ, major, minor, access) in defaults {
        let mut b = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(typ)
            .access(access);
        if let Some(m) = major {
            b = b.major(m);
        }
        if let Some(m) = minor {
            b = b.minor(m);
        }
        if let Ok(rule) = b.build() {
            rules.push(rule);
        }
    }
    res.set_devices(Some(rules));
    res
}

pub(super) fn console_for(
    process: &Process,
    socket: Option<&Path>,
    detached_create: bool,
) -> Result<Console> {
    if !process.terminal().unwrap_or(false) {
        return Ok(Console::None);
    }
    match socket {
        Some(p) => {
            let s = std::os::unix::net::UnixStream::connect(p)
                .map_err(|e| RuntimeError::io("connect to console socket", p, e))?;
            Ok(Console::Socket(OwnedFd::from(s)))
        }
        None if detached_create => Err(RuntimeError::Invalid(
            "process.terminal is true: create needs --console-socket to hand the pty to".into(),
        )),
        None => Ok(Console::Parent),
    }
}

pub(super) fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let tmp = path.with_extension("tmp-berth");
    fs::write(&tmp, pid.to_string()).map_err(|e| RuntimeError::io("write pid file", &tmp, e))?;
    let _ = fs::set_permissions(&tmp, fs::Permissions::from_mode(0o644));
    fs::rename(&tmp, path).map_err(|e| RuntimeError::io("write pid file", path, e))
}

/// The parent's handle on a child it cloned, until the child reports ready.
#[derive(Debug)]
pub(super) struct Child {
    pub(super) pid: i32,
    pub(super) sync: OwnedFd,
}

impl Child {
    /// Kills and reaps the child and passes `e` on: every failure after the clone ends here, so
    /// no half-made container process survives an error.
    pub(super) fn fail(&self, e: RuntimeError) -> RuntimeError {
        let pid = nix::unistd::Pid::from_raw(self.pid);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(pid, None);
        e
    }

    /// Sets the child's OOM score, lets it go on, then moves it into its cgroup while it sets
    /// itself up, and says so (see `Msg::Cgroup`).
    ///
    /// The OOM score is written from here, not by the child: the child is non-dumpable (see
    /// `sys::clone_fork_undumpable`), so its /proc files belong to the host's root, which a
    /// child in a user namespace is not.
    pub(super) fn release(&self, cg: &AnyCgroupManager, oom_score_adj: Option<i32>) -> Result<()> {
        if let Some(adj) = oom_score_adj {
            let path = format!("/proc/{}/oom_score_adj", self.pid);
            std::fs::write(&path, adj.to_string())
                .map_err(|e| self.fail(RuntimeError::io("write", path, e)))?;
        }
        sync::send(self.sync.as_raw_fd(), &Msg::Go).map_err(|e| self.fail_reading_child(e))?;
        cg.add_task(self.pid).map_err(|e| self.fail(e.into()))?;
        sync::send(self.sync.as_raw_fd(), &Msg::Cgroup).map_err(|e| self.fail_reading_child(e))
    }

    /// Like [`Child::fail`] after a failed send: the child most likely exited after reporting
    /// why, so its message (if any) is the error to show, not our broken pipe.
    fn fail_reading_child(&self, e: RuntimeError) -> RuntimeError {
        let said = match sync::recv(self.sync.as_raw_fd()) {
            Ok(Some((Msg::Error(msg), _))) => RuntimeError::Init(msg),
            _ => e,
        };
        self.fail(said)
    }

    /// Reads the child's messages until it is ready, running `on_hooks` (then letting it go on)
    /// when it asks for hooks. Returns the pty master if the child sent one.
    pub(super) fn await_ready(
        &self,
        mut on_hooks: impl FnMut() -> Result<()>,
    ) -> Result<Option<OwnedFd>> {
        let mut pty = None;
        loop {
            match sync::recv(self.sync.as_raw_fd()).map_err(|e| self.fail(e))? {
                Some((Msg::Hooks, _)) => {
                    on_hooks().map_err(|e| self.fail(e))?;
                    sync::send(self.sync.as_raw_fd(), &Msg::Go).map_err(|e| self.fail(e))?;
                }
                Some((Msg::Pty, fd)) => pty = fd,
                Some((Msg::Ready, _)) => return Ok(pty),
                Some((Msg::Error(e), _)) => return Err(self.fail(RuntimeError::Init(e))),
                Some((m, _)) => {
                    return Err(self.fail(RuntimeError::Init(format!(
                        "unexpected message {m:?} from the container process"
                    ))))
                }
                None => {
                    return Err(self.fail(RuntimeError::Init(
                        "the container process exited during setup".into(),
                    )))
                }
            }
        }
    }
}
