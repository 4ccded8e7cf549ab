//! `/containers/*`: the engine's container lifecycle in Docker's wire shapes — create, start,
//! wait, kill, stop, remove, list, inspect, logs.
//!
//! Why the status words are made here: the engine has one [`ContainerStatus`] enum; Docker's
//! `State` strings, booleans and the human `Status` column ("Up 3 seconds",
//! "Exited (3) 2 seconds ago") are presentation, derived at this edge only.
//!
//! Logs of a non-TTY container are Docker's multiplexed stream: per line an 8-byte header
//! (stream 1 = stdout, 2 = stderr, three zero bytes, big-endian u32 length) then the payload.
//! `follow` streams the log as it grows until the container stops.
//!
//! `HostConfig.AutoRemove` (`docker run --rm`) is kept in the record; `start` then runs a
//! blocking task that waits for the exit and removes the container.

use std::io::Write;
use std::sync::Arc;

use berth_api_types::{
    ContainerCreateResponse, ContainerInspect, ContainerState, ContainerSummary,
    ContainerWaitResponse,
};
use berth_engine::container::CreateOptions;
use berth_engine::{time, ContainerStatus, ContainerView, Engine, StopOutcome};
use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::{json, Value};

use crate::body::{full, json, stream_now, Body};
use crate::error::ApiError;
use crate::route::Query;
use crate::{blocking, now};

type Answer = Result<Response<Body>, ApiError>;

/// Go's zero time, which Docker prints for "never".
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

pub(crate) fn empty(status: StatusCode) -> Response<Body> {
    let mut r = Response::new(full(""));
    *r.status_mut() = status;
    r
}

/// go-units' `HumanDuration`, which Docker's `Status` column uses.
pub fn human_duration(secs: i64) -> String {
    let (m, h) = (secs / 60, (secs as f64 / 3600.0).round() as i64);
    match secs {
        s if s < 1 => "Less than a second".into(),
        1 => "1 second".into(),
        s if s < 60 => format!("{s} seconds"),
        _ if m == 1 => "About a minute".into(),
        _ if m < 60 => format!("{m} minutes"),
        _ if h == 1 => "About an hour".into(),
        _ if h < 48 => format!("{h} hours"),
        _ if h < 24 * 7 * 2 => format!("{} days", h / 24),
        _ if h < 24 * 30 * 2 => format!("{} weeks", h / 24 / 7),
        _ if h < 24 * 365 * 2 => format!("{} months", h / 24 / 30),
        _ => format!("{} years", h / 24 / 365),
    }
}

fn since(t: &str) -> i64 {
    time::parse_rfc3339(t).map_or(0, |t| now() - t)
}

/// Docker's `State` word.
fn state_word(s: &ContainerStatus) -> &'static str {
    s.docker_state()
}

/// Docker's `Status` column.
fn status_line(v: &ContainerView) -> String {
    match &v.status {
        ContainerStatus::Created => "Created".into(),
        ContainerStatus::Running { paused, .. } => {
            let started = v.record.started_at.as_deref().unwrap_or("");
            let p = match v.health.as_ref().map(|h| h.status.as_str()) {
                _ if *paused => " (Paused)".to_string(),
                Some("starting") => " (health: starting)".to_string(),
                Some(h) => format!(" ({h})"),
                None => String::new(),
            };
            format!("Up {}{p}", human_duration(since(started)))
        }
        ContainerStatus::Exited { code, finished_at } => {
            let word = if v.restarting { "Restarting" } else { "Exited" };
            format!("{word} ({code}) {} ago", human_duration(since(finished_at)))
        }
        ContainerStatus::Dead => "Dead".into(),
    }
}

fn command(v: &ContainerView) -> String {
    std::iter::once(v.record.path.as_str())
        .chain(v.record.args.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn summary(v: &ContainerView) -> ContainerSummary {
    let r = &v.record;
    let mode = match r.options.host_config.network_mode.as_str() {
        "" => "default",
        m => m,
    };
    ContainerSummary {
        id: r.id.clone(),
        names: vec![format!("/{}", r.name)],
        image: r.options.image.clone(),
        image_id: r.image_id.clone(),
        command: command(v),
        created: time::parse_rfc3339(&r.created).unwrap_or(0),
        state: if v.restarting {
            "restarting".into()
        } else {
            state_word(&v.status).into()
        },
        status: status_line(v),
        ports: summary_ports(v),
        labels: r.labels.clone(),
        mounts: crate::volumes::mounts_json(&r.mounts),
        host_config: json!({ "NetworkMode": mode }),
        network_settings: json!({ "Networks": networks_json(r) }),
    }
}

fn inspect_body(v: &ContainerView) -> ContainerInspect {
    let r = &v.record;
    let (pid, exit_code, finished) = match &v.status {
        ContainerStatus::Running { pid, .. } => (i64::from(*pid), 0, ZERO_TIME.to_string()),
        ContainerStatus::Exited { code, finished_at } => (0, i64::from(*code), finished_at.clone()),
        ContainerStatus::Dead => (0, -1, ZERO_TIME.to_string()),
        ContainerStatus::Created => (0, 0, ZERO_TIME.to_string()),
    };
    let mut config = serde_json::to_value(&r.options).unwrap_or(Value::Null);
    if let Value::Object(c) = &mut config {
        c.remove("HostConfig");
        c.remove("NetworkingConfig");
        c.insert("Env".into(), json!(r.env));
        c.insert("Hostname".into(), json!(r.hostname));
        c.insert("Labels".into(), json!(r.labels));
        c.insert("StopSignal".into(), json!(r.stop_signal));
    }
    let graph = match &v.rootfs {
        Some(fs) => json!({"Name": "overlay", "Data": {
            "LowerDir": fs.lowers.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(":"),
            "UpperDir": fs.upper, "WorkDir": fs.work, "MergedDir": fs.merged,
        }}),
        None => json!({"Name": "overlay", "Data": null}),
    };
    ContainerInspect {
        id: r.id.clone(),
        created: r.created.clone(),
        path: r.path.clone(),
        args: r.args.clone(),
        state: ContainerState {
            status: if v.restarting {
                "restarting".into()
            } else {
                state_word(&v.status).into()
            },
            running: v.status.is_running(),
            paused: v.status.is_paused(),
            restarting: v.restarting,
            oom_killed: false,
            dead: v.status == ContainerStatus::Dead,
            pid,
            exit_code,
            error: String::new(),
            started_at: r.started_at.clone().unwrap_or_else(|| ZERO_TIME.into()),
            finished_at: finished,
        },
        image: r.image_id.clone(),
        name: format!("/{}", r.name),
        restart_count: i64::from(r.restart_count),
        driver: "overlay".into(),
        platform: "linux".into(),
        host_config: {
            let mut h = serde_json::to_value(&r.options.host_config).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut h {
                m.insert("AutoRemove".into(), json!(r.auto_remove));
            }
            h
        },
        config,
        graph_driver: graph,
        mounts: crate::volumes::mounts_json(&r.mounts),
        network_settings: network_settings(v),
    }
}

/// `NetworkSettings.Networks`: one entry per network, addresses while it runs.
fn networks_json(r: &berth_engine::ContainerRecord) -> Value {
    let map: serde_json::Map<String, Value> = r
        .networks
        .iter()
        .map(|(name, ep)| {
            let live = ep.live.as_ref();
            let s = |f: fn(&berth_engine::LiveEndpoint) -> String| live.map(f).unwrap_or_default();
            let v = json!({
                "IPAMConfig": ep.requested_ip.map(|ip| json!({"IPv4Address": ip.to_string()})),
                "Links": null,
                "Aliases": if ep.aliases.is_empty() { Value::Null } else { json!(ep.aliases) },
                "MacAddress": s(|l| l.mac.clone()),
                "DriverOpts": null,
                "GwPriority": 0,
                "NetworkID": ep.network_id,
                "EndpointID": s(|l| l.endpoint_id.clone()),
                "Gateway": s(|l| l.gateway.to_string()),
                "IPAddress": s(|l| l.ip.to_string()),
                "IPPrefixLen": live.map_or(0, |l| l.prefix),
                "IPv6Gateway": "",
                "GlobalIPv6Address": "",
                "GlobalIPv6PrefixLen": 0,
                "DNSNames": live.map(|_| berth_engine::networks::dns_names(r, ep)),
            });
            (name.clone(), v)
        })
        .collect();
    Value::Object(map)
}

/// Inspect's `NetworkSettings`: the default bridge's address at the top level (Docker's
/// legacy fields), `Ports` while running, `Networks`.
fn network_settings(v: &ContainerView) -> Value {
    let r = &v.record;
    let running = v.status.is_running();
    let mut ports = serde_json::Map::new();
    if running {
        for key in r.options.exposed_ports.keys() {
            ports.insert(key.clone(), Value::Null);
        }
        for p in &r.ports {
            let entry = ports
                .entry(p.container_port.clone())
                .or_insert_with(|| json!([]));
            if !entry.is_array() {
                *entry = json!([]);
            }
            if let Some(a) = entry.as_array_mut() {
                a.push(json!({"HostIp": p.host_ip, "HostPort": p.host_port.to_string()}));
            }
        }
    }
    let bridge = r.networks.get("bridge").and_then(|e| e.live.as_ref());
    let s = |f: fn(&berth_engine::LiveEndpoint) -> String| bridge.map(f).unwrap_or_default();
    let sandbox = r
        .networks
        .values()
        .find_map(|e| e.live.as_ref())
        .map(|_| r.id.clone())
        .unwrap_or_default();
    json!({
        "Bridge": "",
        "SandboxID": sandbox,
        "SandboxKey": "",
        "HairpinMode": false,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": ports,
        "SecondaryIPAddresses": null,
        "SecondaryIPv6Addresses": null,
        "EndpointID": s(|l| l.endpoint_id.clone()),
        "Gateway": s(|l| l.gateway.to_string()),
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "IPAddress": s(|l| l.ip.to_string()),
        "IPPrefixLen": bridge.map_or(0, |l| l.prefix),
        "IPv6Gateway": "",
        "MacAddress": s(|l| l.mac.clone()),
        "Networks": networks_json(r),
    })
}

/// `GET /containers/json`'s `Ports`: published ports, then exposed ones without a binding.
fn summary_ports(v: &ContainerView) -> Vec<Value> {
    let r = &v.record;
    if !v.status.is_running() {
        return Vec::new();
    }
    let split = |key: &str| {
        let (p, t) = key.split_once('/').unwrap_or((key, "tcp"));
        (p.parse::<u16>().unwrap_or(0), t.to_string())
    };
    let mut out: Vec<Value> = r
        .ports
        .iter()
        .map(|p| {
            let (port, proto) = split(&p.container_port);
            json!({"IP": p.host_ip, "PrivatePort": port, "PublicPort": p.host_port, "Type": proto})
        })
        .collect();
    for key in r.options.exposed_ports.keys() {
        if !r.ports.iter().any(|p| &p.container_port == key) {
            let (port, proto) = split(key);
            out.push(json!({"PrivatePort": port, "Type": proto}));
        }
    }
    out
}

/// `POST /containers/create?name=`.
pub async fn create(engine: &Arc<Engine>, q: &Query, body: Bytes) -> Answer {
    let opts: CreateOptions = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!("invalid container config in the request body: {e}"))
    })?;
    let auto_remove = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.pointer("/HostConfig/AutoRemove").and_then(Value::as_bool))
        .unwrap_or(false);
    let name = q.get("name").map(str::to_string);
    let rec = blocking(engine, move |e| {
        let rec = e.create_container(name.as_deref(), opts)?;
        if auto_remove {
            if let Err(err) = e.set_auto_remove(&rec.id, true) {
                let _ = e.remove_container(&rec.id, true);
                return Err(err.into());
            }
        }
        Ok(rec)
    })
    .await?;
    let out = ContainerCreateResponse {
        id: rec.id,
        warnings: Vec::new(),
    };
    Ok(json(StatusCode::CREATED, &out))
}

/// `GET /containers/{id}/json`.
pub async fn inspect(engine: &Arc<Engine>, id: String) -> Answer {
    let v = blocking(engine, move |e| Ok(e.container(&id)?)).await?;
    let mut body = serde_json::to_value(inspect_body(&v)).unwrap_or(Value::Null);
    if let Some(h) = &v.health {
        // Docker's `State.Health` (the run marker stays in the engine).
        body["State"]["Health"] =
            json!({"Status": h.status, "FailingStreak": h.failing_streak, "Log": h.log});
    }
    if let Some(ready) = v.ready {
        // berth's port groups (not Docker's): whether this member is ready for traffic.
        body["State"]["Ready"] = json!(ready);
    }
    Ok(json(StatusCode::OK, &body))
}

/// `POST /containers/{id}/start` (304 when already running, as Docker answers).
pub async fn start(engine: &Arc<Engine>, id: String) -> Answer {
    let (out, rec) = blocking(engine, move |e| {
        let out = match e.start_container(&id) {
            Ok(out) => out,
            Err(err) => {
                // dockerd: an AutoRemove container whose start failed is removed (a
                // `docker run --rm` waiting for `removed` would wait for ever otherwise).
                if e.find_container(&id).is_ok_and(|r| r.auto_remove) {
                    let _ = e.remove_container_with(&id, true, true);
                }
                return Err(err.into());
            }
        };
        Ok((out, e.find_container(&id)?))
    })
    .await?;
    if out == StopOutcome::Done && rec.auto_remove {
        let e = engine.clone();
        tokio::task::spawn_blocking(move || {
            let _ = e.auto_remove_after_exit(&rec.id);
        });
    }
    Ok(empty(match out {
        StopOutcome::Done => StatusCode::NO_CONTENT,
        StopOutcome::AlreadyThere => StatusCode::NOT_MODIFIED,
    }))
}

/// `POST /containers/{id}/stop?t=` (304 when not running).
pub async fn stop(engine: &Arc<Engine>, id: String, q: &Query) -> Answer {
    let t = match q.get("t").filter(|t| !t.is_empty()) {
        Some(t) => Some(t.parse::<i64>().map_err(|_| {
            ApiError::BadRequest(format!("invalid value for t: {t:?}: give whole seconds"))
        })?),
        None => None,
    };
    let out = blocking(engine, move |e| Ok(e.stop_container(&id, t, None)?)).await?;
    Ok(empty(match out {
        StopOutcome::Done => StatusCode::NO_CONTENT,
        StopOutcome::AlreadyThere => StatusCode::NOT_MODIFIED,
    }))
}

/// `POST /containers/{id}/kill?signal=`.
pub async fn kill(engine: &Arc<Engine>, id: String, q: &Query) -> Answer {
    let sig = q.get("signal").map(str::to_string);
    blocking(engine, move |e| Ok(e.kill_container(&id, sig.as_deref())?)).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `POST /containers/{id}/wait?condition=`: the status line goes out at once (the CLI
/// waits for it before starting the container), the JSON when the condition holds.
pub async fn wait(engine: &Arc<Engine>, id: String, q: &Query) -> Answer {
    let condition = q.get("condition").unwrap_or("").to_string();
    if !matches!(
        condition.as_str(),
        "" | "not-running" | "next-exit" | "removed"
    ) {
        return Err(ApiError::BadRequest(format!(
            "invalid condition: {condition:?}: use not-running, next-exit or removed"
        )));
    }
    let rec = blocking(engine, move |e| Ok(e.find_container(&id)?)).await?;
    let e = engine.clone();
    Ok(stream_now("application/json", move |w| {
        let out = match e.wait_container_for(&rec.id, &condition) {
            Ok(code) => ContainerWaitResponse {
                status_code: code,
                error: None,
            },
            Err(err) => return Err(err.into()),
        };
        serde_json::to_writer(&mut *w, &out)
            .map_err(|err| ApiError::Internal(format!("encoding the answer: {err}")))?;
        let _ = w.write_all(b"\n");
        Ok(())
    }))
}

/// `DELETE /containers/{id}?force=`.
pub async fn remove(engine: &Arc<Engine>, id: String, q: &Query) -> Answer {
    let (force, volumes) = (q.flag("force"), q.flag("v"));
    blocking(engine, move |e| {
        Ok(e.remove_container_with(&id, force, volumes)?)
    })
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(1), "1 second");
        assert_eq!(human_duration(3), "3 seconds");
        assert_eq!(human_duration(61), "About a minute");
        assert_eq!(human_duration(600), "10 minutes");
        assert_eq!(human_duration(3600), "About an hour");
        assert_eq!(human_duration(5 * 3600), "5 hours");
        assert_eq!(human_duration(3 * 86400), "3 days");
    }
}
