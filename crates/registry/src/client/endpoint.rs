//! Endpoints: mirrors and Docker Hub targets, per-host agents (TLS), and the `/v2/` ping
//! that fixes the scheme (HTTPS, or HTTP fallback for insecure registries) and challenge.

use std::sync::{Arc, Mutex};

use ureq::OrAnyStatus;

use super::transport::{backoff, read_detail, ATTEMPTS};
use super::{lock, RegistryClient};
use crate::auth::{parse_challenge, Challenge};
use crate::error::{RegistryError, Result};
use crate::tls;

const DOCKER_HUB_HOST: &str = "registry-1.docker.io";
pub(super) const DOCKER_HUB: &str = "docker.io";

/// A registry (or mirror) host whose scheme and challenge are known.
#[derive(Debug)]
pub(super) struct Endpoint {
    /// The name used for credentials and messages: `docker.io`, `host[:port]`.
    pub(super) registry: String,
    /// `https://host[:port]` or `http://host[:port]`.
    pub(super) base: String,
    pub(super) agent: ureq::Agent,
    pub(super) challenge: Mutex<Option<Challenge>>,
}

/// Where one endpoint of a reference lives.
#[derive(Debug, Clone)]
pub(super) struct Target {
    registry: String,
    host: String,
    scheme: Option<String>,
    mirror: bool,
}

impl RegistryClient {
    pub(super) fn targets(&self, domain: &str, push: bool) -> Vec<Target> {
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

    pub(super) fn agent(&self, host: &str, unverified: bool) -> Result<ureq::Agent> {
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
    pub(super) fn endpoint(&self, target: &Target) -> Result<Arc<Endpoint>> {
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
    pub(super) fn on_endpoints<T>(
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientConfig;

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
}
