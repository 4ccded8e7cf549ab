//! The Docker Engine API as an adapter over [`berth_engine::Engine`].
//!
//! Why: the engine knows nothing of HTTP; this crate is the only place that knows Docker's
//! paths, query parameters, headers, status codes and JSON shapes (with `berth-api-types`).
//! It takes a `Request` and returns a `Response` ([`Api::handle`]); sockets, TLS and the
//! accept loop belong to the binary (`berthd`), so the router is tested without a socket.
//!
//! - Paths may carry a `/v1.NN` prefix (1.24 to 1.50 accepted; [`route::check_version`]).
//! - Every answer carries `Api-Version`, `Server`, `Docker-Experimental` and `Ostype`.
//! - Engine calls are blocking; they run on tokio's blocking pool (`spawn_blocking`).
//! - Failures become `{"message": …}` with the status of [`error::status_of`], the one
//!   mapping from `ErrorKind` to HTTP status.
//! - Image names in paths may contain slashes (`/images/127.0.0.1:5000/a/b:1/json`): the
//!   action is matched as a suffix, from the right.

#![warn(missing_docs)]

mod attach;
pub mod body;
mod build;
mod container_archive;
mod container_ops;
mod containers;
pub mod error;
mod events;
mod exec;
pub mod hijack;
mod images;
mod logs;
mod networks;
pub mod route;
mod system;
mod volumes;

use std::sync::Arc;

use berth_api_types::{AuthConfig, API_VERSION};
use berth_engine::{Credential, Engine};
use bytes::Bytes;
use http::{header::HeaderValue, HeaderMap, Method, Request, Response};
use http_body::Body as HttpBody;
use http_body_util::{BodyExt, Limited};

pub use body::Body;
pub use error::{status_of, ApiError};

use route::{check_version, percent_decode, split_version, Query};

/// The largest JSON request body accepted (`/auth`).
const MAX_JSON_BODY: usize = 1 << 20;

/// The router. Cheap to clone: share one per server.
#[derive(Debug, Clone)]
pub struct Api {
    engine: Arc<Engine>,
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Runs an engine call on the blocking pool.
pub(crate) async fn blocking<T, F>(engine: &Arc<Engine>, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Engine) -> Result<T, ApiError> + Send + 'static,
{
    let e = engine.clone();
    tokio::task::spawn_blocking(move || f(&e))
        .await
        .map_err(|e| ApiError::Internal(format!("engine task failed: {e}")))?
}

/// The credentials of `X-Registry-Auth` (base64url JSON); absent or unreadable is anonymous,
/// as Docker treats it.
pub(crate) fn registry_auth(headers: &HeaderMap) -> Option<Credential> {
    use base64::engine::{general_purpose, DecodePaddingMode, GeneralPurpose};
    use base64::{alphabet, Engine as _};
    let cfg = general_purpose::GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let raw = headers.get("x-registry-auth")?.to_str().ok()?.trim();
    let bytes = GeneralPurpose::new(&alphabet::URL_SAFE, cfg)
        .decode(raw)
        .or_else(|_| GeneralPurpose::new(&alphabet::STANDARD, cfg).decode(raw))
        .ok()?;
    let a: AuthConfig = serde_json::from_slice(&bytes).ok()?;
    (!a.username.is_empty()).then_some(Credential {
        username: a.username,
        password: a.password,
    })
}

impl Api {
    /// A router over `engine`.
    pub fn new(engine: Arc<Engine>) -> Api {
        Api { engine }
    }

    /// Answers one request. Never fails: errors become error responses.
    pub async fn handle<B>(&self, req: Request<B>) -> Response<Body>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let mut r = match self.route(req).await {
            Ok(r) => r,
            Err(e) => body::error_response(&e),
        };
        let h = r.headers_mut();
        h.insert("Api-Version", HeaderValue::from_static(API_VERSION));
        h.insert(
            "Server",
            HeaderValue::from_static(concat!("Berth/", env!("CARGO_PKG_VERSION"), " (linux)")),
        );
        h.insert("Docker-Experimental", HeaderValue::from_static("false"));
        h.insert("Ostype", HeaderValue::from_static("linux"));
        r
    }

    async fn route<B>(&self, req: Request<B>) -> Result<Response<Body>, ApiError>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let (mut parts, body) = req.into_parts();
        let (version, path) = split_version(parts.uri.path());
        if let Some(v) = version {
            check_version(v)?;
        }
        let path = percent_decode(path, false);
        let q = Query::parse(parts.uri.query());
        let e = &self.engine;
        let m = &parts.method;
        match (m, path.as_str()) {
            (&Method::GET, "/_ping") => return Ok(system::ping(false)),
            (&Method::HEAD, "/_ping") => return Ok(system::ping(true)),
            (&Method::GET, "/version") => return system::version(e).await,
            (&Method::GET, "/info") => return system::info(e).await,
            (&Method::GET, "/system/df") => return system::df(e).await,
            (&Method::GET, "/events") => return events::events(e, &q).await,
            (&Method::POST, "/auth") => {
                let bytes = read_json(body).await?;
                return system::auth(e, bytes).await;
            }
            (&Method::GET, "/images/json") => return images::list(e, &q).await,
            (&Method::GET, "/volumes") => return volumes::list(e, &q).await,
            (&Method::POST, "/volumes/create") => {
                return volumes::create(e, read_json(body).await?).await
            }
            (&Method::POST, "/volumes/prune") => return volumes::prune(e, &q).await,
            (&Method::POST, "/containers/create") => {
                let bytes = read_json(body).await?;
                return containers::create(e, &q, bytes).await;
            }
            (&Method::GET, "/containers/json") => return container_ops::list(e, &q).await,
            (&Method::POST, "/containers/prune") => return container_ops::prune(e, &q).await,
            (&Method::POST, "/images/create") => {
                return images::create(e, &q, &parts.headers, body::reader(body)).await
            }
            (&Method::POST, "/images/load") => return Ok(images::load(e, body::reader(body)).await),
            (&Method::POST, "/build") => return build::build(e, &q, body::reader(body)).await,
            (&Method::POST, "/images/prune") => return images::prune(e, &q).await,
            (&Method::POST, "/commit") => {
                return container_archive::commit(e, &q, read_json(body).await?).await
            }
            (&Method::GET, "/networks") => return networks::list(e, &q).await,
            (&Method::POST, "/networks/create") => {
                return networks::create(e, read_json(body).await?).await
            }
            (&Method::POST, "/networks/prune") => return networks::prune(e, &q).await,
            (&Method::POST, "/build/prune") => return build::prune(e).await,
            (&Method::POST, "/build/blobs/missing") => {
                return build::missing_blobs(e, read_json(body).await?).await
            }
            (&Method::GET, "/images/get") => {
                let names = q.all("names").into_iter().map(str::to_string).collect();
                return Ok(images::save(e, names).await);
            }
            _ => {}
        }
        // Exec and attach: JSON bodies and hijacked connections (the upgrade is taken from
        // the request's extensions).
        if let Some((id, action)) = path
            .strip_prefix("/containers/")
            .and_then(|r| r.split_once('/'))
        {
            match (m, action) {
                (&Method::POST, "resize") => {
                    let (rows, cols) = q.terminal_size()?;
                    let id = id.to_string();
                    blocking(e, move |e| Ok(e.resize_container(&id, rows, cols)?)).await?;
                    return Ok(Response::new(body::full(Bytes::new())));
                }
                (&Method::POST, "attach") => {
                    let up = parts.extensions.remove();
                    return attach::attach(e, id.to_string(), &q, &parts.headers, up).await;
                }
                (&Method::POST, "exec") => {
                    return exec::create(e, id.to_string(), read_json(body).await?).await
                }
                (&Method::PUT, "archive") => {
                    return container_archive::put(e, id.to_string(), &q, body::reader(body)).await
                }
                (&Method::POST, "update") => {
                    return container_ops::update(e, id.to_string(), read_json(body).await?).await
                }
                _ => {}
            }
        }
        if let Some(rest) = path.strip_prefix("/exec/") {
            let (id, action) = rest.split_once('/').unwrap_or((rest, ""));
            let id = id.to_string();
            return match (m, action) {
                (&Method::POST, "start") => {
                    let up = parts.extensions.remove();
                    let bytes = read_json(body).await?;
                    exec::start(e, id, &parts.headers, up, bytes).await
                }
                (&Method::GET, "json") => exec::inspect(e, id).await,
                (&Method::POST, "resize") => exec::resize(e, id, &q).await,
                _ => Err(ApiError::NoRoute),
            };
        }
        if let Some(rest) = path.strip_prefix("/containers/") {
            return container_route(e, m, rest, &q).await;
        }
        if let Some(name) = path.strip_prefix("/volumes/") {
            return volumes::route(e, m, name, &q).await;
        }
        if let Some(rest) = path.strip_prefix("/networks/") {
            let bytes = if m == Method::POST {
                read_json(body).await?
            } else {
                Bytes::new()
            };
            return networks::route(e, m, rest, &q, bytes).await;
        }
        let Some(rest) = path.strip_prefix("/images/").filter(|r| !r.is_empty()) else {
            return Err(ApiError::NoRoute);
        };
        let action = |suffix: &str| {
            rest.strip_suffix(suffix)
                .filter(|n| !n.is_empty())
                .map(str::to_string)
        };
        match *m {
            Method::DELETE => images::remove(e, rest.to_string(), &q).await,
            Method::GET => {
                if let Some(n) = action("/json") {
                    images::inspect(e, n).await
                } else if let Some(n) = action("/history") {
                    images::history(e, n).await
                } else if let Some(n) = action("/get") {
                    Ok(images::save(e, vec![n]).await)
                } else {
                    Err(ApiError::NoRoute)
                }
            }
            Method::POST => {
                if let Some(n) = action("/tag") {
                    images::tag(e, n, &q).await
                } else if let Some(n) = action("/push") {
                    images::push(e, n, &q, &parts.headers).await
                } else {
                    Err(ApiError::NoRoute)
                }
            }
            _ => Err(ApiError::NoRoute),
        }
    }
}

/// A JSON request body, at most [`MAX_JSON_BODY`] bytes.
async fn read_json<B>(body: B) -> Result<Bytes, ApiError>
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    Ok(Limited::new(body, MAX_JSON_BODY)
        .collect()
        .await
        .map_err(|err| ApiError::BadRequest(format!("reading the body: {err}")))?
        .to_bytes())
}

/// `/containers/{id}[/{action}]`: container ids and names hold no `/`.
async fn container_route(
    e: &Arc<Engine>,
    m: &Method,
    rest: &str,
    q: &Query,
) -> Result<Response<Body>, ApiError> {
    let (id, action) = rest.split_once('/').unwrap_or((rest, ""));
    if id.is_empty() {
        return Err(ApiError::NoRoute);
    }
    let id = id.to_string();
    match (m, action) {
        (&Method::DELETE, "") => containers::remove(e, id, q).await,
        (&Method::GET, "json") => containers::inspect(e, id).await,
        (&Method::GET, "logs") => logs::logs(e, id, q).await,
        (&Method::POST, "start") => containers::start(e, id).await,
        (&Method::POST, "stop") => containers::stop(e, id, q).await,
        (&Method::POST, "kill") => containers::kill(e, id, q).await,
        (&Method::POST, "wait") => containers::wait(e, id, q).await,
        (&Method::POST, "pause") => container_ops::pause(e, id).await,
        (&Method::POST, "unpause") => container_ops::unpause(e, id).await,
        (&Method::POST, "rename") => container_ops::rename(e, id, q).await,
        (&Method::POST, "restart") => container_ops::restart(e, id, q).await,
        (&Method::GET, "top") => container_ops::top(e, id, q).await,
        (&Method::GET, "stats") => container_ops::stats(e, id, q).await,
        (&Method::HEAD, "archive") => container_archive::head(e, id, q).await,
        (&Method::GET, "archive") => container_archive::get(e, id, q).await,
        (&Method::GET, "export") => container_archive::export(e, id).await,
        (&Method::GET, "changes") => container_archive::changes(e, id).await,
        _ => Err(ApiError::NoRoute),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-registry-auth", HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn registry_auth_header() {
        let json = r#"{"username":"alice","password":"s3cret?>","serveraddress":"r:5000"}"#;
        for engine in [
            base64::engine::general_purpose::URL_SAFE,
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
            base64::engine::general_purpose::STANDARD,
        ] {
            let c = registry_auth(&headers(&engine.encode(json))).unwrap();
            assert_eq!(
                (c.username.as_str(), c.password.as_str()),
                ("alice", "s3cret?>")
            );
        }
        let empty = base64::engine::general_purpose::URL_SAFE.encode("{}");
        assert!(registry_auth(&headers(&empty)).is_none());
        assert!(registry_auth(&headers("not base64!")).is_none());
        assert!(registry_auth(&HeaderMap::new()).is_none());
    }
}
