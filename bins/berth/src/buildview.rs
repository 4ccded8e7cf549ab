//! `berth build`'s output: plain (the legacy builder's stream as is, for CI logs and pipes)
//! or, on a terminal, a compact view: one line per step, marked `CACHED` or with its time,
//! and while a step runs only the last few lines of its output, redrawn in place.
//!
//! Why a renderer that returns text instead of writing: the view is a pure function of the
//! stream (tested without a terminal); the caller writes what it returns.

use std::collections::VecDeque;
use std::time::Instant;

/// How many lines of a running step's output stay on screen.
const TAIL: usize = 5;

/// The terminal view's state.
#[derive(Debug, Default)]
pub struct TtyView {
    partial: String,
    step: Option<(String, Instant)>,
    cached: bool,
    tail: VecDeque<String>,
    /// Lines of the live block (step line + tail) currently drawn.
    drawn: usize,
}

impl TtyView {
    /// Consumes a chunk of the stream; returns what to write to the terminal.
    pub fn feed(&mut self, text: &str) -> String {
        self.partial.push_str(text);
        let mut out = String::new();
        while let Some(i) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=i).collect();
            let line = line.trim_end_matches(['\n', '\r']).to_string();
            self.line(&line, &mut out);
        }
        out
    }

    /// The stream ended: the last step is settled.
    pub fn finish(&mut self) -> String {
        let mut out = String::new();
        if !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            self.line(&rest, &mut out);
        }
        self.settle(&mut out);
        out
    }

    fn line(&mut self, line: &str, out: &mut String) {
        if line.starts_with("Step ") {
            self.settle(out);
            self.step = Some((line.to_string(), Instant::now()));
            self.cached = false;
            self.redraw(out);
        } else if line.starts_with("Successfully ") || line.starts_with("Sending build context") {
            self.settle(out);
            out.push_str(line);
            out.push('\n');
        } else if line == " ---> Using cache" {
            self.cached = true;
        } else if line.starts_with(" ---> ") || line.starts_with("Removing intermediate") {
            // Ids and housekeeping: the compact view leaves them out.
        } else if self.step.is_some() {
            self.tail.push_back(line.to_string());
            if self.tail.len() > TAIL {
                self.tail.pop_front();
            }
            self.redraw(out);
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }

    fn clear(&mut self, out: &mut String) {
        for _ in 0..self.drawn {
            out.push_str("\x1b[1A\r\x1b[2K");
        }
        self.drawn = 0;
    }

    fn redraw(&mut self, out: &mut String) {
        self.clear(out);
        if let Some((step, _)) = &self.step {
            out.push_str(&format!("\x1b[1m{step}\x1b[0m\n"));
            self.drawn = 1;
            for l in &self.tail {
                out.push_str(&format!("\x1b[2m  {l}\x1b[0m\n"));
                self.drawn += 1;
            }
        }
    }

    /// Replaces the live block by the step's one settled line.
    fn settle(&mut self, out: &mut String) {
        self.clear(out);
        if let Some((step, started)) = self.step.take() {
            let mark = if self.cached {
                "CACHED".to_string()
            } else {
                format!("{:.1}s", started.elapsed().as_secs_f64())
            };
            out.push_str(&format!("{step}  [{mark}]\n"));
        }
        self.tail.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the terminal shows after `out` (escape sequences applied).
    fn screen(out: &str) -> Vec<String> {
        let mut lines: Vec<String> = vec![String::new()];
        let mut rest = out;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("\x1b[1A") {
                lines.pop();
                if lines.is_empty() {
                    lines.push(String::new());
                }
                rest = r;
            } else if let Some(r) = rest.strip_prefix("\x1b[2K") {
                if let Some(l) = lines.last_mut() {
                    l.clear();
                }
                rest = r;
            } else if rest.starts_with("\x1b[") {
                let end = rest.find('m').map_or(rest.len(), |i| i + 1);
                rest = &rest[end..];
            } else if let Some(r) = rest.strip_prefix('\r') {
                rest = r;
            } else if let Some(r) = rest.strip_prefix('\n') {
                lines.push(String::new());
                rest = r;
            } else {
                let c = rest.chars().next().unwrap_or(' ');
                if let Some(l) = lines.last_mut() {
                    l.push(c);
                }
                rest = &rest[c.len_utf8()..];
            }
        }
        lines.into_iter().filter(|l| !l.is_empty()).collect()
    }

    #[test]
    fn steps_settle_into_one_line_each_and_output_is_tailed() {
        let mut v = TtyView::default();
        let mut out = String::new();
        let stream =
            "Step 1/3 : FROM base\n ---> abc\nStep 2/3 : ENV A=1\n ---> Using cache\n ---> def\n\
                      Step 3/3 : RUN many\n ---> Running in 123\n1\n2\n3\n4\n5\n6\n7\n\
                      Removing intermediate container 123\n ---> 456\nSuccessfully built 456\n";
        // Fed in odd chunks, as the network delivers it.
        for chunk in stream.as_bytes().chunks(7) {
            out.push_str(&v.feed(std::str::from_utf8(chunk).unwrap()));
        }
        out.push_str(&v.finish());
        let shown = screen(&out);
        assert_eq!(shown.len(), 4, "{shown:?}");
        assert!(shown[0].starts_with("Step 1/3 : FROM base  ["), "{shown:?}");
        assert_eq!(shown[1], "Step 2/3 : ENV A=1  [CACHED]");
        assert!(shown[2].starts_with("Step 3/3 : RUN many  ["), "{shown:?}");
        assert_eq!(shown[3], "Successfully built 456");
    }

    #[test]
    fn a_running_step_shows_its_last_lines() {
        let mut v = TtyView::default();
        let out = v.feed("Step 1/1 : RUN x\n ---> Running in 1\na\nb\nc\nd\ne\nf\n");
        let shown = screen(&out);
        assert_eq!(
            shown,
            ["Step 1/1 : RUN x", "  b", "  c", "  d", "  e", "  f"]
        );
    }
}
