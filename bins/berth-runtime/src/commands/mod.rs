//! One file per group of verbs; `dispatch` routes the parsed command line.

mod exec;
mod info;
mod lifecycle;

use anyhow::{bail, Result};
use berth_runtime::Runtime;

use crate::cli::{Cli, Command};

/// Runs the command; returns the process exit code.
pub(crate) fn dispatch(cli: &Cli) -> Result<i32> {
    if cli.systemd_cgroup {
        bail!("--systemd-cgroup is not supported yet: use cgroupfs paths (berth-runtime manages cgroups directly)");
    }
    let rt = Runtime::new(&cli.root);
    match &cli.command {
        Command::Create(a) => lifecycle::create(&rt, a),
        Command::Start { id } => lifecycle::start(&rt, id),
        Command::Run {
            create,
            detach,
            keep,
        } => lifecycle::run(&rt, create, *detach, *keep),
        Command::Kill { id, signal, all } => lifecycle::kill(&rt, id, signal, *all),
        Command::Delete { id, force } => lifecycle::delete(&rt, id, *force),
        Command::Pause { id } => lifecycle::pause(&rt, id),
        Command::Resume { id } => lifecycle::resume(&rt, id),
        Command::Exec(a) => exec::exec(&rt, a),
        Command::State { id } => info::state(&rt, id),
        Command::Ps {
            id,
            format,
            ps_args,
        } => info::ps(&rt, id, format, ps_args),
        Command::List { format, quiet } => info::list(&rt, format, *quiet),
        Command::Features => info::features(),
        Command::Events { id, stats } => info::events(&rt, id, *stats),
        Command::Update(a) => lifecycle::update(&rt, a),
    }
}

/// Parses "KILL", "SIGKILL", "sigkill" or "9" (`berth_runtime::parse_signal`), with runc's
/// errors.
pub(crate) fn parse_signal(s: &str) -> Result<i32> {
    match berth_runtime::parse_signal(s) {
        Some(n) => Ok(n),
        None if s.parse::<i32>().is_ok() => bail!("signal {s} is out of range 1-64"),
        None => bail!("unknown signal {s:?}: use a name like SIGTERM or KILL, or a number"),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_signal;

    #[test]
    fn signals_parse_like_runc() {
        assert_eq!(parse_signal("KILL").unwrap(), 9);
        assert_eq!(parse_signal("SIGTERM").unwrap(), 15);
        assert_eq!(parse_signal("sigusr1").unwrap(), 10);
        assert_eq!(parse_signal("9").unwrap(), 9);
        assert!(parse_signal("SIGNOPE").is_err());
        assert!(parse_signal("0").is_err());
    }
}
