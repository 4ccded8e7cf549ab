//! `start`, `stop`, `restart`, `kill`, `rm`: the project's service containers in dependency
//! order (start) or its reverse (the others), with docker compose's progress lines.

use std::io::{self, BufRead, IsTerminal, Write};

use anyhow::Result;
use berth_api_types::ContainerSummary;
use berth_client::Client;

use super::{event, state, up, Ctx, Kill, Rm, Services, Timeout};
use crate::commands::{daemon, Exit};

pub fn start(ctx: &Ctx, a: &Services) -> Result<()> {
    let (name, p) = ctx.target()?;
    state::check_services(p.as_ref(), &a.services)?;
    let list = state::service_containers(ctx.c, &name, true, &a.services)?;
    if list.is_empty() {
        return Err(Exit {
            code: 1,
            msg: Some(format!(
                "no containers to start for project {name:?}; create them with `berth compose up`"
            )),
        }
        .into());
    }
    for x in state::ordered(p.as_ref(), list) {
        let n = state::name(&x);
        if x.state == "running" {
            continue;
        }
        if let Some(p) = &p {
            if let Some(s) = p.services.get(state::label(&x, state::SERVICE)) {
                super::deps::wait_dependencies(ctx.c, p, s)?;
            }
        }
        event("Container", &n, "Starting");
        ctx.c.start_container(&x.id).map_err(daemon)?;
        event("Container", &n, "Started");
    }
    Ok(())
}

/// `stop`, or `restart` when `restart` (then also the services that declare
/// `depends_on.<a restarted service>.restart: true`, after it, as docker compose does).
pub fn stop(ctx: &Ctx, a: &Timeout, restart: bool) -> Result<()> {
    let (name, p) = ctx.target()?;
    state::check_services(p.as_ref(), &a.services)?;
    let mut services = a.services.clone();
    if let Some(p) = p.as_ref().filter(|_| restart && !services.is_empty()) {
        services = with_restart_dependents(p, services);
    }
    let list = state::service_containers(ctx.c, &name, !restart, &services)?;
    let mut list = state::ordered(p.as_ref(), list);
    if !restart {
        list.reverse();
    }
    for x in list {
        let t = up::stop_timeout(p.as_ref(), state::label(&x, state::SERVICE), a.timeout);
        if restart {
            restart_one(ctx.c, &x, t)?;
        } else if x.state == "running" {
            stop_one(ctx.c, &x, t)?;
        }
    }
    Ok(())
}

/// Stops one container with docker compose's progress lines.
pub fn stop_one(c: &Client, x: &ContainerSummary, timeout: Option<i64>) -> Result<()> {
    let n = state::name(x);
    event("Container", &n, "Stopping");
    c.stop_container(&x.id, timeout, None).map_err(daemon)?;
    event("Container", &n, "Stopped");
    Ok(())
}

/// Restarts one container with docker compose's progress lines.
pub fn restart_one(c: &Client, x: &ContainerSummary, timeout: Option<i64>) -> Result<()> {
    let n = state::name(x);
    event("Container", &n, "Restarting");
    c.restart_container(&x.id, timeout).map_err(daemon)?;
    event("Container", &n, "Started");
    Ok(())
}

/// `names` plus, transitively, the services with `depends_on.<one of them>.restart: true`.
fn with_restart_dependents(p: &berth_compose::Project, mut names: Vec<String>) -> Vec<String> {
    loop {
        let more: Vec<String> = p
            .services
            .iter()
            .filter(|(n, _)| !names.contains(n))
            .filter(|(_, s)| {
                s.depends_on
                    .iter()
                    .any(|(d, dep)| dep.restart && names.contains(d))
            })
            .map(|(n, _)| n.clone())
            .collect();
        if more.is_empty() {
            return names;
        }
        names.extend(more);
    }
}

pub fn kill(ctx: &Ctx, a: &Kill) -> Result<()> {
    let (name, p) = ctx.target()?;
    state::check_services(p.as_ref(), &a.services)?;
    let mut list = state::ordered(
        p.as_ref(),
        state::service_containers(ctx.c, &name, false, &a.services)?,
    );
    list.reverse();
    for x in list {
        let n = state::name(&x);
        event("Container", &n, "Killing");
        ctx.c
            .kill_container(&x.id, Some(&a.signal))
            .map_err(daemon)?;
        event("Container", &n, "Killed");
    }
    Ok(())
}

pub fn rm(ctx: &Ctx, a: &Rm) -> Result<()> {
    let (name, p) = ctx.target()?;
    state::check_services(p.as_ref(), &a.services)?;
    if a.stop {
        stop(
            ctx,
            &Timeout {
                timeout: None,
                services: a.services.clone(),
            },
            false,
        )?;
    }
    let list: Vec<_> = state::service_containers(ctx.c, &name, true, &a.services)?
        .into_iter()
        .filter(|x| x.state != "running" && x.state != "restarting")
        .collect();
    if list.is_empty() {
        eprintln!("No stopped containers");
        return Ok(());
    }
    let names: Vec<String> = list.iter().map(state::name).collect();
    if !a.force {
        eprintln!("Going to remove {}", names.join(", "));
        eprint!("? Are you sure? (y/N) ");
        io::stderr().flush()?;
        let mut line = String::new();
        if io::stdin().is_terminal() {
            io::stdin().lock().read_line(&mut line)?;
        }
        if !line.trim().eq_ignore_ascii_case("y") {
            eprintln!();
            return Ok(());
        }
    }
    for x in list {
        let n = state::name(&x);
        event("Container", &n, "Removing");
        ctx.c
            .remove_container(&x.id, false, a.volumes)
            .map_err(daemon)?;
        event("Container", &n, "Removed");
    }
    Ok(())
}
