//! One service.

use serde_yaml::{Mapping, Value};

use super::parts::{build, depends_on, deploy, file_refs, healthcheck, service_networks, ulimits};
use super::ports::ports;
use super::volumes::volumes;
use super::*;
use crate::model::{Restart, Service};

const KNOWN: &[&str] = &[
    "image",
    "build",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "expose",
    "volumes",
    "tmpfs",
    "labels",
    "restart",
    "healthcheck",
    "depends_on",
    "deploy",
    "scale",
    "networks",
    "network_mode",
    "user",
    "working_dir",
    "stop_signal",
    "stop_grace_period",
    "init",
    "cap_add",
    "cap_drop",
    "security_opt",
    "read_only",
    "ulimits",
    "hostname",
    "domainname",
    "privileged",
    "tty",
    "stdin_open",
    "pid",
    "ipc",
    "extra_hosts",
    "dns",
    "dns_search",
    "shm_size",
    "mem_limit",
    "cpus",
    "container_name",
    "pull_policy",
    "platform",
    "secrets",
    "configs",
    "logging",
    "profiles",
];

/// Compose Specification service keys berth does not model yet.
const UNSUPPORTED: &[&str] = &[
    "annotations",
    "attach",
    "blkio_config",
    "cgroup",
    "cgroup_parent",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpuset",
    "credential_spec",
    "develop",
    "device_cgroup_rules",
    "devices",
    "dns_opt",
    "external_links",
    "gpus",
    "group_add",
    "isolation",
    "links",
    "mac_address",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "oom_kill_disable",
    "oom_score_adj",
    "pids_limit",
    "post_start",
    "pre_stop",
    "runtime",
    "storage_opt",
    "sysctls",
    "userns_mode",
    "uts",
    "volumes_from",
    "label_file",
    "use_api_socket",
    "models",
    "provider",
];

/// Converts `services.NAME`.
pub(crate) fn convert_service(ctx: &mut Ctx, name: &str, v: &Value) -> Result<Service> {
    let path = format!("services.{name}");
    let empty = Mapping::new();
    let m = match v {
        Value::Null => &empty,
        v => mapping(ctx, v, &path)?,
    };
    ctx.check_keys(m, &path, KNOWN, UNSUPPORTED);
    let p = |k: &str| join(&path, k);
    let mut s = Service {
        name: name.to_string(),
        image: opt_string(ctx, m, "image", &path)?,
        ..Service::default()
    };
    if let Some(b) = m.get("build") {
        s.build = Some(build(ctx, b, &p("build"))?);
    }
    s.command = command(ctx, m, "command", &path)?;
    s.entrypoint = command(ctx, m, "entrypoint", &path)?;
    if let Some(e) = m.get("environment") {
        for (k, v) in dict(ctx, e, &p("environment"), &['='])? {
            let v = v.or_else(|| ctx.env.get(&k).cloned());
            s.environment.insert(k, v);
        }
    }
    s.env_file = env_files(ctx, m, &path)?;
    if let Some(v) = m.get("ports") {
        s.ports = ports(ctx, v, &p("ports"))?;
    }
    s.expose = opt_strings(ctx, m, "expose", &path, false)?;
    if let Some(v) = m.get("volumes") {
        s.volumes = volumes(ctx, v, &p("volumes"))?;
    }
    s.tmpfs = opt_strings(ctx, m, "tmpfs", &path, true)?;
    s.labels = string_dict(ctx, m, "labels", &path, &['='])?;
    if let Some(r) = opt_string(ctx, m, "restart", &path)? {
        s.restart = Some(Restart::parse(&r).map_err(|e| ctx.err(&p("restart"), e))?);
    }
    if let Some(h) = m.get("healthcheck") {
        s.healthcheck = Some(healthcheck(ctx, h, &p("healthcheck"))?);
    }
    if let Some(d) = m.get("depends_on") {
        s.depends_on = depends_on(ctx, d, &p("depends_on"))?;
    }
    if let Some(d) = m.get("deploy") {
        s.deploy = Some(deploy(ctx, d, &p("deploy"))?);
    }
    s.scale = opt_number(ctx, m, "scale", &path)?;
    if let Some(n) = m.get("networks") {
        s.networks = service_networks(ctx, n, &p("networks"))?;
    }
    s.network_mode = opt_string(ctx, m, "network_mode", &path)?;
    s.user = opt_string(ctx, m, "user", &path)?;
    s.working_dir = opt_string(ctx, m, "working_dir", &path)?;
    s.stop_signal = opt_string(ctx, m, "stop_signal", &path)?;
    s.stop_grace_period = opt_duration(ctx, m, "stop_grace_period", &path)?;
    if let Some(v) = m.get("init") {
        s.init = Some(boolean(ctx, v, &p("init"))?);
    }
    s.cap_add = opt_strings(ctx, m, "cap_add", &path, false)?;
    s.cap_drop = opt_strings(ctx, m, "cap_drop", &path, false)?;
    s.security_opt = opt_strings(ctx, m, "security_opt", &path, false)?;
    s.read_only = flag(ctx, m, "read_only", &path)?;
    if let Some(u) = m.get("ulimits") {
        s.ulimits = ulimits(ctx, u, &p("ulimits"))?;
    }
    s.hostname = opt_string(ctx, m, "hostname", &path)?;
    s.domainname = opt_string(ctx, m, "domainname", &path)?;
    s.privileged = flag(ctx, m, "privileged", &path)?;
    s.tty = flag(ctx, m, "tty", &path)?;
    s.stdin_open = flag(ctx, m, "stdin_open", &path)?;
    s.pid = opt_string(ctx, m, "pid", &path)?;
    s.ipc = opt_string(ctx, m, "ipc", &path)?;
    s.extra_hosts = string_dict(ctx, m, "extra_hosts", &path, &['=', ':'])?;
    s.dns = opt_strings(ctx, m, "dns", &path, true)?;
    s.dns_search = opt_strings(ctx, m, "dns_search", &path, true)?;
    s.shm_size = opt_size(ctx, m, "shm_size", &path)?;
    s.mem_limit = opt_size(ctx, m, "mem_limit", &path)?;
    s.cpus = opt_number(ctx, m, "cpus", &path)?;
    s.container_name = opt_string(ctx, m, "container_name", &path)?;
    s.pull_policy = opt_string(ctx, m, "pull_policy", &path)?;
    s.platform = opt_string(ctx, m, "platform", &path)?;
    if let Some(v) = m.get("secrets") {
        s.secrets = file_refs(ctx, v, &p("secrets"))?;
    }
    if let Some(v) = m.get("configs") {
        s.configs = file_refs(ctx, v, &p("configs"))?;
    }
    if let Some(l) = m.get("logging") {
        mapping(ctx, l, &p("logging"))?;
        s.logging =
            Some(serde_json::to_value(l).map_err(|e| ctx.err(&p("logging"), e.to_string()))?);
    }
    s.profiles = opt_strings(ctx, m, "profiles", &path, false)?;
    if s.image.is_none() && s.build.is_none() {
        return Err(ctx.err(
            &path,
            "has neither an image nor a build context; add image: or build:",
        ));
    }
    Ok(s)
}

/// `command`/`entrypoint`: a string is shell-split, a list is kept; `null` is unset.
fn command(ctx: &Ctx, m: &Mapping, key: &str, path: &str) -> Result<Option<Vec<String>>> {
    let p = join(path, key);
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => crate::shell::split(s)
            .map(Some)
            .map_err(|e| ctx.err(&p, format!("{e}; close the quote"))),
        Some(v @ Value::Sequence(_)) => strings(ctx, v, &p, false).map(Some),
        Some(v) => Err(ctx.type_err(&p, "a string or a list", v)),
    }
}

/// `env_file`: string, list of strings, or list of `{path}` (every file must exist).
fn env_files(ctx: &Ctx, m: &Mapping, path: &str) -> Result<Vec<std::path::PathBuf>> {
    let p = join(path, "env_file");
    let Some(v) = m.get("env_file") else {
        return Ok(Vec::new());
    };
    let items: Vec<Value> = match v {
        Value::String(_) => vec![v.clone()],
        Value::Sequence(s) => s.clone(),
        v => return Err(ctx.type_err(&p, "a string or a list", v)),
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let ip = format!("{p}[{i}]");
        let s = match item {
            Value::Mapping(e) => {
                opt_string(ctx, e, "path", &ip)?.ok_or_else(|| ctx.err(&ip, "missing \"path\""))?
            }
            other => string(ctx, other, &ip)?,
        };
        out.push(crate::paths::absolutize(ctx.dir, &s, ctx.home()));
    }
    Ok(out)
}
