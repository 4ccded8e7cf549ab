//! Readiness: `depends_on` conditions (`service_started`, `service_healthy`,
//! `service_completed_successfully`) and `up --wait`, by polling inspect — the state the
//! daemon reports (`State.Health.Status`, `State.Status`, `State.ExitCode`) is the truth.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use berth_client::Client;
use berth_compose::{Condition, Project, Service};
use serde_json::Value;

use super::{event, state};
use crate::commands::daemon;

/// What to wait for on one container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ready {
    /// Running (or healthy when it has a health check): `up --wait`.
    RunningOrHealthy,
    /// `State.Health.Status == healthy`.
    Healthy,
    /// Exited with status 0.
    Completed,
    /// Ready for traffic: healthy with a health check, else berthd's port-group readiness
    /// (`State.Ready`, its published TCP ports answer) when it reports one, else running.
    Serving,
}

const POLL: Duration = Duration::from_millis(200);

/// Polls `name` until `ready` holds; fails when it cannot hold any more (unhealthy, exited)
/// or at `deadline`.
pub fn wait_container(
    c: &Client,
    name: &str,
    ready: Ready,
    deadline: Option<Instant>,
) -> Result<()> {
    loop {
        let v: Value = c.inspect_container_raw(name).map_err(daemon)?;
        let st = &v["State"];
        let status = st["Status"].as_str().unwrap_or("");
        let code = st["ExitCode"].as_i64().unwrap_or(0);
        let health = st["Health"]["Status"].as_str();
        let exited = matches!(status, "exited" | "dead");
        match ready {
            Ready::Completed if exited => {
                if code == 0 {
                    return Ok(());
                }
                bail!("service {name:?} didn't complete successfully: exit {code}");
            }
            Ready::Completed => {}
            Ready::Serving => {
                match (health, st["Ready"].as_bool()) {
                    (Some("healthy"), _) => return Ok(()),
                    (Some("unhealthy"), _) => bail!("it is unhealthy"),
                    (None, Some(true)) => return Ok(()),
                    (None, None) if status == "running" => return Ok(()),
                    _ => {}
                }
                if exited {
                    bail!("it exited with code {code}");
                }
            }
            Ready::Healthy | Ready::RunningOrHealthy => {
                match health {
                    Some("healthy") => return Ok(()),
                    Some("unhealthy") => {
                        bail!("dependency failed to start: container {name} is unhealthy")
                    }
                    None if ready == Ready::Healthy => bail!(
                        "dependency failed to start: container {name} has no healthcheck configured; add a healthcheck to the service or use condition: service_started"
                    ),
                    None if status == "running" => return Ok(()),
                    _ => {}
                }
                if exited {
                    bail!("dependency failed to start: container {name} exited ({code})");
                }
            }
        }
        if deadline.is_some_and(|d| Instant::now() > d) {
            let flag = match ready {
                Ready::Serving => "--ready-timeout",
                _ => "--wait-timeout",
            };
            bail!("timeout waiting for container {name} to be ready; raise {flag} or check its logs with `berth compose logs`");
        }
        std::thread::sleep(POLL);
    }
}

/// Waits for the dependencies of `s` that the project runs, by their condition.
pub fn wait_dependencies(c: &Client, p: &Project, s: &Service) -> Result<()> {
    for (dep, d) in &s.depends_on {
        if !p.services.contains_key(dep) {
            continue;
        }
        let ready = match d.condition {
            Condition::ServiceStarted => continue,
            Condition::ServiceHealthy => Ready::Healthy,
            Condition::ServiceCompletedSuccessfully => Ready::Completed,
        };
        let list = state::service_containers(c, &p.name, true, std::slice::from_ref(dep))?;
        if list.is_empty() && d.required {
            bail!("dependency failed to start: service {dep:?} has no container; run `berth compose up {dep}`");
        }
        for x in &list {
            let n = state::name(x);
            event("Container", &n, "Waiting");
            wait_container(c, &n, ready, None)?;
            event(
                "Container",
                &n,
                if ready == Ready::Healthy {
                    "Healthy"
                } else {
                    "Exited"
                },
            );
        }
    }
    Ok(())
}
