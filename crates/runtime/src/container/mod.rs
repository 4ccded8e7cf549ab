//! The parent's side of the lifecycle: create, start, run, exec, kill, delete, pause, ps.
//!
//! One `clone` per container: the child is born in all its new namespaces and becomes the
//! container's pid 1 itself (runc and youki use three processes). The parent writes the id maps
//! and moves the child into its cgroup while the child waits on the sync socket; the child then
//! sets itself up and either blocks on the exec fifo (`create`) or waits for a start message
//! (`run`, `exec`, which need no fifo because the same process starts it).
//!
//! `spawn` holds the create path (namespaces, cgroup, clone, the parent's half of the
//! conversation), `exec` the way into a running container.

use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_cgroups::{AnyCgroupManager, CgroupManager};
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use oci_spec::runtime::Spec;

use crate::error::{Result, RuntimeError};
use crate::hooks;
use crate::state::{self, State, Status};
use crate::sync::{self, Msg};

mod exec;
mod spawn;

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
        let (st, _) =
            self.state_for(id, "start (only a created container can be started)", |s| {
                s == Status::Created
            })?;
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

    /// The state of `id` and its current status, if `allowed` accepts that status; otherwise
    /// the error every verb gives for a container in the wrong state, naming `op`.
    fn state_for(
        &self,
        id: &str,
        op: &'static str,
        allowed: impl Fn(Status) -> bool,
    ) -> Result<(State, Status)> {
        let st = self.state(id)?;
        let status = st.status(&self.root);
        if !allowed(status) {
            return Err(RuntimeError::BadState {
                id: id.into(),
                status: status.as_str(),
                op,
            });
        }
        Ok((st, status))
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
        let (st, _) = self.state_for(id, "kill (the container is not running)", |s| {
            s != Status::Stopped
        })?;
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
        let (st, status) = self.state_for(id, "delete (stop it first or use --force)", |s| {
            force || s == Status::Stopped || s == Status::Created
        })?;
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
        let (st, _) = self.state_for(id, "pause", |s| s == Status::Running)?;
        Ok(self.cgroup_of(&st)?.freeze()?)
    }

    /// `resume`: thaws a paused container.
    pub fn resume(&self, id: &str) -> Result<()> {
        let (st, _) = self.state_for(id, "resume", |s| s == Status::Paused)?;
        Ok(self.cgroup_of(&st)?.thaw()?)
    }

    /// `ps`: pids of the container's processes.
    pub fn pids(&self, id: &str) -> Result<Vec<i32>> {
        let st = self.state(id)?;
        Ok(self.cgroup_of(&st)?.pids()?)
    }

    /// `update`: applies new resource limits to a created, running or paused container.
    pub fn update(&self, id: &str, resources: &oci_spec::runtime::LinuxResources) -> Result<()> {
        let (st, _) = self.state_for(id, "update (the container is not running)", |s| {
            s != Status::Stopped
        })?;
        // A new device list replaces the old one: keep the defaults every container needs.
        let resources = match resources.devices() {
            Some(_) => spawn::with_default_device_rules(resources.clone()),
            None => resources.clone(),
        };
        Ok(self.cgroup_of(&st)?.apply(&resources)?)
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
}
