//! The verbs that change a container: create, start, kill, stop, remove (waits: `wait`).
//!
//! Why a lock only around create and remove: the name table is the set of records on disk,
//! so two creates must not both find a name free, and a remove must not race a create of
//! the same name. Start, kill, stop and wait act through the container's own shim, which
//! serialises them itself.
//!
//! Network: the networks are planned at create (`networks::plan`), set up after the start is
//! recorded and before the shim runs (`networks::attach`), and released when the run ends
//! (the supervisor's waiter, `stop`, `rm`).

use std::fs;
use std::time::{Duration, Instant};

use berth_runtime::Runtime;
use berth_shim::{ShimClient, SpawnOptions};
use nix::sys::signal::Signal;

use super::record::{self, generated_name, new_id, valid_name, ContainerRecord};
use super::ContainerStatus;
use crate::container::spec::merged_labels;
use crate::container::{build, CreateOptions, SpecContext};
use crate::{Engine, EngineError, Result};

/// Seconds between the stop signal and SIGKILL when neither the call nor the container
/// says (Docker's default).
const DEFAULT_STOP_TIMEOUT: i64 = 10;

/// What `stop` (and `start`) found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopOutcome {
    /// The container was running and is now stopped (or started, for `start`).
    Done,
    /// Nothing to do: it was already in the asked-for state (Docker answers 304).
    AlreadyThere,
}

pub use berth_runtime::parse_signal;

fn bad_signal(s: &str) -> EngineError {
    EngineError::InvalidArgument(format!(
        "Invalid signal: {s}: use a name such as SIGTERM or KILL, or a number from 1 to 64"
    ))
}

impl Engine {
    /// Creates a container from `opts` (whose `Image` names the image), named `name` or a
    /// generated `adjective_surname`. Returns its record.
    pub fn create_container(
        &self,
        name: Option<&str>,
        mut opts: CreateOptions,
    ) -> Result<ContainerRecord> {
        if opts.image.is_empty() {
            return Err(EngineError::InvalidArgument(
                "no image given: name the image to create the container from".into(),
            ));
        }
        let policy = &opts.host_config.restart_policy;
        super::restart::validate(&policy.name, policy.maximum_retry_count, false)?;
        super::health::validate(opts.healthcheck.as_ref())?;
        if opts.host_config.log_config.driver.is_empty() {
            // Inspect shows the driver in use, as Docker's does.
            opts.host_config.log_config.driver = crate::container::options::JSON_FILE.into();
        }
        let image_id = self
            .store
            .resolve(&opts.image)
            .map_err(|e| EngineError::from_lookup(&opts.image, e))?;
        let image = self.store.get(&image_id)?;
        let networks = self.plan_networks(&opts)?;
        // Docker's merge: the container's exposed ports include the image's and the
        // published ones (inspect's Config.ExposedPorts, `-P`, ps's PORTS).
        let image_ports = image
            .config
            .config
            .as_ref()
            .and_then(|c| c.exposed_ports.clone());
        for key in image_ports.unwrap_or_default().into_keys() {
            opts.exposed_ports
                .entry(key)
                .or_insert_with(|| serde_json::json!({}));
        }
        for key in opts.host_config.port_bindings.keys() {
            let key = if key.contains('/') {
                key.clone()
            } else {
                format!("{key}/tcp")
            };
            opts.exposed_ports
                .entry(key)
                .or_insert_with(|| serde_json::json!({}));
        }
        self.check_namespace_modes(&mut opts)?;
        let net_kind = crate::container::options::network_kind(&opts.host_config.network_mode)
            .map_err(crate::container::SpecError::from)?;
        if net_kind == crate::container::options::NetworkKind::Host && opts.hostname.is_empty() {
            // dockerd: a container on the host's network has the host's name.
            opts.hostname = nix::unistd::gethostname()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_default();
        }
        let (netns_path, etc_owner) = match &net_kind {
            crate::container::options::NetworkKind::Host => (None, None),
            crate::container::options::NetworkKind::Container(t) => {
                let t = self.find_container(t)?;
                (Some(self.netns_path(&t.id)), Some(t.id))
            }
            _ => (None, None),
        };
        let _guard = self
            .containers_lock
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let id = new_id().map_err(|e| EngineError::io("reading", "/dev/urandom".as_ref(), e))?;
        let existing = self.records()?;
        let name = match name.filter(|n| !n.is_empty()) {
            Some(n) => {
                let n = n.strip_prefix('/').unwrap_or(n);
                if !valid_name(n) {
                    return Err(EngineError::InvalidArgument(format!(
                        "Invalid container name ({n}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                    )));
                }
                if let Some(other) = existing.iter().find(|r| r.name == n) {
                    return Err(EngineError::Conflict(format!(
                        "Conflict. The container name \"/{n}\" is already in use by container \
                         \"{}\". You have to remove (or rename) that container to be able to \
                         reuse that name.",
                        other.id
                    )));
                }
                n.to_string()
            }
            None => (0u8..)
                .map(|i| generated_name(&[id.as_bytes(), &[i]].concat()))
                .find(|n| existing.iter().all(|r| &r.name != n))
                .unwrap_or_else(|| id[..12].to_string()),
        };
        let image_volumes: Vec<String> = image
            .config
            .config
            .as_ref()
            .and_then(|c| c.volumes.as_ref())
            .map(|v| v.keys().cloned().collect())
            .unwrap_or_default();
        let (mounts, mut spec_opts, anonymous) = self.resolve_mounts(&opts, &image_volumes)?;
        // The daemon's default ulimits, under the container's own (dockerd's mergeUlimits);
        // in the spec only, so inspect shows what the user gave.
        let own = &mut spec_opts.host_config.ulimits;
        for u in &self.config.default_ulimits {
            if !own.iter().any(|o| o.name == u.name) {
                own.push(u.clone());
            }
        }
        let dir = self.container_dir(&id);
        let bundle = dir.join("bundle");
        let made = (|| {
            fs::create_dir_all(&bundle).map_err(|e| EngineError::io("creating", &bundle, e))?;
            self.store.create_rootfs(&id, &image_id)?;
            let merged = self.store.mount_rootfs(&id)?;
            let ctx = SpecContext {
                rootfs: merged,
                container_id: id.clone(),
                seccomp_profile: self.config.seccomp_profile.clone(),
                cgroups_path: format!("/berth/{id}"),
                arch: std::env::consts::ARCH.to_string(),
                cgroup_v2: matches!(
                    berth_runtime::cgroups::detect_setup(),
                    Ok(berth_runtime::cgroups::CgroupSetup::Unified)
                ),
                init_binary: self.config.init_binary.clone(),
                netns_path: match &net_kind {
                    k if k.own_namespace() => Some(self.netns_path(&id)),
                    _ => netns_path.clone(),
                },
                etc_dir: Some(self.container_dir(etc_owner.as_deref().unwrap_or(&id))),
                ..self.namespace_context(&spec_opts, &id)?
            };
            // The user database is read from the mounted rootfs; the mount is made again at
            // start, so nothing stays mounted for a container that never runs.
            let spec = build(&image.config, &spec_opts, &ctx);
            self.store.unmount_rootfs(&id)?;
            let spec = spec?;
            let data = serde_json::to_vec_pretty(&spec)
                .map_err(|e| EngineError::Internal(format!("encoding the OCI spec: {e}")))?;
            let path = bundle.join("config.json");
            record::write_atomic(&path, &data).map_err(|e| EngineError::io("writing", &path, e))?;
            let process = spec.process().clone().unwrap_or_default();
            let mut args = process.args().clone().unwrap_or_default().into_iter();
            let ic = image.config.config.clone().unwrap_or_default();
            let stop_signal = [Some(opts.stop_signal.clone()), ic.stop_signal.clone()]
                .into_iter()
                .flatten()
                .find(|s| !s.is_empty())
                .unwrap_or_else(|| "SIGTERM".into());
            if parse_signal(&stop_signal).is_none() {
                return Err(bad_signal(&stop_signal));
            }
            let rec = ContainerRecord {
                id: id.clone(),
                name: name.clone(),
                image_id: image_id.to_string(),
                path: args.next().unwrap_or_default(),
                args: args.collect(),
                env: process.env().clone().unwrap_or_default(),
                hostname: spec.hostname().clone().unwrap_or_default(),
                labels: merged_labels(&image.config, &opts),
                stop_signal,
                options: opts.clone(),
                created: berth_shim::time::now(),
                started_at: None,
                auto_remove: false,
                mounts: mounts.clone(),
                restart_count: 0,
                manually_stopped: false,
                networks: networks.clone(),
                ports: Vec::new(),
            };
            record::save(&dir, &rec)
                .map_err(|e| EngineError::io("writing the record in", &dir, e))?;
            Ok(self.created(rec))
        })();
        if made.is_err() {
            let _ = self.store.remove_rootfs(&id);
            let _ = fs::remove_dir_all(&dir);
            for n in &anonymous {
                let _ = self.volumes.remove(n);
            }
        }
        made
    }

    /// Starts a created or exited container under a new shim.
    pub fn start_container(&self, name_or_id: &str) -> Result<StopOutcome> {
        let started = self.start_container_as(name_or_id, false);
        if started.is_err() {
            // Clients attached before the start (docker run) stop waiting for it.
            if let Ok(rec) = self.find_container(name_or_id) {
                self.note_failed_start(&rec.id);
            }
        }
        started
    }

    /// Starts a container for the user (clearing a manual stop and the restart count, as
    /// Docker does) or for its restart policy (`by_policy`); the supervisor watches it.
    pub(crate) fn start_container_as(
        &self,
        name_or_id: &str,
        by_policy: bool,
    ) -> Result<StopOutcome> {
        let rec = self.find_container(name_or_id)?;
        if self.container_status(&rec).is_running() {
            return Ok(StopOutcome::AlreadyThere);
        }
        self.prepare_namespaces(&rec)?;
        let id = rec.id.clone();
        // A previous run's overlay is still mounted; mount afresh.
        self.store.unmount_rootfs(&id)?;
        let merged = self.store.mount_rootfs(&id)?;
        if let Err(e) = self.prepare_volumes(&rec, &merged) {
            let _ = self.store.unmount_rootfs(&id);
            return Err(e);
        }
        let dir = self.container_dir(&id);
        let (shim_dir, runtime_root) = (self.shim_dir(&id), self.runtime_root());
        for d in [&shim_dir, &runtime_root] {
            fs::create_dir_all(d).map_err(|e| EngineError::io("creating", d, e))?;
        }
        let limits = crate::container::options::log_limits(&rec.options.host_config.log_config)
            .map_err(crate::container::SpecError::from)?;
        // The previous run's exit must not be read as this run's.
        let _ = fs::remove_file(shim_dir.join(berth_shim::exit::EXIT_FILE));
        // Recorded first: a crash after the spawn must not leave a running container that
        // reads as "created".
        let started = ContainerRecord {
            started_at: Some(berth_shim::time::now()),
            manually_stopped: false,
            restart_count: if by_policy { rec.restart_count } else { 0 },
            ..rec.clone()
        };
        let Some(started) = self.record_start(started, by_policy)? else {
            let _ = self.store.unmount_rootfs(&id);
            return Ok(StopOutcome::AlreadyThere);
        };
        let started = match self.connect_for_start(&started) {
            Ok(s) => s,
            Err(e) => {
                let _ = record::save(&dir, &rec);
                let _ = self.store.unmount_rootfs(&id);
                return Err(e);
            }
        };
        let (nets, ports) = (started.networks.clone(), started.ports.clone());
        self.update_record(&id, |r| {
            r.networks = nets;
            r.ports = ports;
        })?;
        let spawned = berth_shim::spawn(
            &self.config.shim_binary,
            &SpawnOptions {
                id: &id,
                bundle: &dir.join("bundle"),
                state_dir: &shim_dir,
                runtime_root: &runtime_root,
                log_max_size: limits.max_size,
                log_max_files: limits.max_files,
                stdin: rec.options.open_stdin,
                stdin_once: rec.options.stdin_once,
            },
        );
        if let Err(e) = spawned {
            self.release_removed(&started);
            let _ = record::save(&dir, &rec);
            let _ = self.store.unmount_rootfs(&id);
            return Err(EngineError::Shim(format!(
                "starting container {id} with {}: {e}",
                self.config.shim_binary.display()
            )));
        }
        self.announce_start(&started);
        self.watch(&id);
        Ok(StopOutcome::Done)
    }

    /// Sends `signal` (name or number; `None` = SIGKILL) to a running container.
    pub fn kill_container(&self, name_or_id: &str, signal: Option<&str>) -> Result<()> {
        let sig = match signal.filter(|s| !s.is_empty()) {
            Some(s) => parse_signal(s).ok_or_else(|| bad_signal(s))?,
            None => Signal::SIGKILL as i32,
        };
        let rec = self.find_container(name_or_id)?;
        if self.container_status(&rec).is_running() {
            self.mark_manually_stopped(&rec, true)?;
        }
        self.signal(&rec, sig)
    }

    fn signal(&self, rec: &ContainerRecord, sig: i32) -> Result<()> {
        let not_running = || {
            EngineError::FailedPrecondition(format!(
                "Cannot kill container: {}: Container {} is not running",
                rec.name, rec.id
            ))
        };
        if !self.container_status(rec).is_running() {
            return Err(not_running());
        }
        let client = ShimClient::connect(self.shim_dir(&rec.id)).map_err(|_| not_running())?;
        client
            .kill(sig)
            .map_err(|e| EngineError::Shim(format!("signalling container {}: {e}", rec.id)))
            .map(|()| self.killed(rec, sig))
    }

    /// Sends the stop signal (`signal`, else the container's), then SIGKILL after `timeout`
    /// seconds (`None`: the container's `StopTimeout`, then 10; negative: wait for ever). A
    /// stopped container is not restarted by its policy.
    pub fn stop_container(
        &self,
        name_or_id: &str,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<StopOutcome> {
        let rec = self.find_container(name_or_id)?;
        // First, so that a restart by policy that is pending or under way is called off.
        self.mark_manually_stopped(&rec, true)?;
        if !self.settled_status(&rec).is_running() {
            return Ok(StopOutcome::AlreadyThere);
        }
        let t = timeout
            .or(rec.options.stop_timeout)
            .unwrap_or(DEFAULT_STOP_TIMEOUT);
        let sig = match signal.filter(|s| !s.is_empty()) {
            Some(s) => parse_signal(s).ok_or_else(|| bad_signal(s))?,
            None => parse_signal(&rec.stop_signal).unwrap_or(Signal::SIGTERM as i32),
        };
        self.withdraw_member(&rec.id);
        let _ = self.signal(&rec, sig);
        let shim_dir = self.shim_dir(&rec.id);
        let mut ended = false;
        if t >= 0 {
            let deadline = Instant::now() + Duration::from_secs(t.unsigned_abs());
            while Instant::now() < deadline {
                if !self.container_status(&rec).is_running() {
                    ended = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if !ended {
                let _ = self.signal(&rec, Signal::SIGKILL as i32);
            }
        }
        if !ended {
            berth_shim::wait_exit(&shim_dir)
                .map_err(|e| EngineError::Shim(format!("waiting for container {}: {e}", rec.id)))?;
        }
        self.release_run(&rec.id, rec.started_at.as_deref());
        Ok(self.stopped(&rec))
    }

    /// Removes a container: its rootfs, bundle, record and shim state. A running one is
    /// refused unless `force`, which kills it first.
    pub fn remove_container(&self, name_or_id: &str, force: bool) -> Result<()> {
        self.remove_container_with(name_or_id, force, false)
    }

    /// [`Engine::remove_container`], and with `volumes` (`rm -v`, `--rm`) its anonymous
    /// volumes no other container uses (named volumes stay).
    pub fn remove_container_with(
        &self,
        name_or_id: &str,
        force: bool,
        volumes: bool,
    ) -> Result<()> {
        let _guard = self
            .containers_lock
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let rec = self.find_container(name_or_id)?;
        let id = rec.id.clone();
        let status = self.container_status(&rec);
        if status.is_running() {
            if !force {
                return Err(EngineError::FailedPrecondition(format!(
                    "You cannot remove a running container {id}. Stop the container before \
                     attempting removal or force remove"
                )));
            }
            // Not to be restarted by its policy while it is being removed (the lock is
            // held: the record is written directly).
            let stopped = ContainerRecord {
                manually_stopped: true,
                ..rec.clone()
            };
            let _ = record::save(&self.container_dir(&id), &stopped);
            let _ = self.signal(&rec, Signal::SIGKILL as i32);
            berth_shim::wait_exit(self.shim_dir(&id))
                .map_err(|e| EngineError::Shim(format!("waiting for container {id}: {e}")))?;
        }
        self.note_exit_of(&rec);
        self.forget_execs(&id);
        self.release_removed(&rec);
        if status == ContainerStatus::Dead {
            // No shim cleaned up after it: drop the runtime's state (and cgroup) ourselves.
            let _ = Runtime::new(self.runtime_root()).delete(&id, true);
        }
        self.store.remove_rootfs(&id)?;
        self.release_shm(&id);
        for d in [self.shim_dir(&id), self.container_dir(&id)] {
            match fs::remove_dir_all(&d) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(EngineError::io("removing", &d, e)),
            }
        }
        if volumes {
            self.remove_anonymous_volumes(&rec);
        }
        self.destroyed(&rec);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals() {
        assert_eq!(parse_signal("SIGTERM"), Some(15));
        assert_eq!(parse_signal("kill"), Some(9));
        assert_eq!(parse_signal("2"), Some(2));
        assert_eq!(parse_signal("0"), None);
        assert_eq!(parse_signal("NOPE"), None);
    }
}
