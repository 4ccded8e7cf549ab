//! Published ports: from Docker's `HostConfig.PortBindings` to firewall mappings and held ports.
//!
//! Why hold a socket: the firewall's DNAT rule does not own the port. Without something bound
//! to it, another process (or another container) could listen on the same host port and the
//! two would silently fight (DNAT wins for remote clients, the process for nobody knows).
//! Docker solves this with its userland proxy or, without it, by binding the port; berth does
//! the latter: a [`Reservation`] keeps, for every published host port, a socket bound to
//! `(host_ip or 0.0.0.0):port` of the right protocol — TCP listening (from
//! [`Reservation::listen`], once the DNAT rule exists) with SO_REUSEADDR (so
//! an earlier server's connections in TIME_WAIT do not block the port, while two listeners
//! still never share it; nothing is ever accepted: DNAT sends the traffic to the container
//! before the socket could see it), UDP bound. A second bind of the same port, by anyone, then fails
//! with `EADDRINUSE`, which becomes Docker's `Bind for 0.0.0.0:8080 failed: port is already
//! allocated`. Dropping the reservation closes the sockets and frees the ports. The kernel
//! keeps track, so two berthd threads or two daemons cannot hand out one port twice.
//!
//! Semantics follow Docker:
//! - keys are `port[-end][/proto]`, proto `tcp` (default), `udp` or `sctp`;
//! - host port `""` or `"0"`: a random port, chosen by binding port 0 (the kernel picks from
//!   `net.ipv4.ip_local_port_range`, as Docker does);
//! - a host range with a single container port means any free port of that range; ranges of
//!   equal length map 1:1; other range combinations are refused;
//! - `PublishAllPorts` (`-P`) gives every exposed port that has no binding a random one;
//! - host IP `""` means every address (`0.0.0.0`). IPv6 host addresses are refused: berth's
//!   firewall is IPv4 only.
//!
//! Shared ports (beyond Docker): [`reserve_shared`] lets a caller say that a fixed host port
//! is already held by a peer — berthd's port groups, the replicas of one service during a
//! zero-downtime update, publish the same host port while the firewall sends each new
//! connection to one of them. The port is then mapped but not bound twice; when the holder
//! goes, [`Reservation::hand_over`] moves its sockets to a peer that still maps them, so the
//! port stays held without a moment free.
//!
//! The sockets live in the network namespace of the thread that calls [`reserve`]: berthd
//! calls it in the host namespace. SCTP without kernel support (no `sctp` module) cannot be
//! bound, and then cannot be used by anyone else on the host either; such ports are held in
//! a process-wide table instead, so two containers still cannot publish the same one.

mod hold;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::firewall::{PortMapping, PortRange, Proto};

use hold::Held;

/// One entry of `HostConfig.PortBindings[key]`, as Docker's API gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortBinding {
    /// `HostIp`: `""` for every address.
    pub host_ip: String,
    /// `HostPort`: `""` (random), `"8080"` or `"8000-8010"`.
    pub host_port: String,
}

/// What went wrong; Display is Docker's text where Docker has one.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// A key or host port that is not a port or range.
    #[error("invalid port specification: {0:?}")]
    InvalidSpec(String),
    /// A protocol other than tcp, udp or sctp.
    #[error("invalid proto: {0}")]
    InvalidProto(String),
    /// A host IP that is not an IPv4 address.
    #[error("invalid IP address: {0}")]
    InvalidHostIp(String),
    /// An IPv6 host address: berth's firewall publishes on IPv4 only.
    #[error("IPv6 host address {0} is not supported: berth publishes ports on IPv4 only")]
    Ipv6HostIp(String),
    /// A container range mapped onto a host range of another length.
    #[error("invalid ranges specified for container and host Ports: {container} and {host}")]
    RangeMismatch {
        /// The container ports as given.
        container: String,
        /// The host ports as given.
        host: String,
    },
    /// The host port (or every port of the host range) is taken.
    #[error("Bind for {host_ip}:{ports} failed: port is already allocated")]
    Allocated {
        /// `0.0.0.0` or the given address.
        host_ip: String,
        /// The port, or the range that had no free port.
        ports: String,
    },
    /// Binding failed for another reason.
    #[error("binding {what}: {source}")]
    Io {
        /// The address and protocol.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// The held host ports of one container and the firewall mappings they were resolved to.
/// Dropping it releases the ports.
#[derive(Debug, Default)]
pub struct Reservation {
    mappings: Vec<PortMapping>,
    held: Vec<Held>,
}

impl Reservation {
    /// The resolved mappings, for [`crate::firewall::Ruleset::ports`].
    pub fn mappings(&self) -> &[PortMapping] {
        &self.mappings
    }

    /// Makes every held TCP port exclusive (see [`reserve_shared`]); on error the caller
    /// drops the reservation.
    pub fn listen(&self) -> Result<(), PortError> {
        self.held.iter().try_for_each(Held::listen)
    }

    /// Moves the held sockets that `heir` also maps into `heir` (the rest stay, and are
    /// released with `self`): a port group's port outlives the member that bound it.
    pub fn hand_over(&mut self, heir: &mut Reservation) {
        let (give, keep): (Vec<Held>, Vec<Held>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|h| heir.mappings.iter().any(|m| h.serves(m)));
        self.held = keep;
        heir.held.extend(give);
    }

    /// One `("80/tcp", host ip, host port)` per published container port, sorted, for
    /// `NetworkSettings.Ports` (the host ip is `0.0.0.0` when every address was asked for).
    pub fn bindings(&self) -> Vec<(String, String, u16)> {
        let mut out: Vec<(String, String, u16)> = self
            .mappings
            .iter()
            .flat_map(|m| {
                let ip = m.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED).to_string();
                (0..=m.host_ports.end - m.host_ports.start).map(move |i| {
                    let key = format!("{}/{}", m.container_ports.start + i, proto_name(m.proto));
                    (key, ip.clone(), m.host_ports.start + i)
                })
            })
            .collect();
        out.sort_by(|a, b| (key_order(&a.0), &a.1, a.2).cmp(&(key_order(&b.0), &b.1, b.2)));
        out
    }
}

/// Numeric order for `"80/tcp"` keys (so 8080 sorts after 443).
fn key_order(key: &str) -> (u16, String) {
    let (port, proto) = key.split_once('/').unwrap_or((key, ""));
    (port.parse().unwrap_or(0), proto.to_string())
}

fn proto_name(p: Proto) -> &'static str {
    match p {
        Proto::Tcp => "tcp",
        Proto::Udp => "udp",
        Proto::Sctp => "sctp",
    }
}

/// Resolves and holds the published ports of a container whose address is `container_ip`.
///
/// `bindings` is `HostConfig.PortBindings`; with `publish_all` (`-P`), every key of `exposed`
/// (the image's and `--expose`'s ports, `"80/tcp"`) that has no binding gets a random port.
/// On error nothing stays held.
pub fn reserve(
    bindings: &BTreeMap<String, Vec<PortBinding>>,
    publish_all: bool,
    exposed: &[String],
    container_ip: Ipv4Addr,
) -> Result<Reservation, PortError> {
    let never = |_, _, _| false;
    let res = reserve_shared(bindings, publish_all, exposed, container_ip, &never)?;
    res.listen()?;
    Ok(res)
}

/// Whether a fixed host port `(proto, host ip, port)` is already held by a peer.
pub type SharedBy<'a> = &'a dyn Fn(Proto, Option<Ipv4Addr>, u16) -> bool;

/// [`reserve`], except that fixed host ports `shared` says a peer holds are mapped without
/// being bound again (random ports and "first free of a range" are never shared), and that
/// TCP ports are only bound: call [`Reservation::listen`] once the firewall sends their
/// traffic to the container, so no client connects to the holding socket meanwhile.
pub fn reserve_shared(
    bindings: &BTreeMap<String, Vec<PortBinding>>,
    publish_all: bool,
    exposed: &[String],
    container_ip: Ipv4Addr,
    shared: SharedBy<'_>,
) -> Result<Reservation, PortError> {
    let mut wanted: Vec<(PortRange, Proto, String, PortBinding)> = vec![];
    for (key, list) in bindings {
        let (range, proto, raw) = parse_key(key)?;
        for b in list {
            wanted.push((range, proto, raw.clone(), b.clone()));
        }
        if list.is_empty() && publish_all {
            wanted.push((range, proto, raw, PortBinding::default()));
        }
    }
    if publish_all {
        let bound: Vec<(PortRange, Proto)> = wanted.iter().map(|w| (w.0, w.1)).collect();
        for key in exposed {
            let (range, proto, _) = parse_key(key)?;
            for port in range.start..=range.end {
                let covered = bound
                    .iter()
                    .any(|(r, p)| *p == proto && (r.start..=r.end).contains(&port));
                if !covered {
                    let one = PortRange::one(port);
                    wanted.push((one, proto, port.to_string(), PortBinding::default()));
                }
            }
        }
    }
    let mut res = Reservation::default();
    for (range, proto, raw, b) in wanted {
        let host_ip = parse_host_ip(&b.host_ip)?;
        let host = parse_host_ports(&b.host_port)?;
        let mapping = |host_ports, container_ports| PortMapping {
            proto,
            host_ip,
            host_ports,
            container_ip,
            container_ports,
        };
        match host {
            // Random: one kernel-chosen port per container port.
            None => {
                for port in range.start..=range.end {
                    let held = hold::bind(proto, host_ip, 0)?;
                    let m = mapping(PortRange::one(held.port()), PortRange::one(port));
                    res.mappings.push(m);
                    res.held.push(held);
                }
            }
            // A host range for one container port: the first free port of the range.
            Some(h) if range.start == range.end && h.start != h.end => {
                let held = (h.start..=h.end)
                    .find_map(|p| hold::bind(proto, host_ip, p).ok())
                    .ok_or_else(|| allocated(host_ip, &b.host_port))?;
                res.mappings
                    .push(mapping(PortRange::one(held.port()), range));
                res.held.push(held);
            }
            // Equal lengths: 1:1, one firewall rule for the whole range.
            Some(h) if h.end - h.start == range.end - range.start => {
                for port in (h.start..=h.end).filter(|p| !shared(proto, host_ip, *p)) {
                    res.held.push(hold::bind(proto, host_ip, port)?);
                }
                res.mappings.push(mapping(h, range));
            }
            Some(_) => {
                return Err(PortError::RangeMismatch {
                    container: raw,
                    host: b.host_port,
                })
            }
        }
    }
    Ok(res)
}

pub(crate) fn allocated(host_ip: Option<Ipv4Addr>, ports: &str) -> PortError {
    PortError::Allocated {
        host_ip: host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED).to_string(),
        ports: ports.to_string(),
    }
}

/// `"8000-8010/tcp"` → (range, proto, `"8000-8010"`).
fn parse_key(key: &str) -> Result<(PortRange, Proto, String), PortError> {
    let (ports, proto) = key.split_once('/').unwrap_or((key, "tcp"));
    let proto = match proto.to_ascii_lowercase().as_str() {
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        "sctp" => Proto::Sctp,
        _ => return Err(PortError::InvalidProto(proto.to_string())),
    };
    let range = parse_range(ports)
        .filter(|r| r.start > 0)
        .ok_or_else(|| PortError::InvalidSpec(ports.to_string()))?;
    Ok((range, proto, ports.to_string()))
}

/// `""`/`"0"` → `None` (random); `"8080"`; `"8000-8010"`.
fn parse_host_ports(s: &str) -> Result<Option<PortRange>, PortError> {
    match s {
        "" | "0" => Ok(None),
        _ => parse_range(s)
            .filter(|r| r.start > 0)
            .map(Some)
            .ok_or_else(|| PortError::InvalidSpec(s.to_string())),
    }
}

/// `"80"` or `"8000-8010"` (start ≤ end), digits only.
fn parse_range(s: &str) -> Option<PortRange> {
    let num = |p: &str| {
        (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u16>().ok())
            .flatten()
    };
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let (start, end) = (num(a)?, num(b)?);
    (start <= end).then_some(PortRange { start, end })
}

/// `""` and `0.0.0.0` → every address.
fn parse_host_ip(s: &str) -> Result<Option<Ipv4Addr>, PortError> {
    match s {
        "" => Ok(None),
        _ => match s.parse::<Ipv4Addr>() {
            Ok(ip) if ip.is_unspecified() => Ok(None),
            Ok(ip) => Ok(Some(ip)),
            Err(_) if s.parse::<std::net::Ipv6Addr>().is_ok() => {
                Err(PortError::Ipv6HostIp(s.to_string()))
            }
            Err(_) => Err(PortError::InvalidHostIp(s.to_string())),
        },
    }
}
