//! `docker logs --tail N` read from the end: the last N selected lines come from reading the
//! newest file backwards in blocks, then older rotated files only if it held too few.
//!
//! Why: a json-file log can be tens of megabytes (three 10 MiB files by default, more with
//! `--log-opt`); Docker scans it from the start for `--tail 10`. Reading backwards costs a
//! few blocks, whatever the log's size.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::logs::{parse_line, LogLine, LogOptions};
use crate::{EngineError, Result};

/// Bytes read per step backwards.
const BLOCK: u64 = 64 * 1024;

/// Prepends to `out` up to `want` selected lines from the end of `path`; returns how many
/// it added (0 when the file is missing).
pub(super) fn last_lines(
    path: &Path,
    opts: &LogOptions,
    want: usize,
    out: &mut Vec<LogLine>,
) -> Result<usize> {
    let mut f = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(EngineError::io("opening", path, e)),
    };
    let io = |e| EngineError::io("reading", path, e);
    let mut end = f.metadata().map_err(io)?.len();
    // Bytes after the last complete line seen so far (the start of a line cut by a block).
    let mut carry: Vec<u8> = Vec::new();
    let mut found: Vec<LogLine> = Vec::new();
    while end > 0 && found.len() < want {
        let start = end.saturating_sub(BLOCK);
        let mut buf = vec![0u8; (end - start) as usize];
        f.seek(SeekFrom::Start(start)).map_err(io)?;
        f.read_exact(&mut buf).map_err(io)?;
        buf.extend_from_slice(&carry);
        // Every line but the first is complete; the first may continue in the block before.
        let mut lines: Vec<&[u8]> = buf.split(|&b| b == b'\n').collect();
        carry = if start > 0 {
            lines.remove(0).to_vec()
        } else {
            Vec::new()
        };
        for line in lines.into_iter().rev() {
            if found.len() == want {
                break;
            }
            if let Some(l) = parse_line(line, opts) {
                found.push(l);
            }
        }
        end = start;
    }
    if found.len() < want && !carry.is_empty() {
        if let Some(l) = parse_line(&carry, opts) {
            found.push(l);
        }
    }
    let n = found.len();
    found.reverse();
    found.append(out);
    *out = found;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::containers::logs::LogStream;

    fn opts(stdout: bool, stderr: bool) -> LogOptions {
        LogOptions {
            stdout,
            stderr,
            tail: None,
            since: None,
        }
    }

    #[test]
    fn last_lines_cross_blocks_and_skip_other_streams() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c-json.log");
        let mut text = String::new();
        // Long lines so that the wanted ones straddle several 64 KiB blocks.
        for i in 0..3000 {
            let stream = if i % 3 == 0 { "stderr" } else { "stdout" };
            let pad = "x".repeat(100);
            text.push_str(&format!(
                "{{\"log\":\"{i} {pad}\\n\",\"stream\":\"{stream}\",\"time\":\"2026-01-01T00:00:00Z\"}}\n"
            ));
        }
        fs::write(&p, &text).unwrap();
        let mut out = Vec::new();
        let n = last_lines(&p, &opts(true, false), 1500, &mut out).unwrap();
        assert_eq!(n, 1500);
        let nums: Vec<u32> = out
            .iter()
            .map(|l| l.text.split(' ').next().unwrap().parse().unwrap())
            .collect();
        // The last 1500 stdout lines: every i with i % 3 != 0, in order, ending at 2999.
        let all: Vec<u32> = (0..3000).filter(|i| i % 3 != 0).collect();
        let want = all[all.len() - 1500..].to_vec();
        assert_eq!(nums, want);
        assert!(out.iter().all(|l| l.stream == LogStream::Stdout));
        // Asking for more than there is gives everything, and prepends before what was there.
        let mut out = vec![out[0].clone()];
        let n = last_lines(&p, &opts(false, true), 5000, &mut out).unwrap();
        assert_eq!(n, 1000);
        assert_eq!(out.len(), 1001);
        assert!(out[0].text.starts_with("0 "));
        assert_eq!(
            last_lines(&d.path().join("none"), &opts(true, true), 3, &mut out).unwrap(),
            0
        );
    }
}
