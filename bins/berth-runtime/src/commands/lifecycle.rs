//! create, start, run, kill, delete, pause, resume.

use anyhow::Result;
use berth_runtime::{CreateOptions, Runtime};

use crate::cli::CreateArgs;

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
