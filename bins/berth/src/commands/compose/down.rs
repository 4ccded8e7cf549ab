//! `down`: stop and remove the project's containers (dependents first), then its networks,
//! with `-v` its named volumes, with `--rmi` its images. External networks and volumes are
//! never removed. Works from the compose file, or from `-p NAME` alone.

use std::collections::BTreeSet;

use anyhow::{anyhow, Result};
use berth_api_types::ContainerSummary;
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
    // Dependents before what they depend on; the containers of one level at once.
    let model = p.as_ref();
    for level in levels(model, state::ordered(model, remove)) {
        std::thread::scope(|s| {
            let stops: Vec<_> = level
                .iter()
                .map(|x| {
                    s.spawn(move || {
                        let svc = state::label(x, state::SERVICE);
                        let t = up::stop_timeout(model, svc, a.timeout);
                        up::remove(c, x, t, a.volumes)
                    })
                })
                .collect();
            stops.into_iter().try_for_each(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow!("removing a container failed")))
            })
        })?;
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

/// `list` in stop order, grouped by a service's depth: the longest `depends_on` chain below
/// it. The deepest dependents come first, what nothing depends on below last; without a
/// model, one group.
fn levels(p: Option<&Project>, list: Vec<ContainerSummary>) -> Vec<Vec<ContainerSummary>> {
    let Some(p) = p else {
        return vec![list];
    };
    fn depth(p: &Project, svc: &str, seen: &mut Vec<String>) -> usize {
        if seen.iter().any(|s| s == svc) {
            return 0;
        }
        seen.push(svc.to_string());
        let d = p
            .services
            .get(svc)
            .map(|s| {
                s.depends_on
                    .keys()
                    .map(|dep| 1 + depth(p, dep, seen))
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        seen.pop();
        d
    }
    let mut by: std::collections::BTreeMap<usize, Vec<ContainerSummary>> = Default::default();
    for x in list {
        let d = depth(p, state::label(&x, state::SERVICE), &mut Vec::new());
        by.entry(d).or_default().push(x);
    }
    by.into_values().rev().collect()
}
