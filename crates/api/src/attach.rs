//! `POST /containers/{id}/attach`: the container's output over a hijacked connection.
//!
//! Why from the log and not from the shim's pipes: the shim owns the pipes and writes every
//! byte to the json-file log, which outlives berthd; following that file (the engine's
//! `follow_container_logs`) gives an attached client exactly what `docker logs -f` would,
//! survives a berthd restart on the daemon side and needs no second path through the shim.
//! `docker run` attaches before it starts the container, so the follow waits for the next
//! start and ends when that run has exited and its output is drained.
//!
//! Not yet: the client's stdin (`stdin=1`) is read and discarded; the container's stdin is
//! not connected to it.

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
    let rec = blocking(engine, move |e| Ok(e.find_container(&id)?)).await?;
    let Some(on) = upgrade.filter(|_| hijack::wants_upgrade(headers)) else {
        return Err(ApiError::BadRequest(
            "attach streams over a hijacked connection: send `Connection: Upgrade` and \
             `Upgrade: tcp`"
                .into(),
        ));
    };
    let tty = rec.options.tty;
    let opts = LogOptions {
        stdout: q.flag("stdout"),
        stderr: q.flag("stderr"),
        // Without `logs`, only what is written from now on.
        tail: if q.flag("logs") { None } else { Some(0) },
    };
    let follow = q.flag("stream");
    let engine = engine.clone();
    Ok(hijack::switch(on, tty, move |conn| async move {
        let (mut rd, mut wr) = tokio::io::split(conn);
        let (tx, rx) = mpsc::channel(16);
        let id = rec.id;
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
        // The client's bytes (stdin) are drained so its writes never block.
        let drain = tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            while matches!(rd.read(&mut buf).await, Ok(n) if n > 0) {}
        });
        hijack::pump(&mut wr, rx, tty).await;
        let _ = wr.shutdown().await;
        drain.abort();
    }))
}
