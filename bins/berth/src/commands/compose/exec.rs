//! `exec` (a command in a service's running container, by `--index`) and `run` (a one-off
//! container `<project>-<service>-run-<hex>` labelled `oneoff=True`, dependencies started
//! first), both through the same exec and attach flows as `berth exec` / `berth run`.

use std::io::{self, IsTerminal};

use anyhow::{anyhow, Result};
use serde_json::json;

use super::spec::{self, Replica};
use super::{deps, images, resources, state, up, Ctx, ExecArgs, RunArgs, Up};
use crate::commands::opts::env_entry;
use crate::commands::run::attached;
use crate::commands::{daemon, Exit};

pub fn exec(ctx: &Ctx, a: &ExecArgs) -> Result<()> {
    let (name, p) = ctx.target()?;
    state::check_services(p.as_ref(), std::slice::from_ref(&a.service))?;
    let list = state::service_containers(ctx.c, &name, false, std::slice::from_ref(&a.service))?;
    let x = list
        .iter()
        .find(|x| state::number(x) == a.index)
        .ok_or_else(|| {
            anyhow!(
                "service {:?} is not running (no container with index {}); start it with `berth compose up -d {}`",
                a.service, a.index, a.service
            )
        })?;
    let tty = !a.no_tty && io::stdin().is_terminal();
    let attach = !a.detach;
    let body = json!({
        "AttachStdin": attach,
        "AttachStdout": attach,
        "AttachStderr": attach,
        "Tty": tty,
        "Env": a.env.iter().filter_map(|e| env_entry(e)).collect::<Vec<_>>(),
        "Cmd": a.command,
        "User": a.user.clone().unwrap_or_default(),
        "WorkingDir": a.workdir.clone().unwrap_or_default(),
        "Privileged": a.privileged,
    });
    let c = ctx.c;
    let exec_id = c.exec_create(&x.id, &body).map_err(daemon)?;
    if a.detach {
        return c.exec_start_detached(&exec_id).map_err(daemon);
    }
    crate::commands::exec::attach_exec(c, &exec_id, tty, true)
}

pub fn run(ctx: &Ctx, a: &RunArgs) -> Result<()> {
    let c = ctx.c;
    let full = ctx.load(std::slice::from_ref(&a.service))?;
    let p = up::select(&full, std::slice::from_ref(&a.service), a.no_deps)?;
    let deps_names: Vec<String> = p
        .services
        .keys()
        .filter(|k| **k != a.service)
        .cloned()
        .collect();
    if !deps_names.is_empty() {
        let u = Up {
            detach: true,
            build: a.build,
            services: deps_names,
            ready_timeout: super::rolling::READY_TIMEOUT,
            ..Up::default()
        };
        up::up(ctx, &u)?;
    }
    let mut only = up::select(&p, std::slice::from_ref(&a.service), true)?;
    images::ensure_images(c, &only, a.build, false)?;
    resources::ensure_networks(c, &only)?;
    resources::ensure_volumes(c, &only)?;
    let s = only
        .services
        .get_mut(&a.service)
        .ok_or_else(|| anyhow!("no such service: {}", a.service))?;
    if !a.command.is_empty() {
        s.command = Some(a.command.clone());
    }
    if let Some(e) = &a.entrypoint {
        s.entrypoint = Some(e.split_whitespace().map(str::to_string).collect());
    }
    for e in a.env.iter().filter_map(|e| env_entry(e)) {
        let (k, v) = e.split_once('=').unwrap_or((&e, ""));
        s.environment.insert(k.to_string(), Some(v.to_string()));
    }
    if let Some(u) = &a.user {
        s.user = Some(u.clone());
    }
    if let Some(w) = &a.workdir {
        s.working_dir = Some(w.clone());
    }
    let tty = !a.no_tty && io::stdin().is_terminal();
    s.tty = tty;
    s.stdin_open = !a.detach;
    s.restart = None;
    s.container_name = None;
    let s = s.clone();
    super::files::check(&only)?;
    deps::wait_dependencies(c, &p, &s)?;
    let name = match &a.name {
        Some(n) => n.clone(),
        None => format!(
            "{}-{}-run-{}",
            p.name,
            a.service,
            &berth_types::random_id()?[..12]
        ),
    };
    let r = Replica {
        project: &only,
        service: &s,
        name: name.clone(),
        number: 1,
        image: state::image_name(&only, &a.service),
        oneoff: true,
        config_files: ctx.config_files(),
        network_mode: super::up::service_mode(c, &p, "network_mode", s.network_mode.as_ref())?,
        pid: super::up::service_mode(c, &p, "pid", s.pid.as_ref())?,
        ipc: super::up::service_mode(c, &p, "ipc", s.ipc.as_ref())?,
    };
    let mut body = spec::create_body(&r, a.service_ports);
    body["HostConfig"]["AutoRemove"] = json!(a.rm);
    if !a.detach {
        body["AttachStdin"] = json!(true);
        body["AttachStdout"] = json!(true);
        body["AttachStderr"] = json!(true);
        body["StdinOnce"] = json!(true);
    }
    let id = c.create_container(Some(&name), &body).map_err(daemon)?.id;
    super::files::inject(c, &id, &p, &s)?;
    if a.detach {
        c.start_container(&id).map_err(daemon)?;
        println!("{name}");
        return Ok(());
    }
    let cond = if a.rm { "removed" } else { "next-exit" };
    let code = attached(c, &id, true, tty, cond, true)?;
    if code != 0 {
        return Err(Exit::code(code));
    }
    Ok(())
}
