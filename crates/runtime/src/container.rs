//! The parent's side of the lifecycle: create, start, run, exec, kill, delete, pause, ps.
//!
//! One `clone` per container: the child is born in all its new namespaces and becomes the
//! container's pid 1 itself (runc and youki use three processes). The parent writes the id maps
//! and moves the child into its cgroup while the child waits on the sync socket; the child then
//! sets itself up and either blocks on the exec fifo (`create`) or waits for a start message
//! (`run`, `exec`, which need no fifo because the same process starts it).

use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_cgroups::{AnyCgroupManager, CgroupManager};
use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::{LinuxNamespaceType, Process, Spec};

use crate::error::{Result, RuntimeError};
use crate::process::{self, ChildPlan, Console, StartGate};
use crate::rootfs::RootfsPlan;
use crate::state::{self, State, Status};
use crate::sync::{self, Msg};
use crate::{hooks, seccomp, sys};

/// A runtime instance: a state root under which each container has a directory.
#[derive(Debug, Clone)]
pub struct Runtime {
    root: PathBuf,
}

/// Options of `create` and `run`.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// The container id.
    pub id: String,
    /// The bundle directory (holding config.json).
    pub bundle: PathBuf,
    /// runc's `--console-socket`: where to send the pty master when process.terminal is set.
    pub console_socket: Option<PathBuf>,
    /// Write the init pid here.
    pub pid_file: Option<PathBuf>,
    /// Use MS_MOVE + chroot instead of pivot_root (rootfs on ramfs).
    pub no_pivot: bool,
    /// Pass this many extra fds (3, 4, …) to the process.
    pub preserve_fds: i32,
}

/// What `create` reports.
#[derive(Debug)]
pub struct Created {
    /// The init pid.
    pub pid: i32,
    /// Things that were ignored, for the caller to print.
    pub warnings: Vec<String>,
}

/// A container started in the foreground by [`Runtime::run`] or [`Runtime::exec`] that the caller waits for.
#[derive(Debug)]
pub struct Running {
    /// The process pid.
    pub pid: i32,
    /// The pty master, when the process has a terminal and no console socket was given.
    pub pty: Option<OwnedFd>,
    /// Warnings to print.
    pub warnings: Vec<String>,
}

struct Spawned {
    pid: i32,
    sync: OwnedFd,
    pty: Option<OwnedFd>,
    warnings: Vec<String>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Loads and checks config.json of a bundle.
pub fn load_spec(bundle: &Path) -> Result<Spec> {
    let path = bundle.join("config.json");
    let data = fs::read(&path).map_err(|e| RuntimeError::Spec {
        path: path.clone(),
        msg: format!("cannot read: {e}"),
    })?;
    serde_json::from_slice(&data).map_err(|e| RuntimeError::Spec {
        path,
        msg: format!("not a valid OCI runtime config: {e}"),
    })
}

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
    /// A runtime keeping container state under `root` (runc's `--root`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Runtime { root: root.into() }
    }

    /// The state root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `create`: sets the container up and leaves its init waiting for [`Runtime::start`].
    pub fn create(&self, opts: &CreateOptions) -> Result<Created> {
        let s = self.spawn_init(opts, true)?;
        Ok(Created {
            pid: s.pid,
            warnings: s.warnings,
        })
    }

    /// `run`: create and start in one go. The caller waits with [`crate::wait::wait_forwarding`]
    /// (foreground) or returns (detached); either way it owns the returned pid as its child.
    pub fn run(&self, opts: &CreateOptions) -> Result<Running> {
        let s = self.spawn_init(opts, false)?;
        sync::send(s.sync.as_raw_fd(), &Msg::Start)?;
        self.after_start(&opts.id);
        Ok(Running {
            pid: s.pid,
            pty: s.pty,
            warnings: s.warnings,
        })
    }

    fn spawn_init(&self, opts: &CreateOptions, with_fifo: bool) -> Result<Spawned> {
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
        let pid = unsafe { sys::clone_fork(ns.clone.bits()) }?;
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
        let kill_child = |e: RuntimeError| {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
            e
        };
        if ns.user_ns {
            write_id_maps(pid, &spec).map_err(kill_child)?;
        }
        sync::send(parent_end.as_raw_fd(), &Msg::Go).map_err(kill_child)?;
        // The child sets itself up while the kernel migrates it (see Msg::Cgroup).
        cg.add_task(pid).map_err(|e| kill_child(e.into()))?;
        sync::send(parent_end.as_raw_fd(), &Msg::Cgroup).map_err(kill_child)?;

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
        let mut pty = None;
        loop {
            match sync::recv(parent_end.as_raw_fd()).map_err(kill_child)? {
                Some((Msg::Hooks, _)) => {
                    let hs = spec.hooks().clone().unwrap_or_default();
                    let mut doc = st.to_oci_json(&self.root);
                    doc["status"] = "creating".into();
                    doc["pid"] = pid.into();
                    hooks::run("prestart", hs.prestart().as_deref().unwrap_or(&[]), &doc)
                        .map_err(kill_child)?;
                    hooks::run(
                        "createRuntime",
                        hs.create_runtime().as_deref().unwrap_or(&[]),
                        &doc,
                    )
                    .map_err(kill_child)?;
                    sync::send(parent_end.as_raw_fd(), &Msg::Go).map_err(kill_child)?;
                }
                Some((Msg::Pty, fd)) => pty = fd,
                Some((Msg::Ready, _)) => break,
                Some((Msg::Error(e), _)) => return Err(kill_child(RuntimeError::Init(e))),
                Some((m, _)) => {
                    return Err(kill_child(RuntimeError::Init(format!(
                        "unexpected message {m:?} from init"
                    ))))
                }
                None => {
                    return Err(kill_child(RuntimeError::Init(
                        "init exited during setup".into(),
                    )))
                }
            }
        }
        st.save(&self.root).map_err(kill_child)?;
        if let Some(p) = &opts.pid_file {
            write_pid_file(p, pid).map_err(kill_child)?;
        }
        Ok(Spawned {
            pid,
            sync: parent_end,
            pty,
            warnings,
        })
    }

    fn after_start(&self, id: &str) {
        // poststart failures are reported by the spec's rules: logged, not fatal. We have no
        // logger here, so they are dropped after a best effort.
        if let Ok(st) = State::load(&self.root, id) {
            if let Ok(spec) = load_spec(&st.bundle) {
                if let Some(h) = spec.hooks().as_ref().and_then(|h| h.poststart().clone()) {
                    let _ = hooks::run("poststart", &h, &st.to_oci_json(&self.root));
                }
            }
        }
    }

    /// `start`: lets a created container's init exec the user process.
    pub fn start(&self, id: &str) -> Result<()> {
        let st = State::load(&self.root, id)?;
        let status = st.status(&self.root);
        if status != Status::Created {
            return Err(RuntimeError::BadState {
                id: id.into(),
                status: status.as_str(),
                op: "start (only a created container can be started)",
            });
        }
        let fifo = state::exec_fifo(&state::container_dir(&self.root, id));
        let fd = nix::fcntl::open(
            &fifo,
            OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| RuntimeError::sys("open exec fifo", e))?;
        let mut buf = [0u8; 1];
        loop {
            match nix::unistd::read(&fd, &mut buf) {
                Ok(1) => break,
                Ok(_) | Err(nix::errno::Errno::EAGAIN) => {
                    if !st.init_alive() {
                        return Err(RuntimeError::BadState {
                            id: id.into(),
                            status: "stopped",
                            op: "start (init exited before start)",
                        });
                    }
                    let mut pfd = [nix::poll::PollFd::new(
                        std::os::fd::AsFd::as_fd(&fd),
                        nix::poll::PollFlags::POLLIN,
                    )];
                    let _ = nix::poll::poll(&mut pfd, nix::poll::PollTimeout::from(10u16));
                }
                Err(e) => return Err(RuntimeError::sys("read exec fifo", e)),
            }
        }
        let _ = fs::remove_file(&fifo);
        self.after_start(id);
        Ok(())
    }

    /// `state`: the container's persisted facts.
    pub fn state(&self, id: &str) -> Result<State> {
        berth_types::validate_container_id(id)?;
        State::load(&self.root, id)
    }

    /// Every container under the root.
    pub fn list(&self) -> Result<Vec<State>> {
        let mut out = Vec::new();
        let rd = match fs::read_dir(&self.root) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(RuntimeError::io("list", &self.root, e)),
        };
        for e in rd.flatten() {
            if let Some(id) = e.file_name().to_str() {
                if let Ok(st) = State::load(&self.root, id) {
                    out.push(st);
                }
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    fn cgroup_of(&self, st: &State) -> Result<AnyCgroupManager> {
        Ok(AnyCgroupManager::for_container(
            Some(&st.cgroup_path),
            &st.id,
        )?)
    }

    /// `kill`: sends `signal` to init, or with `all` to every process of the container.
    pub fn kill(&self, id: &str, signal: i32, all: bool) -> Result<()> {
        let st = self.state(id)?;
        let status = st.status(&self.root);
        if status == Status::Stopped {
            return Err(RuntimeError::BadState {
                id: id.into(),
                status: status.as_str(),
                op: "kill (the container is not running)",
            });
        }
        if all {
            return Ok(self.cgroup_of(&st)?.kill_all(signal)?);
        }
        // SAFETY: kill with plain integers.
        if unsafe { libc::kill(st.pid, signal) } != 0 {
            return Err(RuntimeError::sys(
                format!("kill {} with signal {signal}", st.pid),
                nix::errno::Errno::last(),
            ));
        }
        Ok(())
    }

    /// `delete`: removes a stopped container (any container with `force`, killing it first).
    pub fn delete(&self, id: &str, force: bool) -> Result<()> {
        let st = self.state(id)?;
        let status = st.status(&self.root);
        if status != Status::Stopped && status != Status::Created && !force {
            return Err(RuntimeError::BadState {
                id: id.into(),
                status: status.as_str(),
                op: "delete (stop it first or use --force)",
            });
        }
        let cg = self.cgroup_of(&st)?;
        if status != Status::Stopped {
            if status == Status::Paused {
                let _ = cg.thaw();
            }
            let _ = cg.kill_all(libc::SIGKILL);
            // SAFETY: kill with plain integers.
            unsafe { libc::kill(st.pid, libc::SIGKILL) };
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while st.init_alive() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        cg.remove()?;
        if let Ok(spec) = load_spec(&st.bundle) {
            if let Some(h) = spec.hooks().as_ref().and_then(|h| h.poststop().clone()) {
                let _ = hooks::run("poststop", &h, &st.to_oci_json(&self.root));
            }
        }
        let dir = state::container_dir(&self.root, id);
        fs::remove_dir_all(&dir).map_err(|e| RuntimeError::io("remove", dir, e))
    }

    /// `pause`: freezes every process of the container.
    pub fn pause(&self, id: &str) -> Result<()> {
        let st = self.state(id)?;
        if st.status(&self.root) != Status::Running {
            return Err(RuntimeError::BadState {
                id: id.into(),
                status: st.status(&self.root).as_str(),
                op: "pause",
            });
        }
        Ok(self.cgroup_of(&st)?.freeze()?)
    }

    /// `resume`: thaws a paused container.
    pub fn resume(&self, id: &str) -> Result<()> {
        let st = self.state(id)?;
        if st.status(&self.root) != Status::Paused {
            return Err(RuntimeError::BadState {
                id: id.into(),
                status: st.status(&self.root).as_str(),
                op: "resume",
            });
        }
        Ok(self.cgroup_of(&st)?.thaw()?)
    }

    /// `ps`: pids of the container's processes.
    pub fn pids(&self, id: &str) -> Result<Vec<i32>> {
        let st = self.state(id)?;
        Ok(self.cgroup_of(&st)?.pids()?)
    }

    /// The container's cgroup statistics.
    pub fn stats(&self, id: &str) -> Result<berth_cgroups::Stats> {
        let st = self.state(id)?;
        Ok(self.cgroup_of(&st)?.stats()?)
    }

    /// How many times the kernel's OOM killer killed a process of this container.
    pub fn oom_kills(&self, id: &str) -> Result<u64> {
        let st = self.state(id)?;
        Ok(self.cgroup_of(&st)?.oom_kill_count()?)
    }

    /// `exec`: runs `process` inside a running container, with the container's namespaces,
    /// cgroup and seccomp profile and the process's own user and capabilities.
    pub fn exec(
        &self,
        id: &str,
        process: &Process,
        console_socket: Option<&Path>,
        pid_file: Option<&Path>,
        preserve_fds: i32,
    ) -> Result<Running> {
        let st = self.state(id)?;
        let status = st.status(&self.root);
        if status != Status::Running {
            return Err(RuntimeError::BadState {
                id: id.into(),
                status: status.as_str(),
                op: "exec (the container must be running)",
            });
        }
        let spec = load_spec(&st.bundle)?;
        for r in process.rlimits().iter().flatten() {
            process::check_rlimit(r)?;
        }
        let compiled = match spec.linux().as_ref().and_then(|l| l.seccomp().clone()) {
            Some(sc) => Some(seccomp::compile(&sc)?),
            None => None,
        };
        let mut join = Vec::new();
        let mut pid_ns = None;
        for (name, flag) in [
            ("user", CloneFlags::CLONE_NEWUSER),
            ("ipc", CloneFlags::CLONE_NEWIPC),
            ("uts", CloneFlags::CLONE_NEWUTS),
            ("net", CloneFlags::CLONE_NEWNET),
            ("pid", CloneFlags::CLONE_NEWPID),
            ("cgroup", CloneFlags::CLONE_NEWCGROUP),
            ("mnt", CloneFlags::CLONE_NEWNS),
        ] {
            let theirs = format!("/proc/{}/ns/{name}", st.pid);
            let ours = format!("/proc/self/ns/{name}");
            let same = match (fs::metadata(&theirs), fs::metadata(&ours)) {
                (Ok(a), Ok(b)) => {
                    std::os::unix::fs::MetadataExt::ino(&a)
                        == std::os::unix::fs::MetadataExt::ino(&b)
                }
                _ => true,
            };
            if same {
                continue;
            }
            let fd = nix::fcntl::open(
                theirs.as_str(),
                OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| RuntimeError::sys(format!("open {theirs}"), e))?;
            if flag == CloneFlags::CLONE_NEWPID {
                pid_ns = Some(fd);
            } else {
                join.push((flag, fd));
            }
        }
        let cg = self.cgroup_of(&st)?;
        let console = console_for(process, console_socket, false)?;
        let (parent_end, child_end) = sync::pair()?;
        if let Some(fd) = &pid_ns {
            // Affects only our future children: the clone below lands in the container's pid ns.
            nix::sched::setns(fd, CloneFlags::CLONE_NEWPID)
                .map_err(|e| RuntimeError::sys("join the container's pid namespace", e))?;
        }
        // SAFETY: as in create: single-threaded caller, child ends in execve or _exit.
        let pid = unsafe { sys::clone_fork(0) }?;
        if pid == 0 {
            drop(parent_end);
            // Never let the container see a dumpable copy of the runtime (CVE-2019-5736 class):
            // a non-dumpable process's /proc/<pid>/exe cannot be opened by the container.
            // SAFETY: prctl with integer arguments.
            unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
            process::child_main(ChildPlan {
                spec: &spec,
                process,
                sync: child_end,
                gate: StartGate::Sync,
                console,
                rootfs: None,
                no_pivot: false,
                join,
                unshare_cgroup: false,
                user_ns: false,
                seccomp: compiled,
                preserve_fds,
                is_init: false,
            });
        }
        drop(child_end);
        let kill_child = |e: RuntimeError| {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
            e
        };
        sync::send(parent_end.as_raw_fd(), &Msg::Go).map_err(kill_child)?;
        cg.add_task(pid).map_err(|e| kill_child(e.into()))?;
        sync::send(parent_end.as_raw_fd(), &Msg::Cgroup).map_err(kill_child)?;
        let mut pty = None;
        loop {
            match sync::recv(parent_end.as_raw_fd()).map_err(kill_child)? {
                Some((Msg::Pty, fd)) => pty = fd,
                Some((Msg::Ready, _)) => break,
                Some((Msg::Error(e), _)) => return Err(kill_child(RuntimeError::Init(e))),
                Some((m, _)) => {
                    return Err(kill_child(RuntimeError::Init(format!(
                        "unexpected message {m:?}"
                    ))))
                }
                None => {
                    return Err(kill_child(RuntimeError::Init(
                        "exec process exited during setup".into(),
                    )))
                }
            }
        }
        if let Some(p) = pid_file {
            write_pid_file(p, pid).map_err(kill_child)?;
        }
        sync::send(parent_end.as_raw_fd(), &Msg::Start).map_err(kill_child)?;
        Ok(Running {
            pid,
            pty,
            warnings: Vec::new(),
        })
    }
}

/// Appends the device rules every container needs to use its default /dev nodes (runc's
/// "allowed devices"): a spec that denies all devices, as `runc spec` does, still gets a working
/// /dev/null, /dev/tty and ptys.
fn with_default_device_rules(
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

fn console_for(process: &Process, socket: Option<&Path>, detached_create: bool) -> Result<Console> {
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

fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let tmp = path.with_extension("tmp-berth");
    fs::write(&tmp, pid.to_string()).map_err(|e| RuntimeError::io("write pid file", &tmp, e))?;
    let _ = fs::set_permissions(&tmp, fs::Permissions::from_mode(0o644));
    fs::rename(&tmp, path).map_err(|e| RuntimeError::io("write pid file", path, e))
}
