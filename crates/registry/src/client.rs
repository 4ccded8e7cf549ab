//! [`RegistryClient`]: endpoints, authentication, retries, and the distribution API calls.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use berth_image::model::media_type;
use berth_image::{Digest, Hasher, Reference};
use ureq::OrAnyStatus;

use crate::auth::{encode_component, parse_challenge, Challenge, TokenResponse};
use crate::blob::{parse_content_range, BlobStream, ExactReader};
use crate::credentials::{self, Auths, Credential};
use crate::error::{render_detail, RegistryError, Result};
use crate::tls;

/// The largest manifest accepted (Docker's limit is 4 MiB).
pub const MAX_MANIFEST_SIZE: u64 = 4 << 20;

/// The manifest types asked for when the caller gives none: indexes first, so a pull can
/// choose its platform.
pub const DEFAULT_ACCEPT: &[&str] = &[
    media_type::OCI_INDEX,
    media_type::DOCKER_MANIFEST_LIST,
    media_type::OCI_MANIFEST,
    media_type::DOCKER_MANIFEST,
];

const ATTEMPTS: u32 = 3;
const BACKOFF_START: Duration = Duration::from_millis(200);
const RETRY_AFTER_CAP: Duration = Duration::from_secs(10);
const DOCKER_HUB_HOST: &str = "registry-1.docker.io";
const DOCKER_HUB: &str = "docker.io";

/// How the client reaches registries. Every path is a parameter (nothing is read from the
/// environment).
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// A Docker `config.json` whose `auths` hold credentials; `None` for anonymous access.
    pub auth_file: Option<PathBuf>,
    /// Registries reachable without verified TLS: `host[:port]` or CIDRs (`10.0.0.0/8`).
    /// Loopback is always included.
    pub insecure_registries: Vec<String>,
    /// Mirrors tried, in order, before Docker Hub for pulls (`https://mirror.example`).
    pub mirrors: Vec<String>,
    /// Per-registry extra CAs: `<certs_dir>/<host[:port]>/*.crt`.
    pub certs_dir: PathBuf,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Timeout of each read or write on a connection (not of a whole blob).
    pub io_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            auth_file: None,
            insecure_registries: Vec::new(),
            mirrors: Vec::new(),
            certs_dir: PathBuf::from("/etc/docker/certs.d"),
            user_agent: concat!("berth/", env!("CARGO_PKG_VERSION")).to_owned(),
            connect_timeout: Duration::from_secs(30),
            io_timeout: Duration::from_secs(60),
        }
    }
}

/// A synchronous OCI distribution client. `Send + Sync`: share one behind an `Arc` between
/// the worker threads of a pull; connections, endpoints and bearer tokens are cached inside.
pub struct RegistryClient {
    config: ClientConfig,
    provider: Arc<rustls::crypto::CryptoProvider>,
    roots: rustls::RootCertStore,
    auths: Mutex<Auths>,
    /// Agents by (host, unverified TLS).
    agents: Mutex<HashMap<(String, bool), ureq::Agent>>,
    /// Pinged endpoints by `scheme-hint + host`.
    endpoints: Mutex<HashMap<String, Arc<Endpoint>>>,
    /// Bearer tokens by (endpoint base URL, scopes).
    tokens: Mutex<HashMap<(String, String), (String, Instant)>>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A registry (or mirror) host whose scheme and challenge are known.
#[derive(Debug)]
struct Endpoint {
    /// The name used for credentials and messages: `docker.io`, `host[:port]`.
    registry: String,
    /// `https://host[:port]` or `http://host[:port]`.
    base: String,
    agent: ureq::Agent,
    challenge: Mutex<Option<Challenge>>,
}

/// Where one endpoint of a reference lives.
#[derive(Debug, Clone)]
struct Target {
    registry: String,
    host: String,
    scheme: Option<String>,
    mirror: bool,
}

enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
    Reader(&'a mut dyn Read, u64),
}

/// One request, described before it is sent (possibly several times).
struct Req<'a> {
    method: &'static str,
    url: String,
    headers: Vec<(&'static str, String)>,
    body: Body<'a>,
    scopes: Vec<String>,
    idempotent: bool,
}

/// How to name things in errors.
struct Ctx {
    name: String,
    what: String,
    action: &'static str,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn pull_scope(path: &str) -> String {
    format!("repository:{path}:pull")
}

fn push_scope(path: &str) -> String {
    format!("repository:{path}:pull,push")
}

/// `location` (absolute, or absolute-path) against `base`, plus a query parameter.
fn join_url(base: &str, location: &str, query: Option<(&str, &str)>) -> String {
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

fn header_u64(resp: &ureq::Response, name: &str) -> Option<u64> {
    resp.header(name).and_then(|v| v.trim().parse().ok())
}

fn retry_after(resp: &ureq::Response) -> Option<Duration> {
    let secs: u64 = resp.header("Retry-After")?.trim().parse().ok()?;
    Some(Duration::from_secs(secs).min(RETRY_AFTER_CAP))
}

fn backoff(attempt: u32) -> Duration {
    BACKOFF_START * 2u32.pow(attempt)
}

/// `application/json; charset=utf-8` → `application/json`.
fn bare_media_type(v: &str) -> String {
    v.split(';').next().unwrap_or("").trim().to_owned()
}

impl RegistryClient {
    /// A client; reads `auth_file` (a missing file is no credentials) and the system roots.
    pub fn new(config: ClientConfig) -> Result<Self> {
        let auths = match &config.auth_file {
            Some(p) => credentials::load(p)?,
            None => Auths::default(),
        };
        Ok(Self {
            provider: tls::provider(),
            roots: tls::system_roots(),
            auths: Mutex::new(auths),
            agents: Mutex::new(HashMap::new()),
            endpoints: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Re-reads the auth file (after `berth login` stored new credentials).
    pub fn reload_credentials(&self) -> Result<()> {
        let auths = match &self.config.auth_file {
            Some(p) => credentials::load(p)?,
            None => Auths::default(),
        };
        *lock(&self.auths) = auths;
        lock(&self.tokens).clear();
        Ok(())
    }

    /// Uses `credential` for `registry` from now on (`None`: anonymous), e.g. the credentials
    /// a Docker client sent in `X-Registry-Auth`. Cached tokens are dropped.
    pub fn set_credential(&self, registry: &str, credential: Option<Credential>) {
        let mut auths = lock(&self.auths);
        let mut next = Auths::default();
        for key in auths.registries().map(str::to_owned).collect::<Vec<_>>() {
            if credentials::registry_key(&key) != credentials::registry_key(registry) {
                if let Some(c) = auths.get(&key) {
                    next.insert(&key, c.clone());
                }
            }
        }
        if let Some(c) = credential {
            next.insert(registry, c);
        }
        *auths = next;
        drop(auths);
        lock(&self.tokens).clear();
    }

    fn credential(&self, registry: &str) -> Option<Credential> {
        lock(&self.auths).get(registry).cloned()
    }

    // ----- endpoints -------------------------------------------------------------------------

    fn targets(&self, domain: &str, push: bool) -> Vec<Target> {
        if domain != DOCKER_HUB {
            return vec![Target {
                registry: domain.to_owned(),
                host: domain.to_owned(),
                scheme: None,
                mirror: false,
            }];
        }
        let mut out = Vec::new();
        if !push {
            for m in &self.config.mirrors {
                let m = m.trim().trim_end_matches('/');
                let (scheme, host) = match m.split_once("://") {
                    Some((s, h)) => (Some(s.to_ascii_lowercase()), h),
                    None => (None, m),
                };
                let host = host.split('/').next().unwrap_or(host);
                if !host.is_empty() {
                    out.push(Target {
                        registry: host.to_owned(),
                        host: host.to_owned(),
                        scheme,
                        mirror: true,
                    });
                }
            }
        }
        out.push(Target {
            registry: DOCKER_HUB.to_owned(),
            host: DOCKER_HUB_HOST.to_owned(),
            scheme: None,
            mirror: false,
        });
        out
    }

    fn agent(&self, host: &str, unverified: bool) -> Result<ureq::Agent> {
        let key = (host.to_owned(), unverified);
        if let Some(a) = lock(&self.agents).get(&key) {
            return Ok(a.clone());
        }
        let tls = if unverified {
            tls::unverified_config(&self.provider)?
        } else {
            tls::verified_config(&self.provider, &self.roots, &self.config.certs_dir, host)?
        };
        let agent = ureq::AgentBuilder::new()
            .tls_config(tls)
            .user_agent(&self.config.user_agent)
            .timeout_connect(self.config.connect_timeout)
            .timeout_read(self.config.io_timeout)
            .timeout_write(self.config.io_timeout)
            .redirects(10)
            .redirect_auth_headers(ureq::RedirectAuthHeaders::SameHost)
            .try_proxy_from_env(false)
            .build();
        lock(&self.agents).insert(key, agent.clone());
        Ok(agent)
    }

    /// Pings `/v2/` to learn the scheme (HTTPS, or HTTP for an insecure registry that does
    /// not speak TLS) and the auth challenge; cached.
    fn endpoint(&self, target: &Target) -> Result<Arc<Endpoint>> {
        let key = format!("{}|{}", target.scheme.as_deref().unwrap_or(""), target.host);
        if let Some(e) = lock(&self.endpoints).get(&key) {
            return Ok(e.clone());
        }
        let insecure = tls::is_insecure(&target.host, &self.config.insecure_registries);
        let schemes: Vec<&str> = match target.scheme.as_deref() {
            Some(s) => vec![s],
            None if insecure => vec!["https", "http"],
            None => vec!["https"],
        };
        let mut last_err = None;
        for (i, scheme) in schemes.iter().enumerate() {
            let last = i + 1 == schemes.len();
            let agent = self.agent(&target.host, *scheme == "https" && insecure)?;
            let base = format!("{scheme}://{}", target.host);
            let url = format!("{base}/v2/");
            let mut attempt = 0;
            let resp = loop {
                match agent.get(&url).call().or_any_status() {
                    Ok(r) => break Some(r),
                    Err(e) => {
                        // Falling back to the next scheme is the retry for all but the last.
                        if last && attempt + 1 < ATTEMPTS {
                            std::thread::sleep(backoff(attempt));
                            attempt += 1;
                            continue;
                        }
                        last_err = Some(RegistryError::Connect {
                            registry: target.registry.clone(),
                            url: url.clone(),
                            reason: e.to_string(),
                        });
                        break None;
                    }
                }
            };
            let Some(resp) = resp else { continue };
            let status = resp.status();
            if !last && !(200..300).contains(&status) && status != 401 {
                // Not a registry on this scheme (e.g. a TLS-only port answering plain HTTP
                // with 400): try the next one.
                last_err = Some(RegistryError::UnexpectedStatus {
                    registry: target.registry.clone(),
                    status,
                    method: "GET".into(),
                    url: url.clone(),
                    detail: read_detail(resp),
                });
                continue;
            }
            if status >= 500 {
                let detail = read_detail(resp);
                return Err(RegistryError::Server {
                    registry: target.registry.clone(),
                    status,
                    method: "GET".into(),
                    url,
                    detail,
                });
            }
            let challenge = if status == 401 {
                resp.all("WWW-Authenticate")
                    .iter()
                    .find_map(|h| parse_challenge(h))
                    .or(Some(Challenge::Basic))
            } else {
                None
            };
            let ep = Arc::new(Endpoint {
                registry: target.registry.clone(),
                base,
                agent,
                challenge: Mutex::new(challenge),
            });
            lock(&self.endpoints).insert(key, ep.clone());
            return Ok(ep);
        }
        Err(last_err.unwrap_or_else(|| RegistryError::Connect {
            registry: target.registry.clone(),
            url: target.host.clone(),
            reason: "no scheme to try".into(),
        }))
    }

    /// Runs `op` against each endpoint of `domain` (mirrors first for Docker Hub pulls) until
    /// one succeeds; the error of the last (the registry itself) is returned.
    fn on_endpoints<T>(
        &self,
        domain: &str,
        push: bool,
        mut op: impl FnMut(&Endpoint) -> Result<T>,
    ) -> Result<T> {
        let mut last = None;
        for target in self.targets(domain, push) {
            let result = self.endpoint(&target).and_then(|ep| op(&ep));
            match result {
                Ok(v) => return Ok(v),
                Err(e) if target.mirror => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            RegistryError::InvalidArgument(format!("no endpoint for registry {domain}"))
        }))
    }

    // ----- auth ------------------------------------------------------------------------------

    fn authorization(
        &self,
        ep: &Endpoint,
        scopes: &[String],
        name: &str,
    ) -> Result<Option<String>> {
        let challenge = lock(&ep.challenge).clone();
        match challenge {
            None => Ok(None),
            Some(Challenge::Basic) => Ok(self.credential(&ep.registry).map(|c| c.basic_header())),
            Some(Challenge::Bearer { realm, service }) => {
                let key = (ep.base.clone(), scopes.join(" "));
                if let Some((token, until)) = lock(&self.tokens).get(&key) {
                    if Instant::now() < *until {
                        return Ok(Some(format!("Bearer {token}")));
                    }
                }
                let cred = self.credential(&ep.registry);
                let resp = self.fetch_token(
                    ep,
                    &realm,
                    service.as_deref(),
                    scopes,
                    cred.as_ref(),
                    name,
                    false,
                )?;
                let token = resp
                    .token()
                    .ok_or_else(|| RegistryError::BadResponse {
                        registry: ep.registry.clone(),
                        reason: format!("the token service {realm} answered without a token"),
                    })?
                    .to_owned();
                lock(&self.tokens).insert(key, (token.clone(), Instant::now() + resp.lifetime()));
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    #[allow(clippy::too_many_arguments)] // one call site per flow; a struct would only rename them
    fn fetch_token(
        &self,
        ep: &Endpoint,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
        cred: Option<&Credential>,
        name: &str,
        login: bool,
    ) -> Result<TokenResponse> {
        let mut url = realm.to_owned();
        let mut sep = if url.contains('?') { '&' } else { '?' };
        let mut add = |k: &str, v: &str| {
            url.push(sep);
            sep = '&';
            url.push_str(k);
            url.push('=');
            url.push_str(&encode_component(v));
        };
        if let Some(s) = service {
            add("service", s);
        }
        for s in scopes {
            add("scope", s);
        }
        if let Some(c) = cred {
            add("account", &c.username);
        }
        let (scheme_host, _) = split_url(&url);
        let agent = self.agent(scheme_host, false)?;
        let mut attempt = 0;
        loop {
            let mut req = agent.get(&url);
            if let Some(c) = cred {
                req = req.set("Authorization", &c.basic_header());
            }
            let resp = match req.call().or_any_status() {
                Ok(r) => r,
                Err(_) if attempt + 1 < ATTEMPTS => {
                    std::thread::sleep(backoff(attempt));
                    attempt += 1;
                    continue;
                }
                Err(e) => {
                    return Err(RegistryError::Connect {
                        registry: ep.registry.clone(),
                        url: realm.to_owned(),
                        reason: format!("token service: {e}"),
                    })
                }
            };
            let status = resp.status();
            if (status == 429 || status >= 500) && attempt + 1 < ATTEMPTS {
                std::thread::sleep(retry_after(&resp).unwrap_or_else(|| backoff(attempt)));
                attempt += 1;
                continue;
            }
            return match status {
                200..=299 => {
                    let mut body = Vec::new();
                    resp.into_reader()
                        .take(1 << 20)
                        .read_to_end(&mut body)
                        .map_err(|e| RegistryError::Io {
                            what: format!("reading the token from {realm}"),
                            source: e,
                        })?;
                    serde_json::from_slice(&body).map_err(|e| RegistryError::BadResponse {
                        registry: ep.registry.clone(),
                        reason: format!("the token service {realm} sent invalid JSON: {e}"),
                    })
                }
                401 | 403 if login => Err(RegistryError::LoginFailed {
                    registry: ep.registry.clone(),
                    detail: read_detail(resp),
                }),
                401 | 403 => Err(RegistryError::Unauthorized {
                    registry: ep.registry.clone(),
                    name: name.to_owned(),
                    detail: read_detail(resp),
                }),
                429 => Err(RegistryError::TooManyRequests {
                    registry: ep.registry.clone(),
                    detail: read_detail(resp),
                }),
                _ => Err(RegistryError::UnexpectedStatus {
                    registry: ep.registry.clone(),
                    status,
                    method: "GET".into(),
                    url: realm.to_owned(),
                    detail: read_detail(resp),
                }),
            };
        }
    }

    /// Checks `username`/`password` against `registry` (`host[:port]` or `docker.io`) the way
    /// `docker login` does — Basic against `/v2/`, or a token request without scope — and
    /// stores nothing.
    pub fn login(&self, registry: &str, username: &str, password: &str) -> Result<()> {
        let registry = match registry.trim_end_matches('/') {
            "index.docker.io" | "https://index.docker.io/v1" | "registry-1.docker.io" => DOCKER_HUB,
            r => r
                .strip_prefix("https://")
                .or(r.strip_prefix("http://"))
                .unwrap_or(r),
        };
        let target = self
            .targets(registry, true)
            .pop()
            .expect("targets always ends with the registry itself");
        let ep = self.endpoint(&target)?;
        let cred = Credential {
            username: username.to_owned(),
            password: password.to_owned(),
        };
        let challenge = lock(&ep.challenge).clone();
        let auth = match challenge {
            None => return Ok(()),
            Some(Challenge::Basic) => cred.basic_header(),
            Some(Challenge::Bearer { realm, service }) => {
                let t = self.fetch_token(
                    &ep,
                    &realm,
                    service.as_deref(),
                    &[],
                    Some(&cred),
                    registry,
                    true,
                )?;
                let token = t.token().ok_or_else(|| RegistryError::BadResponse {
                    registry: ep.registry.clone(),
                    reason: format!("the token service {realm} answered without a token"),
                })?;
                format!("Bearer {token}")
            }
        };
        let url = format!("{}/v2/", ep.base);
        let resp = ep
            .agent
            .get(&url)
            .set("Authorization", &auth)
            .call()
            .or_any_status()
            .map_err(|e| RegistryError::Connect {
                registry: ep.registry.clone(),
                url: url.clone(),
                reason: e.to_string(),
            })?;
        match resp.status() {
            200..=299 => Ok(()),
            401 | 403 => Err(RegistryError::LoginFailed {
                registry: ep.registry.clone(),
                detail: read_detail(resp),
            }),
            status => Err(RegistryError::UnexpectedStatus {
                registry: ep.registry.clone(),
                status,
                method: "GET".into(),
                url,
                detail: read_detail(resp),
            }),
        }
    }

    // ----- sending ---------------------------------------------------------------------------

    /// Sends `req`, authenticating as the endpoint's challenge says and retrying idempotent
    /// requests with replayable bodies on connection errors, 5xx and 429. Returns the response
    /// whatever its status; only transport failures are errors.
    fn send(&self, ep: &Endpoint, mut req: Req<'_>, ctx: &Ctx) -> Result<ureq::Response> {
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
    fn fail(
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

    // ----- manifests -------------------------------------------------------------------------

    /// Fetches a manifest by digest (if the reference has one) or tag. Returns the bytes, the
    /// media type (`Content-Type`, else the manifest's `mediaType`) and the digest of the
    /// bytes, which is checked against the reference's digest when it has one. `accept` empty
    /// means [`DEFAULT_ACCEPT`].
    pub fn get_manifest(
        &self,
        r: &Reference,
        accept: &[&str],
    ) -> Result<(Vec<u8>, String, Digest)> {
        let reference = manifest_ref(r)?;
        let accept = if accept.is_empty() {
            DEFAULT_ACCEPT
        } else {
            accept
        };
        let ctx = Ctx {
            name: r.name(),
            what: format!("manifest for {}", r.familiar()),
            action: "pull",
        };
        self.on_endpoints(r.domain(), false, |ep| {
            let url = format!("{}/v2/{}/manifests/{}", ep.base, r.path(), reference);
            let req = Req {
                method: "GET",
                url: url.clone(),
                headers: vec![("Accept", accept.join(", "))],
                body: Body::Empty,
                scopes: vec![pull_scope(r.path())],
                idempotent: true,
            };
            let resp = self.send(ep, req, &ctx)?;
            if resp.status() != 200 {
                return Err(self.fail(ep, "GET", &url, resp, &ctx));
            }
            let header_type = resp
                .header("Content-Type")
                .map(bare_media_type)
                .unwrap_or_default();
            let mut body = Vec::new();
            resp.into_reader()
                .take(MAX_MANIFEST_SIZE + 1)
                .read_to_end(&mut body)
                .map_err(|e| RegistryError::Io {
                    what: format!("reading the {} from {}", ctx.what, ep.registry),
                    source: e,
                })?;
            if body.len() as u64 > MAX_MANIFEST_SIZE {
                return Err(RegistryError::BadResponse {
                    registry: ep.registry.clone(),
                    reason: format!("the {} is larger than {MAX_MANIFEST_SIZE} bytes", ctx.what),
                });
            }
            let digest = match r.digest() {
                Some(expected) => {
                    let mut h = Hasher::new(expected.algorithm());
                    h.update(&body);
                    let actual = h.finish();
                    if &actual != expected {
                        return Err(RegistryError::DigestMismatch {
                            what: ctx.what.clone(),
                            registry: ep.registry.clone(),
                            expected: expected.to_string(),
                            actual: actual.to_string(),
                        });
                    }
                    actual
                }
                None => Digest::of(&body),
            };
            let media_type = match header_type.as_str() {
                "" | "application/json" | "text/plain" | "application/octet-stream" => {
                    json_media_type(&body).unwrap_or(header_type)
                }
                _ => header_type,
            };
            Ok((body, media_type, digest))
        })
    }

    /// `HEAD` of a manifest: its digest (`Docker-Content-Digest`), media type and size, or
    /// `None` when the registry does not have it.
    pub fn head_manifest(&self, r: &Reference) -> Result<Option<(Digest, String, u64)>> {
        let reference = manifest_ref(r)?;
        let ctx = Ctx {
            name: r.name(),
            what: format!("manifest for {}", r.familiar()),
            action: "pull",
        };
        self.on_endpoints(r.domain(), false, |ep| {
            let url = format!("{}/v2/{}/manifests/{}", ep.base, r.path(), reference);
            let req = Req {
                method: "HEAD",
                url: url.clone(),
                headers: vec![("Accept", DEFAULT_ACCEPT.join(", "))],
                body: Body::Empty,
                scopes: vec![pull_scope(r.path())],
                idempotent: true,
            };
            let resp = self.send(ep, req, &ctx)?;
            match resp.status() {
                200 => {}
                404 => return Ok(None),
                _ => return Err(self.fail(ep, "HEAD", &url, resp, &ctx)),
            }
            let digest = match resp.header("Docker-Content-Digest") {
                Some(d) => d
                    .trim()
                    .parse::<Digest>()
                    .map_err(|e| RegistryError::BadResponse {
                        registry: ep.registry.clone(),
                        reason: format!("bad Docker-Content-Digest {d:?}: {e}"),
                    })?,
                None => match r.digest() {
                    Some(d) => d.clone(),
                    None => {
                        return Err(RegistryError::BadResponse {
                            registry: ep.registry.clone(),
                            reason: format!(
                                "HEAD of the {} gave no Docker-Content-Digest; use get_manifest",
                                ctx.what
                            ),
                        })
                    }
                },
            };
            let media_type = resp
                .header("Content-Type")
                .map(bare_media_type)
                .unwrap_or_default();
            let size = header_u64(&resp, "Content-Length").unwrap_or(0);
            Ok(Some((digest, media_type, size)))
        })
    }

    /// Uploads a manifest under the reference's tag (or, without a tag, its digest, which the
    /// bytes must match). Returns the digest of the bytes (sha256, or the reference digest's
    /// algorithm).
    pub fn put_manifest(&self, r: &Reference, media_type: &str, bytes: &[u8]) -> Result<Digest> {
        let digest = match r.digest() {
            Some(expected) => {
                let mut h = Hasher::new(expected.algorithm());
                h.update(bytes);
                let actual = h.finish();
                if &actual != expected {
                    return Err(RegistryError::InvalidArgument(format!(
                        "the manifest to push as {} hashes to {actual}, not to the digest it is named by",
                        r.familiar()
                    )));
                }
                actual
            }
            None => Digest::of(bytes),
        };
        let reference = match r.tag() {
            Some(t) => t.to_owned(),
            None => digest.to_string(),
        };
        let ctx = Ctx {
            name: r.name(),
            what: format!("repository {}", r.name()),
            action: "push",
        };
        self.on_endpoints(r.domain(), true, |ep| {
            let url = format!("{}/v2/{}/manifests/{}", ep.base, r.path(), reference);
            let req = Req {
                method: "PUT",
                url: url.clone(),
                headers: vec![("Content-Type", media_type.to_owned())],
                body: Body::Bytes(bytes),
                scopes: vec![push_scope(r.path())],
                idempotent: true,
            };
            let resp = self.send(ep, req, &ctx)?;
            if !(200..300).contains(&resp.status()) {
                return Err(self.fail(ep, "PUT", &url, resp, &ctx));
            }
            Ok(digest.clone())
        })
    }

    // ----- blobs -----------------------------------------------------------------------------

    /// Starts downloading a blob of the reference's repository, from `offset` (a `Range`
    /// request when > 0; see [`BlobStream::offset`] for registries that ignore it).
    /// Redirects to storage are followed.
    pub fn get_blob(&self, r: &Reference, digest: &Digest, offset: u64) -> Result<BlobStream> {
        let ctx = Ctx {
            name: r.name(),
            what: format!("blob {digest} in {}", r.name()),
            action: "pull",
        };
        self.on_endpoints(r.domain(), false, |ep| {
            let url = format!("{}/v2/{}/blobs/{}", ep.base, r.path(), digest);
            let mut headers = Vec::new();
            if offset > 0 {
                headers.push(("Range", format!("bytes={offset}-")));
            }
            let req = Req {
                method: "GET",
                url: url.clone(),
                headers,
                body: Body::Empty,
                scopes: vec![pull_scope(r.path())],
                idempotent: true,
            };
            let resp = self.send(ep, req, &ctx)?;
            match resp.status() {
                200 => {
                    let total = header_u64(&resp, "Content-Length");
                    Ok(BlobStream {
                        reader: resp.into_reader(),
                        offset: 0,
                        total,
                    })
                }
                206 if offset > 0 => {
                    let range = resp.header("Content-Range").and_then(parse_content_range);
                    let (start, total) = match range {
                        Some(v) => v,
                        None => {
                            let len = header_u64(&resp, "Content-Length");
                            (offset, len.map(|l| l + offset))
                        }
                    };
                    if start != offset {
                        return Err(RegistryError::BadResponse {
                            registry: ep.registry.clone(),
                            reason: format!(
                                "asked for {} from byte {offset}, got a range starting at {start}",
                                ctx.what
                            ),
                        });
                    }
                    Ok(BlobStream {
                        reader: resp.into_reader(),
                        offset,
                        total,
                    })
                }
                416 => Err(RegistryError::InvalidArgument(format!(
                    "offset {offset} is beyond the end of {}; restart the download from 0",
                    ctx.what
                ))),
                _ => Err(self.fail(ep, "GET", &url, resp, &ctx)),
            }
        })
    }

    /// The blob's size if the repository has it.
    pub fn blob_exists(&self, r: &Reference, digest: &Digest) -> Result<Option<u64>> {
        let ctx = Ctx {
            name: r.name(),
            what: format!("blob {digest} in {}", r.name()),
            action: "pull",
        };
        self.on_endpoints(r.domain(), false, |ep| {
            let url = format!("{}/v2/{}/blobs/{}", ep.base, r.path(), digest);
            let req = Req {
                method: "HEAD",
                url: url.clone(),
                headers: Vec::new(),
                body: Body::Empty,
                scopes: vec![pull_scope(r.path())],
                idempotent: true,
            };
            let resp = self.send(ep, req, &ctx)?;
            match resp.status() {
                200..=299 => Ok(Some(header_u64(&resp, "Content-Length").unwrap_or(0))),
                404 => Ok(None),
                _ => Err(self.fail(ep, "HEAD", &url, resp, &ctx)),
            }
        })
    }

    /// Asks the registry to link a blob of `from` (same registry) into `r`'s repository
    /// without uploading it. `true` when mounted; `false` when the registry declined (the
    /// upload session it opened instead is cancelled) or `from` is on another registry.
    pub fn mount_blob(&self, r: &Reference, digest: &Digest, from: &Reference) -> Result<bool> {
        if from.domain() != r.domain() {
            return Ok(false);
        }
        let ctx = Ctx {
            name: r.name(),
            what: format!("repository {}", r.name()),
            action: "push",
        };
        self.on_endpoints(r.domain(), true, |ep| {
            let url = format!(
                "{}/v2/{}/blobs/uploads/?mount={}&from={}",
                ep.base,
                r.path(),
                encode_component(&digest.to_string()),
                encode_component(from.path())
            );
            let req = Req {
                method: "POST",
                url: url.clone(),
                headers: vec![("Content-Length", "0".into())],
                body: Body::Empty,
                scopes: vec![push_scope(r.path()), pull_scope(from.path())],
                idempotent: false,
            };
            let resp = self.send(ep, req, &ctx)?;
            match resp.status() {
                201 => Ok(true),
                202 => {
                    if let Some(loc) = resp.header("Location") {
                        let cancel = Req {
                            method: "DELETE",
                            url: join_url(&ep.base, loc, None),
                            headers: Vec::new(),
                            body: Body::Empty,
                            scopes: vec![push_scope(r.path())],
                            idempotent: false,
                        };
                        // Best effort: an abandoned session expires on the registry anyway.
                        let _ = self.send(ep, cancel, &ctx);
                    }
                    Ok(false)
                }
                _ => Err(self.fail(ep, "POST", &url, resp, &ctx)),
            }
        })
    }

    /// Uploads a blob of `size` bytes read from `reader`: in one `PUT` (`chunk_size` `None`),
    /// or in `PATCH` chunks of `chunk_size` bytes closed by a `PUT`. The registry verifies the
    /// digest. The reader must yield exactly `size` bytes.
    pub fn upload_blob(
        &self,
        r: &Reference,
        digest: &Digest,
        size: u64,
        reader: impl Read,
        chunk_size: Option<usize>,
    ) -> Result<()> {
        let ctx = Ctx {
            name: r.name(),
            what: format!("repository {}", r.name()),
            action: "push",
        };
        let target = self
            .targets(r.domain(), true)
            .pop()
            .expect("targets always ends with the registry itself");
        let ep = self.endpoint(&target)?;
        let scopes = vec![push_scope(r.path())];
        let mut reader = ExactReader {
            inner: reader,
            remaining: size,
            short: false,
        };
        let short = |got: u64| {
            RegistryError::InvalidArgument(format!(
                "the data for blob {digest} ended after {got} bytes, but its size was given as {size}"
            ))
        };

        let start_url = format!("{}/v2/{}/blobs/uploads/", ep.base, r.path());
        let req = Req {
            method: "POST",
            url: start_url.clone(),
            headers: vec![("Content-Length", "0".into())],
            body: Body::Empty,
            scopes: scopes.clone(),
            idempotent: false,
        };
        let resp = self.send(&ep, req, &ctx)?;
        if resp.status() != 202 {
            return Err(self.fail(&ep, "POST", &start_url, resp, &ctx));
        }
        let mut location = location(&ep, &resp)?;

        let final_body_len;
        match chunk_size {
            None => {
                let url = join_url(&ep.base, &location, Some(("digest", &digest.to_string())));
                let req = Req {
                    method: "PUT",
                    url: url.clone(),
                    headers: vec![("Content-Type", "application/octet-stream".into())],
                    body: Body::Reader(&mut reader, size),
                    scopes: scopes.clone(),
                    idempotent: false,
                };
                let result = self.send(&ep, req, &ctx);
                if reader.short {
                    return Err(short(size - reader.remaining));
                }
                let resp = result?;
                if !(200..300).contains(&resp.status()) {
                    return Err(self.fail(&ep, "PUT", &url, resp, &ctx));
                }
                final_body_len = size;
            }
            Some(chunk) => {
                let chunk = chunk.max(1);
                let mut buf = vec![0u8; chunk];
                let mut sent: u64 = 0;
                while sent < size {
                    let want = usize::try_from((size - sent).min(chunk as u64)).unwrap_or(chunk);
                    if let Err(e) = reader.read_exact(&mut buf[..want]) {
                        if reader.short || e.kind() == std::io::ErrorKind::UnexpectedEof {
                            return Err(short(size - reader.remaining));
                        }
                        return Err(RegistryError::Io {
                            what: format!("reading the data of blob {digest}"),
                            source: e,
                        });
                    }
                    let url = join_url(&ep.base, &location, None);
                    let end = sent + want as u64 - 1;
                    let req = Req {
                        method: "PATCH",
                        url: url.clone(),
                        headers: vec![
                            ("Content-Type", "application/octet-stream".into()),
                            ("Content-Range", format!("{sent}-{end}")),
                        ],
                        body: Body::Bytes(&buf[..want]),
                        scopes: scopes.clone(),
                        idempotent: false,
                    };
                    let resp = self.send(&ep, req, &ctx)?;
                    if resp.status() != 202 {
                        return Err(self.fail(&ep, "PATCH", &url, resp, &ctx));
                    }
                    location = self::location(&ep, &resp)?;
                    sent += want as u64;
                }
                let url = join_url(&ep.base, &location, Some(("digest", &digest.to_string())));
                let req = Req {
                    method: "PUT",
                    url: url.clone(),
                    headers: vec![("Content-Type", "application/octet-stream".into())],
                    body: Body::Bytes(&[]),
                    scopes,
                    idempotent: false,
                };
                let resp = self.send(&ep, req, &ctx)?;
                if !(200..300).contains(&resp.status()) {
                    return Err(self.fail(&ep, "PUT", &url, resp, &ctx));
                }
                final_body_len = sent;
            }
        }
        // The reader must not hold more than `size` bytes either.
        let mut extra = [0u8; 1];
        if matches!(reader.inner.read(&mut extra), Ok(n) if n > 0) {
            return Err(RegistryError::InvalidArgument(format!(
                "the data for blob {digest} is longer than its given size {final_body_len}"
            )));
        }
        Ok(())
    }

    // ----- tags ------------------------------------------------------------------------------

    /// All tags of the repository, following `Link` pagination.
    pub fn tags(&self, r: &Reference) -> Result<Vec<String>> {
        self.tags_with_page_size(r, None)
    }

    /// [`Self::tags`], asking for pages of `page_size` tags (`n=`).
    pub fn tags_with_page_size(
        &self,
        r: &Reference,
        page_size: Option<usize>,
    ) -> Result<Vec<String>> {
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let ctx = Ctx {
            name: r.name(),
            what: format!("repository {}", r.name()),
            action: "pull",
        };
        self.on_endpoints(r.domain(), false, |ep| {
            let mut url = format!("{}/v2/{}/tags/list", ep.base, r.path());
            if let Some(n) = page_size {
                url.push_str(&format!("?n={n}"));
            }
            let mut all = Vec::new();
            for _ in 0..10_000 {
                let req = Req {
                    method: "GET",
                    url: url.clone(),
                    headers: Vec::new(),
                    body: Body::Empty,
                    scopes: vec![pull_scope(r.path())],
                    idempotent: true,
                };
                let resp = self.send(ep, req, &ctx)?;
                if resp.status() != 200 {
                    return Err(self.fail(ep, "GET", &url, resp, &ctx));
                }
                let next = resp.header("Link").and_then(next_link);
                let mut body = Vec::new();
                resp.into_reader()
                    .take(16 << 20)
                    .read_to_end(&mut body)
                    .map_err(|e| RegistryError::Io {
                        what: format!("reading the tags of {}", ctx.name),
                        source: e,
                    })?;
                let page: Page =
                    serde_json::from_slice(&body).map_err(|e| RegistryError::BadResponse {
                        registry: ep.registry.clone(),
                        reason: format!("the tag list of {} is not valid JSON: {e}", ctx.name),
                    })?;
                all.extend(page.tags.unwrap_or_default());
                match next {
                    Some(link) => url = join_url(&ep.base, &link, None),
                    None => return Ok(all),
                }
            }
            Err(RegistryError::BadResponse {
                registry: ep.registry.clone(),
                reason: format!("the tag list of {} does not end", ctx.name),
            })
        })
    }
}

fn manifest_ref(r: &Reference) -> Result<String> {
    match (r.digest(), r.tag()) {
        (Some(d), _) => Ok(d.to_string()),
        (None, Some(t)) => Ok(t.to_owned()),
        (None, None) => Err(RegistryError::InvalidArgument(format!(
            "{} names neither a tag nor a digest",
            r.name()
        ))),
    }
}

fn location(ep: &Endpoint, resp: &ureq::Response) -> Result<String> {
    resp.header("Location")
        .map(str::to_owned)
        .ok_or_else(|| RegistryError::BadResponse {
            registry: ep.registry.clone(),
            reason: format!(
                "the upload answer (HTTP {}) has no Location header",
                resp.status()
            ),
        })
}

/// `</v2/x/tags/list?last=b&n=2>; rel="next"` → `/v2/x/tags/list?last=b&n=2`.
fn next_link(v: &str) -> Option<String> {
    v.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| target.to_owned())
    })
}

/// `http://host:port/path?q` → (`host:port`, rest).
fn split_url(url: &str) -> (&str, &str) {
    let after = url.split_once("://").map_or(url, |(_, r)| r);
    match after.find('/') {
        Some(i) => (&after[..i], &after[i..]),
        None => (after, ""),
    }
}

fn json_media_type(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
    }
    serde_json::from_slice::<Probe>(body).ok()?.media_type
}

fn read_detail(resp: ureq::Response) -> String {
    let mut body = Vec::new();
    let _ = resp.into_reader().take(64 << 10).read_to_end(&mut body);
    render_detail(&body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?last=b&n=2")
        );
        assert_eq!(next_link(r#"</x>; rel="prev""#), None);
    }

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

    #[test]
    fn mirrors_only_for_docker_hub_pulls() {
        let c = RegistryClient::new(ClientConfig {
            mirrors: vec!["http://127.0.0.1:5001/".into(), "mirror.example".into()],
            ..ClientConfig::default()
        })
        .unwrap();
        let t = c.targets("docker.io", false);
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].host, "127.0.0.1:5001");
        assert_eq!(t[0].scheme.as_deref(), Some("http"));
        assert_eq!(t[1].scheme, None);
        assert_eq!(t[2].host, DOCKER_HUB_HOST);
        assert_eq!(c.targets("docker.io", true).len(), 1);
        assert_eq!(c.targets("127.0.0.1:5000", false)[0].host, "127.0.0.1:5000");
    }

    #[test]
    fn client_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<RegistryClient>();
        check::<BlobStream>();
    }
}
