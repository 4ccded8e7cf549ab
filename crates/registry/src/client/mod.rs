//! [`RegistryClient`] and [`ClientConfig`]: construction, credentials, and the submodules
//! holding the distribution API calls (endpoints, transport, auth, manifests, blobs,
//! uploads, tags).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use berth_image::model::media_type;

use crate::credentials::{self, Auths, Credential};
use crate::error::Result;
use crate::tls;

use self::endpoint::Endpoint;

mod auth_flow;
mod blobs;
mod endpoint;
mod manifests;
mod tags;
mod transport;
mod upload;

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

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn pull_scope(path: &str) -> String {
    format!("repository:{path}:pull")
}

fn push_scope(path: &str) -> String {
    format!("repository:{path}:pull,push")
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::BlobStream;

    #[test]
    fn client_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<RegistryClient>();
        check::<BlobStream>();
    }
}
