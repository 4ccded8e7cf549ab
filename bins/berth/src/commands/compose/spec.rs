//! A service replica as a `POST /containers/create` body: the model's fields under Docker's
//! names (`HostConfig`, `NetworkingConfig.EndpointsConfig` with the service and container
//! names as aliases, so services resolve each other through berthd's embedded DNS), plus
//! docker compose's labels, which are the only state `up` keeps between runs.

use std::collections::BTreeMap;
use std::time::Duration;

use berth_compose::{Mount, MountType, Project, Restart, Service};
use serde_json::{json, Map, Value};

use super::state;

/// One container to create.
#[derive(Debug)]
pub struct Replica<'a> {
    pub project: &'a Project,
    pub service: &'a Service,
    pub name: String,
    pub number: u32,
    pub image: String,
    pub oneoff: bool,
    /// Comma-separated absolute compose files (a label).
    pub config_files: String,
    /// `network_mode` with `service:NAME` already resolved to `container:ID`.
    pub network_mode: Option<String>,
    /// `pid` (`HostConfig.PidMode`) and `ipc` (`IpcMode`), resolved as `network_mode`.
    pub pid: Option<String>,
    pub ipc: Option<String>,
}

fn ns(d: Option<Duration>) -> i64 {
    d.map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// The networks of a service, primary first (higher `priority`, then name).
pub fn networks(s: &Service) -> Vec<String> {
    let mut v: Vec<(&String, i64)> = s
        .networks
        .iter()
        .map(|(k, n)| (k, n.priority.unwrap_or(0)))
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v.into_iter().map(|(k, _)| k.clone()).collect()
}

fn labels(r: &Replica) -> BTreeMap<String, String> {
    let p = r.project;
    let mut l = r.service.labels.clone();
    let mut set = |k: &str, v: String| {
        l.insert(k.to_string(), v);
    };
    set(state::PROJECT, p.name.clone());
    set(state::SERVICE, r.service.name.clone());
    set(state::NUMBER, r.number.to_string());
    set(
        state::ONEOFF,
        if r.oneoff { "True" } else { "False" }.into(),
    );
    set(state::HASH, r.service.config_hash());
    set(state::WORKDIR, p.working_dir.display().to_string());
    set(state::FILES, r.config_files.clone());
    set(state::VERSION, state::COMPOSE_VERSION.into());
    set(state::IMAGE, r.image.clone());
    let deps: Vec<String> = r
        .service
        .depends_on
        .iter()
        .map(|(k, d)| {
            let cond = serde_json::to_value(d.condition)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            format!("{k}:{cond}:{}", d.restart)
        })
        .collect();
    set(state::DEPENDS, deps.join(","));
    l
}

fn restart(r: Option<Restart>) -> Value {
    match r {
        None | Some(Restart::No) => json!({"Name": "no"}),
        Some(Restart::Always) => json!({"Name": "always"}),
        Some(Restart::UnlessStopped) => json!({"Name": "unless-stopped"}),
        Some(Restart::OnFailure(n)) => {
            json!({"Name": "on-failure", "MaximumRetryCount": n.unwrap_or(0)})
        }
    }
}

/// Mounts: binds that may create their host path go to `Binds` (the daemon creates a
/// missing source there, as for the short syntax), everything else to `Mounts`.
fn mounts(p: &Project, s: &Service, host: &mut Map<String, Value>) {
    let (mut binds, mut list) = (Vec::new(), Vec::new());
    for m in &s.volumes {
        let Mount {
            kind,
            source,
            target,
            read_only,
            ..
        } = m;
        match kind {
            MountType::Bind => {
                let src = source.clone().unwrap_or_default();
                let b = m.bind.clone().unwrap_or_default();
                if b.create_host_path {
                    let mut opts = Vec::new();
                    if *read_only {
                        opts.push("ro".to_string());
                    }
                    opts.extend(b.propagation.clone());
                    opts.extend(b.selinux.clone());
                    let tail = if opts.is_empty() {
                        String::new()
                    } else {
                        format!(":{}", opts.join(","))
                    };
                    binds.push(format!("{src}:{target}{tail}"));
                } else {
                    let mut v = json!({"Type": "bind", "Source": src, "Target": target, "ReadOnly": read_only});
                    if let Some(pr) = b.propagation {
                        v["BindOptions"] = json!({"Propagation": pr});
                    }
                    list.push(v);
                }
            }
            MountType::Volume => {
                let src = source.as_deref().map_or(String::new(), |k| {
                    p.volumes.get(k).map_or(k.to_string(), |v| v.name.clone())
                });
                let nocopy = m.volume.as_ref().is_some_and(|v| v.nocopy);
                list.push(json!({"Type": "volume", "Source": src, "Target": target,
                    "ReadOnly": read_only, "VolumeOptions": {"NoCopy": nocopy}}));
            }
            MountType::Tmpfs => {
                let t = m.tmpfs.clone().unwrap_or_default();
                list.push(json!({"Type": "tmpfs", "Target": target, "ReadOnly": read_only,
                    "TmpfsOptions": {"SizeBytes": t.size.unwrap_or(0), "Mode": t.mode.unwrap_or(0)}}));
            }
        }
    }
    list.extend(super::files::mounts(p, s));
    host.insert("Binds".into(), json!(binds));
    host.insert("Mounts".into(), json!(list));
    let tmpfs: Map<String, Value> = s
        .tmpfs
        .iter()
        .map(|t| {
            let (path, opts) = t.split_once(':').unwrap_or((t, ""));
            (path.to_string(), json!(opts))
        })
        .collect();
    host.insert("Tmpfs".into(), Value::Object(tmpfs));
}

/// `ExposedPorts` and `PortBindings`.
fn ports(s: &Service, publish: bool) -> (Map<String, Value>, Map<String, Value>) {
    let (mut exposed, mut bindings) = (Map::new(), Map::new());
    for e in &s.expose {
        let (range, proto) = e.split_once('/').unwrap_or((e, "tcp"));
        let (lo, hi) = range.split_once('-').unwrap_or((range, range));
        if let (Ok(lo), Ok(hi)) = (lo.parse::<u16>(), hi.parse::<u16>()) {
            for port in lo..=hi {
                exposed.insert(format!("{port}/{proto}"), json!({}));
            }
        }
    }
    for p in &s.ports {
        let key = format!("{}/{}", p.target, p.protocol);
        exposed.insert(key.clone(), json!({}));
        if !publish {
            continue;
        }
        let b = json!({"HostIp": p.host_ip.clone().unwrap_or_default(),
            "HostPort": p.published.clone().unwrap_or_default()});
        if let Value::Array(a) = bindings.entry(key).or_insert_with(|| json!([])) {
            a.push(b);
        }
    }
    (exposed, bindings)
}

fn resources(s: &Service, host: &mut Map<String, Value>) {
    let res = s.deploy.as_ref().and_then(|d| d.resources.as_ref());
    let limits = res.and_then(|r| r.limits.as_ref());
    let memory = limits.and_then(|l| l.memory).or(s.mem_limit);
    let cpus = limits.and_then(|l| l.cpus).or(s.cpus);
    if let Some(m) = memory {
        host.insert("Memory".into(), json!(m));
    }
    if let Some(c) = cpus {
        host.insert("NanoCpus".into(), json!((c * 1e9).round() as i64));
    }
    if let Some(p) = limits.and_then(|l| l.pids) {
        host.insert("PidsLimit".into(), json!(p));
    }
    if let Some(m) = res
        .and_then(|r| r.reservations.as_ref())
        .and_then(|r| r.memory)
    {
        host.insert("MemoryReservation".into(), json!(m));
    }
    if let Some(shm) = s.shm_size {
        host.insert("ShmSize".into(), json!(shm));
    }
}

/// The networking part: `NetworkMode` (the primary network, or `network_mode`) and one
/// endpoint per network with the aliases.
fn networking(r: &Replica, cfg: &mut Value) {
    let (p, s) = (r.project, r.service);
    if let Some(mode) = &r.network_mode {
        cfg["HostConfig"]["NetworkMode"] = json!(mode);
        return;
    }
    let nets = networks(s);
    let mut eps = Map::new();
    for key in &nets {
        let engine = p.networks.get(key).map_or(key.clone(), |n| n.name.clone());
        let sn = &s.networks[key];
        let mut aliases = vec![r.name.clone()];
        if !r.oneoff {
            aliases.push(s.name.clone());
        }
        aliases.extend(sn.aliases.iter().cloned());
        let mut ep = json!({"Aliases": aliases});
        if let Some(ip) = &sn.ipv4_address {
            ep["IPAMConfig"] = json!({"IPv4Address": ip});
        }
        eps.insert(engine, ep);
    }
    if let Some(first) = nets.first() {
        let engine = p
            .networks
            .get(first)
            .map_or(first.clone(), |n| n.name.clone());
        cfg["HostConfig"]["NetworkMode"] = json!(engine);
    }
    cfg["NetworkingConfig"] = json!({"EndpointsConfig": eps});
}

/// The create body of a replica; `publish` is false for `run` without `--service-ports`.
pub fn create_body(r: &Replica, publish: bool) -> Value {
    let s = r.service;
    let env: Vec<String> = s
        .environment
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
    let mut host = Map::new();
    mounts(r.project, s, &mut host);
    resources(s, &mut host);
    host.insert("PidMode".into(), json!(r.pid.clone().unwrap_or_default()));
    host.insert("IpcMode".into(), json!(r.ipc.clone().unwrap_or_default()));
    let (exposed, bindings) = ports(s, publish);
    host.insert("PortBindings".into(), Value::Object(bindings));
    host.insert("RestartPolicy".into(), restart(s.restart));
    host.insert("CapAdd".into(), json!(s.cap_add));
    host.insert("CapDrop".into(), json!(s.cap_drop));
    host.insert("SecurityOpt".into(), json!(s.security_opt));
    host.insert("ReadonlyRootfs".into(), json!(s.read_only));
    host.insert("Privileged".into(), json!(s.privileged));
    host.insert("Dns".into(), json!(s.dns));
    host.insert("DnsSearch".into(), json!(s.dns_search));
    let hosts: Vec<String> = s
        .extra_hosts
        .iter()
        .map(|(h, ip)| format!("{h}:{ip}"))
        .collect();
    host.insert("ExtraHosts".into(), json!(hosts));
    let ulimits: Vec<Value> = s
        .ulimits
        .iter()
        .map(|(n, u)| json!({"Name": n, "Soft": u.soft, "Hard": u.hard}))
        .collect();
    host.insert("Ulimits".into(), json!(ulimits));
    if let Some(i) = s.init {
        host.insert("Init".into(), json!(i));
    }
    if let Some(l) = &s.logging {
        host.insert(
            "LogConfig".into(),
            json!({"Type": l["driver"].as_str().unwrap_or(""),
                "Config": l.get("options").cloned().unwrap_or(json!({}))}),
        );
    }
    let mut cfg = json!({
        "Image": r.image,
        "Env": env,
        "Labels": labels(r),
        "Hostname": s.hostname.clone().unwrap_or_default(),
        "Domainname": s.domainname.clone().unwrap_or_default(),
        "User": s.user.clone().unwrap_or_default(),
        "WorkingDir": s.working_dir.clone().unwrap_or_default(),
        "Tty": s.tty,
        "OpenStdin": s.stdin_open,
        "ExposedPorts": exposed,
        "HostConfig": host,
    });
    if let Some(c) = &s.command {
        cfg["Cmd"] = json!(c);
    }
    if let Some(e) = &s.entrypoint {
        cfg["Entrypoint"] = json!(e);
    }
    if let Some(sig) = &s.stop_signal {
        cfg["StopSignal"] = json!(sig);
    }
    if let Some(g) = s.stop_grace_period {
        cfg["StopTimeout"] = json!(g.as_secs());
    }
    if let Some(h) = &s.healthcheck {
        cfg["Healthcheck"] = if h.disable {
            json!({"Test": ["NONE"]})
        } else {
            json!({
                "Test": if h.test.is_empty() { Value::Null } else { json!(h.test) },
                "Interval": ns(h.interval),
                "Timeout": ns(h.timeout),
                "StartPeriod": ns(h.start_period),
                "StartInterval": ns(h.start_interval),
                "Retries": h.retries.unwrap_or(0),
            })
        };
    }
    networking(r, &mut cfg);
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_compose::LoadOptions;

    fn load(yaml: &str) -> Project {
        let o = LoadOptions {
            files: vec!["/p/compose.yaml".into()],
            working_dir: "/p".into(),
            ..LoadOptions::default()
        };
        let text = yaml.to_string();
        let read = move |p: &std::path::Path| {
            if p == std::path::Path::new("/p/compose.yaml") {
                Ok(text.clone())
            } else {
                Err(std::io::ErrorKind::NotFound.into())
            }
        };
        Project::load_with(&o, &read).unwrap().project
    }

    #[test]
    fn body_has_labels_aliases_ports_and_limits() {
        let p = load(
            "services:\n  web:\n    image: busybox\n    ports: ['8080:80']\n    environment: {A: '1'}\n    \
             mem_limit: 64m\n    stop_grace_period: 3s\n    volumes: ['data:/data']\n    \
             healthcheck: {test: 'true', interval: 1s}\nvolumes:\n  data: {}\n",
        );
        let s = &p.services["web"];
        let r = Replica {
            project: &p,
            service: s,
            name: "p-web-1".into(),
            number: 1,
            image: "busybox".into(),
            oneoff: false,
            config_files: "/p/compose.yaml".into(),
            network_mode: None,
            pid: None,
            ipc: None,
        };
        let b = create_body(&r, true);
        assert_eq!(b["Labels"][state::PROJECT], "p");
        assert_eq!(b["Labels"][state::NUMBER], "1");
        assert_eq!(b["Labels"][state::HASH], json!(s.config_hash()));
        assert_eq!(b["Env"], json!(["A=1"]));
        assert_eq!(b["HostConfig"]["NetworkMode"], "p_default");
        assert_eq!(
            b["NetworkingConfig"]["EndpointsConfig"]["p_default"]["Aliases"],
            json!(["p-web-1", "web"])
        );
        assert_eq!(
            b["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"],
            "8080"
        );
        assert_eq!(b["HostConfig"]["Memory"], 64 * 1024 * 1024);
        assert_eq!(b["StopTimeout"], 3);
        assert_eq!(b["HostConfig"]["Mounts"][0]["Source"], "p_data");
        assert_eq!(b["Healthcheck"]["Test"], json!(["CMD-SHELL", "true"]));
        assert_eq!(b["Healthcheck"]["Interval"], 1_000_000_000);
    }
}
