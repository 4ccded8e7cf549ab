//! `logs` and the attached mode of `up`: every container's output, line by line, behind a
//! `web-1  | ` prefix (coloured on a terminal), both streams to stdout like docker compose.
//!
//! Why one thread and one client per followed container: a followed log is a request that
//! never ends while the container runs, and berth-client drives one request at a time.

use std::io::{self, IsTerminal, Write};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use berth_api_types::ContainerSummary;
use berth_client::{Client, Demux, Host, LogsOptions};

use super::{state, Ctx, Logs};
use crate::commands::daemon;

const COLORS: [u8; 6] = [36, 33, 32, 35, 34, 31];

/// How one container's lines are prefixed.
#[derive(Debug, Clone)]
pub struct Prefix {
    pub id: String,
    pub name: String,
    text: String,
}

/// The prefixes of `list`: the container name without `<project>-`, padded to the widest,
/// coloured when `color`.
pub fn prefixes(project: &str, list: &[ContainerSummary], color: bool, bare: bool) -> Vec<Prefix> {
    let short = |c: &ContainerSummary| {
        let n = state::name(c);
        n.strip_prefix(&format!("{project}-"))
            .map_or(n.clone(), str::to_string)
    };
    let width = list.iter().map(|c| short(c).len()).max().unwrap_or(0);
    list.iter()
        .enumerate()
        .map(|(i, c)| {
            let s = format!("{:<width$}  | ", short(c));
            let text = if bare {
                String::new()
            } else if color {
                format!("\x1b[{}m{s}\x1b[0m", COLORS[i % COLORS.len()])
            } else {
                s
            };
            Prefix {
                id: c.id.clone(),
                name: state::name(c),
                text,
            }
        })
        .collect()
}

/// Whether prefixes are coloured: on a terminal, unless `--no-color` or `NO_COLOR`.
pub fn use_color(no_color: bool) -> bool {
    !no_color && std::env::var_os("NO_COLOR").is_none() && io::stdout().is_terminal()
}

/// Copies the logs of one container to `out`, prefixing each line.
pub fn stream(c: &Client, p: &Prefix, o: &LogsOptions, out: &Mutex<io::Stdout>) -> Result<()> {
    let mut s = c.logs(&p.id, o).map_err(daemon)?;
    let raw = s.is_raw();
    let mut d = Demux::default();
    let (mut bufs, mut pending) = ([Vec::new(), Vec::new()], Vec::new());
    let emit = |buf: &mut Vec<u8>, all: bool| -> io::Result<()> {
        let mut o = out.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=nl).collect();
            o.write_all(p.text.as_bytes())?;
            o.write_all(&line)?;
        }
        if all && !buf.is_empty() {
            o.write_all(p.text.as_bytes())?;
            o.write_all(buf)?;
            o.write_all(b"\n")?;
            buf.clear();
        }
        o.flush()
    };
    while let Some(chunk) = s.next_chunk().map_err(daemon)? {
        if raw {
            pending.extend_from_slice(&chunk);
            emit(&mut pending, false)?;
            continue;
        }
        d.push(&chunk);
        while let Some((k, payload)) = d.next_frame() {
            let i = usize::from(k == berth_client::StreamKind::Stderr);
            bufs[i].extend_from_slice(&payload);
            emit(&mut bufs[i], false)?;
        }
    }
    for b in bufs.iter_mut().chain([&mut pending]) {
        emit(b, true)?;
    }
    Ok(())
}

/// Follows every container in `prefixes` on its own thread; each sends `()` when its log
/// ends (the container stopped), after printing docker compose's `NAME exited with code N`.
/// A followed container's log ended: its id, and its exit code when it is no longer running.
pub type Ended = (String, Option<i64>);

pub fn follow_all(host: &Host, prefixes: Vec<Prefix>, o: &LogsOptions, tx: &Sender<Ended>) {
    let out = Arc::new(Mutex::new(io::stdout()));
    for p in prefixes {
        let (host, o, tx, out) = (host.clone(), o.clone(), tx.clone(), out.clone());
        std::thread::spawn(move || {
            let r = Client::new(host)
                .map_err(daemon)
                .and_then(|c| stream(&c, &p, &o, &out).map(|()| c));
            let mut exit = None;
            match r {
                Ok(c) => {
                    if let Ok(v) = c.inspect_container_raw(&p.id) {
                        if v["State"]["Running"] == false {
                            let code = v["State"]["ExitCode"].as_i64().unwrap_or(0);
                            let mut o = out.lock().unwrap_or_else(|e| e.into_inner());
                            let _ = writeln!(o, "{} exited with code {code}", p.name);
                            exit = Some(code);
                        }
                    }
                }
                Err(e) => eprintln!("{}: {e:#}", p.name),
            }
            let _ = tx.send((p.id.clone(), exit));
        });
    }
}

/// `logs [-f] [-t] [--tail N] [SERVICES]`.
pub fn logs_cmd(ctx: &Ctx, a: &Logs) -> Result<()> {
    let (name, p) = ctx.target()?;
    state::check_services(p.as_ref(), &a.services)?;
    let list = state::service_containers(ctx.c, &name, true, &a.services)?;
    let list = state::ordered(p.as_ref(), list);
    let prefixes = prefixes(&name, &list, use_color(a.no_color), a.no_log_prefix);
    let o = LogsOptions {
        follow: a.follow,
        tail: Some(a.tail.clone()),
        timestamps: a.timestamps,
        since: None,
        until: None,
    };
    if !a.follow {
        let out = Mutex::new(io::stdout());
        for p in &prefixes {
            stream(ctx.c, p, &o, &out)?;
        }
        return Ok(());
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let n = prefixes.len();
    follow_all(ctx.c.host(), prefixes, &o, &tx);
    for _ in 0..n {
        if rx.recv().is_err() {
            break;
        }
    }
    Ok(())
}
