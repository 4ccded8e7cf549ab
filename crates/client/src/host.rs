//! Daemon addresses as docker spells them: `unix:///path`, `tcp://host:port`; chosen by
//! `-H`, then `BERTH_HOST`, then `DOCKER_HOST`, then berthd's default socket.

use std::fmt;
use std::path::PathBuf;

use crate::{Error, Result};

/// berthd's default socket.
pub const DEFAULT_HOST: &str = "unix:///run/berth/berth.sock";

/// Where the daemon listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A unix socket path.
    Unix(PathBuf),
    /// `host:port`, plain HTTP (TLS is not supported yet).
    Tcp(String),
}

impl Host {
    /// Parses `unix:///path`, `tcp://host:port` (a bare absolute path is taken as a socket).
    pub fn parse(s: &str) -> Result<Host> {
        if let Some(p) = s.strip_prefix("unix://") {
            if p.is_empty() {
                return Err(Error::BadHost(s.into()));
            }
            return Ok(Host::Unix(p.into()));
        }
        if s.starts_with('/') {
            return Ok(Host::Unix(s.into()));
        }
        if let Some(a) = s
            .strip_prefix("tcp://")
            .or_else(|| s.strip_prefix("http://"))
        {
            let a = a.trim_end_matches('/');
            if a.is_empty() {
                return Err(Error::BadHost(s.into()));
            }
            let a = if a
                .rsplit_once(':')
                .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
            {
                a.to_string()
            } else {
                format!("{a}:2375")
            };
            return Ok(Host::Tcp(a));
        }
        Err(Error::BadHost(s.into()))
    }

    /// `-H` if given, else `BERTH_HOST`, else `DOCKER_HOST`, else [`DEFAULT_HOST`].
    pub fn from_env(flag: Option<&str>) -> Result<Host> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let s = flag
            .map(str::to_string)
            .or_else(|| env("BERTH_HOST"))
            .or_else(|| env("DOCKER_HOST"))
            .unwrap_or_else(|| DEFAULT_HOST.to_string());
        Host::parse(&s)
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Unix(p) => write!(f, "unix://{}", p.display()),
            Host::Tcp(a) => write!(f, "tcp://{a}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_host_forms() {
        assert_eq!(
            Host::parse("unix:///run/x.sock").unwrap(),
            Host::Unix("/run/x.sock".into())
        );
        assert_eq!(
            Host::parse("tcp://127.0.0.1:2375").unwrap(),
            Host::Tcp("127.0.0.1:2375".into())
        );
        assert_eq!(Host::parse("tcp://h").unwrap(), Host::Tcp("h:2375".into()));
        assert!(Host::parse("ssh://x").is_err());
        assert!(Host::parse("unix://").is_err());
        assert_eq!(Host::parse("unix:///a").unwrap().to_string(), "unix:///a");
        assert_eq!(
            Host::from_env(Some("unix:///b")).unwrap(),
            Host::Unix("/b".into())
        );
    }
}
