//! The control socket's side of the shim: one connection per request (`state`, `kill`,
//! `wait`, `resize`), except `stdin`, whose connection then carries the container's input.
//!
//! A child module of the server, so it works on the shim's state directly; the poll loop in
//! the parent decides when each of these runs.

use std::io::{self, Read, Write};

use berth_runtime::parse_signal;

use super::{Client, Shim};

impl Shim {
    pub(super) fn accept(&mut self) {
        while let Ok((stream, _)) = self.listener.accept() {
            if stream.set_nonblocking(true).is_ok() {
                self.clients.push(Client {
                    stream,
                    buf: Vec::new(),
                    waiting: false,
                    feeds_stdin: false,
                    done: false,
                });
            }
        }
    }

    pub(super) fn read_client(&mut self, i: usize) {
        if self.clients[i].feeds_stdin {
            return self.read_stdin_client(i);
        }
        let mut buf = [0u8; 512];
        let c = &mut self.clients[i];
        match c.stream.read(&mut buf) {
            Ok(0) => c.done = true,
            Ok(n) => c.buf.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(_) => c.done = true,
        }
        if c.buf.len() > 4096 {
            c.done = true;
        }
        let Some(end) = c.buf.iter().position(|&b| b == b'\n') else {
            return;
        };
        let line = String::from_utf8_lossy(&c.buf[..end]).trim().to_string();
        let rest = c.buf.split_off(end + 1);
        let reply = self.handle(&line, i);
        if self.clients[i].feeds_stdin {
            self.pending.extend_from_slice(&rest);
            self.write_stdin();
        }
        if let Some(r) = reply {
            send(&mut self.clients[i], &r);
        }
    }

    /// One request; `None` when the reply comes later (`wait`).
    fn handle(&mut self, line: &str, client: usize) -> Option<String> {
        let mut words = line.split_whitespace();
        let json = match (words.next(), words.next()) {
            (Some("state"), None) => {
                let exited = self.reaped.as_ref().map(|(e, _)| e.exit_code);
                serde_json::json!({
                    "pid": self.pid,
                    "status": if exited.is_some() { "exited" } else { "running" },
                    "exit_code": exited,
                })
            }
            (Some("kill"), Some(sig)) => match parse_signal(sig) {
                Some(s) => match self.rt.kill(&self.id, s, false) {
                    Ok(()) => serde_json::json!({"ok": true}),
                    Err(e) => serde_json::json!({"error": e.to_string()}),
                },
                None => serde_json::json!({"error": format!("unknown signal {sig:?}")}),
            },
            (Some("wait"), None) => {
                self.clients[client].waiting = true;
                return None;
            }
            (Some("stdin"), None) if self.stdin.is_some() => {
                let c = &mut self.clients[client];
                let _ = c.stream.write_all(b"{\"ok\":true}\n");
                c.feeds_stdin = true;
                return None;
            }
            (Some("stdin"), None) => serde_json::json!({
                "error": "the container's stdin is not open: create it with -i (OpenStdin)"
            }),
            (Some("resize"), Some(rows)) => {
                let size = (rows.parse::<u16>(), words.next().map(str::parse::<u16>));
                match (&self.master, size) {
                    (Some(m), (Ok(r), Some(Ok(c)))) => match crate::stdio::resize(m, r, c) {
                        Ok(()) => serde_json::json!({"ok": true}),
                        Err(e) => serde_json::json!({"error": e}),
                    },
                    (None, _) => serde_json::json!({
                        "error": "the container has no terminal: create it with -t (Tty)"
                    }),
                    _ => serde_json::json!({"error": "usage: resize <rows> <cols>"}),
                }
            }
            _ => serde_json::json!({"error": format!("unknown request {line:?}")}),
        };
        Some(json.to_string())
    }

    /// Reads what a `stdin` client sent; its end closes the container's stdin when
    /// `StdinOnce` (never a terminal's: that would close the container's output too).
    fn read_stdin_client(&mut self, i: usize) {
        let mut buf = [0u8; 32 * 1024];
        let c = &mut self.clients[i];
        match c.stream.read(&mut buf) {
            Ok(0) | Err(_) => {
                c.done = true;
                if self.stdin_once && !self.raw {
                    self.close_stdin_after_pending();
                }
            }
            Ok(n) => {
                self.pending.extend_from_slice(&buf[..n]);
                self.write_stdin();
            }
        }
    }

    /// Writes pending bytes to the container's stdin as far as it takes them.
    pub(super) fn write_stdin(&mut self) {
        let Some(f) = self.stdin.as_mut() else {
            self.pending.clear();
            return;
        };
        while !self.pending.is_empty() {
            match f.write(&self.pending) {
                Ok(n) => {
                    self.pending.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    // The container closed its stdin.
                    self.stdin = None;
                    self.pending.clear();
                    return;
                }
            }
        }
        if self.closing_stdin {
            self.stdin = None;
        }
    }

    fn close_stdin_after_pending(&mut self) {
        self.closing_stdin = true;
        if self.pending.is_empty() {
            self.stdin = None;
        }
    }
}

/// Best-effort reply, then the connection is done. Replies are far smaller than a socket
/// buffer, so a non-blocking write only fails for a client that went away.
pub(super) fn send(c: &mut Client, reply: &str) {
    let _ = c.stream.write_all(format!("{reply}\n").as_bytes());
    c.done = true;
}
