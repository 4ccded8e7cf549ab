//! create, start, run, kill, delete, pause, resume.

use anyhow::Result;
use berth_runtime::{CreateOptions, Runtime};

use crate::cli::{CreateArgs, UpdateArgs};

fn options(a: &CreateArgs) -> CreateOptions {
    CreateOptions {
        id: a.id.clone(),
        bundle: a.bundle.clone(),
        console_socket: a.console_socket.clone(),
        pid_file: a.pid_file.clone(),
        no_pivot: a.no_pivot,
        preserve_fds: a.preserve_fds,
    }
}

fn warn(ws: &[String]) {
    for w in ws {
        eprintln!("berth-runtime: warning: {w}");
    }
}

pub(crate) fn create(rt: &Runtime, a: &CreateArgs) -> Result<i32> {
    let c = rt.create(&options(a))?;
    warn(&c.warnings);
    Ok(0)
}

pub(crate) fn start(rt: &Runtime, id: &str) -> Result<i32> {
    rt.start(id)?;
    Ok(0)
}

pub(crate) fn run(rt: &Runtime, a: &CreateArgs, detach: bool, keep: bool) -> Result<i32> {
    if !detach {
        // Signals meant for the container must not kill us between clone and wait: block them
        // now; wait_forwarding collects and forwards them. The mask is left in place until
        // exit (run's cleanup runs with it too).
        berth_runtime::wait::block_signals()?;
    }
    let r = rt.run(&options(a))?;
    warn(&r.warnings);
    if detach {
        return Ok(0);
    }
    let code = berth_runtime::wait::wait_forwarding(r.pid, r.pty)?;
    if !keep {
        rt.delete(&a.id, true)?;
    }
    Ok(code)
}

pub(crate) fn kill(rt: &Runtime, id: &str, signal: &str, all: bool) -> Result<i32> {
    rt.kill(id, super::parse_signal(signal)?, all)?;
    Ok(0)
}

pub(crate) fn delete(rt: &Runtime, id: &str, force: bool) -> Result<i32> {
    match rt.delete(id, force) {
        // runc: deleting a container that does not exist succeeds with --force.
        Err(berth_runtime::RuntimeError::NotFound(_)) if force => Ok(0),
        r => r.map(|()| 0).map_err(Into::into),
    }
}

pub(crate) fn pause(rt: &Runtime, id: &str) -> Result<i32> {
    rt.pause(id)?;
    Ok(0)
}

pub(crate) fn resume(rt: &Runtime, id: &str) -> Result<i32> {
    rt.resume(id)?;
    Ok(0)
}

pub(crate) fn update(rt: &Runtime, a: &UpdateArgs) -> Result<i32> {
    use anyhow::Context;
    let mut res: serde_json::Value = match &a.resources {
        Some(p) if p.as_os_str() == "-" => serde_json::from_reader(std::io::stdin())
            .context("--resources -: stdin is not OCI LinuxResources JSON")?,
        Some(p) => serde_json::from_slice(
            &std::fs::read(p).with_context(|| format!("read {}", p.display()))?,
        )
        .with_context(|| format!("{} is not OCI LinuxResources JSON", p.display()))?,
        None => serde_json::json!({}),
    };
    let mut set = |section: &str, key: &str, v: serde_json::Value| {
        if !res[section].is_object() {
            res[section] = serde_json::json!({});
        }
        res[section][key] = v;
    };
    if let Some(v) = a.memory {
        set("memory", "limit", v.into())
    }
    if let Some(v) = a.memory_reservation {
        set("memory", "reservation", v.into())
    }
    if let Some(v) = a.memory_swap {
        set("memory", "swap", v.into())
    }
    if let Some(v) = a.cpu_shares {
        set("cpu", "shares", v.into())
    }
    if let Some(v) = a.cpu_period {
        set("cpu", "period", v.into())
    }
    if let Some(v) = a.cpu_quota {
        set("cpu", "quota", v.into())
    }
    if let Some(v) = &a.cpuset_cpus {
        set("cpu", "cpus", v.clone().into())
    }
    if let Some(v) = &a.cpuset_mems {
        set("cpu", "mems", v.clone().into())
    }
    if let Some(v) = a.pids_limit {
        set("pids", "limit", v.into())
    }
    let resources: berth_runtime::oci_spec::runtime::LinuxResources =
        serde_json::from_value(res)
            .context("the resulting resources are not valid OCI LinuxResources")?;
    rt.update(&a.id, &resources)?;
    Ok(0)
}
