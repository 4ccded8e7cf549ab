//! Images of services: `build:` through `POST /build` (the `berth build` code path: same
//! context tar, same `.dockerignore` rules), `image:` pulled through `POST /images/create`
//! when missing, pushed through `POST /images/{name}/push`.

use anyhow::{bail, Result};
use berth_client::{encode, Client};
use berth_compose::Project;
use serde_json::Value;

use super::{event, state, BuildArgs, Ctx, PullArgs, Services};
use crate::commands::build::{self, Build};
use crate::commands::{api_images, daemon, registry};

/// The id of a local image, `None` when the daemon does not have it.
pub fn image_id(c: &Client, name: &str) -> Result<Option<String>> {
    match c.get::<Value>(&format!("/images/{}/json", encode(name))) {
        Ok(v) => Ok(v["Id"].as_str().map(str::to_string)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(daemon(e)),
    }
}

/// Builds the image of `service` (which must have `build:`), tagged with its image name.
pub fn build_service(
    c: &Client,
    p: &Project,
    service: &str,
    no_cache: bool,
    extra_args: &[String],
    quiet: bool,
) -> Result<()> {
    let s = &p.services[service];
    let Some(b) = &s.build else {
        return Ok(());
    };
    if b.context.contains("://") || b.context.starts_with("git@") {
        bail!("service {service:?}: remote build contexts are not supported by berth; clone the repository and use a local directory as build.context");
    }
    let file = b.dockerfile.as_ref().map(|f| {
        let path = std::path::Path::new(f);
        if path.is_absolute() {
            f.clone()
        } else {
            std::path::Path::new(&b.context)
                .join(path)
                .display()
                .to_string()
        }
    });
    let mut args: Vec<String> = b
        .args
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k}={v}"),
            None => k.clone(),
        })
        .collect();
    args.extend(extra_args.iter().cloned());
    let image = state::image_name(p, service);
    let a = Build {
        tags: vec![image.clone()],
        file,
        build_args: args,
        labels: b.labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        target: b.target.clone(),
        no_cache,
        pull: false,
        quiet,
        network: b.network.clone(),
        iidfile: None,
        progress: "plain".into(),
        context: b.context.clone(),
    };
    event("Service", service, "Building");
    build::build(c, &a)
        .map_err(|e| anyhow::anyhow!("failed to build service {service:?}: {e:#}"))?;
    event("Service", service, "Built");
    Ok(())
}

/// Pulls `image`, reporting docker compose's ` Image x  Pulling/Pulled` lines.
pub fn pull_image(c: &Client, image: &str, quiet: bool) -> Result<()> {
    let (name, tag) = api_images::split_tag(image);
    if !quiet {
        event("Image", image, "Pulling");
    }
    for m in c.pull(&name, &tag, None, None).map_err(daemon)? {
        let m = m.map_err(daemon)?;
        if let Some(e) = m.error {
            bail!("pulling {image}: {e}");
        }
    }
    if !quiet {
        event("Image", image, "Pulled");
    }
    Ok(())
}

/// Makes sure every active service has its image: built (`--build`, a missing image, or
/// `pull_policy: build`) or pulled (missing, or `pull_policy: always`).
pub fn ensure_images(c: &Client, p: &Project, force_build: bool, no_build: bool) -> Result<()> {
    for name in p.start_order() {
        let s = &p.services[&name];
        let image = state::image_name(p, &name);
        let policy = s.pull_policy.as_deref().unwrap_or("missing");
        let have = image_id(c, &image)?.is_some();
        if s.build.is_some() {
            if !no_build && (force_build || !have || policy == "build") {
                build_service(c, p, &name, false, &[], false)?;
            } else if !have {
                bail!("image {image} of service {name:?} is missing and --no-build was given; run `berth compose build {name}`");
            }
        } else if s.image.is_none() {
            bail!("service {name:?} has neither an image nor a build context specified; add `image:` or `build:`");
        } else if !have || policy == "always" {
            if policy == "never" {
                bail!("image {image} of service {name:?} is missing and pull_policy is never");
            }
            pull_image(c, &image, false)?;
        }
    }
    Ok(())
}

/// `build [SERVICES]`.
pub fn build_cmd(ctx: &Ctx, a: &BuildArgs) -> Result<()> {
    let p = ctx.load(&a.services)?;
    for name in p.start_order() {
        if a.services.is_empty() || a.services.contains(&name) {
            build_service(ctx.c, &p, &name, a.no_cache, &a.build_args, a.quiet)?;
        }
    }
    Ok(())
}

/// `pull [SERVICES]`.
pub fn pull_cmd(ctx: &Ctx, a: &PullArgs) -> Result<()> {
    let p = ctx.load(&a.services)?;
    for (name, s) in &p.services {
        if !a.services.is_empty() && !a.services.contains(name) {
            continue;
        }
        let Some(image) = &s.image else { continue };
        if s.build.is_some() && (a.ignore_buildable || image_id(ctx.c, image)?.is_none()) {
            continue;
        }
        pull_image(ctx.c, image, a.quiet)?;
    }
    Ok(())
}

/// `push [SERVICES]`: services with both `image:` and `build:`, like docker compose.
pub fn push_cmd(ctx: &Ctx, a: &Services) -> Result<()> {
    let p = ctx.load(&a.services)?;
    for (name, s) in &p.services {
        if !a.services.is_empty() && !a.services.contains(name) {
            continue;
        }
        let (Some(image), Some(_)) = (&s.image, &s.build) else {
            continue;
        };
        event("Image", image, "Pushing");
        api_images::push(
            ctx.c,
            &registry::Push {
                quiet: true,
                name: image.clone(),
            },
        )?;
        event("Image", image, "Pushed");
    }
    Ok(())
}
