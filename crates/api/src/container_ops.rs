//! `/containers/*` management endpoints: pause, unpause, rename, top, update, restart, prune,
//! the filtered list, and stats in Docker's JSON shapes.
//!
//! Why stats are shaped here: the engine hands over the cgroup's figures
//! ([`berth_engine::StatsSample`]); the names and nesting (`cpu_stats.cpu_usage.total_usage`,
//! `memory_stats.stats`, `blkio_stats.io_service_bytes_recursive`) are Docker's wire format,
//! which the CLI's `docker stats` computes its columns from.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use berth_engine::{ContainerFilters, Engine, StatsSample, UpdateOptions};
use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::{json, Value};

use crate::blocking;
use crate::body::{json, stream_now, Body};
use crate::containers::{empty, summary};
use crate::error::ApiError;
use crate::route::Query;

type Answer = Result<Response<Body>, ApiError>;

/// Go's zero time.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// `POST /containers/{id}/pause`.
pub async fn pause(engine: &Arc<Engine>, id: String) -> Answer {
    blocking(engine, move |e| Ok(e.pause_container(&id)?)).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `POST /containers/{id}/unpause`.
pub async fn unpause(engine: &Arc<Engine>, id: String) -> Answer {
    blocking(engine, move |e| Ok(e.unpause_container(&id)?)).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `POST /containers/{id}/rename?name=`.
pub async fn rename(engine: &Arc<Engine>, id: String, q: &Query) -> Answer {
    let name = q.get("name").unwrap_or("").to_string();
    blocking(engine, move |e| Ok(e.rename_container(&id, &name)?)).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `GET /containers/{id}/top?ps_args=`.
pub async fn top(engine: &Arc<Engine>, id: String, q: &Query) -> Answer {
    let args = q.get("ps_args").unwrap_or("").to_string();
    let t = blocking(engine, move |e| Ok(e.top_container(&id, &args)?)).await?;
    Ok(json(
        StatusCode::OK,
        &json!({"Titles": t.titles, "Processes": t.processes}),
    ))
}

/// `POST /containers/{id}/update` with Docker's `UpdateConfig`.
pub async fn update(engine: &Arc<Engine>, id: String, body: Bytes) -> Answer {
    let u: UpdateOptions = if body.iter().all(u8::is_ascii_whitespace) {
        UpdateOptions::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::BadRequest(format!("invalid update config in the request body: {e}"))
        })?
    };
    let warnings = blocking(engine, move |e| Ok(e.update_container(&id, &u)?)).await?;
    Ok(json(StatusCode::OK, &json!({ "Warnings": warnings })))
}

/// `POST /containers/{id}/restart?t=&signal=`.
pub async fn restart(engine: &Arc<Engine>, id: String, q: &Query) -> Answer {
    let t = match q.get("t").filter(|t| !t.is_empty()) {
        Some(t) => Some(t.parse::<i64>().map_err(|_| {
            ApiError::BadRequest(format!("invalid value for t: {t:?}: give whole seconds"))
        })?),
        None => None,
    };
    let sig = q.get("signal").map(str::to_string);
    blocking(engine, move |e| {
        Ok(e.restart_container(&id, t, sig.as_deref())?)
    })
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `GET /containers/json?all=&limit=&size=&filters=`.
pub async fn list(engine: &Arc<Engine>, q: &Query) -> Answer {
    let f = ContainerFilters::from_map(&q.filters(ContainerFilters::LIST_KEYS)?)
        .map_err(ApiError::from)?;
    let all = q.flag("all");
    let limit = match q.get("limit").filter(|l| !l.is_empty()) {
        Some(l) => Some(l.parse::<i64>().map_err(|_| {
            ApiError::BadRequest(format!("invalid value for limit: {l:?}: give a number"))
        })?),
        None => None,
    };
    let limit = limit.and_then(|l| usize::try_from(l).ok());
    let size = q.flag("size");
    let out = blocking(engine, move |e| {
        let views = e.list_containers(all, &f, limit)?;
        Ok(views
            .iter()
            .map(|v| {
                let mut s = serde_json::to_value(summary(v)).unwrap_or(Value::Null);
                if size {
                    let (rw, root) = e.container_size(v);
                    s["SizeRw"] = json!(rw);
                    s["SizeRootFs"] = json!(root);
                }
                s
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(json(StatusCode::OK, &out))
}

/// `POST /containers/prune?filters=` (`until`, `label`, `label!`).
pub async fn prune(engine: &Arc<Engine>, q: &Query) -> Answer {
    let map = q.filters(ContainerFilters::PRUNE_KEYS)?;
    let mut f = ContainerFilters::from_map(&map).map_err(ApiError::from)?;
    if let Some(u) = map.get("until").and_then(|v| v.last()) {
        f.until = Some(crate::images::parse_until(u, crate::now())?);
    }
    let r = blocking(engine, move |e| Ok(e.prune_containers(&f)?)).await?;
    Ok(json(
        StatusCode::OK,
        &json!({"ContainersDeleted": r.deleted, "SpaceReclaimed": r.space_reclaimed}),
    ))
}

/// `GET /containers/{id}/stats?stream=&one-shot=`: one JSON object, or one a second while
/// the container runs and the client listens.
pub async fn stats(engine: &Arc<Engine>, id: String, q: &Query) -> Answer {
    let stream = q.get("stream").is_none() || q.flag("stream");
    let one_shot = q.flag("one-shot");
    if one_shot && stream {
        return Err(ApiError::BadRequest(
            "cannot have stream=true and one-shot=true".into(),
        ));
    }
    let (rec, first) = blocking(engine, move |e| Ok(e.container_stats(&id)?)).await?;
    let (name, id) = (format!("/{}", rec.name), rec.id);
    if !stream {
        let e = engine.clone();
        let doc = blocking(engine, move |_| {
            let Some(first) = first else {
                return Ok(stats_json(&name, &id, None, None));
            };
            if one_shot {
                return Ok(stats_json(&name, &id, Some(&first), None));
            }
            // Docker primes the CPU figures with a second reading a second later.
            std::thread::sleep(Duration::from_secs(1));
            Ok(match e.container_stats(&id)?.1 {
                Some(now) => stats_json(&name, &id, Some(&now), Some(&first)),
                None => stats_json(&name, &id, None, None),
            })
        })
        .await?;
        return Ok(json(StatusCode::OK, &doc));
    }
    let e = engine.clone();
    Ok(stream_now("application/json", move |w| {
        let mut prev: Option<StatsSample> = None;
        let mut cur = first;
        loop {
            let doc = stats_json(&name, &id, cur.as_ref(), prev.as_ref());
            let line = serde_json::to_vec(&doc)
                .map_err(|err| ApiError::Internal(format!("encoding stats: {err}")))?;
            if w.write_all(&line)
                .and_then(|()| w.write_all(b"\n"))
                .and_then(|()| w.flush())
                .is_err()
                || cur.is_none()
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_secs(1));
            if w.is_closed() {
                return Ok(());
            }
            prev = cur;
            cur = e.container_stats(&id)?.1;
        }
    }))
}

fn cpu_json(s: Option<&StatsSample>) -> Value {
    let Some(s) = s else {
        return json!({
            "cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
        });
    };
    let c = &s.stats.cpu;
    let mut usage = json!({
        "total_usage": c.usage_total,
        "usage_in_kernelmode": c.usage_system,
        "usage_in_usermode": c.usage_user,
    });
    if !c.per_cpu.is_empty() {
        usage["percpu_usage"] = json!(c.per_cpu);
    }
    json!({
        "cpu_usage": usage,
        "system_cpu_usage": s.system_cpu_usage,
        "online_cpus": s.online_cpus,
        "throttling_data": {
            "periods": c.nr_periods,
            "throttled_periods": c.nr_throttled,
            "throttled_time": c.throttled_time,
        },
    })
}

/// Docker's `StatsResponse` for `now` (and `prev` as its `precpu`); `None`: not running.
pub fn stats_json(
    name: &str,
    id: &str,
    now: Option<&StatsSample>,
    prev: Option<&StatsSample>,
) -> Value {
    let blkio_empty = json!({
        "io_service_bytes_recursive": null, "io_serviced_recursive": null,
        "io_queue_recursive": null, "io_service_time_recursive": null,
        "io_wait_time_recursive": null, "io_merged_recursive": null,
        "io_time_recursive": null, "sectors_recursive": null,
    });
    let mut doc = json!({
        "name": name,
        "id": id,
        "read": now.map_or(ZERO_TIME, |s| s.read.as_str()),
        "preread": prev.map_or(ZERO_TIME, |s| s.read.as_str()),
        "pids_stats": {},
        "blkio_stats": blkio_empty,
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": cpu_json(now),
        "precpu_stats": cpu_json(prev),
        "memory_stats": {},
    });
    let Some(s) = now else {
        return doc;
    };
    let m = &s.stats.memory;
    let mut mem = json!({
        "usage": m.usage,
        "stats": m.stat,
        "limit": m.limit.filter(|l| *l < s.host_memory).unwrap_or(s.host_memory),
    });
    if let Some(max) = m.max_usage {
        mem["max_usage"] = json!(max);
    }
    doc["memory_stats"] = mem;
    let mut pids = json!({"current": s.stats.pids.current});
    if let Some(l) = s.stats.pids.limit {
        pids["limit"] = json!(l);
    }
    doc["pids_stats"] = pids;
    let io = &s.stats.io;
    let (mut bytes, mut ops) = (Vec::new(), Vec::new());
    for d in &io.devices {
        let entry = |op: &str, value: u64| json!({"major": d.major, "minor": d.minor, "op": op, "value": value});
        bytes.push(entry("read", d.read_bytes));
        bytes.push(entry("write", d.write_bytes));
        ops.push(entry("read", d.read_ops));
        ops.push(entry("write", d.write_ops));
    }
    if !io.devices.is_empty() {
        doc["blkio_stats"]["io_service_bytes_recursive"] = json!(bytes);
        doc["blkio_stats"]["io_serviced_recursive"] = json!(ops);
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_and_prune_filters_parse() {
        let q = Query::parse(Some(
            "filters=%7B%22status%22%3A%5B%22exited%22%5D%2C%22label%22%3A%5B%22a%3Db%22%5D%7D",
        ));
        let map = q.filters(ContainerFilters::LIST_KEYS).unwrap();
        let f = ContainerFilters::from_map(&map).unwrap();
        assert_eq!(
            (f.status, f.label),
            (vec!["exited".to_string()], vec!["a=b".to_string()])
        );
        let bad = Query::parse(Some("filters={\"color\":[\"red\"]}"));
        let e = bad.filters(ContainerFilters::LIST_KEYS).unwrap_err();
        assert_eq!(e.to_string(), "invalid filter 'color'");
        assert!(bad.filters(ContainerFilters::PRUNE_KEYS).is_err());
        let st = Query::parse(Some("filters={\"status\":[\"up\"]}"));
        let e = ContainerFilters::from_map(&st.filters(ContainerFilters::LIST_KEYS).unwrap());
        assert!(e.is_err());
        let p = Query::parse(Some("filters={\"until\":[\"24h\"],\"label!\":[\"keep\"]}"));
        let f = ContainerFilters::from_map(&p.filters(ContainerFilters::PRUNE_KEYS).unwrap());
        assert_eq!(f.unwrap().label_not, vec!["keep".to_string()]);
    }

    #[test]
    fn stats_of_a_stopped_container_have_dockers_shape() {
        let v = stats_json("/c", "abc", None, None);
        assert_eq!(v["read"], ZERO_TIME);
        assert_eq!(v["cpu_stats"]["cpu_usage"]["total_usage"], 0);
        assert!(v["blkio_stats"]["io_service_bytes_recursive"].is_null());
        assert_eq!(v["memory_stats"], json!({}));
        assert!(v.get("networks").is_none());
    }
}
