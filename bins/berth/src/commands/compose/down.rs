//! `down`: stop and remove the project's containers (dependents first), then its networks,
//! with `-v` its named volumes, with `--rmi` its images. External networks and volumes are
//! never removed. Works from the compose file, or from `-p NAME` alone.

use std::collections::BTreeSet;

use anyhow::Result;
use berth_compose::Project;

use super::{event, resources, state, up, Ctx, Down};
use crate::commands::daemon;

pub fn down(ctx: &Ctx, a: &Down) -> Result<()> {
    let c = ctx.c;
    let (name, p) = ctx.target()?;
    let all = state::containers(c, &name, true)?;
    let known: Option<BTreeSet<String>> = p
        .as_ref()
        .map(|p| p.all_services().map(|(k, _)| k.clone()).collect());
    let (mut remove, mut orphans) = (Vec::new(), Vec::new());
    for x in all {
        let svc = state::label(&x, state::SERVICE).to_string();
        match &known {
            Some(k) if !k.contains(&svc) && !a.remove_orphans => orphans.push(x),
            _ => remove.push(x),
        }
    }
    if !orphans.is_empty() {
        let names: Vec<String> = orphans.iter().map(state::name).collect();
        eprintln!(
            "WARN[0000] Found orphan containers ([{}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.",
            names.join(" ")
        );
    }
    let mut remove = state::ordered(p.as_ref(), remove);
    remove.reverse();
    for x in &remove {
        let t = up::stop_timeout(p.as_ref(), state::label(x, state::SERVICE), a.timeout);
        up::remove(c, x, t, a.volumes)?;
    }
    if orphans.is_empty() {
        resources::remove_networks(c, &name, p.as_ref())?;
    }
    if a.volumes {
        resources::remove_volumes(c, &name, p.as_ref())?;
    }
    if let (Some(mode), Some(p)) = (&a.rmi, p.as_ref()) {
        remove_images(ctx, p, mode);
    }
    Ok(())
}

/// `--rmi local` removes images without a custom tag (built `<project>-<service>`), `all`
/// every service image.
fn remove_images(ctx: &Ctx, p: &Project, mode: &str) {
    let mut seen = BTreeSet::new();
    for (name, s) in p.all_services() {
        if mode == "local" && s.image.is_some() {
            continue;
        }
        let image = state::image_name(p, name);
        if !seen.insert(image.clone()) {
            continue;
        }
        match ctx.c.remove_image(&image, false) {
            Ok(_) => event("Image", &image, "Removed"),
            Err(e) if e.is_not_found() => {}
            Err(e) => eprintln!("{}", daemon(e)),
        }
    }
}
