//! Blob uploads: monolithic `PUT` or chunked `PATCH`es closed by a `PUT`, with exact-size checks.

use std::io::Read;

use berth_image::{Digest, Reference};

use super::endpoint::Endpoint;
use super::transport::{join_url, Body, Ctx, Req};
use super::{push_scope, RegistryClient};
use crate::blob::ExactReader;
use crate::error::{RegistryError, Result};

impl RegistryClient {
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
