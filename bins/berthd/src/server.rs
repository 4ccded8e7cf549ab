//! Sockets, the accept loop, signals and the pidfile. TCP listeners (mutual TLS) are in
//! `tls`; both serve connections with [`serve_connection`].

use std::convert::Infallible;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use berth_api::Api;
use berth_engine::{Engine, EngineConfig, NetworkConfig};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio::signal::unix::{signal, SignalKind};

use crate::config::{parse_host, settings, Listen};
use berth_engine::log;

use crate::Args;

/// How long in-flight engine work may run on after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Removes the pidfile and sockets when dropped, however `run` ends.
struct Cleanup(Vec<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn write_pidfile(path: &Path) -> Result<()> {
    if let Ok(text) = std::fs::read_to_string(path) {
        if let Ok(pid) = text.trim().parse::<i32>() {
            // SAFETY: kill with signal 0 only checks whether the process exists.
            let alive = unsafe { libc::kill(pid, 0) } == 0;
            if alive && pid != std::process::id() as i32 {
                bail!(
                    "pid file found, ensure berthd is not running or delete {}",
                    path.display()
                );
            }
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, format!("{}\n", std::process::id()))
        .with_context(|| format!("writing the pid file {}", path.display()))
}

fn bind(path: &Path, gid: Option<u32>) -> Result<UnixListener> {
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!(
                "another daemon is listening on {}; stop it or choose another -H",
                path.display()
            );
        }
        std::fs::remove_file(path)
            .with_context(|| format!("removing the stale socket {}", path.display()))?;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let l = UnixListener::bind(path).with_context(|| format!("binding {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .with_context(|| format!("setting the mode of {}", path.display()))?;
    if let Some(gid) = gid {
        std::os::unix::fs::chown(path, None, Some(gid))
            .with_context(|| format!("changing the group of {} to {gid}", path.display()))?;
    }
    Ok(l)
}

async fn serve(listener: UnixListener, api: Api) {
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                log::log(log::Level::Warn, &format!("accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        tokio::spawn(serve_connection(stream, api.clone()));
    }
}

/// Serves the API on one accepted connection (a unix stream or a TLS stream) until it ends.
pub async fn serve_connection<S>(stream: S, api: Api)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let api = api.clone();
        async move {
            let line = format!("{} {}", req.method(), req.uri());
            let resp = api.handle(req).await;
            let status = resp.status();
            let level = if status.is_server_error() {
                log::Level::Error
            } else {
                log::Level::Debug
            };
            log::log(level, &format!("{line} -> {}", status.as_u16()));
            Ok::<_, Infallible>(resp)
        }
    });
    if let Err(e) = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), svc)
        // attach and exec start hijack the connection (101 Upgrade: tcp).
        .with_upgrades()
        .await
    {
        log::debug(&format!("connection ended: {e}"));
    }
}

/// Logs the settings berthd accepts but applies differently from dockerd (or not yet).
fn log_accepted_settings(s: &crate::config::Settings) {
    match s.live_restore {
        Some(true) => log::info(
            "live-restore: always on in berthd: containers run under their own shims and keep \
             running across berthd restarts",
        ),
        Some(false) => log::info(
            "live-restore: false is ignored: berthd always keeps containers running across its \
             restarts (they run under their own shims)",
        ),
        None => {}
    }
    if !s.firewall {
        log::warn(
            "--iptables=false: berthd manages no firewall table: no NAT for egress, published \
             ports are not reachable, networks are not isolated from each other",
        );
    }
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(args: &Args) -> Result<()> {
    let s = settings(args)?;
    log::set_level(&s.log_level);
    let listens = s
        .hosts
        .iter()
        .map(|h| parse_host(h, s.tlsverify))
        .collect::<Result<Vec<_>>>()?;
    // Certificates are checked before anything is written, so a bad file fails fast.
    let tls = s.tls.as_ref().map(crate::tls::server_config).transpose()?;
    std::fs::create_dir_all(&s.exec_root)
        .with_context(|| format!("creating the exec root {}", s.exec_root.display()))?;
    write_pidfile(&s.pidfile)?;
    let mut cleanup = Cleanup(vec![s.pidfile.clone()]);
    let engine = Engine::open(EngineConfig {
        data_root: s.data_root.clone(),
        insecure_registries: s.insecure_registries.clone(),
        registry_mirrors: s.registry_mirrors.clone(),
        auth_file: None,
        user_agent: concat!("berthd/", env!("CARGO_PKG_VERSION")).into(),
        exec_root: s.exec_root.clone(),
        shim_binary: s.shim_binary.clone(),
        // Docker's default profile unless --seccomp-profile says otherwise.
        seccomp_profile: match &s.seccomp_profile {
            Some(p) => Some(
                std::fs::read(p)
                    .with_context(|| format!("reading the seccomp profile {}", p.display()))?,
            ),
            None => None,
        },
        default_ulimits: s.default_ulimits.clone(),
        init_binary: s.init_path.clone(),
        network: NetworkConfig {
            bridge: s.bridge.clone(),
            bip: s.bip.map(|b| (b.addr, b.prefix)),
            firewall_table: s.firewall_table.clone(),
            firewall: s.firewall,
            dns: s.dns.clone(),
            netns_dir: s.exec_root.join("netns"),
        },
    })
    .with_context(|| format!("opening the data root {}", s.data_root.display()))?;
    let engine = Arc::new(engine);
    // Restart policies: watch running containers, start `always` ones (live restore: the
    // containers kept running while berthd was down; their shims are reattached by id).
    engine
        .supervise()
        .context("starting the restart-policy supervisor")?;
    if let Some(period) = s.compose_expiry {
        engine.expire_projects_every(period);
        log::info(&format!(
            "removing expired compose projects every {}s",
            period.as_secs()
        ));
    }
    let api = Api::new(engine);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    log_accepted_settings(&s);
    let result = rt.block_on(async {
        let mut term = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
        let mut int = signal(SignalKind::interrupt()).context("installing SIGINT handler")?;
        for l in &listens {
            match l {
                Listen::Unix(path) => {
                    let listener = bind(path, s.socket_gid)?;
                    cleanup.0.push(path.clone());
                    log::info(&format!("API listen on {}", path.display()));
                    tokio::spawn(serve(listener, api.clone()));
                }
                Listen::Tcp(addr) => {
                    let config = tls.clone().context("a tcp:// host needs --tlsverify")?;
                    let listener = TcpListener::bind(addr.as_str())
                        .await
                        .with_context(|| format!("listening on tcp://{addr}"))?;
                    let local = listener
                        .local_addr()
                        .map_or(addr.clone(), |a| a.to_string());
                    log::info(&format!(
                        "API listen on tcp://{local} (TLS, client certificates required)"
                    ));
                    tokio::spawn(crate::tls::serve(listener, config, api.clone()));
                }
            }
        }
        log::info(&format!(
            "berthd {} serving (data root {})",
            env!("CARGO_PKG_VERSION"),
            s.data_root.display()
        ));
        tokio::select! {
            _ = term.recv() => log::info("received SIGTERM, shutting down"),
            _ = int.recv() => log::info("received SIGINT, shutting down"),
        }
        Ok::<(), anyhow::Error>(())
    });
    drop(cleanup);
    rt.shutdown_timeout(SHUTDOWN_GRACE);
    result
}
