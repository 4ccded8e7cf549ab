//! `GET /containers/{id}/logs`: the json-file log as multiplexed frames (raw for a TTY),
//! whole or followed, and the frame format shared with attach and exec.

use std::io::Write;
use std::sync::Arc;

use berth_engine::{Engine, LogOptions, LogStream};
use http::{header, Response};

use crate::blocking;
use crate::body::{full, stream_now, Body};
use crate::error::ApiError;
use crate::route::Query;

type Answer = Result<Response<Body>, ApiError>;

/// `GET /containers/{id}/logs?stdout=&stderr=&tail=&timestamps=`.
pub async fn logs(engine: &Arc<Engine>, id: String, q: &Query) -> Answer {
    let tail = match q.get("tail").filter(|t| !t.is_empty() && *t != "all") {
        Some(t) => Some(t.parse::<usize>().map_err(|_| {
            ApiError::BadRequest(format!(
                "invalid value for tail: {t:?}: give a number or all"
            ))
        })?),
        None => None,
    };
    let since = match q.get("since").filter(|s| !s.is_empty() && *s != "0") {
        Some(s) => Some(berth_engine::time::unix_nanos(s).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "invalid value for since: {s:?}: give a Unix time in seconds (1700000000 or \
                 1700000000.5)"
            ))
        })?),
        None => None,
    };
    let opts = LogOptions {
        stdout: q.flag("stdout"),
        stderr: q.flag("stderr"),
        tail,
        since,
    };
    if !opts.stdout && !opts.stderr {
        return Err(ApiError::BadRequest(
            "Bad parameters: you must choose at least one stream".into(),
        ));
    }
    let timestamps = q.flag("timestamps");
    if q.flag("follow") {
        let rec = blocking(engine, move |e| Ok(e.find_container(&id)?)).await?;
        let e = engine.clone();
        let tty = rec.options.tty;
        return Ok(stream_now(stream_type(tty), move |w| {
            e.follow_container_logs(&rec.id, opts, false, |lines| {
                write_frames(w, lines, timestamps, tty)
            })?;
            Ok(())
        }));
    }
    let lines = blocking(engine, move |e| Ok(e.container_logs(&id, opts)?)).await?;
    let mut out = Vec::new();
    for l in lines {
        let payload = if timestamps {
            format!("{} {}", l.time, l.text)
        } else {
            l.text
        };
        out.extend_from_slice(&frame_header(l.stream, payload.len()));
        out.extend_from_slice(payload.as_bytes());
    }
    let mut r = Response::new(full(out));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/vnd.docker.multiplexed-stream"),
    );
    Ok(r)
}

fn stream_type(tty: bool) -> &'static str {
    if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    }
}

/// Writes `lines` as frames (raw bytes for a TTY) and sends them; an empty batch only
/// checks that the client is still there.
fn write_frames(
    w: &mut crate::body::ChanWriter,
    lines: &[berth_engine::LogLine],
    timestamps: bool,
    tty: bool,
) -> std::io::Result<()> {
    if lines.is_empty() {
        return if w.is_closed() {
            Err(std::io::ErrorKind::BrokenPipe.into())
        } else {
            Ok(())
        };
    }
    for l in lines {
        let payload = if timestamps {
            format!("{} {}", l.time, l.text)
        } else {
            l.text.clone()
        };
        if !tty {
            w.write_all(&frame_header(l.stream, payload.len()))?;
        }
        w.write_all(payload.as_bytes())?;
    }
    w.flush()
}

/// The 8-byte header of one multiplexed-stream frame.
pub fn frame_header(stream: LogStream, len: usize) -> [u8; 8] {
    let kind = match stream {
        LogStream::Stdout => 1,
        LogStream::Stderr => 2,
    };
    let n = u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes();
    [kind, 0, 0, 0, n[0], n[1], n[2], n[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        assert_eq!(
            frame_header(LogStream::Stderr, 258),
            [2, 0, 0, 0, 0, 0, 1, 2]
        );
    }
}
