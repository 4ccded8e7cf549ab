//! Authentication glue: `Authorization` headers from the endpoint's challenge (Basic, or
//! Bearer tokens fetched from the realm and cached), and [`RegistryClient::login`].

use std::io::Read;
use std::time::Instant;

use ureq::OrAnyStatus;

use super::endpoint::{Endpoint, DOCKER_HUB};
use super::transport::{backoff, read_detail, retry_after, split_url, ATTEMPTS};
use super::{lock, RegistryClient};
use crate::auth::{encode_component, Challenge, TokenResponse};
use crate::credentials::Credential;
use crate::error::{RegistryError, Result};

impl RegistryClient {
    pub(super) fn authorization(
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
}
