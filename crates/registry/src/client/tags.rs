//! Tag listing with `Link` pagination.

use std::io::Read;

use berth_image::Reference;

use super::transport::{join_url, Ctx, Req};
use super::RegistryClient;
use crate::error::{RegistryError, Result};

impl RegistryClient {
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
        let ctx = Ctx::pull(r.name(), format!("repository {}", r.name()));
        self.on_endpoints(r.domain(), false, |ep| {
            let mut url = format!("{}/v2/{}/tags/list", ep.base, r.path());
            if let Some(n) = page_size {
                url.push_str(&format!("?n={n}"));
            }
            let mut all = Vec::new();
            for _ in 0..10_000 {
                let req = Req::read("GET", url.clone(), Vec::new(), r.path());
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
}
