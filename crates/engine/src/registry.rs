//! Registry operations: pull, push and login through the engine's one [`RegistryClient`].
//!
//! Credentials come with each request (Docker's `X-Registry-Auth`), as in Docker: the daemon
//! keeps none between requests. They are set on the shared client for that registry before
//! the transfer, and a request without credentials resets the registry to anonymous (unless
//! the engine was given an auth file), so one client's login never serves another's request.
//! Two clients using the same registry with different credentials at the same instant would
//! still race; a per-request client view is the fix when the registry crate grows one.
//!
//! [`RegistryClient`]: berth_registry::RegistryClient

use berth_image::model::Platform;
use berth_image::Reference;
use berth_registry::{pull, push, Credential, ProgressEvent, PullOptions};

use crate::{Engine, EngineError, Result};

/// Layers moved at once, as Docker's default.
const PARALLEL: usize = 3;

/// What `docker pull` asks for.
#[derive(Debug, Clone, Default)]
pub struct PullRequest {
    /// `name`, `name:tag` or `name@digest`.
    pub from: String,
    /// A separate tag or digest (`sha256:…`), as the API sends it.
    pub tag: Option<String>,
    /// `os/arch[/variant]`; the host's when `None`.
    pub platform: Option<String>,
    /// Pull every tag of the repository (`docker pull -a`).
    pub all_tags: bool,
    /// The caller's registry credentials.
    pub credential: Option<Credential>,
}

/// `from` plus the API's separate `tag`, which may also be a digest (`sha256:…`).
fn join_reference(from: &str, tag: Option<&str>) -> Result<Reference> {
    let text = match tag.filter(|t| !t.is_empty()) {
        Some(t) if t.contains(':') => format!("{from}@{t}"),
        Some(t) => format!("{from}:{t}"),
        None => from.to_string(),
    };
    Ok(Reference::parse(&text)?)
}

impl Engine {
    fn use_credential(&self, reference: &Reference, credential: Option<Credential>) {
        match credential.filter(|c| !c.username.is_empty()) {
            Some(c) => self.registry.set_credential(reference.domain(), Some(c)),
            None if self.config.auth_file.is_none() => {
                self.registry.set_credential(reference.domain(), None);
            }
            None => {}
        }
    }

    /// `docker pull`; progress events as Docker emits them. Returns what was pulled.
    pub fn pull(
        &self,
        req: &PullRequest,
        progress: &(dyn Fn(ProgressEvent) + Sync),
    ) -> Result<Vec<Reference>> {
        let reference = join_reference(&req.from, req.tag.as_deref())?;
        let platform = match req.platform.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => Some(Platform::parse(p)?),
            None => None,
        };
        self.use_credential(&reference, req.credential.clone());
        let refs = if req.all_tags {
            let explicit_tag = req.tag.as_deref().is_some_and(|t| !t.is_empty())
                || req.from.rsplit('/').next().is_some_and(|l| l.contains(':'));
            if reference.digest().is_some() || explicit_tag {
                return Err(EngineError::InvalidArgument(
                    "tag can't be used with --all-tags/-a".into(),
                ));
            }
            self.registry
                .tags(&reference)?
                .into_iter()
                .map(|t| Reference::parse(&format!("{}:{t}", reference.name())))
                .collect::<std::result::Result<Vec<_>, _>>()?
        } else {
            vec![reference]
        };
        let opts = PullOptions {
            platform,
            max_parallel: PARALLEL,
            ..PullOptions::default()
        };
        for r in &refs {
            pull(&self.registry, &self.store, r, &opts, progress)?;
            self.emit_image_named(&r.to_string(), "pull", &r.to_string());
        }
        Ok(refs)
    }

    /// `docker push NAME[:TAG]`.
    pub fn push(
        &self,
        name: &str,
        tag: Option<&str>,
        credential: Option<Credential>,
        progress: &(dyn Fn(ProgressEvent) + Sync),
    ) -> Result<()> {
        let reference = join_reference(name, tag)?;
        if self.store.resolve(&reference.normalized()).is_err() {
            return Err(EngineError::NoSuchImage {
                name: reference.familiar(),
            });
        }
        self.use_credential(&reference, credential);
        push(&self.registry, &self.store, &reference, PARALLEL, progress)?;
        Ok(())
    }

    /// Checks credentials against a registry (`docker login`); nothing is stored.
    pub fn login(&self, server: &str, username: &str, password: &str) -> Result<()> {
        let server = match server.trim() {
            "" => "docker.io",
            s => s,
        };
        Ok(self.registry.login(server, username, password)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_tags_and_digests() {
        let r = join_reference("127.0.0.1:5000/a/b", Some("1")).unwrap();
        assert_eq!(r.familiar(), "127.0.0.1:5000/a/b:1");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = join_reference("busybox", Some(&d)).unwrap();
        assert!(r.digest().is_some());
        assert_eq!(join_reference("x", None).unwrap().familiar(), "x:latest");
    }
}
