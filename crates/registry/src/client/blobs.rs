//! Blobs: download (resumable with `Range`), existence (`HEAD`), and cross-repository mount.

use berth_image::{Digest, Reference};

use super::transport::{header_u64, join_url, Body, Ctx, Req};
use super::{pull_scope, push_scope, RegistryClient};
use crate::auth::encode_component;
use crate::blob::{parse_content_range, BlobStream};
use crate::error::{RegistryError, Result};

impl RegistryClient {
    /// Starts downloading a blob of the reference's repository, from `offset` (a `Range`
    /// request when > 0; see [`BlobStream::offset`] for registries that ignore it).
    /// Redirects to storage are followed.
    pub fn get_blob(&self, r: &Reference, digest: &Digest, offset: u64) -> Result<BlobStream> {
        let ctx = Ctx::pull(r.name(), format!("blob {digest} in {}", r.name()));
        self.on_endpoints(r.domain(), false, |ep| {
            let url = format!("{}/v2/{}/blobs/{}", ep.base, r.path(), digest);
            let mut headers = Vec::new();
            if offset > 0 {
                headers.push(("Range", format!("bytes={offset}-")));
            }
            let req = Req::read("GET", url.clone(), headers, r.path());
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
        let ctx = Ctx::pull(r.name(), format!("blob {digest} in {}", r.name()));
        self.on_endpoints(r.domain(), false, |ep| {
            let url = format!("{}/v2/{}/blobs/{}", ep.base, r.path(), digest);
            let req = Req::read("HEAD", url.clone(), Vec::new(), r.path());
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
}
