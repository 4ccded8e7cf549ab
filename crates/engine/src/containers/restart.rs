//! Restart policies: `--restart no|always|unless-stopped|on-failure[:N]`, with Docker's rules.
//!
//! - `always` and `unless-stopped` restart whatever the exit code; `on-failure` only after a
//!   non-zero code, at most N times (0: no limit).
//! - A container stopped or killed by the user (`docker stop`/`kill`) is not restarted; a
//!   user's `start` clears that and resets the restart count.
//! - Growing backoff: 100 ms before the first restart, doubled for each next one, reset
//!   once a run lasted 10 s, at most 1 min (Docker's restart manager).
//! - When berthd starts, `always` containers and `unless-stopped` ones the user did not stop
//!   are started if they are not running.
//!
//! Why a waiter thread per watched container: the shim's `wait` blocks until the exit is
//! recorded, so a restart follows the exit within the backoff, with no polling; the threads
//! hold only a weak reference to the engine. Every started container is watched, with or
//! without a policy: the waiter is also what emits its `die` event, and each watch starts
//! the container's health monitor (`health.rs`) beside it. The supervisor exists only where
//! [`Engine::supervise`] was called (berthd); the in-process CLI restarts nothing.

use std::collections::HashMap;
use std::sync::{mpsc, Arc, Mutex, Weak};
use std::time::Duration;

use super::record::{self, ContainerRecord};
use super::ContainerStatus;
use crate::{Engine, EngineError, Result};

const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(60);
/// A run at least this long resets the backoff.
const STABLE_RUN: Duration = Duration::from_secs(10);

/// The daemon's side of restart policies: where waiters are requested, and the backoff.
#[derive(Debug, Default)]
pub(crate) struct Supervisor {
    tx: Mutex<Option<mpsc::Sender<String>>>,
    delays: Mutex<HashMap<String, Duration>>,
    /// Containers waiting out their backoff before a restart (Docker's `restarting`).
    pending: Mutex<std::collections::HashSet<String>>,
}

/// A parsed `RestartPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Never restart.
    No,
    /// Always, and at daemon start.
    Always,
    /// Always, unless the user stopped it.
    UnlessStopped,
    /// After a non-zero exit, at most this many times (0: no limit).
    OnFailure(i64),
}

impl Policy {
    /// The policy of `rec`.
    pub fn of(rec: &ContainerRecord) -> Policy {
        let p = &rec.options.host_config.restart_policy;
        match p.name.as_str() {
            "always" => Policy::Always,
            "unless-stopped" => Policy::UnlessStopped,
            "on-failure" => Policy::OnFailure(p.maximum_retry_count),
            _ => Policy::No,
        }
    }

    /// Whether a container that exited with `code` is restarted.
    pub fn restarts_after(self, rec: &ContainerRecord, code: i32) -> bool {
        if rec.manually_stopped {
            return false;
        }
        match self {
            Policy::No => false,
            Policy::Always | Policy::UnlessStopped => true,
            Policy::OnFailure(max) => code != 0 && (max <= 0 || i64::from(rec.restart_count) < max),
        }
    }
}

/// Checks a policy as `docker create` does.
pub fn validate(name: &str, max: i64, auto_remove: bool) -> Result<()> {
    let bad = |m: String| Err(EngineError::InvalidArgument(m));
    match name {
        "" | "no" | "always" | "unless-stopped" if max != 0 => bad(format!(
            "maximum retry count cannot be used with restart policy '{name}': only on-failure \
             takes one"
        )),
        "" | "no" => Ok(()),
        _ if auto_remove => bad(
            "can't create 'AutoRemove' container with restart policy: drop --rm or --restart"
                .into(),
        ),
        "always" | "unless-stopped" => Ok(()),
        "on-failure" if max < 0 => bad("maximum retry count cannot be negative".into()),
        "on-failure" => Ok(()),
        other => bad(format!(
            "invalid restart policy {other:?}: use no, always, unless-stopped or \
             on-failure[:max-retries]"
        )),
    }
}

impl Engine {
    /// Starts restart supervision: waiters for running containers with a policy, and the
    /// daemon-start restarts. Call once, from the daemon, with the shared engine.
    pub fn supervise(self: &Arc<Self>) -> Result<()> {
        self.clean_build_leftovers();
        self.init_networks()?;
        let (tx, rx) = mpsc::channel::<String>();
        *self.supervisor.tx.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
        let weak = Arc::downgrade(self);
        std::thread::spawn(move || {
            for id in rx {
                let (w, h, hid) = (weak.clone(), weak.clone(), id.clone());
                let (r, rid) = (weak.clone(), id.clone());
                std::thread::spawn(move || waiter(w, id));
                std::thread::spawn(move || super::health::monitor(h, hid));
                std::thread::spawn(move || crate::networks::probe_readiness(r, rid));
            }
        });
        for rec in self.records()? {
            let policy = Policy::of(&rec);
            let status = self.container_status(&rec);
            if status.is_running() {
                // Every running container is watched: its exit is its `die` event.
                self.watch(&rec.id);
                continue;
            }
            if policy == Policy::No {
                continue;
            }
            let start_now = match policy {
                Policy::Always => true,
                Policy::UnlessStopped => !rec.manually_stopped,
                _ => false,
            };
            match status {
                ContainerStatus::Exited { .. } | ContainerStatus::Dead if start_now => {
                    let w = Arc::downgrade(self);
                    let id = rec.id.clone();
                    std::thread::spawn(move || {
                        if let Some(e) = w.upgrade() {
                            // `always` comes back even after a user's stop (Docker's rule).
                            let start = e
                                .update_record(&id, |r| r.manually_stopped = false)
                                .and_then(|()| e.start_by_policy(&id));
                            if let Err(err) = start {
                                crate::log::warn(&format!(
                                    "restarting {id} at daemon start: {err}"
                                ));
                            }
                        }
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Whether container `id` waits out its backoff before a restart by policy.
    pub fn is_restarting(&self, id: &str) -> bool {
        let p = self
            .supervisor
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        p.contains(id)
    }

    fn set_restarting(&self, id: &str, on: bool) {
        let mut p = self
            .supervisor
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if on {
            p.insert(id.to_string());
        } else {
            p.remove(id);
        }
    }

    /// Asks the supervisor to watch container `id` (after a start). No-op without one.
    pub(crate) fn watch(&self, id: &str) {
        if let Some(tx) = self
            .supervisor
            .tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let _ = tx.send(id.to_string());
        }
    }

    /// Notes that the user stopped or killed the container (no restart by policy).
    pub(crate) fn mark_manually_stopped(&self, rec: &ContainerRecord, on: bool) -> Result<()> {
        self.update_record(&rec.id, |r| r.manually_stopped = on)
    }

    /// Replaces the record of `id` with `f` applied, under the containers lock.
    pub(crate) fn update_record(
        &self,
        id: &str,
        f: impl FnOnce(&mut ContainerRecord),
    ) -> Result<()> {
        let _guard = self
            .containers_lock
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let dir = self.container_dir(id);
        let mut rec =
            record::load(&dir).map_err(|_| EngineError::NoSuchContainer { name: id.into() })?;
        f(&mut rec);
        record::save(&dir, &rec).map_err(|e| EngineError::io("writing the record in", &dir, e))
    }

    /// Saves the record of a start. A start by policy (or by the health monitor) counts one
    /// restart, and is called off (`None`) if the user stopped the container meanwhile: under
    /// the containers lock, as `stop` marks the manual stop, so either the stop sees this
    /// start (and waits it out) or the start sees the stop.
    pub(crate) fn record_start(
        &self,
        mut started: ContainerRecord,
        by_policy: bool,
    ) -> Result<Option<ContainerRecord>> {
        let _guard = self
            .containers_lock
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let dir = self.container_dir(&started.id);
        if by_policy {
            let now = record::load(&dir).map_err(|e| EngineError::io("reading", &dir, e))?;
            if now.manually_stopped {
                return Ok(None);
            }
            started.restart_count = now.restart_count + 1;
        }
        record::save(&dir, &started)
            .map_err(|e| EngineError::io("writing the record in", &dir, e))?;
        Ok(Some(started))
    }

    fn start_by_policy(&self, id: &str) -> Result<()> {
        self.start_container_as(id, true).map(drop)
    }
}

/// Waits for container `id` to exit, then restarts it if its policy says so (the start asks
/// for a new waiter).
fn waiter(engine: Weak<Engine>, id: String) {
    let Some((shim_dir, run)) = engine.upgrade().map(|e| {
        let run = e.find_container(&id).ok().and_then(|r| r.started_at);
        (e.shim_dir(&id), run)
    }) else {
        return;
    };
    let Ok(exit) = berth_shim::wait_exit(&shim_dir) else {
        return;
    };
    let Some(e) = engine.upgrade() else { return };
    // The run's addresses, veths and ports go with it (a restart gets new ones).
    e.release_run(&id, run.as_deref());
    let Ok(rec) = e.find_container(&id) else {
        return;
    };
    e.note_exit(&rec, exit.exit_code, &exit.finished_at);
    if !Policy::of(&rec).restarts_after(&rec, exit.exit_code) {
        return;
    }
    let ran = run_length(&rec, &exit.finished_at);
    let delay = {
        let mut delays = e
            .supervisor
            .delays
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let d = delays.entry(id.clone()).or_insert(Duration::ZERO);
        *d = if ran.is_some_and(|r| r >= STABLE_RUN) || d.is_zero() {
            FIRST_DELAY
        } else {
            (*d * 2).min(MAX_DELAY)
        };
        *d
    };
    e.set_restarting(&id, true);
    drop(e);
    std::thread::sleep(delay);
    let Some(e) = engine.upgrade() else { return };
    e.set_restarting(&id, false);
    // Re-read: the user may have stopped, removed or started it meanwhile.
    let Ok(rec) = e.find_container(&id) else {
        return;
    };
    if rec.manually_stopped || e.container_status(&rec).is_running() {
        return;
    }
    if let Err(err) = e.start_by_policy(&id) {
        crate::log::warn(&format!("restarting container {id}: {err}"));
    }
}

/// How long the run that just ended lasted.
fn run_length(rec: &ContainerRecord, finished_at: &str) -> Option<Duration> {
    let start = berth_image::time::parse_rfc3339(rec.started_at.as_deref()?)?;
    let end = berth_image::time::parse_rfc3339(finished_at)?;
    Some(Duration::from_secs(end.saturating_sub(start).max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_policy_checks() {
        assert!(validate("", 0, true).is_ok());
        assert!(validate("always", 0, false).is_ok());
        assert!(validate("on-failure", 3, false).is_ok());
        let e = validate("always", 0, true).unwrap_err().to_string();
        assert!(e.contains("AutoRemove"), "{e}");
        assert!(validate("always", 2, false).is_err());
        assert!(validate("on-failure", -1, false).is_err());
        let e = validate("sometimes", 0, false).unwrap_err().to_string();
        assert!(e.contains("on-failure"), "{e}");
    }
}
