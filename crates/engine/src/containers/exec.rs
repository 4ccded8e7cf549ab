//! `docker exec`: extra processes in a running container.
//!
//! Why exec instances live in memory only: Docker keeps them in memory too (an exec is a
//! short conversation: create, start, inspect), and its process is tied to the connection
//! that streams its stdio. An exec process is spawned as `berth-shim exec` (see the shim's
//! `exec` module) with its stdio on pipes handed to the caller, and a waiter thread records
//! its exit code, so `inspect` answers whether or not a client still listens.
//!
//! The process is the container's own `process` from its bundle with Docker's exec
//! overrides: the command, `Tty`, `Env` (appended, later keys win), `WorkingDir`, `User`
//! (resolved against the container's `/etc/passwd`) and `Privileged` (every capability).

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::OpenOptionsExt;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use berth_runtime::oci_spec::runtime::Process;
use serde_json::{json, Value};

use crate::container::resolve_user;
use crate::{Engine, EngineError, Result};

/// What `POST /containers/{id}/exec` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecConfig {
    /// The command and its arguments.
    pub cmd: Vec<String>,
    /// Extra `KEY=value` entries.
    pub env: Vec<String>,
    /// `user[:group]`; empty: the container's user.
    pub user: String,
    /// Empty: the container's working directory.
    pub working_dir: String,
    /// Allocate a terminal.
    pub tty: bool,
    /// Every capability, as `docker exec --privileged`.
    pub privileged: bool,
    /// Whether the client will send stdin.
    pub attach_stdin: bool,
    /// Whether the client reads stdout.
    pub attach_stdout: bool,
    /// Whether the client reads stderr.
    pub attach_stderr: bool,
}

/// Where an exec instance is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecState {
    /// Created, not started.
    Created,
    /// Started; the pid once the process has one.
    Running {
        /// The process's pid on the host (0 until known).
        pid: i32,
    },
    /// Its process ended with this code.
    Exited {
        /// The exit code.
        code: i32,
        /// The pid it had.
        pid: i32,
    },
}

/// An exec instance as `GET /exec/{id}/json` shows it.
#[derive(Debug, Clone)]
pub struct ExecView {
    /// Its id (64 hex digits).
    pub id: String,
    /// The container's id.
    pub container_id: String,
    /// What was asked for.
    pub config: ExecConfig,
    /// Where it is.
    pub state: ExecState,
}

/// The started process's stdio, for the caller to stream (each `None` if not attached).
#[derive(Debug)]
pub struct ExecIo {
    /// Its stdin.
    pub stdin: Option<ChildStdin>,
    /// Its stdout (with a TTY: the terminal's output).
    pub stdout: Option<ChildStdout>,
    /// Its stderr (none with a TTY).
    pub stderr: Option<ChildStderr>,
}

#[derive(Debug)]
pub(crate) struct ExecEntry {
    view: Mutex<ExecView>,
    changed: Condvar,
}

/// Exec instances by id.
pub(crate) type ExecTable = Mutex<HashMap<String, Arc<ExecEntry>>>;

impl Engine {
    /// Creates an exec instance in the running container `name_or_id`; returns its id.
    pub fn create_exec(&self, name_or_id: &str, config: ExecConfig) -> Result<String> {
        let rec = self.find_container(name_or_id)?;
        if !self.container_status(&rec).is_running() {
            return Err(EngineError::FailedPrecondition(format!(
                "Container {} is not running: start it first",
                rec.id
            )));
        }
        if config.cmd.is_empty() {
            return Err(EngineError::InvalidArgument(
                "No exec command specified: give the command to run".into(),
            ));
        }
        let id = super::record::new_id()
            .map_err(|e| EngineError::io("reading", "/dev/urandom".as_ref(), e))?;
        let mut table = self.execs.lock().unwrap_or_else(|p| p.into_inner());
        let exec_event = |action: &str| {
            let action = format!("{action}: {}", config.cmd.join(" "));
            self.container_event(&rec, &action, &[("execID", id.clone())])
        };
        self.emit(exec_event("exec_create"));
        let view = ExecView {
            id: id.clone(),
            container_id: rec.id.clone(),
            config,
            state: ExecState::Created,
        };
        table.insert(
            id.clone(),
            Arc::new(ExecEntry {
                view: Mutex::new(view),
                changed: Condvar::new(),
            }),
        );
        Ok(id)
    }

    /// Drops the exec instances of a container being removed.
    pub(crate) fn forget_execs(&self, container_id: &str) {
        let mut table = self.execs.lock().unwrap_or_else(|p| p.into_inner());
        table.retain(|_, e| {
            let v = e.view.lock().unwrap_or_else(|p| p.into_inner());
            v.container_id != container_id
        });
    }

    fn exec_entry(&self, id: &str) -> Result<Arc<ExecEntry>> {
        let table = self.execs.lock().unwrap_or_else(|p| p.into_inner());
        table
            .get(id)
            .cloned()
            .ok_or_else(|| EngineError::NoSuchExec { id: id.to_string() })
    }

    /// The exec instance `id`.
    pub fn exec(&self, id: &str) -> Result<ExecView> {
        let e = self.exec_entry(id)?;
        let v = e.view.lock().unwrap_or_else(|p| p.into_inner());
        Ok(v.clone())
    }

    /// Starts exec `id`. With `detach` its output is discarded and no stdio is returned.
    pub fn start_exec(&self, id: &str, detach: bool) -> Result<ExecIo> {
        let entry = self.exec_entry(id)?;
        let (container_id, config) = {
            let mut v = entry.view.lock().unwrap_or_else(|p| p.into_inner());
            if v.state != ExecState::Created {
                return Err(EngineError::Conflict(format!(
                    "exec instance {id} has already been started: create a new one"
                )));
            }
            v.state = ExecState::Running { pid: 0 };
            (v.container_id.clone(), v.config.clone())
        };
        let started = self.spawn_exec(id, &container_id, &config, detach);
        let (child, pid_file) = match started {
            Ok(c) => c,
            Err(e) => {
                set_state(&entry, ExecState::Exited { code: 126, pid: 0 });
                return Err(e);
            }
        };
        let mut child = child;
        let io = ExecIo {
            stdin: child.stdin.take(),
            stdout: child.stdout.take(),
            stderr: child.stderr.take(),
        };
        let watched = entry.clone();
        let died = self.exec_started(&container_id, id, &config.cmd);
        let bus = self.event_bus();
        std::thread::spawn(move || {
            let code = watch(watched, child, pid_file);
            if let Some(ev) = died {
                bus.emit(ev.attr("exitCode", code.to_string()));
            }
        });
        Ok(io)
    }

    /// Sets the terminal size of a running exec with `-t`. Its process's stdin is the pty's
    /// slave in the container's devpts: reopened through `/proc/<pid>/fd/0` (checked to be
    /// a terminal), it takes the `TIOCSWINSZ` that resizes the terminal for every process
    /// on it. A no-op without a terminal or once the process has ended, as in Docker.
    pub fn resize_exec(&self, id: &str, rows: u16, cols: u16) -> Result<()> {
        let v = self.exec(id)?;
        let ExecState::Running { pid } = v.state else {
            return Ok(());
        };
        if !v.config.tty || pid <= 0 {
            return Ok(());
        }
        let path = format!("/proc/{pid}/fd/0");
        let tty = match fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
            .open(&path)
        {
            Ok(f) => f,
            // Ended meanwhile.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(EngineError::io("opening", path.as_ref(), e)),
        };
        use std::os::fd::{AsFd, AsRawFd};
        // SAFETY: isatty only looks at our own fd.
        if unsafe { libc::isatty(tty.as_raw_fd()) } != 1 {
            return Ok(());
        }
        berth_runtime::tty::set_window_size(tty.as_fd(), rows, cols)
            .map_err(|e| EngineError::io("resizing the terminal of", path.as_ref(), e))
    }

    /// Blocks until exec `id` is no longer running; returns its exit code.
    pub fn wait_exec(&self, id: &str) -> Result<Option<i32>> {
        let entry = self.exec_entry(id)?;
        let mut v = entry.view.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match v.state {
                ExecState::Exited { code, .. } => return Ok(Some(code)),
                ExecState::Created => return Ok(None),
                ExecState::Running { .. } => {
                    v = entry.changed.wait(v).unwrap_or_else(|p| p.into_inner());
                }
            }
        }
    }

    fn spawn_exec(
        &self,
        id: &str,
        container_id: &str,
        config: &ExecConfig,
        detach: bool,
    ) -> Result<(Child, std::path::PathBuf)> {
        let bundle = self.container_dir(container_id).join("bundle");
        let spec = berth_runtime::load_spec(&bundle)
            .map_err(|e| EngineError::Internal(format!("loading the container's spec: {e}")))?;
        let base = spec
            .process()
            .clone()
            .ok_or_else(|| EngineError::Internal("the container's spec has no process".into()))?;
        let rootfs = spec
            .root()
            .as_ref()
            .map(|r| r.path().clone())
            .unwrap_or_default();
        let process = exec_process(&base, config, &rootfs)?;
        let dir = self.shim_dir(container_id);
        let process_file = dir.join(format!("exec-{id}.json"));
        let pid_file = dir.join(format!("exec-{id}.pid"));
        let data =
            serde_json::to_vec(&process).map_err(|e| EngineError::Internal(e.to_string()))?;
        berth_fs::write_atomic(&process_file, &data)
            .map_err(|e| EngineError::io("writing", &process_file, e))?;
        let pipe = |attached: bool| {
            if attached && !detach {
                Stdio::piped()
            } else {
                Stdio::null()
            }
        };
        let child = Command::new(&self.config.shim_binary)
            .arg("exec")
            .arg("--id")
            .arg(container_id)
            .arg("--runtime-root")
            .arg(self.runtime_root())
            .arg("--process")
            .arg(&process_file)
            .arg("--pid-file")
            .arg(&pid_file)
            .stdin(pipe(config.attach_stdin))
            .stdout(pipe(config.attach_stdout))
            .stderr(pipe(config.attach_stderr && !config.tty))
            .spawn()
            .map_err(|e| {
                EngineError::Shim(format!(
                    "starting {} exec: {e}",
                    self.config.shim_binary.display()
                ))
            })?;
        Ok((child, pid_file))
    }
}

fn set_state(entry: &ExecEntry, state: ExecState) {
    let mut v = entry.view.lock().unwrap_or_else(|p| p.into_inner());
    v.state = state;
    entry.changed.notify_all();
}

/// Notes the pid once the shim wrote it, then the exit code; removes the shim's files.
fn watch(entry: Arc<ExecEntry>, mut child: Child, pid_file: std::path::PathBuf) -> i32 {
    let read_pid = || {
        fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut pid = 0;
    let status = loop {
        if pid == 0 {
            if let Some(p) = read_pid() {
                pid = p;
                set_state(&entry, ExecState::Running { pid });
            }
        }
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if pid != 0 || Instant::now() > deadline => break child.wait().ok(),
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => break None,
        }
    };
    let pid = if pid == 0 {
        read_pid().unwrap_or(0)
    } else {
        pid
    };
    let code = status.and_then(|s| s.code()).unwrap_or(126);
    set_state(&entry, ExecState::Exited { code, pid });
    let _ = fs::remove_file(&pid_file);
    let _ = fs::remove_file(pid_file.with_extension("json"));
    code
}

/// The container's `process` with the exec's overrides.
fn exec_process(base: &Process, c: &ExecConfig, rootfs: &std::path::Path) -> Result<Process> {
    let internal = |e: serde_json::Error| EngineError::Internal(e.to_string());
    let mut p = serde_json::to_value(base).map_err(internal)?;
    p["args"] = json!(c.cmd);
    p["terminal"] = json!(c.tty);
    if c.tty {
        p["consoleSize"] = json!({"height": 24, "width": 80});
    } else if let Some(o) = p.as_object_mut() {
        o.remove("consoleSize");
    }
    let mut env: Vec<String> = p["env"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    for kv in &c.env {
        let key = kv.split('=').next().unwrap_or(kv);
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(kv.clone());
    }
    p["env"] = json!(env);
    if !c.working_dir.is_empty() {
        p["cwd"] = json!(c.working_dir);
    }
    if !c.user.is_empty() {
        let user = resolve_user(rootfs, &c.user, &[])?;
        p["user"] = serde_json::to_value(user).map_err(internal)?;
    }
    if c.privileged {
        let all = crate::container::options::ALL_CAPABILITIES.to_vec();
        p["capabilities"] = json!({
            "bounding": all, "effective": all, "permitted": all,
        });
    }
    let v: Value = p;
    serde_json::from_value(v).map_err(internal)
}
