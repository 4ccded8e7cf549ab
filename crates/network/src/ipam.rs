//! IPv4 address management: subnets for new networks, addresses for endpoints.
//!
//! Pure logic, no I/O except [`host_routes`]: the engine owns persistence and stores
//! [`AddressSpace`] as JSON (it derives serde), so a crash can never leave this module's state
//! half-written. Semantics follow Docker's libnetwork so `docker network create` behaves the same:
//!
//! - **Default pools** ([`docker_default_pools`]) are Docker's `localScopeDefaultNetworks`:
//!   172.17.0.0/16, 172.18.0.0/16, 172.19.0.0/16, then 172.20.0.0/14, 172.24.0.0/14 and
//!   172.28.0.0/14 each split into /16s (so 172.17–172.31), then 192.168.0.0/16 split into /20s.
//!   The default bridge is simply the first pick (172.17.0.0/16 on an ordinary host).
//! - **Picking** ([`pick_subnet`]) skips candidates that overlap another network's subnet or a
//!   host route other than the default route (a VPN or LAN route), as Docker does.
//! - **Addresses**: the gateway (first host address unless given) and, for /30 and wider, the
//!   network and broadcast addresses are reserved. Dynamic allocation walks `--ip-range` (or the
//!   subnet) from just after the last address handed out, wrapping, so a released address is not
//!   reused at once (Docker's sequential allocator does the same: fewer stale ARP/DNS surprises).
//!   A requested address (`--ip`) may be anywhere in the subnet, as in Docker.
//! - Error texts are Docker's where Docker has one, so scripts that match them keep working.

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What went wrong; Display is the user-facing (Docker) text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpamError {
    /// Not `a.b.c.d/n`.
    #[error("invalid CIDR address: {0}")]
    InvalidCidr(String),
    /// `--subnet` with host bits set.
    #[error("invalid subnet {given} : it should be {expected}")]
    HostBitsSet {
        /// What the user wrote.
        given: String,
        /// The network they probably meant.
        expected: Cidr,
    },
    /// A user-given subnet overlaps another network's.
    #[error("Pool overlaps with other one on this address space")]
    PoolOverlap,
    /// Every default pool subnet is taken or routed.
    #[error("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")]
    NoAvailablePool,
    /// The range is full. The engine appends `": <name> (<id>)"`, as Docker prints it.
    #[error("no available IPv4 addresses on this network's address pools")]
    NoAvailableIps,
    /// `--ip` names a taken or reserved address.
    #[error("Address already in use")]
    AddressInUse,
    /// `--ip` outside the subnet.
    #[error("no configured subnet or ip-range contain the IP address {0}")]
    OutOfSubnet(Ipv4Addr),
    /// `--gateway` outside the subnet.
    #[error("no matching subnet for gateway {0}")]
    GatewayOutside(Ipv4Addr),
    /// `--ip-range` outside the subnet.
    #[error("no matching subnet for range {0}")]
    RangeOutside(Cidr),
}

/// An IPv4 network: address with host bits cleared, and prefix length (0–32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cidr {
    addr: Ipv4Addr,
    prefix: u8,
}

impl Cidr {
    /// The network containing `addr` with this prefix (host bits cleared).
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Cidr, IpamError> {
        if prefix > 32 {
            return Err(IpamError::InvalidCidr(format!("{addr}/{prefix}")));
        }
        Ok(Cidr::containing(addr, prefix))
    }
    /// The network containing `addr`, with a prefix length above 32 taken as 32: the one
    /// implementation of the prefix math, shared with [`crate::netlink::Ipv4Net`].
    pub(crate) fn containing(addr: Ipv4Addr, prefix: u8) -> Cidr {
        let prefix = prefix.min(32);
        Cidr {
            addr: Ipv4Addr::from(u32::from(addr) & prefix_mask(prefix)),
            prefix,
        }
    }
    /// Parses a subnet the way `--subnet` does: host bits must be zero.
    pub fn parse_subnet(s: &str) -> Result<Cidr, IpamError> {
        let (addr, prefix) = split_cidr(s)?;
        let net = Cidr::new(addr, prefix)?;
        if net.addr != addr {
            return Err(IpamError::HostBitsSet {
                given: s.to_string(),
                expected: net,
            });
        }
        Ok(net)
    }
    /// The network address.
    pub fn network(&self) -> Ipv4Addr {
        self.addr
    }
    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }
    /// The last address (all host bits set).
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !prefix_mask(self.prefix))
    }
    /// The mask as an address (`255.255.0.0`).
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(prefix_mask(self.prefix))
    }
    /// Whether `ip` is in this network.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & prefix_mask(self.prefix) == u32::from(self.addr)
    }
    /// True when the two networks share at least one address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains(other.addr) || other.contains(self.addr)
    }
    fn first(&self) -> u32 {
        u32::from(self.addr)
    }
    fn last(&self) -> u32 {
        u32::from(self.broadcast())
    }
}

/// The netmask of a prefix length as a number (`/24` → `0xffff_ff00`); lengths above 32 count
/// as 32.
pub fn prefix_mask(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p => u32::MAX << (32 - u32::from(p.min(32))),
    }
}

/// `a.b.c.d/n` split into its parts (prefix ≤ 32); shared with [`crate::netlink::Ipv4Net`].
pub(crate) fn split_cidr(s: &str) -> Result<(Ipv4Addr, u8), IpamError> {
    let bad = || IpamError::InvalidCidr(s.to_string());
    let (a, p) = s.split_once('/').ok_or_else(bad)?;
    let addr = a.parse::<Ipv4Addr>().map_err(|_| bad())?;
    let prefix = p.parse::<u8>().map_err(|_| bad())?;
    if prefix > 32 || p.starts_with('+') {
        return Err(bad());
    }
    Ok((addr, prefix))
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Lenient parse (host bits are cleared): for routes and stored state.
impl FromStr for Cidr {
    type Err = IpamError;
    fn from_str(s: &str) -> Result<Cidr, IpamError> {
        let (addr, prefix) = split_cidr(s)?;
        Cidr::new(addr, prefix)
    }
}

impl TryFrom<String> for Cidr {
    type Error = IpamError;
    fn try_from(s: String) -> Result<Cidr, IpamError> {
        s.parse()
    }
}

impl From<Cidr> for String {
    fn from(c: Cidr) -> String {
        c.to_string()
    }
}

/// A base network handed out in pieces of `size` prefix bits (Docker's `NetworkToSplit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool {
    /// The network to split.
    pub base: Cidr,
    /// Prefix length of each piece.
    pub size: u8,
}

impl Pool {
    /// Every subnet of the pool, in order.
    pub fn subnets(&self) -> impl Iterator<Item = Cidr> + '_ {
        let (base, size) = (self.base, self.size.max(self.base.prefix).min(32));
        let count = 1u64 << (size - base.prefix);
        let step = 1u64 << (32 - size);
        (0..count).map(move |i| Cidr {
            addr: Ipv4Addr::from((u64::from(base.first()) + i * step) as u32),
            prefix: size,
        })
    }
}

/// Docker's default local address pools (`daemon.json` `default-address-pools` unset).
pub fn docker_default_pools() -> Vec<Pool> {
    [
        ("172.17.0.0/16", 16),
        ("172.18.0.0/16", 16),
        ("172.19.0.0/16", 16),
        ("172.20.0.0/14", 16),
        ("172.24.0.0/14", 16),
        ("172.28.0.0/14", 16),
        ("192.168.0.0/16", 20),
    ]
    .into_iter()
    .map(|(b, size)| Pool {
        base: b.parse().expect("static pool"),
        size,
    })
    .collect()
}

/// The first pool subnet that overlaps neither `taken` (other networks) nor `routes`.
pub fn pick_subnet(pools: &[Pool], taken: &[Cidr], routes: &[Cidr]) -> Result<Cidr, IpamError> {
    pools
        .iter()
        .flat_map(Pool::subnets)
        .find(|c| !taken.iter().chain(routes).any(|t| t.overlaps(c)))
        .ok_or(IpamError::NoAvailablePool)
}

/// A user-given `--subnet` must not overlap another network (Docker's check).
pub fn check_subnet(subnet: &Cidr, taken: &[Cidr]) -> Result<(), IpamError> {
    match taken.iter().any(|t| t.overlaps(subnet)) {
        true => Err(IpamError::PoolOverlap),
        false => Ok(()),
    }
}

/// Destinations of `/proc/net/route` (hex, host byte order), default routes left out.
pub fn parse_proc_net_route(text: &str) -> Vec<Cidr> {
    let hex = |s: &str| {
        u32::from_str_radix(s, 16)
            .ok()
            .map(|v| Ipv4Addr::from(u32::from_be(v)))
    };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (dest, mask) = (hex(f.get(1)?)?, hex(f.get(7)?)?);
            let prefix = u32::from(mask).leading_ones() as u8;
            (prefix > 0).then(|| Cidr::new(dest, prefix).ok()).flatten()
        })
        .collect()
}

/// The host's IPv4 routes (`/proc/net/route`, the caller's network namespace).
pub fn host_routes() -> std::io::Result<Vec<Cidr>> {
    Ok(parse_proc_net_route(&std::fs::read_to_string(
        "/proc/net/route",
    )?))
}

/// One network's IPv4 addresses: what the engine persists per network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressSpace {
    /// The network's subnet.
    pub subnet: Cidr,
    /// The bridge's address, reserved.
    pub gateway: Ipv4Addr,
    /// `--ip-range`: where dynamic addresses come from; the whole subnet when unset.
    pub ip_range: Option<Cidr>,
    allocated: BTreeSet<Ipv4Addr>,
    /// The last address handed out dynamically: the next search starts after it.
    last: Option<Ipv4Addr>,
}

impl AddressSpace {
    /// `gateway` defaults to the first host address; `ip_range` must lie inside `subnet`.
    pub fn new(
        subnet: Cidr,
        gateway: Option<Ipv4Addr>,
        ip_range: Option<Cidr>,
    ) -> Result<AddressSpace, IpamError> {
        let gateway = match gateway {
            Some(g) if !subnet.contains(g) => return Err(IpamError::GatewayOutside(g)),
            Some(g) => g,
            None => Ipv4Addr::from(subnet.first().saturating_add(u32::from(subnet.prefix < 31))),
        };
        if let Some(r) = ip_range {
            if !(subnet.contains(r.addr) && r.prefix >= subnet.prefix) {
                return Err(IpamError::RangeOutside(r));
            }
        }
        Ok(AddressSpace {
            subnet,
            gateway,
            ip_range,
            allocated: BTreeSet::new(),
            last: None,
        })
    }

    /// Addresses nobody may take: gateway, and network/broadcast for /30 and wider.
    fn reserved(&self, ip: Ipv4Addr) -> bool {
        ip == self.gateway
            || (self.subnet.prefix <= 30
                && (ip == self.subnet.addr || ip == self.subnet.broadcast()))
    }

    /// Whether `ip` is handed out.
    pub fn is_allocated(&self, ip: Ipv4Addr) -> bool {
        self.allocated.contains(&ip)
    }

    /// The addresses handed out, in order.
    pub fn allocated(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.allocated.iter().copied()
    }

    /// The next free address of the range, after the last one handed out.
    pub fn allocate(&mut self) -> Result<Ipv4Addr, IpamError> {
        let range = self.ip_range.unwrap_or(self.subnet);
        let (first, last) = (u64::from(range.first()), u64::from(range.last()));
        let len = last - first + 1;
        let start = match self.last.map(|l| u64::from(u32::from(l))) {
            Some(l) if (first..=last).contains(&l) => l + 1 - first,
            _ => 0,
        };
        let found = (0..len)
            .map(|i| Ipv4Addr::from((first + (start + i) % len) as u32))
            .find(|ip| !self.reserved(*ip) && !self.allocated.contains(ip))
            .ok_or(IpamError::NoAvailableIps)?;
        self.allocated.insert(found);
        self.last = Some(found);
        Ok(found)
    }

    /// Takes a specific address (`--ip`): anywhere in the subnet, not reserved, not taken.
    pub fn request(&mut self, ip: Ipv4Addr) -> Result<(), IpamError> {
        if !self.subnet.contains(ip) {
            return Err(IpamError::OutOfSubnet(ip));
        }
        if self.reserved(ip) || !self.allocated.insert(ip) {
            return Err(IpamError::AddressInUse);
        }
        Ok(())
    }

    /// Gives an address back; returns whether it was allocated.
    pub fn release(&mut self, ip: Ipv4Addr) -> bool {
        self.allocated.remove(&ip)
    }
}

#[cfg(test)]
mod tests;
