//! Service sub-objects: build, healthcheck, depends_on, deploy, networks, ulimits, secrets.

use std::collections::BTreeMap;

use serde_yaml::Value;

use super::*;
use crate::model::{
    Build, Condition, Dependency, Deploy, FileRef, Healthcheck, ResourceSpec, Resources,
    ServiceNetwork, Ulimit, UpdateConfig,
};
use crate::paths::{absolutize, is_remote};

/// `build`: a string is the context; contexts are made absolute unless remote.
pub(crate) fn build(ctx: &mut Ctx, v: &Value, path: &str) -> Result<Build> {
    let abs = |ctx: &Ctx, c: &str| {
        if is_remote(c) {
            c.to_string()
        } else {
            absolutize(ctx.dir, c, ctx.home()).display().to_string()
        }
    };
    if let Value::String(s) = v {
        return Ok(Build {
            context: abs(ctx, s),
            ..Build::default()
        });
    }
    let m = mapping(ctx, v, path)?;
    ctx.check_keys(
        m,
        path,
        &[
            "context",
            "dockerfile",
            "args",
            "target",
            "labels",
            "cache_from",
            "network",
        ],
        &[
            "additional_contexts",
            "cache_to",
            "dockerfile_inline",
            "entitlements",
            "extra_hosts",
            "isolation",
            "no_cache",
            "platforms",
            "privileged",
            "pull",
            "secrets",
            "shm_size",
            "ssh",
            "tags",
            "ulimits",
        ],
    );
    let context = opt_string(ctx, m, "context", path)?.unwrap_or_else(|| ".".into());
    Ok(Build {
        context: abs(ctx, &context),
        dockerfile: opt_string(ctx, m, "dockerfile", path)?,
        args: match m.get("args") {
            Some(a) => dict(ctx, a, &join(path, "args"), &['='])?,
            None => BTreeMap::new(),
        },
        target: opt_string(ctx, m, "target", path)?,
        labels: string_dict(ctx, m, "labels", path, &['='])?,
        cache_from: opt_strings(ctx, m, "cache_from", path, false)?,
        network: opt_string(ctx, m, "network", path)?,
    })
}

/// `healthcheck`: `test` as a list, or a string meaning `["CMD-SHELL", s]`.
pub(crate) fn healthcheck(ctx: &mut Ctx, v: &Value, path: &str) -> Result<Healthcheck> {
    let m = mapping(ctx, v, path)?;
    let known = [
        "test",
        "interval",
        "timeout",
        "start_period",
        "start_interval",
        "retries",
        "disable",
    ];
    ctx.check_keys(m, path, &known, &[]);
    let test = match m.get("test") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec!["CMD-SHELL".to_string(), s.clone()],
        Some(t) => {
            let t = strings(ctx, t, &join(path, "test"), false)?;
            if !matches!(
                t.first().map(String::as_str),
                Some("CMD" | "CMD-SHELL" | "NONE")
            ) {
                return Err(ctx.err(
                    &join(path, "test"),
                    "a list must start with \"CMD\", \"CMD-SHELL\" or \"NONE\"",
                ));
            }
            t
        }
    };
    Ok(Healthcheck {
        test,
        interval: opt_duration(ctx, m, "interval", path)?,
        timeout: opt_duration(ctx, m, "timeout", path)?,
        start_period: opt_duration(ctx, m, "start_period", path)?,
        start_interval: opt_duration(ctx, m, "start_interval", path)?,
        retries: opt_number(ctx, m, "retries", path)?,
        disable: flag(ctx, m, "disable", path)?,
    })
}

/// `depends_on`: a list (condition `service_started`) or a mapping with conditions.
pub(crate) fn depends_on(
    ctx: &mut Ctx,
    v: &Value,
    path: &str,
) -> Result<BTreeMap<String, Dependency>> {
    let mut out = BTreeMap::new();
    match v {
        Value::Sequence(_) => {
            for name in strings(ctx, v, path, false)? {
                out.insert(name, Dependency::default());
            }
        }
        Value::Mapping(m) => {
            for (k, d) in m {
                let name = key_str(k);
                let p = join(path, &name);
                let mut dep = Dependency::default();
                if !d.is_null() {
                    let dm = mapping(ctx, d, &p)?;
                    ctx.check_keys(dm, &p, &["condition", "restart", "required"], &[]);
                    dep.condition = match opt_string(ctx, dm, "condition", &p)?.as_deref() {
                        None | Some("service_started") => Condition::ServiceStarted,
                        Some("service_healthy") => Condition::ServiceHealthy,
                        Some("service_completed_successfully") => Condition::ServiceCompletedSuccessfully,
                        Some(c) => return Err(ctx.err(&join(&p, "condition"), format!(
                            "unknown condition {c:?}; use service_started, service_healthy or service_completed_successfully"
                        ))),
                    };
                    dep.restart = flag(ctx, dm, "restart", &p)?;
                    if let Some(r) = dm.get("required") {
                        dep.required = boolean(ctx, r, &join(&p, "required"))?;
                    }
                }
                out.insert(name, dep);
            }
        }
        other => return Err(ctx.type_err(path, "a list or a mapping", other)),
    }
    Ok(out)
}

/// `deploy`: replicas, resources, labels; the rest is swarm-only and ignored with a warning.
pub(crate) fn deploy(ctx: &mut Ctx, v: &Value, path: &str) -> Result<Deploy> {
    let m = mapping(ctx, v, path)?;
    ctx.check_keys(
        m,
        path,
        &["replicas", "resources", "labels", "update_config"],
        &[
            "mode",
            "endpoint_mode",
            "placement",
            "restart_policy",
            "rollback_config",
        ],
    );
    let mut d = Deploy {
        replicas: opt_number(ctx, m, "replicas", path)?,
        labels: string_dict(ctx, m, "labels", path, &['='])?,
        ..Deploy::default()
    };
    if let Some(u) = m.get("update_config") {
        let up = join(path, "update_config");
        let um = mapping(ctx, u, &up)?;
        ctx.check_keys(
            um,
            &up,
            &["order"],
            &[
                "parallelism",
                "delay",
                "failure_action",
                "monitor",
                "max_failure_ratio",
            ],
        );
        let order = opt_string(ctx, um, "order", &up)?;
        if let Some(o) = order
            .as_deref()
            .filter(|o| !matches!(*o, "start-first" | "stop-first"))
        {
            return Err(ctx.err(
                &join(&up, "order"),
                format!("unknown order {o:?}; use start-first or stop-first"),
            ));
        }
        d.update_config = Some(UpdateConfig { order });
    }
    if let Some(r) = m.get("resources") {
        let rp = join(path, "resources");
        let rm = mapping(ctx, r, &rp)?;
        ctx.check_keys(rm, &rp, &["limits", "reservations"], &[]);
        let mut spec = |key: &str| -> Result<Option<ResourceSpec>> {
            let Some(s) = rm.get(key) else {
                return Ok(None);
            };
            let sp = join(&rp, key);
            let sm = mapping(ctx, s, &sp)?;
            ctx.check_keys(
                sm,
                &sp,
                &["cpus", "memory", "pids"],
                &["devices", "generic_resources"],
            );
            Ok(Some(ResourceSpec {
                cpus: opt_number(ctx, sm, "cpus", &sp)?,
                memory: opt_size(ctx, sm, "memory", &sp)?,
                pids: opt_number(ctx, sm, "pids", &sp)?,
            }))
        };
        d.resources = Some(Resources {
            limits: spec("limits")?,
            reservations: spec("reservations")?,
        });
    }
    Ok(d)
}

/// Service `networks`: a list of names or a mapping of name to options (or null).
pub(crate) fn service_networks(
    ctx: &mut Ctx,
    v: &Value,
    path: &str,
) -> Result<BTreeMap<String, ServiceNetwork>> {
    let mut out = BTreeMap::new();
    match v {
        Value::Sequence(_) => {
            for name in strings(ctx, v, path, false)? {
                out.insert(name, ServiceNetwork::default());
            }
        }
        Value::Mapping(m) => {
            for (k, n) in m {
                let name = key_str(k);
                let p = join(path, &name);
                let mut sn = ServiceNetwork::default();
                if !n.is_null() {
                    let nm = mapping(ctx, n, &p)?;
                    let known = ["aliases", "ipv4_address", "ipv6_address", "priority"];
                    ctx.check_keys(
                        nm,
                        &p,
                        &known,
                        &[
                            "link_local_ips",
                            "mac_address",
                            "driver_opts",
                            "gw_priority",
                        ],
                    );
                    sn.aliases = opt_strings(ctx, nm, "aliases", &p, false)?;
                    sn.ipv4_address = opt_string(ctx, nm, "ipv4_address", &p)?;
                    sn.ipv6_address = opt_string(ctx, nm, "ipv6_address", &p)?;
                    sn.priority = opt_number(ctx, nm, "priority", &p)?;
                }
                out.insert(name, sn);
            }
        }
        other => return Err(ctx.type_err(path, "a list or a mapping", other)),
    }
    Ok(out)
}

/// `ulimits`: a number (soft = hard) or `{soft, hard}` per name.
pub(crate) fn ulimits(ctx: &mut Ctx, v: &Value, path: &str) -> Result<BTreeMap<String, Ulimit>> {
    let mut out = BTreeMap::new();
    for (k, u) in mapping(ctx, v, path)? {
        let name = key_str(k);
        let p = join(path, &name);
        let limit = match u {
            Value::Mapping(m) => {
                ctx.check_keys(m, &p, &["soft", "hard"], &[]);
                let get = |key| {
                    opt_number(ctx, m, key, &p)?.ok_or_else(|| {
                        ctx.err(&p, format!("missing \"{key}\"; give soft and hard"))
                    })
                };
                Ulimit {
                    soft: get("soft")?,
                    hard: get("hard")?,
                }
            }
            other => {
                let n = number(ctx, other, &p)?;
                Ulimit { soft: n, hard: n }
            }
        };
        out.insert(name, limit);
    }
    Ok(out)
}

/// Service `secrets`/`configs`: names or `{source, target, uid, gid, mode}`.
pub(crate) fn file_refs(ctx: &mut Ctx, v: &Value, path: &str) -> Result<Vec<FileRef>> {
    let mut out = Vec::new();
    for (i, item) in list(ctx, v, path)?.iter().enumerate() {
        let ip = format!("{path}[{i}]");
        out.push(match item {
            Value::Mapping(m) => {
                ctx.check_keys(m, &ip, &["source", "target", "uid", "gid", "mode"], &[]);
                let mode = opt_octal(ctx, m, "mode", &ip)?;
                FileRef {
                    source: opt_string(ctx, m, "source", &ip)?
                        .ok_or_else(|| ctx.err(&ip, "missing \"source\""))?,
                    target: opt_string(ctx, m, "target", &ip)?,
                    uid: opt_string(ctx, m, "uid", &ip)?,
                    gid: opt_string(ctx, m, "gid", &ip)?,
                    mode,
                }
            }
            other => FileRef {
                source: string(ctx, other, &ip)?,
                ..FileRef::default()
            },
        });
    }
    Ok(out)
}
