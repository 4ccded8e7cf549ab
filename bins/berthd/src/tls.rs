//! TCP listeners with mutual TLS (`-H tcp://HOST:PORT --tlsverify --tlscacert CA --tlscert
//! CERT --tlskey KEY`), as dockerd's `--tlsverify` serves them.
//!
//! Why a module of its own: the Engine API gives root on this host to whoever reaches it, so
//! berthd only serves TCP when every client proves who it is with a certificate signed by the
//! operator's CA (rustls' `WebPkiClientVerifier`; a client without a certificate, or with one
//! from another CA, fails the handshake and never reaches the API). Plain `tcp://` without
//! `--tlsverify` (which dockerd allows with a warning) is refused in `config::parse_host`.
//! Keeping the certificate loading and the handshake here leaves `server` with one generic
//! connection server used by unix sockets and TLS streams alike, so attach and exec hijacking
//! (HTTP upgrades) work the same over both.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use berth_api::Api;
use berth_engine::log;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// How long a client may take to finish the TLS handshake before it is dropped, so a stalled
/// peer does not hold a task and a socket forever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The three files `--tlsverify` needs, all named explicitly (dockerd's fallback to
/// `~/.docker/{ca,cert,key}.pem` is not used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// `--tlscacert`: the CA whose signature client certificates must carry.
    pub ca: PathBuf,
    /// `--tlscert`: the server's certificate chain.
    pub cert: PathBuf,
    /// `--tlskey`: the server certificate's private key.
    pub key: PathBuf,
}

impl TlsFiles {
    /// Picks the three paths, naming the first missing flag (or `daemon.json` key).
    pub fn require(
        ca: Option<PathBuf>,
        cert: Option<PathBuf>,
        key: Option<PathBuf>,
    ) -> Result<TlsFiles> {
        let need = |p: Option<PathBuf>, flag: &str, what: &str| {
            p.ok_or_else(|| {
                anyhow!(
                    "--tlsverify needs --{flag} FILE (daemon.json \"{flag}\"): {what}; berthd \
                     does not fall back to ~/.docker/{}.pem",
                    match flag {
                        "tlscacert" => "ca",
                        "tlscert" => "cert",
                        _ => "key",
                    }
                )
            })
        };
        Ok(TlsFiles {
            ca: need(
                ca,
                "tlscacert",
                "the CA that signs the clients' certificates",
            )?,
            cert: need(cert, "tlscert", "the server's certificate")?,
            key: need(key, "tlskey", "the server certificate's private key")?,
        })
    }
}

fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading the {what} {}", path.display()))?;
    if certs.is_empty() {
        bail!(
            "the {what} {} holds no PEM certificate (\"-----BEGIN CERTIFICATE-----\")",
            path.display()
        );
    }
    Ok(certs)
}

/// Loads the CA, the server certificate and key into a server configuration that requires
/// a client certificate signed by the CA (TLS 1.2 and 1.3, ring).
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for c in read_certs(&files.ca, "CA certificate (--tlscacert)")? {
        roots
            .add(c)
            .with_context(|| format!("adding the CA certificate {}", files.ca.display()))?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .with_context(|| format!("using {} as the client CA", files.ca.display()))?;
    let chain = read_certs(&files.cert, "server certificate (--tlscert)")?;
    let key = PrivateKeyDer::from_pem_file(&files.key).with_context(|| {
        format!(
            "reading the private key (--tlskey) {}: expected a PEM PKCS#8, RSA or EC key",
            files.key.display()
        )
    })?;
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("selecting the TLS versions")?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .with_context(|| {
            format!(
                "using {} with {} as the server certificate",
                files.cert.display(),
                files.key.display()
            )
        })?;
    Ok(Arc::new(config))
}

/// Accepts TCP connections, completes the TLS handshake (client certificate required) and
/// serves the API on each, with upgrades, like the unix sockets.
pub async fn serve(listener: TcpListener, config: Arc<ServerConfig>, api: Api) {
    let acceptor = TlsAcceptor::from(config);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(a) => a,
            Err(e) => {
                log::log(log::Level::Warn, &format!("accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let api = api.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => crate::server::serve_connection(stream, api).await,
                Ok(Err(e)) => log::info(&format!("TLS handshake with {peer} failed: {e}")),
                Err(_) => log::info(&format!(
                    "TLS handshake with {peer} timed out after {}s",
                    HANDSHAKE_TIMEOUT.as_secs()
                )),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn require_names_the_missing_flag() {
        let p = |s: &str| Some(PathBuf::from(s));
        let e = TlsFiles::require(None, p("c"), p("k")).unwrap_err();
        assert!(e.to_string().contains("--tlscacert"), "{e}");
        let e = TlsFiles::require(p("a"), None, p("k")).unwrap_err();
        assert!(e.to_string().contains("--tlscert"), "{e}");
        let e = TlsFiles::require(p("a"), p("c"), None).unwrap_err();
        assert!(e.to_string().contains("--tlskey"), "{e}");
        assert!(TlsFiles::require(p("a"), p("c"), p("k")).is_ok());
    }

    #[test]
    fn missing_files_are_named() {
        let files = TlsFiles {
            ca: "/nonexistent/ca.pem".into(),
            cert: "/nonexistent/cert.pem".into(),
            key: "/nonexistent/key.pem".into(),
        };
        let e = format!("{:#}", server_config(&files).unwrap_err());
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
        assert!(e.contains("--tlscacert"), "{e}");
    }
}
