//! `up`: converge the daemon's state to the model, service by service in dependency order.
//!
//! Idempotence comes from labels: a container whose `com.docker.compose.config-hash` equals
//! the service's [`berth_compose::Service::config_hash`] and whose image id is the current
//! one is kept (started if stopped); others are recreated — a running one start-first by
//! default, so the service never stops serving (`rolling`), else stop-first as docker
//! compose does. Replicas are numbered from 1; scaling down removes the highest numbers
//! first. Without `-d`, `up` then follows the logs (`attached`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use berth_api_types::ContainerSummary;
use berth_client::Client;
use berth_compose::Project;

use super::deps::{self, Ready};
use super::ephemeral::Stamp;
use super::spec::{self, Replica};
use super::verbs::Strategy;
use super::{event, images, resources, rolling, state, Ctx, Up};
use crate::commands::daemon;

/// The project restricted to the services named on the command line (with their
/// dependencies unless `no_deps`).
pub fn select(full: &Project, services: &[String], no_deps: bool) -> Result<Project> {
    let names: Vec<&str> = services.iter().map(String::as_str).collect();
    let mut p = full.with_services(&names).map_err(|e| anyhow!("{e}"))?;
    if no_deps && !services.is_empty() {
        let drop: Vec<String> = p
            .services
            .keys()
            .filter(|k| !services.contains(k))
            .cloned()
            .collect();
        for k in drop {
            let s = p.services.remove(&k).expect("listed");
            p.disabled_services.insert(k, s);
        }
    }
    Ok(p)
}

fn parse_scale(scale: &[String], p: &Project) -> Result<BTreeMap<String, usize>> {
    let mut m = BTreeMap::new();
    for s in scale {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| anyhow!("invalid --scale {s:?}: use SERVICE=NUM"))?;
        let n = v
            .parse()
            .map_err(|_| anyhow!("invalid --scale {s:?}: {v:?} is not a number"))?;
        if !p.services.contains_key(k) {
            bail!("invalid --scale {s:?}: no such service: {k}");
        }
        m.insert(k.to_string(), n);
    }
    Ok(m)
}

/// Desired replicas: `--scale`, else `deploy.replicas`, else `scale`, else 1.
fn replicas(p: &Project, name: &str, scale: &BTreeMap<String, usize>) -> usize {
    let s = &p.services[name];
    scale.get(name).copied().unwrap_or_else(|| {
        s.deploy
            .as_ref()
            .and_then(|d| d.replicas)
            .or(s.scale)
            .map_or(1, |n| n as usize)
    })
}

/// The stop timeout of a service's containers: `-t`, else `stop_grace_period`.
pub fn stop_timeout(p: Option<&Project>, service: &str, t: Option<i64>) -> Option<i64> {
    t.or_else(|| {
        p.and_then(|p| p.services.get(service))
            .and_then(|s| s.stop_grace_period)
            .map(|d| d.as_secs() as i64)
    })
}

/// Stops and removes one container, with docker compose's events.
pub fn remove(c: &Client, x: &ContainerSummary, timeout: Option<i64>, volumes: bool) -> Result<()> {
    let n = state::name(x);
    if x.state == "running" || x.state == "restarting" {
        super::lifecycle::stop_one(c, x, timeout)?;
    }
    event("Container", &n, "Removing");
    c.remove_container(&x.id, true, volumes).map_err(daemon)?;
    event("Container", &n, "Removed");
    Ok(())
}

/// A namespace mode (`network_mode`, `pid`, `ipc`: the compose key is `key`), with
/// `service:NAME` resolved to `container:<id>` of the first container of NAME.
pub(super) fn service_mode(
    c: &Client,
    p: &Project,
    key: &str,
    mode: Option<&String>,
) -> Result<Option<String>> {
    let Some(m) = mode else { return Ok(None) };
    if let Some(svc) = m.strip_prefix("service:") {
        let list = state::service_containers(c, &p.name, true, &[svc.to_string()])?;
        let first = list.first().ok_or_else(|| {
            anyhow!("{key} {m:?}: service {svc:?} has no container; start it first")
        })?;
        return Ok(Some(format!("container:{}", first.id)));
    }
    Ok(Some(m.clone()))
}

/// What `converge` needs besides the service.
struct Plan<'a> {
    c: &'a Client,
    p: &'a Project,
    files: String,
    a: &'a Up,
    stamp: Stamp,
}

impl Plan<'_> {
    /// Creates (and with `start` starts) replica `number` of `service`; `revision` is its
    /// port-group revision (the configuration hash and image id, from `converge`).
    fn create(&self, service: &str, number: u32, start: bool, revision: &str) -> Result<String> {
        let s = &self.p.services[service];
        let name = state::container_name(self.p, service, number);
        let r = Replica {
            project: self.p,
            service: s,
            name: name.clone(),
            number,
            image: state::image_name(self.p, service),
            oneoff: false,
            config_files: self.files.clone(),
            network_mode: service_mode(self.c, self.p, "network_mode", s.network_mode.as_ref())?,
            pid: service_mode(self.c, self.p, "pid", s.pid.as_ref())?,
            ipc: service_mode(self.c, self.p, "ipc", s.ipc.as_ref())?,
        };
        event("Container", &name, "Creating");
        let mut body = spec::create_body(&r, true);
        self.stamp.apply(&mut body);
        // berthd's port group: the service's containers may publish one host port side by
        // side (replicas share it, an update switches it); one revision per configuration
        // and image, so an update moves all traffic to the new containers at once.
        body["Labels"][state::PORT_GROUP] = format!("{}/{service}", self.p.name).into();
        body["Labels"][state::PORT_GROUP_REVISION] = revision.into();
        let res = self
            .c
            .create_container(Some(&name), &body)
            .map_err(daemon)?;
        for w in &res.warnings {
            eprintln!("WARN[0000] {w}");
        }
        super::files::inject(self.c, &res.id, self.p, s)?;
        event("Container", &name, "Created");
        if start {
            self.start(&res.id, &name)?;
        }
        Ok(res.id)
    }

    fn start(&self, id: &str, name: &str) -> Result<()> {
        event("Container", name, "Starting");
        self.c.start_container(id).map_err(daemon)?;
        event("Container", name, "Started");
        Ok(())
    }

    /// Restarts the running containers of `service` (a dependency was updated).
    fn restart(&self, service: &str) -> Result<()> {
        let list = state::service_containers(self.c, &self.p.name, false, &[service.into()])?;
        let timeout = stop_timeout(Some(self.p), service, self.a.timeout);
        for x in list {
            super::lifecycle::restart_one(self.c, &x, timeout)?;
        }
        Ok(())
    }

    /// Whether a changed running container of `service` is replaced start-first.
    fn start_first(&self, service: &str) -> bool {
        self.a.strategy == Strategy::Rolling
            && rolling::order(&self.p.services[service]) == rolling::Order::StartFirst
    }

    /// Brings `service` to `n` replicas of its current configuration; whether it recreated
    /// a container (the service was updated).
    fn converge(&self, service: &str, n: usize) -> Result<bool> {
        let (c, p, a) = (self.c, self.p, self.a);
        let s = &p.services[service];
        if s.container_name.is_some() && n > 1 {
            bail!("service {service:?} has container_name set and cannot be scaled to {n}; remove container_name to run several replicas");
        }
        let start = !a.no_start;
        let hash = s.config_hash();
        let image = images::image_id(c, &state::image_name(p, service))?;
        let revision = format!("{hash}-{}", image.as_deref().unwrap_or_default());
        let mut existing = state::service_containers(c, &p.name, true, &[service.to_string()])?;
        existing.sort_by_key(state::number);
        let timeout = stop_timeout(Some(p), service, a.timeout);
        while existing.len() > n {
            let x = existing.pop().expect("non-empty");
            remove(c, &x, timeout, false)?;
        }
        let mut used = BTreeSet::new();
        let mut updated = false;
        for x in &existing {
            let number = state::number(x);
            used.insert(number);
            let name = state::name(x);
            let stale = state::label(x, state::HASH) != hash
                || image.as_ref().is_some_and(|i| *i != x.image_id);
            let recreate = a.force_recreate || (stale && !a.no_recreate);
            updated |= recreate;
            if recreate && start && x.state == "running" && self.start_first(service) {
                let create = || self.create(service, number, true, &revision);
                rolling::replace(c, x, timeout, a.ready_timeout, create)?;
            } else if recreate {
                if a.strategy == Strategy::Rolling && start && x.state == "running" {
                    rolling::explain_stop_first(s, &name);
                }
                event("Container", &name, "Recreate");
                remove(c, x, timeout, false)?;
                self.create(service, number, start, &revision)?;
                event("Container", &name, "Recreated");
            } else if x.state != "running" && start {
                self.start(&x.id, &name)?;
            } else {
                event("Container", &name, "Running");
            }
        }
        let mut k = 1;
        while used.len() < n {
            if used.insert(k) {
                self.create(service, k, start, &revision)?;
            }
            k += 1;
        }
        Ok(updated)
    }
}

/// Whether `s` depends, with `restart: true`, on a service in `updated`.
fn restarts_after(s: &berth_compose::Service, updated: &BTreeSet<String>) -> bool {
    s.depends_on
        .iter()
        .any(|(dep, d)| d.restart && updated.contains(dep))
}

/// Containers of the project whose service is not in the model: warned about, or removed.
fn orphans(c: &Client, full: &Project, remove_them: bool, timeout: Option<i64>) -> Result<()> {
    let known: BTreeSet<&String> = full.all_services().map(|(k, _)| k).collect();
    let list: Vec<ContainerSummary> = state::service_containers(c, &full.name, true, &[])?
        .into_iter()
        .filter(|x| !known.contains(&state::label(x, state::SERVICE).to_string()))
        .collect();
    if list.is_empty() {
        return Ok(());
    }
    if remove_them {
        for x in &list {
            remove(c, x, timeout, false)?;
        }
    } else {
        let names: Vec<String> = list.iter().map(state::name).collect();
        eprintln!(
            "WARN[0000] Found orphan containers ([{}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.",
            names.join(" ")
        );
    }
    Ok(())
}

pub fn up(ctx: &Ctx, a: &Up) -> Result<()> {
    let c = ctx.c;
    let full = ctx.load(&a.services)?;
    let mut p = select(&full, &a.services, a.no_deps)?;
    let scale = parse_scale(&a.scale, &p)?;
    super::files::check(&p)?;
    let stamp = Stamp::for_up(c, &p.name, a)?;
    images::ensure_images(c, &p, a.build, a.no_build)?;
    super::ephemeral::enforce_quota(c, &p.name, &stamp, a)?;
    for n in p.networks.values_mut() {
        n.labels.extend(stamp.labels());
    }
    for v in p.volumes.values_mut() {
        v.labels.extend(stamp.labels());
    }
    resources::ensure_networks(c, &p)?;
    resources::ensure_volumes(c, &p)?;
    orphans(c, &full, a.remove_orphans, a.timeout)?;
    let plan = Plan {
        c,
        p: &p,
        files: ctx.config_files(),
        a,
        stamp: stamp.clone(),
    };
    // Services recreated by this `up`: their dependents with `depends_on.<it>.restart: true`
    // are restarted (docker compose's rule) unless recreated themselves.
    let mut updated = BTreeSet::new();
    for name in p.start_order() {
        if !a.no_start {
            deps::wait_dependencies(c, &p, &p.services[&name])?;
        }
        if plan.converge(&name, replicas(&p, &name, &scale))? {
            updated.insert(name.clone());
        } else if !a.no_start && restarts_after(&p.services[&name], &updated) {
            plan.restart(&name)?;
        }
    }
    if let Some(ttl) = &a.ttl {
        stamp.check_renewed(c, &p.name, ttl)?;
    }
    let names: Vec<String> = p.services.keys().cloned().collect();
    if a.wait {
        let deadline = a
            .wait_timeout
            .map(|t| Instant::now() + Duration::from_secs(t));
        for x in state::service_containers(c, &p.name, true, &names)? {
            let n = state::name(&x);
            event("Container", &n, "Waiting");
            deps::wait_container(c, &n, Ready::RunningOrHealthy, deadline)?;
            event("Container", &n, "Healthy");
        }
    }
    if a.detach || a.wait || a.no_start {
        if a.abort_on_container_exit || a.abort_on_container_failure || a.exit_code_from.is_some() {
            bail!("--abort-on-container-exit, --abort-on-container-failure and --exit-code-from follow the containers: they cannot be combined with -d, --wait or --no-start");
        }
        return Ok(());
    }
    super::attached::attach(ctx, &p, &names, a)
}
