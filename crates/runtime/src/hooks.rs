//! OCI lifecycle hooks: programs run with the container state on stdin.
//!
//! dockerd relies on them (its network setup is a prestart hook), so they are not optional for a
//! runtime that dockerd drives. A hook that fails or overruns its timeout fails the operation,
//! except poststart and poststop, whose failures the spec says to report and ignore.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::Hook;

use crate::error::{Result, RuntimeError};

/// Runs `hooks` in order with `state` (the OCI state JSON) on each one's stdin.
pub(crate) fn run(kind: &'static str, hooks: &[Hook], state: &serde_json::Value) -> Result<()> {
    let input = serde_json::to_vec(state).map_err(|e| RuntimeError::Invalid(e.to_string()))?;
    for h in hooks {
        let path = h.path().clone();
        let hook_err = |msg: String| RuntimeError::Hook {
            kind,
            path: path.clone(),
            msg,
        };
        let mut cmd = Command::new(&path);
        if let Some(args) = h.args() {
            if let Some((a0, rest)) = args.split_first() {
                cmd.arg0(a0).args(rest);
            }
        }
        cmd.env_clear();
        for e in h.env().iter().flatten() {
            if let Some((k, v)) = e.split_once('=') {
                cmd.env(k, v);
            }
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| hook_err(format!("cannot start: {e}")))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A hook that does not read its stdin is allowed: ignore EPIPE.
            let _ = stdin.write_all(&input);
        }
        let deadline = h
            .timeout()
            .map(|t| Instant::now() + Duration::from_secs(t.max(1) as u64));
        let status = loop {
            if let Some(st) = child.try_wait().map_err(|e| hook_err(e.to_string()))? {
                break st;
            }
            if deadline.is_some_and(|d| Instant::now() > d) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(hook_err(format!(
                    "timed out after {}s",
                    h.timeout().unwrap_or(0)
                )));
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        if !status.success() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            return Err(hook_err(format!("{status}: {}", err.trim())));
        }
    }
    Ok(())
}
