//! Read-only verbs: `ps`, `ls` (projects from container labels), `images`, `top`, with
//! docker compose's columns.

use std::collections::BTreeMap;

use anyhow::Result;
use berth_api_types::ContainerSummary;
use berth_client::ContainerListOptions;
use serde_json::{json, Value};

use super::{state, Ctx, Ls, Ps, Services};
use crate::commands::daemon;
use crate::format::{human_size, since, table};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// docker compose's command column: quoted, cut to 20 characters with `…`.
fn command(c: &ContainerSummary) -> String {
    let mut s: String = c.command.chars().take(20).collect();
    if c.command.chars().count() > 20 {
        s.pop();
        s.push('…');
    }
    format!("\"{s}\"")
}

pub fn ps(ctx: &Ctx, a: &Ps) -> Result<()> {
    let (name, p) = ctx.target()?;
    state::check_services(p.as_ref(), &a.services)?;
    let list = state::service_containers(ctx.c, &name, a.all, &a.services)?;
    if a.list_services {
        let mut seen: Vec<&str> = list
            .iter()
            .map(|x| state::label(x, state::SERVICE))
            .collect();
        seen.dedup();
        for s in seen {
            println!("{s}");
        }
        return Ok(());
    }
    if a.quiet {
        for x in &list {
            println!("{}", x.id);
        }
        return Ok(());
    }
    let mut list = list;
    list.sort_by_key(state::name);
    if a.format == "json" {
        for x in &list {
            let v = json!({
                "ID": x.id,
                "Name": state::name(x),
                "Image": x.image,
                "Command": x.command,
                "Project": name,
                "Service": state::label(x, state::SERVICE),
                "Created": x.created,
                "State": x.state,
                "Status": x.status,
                "Health": health(&x.status),
                "Labels": x.labels,
                "Ports": crate::commands::ports::display_ports(&x.ports),
                "Publishers": x.ports,
            });
            println!("{v}");
        }
        return Ok(());
    }
    let mut rows = vec![[
        "NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS",
    ]
    .map(String::from)
    .to_vec()];
    for x in &list {
        rows.push(vec![
            state::name(x),
            x.image.clone(),
            command(x),
            state::label(x, state::SERVICE).to_string(),
            since(x.created, now()),
            x.status.clone(),
            crate::commands::ports::display_ports(&x.ports),
        ]);
    }
    print!("{}", table(&rows));
    Ok(())
}

fn health(status: &str) -> &'static str {
    if status.contains("(healthy)") {
        "healthy"
    } else if status.contains("(unhealthy)") {
        "unhealthy"
    } else if status.contains("(health: starting)") {
        "starting"
    } else {
        ""
    }
}

/// `ls`: projects found from the `com.docker.compose.project` label of containers.
pub fn ls(ctx: &Ctx, a: &Ls) -> Result<()> {
    let o = ContainerListOptions {
        all: true,
        filters: vec![format!("label={}", state::PROJECT)],
        ..ContainerListOptions::default()
    };
    let list = ctx.c.list_containers(&o).map_err(daemon)?;
    let mut projects: BTreeMap<String, (BTreeMap<String, usize>, String)> = BTreeMap::new();
    for x in &list {
        let p = state::label(x, state::PROJECT);
        if p.is_empty() {
            continue;
        }
        let e = projects.entry(p.to_string()).or_default();
        *e.0.entry(x.state.clone()).or_default() += 1;
        if e.1.is_empty() {
            e.1 = state::label(x, state::FILES).to_string();
        }
    }
    projects.retain(|_, (states, _)| a.all || states.contains_key("running"));
    if a.quiet {
        for k in projects.keys() {
            println!("{k}");
        }
        return Ok(());
    }
    let status = |m: &BTreeMap<String, usize>| {
        let parts: Vec<String> = m.iter().map(|(s, n)| format!("{s}({n})")).collect();
        parts.join(", ")
    };
    if a.format == "json" {
        let v: Vec<Value> = projects
            .iter()
            .map(|(k, (m, f))| json!({"Name": k, "Status": status(m), "ConfigFiles": f}))
            .collect();
        println!("{}", Value::Array(v));
        return Ok(());
    }
    let mut rows = vec![vec![
        "NAME".to_string(),
        "STATUS".into(),
        "CONFIG FILES".into(),
    ]];
    for (k, (m, f)) in &projects {
        rows.push(vec![k.clone(), status(m), f.clone()]);
    }
    print!("{}", table(&rows));
    Ok(())
}

/// `images`: the images of the project's containers.
pub fn images(ctx: &Ctx, a: &Services) -> Result<()> {
    let (name, p) = ctx.target()?;
    state::check_services(p.as_ref(), &a.services)?;
    let list = state::service_containers(ctx.c, &name, true, &a.services)?;
    let mut rows = vec![["CONTAINER", "REPOSITORY", "TAG", "IMAGE ID", "SIZE"]
        .map(String::from)
        .to_vec()];
    for x in &list {
        let (repo, tag) = crate::commands::api_images::split_tag(&x.image);
        let size = ctx
            .c
            .inspect_image_raw(&x.image_id)
            .ok()
            .and_then(|v| v["Size"].as_u64())
            .map_or_else(String::new, human_size);
        let id: String = x
            .image_id
            .trim_start_matches("sha256:")
            .chars()
            .take(12)
            .collect();
        rows.push(vec![state::name(x), repo, tag, id, size]);
    }
    print!("{}", table(&rows));
    Ok(())
}

/// `top`: the processes of each running container, under its name.
pub fn top(ctx: &Ctx, a: &Services) -> Result<()> {
    let (name, p) = ctx.target()?;
    state::check_services(p.as_ref(), &a.services)?;
    let list = state::service_containers(ctx.c, &name, false, &a.services)?;
    for (i, x) in list.iter().enumerate() {
        if i > 0 {
            println!();
        }
        println!("{}", state::name(x));
        let v = ctx.c.top(&x.id, None).map_err(daemon)?;
        print!("{}", table(&crate::commands::containers::top_rows(&v)));
    }
    Ok(())
}
