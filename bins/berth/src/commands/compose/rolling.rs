//! Start-first replacement of a changed running container: `up`'s default (`--strategy
//! rolling`), beyond docker compose, whose recreate stops the old container first.
//!
//! Why it is safe to run both at once: every service container carries berthd's port-group
//! label (`org.berth.port-group=<project>/<service>`), so the new one may publish the same
//! host ports as the old one, and berthd sends new connections (published ports and the
//! service's DNS name) to the newest member that is *ready* — healthy, or with its published
//! TCP ports answering — switching in one atomic nft transaction. So the steps are:
//! 1. the old container is renamed `<short id>_<name>` (docker compose's parking name) and
//!    keeps serving;
//! 2. the new container is created under the real name and started;
//! 3. `up` waits until berthd reports it ready (`State.Health` or berth's `State.Ready`), at
//!    most `--ready-timeout`;
//! 4. after [`DRAIN`] (connections opened just before the switch finish on the old one), the
//!    old container is stopped with its grace period and removed.
//!
//! If the new container exits, turns unhealthy or is not ready in time, it is removed, the old
//! one gets its name back and goes on serving, and `up` fails with the new one's last log
//! lines: a bad release never takes the service down.
//!
//! Which services: those whose `deploy.update_config.order` is `start-first`, or unset and
//! the service has no writable bind mount or volume. Two instances of a database must never
//! run on one data directory (PostgreSQL's lock file, for one, cannot tell the two apart
//! across pid namespaces), so such a service is replaced stop-first unless it says otherwise.

use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use berth_api_types::ContainerSummary;
use berth_client::{Client, Demux, LogsOptions};
use berth_compose::{MountType, Service};

use super::deps::{self, Ready};
use super::{event, state, up};
use crate::commands::daemon;

/// `--ready-timeout`'s default, in seconds.
pub const READY_TIMEOUT: u64 = 120;

/// Time between the switch of traffic and the old container's stop.
pub const DRAIN: Duration = Duration::from_secs(1);

/// How many of the failed container's log lines the error shows.
const LOG_LINES: &str = "30";

/// How a changed running container of a service is replaced (under `--strategy rolling`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// The new one serves before the old one stops.
    StartFirst,
    /// The old one stops first (docker compose's recreate).
    StopFirst,
}

/// `s`'s order: its `deploy.update_config.order`, else start-first unless it writes to a
/// bind mount or volume (see the module docs).
pub fn order(s: &Service) -> Order {
    match given_order(s) {
        Some("start-first") => Order::StartFirst,
        Some(_) => Order::StopFirst,
        None if writes(s) => Order::StopFirst,
        None => Order::StartFirst,
    }
}

/// `deploy.update_config.order`, when the service gives one.
fn given_order(s: &Service) -> Option<&str> {
    s.deploy
        .as_ref()
        .and_then(|d| d.update_config.as_ref())
        .and_then(|u| u.order.as_deref())
}

fn writes(s: &Service) -> bool {
    s.volumes
        .iter()
        .any(|m| m.kind != MountType::Tmpfs && !m.read_only)
}

/// Says why a running container of `s` (named `name`) is replaced stop-first under
/// `--strategy rolling` when the reason is its writable mounts rather than the user's order.
pub fn explain_stop_first(s: &Service, name: &str) {
    if given_order(s).is_none() && writes(s) {
        eprintln!(
            "INFO[0000] {name}: replaced stop-first because service {:?} writes to a volume or \
             bind mount (two instances must not share its data); set \
             deploy.update_config.order: start-first to start the new one first",
            s.name
        );
    }
}

/// Replaces the running container `old` by the one `create` makes and starts (returning its
/// id), start-first as the module says.
pub fn replace(
    c: &Client,
    old: &ContainerSummary,
    stop_timeout: Option<i64>,
    ready_timeout: u64,
    create: impl FnOnce() -> Result<String>,
) -> Result<()> {
    let name = state::name(old);
    let parked = format!("{}_{name}", &old.id[..12.min(old.id.len())]);
    event("Container", &name, "Recreate");
    c.rename_container(&old.id, &parked).map_err(daemon)?;
    let restore = || c.rename_container(&old.id, &name).map_err(daemon);
    let id = match create() {
        Ok(id) => id,
        Err(e) => {
            restore()?;
            return Err(e);
        }
    };
    event("Container", &name, "Waiting");
    let deadline = Instant::now() + Duration::from_secs(ready_timeout);
    if let Err(why) = deps::wait_container(c, &id, Ready::Serving, Some(deadline)) {
        let logs = tail_logs(c, &id);
        let removed = c.remove_container(&id, true, false).map_err(daemon);
        restore()?;
        removed?;
        return Err(anyhow!(
            "{name}: the new container did not become ready ({why}); it was removed and the \
             old container keeps serving. Its last log lines:\n{logs}"
        ));
    }
    event("Container", &name, "Ready");
    std::thread::sleep(DRAIN);
    let mut parked_old = old.clone();
    parked_old.names = vec![format!("/{parked}")];
    up::remove(c, &parked_old, stop_timeout, false)?;
    event("Container", &name, "Recreated");
    Ok(())
}

/// The last [`LOG_LINES`] lines of container `id`, both streams, for an error message.
fn tail_logs(c: &Client, id: &str) -> String {
    let o = LogsOptions {
        tail: Some(LOG_LINES.into()),
        ..LogsOptions::default()
    };
    let mut raw = Vec::new();
    let Ok(mut s) = c.logs(id, &o) else {
        return "(its logs could not be read)".into();
    };
    let tty = s.is_raw();
    while let Ok(Some(chunk)) = s.next_chunk() {
        raw.extend_from_slice(&chunk);
    }
    let text = if tty {
        raw
    } else {
        let mut d = Demux::default();
        d.push(&raw);
        let mut out = Vec::new();
        while let Some((_, payload)) = d.next_frame() {
            out.extend_from_slice(&payload);
        }
        out
    };
    let s = String::from_utf8_lossy(&text);
    match s.trim_end().is_empty() {
        true => "(it wrote nothing)".into(),
        false => s.trim_end().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(yaml: &str) -> Service {
        let o = berth_compose::LoadOptions {
            files: vec!["compose.yaml".into()],
            working_dir: "/p".into(),
            ..berth_compose::LoadOptions::default()
        };
        let text = yaml.to_string();
        let read = |p: &std::path::Path| match p.ends_with("compose.yaml") {
            true => Ok(text.clone()),
            false => Err(std::io::Error::from(std::io::ErrorKind::NotFound)),
        };
        let l = berth_compose::Project::load_with(&o, &read).expect("loads");
        l.project.services["s"].clone()
    }

    #[test]
    fn writable_mounts_are_replaced_stop_first_unless_told() {
        let base = "services: {s: {image: x";
        let o = |rest: &str| {
            order(&service(&format!(
                "{base}{rest}}}}}\nvolumes: {{data: {{}}}}"
            )))
        };
        assert_eq!(o(""), Order::StartFirst);
        assert_eq!(o(", volumes: ['data:/var/lib/db']"), Order::StopFirst);
        assert_eq!(o(", volumes: ['/srv:/srv']"), Order::StopFirst);
        assert_eq!(o(", volumes: ['/srv:/srv:ro']"), Order::StartFirst);
        assert_eq!(o(", tmpfs: [/run]"), Order::StartFirst);
        assert_eq!(
            o(", volumes: ['data:/d'], deploy: {update_config: {order: start-first}}"),
            Order::StartFirst
        );
        assert_eq!(
            o(", deploy: {update_config: {order: stop-first}}"),
            Order::StopFirst
        );
    }
}
