//! `exec`: a new process in a running container, with its namespaces, cgroup and seccomp
//! profile, and the process's own user and capabilities.

use std::fs;
use std::os::fd::AsRawFd;
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::Process;

use crate::error::{Result, RuntimeError};
use crate::process::{self, ChildPlan, StartGate};
use crate::state::Status;
use crate::sync::{self, Msg};
use crate::{seccomp, sys};

use super::spawn::{console_for, write_pid_file, Child};
use super::{load_spec, Running, Runtime};

impl Runtime {
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
        let (st, _) = self.state_for(id, "exec (the container must be running)", |s| {
            s == Status::Running
        })?;
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
        let pid = unsafe { sys::clone_fork_undumpable(0) }?;
        if pid == 0 {
            drop(parent_end);
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
        let child = Child {
            pid,
            sync: parent_end,
        };
        child.release(&cg, process.oom_score_adj())?;
        let pty = child.await_ready(|| {
            Err(RuntimeError::Init(
                "an exec process never runs hooks".into(),
            ))
        })?;
        if let Some(p) = pid_file {
            write_pid_file(p, pid).map_err(|e| child.fail(e))?;
        }
        sync::send(child.sync.as_raw_fd(), &Msg::Start).map_err(|e| child.fail(e))?;
        Ok(Running {
            pid,
            pty,
            warnings: Vec::new(),
        })
    }
}
