//! Manifests: get (size-capped, digest-checked), head, and put.

use std::io::Read;

use berth_image::{Digest, Hasher, Reference};

use super::transport::{bare_media_type, header_u64, Body, Ctx, Req};
use super::{push_scope, RegistryClient, DEFAULT_ACCEPT, MAX_MANIFEST_SIZE};
use crate::error::{RegistryError, Result};

impl RegistryClient {
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
        let ctx = Ctx::pull(r.name(), format!("manifest for {}", r.familiar()));
        self.on_endpoints(r.domain(), false, |ep| {
            let url = format!("{}/v2/{}/manifests/{}", ep.base, r.path(), reference);
            let req = Req::read(
                "GET",
                url.clone(),
                vec![("Accept", accept.join(", "))],
                r.path(),
            );
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
        let ctx = Ctx::pull(r.name(), format!("manifest for {}", r.familiar()));
        self.on_endpoints(r.domain(), false, |ep| {
            let url = format!("{}/v2/{}/manifests/{}", ep.base, r.path(), reference);
            let req = Req::read(
                "HEAD",
                url.clone(),
                vec![("Accept", DEFAULT_ACCEPT.join(", "))],
                r.path(),
            );
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

fn json_media_type(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
    }
    serde_json::from_slice::<Probe>(body).ok()?.media_type
}
