//! Networking options: `NetworkMode` and `ExtraHosts`.

use std::net::IpAddr;

use super::OptionsError;

/// Parses `ExtraHosts` into `(name, address)` pairs for the caller's `/etc/hosts`;
/// `host-gateway` is kept as is for the caller to substitute.
pub fn parse_extra_hosts(list: &[String]) -> Result<Vec<(String, String)>, OptionsError> {
    list.iter()
        .map(|h| {
            // `host=ip` (Docker 25+) or `host:ip` (the ip may itself contain `:`).
            let (name, ip) = h
                .split_once('=')
                .or_else(|| h.split_once(':'))
                .ok_or_else(|| OptionsError::ExtraHost(h.clone()))?;
            let ip = ip.trim_start_matches('[').trim_end_matches(']');
            if name.is_empty() || (ip != "host-gateway" && ip.parse::<IpAddr>().is_err()) {
                return Err(OptionsError::ExtraHost(h.clone()));
            }
            Ok((name.to_owned(), ip.to_owned()))
        })
        .collect()
}

/// The network setup a `NetworkMode` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkKind {
    /// A new network namespace (`default`, `bridge`, or empty).
    Bridge,
    /// A new network namespace with only loopback.
    None,
    /// The host's network namespace.
    Host,
}

/// Parses `NetworkMode`.
pub fn network_kind(mode: &str) -> Result<NetworkKind, OptionsError> {
    match mode {
        "" | "default" | "bridge" => Ok(NetworkKind::Bridge),
        "none" => Ok(NetworkKind::None),
        "host" => Ok(NetworkKind::Host),
        other => Err(OptionsError::NetworkMode(other.to_owned())),
    }
}
