//! `POST /build`: the legacy builder's API, as `DOCKER_BUILDKIT=0 docker build` and docker-py
//! call it. The body is the context tar; the answer a JSON message stream (`stream` lines,
//! `aux.ID`, `error` at the end on failure). berth's own client may send a manifest context
//! instead (`contextformat=berth-manifest-v1`, after `POST /build/blobs/missing`).

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

use berth_api_types::JsonMessage;
use berth_engine::build::{BuildEvent, BuildRequest, CONTEXT_MANIFEST_FORMAT};
use berth_engine::Engine;
use http::Response;

use crate::body::{stream, Body, StreamKind};
use crate::error::ApiError;
use crate::route::Query;

fn json_map(q: &Query, key: &str) -> Result<BTreeMap<String, String>, ApiError> {
    match q.get(key).filter(|v| !v.is_empty()) {
        None => Ok(BTreeMap::new()),
        Some(v) => {
            let m: BTreeMap<String, Option<String>> = serde_json::from_str(v).map_err(|e| {
                ApiError::BadRequest(format!(
                    "invalid {key} {v:?}: a JSON object of strings: {e}"
                ))
            })?;
            Ok(m.into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect())
        }
    }
}

/// The request from Docker's query parameters.
pub(crate) fn request(q: &Query) -> Result<(BuildRequest, bool), ApiError> {
    if q.flag("remote") || q.get("remote").is_some_and(|r| !r.is_empty()) {
        return Err(ApiError::BadRequest(
            "remote build contexts are not supported: send the context as the body".into(),
        ));
    }
    let req = BuildRequest {
        dockerfile: q.get("dockerfile").unwrap_or_default().to_string(),
        tags: q.all("t").into_iter().map(str::to_string).collect(),
        build_args: json_map(q, "buildargs")?,
        labels: json_map(q, "labels")?,
        target: q.get("target").map(str::to_string),
        no_cache: q.flag("nocache"),
        network_mode: q.get("networkmode").unwrap_or("default").to_string(),
        pull: q.flag("pull"),
        manifest_context: match q.get("contextformat").filter(|f| !f.is_empty()) {
            None => false,
            Some(f) if f == CONTEXT_MANIFEST_FORMAT => true,
            Some(f) => {
                return Err(ApiError::BadRequest(format!(
                    "unknown contextformat {f:?}: send a tar, or {CONTEXT_MANIFEST_FORMAT}"
                )))
            }
        },
    };
    Ok((req, q.flag("q")))
}

/// `POST /build?t=&dockerfile=&buildargs=&labels=&target=&nocache=&q=&networkmode=`.
pub async fn build(
    engine: &Arc<Engine>,
    q: &Query,
    body: impl Read + Send + 'static,
) -> Result<Response<Body>, ApiError> {
    let (req, quiet) = request(q)?;
    let engine = engine.clone();
    Ok(stream(StreamKind::Json, move |w| {
        let mut failed: Option<std::io::Error> = None;
        let mut out = |ev: BuildEvent| {
            let msg = match ev {
                BuildEvent::Stream(_) if quiet => return,
                BuildEvent::Stream(s) => JsonMessage {
                    stream: Some(s),
                    ..JsonMessage::default()
                },
                BuildEvent::Built(id) => JsonMessage {
                    aux: Some(serde_json::json!({ "ID": id })),
                    ..JsonMessage::default()
                },
            };
            if failed.is_none() {
                if let Err(e) = w.message(&msg) {
                    failed = Some(e);
                }
            }
        };
        let result = engine.build_image(&req, body, &mut out);
        let id = result?.id;
        if quiet {
            w.message(&JsonMessage {
                stream: Some(format!("{id}\n")),
                ..JsonMessage::default()
            })
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        }
        Ok(())
    })
    .await)
}

/// `POST /build/prune`: the build cache's entries and the images only they kept.
pub async fn prune(engine: &Arc<Engine>) -> Result<Response<Body>, ApiError> {
    let r = crate::blocking(engine, |e| Ok(e.prune_build_cache()?)).await?;
    Ok(crate::body::json(
        http::StatusCode::OK,
        &serde_json::json!({"CachesDeleted": r.deleted, "SpaceReclaimed": r.space_reclaimed}),
    ))
}

/// `POST /build/blobs/missing` (berth's extension, see `berth_build::manifest`): of the
/// content digests in the body (a JSON array), those the daemon lacks.
pub async fn missing_blobs(
    engine: &Arc<Engine>,
    body: bytes::Bytes,
) -> Result<Response<Body>, ApiError> {
    let digests: Vec<String> = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!("invalid body: a JSON array of sha256 digests: {e}"))
    })?;
    let missing = crate::blocking(engine, move |e| Ok(e.missing_context_blobs(&digests)?)).await?;
    Ok(crate::body::json(http::StatusCode::OK, &missing))
}
