//! The management verbs around a container's life: pause, unpause, rename, top, restart
//! (`update` and `stats` are in `resources`).
//!
//! Why "paused" is not remembered in berthd: it is the freezer's state, read through the
//! runtime's state root on every status call ([`Engine::container_status`]), so it survives a
//! restart of berthd.

use std::process::Command;

use berth_runtime::{Runtime, Status};

use super::record::{self, valid_name, ContainerRecord};
use super::ContainerStatus;
use crate::{Engine, EngineError, Result};

/// `ps`'s arguments when the caller gives none (Docker's default).
const DEFAULT_PS_ARGS: &str = "-ef";

impl ContainerStatus {
    /// Docker's `State` word: `created`, `running`, `paused`, `exited`, `dead`.
    pub fn docker_state(&self) -> &'static str {
        match self {
            ContainerStatus::Created => "created",
            ContainerStatus::Running { paused: true, .. } => "paused",
            ContainerStatus::Running { .. } => "running",
            ContainerStatus::Exited { .. } => "exited",
            ContainerStatus::Dead => "dead",
        }
    }

    /// Whether the container's processes are frozen (it is still running).
    pub fn is_paused(&self) -> bool {
        matches!(self, ContainerStatus::Running { paused: true, .. })
    }
}

/// `docker top`'s answer: `ps`'s header and the rows of the container's processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopView {
    /// The column titles.
    pub titles: Vec<String>,
    /// One row per process, as many fields as titles (the last one keeps its spaces).
    pub processes: Vec<Vec<String>>,
}

fn libc_sigkill() -> i32 {
    nix::sys::signal::Signal::SIGKILL as i32
}

pub(super) fn conflict(m: String) -> EngineError {
    EngineError::Conflict(m)
}

pub(super) fn runtime_err(what: &str, id: &str, e: berth_runtime::RuntimeError) -> EngineError {
    EngineError::Internal(format!("{what} container {id}: {e}"))
}

impl Engine {
    pub(super) fn runtime(&self) -> Runtime {
        Runtime::new(self.runtime_root())
    }

    /// Whether the runtime sees `id`'s cgroup frozen.
    pub(crate) fn frozen(&self, id: &str) -> bool {
        let rt = self.runtime();
        rt.state(id)
            .is_ok_and(|st| st.status(rt.root()) == Status::Paused)
    }

    fn running_record(&self, name_or_id: &str) -> Result<(ContainerRecord, ContainerStatus)> {
        let rec = self.find_container(name_or_id)?;
        let status = self.container_status(&rec);
        if !status.is_running() {
            return Err(conflict(format!("Container {} is not running", rec.id)));
        }
        Ok((rec, status))
    }

    /// Freezes every process of a running container (`docker pause`).
    pub fn pause_container(&self, name_or_id: &str) -> Result<()> {
        let (rec, status) = self.running_record(name_or_id)?;
        if status.is_paused() {
            return Err(conflict(format!("Container {} is already paused", rec.id)));
        }
        self.runtime()
            .pause(&rec.id)
            .map_err(|e| runtime_err("pausing", &rec.id, e))
            .map(|()| self.emit_container(&rec, "pause", &[]))
    }

    /// Thaws a paused container (`docker unpause`).
    pub fn unpause_container(&self, name_or_id: &str) -> Result<()> {
        let rec = self.find_container(name_or_id)?;
        if !self.container_status(&rec).is_paused() {
            return Err(conflict(format!("Container {} is not paused", rec.id)));
        }
        self.runtime()
            .resume(&rec.id)
            .map_err(|e| runtime_err("unpausing", &rec.id, e))
            .map(|()| self.emit_container(&rec, "unpause", &[]))
    }

    /// After SIGKILL or the container's stop signal, as Docker's `killWithSignal`: thaw a
    /// paused container so the signal is delivered (a frozen task acts on no signal, not even
    /// SIGKILL, under the v1 freezer).
    pub(crate) fn thaw_if_ending(&self, rec: &ContainerRecord, sig: i32) {
        if sig == libc_sigkill() || berth_runtime::parse_signal(&rec.stop_signal) == Some(sig) {
            self.thaw_if_paused(rec);
        }
    }

    fn thaw_if_paused(&self, rec: &ContainerRecord) {
        if self.frozen(&rec.id) {
            let _ = self.runtime().resume(&rec.id);
        }
    }

    /// Renames a container (`docker rename`); the record is replaced atomically under the
    /// containers lock, so no create can take the name meanwhile.
    pub fn rename_container(&self, name_or_id: &str, new_name: &str) -> Result<()> {
        let new_name = new_name.strip_prefix('/').unwrap_or(new_name);
        if name_or_id.is_empty() || new_name.is_empty() {
            return Err(EngineError::InvalidArgument(
                "Neither old nor new names may be empty".into(),
            ));
        }
        if !valid_name(new_name) {
            return Err(EngineError::InvalidArgument(format!(
                "Invalid container name ({new_name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        let _guard = self
            .containers_lock
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let rec = self.find_container(name_or_id)?;
        if rec.name == new_name {
            return Err(EngineError::InvalidArgument(
                "Renaming a container with the same name as its current name".into(),
            ));
        }
        if let Some(other) = self.records()?.iter().find(|r| r.name == new_name) {
            return Err(conflict(format!(
                "Error when allocating new name: Conflict. The container name \"/{new_name}\" is \
                 already in use by container \"{}\". You have to remove (or rename) that \
                 container to be able to reuse that name.",
                other.id
            )));
        }
        let dir = self.container_dir(&rec.id);
        let old_name = format!("/{}", rec.name);
        let rec = ContainerRecord {
            name: new_name.to_string(),
            ..rec
        };
        record::save(&dir, &rec).map_err(|e| EngineError::io("writing the record in", &dir, e))?;
        self.names.rename(&rec.id, &old_name[1..], new_name);
        self.emit_container(&rec, "rename", &[("oldName", old_name)]);
        Ok(())
    }

    /// The container's processes as the host's `ps` shows them (`docker top`).
    pub fn top_container(&self, name_or_id: &str, ps_args: &str) -> Result<TopView> {
        let (rec, _) = self.running_record(name_or_id)?;
        let pids = self
            .runtime()
            .pids(&rec.id)
            .map_err(|e| runtime_err("listing the processes of", &rec.id, e))?;
        let args: Vec<&str> = match ps_args.split_whitespace().collect::<Vec<_>>() {
            a if a.is_empty() => vec![DEFAULT_PS_ARGS],
            a => a,
        };
        let out = Command::new("ps")
            .args(&args)
            .output()
            .map_err(|e| EngineError::Internal(format!("running ps: {e}")))?;
        if !out.status.success() {
            return Err(EngineError::Internal(format!(
                "Error running ps: {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        parse_ps(&String::from_utf8_lossy(&out.stdout), &pids)
    }

    /// Stops (with `timeout` and `signal` as `stop` takes them) a running container, then
    /// starts it (`docker restart`); a created or exited one is only started.
    pub fn restart_container(
        &self,
        name_or_id: &str,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<()> {
        let rec = self.find_container(name_or_id)?;
        self.stop_container(&rec.id, timeout, signal)?;
        self.start_container(&rec.id)?;
        self.emit_container_id(&rec.id, "restart", &[]);
        Ok(())
    }
}

/// Docker's `parsePSOutput`: keeps the rows whose PID column is one of `pids`.
fn parse_ps(output: &str, pids: &[i32]) -> Result<TopView> {
    let mut lines = output.lines();
    let titles: Vec<String> = lines
        .next()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let pid_col = titles
        .iter()
        .position(|t| t == "PID")
        .ok_or_else(|| EngineError::Internal("Couldn't find PID field in ps output".into()))?;
    let mut processes = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some(pid) = fields.get(pid_col) else {
            continue;
        };
        let pid: i32 = pid
            .parse()
            .map_err(|_| EngineError::Internal(format!("Unexpected pid '{pid}'")))?;
        if !pids.contains(&pid) {
            continue;
        }
        let n = titles.len().min(fields.len()).max(1);
        let mut row: Vec<String> = fields[..n - 1].iter().map(|s| s.to_string()).collect();
        row.push(fields[n - 1..].join(" "));
        processes.push(row);
    }
    Ok(TopView { titles, processes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ps_output_is_filtered_by_pid() {
        let out = "UID  PID  PPID  C STIME TTY TIME CMD\n\
                   root 1 0 0 10:00 ? 00:00:01 /sbin/init splash\n\
                   root 42 1 0 10:01 ? 00:00:00 sleep 1000\n";
        let top = parse_ps(out, &[42]).unwrap();
        assert_eq!(top.titles.len(), 8);
        assert_eq!(top.processes.len(), 1);
        assert_eq!(top.processes[0][1], "42");
        assert_eq!(top.processes[0][7], "sleep 1000");
        assert!(parse_ps("A B\n1 2\n", &[1]).is_err());
    }
}
