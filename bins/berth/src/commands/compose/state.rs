//! A project's state as the daemon holds it: docker compose's labels, and the lookup of a
//! project's containers by the `com.docker.compose.project` label filter.

use anyhow::Result;
use berth_api_types::ContainerSummary;
use berth_client::{Client, ContainerListOptions};
use berth_compose::Project;

use crate::commands::daemon;

pub use berth_types::compose::PROJECT_LABEL as PROJECT;
pub const SERVICE: &str = "com.docker.compose.service";
pub const NUMBER: &str = "com.docker.compose.container-number";
pub use berth_types::compose::ONEOFF_LABEL as ONEOFF;
pub const HASH: &str = "com.docker.compose.config-hash";
pub const WORKDIR: &str = "com.docker.compose.project.working_dir";
pub const FILES: &str = "com.docker.compose.project.config_files";
pub const VERSION: &str = "com.docker.compose.version";
pub const NETWORK: &str = "com.docker.compose.network";
pub const VOLUME: &str = "com.docker.compose.volume";
pub const DEPENDS: &str = "com.docker.compose.depends_on";
pub const IMAGE: &str = "com.docker.compose.image";
/// berthd's port group label (see the engine's `networks::groups`): `<project>/<service>`.
pub const PORT_GROUP: &str = "org.berth.port-group";
/// The port group revision label: members of one revision share the traffic.
pub const PORT_GROUP_REVISION: &str = "org.berth.port-group.revision";

/// The docker compose version berth's labels claim compatibility with.
pub const COMPOSE_VERSION: &str = "2.29.0";

/// The label value of `key` on `c`, or "".
pub fn label<'a>(c: &'a ContainerSummary, key: &str) -> &'a str {
    c.labels.get(key).map_or("", String::as_str)
}

/// The container's name without the leading `/`.
pub fn name(c: &ContainerSummary) -> String {
    c.names
        .first()
        .map(|n| n.trim_start_matches('/').to_string())
        .unwrap_or_default()
}

/// The replica number of a service container (0 when the label is missing).
pub fn number(c: &ContainerSummary) -> u32 {
    label(c, NUMBER).parse().unwrap_or(0)
}

/// Whether `c` is a `run` container.
pub fn is_oneoff(c: &ContainerSummary) -> bool {
    berth_types::compose::is_oneoff(&c.labels)
}

/// The project's containers (running only unless `all`), sorted by service then number.
pub fn containers(c: &Client, project: &str, all: bool) -> Result<Vec<ContainerSummary>> {
    let o = ContainerListOptions {
        all,
        filters: vec![format!("label={PROJECT}={project}")],
        ..ContainerListOptions::default()
    };
    let mut v = c.list_containers(&o).map_err(daemon)?;
    // The filter is the daemon's; checked again so a lax daemon cannot mix projects.
    v.retain(|x| label(x, PROJECT) == project);
    v.sort_by(|a, b| {
        (label(a, SERVICE), number(a), name(a)).cmp(&(label(b, SERVICE), number(b), name(b)))
    });
    Ok(v)
}

/// The project's service containers (not one-off), of `services` when not empty.
pub fn service_containers(
    c: &Client,
    project: &str,
    all: bool,
    services: &[String],
) -> Result<Vec<ContainerSummary>> {
    let mut v = containers(c, project, all)?;
    v.retain(|x| {
        !is_oneoff(x) && (services.is_empty() || services.iter().any(|s| s == label(x, SERVICE)))
    });
    Ok(v)
}

/// Services in start order: the model's when there is one, else by name.
pub fn ordered(p: Option<&Project>, list: Vec<ContainerSummary>) -> Vec<ContainerSummary> {
    let order: Vec<String> = p.map(Project::start_order).unwrap_or_default();
    let rank = |c: &ContainerSummary| {
        order
            .iter()
            .position(|s| s == label(c, SERVICE))
            .unwrap_or(usize::MAX)
    };
    let mut list = list;
    list.sort_by_key(|c| (rank(c), label(c, SERVICE).to_string(), number(c)));
    list
}

/// The name of replica `n` of `service`: `container_name`, or `<project>-<service>-<n>`.
pub fn container_name(p: &Project, service: &str, n: u32) -> String {
    match p
        .services
        .get(service)
        .and_then(|s| s.container_name.clone())
    {
        Some(fixed) => fixed,
        None => format!("{}-{service}-{n}", p.name),
    }
}

/// The image a service runs: `image:`, else `<project>-<service>` (docker compose's rule
/// for built images).
pub fn image_name(p: &Project, service: &str) -> String {
    p.services
        .get(service)
        .or_else(|| p.disabled_services.get(service))
        .and_then(|s| s.image.clone())
        .unwrap_or_else(|| format!("{}-{service}", p.name))
}

/// `--services` names, checked against the model when there is one.
pub fn check_services(p: Option<&Project>, services: &[String]) -> Result<()> {
    if let Some(p) = p {
        for s in services {
            if !p.services.contains_key(s) && !p.disabled_services.contains_key(s) {
                anyhow::bail!("no such service: {s}");
            }
        }
    }
    Ok(())
}
