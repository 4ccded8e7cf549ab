//! Which registries may be reached without verified TLS, and the rustls configurations.
//!
//! Docker's rules, copied: a registry is *insecure* when its `host[:port]` is listed, when its
//! IP (or one its host name resolves to) falls in a listed CIDR, or when it is on loopback
//! (127.0.0.0/8, ::1 — Docker's implicit default). For an insecure registry the client tries
//! HTTPS without certificate verification first and falls back to plain HTTP; every other
//! registry is HTTPS only, verified against the system roots plus the `*.crt` files in
//! `<certs_dir>/<host[:port]>/`.

use std::net::{IpAddr, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{RegistryError, Result};

/// Splits `host[:port]` / `[v6]:port` into the host part.
pub(crate) fn host_part(domain: &str) -> &str {
    if let Some(rest) = domain.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match domain.rsplit_once(':') {
        // A bare IPv6 address has several colons and no port.
        Some((h, p)) if !h.contains(':') && p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => domain,
    }
}

/// Whether `domain` (`host[:port]`) may be reached over unverified TLS or plain HTTP.
pub(crate) fn is_insecure(domain: &str, configured: &[String]) -> bool {
    if configured.iter().any(|c| c == domain) {
        return true;
    }
    let host = host_part(domain);
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let cidrs: Vec<(IpAddr, u8)> = configured.iter().filter_map(|c| parse_cidr(c)).collect();
    let matches =
        |ip: IpAddr| ip.is_loopback() || cidrs.iter().any(|&(net, len)| in_cidr(ip, net, len));
    if let Ok(ip) = host.parse::<IpAddr>() {
        return matches(ip);
    }
    // Docker resolves host names and checks their addresses against the CIDRs.
    match (host, 0u16).to_socket_addrs() {
        Ok(mut addrs) => addrs.any(|a| matches(a.ip())),
        Err(_) => false,
    }
}

fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (ip, len) = s.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((ip, len))
}

fn in_cidr(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The system's trust roots (unreadable ones skipped).
pub(crate) fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(found.certs);
    roots
}

/// A verifying config: `roots` plus `<certs_dir>/<domain>/*.crt`.
pub(crate) fn verified_config(
    provider: &Arc<CryptoProvider>,
    roots: &RootCertStore,
    certs_dir: &Path,
    domain: &str,
) -> Result<Arc<rustls::ClientConfig>> {
    let tls_err = |reason: String| RegistryError::Tls {
        registry: domain.to_owned(),
        reason,
    };
    let mut roots = roots.clone();
    let dir = certs_dir.join(domain);
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut files: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "crt"))
            .collect();
        files.sort();
        for file in files {
            let certs = CertificateDer::pem_file_iter(&file)
                .map_err(|e| tls_err(format!("cannot read {}: {e}", file.display())))?;
            for cert in certs {
                let cert = cert.map_err(|e| {
                    tls_err(format!("{} is not a PEM certificate: {e}", file.display()))
                })?;
                roots.add(cert).map_err(|e| {
                    tls_err(format!("{} holds an unusable CA: {e}", file.display()))
                })?;
            }
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A config that accepts any certificate: for insecure registries only.
pub(crate) fn unverified_config(
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<rustls::ClientConfig>> {
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| RegistryError::Tls {
            registry: String::new(),
            reason: e.to_string(),
        })?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NoVerify(provider.clone())))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Accepts every server certificate but still checks handshake signatures.
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_parts() {
        assert_eq!(host_part("127.0.0.1:5000"), "127.0.0.1");
        assert_eq!(host_part("[::1]:5000"), "::1");
        assert_eq!(host_part("::1"), "::1");
        assert_eq!(host_part("example.com"), "example.com");
    }

    #[test]
    fn certs_dir_cas_are_loaded_and_bad_ones_reported() {
        let dir = tempfile::tempdir().unwrap();
        let p = provider();
        let roots = RootCertStore::empty();
        // No directory for the registry: fine.
        verified_config(&p, &roots, dir.path(), "reg.example:5000").unwrap();
        let regdir = dir.path().join("reg.example:5000");
        std::fs::create_dir_all(&regdir).unwrap();
        std::fs::write(regdir.join("client.cert"), "ignored").unwrap();
        verified_config(&p, &roots, dir.path(), "reg.example:5000").unwrap();
        std::fs::write(
            regdir.join("ca.crt"),
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = verified_config(&p, &roots, dir.path(), "reg.example:5000").unwrap_err();
        assert!(err.to_string().contains("ca.crt"), "{err}");
        assert_eq!(err.kind(), berth_types::ErrorKind::FailedPrecondition);
    }

    #[test]
    fn insecure_rules() {
        assert!(is_insecure("127.0.0.1:5000", &[]));
        assert!(is_insecure("127.8.9.10", &[]));
        assert!(is_insecure("[::1]:5000", &[]));
        assert!(is_insecure("localhost:5000", &[]));
        assert!(!is_insecure("10.1.2.3:5000", &[]));
        assert!(is_insecure("10.1.2.3:5000", &["10.0.0.0/8".into()]));
        assert!(!is_insecure("11.1.2.3:5000", &["10.0.0.0/8".into()]));
        assert!(is_insecure("192.168.1.1:443", &["192.168.1.1:443".into()]));
        assert!(!is_insecure("192.168.1.1:444", &["192.168.1.1:443".into()]));
        assert!(is_insecure("[fd00::1]:5000", &["fd00::/8".into()]));
        assert!(is_insecure("1.2.3.4", &["0.0.0.0/0".into()]));
    }
}
