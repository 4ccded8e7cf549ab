//! `POST /containers/{id}/attach`: the container's output over a hijacked connection.
//!
//! Why from the log and not from the shim's pipes: the shim owns the pipes and writes every
//! byte to the json-file log, which outlives berthd; following that file (the engine's
//! `follow_container_logs`) gives an attached client exactly what `docker logs -f` would,
//! survives a berthd restart on the daemon side and needs no second path through the shim.
//! `docker run` attaches before it starts the container, so the follow waits for the next
//! start and ends when that run has exited and its output is drained.
//!
//! Input (`stdin=1` on a container created with `-i`) goes the other way, through the
//! shim, which holds the container's stdin: once the container runs, the client's bytes are
//! copied to a `stdin` connection of the shim, and the client's half-close ends it (which
//! closes a `StdinOnce` container's stdin: `echo hi | docker run -i … cat`).

use std::sync::Arc;

use berth_engine::{Engine, LogOptions};
use bytes::Bytes;
use http::{HeaderMap, Response};
use hyper::upgrade::OnUpgrade;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::body::Body;
use crate::hijack;
use crate::route::Query;
use crate::{blocking, ApiError};

/// `POST /containers/{id}/attach?stream=&logs=&stdout=&stderr=`.
pub async fn attach(
    engine: &Arc<Engine>,
    id: String,
    q: &Query,
    headers: &HeaderMap,
    upgrade: Option<OnUpgrade>,
) -> Result<Response<Body>, ApiError> {
    let (rec, guard) = blocking(engine, move |e| {
        let rec = e.find_container(&id)?;
        e.note_attach(&rec.id);
        // Counted from now: a `--rm` container's log is kept until this attach drained it.
        let guard = e.follow_guard(&rec.id);
        Ok((rec, guard))
    })
    .await?;
    let Some(on) = upgrade.filter(|_| hijack::wants_upgrade(headers)) else {
        return Err(ApiError::BadRequest(
            "attach streams over a hijacked connection: send `Connection: Upgrade` and \
             `Upgrade: tcp`"
                .into(),
        ));
    };
    let tty = rec.options.tty;
    // Without `logs`, only what is logged from this request on (taken now, not once the
    // connection is handed over: the client may start the container in between).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128);
    let opts = LogOptions {
        stdout: q.flag("stdout"),
        stderr: q.flag("stderr"),
        tail: None,
        since: if q.flag("logs") { None } else { Some(now) },
    };
    let follow = q.flag("stream");
    let feed_stdin = q.flag("stdin") && rec.options.open_stdin;
    let engine = engine.clone();
    Ok(hijack::switch(on, tty, move |conn| async move {
        let (mut rd, mut wr) = tokio::io::split(conn);
        let (tx, rx) = mpsc::channel(16);
        let id = rec.id;
        let input = {
            let (engine, id) = (engine.clone(), id.clone());
            tokio::spawn(async move {
                if feed_stdin {
                    feed(engine, id, &mut rd).await;
                }
                // The rest of the client's bytes are drained so its writes never block.
                let mut buf = vec![0u8; 8192];
                while matches!(rd.read(&mut buf).await, Ok(n) if n > 0) {}
            })
        };
        tokio::task::spawn_blocking(move || {
            let send = |lines: &[berth_engine::LogLine]| -> std::io::Result<()> {
                for l in lines {
                    tx.blocking_send((l.stream, Bytes::from(l.text.clone())))
                        .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
                }
                if tx.is_closed() {
                    return Err(std::io::ErrorKind::BrokenPipe.into());
                }
                Ok(())
            };
            if follow {
                let _ = engine.follow_container_logs(&id, opts, true, send);
            } else if let Ok(lines) = engine.container_logs(&id, opts) {
                let _ = send(&lines);
            }
        });
        hijack::pump(&mut wr, rx, tty).await;
        let _ = wr.shutdown().await;
        input.abort();
        drop(guard);
    }))
}

/// How often an attach before `start` looks whether the container runs yet.
const START_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// Copies the client's bytes to the container's stdin once it runs, until the client
/// half-closes; then ends the feed.
async fn feed<R: tokio::io::AsyncRead + Unpin>(engine: Arc<Engine>, id: String, rd: &mut R) {
    let stream = loop {
        let (e, i) = (engine.clone(), id.clone());
        match blocking(&engine, move |_| Ok(e.open_container_stdin(&i)?)).await {
            Ok(Some(s)) => break s,
            Ok(None) => tokio::time::sleep(START_POLL).await,
            Err(_) => return,
        }
    };
    if stream.set_nonblocking(true).is_err() {
        return;
    }
    let Ok(mut stream) = tokio::net::UnixStream::from_std(stream) else {
        return;
    };
    let _ = tokio::io::copy(rd, &mut stream).await;
    let _ = stream.shutdown().await;
}
