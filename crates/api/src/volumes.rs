//! `/volumes/*`: list, create, inspect, remove and prune, in Docker's wire shapes.
//!
//! Prune follows API ≥ 1.42: only anonymous volumes unless the `all=true` filter is given
//! (the CLI's `docker volume prune --all`).

use std::sync::Arc;

use berth_api_types::{
    Volume, VolumeCreateRequest, VolumeListResponse, VolumeUsageData, VolumesPruneResponse,
};
use berth_engine::{
    Engine, LabelFilter, VolumeCreateRequest as CreateRequest, VolumeFilters, VolumePruneOptions,
    VolumeView,
};
use bytes::Bytes;
use http::{Response, StatusCode};

use crate::blocking;
use crate::body::{full, json, Body};
use crate::error::ApiError;
use crate::route::Query;

type Answer = Result<Response<Body>, ApiError>;

/// A volume as Docker shows it; `usage` adds `UsageData`.
pub(crate) fn volume_body(v: &VolumeView, usage: Option<u64>) -> Volume {
    Volume {
        name: v.volume.name.clone(),
        driver: v.volume.driver.clone(),
        mountpoint: v.mountpoint.clone(),
        created_at: v.volume.created_at.clone(),
        labels: v.volume.labels.clone(),
        scope: "local".into(),
        options: v.volume.options.clone(),
        usage_data: usage.map(|size| VolumeUsageData {
            size: i64::try_from(size).unwrap_or(i64::MAX),
            ref_count: i64::try_from(v.users.len()).unwrap_or(i64::MAX),
        }),
    }
}

fn bool_filter(key: &str, v: &str) -> Result<bool, ApiError> {
    match v {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ApiError::BadRequest(format!(
            "invalid filter '{key}={v}': use true or false"
        ))),
    }
}

fn label_filters(f: &std::collections::BTreeMap<String, Vec<String>>) -> Vec<LabelFilter> {
    let mut out = Vec::new();
    for (key, negate) in [("label", false), ("label!", true)] {
        for l in f.get(key).into_iter().flatten() {
            out.push(LabelFilter::parse(l, negate));
        }
    }
    out
}

/// `GET /volumes?filters=`.
pub async fn list(engine: &Arc<Engine>, q: &Query) -> Answer {
    let f = q.filters(&["dangling", "name", "label", "label!", "driver"])?;
    let filters = VolumeFilters {
        dangling: match f.get("dangling").and_then(|v| v.first()) {
            Some(v) => Some(bool_filter("dangling", v)?),
            None => None,
        },
        names: f.get("name").cloned().unwrap_or_default(),
        labels: label_filters(&f),
        drivers: f.get("driver").cloned().unwrap_or_default(),
    };
    let views = blocking(engine, move |e| Ok(e.volumes(&filters)?)).await?;
    let out = VolumeListResponse {
        volumes: views.iter().map(|v| volume_body(v, None)).collect(),
        warnings: Vec::new(),
    };
    Ok(json(StatusCode::OK, &out))
}

/// `POST /volumes/create` (201 with the volume, also when it already existed).
pub async fn create(engine: &Arc<Engine>, body: Bytes) -> Answer {
    let req: VolumeCreateRequest = if body.iter().all(u8::is_ascii_whitespace) {
        VolumeCreateRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::BadRequest(format!("invalid volume config in the request body: {e}"))
        })?
    };
    let req = CreateRequest {
        name: req.name.filter(|n| !n.is_empty()),
        driver: req.driver.unwrap_or_default(),
        labels: req.labels.unwrap_or_default(),
        options: req.driver_opts.unwrap_or_default(),
    };
    let v = blocking(engine, move |e| Ok(e.create_volume(req)?)).await?;
    Ok(json(StatusCode::CREATED, &volume_body(&v, None)))
}

/// `GET /volumes/{name}`.
pub async fn inspect(engine: &Arc<Engine>, name: String) -> Answer {
    let v = blocking(engine, move |e| Ok(e.volume(&name)?)).await?;
    Ok(json(StatusCode::OK, &volume_body(&v, None)))
}

/// `DELETE /volumes/{name}?force=`.
pub async fn remove(engine: &Arc<Engine>, name: String, q: &Query) -> Answer {
    let force = q.flag("force");
    blocking(engine, move |e| Ok(e.remove_volume(&name, force)?)).await?;
    let mut r = Response::new(full(""));
    *r.status_mut() = StatusCode::NO_CONTENT;
    Ok(r)
}

/// `POST /volumes/prune?filters=`.
pub async fn prune(engine: &Arc<Engine>, q: &Query) -> Answer {
    let f = q.filters(&["all", "label", "label!"])?;
    let opts = VolumePruneOptions {
        all: match f.get("all").and_then(|v| v.first()) {
            Some(v) => bool_filter("all", v)?,
            None => false,
        },
        labels: label_filters(&f),
    };
    let r = blocking(engine, move |e| Ok(e.prune_volumes(&opts)?)).await?;
    let out = VolumesPruneResponse {
        volumes_deleted: r.deleted,
        space_reclaimed: r.space_reclaimed,
    };
    Ok(json(StatusCode::OK, &out))
}

/// `/volumes/{name}`: volume names hold no `/`.
pub async fn route(
    e: &Arc<Engine>,
    m: &http::Method,
    name: &str,
    q: &Query,
) -> Result<Response<Body>, ApiError> {
    if name.is_empty() || name.contains('/') {
        return Err(ApiError::NoRoute);
    }
    match *m {
        http::Method::GET => inspect(e, name.to_string()).await,
        http::Method::DELETE => remove(e, name.to_string(), q).await,
        _ => Err(ApiError::NoRoute),
    }
}

/// A container's mounts as inspect's and list's `Mounts` show them.
pub(crate) fn mounts_json(mounts: &[berth_engine::MountPoint]) -> Vec<serde_json::Value> {
    mounts
        .iter()
        .map(|p| {
            let mut v = serde_json::json!({
                "Type": p.kind,
                "Source": p.source,
                "Destination": p.destination,
                "Mode": p.mode,
                "RW": p.rw,
                "Propagation": p.propagation,
            });
            if p.kind == "volume" {
                v["Name"] = serde_json::json!(p.name);
                v["Driver"] = serde_json::json!(p.driver);
            }
            v
        })
        .collect()
}
