//! Addresses and routes: an IPv4 address with its prefix on a link, the default route.
//!
//! IPv4 only for now: Docker's default networks are IPv4 and IPv6 networks are opt-in; the
//! listing reports every family so a caller sees what the kernel added (IPv6 link-local).

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::Netlink;
use crate::ipam::{prefix_mask, split_cidr, Cidr};

/// An IPv4 address with a prefix length, `10.200.3.1/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Net {
    /// The address (not necessarily the network address).
    pub addr: Ipv4Addr,
    /// The prefix length, 0–32.
    pub prefix: u8,
}

impl Ipv4Net {
    /// `addr/prefix`; `None` when `prefix > 32`.
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Option<Self> {
        (prefix <= 32).then_some(Ipv4Net { addr, prefix })
    }

    /// The network this address lies in (`10.201.7.2/24` → `10.201.7.0/24`). The prefix math
    /// lives in [`Cidr`]; the methods below delegate to it.
    pub fn subnet(&self) -> Cidr {
        Cidr::containing(self.addr, self.prefix)
    }

    /// The network mask as a number (`/24` → `0xffffff00`).
    pub fn mask(&self) -> u32 {
        prefix_mask(self.prefix)
    }

    /// The network address (host bits cleared).
    pub fn network(&self) -> Ipv4Addr {
        self.subnet().network()
    }

    /// The broadcast address (host bits set).
    pub fn broadcast(&self) -> Ipv4Addr {
        self.subnet().broadcast()
    }

    /// Whether `ip` is inside this network.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        self.subnet().contains(ip)
    }
}

/// The network address of `net` with its prefix: `10.201.7.0/24`.
impl From<Cidr> for Ipv4Net {
    fn from(net: Cidr) -> Self {
        Ipv4Net {
            addr: net.network(),
            prefix: net.prefix(),
        }
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Ipv4Net {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = split_cidr(s).map_err(|_| {
            format!("{s:?} is not an IPv4 address with a prefix such as 10.200.0.1/24")
        })?;
        Ok(Ipv4Net { addr, prefix })
    }
}

/// One address on a link, as [`Netlink::addresses`] lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkAddress {
    /// The address.
    pub addr: IpAddr,
    /// Its prefix length.
    pub prefix: u8,
}

impl Netlink {
    /// Adds `net` (address and prefix) to the link `link`, with its broadcast address, as
    /// `ip addr add` does. An address already present is an `AlreadyExists` error.
    pub fn add_address(&mut self, link: &str, net: Ipv4Net) -> io::Result<()> {
        let op = format!("adding address {net} to link {link}");
        let msg = self.address_message(link, net, &op)?;
        self.request(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &op,
        )
    }

    /// Removes `net` from the link `link`.
    pub fn del_address(&mut self, link: &str, net: Ipv4Net) -> io::Result<()> {
        let op = format!("removing address {net} from link {link}");
        let msg = self.address_message(link, net, &op)?;
        self.request(RouteNetlinkMessage::DelAddress(msg), 0, &op)
    }

    /// Every address (all families) on the link `link`.
    pub fn addresses(&mut self, link: &str) -> io::Result<Vec<LinkAddress>> {
        let op = format!("listing addresses of link {link}");
        let index = self.index_for(link, &op)?;
        let replies = self.dump(
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            &op,
        )?;
        let mut out = Vec::new();
        for reply in replies {
            let RouteNetlinkMessage::NewAddress(m) = reply else {
                continue;
            };
            if m.header.index != index {
                continue;
            }
            // IFA_LOCAL is the interface's own address on point-to-point links, where
            // IFA_ADDRESS is the peer's; elsewhere they are equal.
            let mut addr = None;
            for attr in &m.attributes {
                match attr {
                    AddressAttribute::Local(a) => addr = Some(*a),
                    AddressAttribute::Address(a) if addr.is_none() => addr = Some(*a),
                    _ => {}
                }
            }
            if let Some(addr) = addr {
                out.push(LinkAddress {
                    addr,
                    prefix: m.header.prefix_len,
                });
            }
        }
        Ok(out)
    }

    /// Adds the IPv4 default route via `gateway` to the main table.
    pub fn add_default_route(&mut self, gateway: Ipv4Addr) -> io::Result<()> {
        let op = format!("adding default route via {gateway}");
        let mut msg = RouteMessage::default();
        msg.header.address_family = AddressFamily::Inet;
        msg.header.destination_prefix_length = 0;
        msg.header.table = RouteHeader::RT_TABLE_MAIN;
        msg.header.protocol = RouteProtocol::Boot;
        msg.header.scope = RouteScope::Universe;
        msg.header.kind = RouteType::Unicast;
        msg.attributes
            .push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
        self.request(
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &op,
        )
    }

    /// The destinations of the IPv4 routes in the main table (the default route is
    /// `0.0.0.0/0`), for picking subnets that do not collide with the host's.
    pub fn ipv4_routes(&mut self) -> io::Result<Vec<Ipv4Net>> {
        let op = "listing IPv4 routes";
        let mut req = RouteMessage::default();
        req.header.address_family = AddressFamily::Inet;
        let replies = self.dump(RouteNetlinkMessage::GetRoute(req), op)?;
        let mut out = Vec::new();
        for reply in replies {
            let RouteNetlinkMessage::NewRoute(m) = reply else {
                continue;
            };
            if m.header.table != RouteHeader::RT_TABLE_MAIN
                || m.header.address_family != AddressFamily::Inet
            {
                continue;
            }
            let mut dst = Ipv4Addr::UNSPECIFIED;
            for attr in &m.attributes {
                if let RouteAttribute::Destination(RouteAddress::Inet(a)) = attr {
                    dst = *a;
                }
            }
            if let Some(net) = Ipv4Net::new(dst, m.header.destination_prefix_length) {
                out.push(net);
            }
        }
        Ok(out)
    }

    fn address_message(
        &mut self,
        link: &str,
        net: Ipv4Net,
        op: &str,
    ) -> io::Result<AddressMessage> {
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet;
        msg.header.prefix_len = net.prefix;
        msg.header.index = self.index_for(link, op)?;
        let ip = IpAddr::V4(net.addr);
        msg.attributes.push(AddressAttribute::Local(ip));
        msg.attributes.push(AddressAttribute::Address(ip));
        if net.prefix < 31 {
            msg.attributes
                .push(AddressAttribute::Broadcast(net.broadcast()));
        }
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4net_parse_and_math() {
        let n: Ipv4Net = "10.201.7.2/24".parse().unwrap();
        assert_eq!(n.network(), Ipv4Addr::new(10, 201, 7, 0));
        assert_eq!(n.broadcast(), Ipv4Addr::new(10, 201, 7, 255));
        assert!(n.contains(Ipv4Addr::new(10, 201, 7, 200)));
        assert!(!n.contains(Ipv4Addr::new(10, 201, 8, 1)));
        assert_eq!(n.to_string(), "10.201.7.2/24");
        assert!("10.0.0.1/33".parse::<Ipv4Net>().is_err());
        assert!("10.0.0.1".parse::<Ipv4Net>().is_err());
        let all: Ipv4Net = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(all.mask(), 0);
        assert_eq!(n.mask(), 0xffff_ff00);
    }

    #[test]
    fn ipv4net_and_cidr_share_one_implementation() {
        let n: Ipv4Net = "10.201.7.130/25".parse().unwrap();
        let c: Cidr = "10.201.7.128/25".parse().unwrap();
        assert_eq!(n.subnet(), c);
        assert_eq!(n.network(), c.network());
        assert_eq!(n.broadcast(), c.broadcast());
        assert_eq!(Ipv4Addr::from(n.mask()), c.netmask());
        assert_eq!(
            Ipv4Net::from(c),
            Ipv4Net::new(Ipv4Addr::new(10, 201, 7, 128), 25).unwrap()
        );
        // Fields are public: a prefix above 32 written by hand counts as /32, never panics.
        let odd = Ipv4Net {
            addr: Ipv4Addr::new(1, 2, 3, 4),
            prefix: 40,
        };
        assert_eq!(odd.network(), Ipv4Addr::new(1, 2, 3, 4));
        assert!(odd.contains(Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(odd.mask(), u32::MAX);
    }
}
