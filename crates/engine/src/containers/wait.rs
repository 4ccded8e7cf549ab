//! Waiting for containers: Docker's wait conditions (`not-running`, `next-exit`, `removed`)
//! and `AutoRemove`'s wait-then-remove.
//!
//! Why polling beside the shim's blocking `wait`: a running container is waited for through
//! its shim (no polling), but a created one has no shim yet and a removal is seen only on
//! disk; those are looked at every [`WAIT_POLL`].

use std::time::Duration;

use super::record::{self, ContainerRecord};
use super::ContainerStatus;
use crate::{Engine, EngineError, Result};

/// How often the waits poll the record and status.
const WAIT_POLL: Duration = Duration::from_millis(50);

/// Docker's wait conditions (`POST /containers/{id}/wait?condition=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WaitCondition {
    /// Return as soon as it is not running (a created container returns at once).
    NotRunning,
    /// Wait for the next exit: a created container must first be started.
    NextExit,
    /// Wait until the container is removed; returns the last exit code seen.
    Removed,
}

/// Exit codes of auto-removed containers kept for `wait --condition removed` callers that
/// look only after the removal (at most this many; then the table starts over).
const REMOVED_EXITS_KEPT: usize = 1024;

/// Exit codes of auto-removed containers, by id.
pub(crate) type RemovedExits = std::sync::Mutex<std::collections::HashMap<String, i64>>;

impl Engine {
    fn removed_exit(&self, id: &str) -> Option<i64> {
        let memo = self.removed_exits.lock().unwrap_or_else(|p| p.into_inner());
        memo.get(id).copied()
    }

    /// Blocks until the container is not running; returns its exit code (0 for a container
    /// never started, as Docker's `not-running` condition does).
    pub fn wait_container(&self, name_or_id: &str) -> Result<i64> {
        self.wait_until(name_or_id, WaitCondition::NotRunning)
    }

    /// Blocks until Docker's `condition` holds (`not-running`, the default when empty;
    /// `next-exit`: a created container must be started first; `removed`); returns the exit
    /// code of the run it saw end (0 when none did, -1 for a dead container).
    pub fn wait_container_for(&self, name_or_id: &str, condition: &str) -> Result<i64> {
        let c = match condition {
            "" | "not-running" => WaitCondition::NotRunning,
            "next-exit" => WaitCondition::NextExit,
            "removed" => WaitCondition::Removed,
            other => {
                return Err(EngineError::InvalidArgument(format!(
                    "invalid condition: {other:?}: use not-running, next-exit or removed"
                )))
            }
        };
        self.wait_until(name_or_id, c)
    }

    fn wait_until(&self, name_or_id: &str, condition: WaitCondition) -> Result<i64> {
        let rec = self.find_container(name_or_id)?;
        let id = rec.id.clone();
        let first_start = rec.started_at.clone();
        let mut saw_running = false;
        let mut dead_since = std::time::Instant::now();
        let mut code: Option<i64> = None;
        let mut rec = rec;
        loop {
            let status = self.container_status(&rec);
            if status != ContainerStatus::Dead {
                dead_since = std::time::Instant::now();
            }
            match status {
                ContainerStatus::Running { .. } => {
                    saw_running = true;
                    match berth_shim::wait_exit(self.shim_dir(&id)) {
                        Ok(e) if condition != WaitCondition::Removed => {
                            return Ok(e.exit_code.into())
                        }
                        Ok(e) => code = Some(e.exit_code.into()),
                        // The shim went between the two looks: read the status again.
                        Err(_) => std::thread::sleep(WAIT_POLL),
                    }
                }
                ContainerStatus::Exited { code: c, .. } => {
                    let ended_now = saw_running || rec.started_at != first_start;
                    match condition {
                        WaitCondition::NotRunning => return Ok(c.into()),
                        WaitCondition::NextExit if ended_now => return Ok(c.into()),
                        WaitCondition::NextExit => {}
                        WaitCondition::Removed => code = Some(c.into()),
                    }
                }
                // Between a start's record and its shim's first answer the container
                // reads as dead: only a lasting death is one.
                ContainerStatus::Dead if dead_since.elapsed() < super::START_GRACE => {}
                ContainerStatus::Dead => match condition {
                    WaitCondition::Removed => code = Some(-1),
                    _ => return Ok(-1),
                },
                ContainerStatus::Created if condition == WaitCondition::NotRunning => return Ok(0),
                ContainerStatus::Created => {}
            }
            if !matches!(status, ContainerStatus::Running { .. }) {
                std::thread::sleep(WAIT_POLL);
            }
            rec = match self.find_container(&id) {
                Ok(r) => r,
                // Removed between two looks (a quick `--rm` run): its exit was noted.
                Err(EngineError::NoSuchContainer { .. }) => {
                    return Ok(code.or_else(|| self.removed_exit(&id)).unwrap_or(0))
                }
                Err(e) => return Err(e),
            };
        }
    }

    /// For an `AutoRemove` container: blocks until it is no longer running, then removes it.
    /// Does nothing for others. Meant for a thread of its own, right after `start`.
    pub fn auto_remove_after_exit(&self, name_or_id: &str) -> Result<()> {
        let rec = self.find_container(name_or_id)?;
        if !rec.auto_remove {
            return Ok(());
        }
        let code = self.wait_until(&rec.id, WaitCondition::NotRunning)?;
        // Attached clients read the run's output from its log, which the removal deletes:
        // let them drain it first (bounded, should one hang).
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.followers_of(&rec.id) > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        {
            let mut memo = self.removed_exits.lock().unwrap_or_else(|p| p.into_inner());
            if memo.len() >= REMOVED_EXITS_KEPT {
                memo.clear();
            }
            memo.insert(rec.id.clone(), code);
        }
        match self.remove_container_with(&rec.id, false, true) {
            Err(EngineError::NoSuchContainer { .. }) => Ok(()),
            other => other,
        }
    }

    /// Marks a container to be removed once it exits (`HostConfig.AutoRemove`); the caller
    /// that starts it runs [`Engine::auto_remove_after_exit`].
    pub fn set_auto_remove(&self, name_or_id: &str, on: bool) -> Result<()> {
        let rec = self.find_container(name_or_id)?;
        let policy = &rec.options.host_config.restart_policy;
        super::restart::validate(&policy.name, policy.maximum_retry_count, on)?;
        let dir = self.container_dir(&rec.id);
        let rec = ContainerRecord {
            auto_remove: on,
            ..rec
        };
        record::save(&dir, &rec).map_err(|e| EngineError::io("writing the record in", &dir, e))
    }
}
