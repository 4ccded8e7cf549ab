//! Health checks: the image's `HEALTHCHECK` or the create body's `Config.Healthcheck`, run
//! with Docker's rules, shown in inspect's `State.Health` and `docker ps`.
//!
//! - The container's check overrides the image's field by field (an empty `Test` or a zero
//!   duration inherits); `["NONE"]` disables it. Defaults: interval 30 s, timeout 30 s, start
//!   period 0, start interval 5 s, 3 retries (Docker's).
//! - A probe is an exec (`create_exec`/`start_exec`, stdout and stderr piped): `["CMD", …]`
//!   runs as is, `["CMD-SHELL", cmd]` as `/bin/sh -c cmd`. Exit 0 is healthy, anything else a
//!   failure; a probe still running at `Timeout` is killed and is a failure (exit code -1).
//! - Status: `starting` until the first success or until `Retries` consecutive failures
//!   (failures inside the start period do not count while it is `starting`); then `healthy`
//!   or `unhealthy`. The last 5 results are kept, output cut at 4096 bytes. A change emits
//!   `health_status: <status>`.
//!
//! Why the state lives in `<data-root>/containers/<id>/health.json` (replaced atomically):
//! berthd may be killed while the container runs on under its shim; after a restart inspect
//! shows the same health and the monitor goes on from it. The file names the run (`StartedAt`)
//! it belongs to; a new run resets the status to `starting` and the streak to 0 (Docker keeps
//! the log).
//!
//! One monitor thread per running container with a check, started beside the supervisor's
//! waiter ([`Engine::watch`]); it ends when the container stops or starts again.
//!
//! Beyond Docker: the label `berth.restart-on-unhealthy=true` makes a container that turns
//! `unhealthy` be restarted (stopped with its stop timeout, started again, counted in
//! `RestartCount`), which Docker leaves to an orchestrator.

use std::sync::Weak;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use berth_image::HealthConfig;
use serde::{Deserialize, Serialize};

use super::record::{write_atomic, ContainerRecord};
use super::ContainerView;
use crate::{Engine, EngineError, Result};

/// The opt-in label: restart the container when it turns unhealthy.
pub const RESTART_ON_UNHEALTHY: &str = "berth.restart-on-unhealthy";
/// The health state file in the container's directory.
pub const HEALTH_FILE: &str = "health.json";
const MAX_LOG: usize = 5;
const SEC: i64 = 1_000_000_000;

/// One probe's result (`State.Health.Log[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthResult {
    /// When it started, RFC 3339.
    pub start: String,
    /// When it ended, RFC 3339.
    pub end: String,
    /// 0 healthy, else a failure (-1: could not run or timed out).
    pub exit_code: i64,
    /// Its stdout and stderr, at most 4096 bytes.
    pub output: String,
}

/// `State.Health`, plus the run it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Health {
    /// `starting`, `healthy` or `unhealthy`.
    pub status: String,
    /// Consecutive failures counted.
    pub failing_streak: u32,
    /// The last results, oldest first.
    pub log: Vec<HealthResult>,
    /// The `StartedAt` of the run this state is about (not shown by the API).
    #[serde(default)]
    pub started_at: Option<String>,
}

/// A check with the inheritance and defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    /// The exec's command.
    pub cmd: Vec<String>,
    /// Time between probes.
    pub interval: Duration,
    /// Time a probe may take.
    pub timeout: Duration,
    /// Start-up time in which failures do not count.
    pub start_period: Duration,
    /// Time between probes during the start period.
    pub start_interval: Duration,
    /// Failures before `unhealthy`.
    pub retries: u32,
}

/// The check the container runs: `container`'s fields over `image`'s, then Docker's defaults;
/// `None` when there is none or it is `["NONE"]`.
pub fn effective(
    image: Option<&HealthConfig>,
    container: Option<&HealthConfig>,
) -> Option<HealthCheck> {
    let pick = |f: fn(&HealthConfig) -> Option<i64>| {
        container
            .and_then(f)
            .filter(|n| *n > 0)
            .or_else(|| image.and_then(f).filter(|n| *n > 0))
    };
    let test = container
        .map(|c| c.test.clone())
        .filter(|t| !t.is_empty())
        .or_else(|| image.map(|i| i.test.clone()))?;
    let cmd = match test.split_first()? {
        (kind, rest) if kind == "CMD" && !rest.is_empty() => rest.to_vec(),
        (kind, rest) if kind == "CMD-SHELL" && !rest.is_empty() => {
            vec!["/bin/sh".into(), "-c".into(), rest.join(" ")]
        }
        _ => return None,
    };
    let dur = |f, default: i64| Duration::from_nanos(pick(f).unwrap_or(default).unsigned_abs());
    Some(HealthCheck {
        cmd,
        interval: dur(|c| c.interval, 30 * SEC),
        timeout: dur(|c| c.timeout, 30 * SEC),
        start_period: dur(|c| c.start_period, 0),
        start_interval: dur(|c| c.start_interval, 5 * SEC),
        retries: u32::try_from(pick(|c| c.retries).unwrap_or(3)).unwrap_or(3),
    })
}

/// Checks a create body's `Healthcheck` as Docker does (durations of at least 1 ms when
/// given, retries not negative), with Docker's messages.
pub fn validate(hc: Option<&HealthConfig>) -> Result<()> {
    let Some(hc) = hc else { return Ok(()) };
    let durations = [
        ("Interval", hc.interval),
        ("Timeout", hc.timeout),
        ("StartPeriod", hc.start_period),
        ("StartInterval", hc.start_interval),
    ];
    for (name, d) in durations {
        if d.is_some_and(|d| d != 0 && d < 1_000_000) {
            return Err(EngineError::InvalidArgument(format!(
                "{name} in Healthcheck cannot be less than 1ms"
            )));
        }
    }
    if hc.retries.is_some_and(|r| r < 0) {
        return Err(EngineError::InvalidArgument(
            "Retries in Healthcheck cannot be negative".into(),
        ));
    }
    Ok(())
}

/// Docker's rules for one result; returns whether the status changed.
pub fn apply(h: &mut Health, r: HealthResult, retries: u32, in_start_period: bool) -> bool {
    let old = h.status.clone();
    if r.exit_code == 0 {
        h.failing_streak = 0;
        h.status = "healthy".into();
    } else if !(h.status == "starting" && in_start_period) {
        h.failing_streak += 1;
        if h.failing_streak >= retries {
            h.status = "unhealthy".into();
        }
    }
    h.log.push(r);
    let extra = h.log.len().saturating_sub(MAX_LOG);
    h.log.drain(..extra);
    h.status != old
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl ContainerView {
    /// The health word the `health=` filter matches: the status, or `none` without a check.
    pub fn health_status(&self) -> &str {
        self.health.as_ref().map_or("none", |h| h.status.as_str())
    }
}

impl Engine {
    /// The check container `rec` runs, if any.
    pub fn health_check(&self, rec: &ContainerRecord) -> Option<HealthCheck> {
        let image = self
            .store
            .resolve(&rec.image_id)
            .and_then(|d| self.store.get(&d))
            .ok();
        let from_image = image.as_ref().and_then(|i| i.config.config.as_ref());
        effective(
            from_image.and_then(|c| c.healthcheck.as_ref()),
            rec.options.healthcheck.as_ref(),
        )
    }

    /// The persisted health of container `id` (`None`: it has no check or never ran).
    pub fn container_health(&self, id: &str) -> Option<Health> {
        let data = std::fs::read(self.container_dir(id).join(HEALTH_FILE)).ok()?;
        serde_json::from_slice(&data).ok()
    }

    fn save_health(&self, id: &str, h: &Health) -> Result<()> {
        let path = self.container_dir(id).join(HEALTH_FILE);
        let data =
            serde_json::to_vec_pretty(h).map_err(|e| EngineError::Internal(e.to_string()))?;
        write_atomic(&path, &data).map_err(|e| EngineError::io("writing", &path, e))
    }

    /// At start: a run with a check begins `starting`, streak 0, the log kept.
    pub(crate) fn init_health(&self, rec: &ContainerRecord) {
        if self.health_check(rec).is_none() {
            return;
        }
        let mut h = self.container_health(&rec.id).unwrap_or_default();
        h.status = "starting".into();
        h.failing_streak = 0;
        h.started_at = rec.started_at.clone();
        if let Err(e) = self.save_health(&rec.id, &h) {
            crate::log::warn(&format!("health of {}: {e}", rec.id));
        }
    }

    /// Stops and starts a container that turned unhealthy (the opt-in label).
    fn restart_unhealthy(&self, rec: &ContainerRecord) -> Result<()> {
        crate::log::info(&format!("restarting unhealthy container {}", rec.id));
        self.stop_container(&rec.id, None, None)?;
        // `stop` marked a manual stop, which would call the start by policy off.
        self.mark_manually_stopped(rec, false)?;
        self.start_container_as(&rec.id, true).map(drop)
    }
}

/// The monitor of container `id`'s current run: probes until the container stops or starts
/// again. Holds only a weak reference to the engine between probes.
pub(crate) fn monitor(engine: Weak<Engine>, id: String) {
    let Some(e) = engine.upgrade() else { return };
    let Ok(rec) = e.find_container(&id) else {
        return;
    };
    let Some(check) = e.health_check(&rec) else {
        return;
    };
    let run = rec.started_at.clone();
    if e.container_health(&id).and_then(|h| h.started_at) != run {
        e.init_health(&rec);
    }
    let started = run
        .as_deref()
        .and_then(berth_image::time::parse_rfc3339)
        .map_or_else(unix_now, |s| s as f64);
    drop(e);
    let in_start_period = || unix_now() - started < check.start_period.as_secs_f64();
    loop {
        let Some(e) = engine.upgrade() else { return };
        let starting = e
            .container_health(&id)
            .is_none_or(|h| h.status == "starting");
        drop(e);
        let wait = if starting && in_start_period() {
            check.start_interval
        } else {
            check.interval
        };
        let until = Instant::now() + wait;
        while Instant::now() < until {
            std::thread::sleep(
                until
                    .saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(250)),
            );
            let Some(e) = engine.upgrade() else { return };
            let current = e.find_container(&id).ok();
            if current.is_none_or(|r| r.started_at != run || !e.container_status(&r).is_running()) {
                return;
            }
        }
        let Some(e) = engine.upgrade() else { return };
        let Ok(rec) = e.find_container(&id) else {
            return;
        };
        if e.container_status(&rec).is_paused() {
            continue;
        }
        let result = e.probe(&rec, &check);
        // The container may have stopped during the probe: its result is not this run's.
        let Ok(rec) = e.find_container(&id) else {
            return;
        };
        if rec.started_at != run || !e.container_status(&rec).is_running() {
            return;
        }
        let mut h = e.container_health(&id).unwrap_or_default();
        let changed = apply(&mut h, result, check.retries, in_start_period());
        if let Err(err) = e.save_health(&id, &h) {
            crate::log::warn(&format!("health of {id}: {err}"));
        }
        if !changed {
            continue;
        }
        e.emit_container(&rec, &format!("health_status: {}", h.status), &[]);
        e.set_member_ready(&id, None, h.status == "healthy");
        let opted_in = rec
            .labels
            .get(RESTART_ON_UNHEALTHY)
            .is_some_and(|v| v == "true");
        if h.status == "unhealthy" && opted_in {
            if let Err(err) = e.restart_unhealthy(&rec) {
                crate::log::warn(&format!("restarting unhealthy container {id}: {err}"));
            }
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hc(test: &[&str], interval: Option<i64>, retries: Option<i64>) -> HealthConfig {
        HealthConfig {
            test: test.iter().map(|s| s.to_string()).collect(),
            interval,
            retries,
            ..HealthConfig::default()
        }
    }

    #[test]
    fn inheritance_and_defaults() {
        let image = hc(&["CMD", "true"], Some(SEC), Some(5));
        let c = effective(Some(&image), None).unwrap();
        assert_eq!(
            (c.cmd.clone(), c.interval, c.retries),
            (vec!["true".into()], Duration::from_secs(1), 5)
        );
        assert_eq!(c.timeout, Duration::from_secs(30));
        let mine = hc(&[], None, Some(2));
        let c = effective(Some(&image), Some(&mine)).unwrap();
        assert_eq!((c.interval, c.retries), (Duration::from_secs(1), 2));
        let shell = hc(&["CMD-SHELL", "test -e /x"], None, None);
        let c = effective(None, Some(&shell)).unwrap();
        assert_eq!(c.cmd, vec!["/bin/sh", "-c", "test -e /x"]);
        assert_eq!((c.interval, c.retries), (Duration::from_secs(30), 3));
        assert!(effective(Some(&image), Some(&hc(&["NONE"], None, None))).is_none());
        assert!(effective(None, None).is_none());
        assert!(validate(Some(&hc(&["CMD", "true"], Some(1_000_000), Some(0)))).is_ok());
        let e = validate(Some(&hc(&[], Some(5), None)))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "Interval in Healthcheck cannot be less than 1ms");
        assert!(validate(Some(&hc(&[], None, Some(-1)))).is_err());
    }

    #[test]
    fn dockers_status_rules() {
        let r = |code| HealthResult {
            exit_code: code,
            ..HealthResult::default()
        };
        let mut h = Health {
            status: "starting".into(),
            ..Health::default()
        };
        assert!(!apply(&mut h, r(1), 2, true));
        assert_eq!((h.status.as_str(), h.failing_streak), ("starting", 0));
        assert!(!apply(&mut h, r(1), 2, false));
        assert!(apply(&mut h, r(1), 2, false));
        assert_eq!((h.status.as_str(), h.failing_streak), ("unhealthy", 2));
        assert!(apply(&mut h, r(0), 2, false));
        assert_eq!((h.status.as_str(), h.failing_streak), ("healthy", 0));
        for _ in 0..10 {
            apply(&mut h, r(0), 2, false);
        }
        assert_eq!(h.log.len(), MAX_LOG);
    }
}
