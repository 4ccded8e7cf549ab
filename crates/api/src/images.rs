//! `/images/*`: engine image views to Docker's wire shapes, and the streaming endpoints
//! (load, save, pull, import, push).

use std::io::{BufReader, Read};
use std::sync::{Arc, Mutex};

use berth_api_types::{
    HistoryResponseItem, ImageDeleteResponseItem, ImageInspect, ImageSummary, ImagesPruneResponse,
    JsonMessage, ProgressDetail,
};
use berth_engine::{
    time, Engine, ImageFilters, ImageView, ImportRequest, LabelFilter, ProgressEvent, PruneOptions,
    PullRequest, RemoveEvent,
};
use http::{HeaderMap, Response, StatusCode};
use serde_json::{json, Value};

use crate::body::{full, json, stream, Body, ChanWriter, StreamKind};
use crate::error::ApiError;
use crate::route::Query;
use crate::{blocking, registry_auth};

type Answer = Result<Response<Body>, ApiError>;

/// Engine view → `ImageSummary`.
pub fn summary(v: &ImageView) -> ImageSummary {
    let img = &v.image;
    ImageSummary {
        id: img.id().to_string(),
        parent_id: String::new(),
        repo_tags: img.tags.iter().map(|r| r.familiar()).collect(),
        repo_digests: img.digests.iter().map(|r| r.familiar()).collect(),
        created: img.created_unix(),
        size: i64::try_from(v.size).unwrap_or(i64::MAX),
        shared_size: -1,
        labels: img
            .config
            .config
            .as_ref()
            .and_then(|c| c.labels.clone())
            .unwrap_or_default(),
        containers: -1,
    }
}

fn first(filters: &std::collections::BTreeMap<String, Vec<String>>, k: &str) -> Option<String> {
    filters.get(k).and_then(|v| v.first()).cloned()
}

fn truthy(v: &str) -> Result<bool, ApiError> {
    match v {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ApiError::BadRequest(format!(
            "invalid filter 'dangling={v}': use true or false"
        ))),
    }
}

/// `GET /images/json`.
pub async fn list(engine: &Arc<Engine>, q: &Query) -> Answer {
    let f = q.filters(&["dangling", "label", "reference", "before", "since"])?;
    let filters = ImageFilters {
        dangling: first(&f, "dangling").as_deref().map(truthy).transpose()?,
        labels: f.get("label").cloned().unwrap_or_default(),
        references: f.get("reference").cloned().unwrap_or_default(),
        before: first(&f, "before"),
        since: first(&f, "since"),
    };
    let views = blocking(engine, move |e| Ok(e.images(&filters)?)).await?;
    let out: Vec<ImageSummary> = views.iter().map(summary).collect();
    Ok(json(StatusCode::OK, &out))
}

/// `GET /images/{name}/json`.
pub async fn inspect(engine: &Arc<Engine>, name: String) -> Answer {
    let (v, lowers) = blocking(engine, move |e| {
        let v = e.image(&name)?;
        let lowers = e.layer_dirs(&v.image);
        Ok((v, lowers))
    })
    .await?;
    let img = &v.image;
    let c = &img.config;
    let lowers: Vec<String> = lowers.iter().map(|p| p.display().to_string()).collect();
    let out = ImageInspect {
        id: img.id().to_string(),
        repo_tags: img.tags.iter().map(|r| r.familiar()).collect(),
        repo_digests: img.digests.iter().map(|r| r.familiar()).collect(),
        parent: String::new(),
        comment: c
            .history
            .last()
            .and_then(|h| h.comment.clone())
            .unwrap_or_default(),
        created: c.created.clone().unwrap_or_default(),
        container: c.container.clone().unwrap_or_default(),
        container_config: container_config(c.container_config.as_ref()),
        docker_version: c.docker_version.clone().unwrap_or_default(),
        author: c.author.clone().unwrap_or_default(),
        config: serde_json::to_value(&c.config).unwrap_or_default(),
        architecture: c.architecture.clone(),
        variant: c.variant.clone(),
        os: c.os.clone(),
        size: i64::try_from(v.size).unwrap_or(i64::MAX),
        graph_driver: json!({"Name": "overlay", "Data": {"LowerDir": lowers.join(":")}}),
        root_fs: json!({"Type": "layers", "Layers": c.rootfs.diff_ids.iter().map(ToString::to_string).collect::<Vec<_>>()}),
        metadata: json!({"LastTagTime": time::format_rfc3339(img.record.last_used)}),
    };
    Ok(json(StatusCode::OK, &out))
}

/// Docker's `ContainerConfig` of image inspect: its `container.Config` re-encoded, so every
/// field without `omitempty` is present (zero values for an image that records none, as for
/// loaded, pulled and BuildKit-built images), the recorded ones over them.
fn container_config(recorded: Option<&Value>) -> Value {
    let mut out = json!({
        "Hostname": "", "Domainname": "", "User": "",
        "AttachStdin": false, "AttachStdout": false, "AttachStderr": false,
        "Tty": false, "OpenStdin": false, "StdinOnce": false,
        "Env": null, "Cmd": null, "Image": "", "Volumes": null, "WorkingDir": "",
        "Entrypoint": null, "OnBuild": null, "Labels": null,
    });
    if let (Value::Object(o), Some(Value::Object(r))) = (&mut out, recorded) {
        o.extend(r.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    out
}

/// `GET /images/{name}/history`.
pub async fn history(engine: &Arc<Engine>, name: String) -> Answer {
    let entries = blocking(engine, move |e| Ok(e.history(&name)?)).await?;
    let out: Vec<HistoryResponseItem> = entries
        .into_iter()
        .map(|h| HistoryResponseItem {
            id: h.id.map_or_else(|| "<missing>".into(), |d| d.to_string()),
            created: h.created,
            created_by: h.created_by,
            tags: h.tags,
            size: i64::try_from(h.size).unwrap_or(i64::MAX),
            comment: h.comment,
        })
        .collect();
    Ok(json(StatusCode::OK, &out))
}

/// `POST /images/{name}/tag?repo=&tag=`.
pub async fn tag(engine: &Arc<Engine>, name: String, q: &Query) -> Answer {
    let repo = q
        .get("repo")
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::BadRequest("repository name (repo) is required".into()))?
        .to_string();
    let tag = q.get("tag").map(str::to_string);
    blocking(engine, move |e| Ok(e.tag(&name, &repo, tag.as_deref())?)).await?;
    let mut r = Response::new(full(""));
    *r.status_mut() = StatusCode::CREATED;
    Ok(r)
}

fn delete_items(events: Vec<RemoveEvent>) -> Vec<ImageDeleteResponseItem> {
    events
        .into_iter()
        .map(|e| match e {
            RemoveEvent::Untagged(r) => ImageDeleteResponseItem::Untagged(r),
            RemoveEvent::Deleted(d) => ImageDeleteResponseItem::Deleted(d.to_string()),
        })
        .collect()
}

/// `DELETE /images/{name}?force=&noprune=` (`noprune` is accepted and ignored: unused
/// layers are always collected).
pub async fn remove(engine: &Arc<Engine>, name: String, q: &Query) -> Answer {
    let force = q.flag("force");
    let events = blocking(engine, move |e| Ok(e.remove(&name, force)?)).await?;
    Ok(json(StatusCode::OK, &delete_items(events)))
}

/// `until=`: a timestamp (RFC 3339 or seconds) or a Go duration (`24h`, `30m`, `10s`).
pub(crate) fn parse_until(v: &str, now: i64) -> Result<i64, ApiError> {
    if let Some(t) = time::parse_rfc3339(v) {
        return Ok(t);
    }
    if let Ok(t) = v.split('.').next().unwrap_or(v).parse::<i64>() {
        return Ok(t);
    }
    let bad = || {
        ApiError::BadRequest(format!(
            "invalid until value {v:?}: use a timestamp or a duration like 24h"
        ))
    };
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let n: i64 = v[..split].parse().map_err(|_| bad())?;
    let secs = match &v[split..] {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(bad()),
    };
    Ok(now - secs)
}

/// `POST /images/prune?filters=`.
pub async fn prune(engine: &Arc<Engine>, q: &Query) -> Answer {
    let f = q.filters(&["dangling", "until", "label", "label!"])?;
    let mut opts = PruneOptions {
        all: !first(&f, "dangling")
            .as_deref()
            .map(truthy)
            .transpose()?
            .unwrap_or(true),
        ..PruneOptions::default()
    };
    if let Some(u) = first(&f, "until") {
        opts.until = Some(parse_until(&u, crate::now())?);
    }
    for (key, negate) in [("label", false), ("label!", true)] {
        for l in f.get(key).into_iter().flatten() {
            opts.labels.push(LabelFilter::parse(l, negate));
        }
    }
    let report = blocking(engine, move |e| Ok(e.prune(&opts)?)).await?;
    let deleted = delete_items(report.events);
    let out = ImagesPruneResponse {
        images_deleted: (!deleted.is_empty()).then_some(deleted),
        space_reclaimed: report.space_reclaimed,
    };
    Ok(json(StatusCode::OK, &out))
}

fn line(w: &mut ChanWriter, text: String) -> Result<(), ApiError> {
    w.message(&JsonMessage {
        stream: Some(text),
        ..JsonMessage::default()
    })
    .map_err(|e| ApiError::Internal(e.to_string()))
}

/// `POST /images/load`: the body is the archive; answers `{"stream":"Loaded image: …\n"}`.
pub async fn load(engine: &Arc<Engine>, body: impl Read + Send + 'static) -> Response<Body> {
    let engine = engine.clone();
    stream(StreamKind::Json, move |w| {
        let report = engine.load(BufReader::with_capacity(1 << 20, body))?;
        for l in report.lines() {
            line(w, format!("{l}\n"))?;
        }
        Ok(())
    })
    .await
}

/// `GET /images/{name}/get`, `GET /images/get?names=…`: one tar.
pub async fn save(engine: &Arc<Engine>, names: Vec<String>) -> Response<Body> {
    let engine = engine.clone();
    stream(StreamKind::Binary("application/x-tar"), move |w| {
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        engine.save(&refs, &mut *w)?;
        Ok(())
    })
    .await
}

/// A transfer event as Docker's JSON message (`latest: Pulling from x` becomes
/// `{"status":"Pulling from x","id":"latest"}`).
pub fn progress_message(e: ProgressEvent) -> JsonMessage {
    let (id, status) = match e.id {
        Some(id) => (Some(id), e.status),
        None => match e.status.split_once(": Pulling from ") {
            Some((tag, repo)) if !tag.contains(' ') => {
                (Some(tag.to_string()), format!("Pulling from {repo}"))
            }
            _ => (None, e.status),
        },
    };
    JsonMessage {
        status: Some(status),
        id,
        progress_detail: match (e.current, e.total) {
            (Some(current), Some(total)) => Some(ProgressDetail { current, total }),
            _ => None,
        },
        ..JsonMessage::default()
    }
}

fn emitter(w: &mut ChanWriter) -> impl Fn(ProgressEvent) + Sync + '_ {
    let w = Mutex::new(w);
    move |e| {
        let mut w = w.lock().unwrap_or_else(|p| p.into_inner());
        // A client that went away ends the stream; the transfer itself finishes.
        let _ = w.message(&progress_message(e));
    }
}

/// `POST /images/create`: `fromImage` pulls, `fromSrc=-` imports the body.
pub async fn create(
    engine: &Arc<Engine>,
    q: &Query,
    headers: &HeaderMap,
    body: impl Read + Send + 'static,
) -> Answer {
    let engine = engine.clone();
    let tag = q.get("tag").map(str::to_string);
    if let Some(from) = q.get("fromImage").filter(|f| !f.is_empty()) {
        // Docker clients send `tag=latest` for a plain pull; no tag on a tagless name is
        // `docker pull -a`.
        let all_tags = tag.as_deref().is_none_or(str::is_empty)
            && !from.contains('@')
            && !from
                .rsplit('/')
                .next()
                .is_some_and(|last| last.contains(':'));
        let req = PullRequest {
            from: from.to_string(),
            tag,
            platform: q.get("platform").map(str::to_string),
            all_tags,
            credential: registry_auth(headers),
        };
        return Ok(stream(StreamKind::Json, move |w| {
            let emit = emitter(w);
            engine.pull(&req, &emit)?;
            Ok(())
        })
        .await);
    }
    match q.get("fromSrc") {
        Some("-") => {}
        Some(_) => return Err(ApiError::NotImplemented(
            "importing from a URL is not supported yet; send the tar as the body with fromSrc=-"
                .into(),
        )),
        None => {
            return Err(ApiError::BadRequest(
                "fromImage or fromSrc is required".into(),
            ))
        }
    }
    let reference = q
        .get("repo")
        .filter(|r| !r.is_empty())
        .map(|r| match tag.as_deref() {
            Some(t) if !t.is_empty() => format!("{r}:{t}"),
            _ => r.to_string(),
        });
    let req = ImportRequest {
        reference,
        changes: q.all("changes").into_iter().map(str::to_string).collect(),
        message: q
            .get("message")
            .filter(|m| !m.is_empty())
            .map(str::to_string),
        created: crate::now(),
    };
    Ok(stream(StreamKind::Json, move |w| {
        let id = engine.import(BufReader::with_capacity(1 << 20, body), &req)?;
        w.message(&JsonMessage {
            status: Some(id.to_string()),
            ..JsonMessage::default()
        })
        .map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await)
}

/// `POST /images/{name}/push?tag=`.
pub async fn push(engine: &Arc<Engine>, name: String, q: &Query, headers: &HeaderMap) -> Answer {
    let engine = engine.clone();
    let tag = q.get("tag").map(str::to_string);
    let cred = registry_auth(headers);
    Ok(stream(StreamKind::Json, move |w| {
        let emit = emitter(w);
        engine.push(&name, tag.as_deref(), cred, &emit)?;
        Ok(())
    })
    .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_config_has_docker_zero_values_under_recorded_ones() {
        let zero = container_config(None);
        assert_eq!(zero["Hostname"], "");
        assert_eq!(zero["AttachStdout"], false);
        assert!(zero["Volumes"].is_null() && zero.get("Volumes").is_some());
        assert!(zero.get("ExposedPorts").is_none(), "omitempty in Docker");
        let rec = json!({"Hostname": "3b0b8f5d5c0e", "Cmd": ["/bin/sh", "-c", "#(nop) "]});
        let c = container_config(Some(&rec));
        assert_eq!(c["Hostname"], "3b0b8f5d5c0e");
        assert_eq!(c["Cmd"][0], "/bin/sh");
        assert_eq!(c["User"], "");
        assert!(c["Env"].is_null() && c.get("Env").is_some());
    }
}
