//! `exec`: create the exec instance, start it over a hijacked connection (or detached),
//! then ask for its exit code — docker's flow, so `berth exec` exits with the process's code.

use std::io;

use anyhow::Result;
use berth_client::Client;
use clap::Args;
use serde_json::json;

use super::opts::env_entry;
use super::{daemon, Exit};

#[derive(Debug, Args)]
pub struct Exec {
    /// Detached mode: run command in the background.
    #[arg(short, long)]
    detach: bool,
    /// Keep STDIN open even if not attached.
    #[arg(short, long)]
    interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    tty: bool,
    /// Set environment variables.
    #[arg(short, long)]
    env: Vec<String>,
    /// Username or UID (format: "<name|uid>[:<group|gid>]").
    #[arg(short, long)]
    user: Option<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    workdir: Option<String>,
    /// Give extended privileges to the command.
    #[arg(long)]
    privileged: bool,
    container: String,
    /// The command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

pub fn exec(c: &Client, a: &Exec) -> Result<()> {
    let attach = !a.detach;
    let body = json!({
        "AttachStdin": attach && a.interactive,
        "AttachStdout": attach,
        "AttachStderr": attach,
        "Tty": a.tty,
        "Env": a.env.iter().filter_map(|e| env_entry(e)).collect::<Vec<_>>(),
        "Cmd": a.command,
        "User": a.user.clone().unwrap_or_default(),
        "WorkingDir": a.workdir.clone().unwrap_or_default(),
        "Privileged": a.privileged,
    });
    let exec_id = c.exec_create(&a.container, &body).map_err(daemon)?;
    if a.detach {
        return c.exec_start_detached(&exec_id).map_err(daemon);
    }
    attach_exec(c, &exec_id, a.tty, a.interactive)
}

/// Starts exec `exec_id` attached to this terminal (stdin too when `stdin`), and ends with
/// its exit code as berth's.
pub fn attach_exec(c: &Client, exec_id: &str, tty: bool, stdin: bool) -> Result<()> {
    let conn = c.exec_start(exec_id, tty).map_err(daemon)?;
    let raw = tty.then(crate::tty::RawMode::enter);
    let input: Option<Box<dyn io::Read + Send>> = stdin.then(|| Box::new(io::stdin()) as _);
    let pumped = conn.pump(input, &mut io::stdout(), &mut io::stderr());
    drop(raw);
    pumped.map_err(daemon)?;
    let v = c.exec_inspect(exec_id).map_err(daemon)?;
    match v["ExitCode"].as_i64() {
        Some(0) | None => Ok(()),
        Some(code) => Err(Exit::code(code)),
    }
}
