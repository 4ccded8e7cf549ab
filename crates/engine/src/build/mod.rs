//! `docker build` (the legacy builder's API): a context tar and a Dockerfile become an image,
//! one step at a time, each step's result an image the cache can hand back.
//!
//! Why this shape: the front end (`berth-build`: parser, variable expansion, cache text by
//! meaning, `.dockerignore`) is pure; this module executes. A step is a function of its
//! parent image and its instruction *after* expansion — plus, for COPY/ADD, the digests of
//! the files it copies and, for RUN, the build args in effect — so its cache key is the hash
//! of exactly those (`cache.rs`): a comment, blank line or re-wrapped continuation changes
//! nothing, a changed file rebuilds from the step that copies it. RUN runs in a real
//! container of the engine (its network the build's `--network`), and is committed with the
//! build's config, never the container's; COPY/ADD write a layer tar straight from the
//! context (`copy.rs`); every other instruction only derives a config (`steps.rs`).
//!
//! Reproducibility: with `SOURCE_DATE_EPOCH` (a build arg, as BuildKit reads it) every
//! timestamp — history, image `created`, file mtimes in the layers — is clamped to it, so the
//! same inputs give the same image id. Provenance: the image carries the Dockerfile's digest,
//! its text, and the non-secret build args as labels (`org.berth.build.*`).
//!
//! - `context.rs`: the context tar extracted safely (`..`, absolute symlinks and devices
//!   cannot leave or harm the host), the Dockerfile and `.dockerignore` read from it;
//!   `blobs.rs`: the content store of manifest contexts, which `berth build` sends as a
//!   manifest plus only the contents the daemon lacks.
//! - `waves.rs`: the stages needed and their order (independent ones concurrently);
//!   `stage.rs`: one stage's walk over its instructions, with the cache.
//! - `steps.rs`: config-only instructions; `run.rs`: RUN; `copy.rs`: COPY/ADD (`fswalk.rs`:
//!   reading sources inside their root).

mod addtar;
mod blobs;
mod cache;
pub use berth_build::manifest::CONTEXT_MANIFEST_FORMAT;
pub use cache::BuildCachePruneReport;
mod context;
mod copy;
mod fswalk;
mod run;
mod stage;
mod steps;
mod waves;

use std::collections::BTreeMap;
use std::io::Read;

use berth_build::{parse_named, Dockerfile};

use crate::{Engine, EngineError, Result};

/// What `POST /build` asks for (Docker's query parameters).
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    /// The Dockerfile's path inside the context (`Dockerfile` when empty).
    pub dockerfile: String,
    /// `-t`: names for the result.
    pub tags: Vec<String>,
    /// `--build-arg`.
    pub build_args: BTreeMap<String, String>,
    /// `--label`.
    pub labels: BTreeMap<String, String>,
    /// `--target`: the stage to stop at.
    pub target: Option<String>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--network` for RUN steps (`default`, `none`, `host`, a network).
    pub network_mode: String,
    /// `--pull`: pull every base image even when it is local (a missing one is always
    /// pulled).
    pub pull: bool,
    /// The body is a manifest context (`berth_build::manifest`), not a plain tar.
    pub manifest_context: bool,
}

/// What the build reports as it goes (the legacy builder's JSON stream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildEvent {
    /// A line of progress (`Step 1/4 : FROM …`, a RUN's output…), newline included.
    Stream(String),
    /// The final image id (`aux.ID`).
    Built(String),
}

/// The outcome: the image id and how many steps came from the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildResult {
    /// `sha256:…`.
    pub id: String,
    /// Steps executed.
    pub executed: usize,
    /// Steps taken from the cache.
    pub cached: usize,
}

impl Engine {
    /// Builds an image from the context tar `context` as `req` says, reporting to `out`.
    pub fn build_image(
        &self,
        req: &BuildRequest,
        context: impl Read,
        out: &mut dyn FnMut(BuildEvent),
    ) -> Result<BuildResult> {
        let ctx = if req.manifest_context {
            context::Context::receive_manifest(self, context)?
        } else {
            context::Context::extract(self, context)?
        };
        let name = if req.dockerfile.is_empty() {
            "Dockerfile"
        } else {
            req.dockerfile.as_str()
        };
        let text = ctx.dockerfile(name)?;
        let file: Dockerfile = parse_named(name, &text)
            .map_err(|e| EngineError::InvalidArgument(format!("dockerfile parse error: {e}")))?;
        let mut tags = Vec::new();
        for t in &req.tags {
            tags.push(
                berth_image::Reference::parse(t)
                    .map_err(|e| EngineError::InvalidArgument(format!("invalid tag {t:?}: {e}")))?,
            );
        }
        let plan = stage::Plan::new(&file, req)?;
        // RUN's intermediate containers are removed by a thread of their own while the next
        // steps go on; the scope ends (joining it) before the build returns.
        let result = std::thread::scope(|s| {
            let (reaper, bodies) = std::sync::mpsc::channel::<String>();
            s.spawn(move || {
                for id in bodies {
                    let _ = self.remove_container(&id, true);
                }
            });
            let mut run = stage::Build::new(self, &ctx, &file, &text, req, out, reaper);
            let result = run.execute(&plan)?;
            for t in &tags {
                self.store.tag(&result.id, t)?;
            }
            run.say(&format!("Successfully built {}\n", &result.id[7..19]));
            for t in &req.tags {
                run.say(&format!("Successfully tagged {}\n", normalized(t)));
            }
            (run.out)(BuildEvent::Built(result.id.clone()));
            Ok::<_, EngineError>(result)
        })?;
        if req.manifest_context {
            self.sweep_blobs();
        }
        Ok(result)
    }
}

/// `name` as Docker prints a tag (`name:latest` when no tag was given).
fn normalized(name: &str) -> String {
    berth_image::Reference::parse(name)
        .map(|r| r.familiar())
        .unwrap_or_else(|_| name.to_string())
}
