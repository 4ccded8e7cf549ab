//! The file endpoints of containers: `docker cp` (`HEAD|GET|PUT /containers/{id}/archive`),
//! `docker export`, `docker diff` (`/changes`), `docker commit` (`POST /commit`), and the two
//! prunes `docker system prune` calls that have nothing to prune yet (networks, build cache).
//!
//! Why here and thin: the engine (`containers::archive`) does the resolution inside the
//! container root that makes these safe; this file only speaks Docker's wire format — the
//! `X-Docker-Container-Path-Stat` header (URL-safe base64 of `{name,size,mode,mtime,
//! linkTarget}`, as the CLI decodes it), tar bodies, query flags and status codes.

use std::sync::Arc;

use base64::Engine as _;
use berth_engine::containers::archive::{ChangeKind, CommitOptions, ExtractOptions, PathStat};
use berth_engine::Engine;
use bytes::Bytes;
use http::{header::HeaderValue, Response, StatusCode};
use serde_json::json;

use crate::blocking;
use crate::body::{full, json, stream, Body, StreamKind};
use crate::error::ApiError;
use crate::route::Query;

type Answer = Result<Response<Body>, ApiError>;

const STAT_HEADER: &str = "X-Docker-Container-Path-Stat";
const TAR: &str = "application/x-tar";

fn path_param(q: &Query) -> Result<String, ApiError> {
    match q.get("path") {
        Some(p) if !p.is_empty() => Ok(p.to_string()),
        _ => Err(ApiError::BadRequest("path cannot be empty".into())),
    }
}

fn stat_header(s: &PathStat) -> Result<HeaderValue, ApiError> {
    let data = serde_json::to_vec(s)
        .map_err(|e| ApiError::Internal(format!("encoding the path stat: {e}")))?;
    let b64 = base64::engine::general_purpose::URL_SAFE.encode(data);
    HeaderValue::from_str(&b64).map_err(|e| ApiError::Internal(format!("stat header: {e}")))
}

async fn stat(engine: &Arc<Engine>, id: &str, path: &str) -> Result<HeaderValue, ApiError> {
    let (id, path) = (id.to_string(), path.to_string());
    let s = blocking(engine, move |e| Ok(e.container_stat_path(&id, &path)?)).await?;
    stat_header(&s)
}

/// `HEAD /containers/{id}/archive?path=`.
pub async fn head(engine: &Arc<Engine>, id: String, q: &Query) -> Answer {
    let h = stat(engine, &id, &path_param(q)?).await?;
    let mut r = Response::new(full(Bytes::new()));
    r.headers_mut().insert(STAT_HEADER, h);
    Ok(r)
}

/// `GET /containers/{id}/archive?path=`: the tar, with the stat header.
pub async fn get(engine: &Arc<Engine>, id: String, q: &Query) -> Answer {
    let path = path_param(q)?;
    let h = stat(engine, &id, &path).await?;
    let e = engine.clone();
    let mut r = stream(StreamKind::Binary(TAR), move |w| {
        Ok(e.container_archive(&id, &path, w)?)
    })
    .await;
    if r.status().is_success() {
        r.headers_mut().insert(STAT_HEADER, h);
    }
    Ok(r)
}

/// `PUT /containers/{id}/archive?path=&noOverwriteDirNonDir=&copyUIDGID=`: the body is a
/// tar extracted into the directory `path`.
pub async fn put(
    engine: &Arc<Engine>,
    id: String,
    q: &Query,
    body: impl std::io::Read + Send + 'static,
) -> Answer {
    let path = path_param(q)?;
    let opts = ExtractOptions {
        no_overwrite_dir_non_dir: q.flag("noOverwriteDirNonDir"),
        copy_uid_gid: q.flag("copyUIDGID"),
    };
    blocking(engine, move |e| {
        Ok(e.container_extract(&id, &path, body, &opts)?)
    })
    .await?;
    Ok(Response::new(full(Bytes::new())))
}

/// `GET /containers/{id}/export`.
pub async fn export(engine: &Arc<Engine>, id: String) -> Answer {
    // Answer 404 before the stream starts.
    let check = id.clone();
    blocking(engine, move |e| Ok(e.find_container(&check).map(drop)?)).await?;
    let e = engine.clone();
    Ok(stream(StreamKind::Binary(TAR), move |w| {
        Ok(e.export_container(&id, w)?)
    })
    .await)
}

/// `GET /containers/{id}/changes`: `[{"Path", "Kind"}]`, Kind 0 modified, 1 added, 2 deleted.
pub async fn changes(engine: &Arc<Engine>, id: String) -> Answer {
    let list = blocking(engine, move |e| Ok(e.container_changes(&id)?)).await?;
    let out: Vec<_> = list
        .iter()
        .map(|c| {
            let kind = match c.kind {
                ChangeKind::Modified => 0,
                ChangeKind::Added => 1,
                ChangeKind::Deleted => 2,
            };
            json!({"Path": c.path, "Kind": kind})
        })
        .collect();
    Ok(json(StatusCode::OK, &out))
}

/// `POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=`; the body, if any,
/// is a container config whose set fields override the container's.
pub async fn commit(engine: &Arc<Engine>, q: &Query, body: Bytes) -> Answer {
    let container = q.get("container").unwrap_or_default().to_string();
    let config = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON in the config: {e}")))?
    };
    let text = |k: &str| q.get(k).map(str::to_string).filter(|v| !v.is_empty());
    let opts = CommitOptions {
        repo: text("repo"),
        tag: text("tag"),
        comment: text("comment"),
        author: text("author"),
        // Docker pauses unless told not to.
        pause: q.get("pause").is_none_or(|_| q.flag("pause")),
        changes: q.all("changes").into_iter().map(str::to_string).collect(),
        config,
    };
    let id = blocking(engine, move |e| Ok(e.commit_container(&container, &opts)?)).await?;
    Ok(json(StatusCode::CREATED, &json!({"Id": id.to_string()})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_header_is_url_safe_base64_of_dockers_json() {
        let s = PathStat {
            name: "a".into(),
            size: 3,
            mode: 0o644,
            mtime: "2024-01-01T00:00:00Z".into(),
            link_target: String::new(),
        };
        let h = stat_header(&s).unwrap();
        let raw = base64::engine::general_purpose::URL_SAFE
            .decode(h.as_bytes())
            .unwrap();
        assert_eq!(
            String::from_utf8(raw).unwrap(),
            r#"{"name":"a","size":3,"mode":420,"mtime":"2024-01-01T00:00:00Z","linkTarget":""}"#
        );
    }
}
