//! Docker's pull/push progress on a terminal: one line per layer, redrawn in place
//! (`<id>: Downloading [=====>      ]  12.3MB/45.6MB`); when stdout is not a terminal, one
//! plain line per status change, so CI logs stay readable.

use std::collections::HashMap;
use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;

use berth_registry::ProgressEvent;

use crate::format::human_size;

/// Renders progress events; shareable between the transfer's worker threads.
#[derive(Debug)]
pub struct Progress {
    inner: Mutex<State>,
}

#[derive(Debug)]
struct State {
    tty: bool,
    quiet: bool,
    /// Layer ids in first-seen order and their current line.
    order: Vec<String>,
    lines: HashMap<String, String>,
    /// Lines of the layer block currently on screen (tty mode).
    drawn: usize,
    /// Last status printed per layer (plain mode).
    last: HashMap<String, String>,
}

/// `[=====>      ]` for `current` of `total`, 50 cells like Docker's.
fn bar(current: u64, total: u64) -> String {
    let width = 50u64;
    let filled = (current.min(total) * width).checked_div(total).unwrap_or(0);
    let mut s = String::from("[");
    for i in 0..width {
        s.push(if i + 1 < filled || (i + 1 == filled && filled == width) {
            '='
        } else if i + 1 == filled {
            '>'
        } else {
            ' '
        });
    }
    s.push(']');
    s
}

impl Progress {
    /// Writes to stdout; `quiet` prints nothing but the final result.
    pub fn new(quiet: bool) -> Progress {
        Progress {
            inner: Mutex::new(State {
                tty: io::stdout().is_terminal(),
                quiet,
                order: Vec::new(),
                lines: HashMap::new(),
                drawn: 0,
                last: HashMap::new(),
            }),
        }
    }

    /// Shows one event.
    pub fn event(&self, e: ProgressEvent) {
        let Ok(mut s) = self.inner.lock() else {
            return;
        };
        if s.quiet {
            return;
        }
        let mut out = io::stdout().lock();
        let Some(id) = e.id.clone() else {
            // Whole-operation lines end the layer block.
            s.drawn = 0;
            let _ = writeln!(out, "{}", e.status);
            return;
        };
        let text = match (e.current, e.total) {
            (Some(c), Some(t)) if s.tty => {
                format!(
                    "{id}: {} {}  {}/{}",
                    e.status,
                    bar(c, t),
                    human_size(c),
                    human_size(t)
                )
            }
            _ => format!("{id}: {}", e.status),
        };
        if !s.tty {
            if s.last.get(&id) != Some(&e.status) {
                s.last.insert(id, e.status.clone());
                let _ = writeln!(out, "{text}");
            }
            return;
        }
        if !s.lines.contains_key(&id) {
            s.order.push(id.clone());
        }
        s.lines.insert(id, text);
        // Redraw the block: up to its first line, then every line cleared and rewritten.
        if s.drawn > 0 {
            let _ = write!(out, "\x1b[{}A", s.drawn);
        }
        for id in &s.order {
            let _ = writeln!(out, "\x1b[2K{}", s.lines[id]);
        }
        s.drawn = s.order.len();
        let _ = out.flush();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bar_fills_like_docker() {
        assert_eq!(super::bar(0, 100).matches('=').count(), 0);
        assert_eq!(
            super::bar(50, 100),
            format!("[{}>{}]", "=".repeat(24), " ".repeat(25))
        );
        assert_eq!(super::bar(100, 100), format!("[{}]", "=".repeat(50)));
    }
}
