//! Links: bridges, veth pairs, up/down, names, masters, deletion.
//!
//! Links are addressed by name in the API (that is what berth stores and what users see) and
//! by index on the wire where the kernel wants one; each lookup is one `RTM_GETLINK`.

use std::io;
use std::os::fd::{AsFd, AsRawFd};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{
    InfoBridgePort, InfoData, InfoKind, InfoPortData, InfoVeth, LinkAttribute, LinkFlags, LinkInfo,
    LinkMessage,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::{errno_error, Netlink, OpError};

/// What [`Netlink::link`] reports about one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkDetails {
    /// The interface index.
    pub index: u32,
    /// The interface name.
    pub name: String,
    /// The link kind from `IFLA_INFO_KIND` (`bridge`, `veth`…); `None` for kind-less links
    /// such as `lo` or a physical NIC.
    pub kind: Option<String>,
    /// The MTU.
    pub mtu: Option<u32>,
    /// The index of the link's master (its bridge), if enslaved.
    pub master: Option<u32>,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
    /// The hardware address (`IFLA_ADDRESS`) when it is an Ethernet one (6 bytes); `None` for
    /// links without one of that size.
    pub mac: Option<[u8; 6]>,
    /// For a bridge port: whether hairpin mode is on (`IFLA_BRPORT_MODE`, see
    /// [`Netlink::set_hairpin`]); `None` when the link is not a bridge port.
    pub hairpin: Option<bool>,
}

impl Netlink {
    /// The link named `name`, or `None` when there is none in this namespace.
    pub fn link(&mut self, name: &str) -> io::Result<Option<LinkDetails>> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        let op = format!("looking up link {name}");
        match self.get(RouteNetlinkMessage::GetLink(msg), &op) {
            Ok(replies) => Ok(replies.into_iter().find_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(details(l)),
                _ => None,
            })),
            Err(e) if e.raw_os_error_any() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every link in this namespace (one dump), e.g. to find veths left behind by a crash.
    pub fn links(&mut self) -> io::Result<Vec<LinkDetails>> {
        let replies = self.dump(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            "listing links",
        )?;
        Ok(replies
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(details(l)),
                _ => None,
            })
            .collect())
    }

    /// The index of the link named `name`; a `NotFound` error when there is none.
    pub fn link_index(&mut self, name: &str) -> io::Result<u32> {
        match self.link(name)? {
            Some(l) => Ok(l.index),
            None => Err(
                errno_error(&format!("looking up link {name}"), libc::ENODEV)
                    .with_kind(io::ErrorKind::NotFound),
            ),
        }
    }

    /// Creates the bridge `name` (with `mtu` when given), down. Idempotent: an existing bridge
    /// of that name is accepted as is; an existing link of another kind is an `AlreadyExists`
    /// error that says which kind it is.
    pub fn create_bridge(&mut self, name: &str, mtu: Option<u32>) -> io::Result<()> {
        let op = format!("creating bridge {name}");
        if let Some(existing) = self.link(name)? {
            return check_is_bridge(&op, &existing);
        }
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        if let Some(mtu) = mtu {
            msg.attributes.push(LinkAttribute::Mtu(mtu));
        }
        msg.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Bridge,
            )]));
        match self.request(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &op,
        ) {
            // Lost a race with another creator: fine if what it made is a bridge.
            Err(e) if e.raw_os_error_any() == Some(libc::EEXIST) => match self.link(name)? {
                Some(existing) => check_is_bridge(&op, &existing),
                None => Err(e),
            },
            r => r,
        }
    }

    /// Deletes the link `name` (for a veth, both ends go). A missing link is a `NotFound`
    /// error unless `missing_ok`.
    pub fn delete_link(&mut self, name: &str, missing_ok: bool) -> io::Result<()> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        let op = format!("deleting link {name}");
        match self.request(RouteNetlinkMessage::DelLink(msg), 0, &op) {
            Err(e) if e.raw_os_error_any() == Some(libc::ENODEV) => {
                if missing_ok {
                    Ok(())
                } else {
                    Err(e.with_kind(io::ErrorKind::NotFound))
                }
            }
            r => r,
        }
    }

    /// Sets the link `name` administratively up.
    pub fn set_up(&mut self, name: &str) -> io::Result<()> {
        self.set_flags(name, true, &format!("setting link {name} up"))
    }

    /// Sets the link `name` administratively down.
    pub fn set_down(&mut self, name: &str) -> io::Result<()> {
        self.set_flags(name, false, &format!("setting link {name} down"))
    }

    fn set_flags(&mut self, name: &str, up: bool, op: &str) -> io::Result<()> {
        let mut msg = self.link_message(name, op)?;
        msg.header.flags = if up {
            LinkFlags::Up
        } else {
            LinkFlags::empty()
        };
        msg.header.change_mask = LinkFlags::Up;
        self.request(RouteNetlinkMessage::SetLink(msg), 0, op)
    }

    /// Renames the link `name` to `new_name` (the link must be down, as the kernel requires).
    pub fn set_name(&mut self, name: &str, new_name: &str) -> io::Result<()> {
        let op = format!("renaming link {name} to {new_name}");
        let mut msg = self.link_message(name, &op)?;
        msg.attributes
            .push(LinkAttribute::IfName(new_name.to_string()));
        self.request(RouteNetlinkMessage::SetLink(msg), 0, &op)
    }

    /// Sets the hardware address of the link `name` (berth gives a container's interface
    /// `02:42:` + its four IPv4 bytes, as Docker does; see [`container_mac`]).
    pub fn set_mac(&mut self, name: &str, mac: [u8; 6]) -> io::Result<()> {
        let op = format!(
            "setting the MAC address of link {name} to {}",
            format_mac(mac)
        );
        let mut msg = self.link_message(name, &op)?;
        msg.attributes.push(LinkAttribute::Address(mac.to_vec()));
        self.request(RouteNetlinkMessage::SetLink(msg), 0, &op)
    }

    /// Enslaves the link `name` to the bridge `master`.
    pub fn set_master(&mut self, name: &str, master: &str) -> io::Result<()> {
        let op = format!("attaching link {name} to bridge {master}");
        let master = self.index_for(master, &op)?;
        let mut msg = self.link_message(name, &op)?;
        msg.attributes.push(LinkAttribute::Controller(master));
        self.request(RouteNetlinkMessage::SetLink(msg), 0, &op)
    }

    /// Creates the veth pair `host` ↔ `peer`: `host` here (enslaved to the bridge `master`
    /// when given), `peer` born directly inside the network namespace `peer_netns` (an open
    /// nsfs file), so it never appears in this namespace. Both ends start down.
    pub fn create_veth(
        &mut self,
        host: &str,
        peer: &str,
        peer_netns: impl AsFd,
        master: Option<&str>,
    ) -> io::Result<()> {
        let op = format!("creating veth pair {host}/{peer}");
        let mut peer_msg = LinkMessage::default();
        peer_msg
            .attributes
            .push(LinkAttribute::IfName(peer.to_string()));
        peer_msg
            .attributes
            .push(LinkAttribute::NetNsFd(peer_netns.as_fd().as_raw_fd()));
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(host.to_string()));
        if let Some(master) = master {
            let index = self.index_for(master, &op)?;
            msg.attributes.push(LinkAttribute::Controller(index));
        }
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_msg))),
        ]));
        self.request(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &op,
        )
    }

    /// A `LinkMessage` addressing the existing link `name` by index.
    fn link_message(&mut self, name: &str, op: &str) -> io::Result<LinkMessage> {
        let mut msg = LinkMessage::default();
        msg.header.index = self.index_for(name, op)?;
        Ok(msg)
    }

    /// `link_index` with `op` in the error: "attaching link x to bridge y: no link named y".
    pub(super) fn index_for(&mut self, name: &str, op: &str) -> io::Result<u32> {
        match self.link(name)? {
            Some(l) => Ok(l.index),
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                OpError::new(op, format!("no link named {name}"), Some(libc::ENODEV)),
            )),
        }
    }
}

/// Docker's MAC address for a container interface: `02:42:` followed by the four bytes of
/// its IPv4 address (locally administered, unicast), so it is stable and unique per network.
pub fn container_mac(ip: std::net::Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

/// `02:42:ac:11:00:02`.
pub fn format_mac(mac: [u8; 6]) -> String {
    mac.map(|b| format!("{b:02x}")).join(":")
}

fn check_is_bridge(op: &str, existing: &LinkDetails) -> io::Result<()> {
    if existing.kind.as_deref() == Some("bridge") {
        return Ok(());
    }
    let kind = existing.kind.as_deref().unwrap_or("device");
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        OpError::new(
            op,
            format!(
                "a {kind} link named {} already exists; choose another bridge name",
                existing.name
            ),
            Some(libc::EEXIST),
        ),
    ))
}

fn details(l: LinkMessage) -> LinkDetails {
    let mut d = LinkDetails {
        index: l.header.index,
        name: String::new(),
        kind: None,
        mtu: None,
        master: None,
        up: l.header.flags.contains(LinkFlags::Up),
        mac: None,
        hairpin: None,
    };
    for attr in l.attributes {
        match attr {
            LinkAttribute::IfName(n) => d.name = n,
            LinkAttribute::Mtu(m) => d.mtu = Some(m),
            LinkAttribute::Controller(m) => d.master = Some(m),
            LinkAttribute::Address(a) => d.mac = <[u8; 6]>::try_from(a.as_slice()).ok(),
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    match info {
                        LinkInfo::Kind(k) => d.kind = Some(k.to_string()),
                        LinkInfo::PortData(InfoPortData::BridgePort(attrs)) => {
                            d.hairpin = attrs.iter().find_map(|a| match a {
                                InfoBridgePort::HairpinMode(on) => Some(*on),
                                _ => None,
                            });
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    d
}

/// Small helpers on the errors this crate makes.
trait IoErrorExt {
    fn raw_os_error_any(&self) -> Option<i32>;
    fn with_kind(self, kind: io::ErrorKind) -> io::Error;
}

impl IoErrorExt for io::Error {
    fn raw_os_error_any(&self) -> Option<i32> {
        super::errno(self)
    }

    fn with_kind(self, kind: io::ErrorKind) -> io::Error {
        if self.kind() == kind {
            return self;
        }
        match self.into_inner() {
            Some(inner) => io::Error::new(kind, inner),
            None => io::Error::from(kind),
        }
    }
}
