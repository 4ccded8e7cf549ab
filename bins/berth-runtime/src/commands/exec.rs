//! exec: a process.json (containerd's way) or a command line (a person's way).

use anyhow::{bail, Context, Result};
use berth_runtime::oci_spec::runtime::{Capability, LinuxCapabilities, Process, User};
use berth_runtime::Runtime;

use crate::cli::ExecArgs;

fn process_from_args(rt: &Runtime, a: &ExecArgs) -> Result<Process> {
    if let Some(p) = &a.process {
        let data = std::fs::read(p).with_context(|| format!("read {}", p.display()))?;
        return serde_json::from_slice(&data)
            .with_context(|| format!("{} is not a valid OCI process", p.display()));
    }
    if a.command.is_empty() {
        bail!("exec needs a command, or --process with a process.json");
    }
    // Start from the container's own process (env, user, caps), as runc does.
    let st = rt.state(&a.id)?;
    let spec = berth_runtime::load_spec(&st.bundle)?;
    let mut p = spec.process().clone().unwrap_or_default();
    p.set_args(Some(a.command.clone()));
    p.set_terminal(Some(a.tty));
    if let Some(cwd) = &a.cwd {
        p.set_cwd(cwd.into());
    }
    if !a.env.is_empty() {
        let mut env = p.env().clone().unwrap_or_default();
        for e in &a.env {
            let key = e.split('=').next().unwrap_or("");
            env.retain(|x| x.split('=').next() != Some(key));
            env.push(e.clone());
        }
        p.set_env(Some(env));
    }
    if let Some(u) = &a.user {
        let (uid, gid) = match u.split_once(':') {
            Some((u, g)) => (
                u.parse().context("uid must be numeric")?,
                g.parse().context("gid must be numeric")?,
            ),
            None => (u.parse().context("uid must be numeric")?, 0),
        };
        let mut user = User::default();
        user.set_uid(uid);
        user.set_gid(gid);
        p.set_user(user);
    }
    if !a.additional_gids.is_empty() {
        let mut user = p.user().clone();
        user.set_additional_gids(Some(a.additional_gids.clone()));
        p.set_user(user);
    }
    if !a.cap.is_empty() {
        let mut caps = p
            .capabilities()
            .clone()
            .unwrap_or_else(LinuxCapabilities::default);
        for c in &a.cap {
            let cap: Capability = c
                .parse()
                .map_err(|_| anyhow::anyhow!("unknown capability {c:?}"))?;
            for set in [
                caps.bounding().clone(),
                caps.effective().clone(),
                caps.permitted().clone(),
            ] {
                let _ = set;
            }
            let add = |s: Option<std::collections::HashSet<Capability>>| {
                let mut s = s.unwrap_or_default();
                s.insert(cap);
                Some(s)
            };
            caps.set_bounding(add(caps.bounding().clone()));
            caps.set_effective(add(caps.effective().clone()));
            caps.set_permitted(add(caps.permitted().clone()));
        }
        p.set_capabilities(Some(caps));
    }
    if a.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    Ok(p)
}

pub(crate) fn exec(rt: &Runtime, a: &ExecArgs) -> Result<i32> {
    let process = process_from_args(rt, a)?;
    if !a.detach {
        // Signals meant for the container must not kill us between clone and wait: block them
        // now; wait_forwarding collects and forwards them. The mask is left in place until
        // exit (run's cleanup runs with it too).
        berth_runtime::wait::block_signals()?;
    }
    let r = rt.exec(
        &a.id,
        &process,
        a.console_socket.as_deref(),
        a.pid_file.as_deref(),
        a.preserve_fds,
    )?;
    if a.detach {
        return Ok(0);
    }
    let code = berth_runtime::wait::wait_forwarding(r.pid, r.pty)?;
    Ok(code)
}
