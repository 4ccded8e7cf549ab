//! `docker exec` over the API: create, start (hijacked), inspect, resize.
//!
//! `start` streams the process's pipes: stdout and stderr are read by two tasks into one
//! channel and written to the client as frames (raw with a TTY); the client's bytes go to
//! the process's stdin, and its half-close closes that stdin. The connection is shut down
//! only once the exec's exit is recorded, because the docker CLI asks for the exit code
//! (`GET /exec/{id}/json`) as soon as the stream ends.

use std::sync::Arc;

use berth_api_types::{ExecCreateRequest, ExecInspect, ExecProcessConfig, ExecStartRequest};
use berth_engine::{Engine, ExecConfig, ExecIo, ExecState, LogStream};
use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use hyper::upgrade::OnUpgrade;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::sync::mpsc;

use crate::body::{full, json, Body};
use crate::hijack::{self, Chunk, Conn};
use crate::{blocking, ApiError};

type Answer = Result<Response<Body>, ApiError>;

fn bad_body(e: serde_json::Error) -> ApiError {
    ApiError::BadRequest(format!("invalid exec config in the request body: {e}"))
}

/// `POST /containers/{id}/exec`.
pub async fn create(engine: &Arc<Engine>, id: String, body: Bytes) -> Answer {
    let req: ExecCreateRequest = serde_json::from_slice(&body).map_err(bad_body)?;
    let config = ExecConfig {
        cmd: req.cmd.unwrap_or_default(),
        env: req.env.unwrap_or_default(),
        user: req.user.unwrap_or_default(),
        working_dir: req.working_dir.unwrap_or_default(),
        tty: req.tty,
        privileged: req.privileged,
        attach_stdin: req.attach_stdin,
        attach_stdout: req.attach_stdout,
        attach_stderr: req.attach_stderr,
    };
    let exec_id = blocking(engine, move |e| Ok(e.create_exec(&id, config)?)).await?;
    Ok(json(StatusCode::CREATED, &json!({ "Id": exec_id })))
}

/// `GET /exec/{id}/json`.
pub async fn inspect(engine: &Arc<Engine>, id: String) -> Answer {
    let v = blocking(engine, move |e| Ok(e.exec(&id)?)).await?;
    let (running, exit_code, pid) = match v.state {
        ExecState::Created => (false, None, 0),
        ExecState::Running { pid } => (true, None, pid),
        ExecState::Exited { code, pid } => (false, Some(code), pid),
    };
    let mut cmd = v.config.cmd.clone();
    let entrypoint = if cmd.is_empty() {
        String::new()
    } else {
        cmd.remove(0)
    };
    let out = ExecInspect {
        can_remove: false,
        container_id: v.container_id,
        detach_keys: String::new(),
        exit_code,
        id: v.id,
        open_stderr: v.config.attach_stderr,
        open_stdin: v.config.attach_stdin,
        open_stdout: v.config.attach_stdout,
        process_config: ExecProcessConfig {
            arguments: cmd,
            entrypoint,
            privileged: v.config.privileged,
            tty: v.config.tty,
            user: v.config.user,
        },
        running,
        pid,
    };
    Ok(json(StatusCode::OK, &out))
}

/// `POST /exec/{id}/resize?h=&w=`: the exec's terminal takes the size.
pub async fn resize(engine: &Arc<Engine>, id: String, q: &crate::route::Query) -> Answer {
    let (rows, cols) = q.terminal_size()?;
    blocking(engine, move |e| Ok(e.resize_exec(&id, rows, cols)?)).await?;
    Ok(Response::new(full(Bytes::new())))
}

/// `POST /exec/{id}/start`.
pub async fn start(
    engine: &Arc<Engine>,
    id: String,
    headers: &HeaderMap,
    upgrade: Option<OnUpgrade>,
    body: Bytes,
) -> Answer {
    let req: ExecStartRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ExecStartRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(bad_body)?
    };
    let view = {
        let id = id.clone();
        blocking(engine, move |e| Ok(e.exec(&id)?)).await?
    };
    let tty = view.config.tty;
    let detach = req.detach;
    // Checked before the start: a refused request must not leave a process behind.
    let upgrade = match upgrade.filter(|_| hijack::wants_upgrade(headers)) {
        Some(on) => Some(on),
        None if detach => None,
        None => {
            return Err(ApiError::BadRequest(
                "exec start streams over a hijacked connection: send `Connection: Upgrade` \
                 and `Upgrade: tcp`, or start with {\"Detach\": true}"
                    .into(),
            ))
        }
    };
    let io = {
        let id = id.clone();
        blocking(engine, move |e| Ok(e.start_exec(&id, detach)?)).await?
    };
    let Some(on) = upgrade.filter(|_| !detach) else {
        return Ok(Response::new(full(Bytes::new())));
    };
    let engine = engine.clone();
    Ok(hijack::switch(on, tty, move |conn| {
        converse(engine, id, io, conn, tty)
    }))
}

/// Streams one started exec over the hijacked connection (see the module docs).
async fn converse(engine: Arc<Engine>, id: String, io: ExecIo, conn: Conn, tty: bool) {
    let (mut rd, mut wr) = tokio::io::split(conn);
    let ExecIo {
        stdin,
        stdout,
        stderr,
    } = io;
    let (tx, rx) = mpsc::channel(16);
    spawn_readers(stdout, stderr, tx);
    let stdin = stdin.map(std::os::fd::OwnedFd::from);
    let feeder = stdin
        .and_then(|fd| pipe::Sender::from_owned_fd(fd).ok())
        .map(|mut w| {
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut rd, &mut w).await;
            })
        });
    hijack::pump(&mut wr, rx, tty).await;
    let _ = blocking(&engine, move |e| Ok(e.wait_exec(&id)?)).await;
    let _ = wr.shutdown().await;
    if let Some(f) = feeder {
        f.abort();
    }
}

/// Reads the exec's stdout and stderr into `tx` until both reach EOF.
fn spawn_readers(
    stdout: Option<std::process::ChildStdout>,
    stderr: Option<std::process::ChildStderr>,
    tx: mpsc::Sender<Chunk>,
) {
    let streams = [
        (LogStream::Stdout, stdout.map(std::os::fd::OwnedFd::from)),
        (LogStream::Stderr, stderr.map(std::os::fd::OwnedFd::from)),
    ];
    for (kind, fd) in streams {
        let Some(rx) = fd.and_then(|fd| pipe::Receiver::from_owned_fd(fd).ok()) else {
            continue;
        };
        let tx = tx.clone();
        tokio::spawn(read_into(rx, kind, tx));
    }
}

async fn read_into<R: AsyncRead + Unpin>(mut r: R, kind: LogStream, tx: mpsc::Sender<Chunk>) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if tx
                    .send((kind, Bytes::copy_from_slice(&buf[..n])))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    }
}
