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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkKind {
    /// The default bridge network (`default`, `bridge`, or empty).
    Bridge,
    /// A new network namespace with only loopback.
    None,
    /// The host's network namespace.
    Host,
    /// Another container's network namespace (`container:<name or id>`).
    Container(String),
    /// A user-defined network, by name or id.
    User(String),
}

impl NetworkKind {
    /// Whether the container gets a network namespace of its own (bridge, user, none).
    pub fn own_namespace(&self) -> bool {
        !matches!(self, NetworkKind::Host | NetworkKind::Container(_))
    }
}

/// Parses `NetworkMode`; any other word names a user-defined network (the engine checks
/// that it exists).
pub fn network_kind(mode: &str) -> Result<NetworkKind, OptionsError> {
    Ok(match mode {
        "" | "default" | "bridge" => NetworkKind::Bridge,
        "none" => NetworkKind::None,
        "host" => NetworkKind::Host,
        m => match m.strip_prefix("container:") {
            Some("") => return Err(OptionsError::NetworkMode(m.to_owned())),
            Some(c) => NetworkKind::Container(c.to_owned()),
            None => NetworkKind::User(m.to_owned()),
        },
    })
}
