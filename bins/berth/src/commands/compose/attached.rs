//! `up` without `-d`: follow the project's logs until every container exits (or one does,
//! with `--abort-on-container-exit`/`--abort-on-container-failure`/`--exit-code-from`), or
//! until SIGINT/SIGTERM, then stop the containers as docker compose does.
//!
//! Exit status (docker compose's): 130 after a signal; with `--exit-code-from SERVICE`, that
//! service's container's exit code; after an abort, the exit code of the container that
//! caused it; otherwise 0.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Result};
use berth_api_types::ContainerSummary;
use berth_client::LogsOptions;
use berth_compose::Project;

use super::up::stop_timeout;
use super::{logs, state, Ctx, Up};
use crate::commands::{daemon, Exit};

/// When the first exit ends the whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Abort {
    Never,
    OnExit,
    OnFailure,
}

pub fn attach(ctx: &Ctx, p: &Project, names: &[String], a: &Up) -> Result<()> {
    use nix::sys::signal::{SigSet, Signal};
    if let Some(s) = &a.exit_code_from {
        if !p.services.contains_key(s) {
            bail!("no such service: {s} (given to --exit-code-from)");
        }
    }
    let abort = match (
        a.abort_on_container_exit || a.exit_code_from.is_some(),
        a.abort_on_container_failure,
    ) {
        (true, _) => Abort::OnExit,
        (false, true) => Abort::OnFailure,
        (false, false) => Abort::Never,
    };
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    // Blocked before any thread starts, so only the waiting thread below receives them.
    set.thread_block()?;
    let list = state::ordered(
        Some(p),
        state::service_containers(ctx.c, &p.name, true, names)?,
    );
    let services: BTreeMap<String, String> = list
        .iter()
        .map(|x| (x.id.clone(), state::label(x, state::SERVICE).to_string()))
        .collect();
    let prefixes = logs::prefixes(&p.name, &list, logs::use_color(false), false);
    let (tx, rx) = std::sync::mpsc::channel();
    let o = LogsOptions {
        follow: true,
        tail: Some("all".into()),
        ..LogsOptions::default()
    };
    let n = prefixes.len();
    logs::follow_all(ctx.c.host(), prefixes, &o, &tx);
    let (stx, srx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        if set.wait().is_ok() {
            let _ = stx.send(());
        }
    });
    let mut codes: BTreeMap<String, i64> = BTreeMap::new();
    let mut ended = 0;
    while ended < n {
        if srx.try_recv().is_ok() {
            eprintln!("Gracefully stopping... (press Ctrl+C again to force)");
            stop_all(ctx, p, &list, a.timeout)?;
            return Err(Exit::code(130));
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok((id, code)) => {
                ended += 1;
                let Some(code) = code else { continue };
                codes.insert(services.get(&id).cloned().unwrap_or_default(), code);
                let stop = match abort {
                    Abort::OnExit => true,
                    Abort::OnFailure => code != 0,
                    Abort::Never => false,
                };
                if stop {
                    eprintln!("Aborting on container exit...");
                    stop_all(ctx, p, &list, a.timeout)?;
                    let from = match &a.exit_code_from {
                        Some(s) => exit_code_of(ctx, &list, s)?,
                        None => code,
                    };
                    return exit_with(from);
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(_) => break,
        }
    }
    match &a.exit_code_from {
        Some(s) => exit_with(codes.get(s).copied().unwrap_or(0)),
        None => Ok(()),
    }
}

fn exit_with(code: i64) -> Result<()> {
    match code {
        0 => Ok(()),
        c => Err(Exit::code(c)),
    }
}

/// The exit code of `service`'s first container (0 while it still runs: it was stopped by
/// the abort, as docker compose reports then).
fn exit_code_of(ctx: &Ctx, list: &[ContainerSummary], service: &str) -> Result<i64> {
    let Some(x) = list
        .iter()
        .find(|x| state::label(x, state::SERVICE) == service)
    else {
        return Ok(0);
    };
    let v = ctx.c.inspect_container_raw(&x.id).map_err(daemon)?;
    Ok(v["State"]["ExitCode"].as_i64().unwrap_or(0))
}

/// Stops the containers still running, in reverse dependency order.
fn stop_all(ctx: &Ctx, p: &Project, list: &[ContainerSummary], timeout: Option<i64>) -> Result<()> {
    for x in list.iter().rev() {
        let running = ctx
            .c
            .inspect_container_raw(&x.id)
            .map(|v| v["State"]["Running"] == true)
            .unwrap_or(false);
        if !running {
            continue;
        }
        let t = stop_timeout(Some(p), state::label(x, state::SERVICE), timeout);
        super::lifecycle::stop_one(ctx.c, x, t)?;
    }
    Ok(())
}
