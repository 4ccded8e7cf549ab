//! Sending requests: the request description, retries with backoff (`Retry-After`),
//! re-authentication on 401, error mapping of unwanted statuses, and URL/header helpers.

use std::io::Read;
use std::time::Duration;

use ureq::OrAnyStatus;

use super::endpoint::Endpoint;
use super::{lock, RegistryClient};
use crate::auth::{encode_component, parse_challenge, Challenge};
use crate::error::{render_detail, RegistryError, Result};

pub(super) const ATTEMPTS: u32 = 3;
pub(super) const BACKOFF_START: Duration = Duration::from_millis(200);
pub(super) const RETRY_AFTER_CAP: Duration = Duration::from_secs(10);

pub(super) enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
    Reader(&'a mut dyn Read, u64),
}

/// One request, described before it is sent (possibly several times).
pub(super) struct Req<'a> {
    pub(super) method: &'static str,
    pub(super) url: String,
    pub(super) headers: Vec<(&'static str, String)>,
    pub(super) body: Body<'a>,
    pub(super) scopes: Vec<String>,
    pub(super) idempotent: bool,
}

impl<'a> Req<'a> {
    /// A body-less, idempotent request that needs pull access to repository `repo` (GET and
    /// HEAD of manifests, blobs and tags).
    pub(super) fn read(
        method: &'static str,
        url: String,
        headers: Vec<(&'static str, String)>,
        repo: &str,
    ) -> Req<'a> {
        Req {
            method,
            url,
            headers,
            body: Body::Empty,
            scopes: vec![super::pull_scope(repo)],
            idempotent: true,
        }
    }
}

/// How to name things in errors.
pub(super) struct Ctx {
    pub(super) name: String,
    pub(super) what: String,
    pub(super) action: &'static str,
}

impl Ctx {
    /// Errors of a read of repository `name`, about `what`.
    pub(super) fn pull(name: String, what: String) -> Ctx {
        Ctx {
            name,
            what,
            action: "pull",
        }
    }
}

/// `location` (absolute, or absolute-path) against `base`, plus a query parameter.
pub(super) fn join_url(base: &str, location: &str, query: Option<(&str, &str)>) -> String {
    let mut url = if location.starts_with("http://") || location.starts_with("https://") {
        location.to_owned()
    } else if location.starts_with('/') {
        format!("{base}{location}")
    } else {
        format!("{base}/{location}")
    };
    if let Some((k, v)) = query {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(k);
        url.push('=');
        url.push_str(&encode_component(v));
    }
    url
}

pub(super) fn header_u64(resp: &ureq::Response, name: &str) -> Option<u64> {
    resp.header(name).and_then(|v| v.trim().parse().ok())
}

pub(super) fn retry_after(resp: &ureq::Response) -> Option<Duration> {
    let secs: u64 = resp.header("Retry-After")?.trim().parse().ok()?;
    Some(Duration::from_secs(secs).min(RETRY_AFTER_CAP))
}

pub(super) fn backoff(attempt: u32) -> Duration {
    BACKOFF_START * 2u32.pow(attempt)
}

/// `application/json; charset=utf-8` → `application/json`.
pub(super) fn bare_media_type(v: &str) -> String {
    v.split(';').next().unwrap_or("").trim().to_owned()
}

impl RegistryClient {
    /// Sends `req`, authenticating as the endpoint's challenge says and retrying idempotent
    /// requests with replayable bodies on connection errors, 5xx and 429. Returns the response
    /// whatever its status; only transport failures are errors.
    pub(super) fn send(
        &self,
        ep: &Endpoint,
        mut req: Req<'_>,
        ctx: &Ctx,
    ) -> Result<ureq::Response> {
        let replayable = !matches!(req.body, Body::Reader(..));
        let retry = req.idempotent && replayable;
        let mut attempt = 0;
        let mut reauthed = false;
        loop {
            let auth = self.authorization(ep, &req.scopes, &ctx.name)?;
            let mut r = ep.agent.request(req.method, &req.url);
            for (k, v) in &req.headers {
                r = r.set(k, v);
            }
            if let Some(a) = &auth {
                r = r.set("Authorization", a);
            }
            let result = match &mut req.body {
                Body::Empty => r.call(),
                Body::Bytes(b) => r.send_bytes(b),
                Body::Reader(rd, len) => r.set("Content-Length", &len.to_string()).send(&mut **rd),
            };
            match result.or_any_status() {
                Err(e) => {
                    if retry && attempt + 1 < ATTEMPTS {
                        std::thread::sleep(backoff(attempt));
                        attempt += 1;
                        continue;
                    }
                    return Err(RegistryError::Connect {
                        registry: ep.registry.clone(),
                        url: req.url.clone(),
                        reason: e.to_string(),
                    });
                }
                Ok(resp) => {
                    let status = resp.status();
                    if status == 401 && replayable && !reauthed {
                        // A token may have expired early, or the registry may ask for auth
                        // only on this repository: learn the challenge, drop cached tokens,
                        // try once more.
                        let fresh = resp
                            .all("WWW-Authenticate")
                            .iter()
                            .find_map(|h| parse_challenge(h));
                        let mut current = lock(&ep.challenge);
                        let changed = fresh.is_some() && *current != fresh;
                        let bearer = matches!(*current, Some(Challenge::Bearer { .. }));
                        if changed {
                            *current = fresh;
                        }
                        drop(current);
                        if changed || bearer {
                            lock(&self.tokens).retain(|(base, _), _| base != &ep.base);
                            reauthed = true;
                            continue;
                        }
                    }
                    if (status == 429 || status >= 500) && retry && attempt + 1 < ATTEMPTS {
                        let wait = match status {
                            429 => retry_after(&resp).unwrap_or_else(|| backoff(attempt)),
                            _ => backoff(attempt),
                        };
                        std::thread::sleep(wait);
                        attempt += 1;
                        continue;
                    }
                    return Ok(resp);
                }
            }
        }
    }

    /// The error for a response with an unwanted status.
    pub(super) fn fail(
        &self,
        ep: &Endpoint,
        method: &str,
        url: &str,
        resp: ureq::Response,
        ctx: &Ctx,
    ) -> RegistryError {
        let status = resp.status();
        let detail = read_detail(resp);
        let registry = ep.registry.clone();
        match status {
            401 => RegistryError::Unauthorized {
                registry,
                name: ctx.name.clone(),
                detail,
            },
            403 => RegistryError::Denied {
                action: ctx.action,
                name: ctx.name.clone(),
                detail,
            },
            404 => RegistryError::NotFound {
                what: ctx.what.clone(),
                detail,
            },
            429 => RegistryError::TooManyRequests { registry, detail },
            500..=599 => RegistryError::Server {
                registry,
                status,
                method: method.to_owned(),
                url: url.to_owned(),
                detail,
            },
            _ => RegistryError::UnexpectedStatus {
                registry,
                status,
                method: method.to_owned(),
                url: url.to_owned(),
                detail,
            },
        }
    }
}

/// `http://host:port/path?q` → (`host:port`, rest).
pub(super) fn split_url(url: &str) -> (&str, &str) {
    let after = url.split_once("://").map_or(url, |(_, r)| r);
    match after.find('/') {
        Some(i) => (&after[..i], &after[i..]),
        None => (after, ""),
    }
}

pub(super) fn read_detail(resp: ureq::Response) -> String {
    let mut body = Vec::new();
    let _ = resp.into_reader().take(64 << 10).read_to_end(&mut body);
    render_detail(&body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            join_url(
                "http://h:1",
                "/v2/a/blobs/uploads/u?_state=x",
                Some(("digest", "sha256:ab"))
            ),
            "http://h:1/v2/a/blobs/uploads/u?_state=x&digest=sha256%3Aab"
        );
        assert_eq!(join_url("http://h:1", "https://s/x", None), "https://s/x");
        assert_eq!(
            split_url("http://127.0.0.1:9/token?x"),
            ("127.0.0.1:9", "/token?x")
        );
        assert_eq!(
            bare_media_type("application/json; charset=utf-8"),
            "application/json"
        );
    }
}
