//! Bridge port settings: hairpin mode.
//!
//! Why hairpin: a container that connects to its *own* published port (`curl host:8080` from
//! inside the container publishing 8080) sends the packet out of its veth into the bridge; DNAT
//! turns the destination back into the container's own address, so the bridge must send the
//! frame back out of the port it came in on. A bridge never does that unless the port is in
//! hairpin mode (Docker turns it on for every port of its bridges when the userland proxy is off).
//!
//! The setting is a bridge-port attribute (`IFLA_BRPORT_MODE`) carried in a nested
//! `IFLA_PROTINFO` of an `RTM_SETLINK` with family `AF_BRIDGE`, which the kernel hands to the
//! port's bridge (`br_setlink`), as `bridge link set dev X hairpin on` does. The nested flag
//! matters: a non-nested `IFLA_PROTINFO` is the old STP interface and sets the port *state*.
//! netlink-packet-route 0.31 emits `ProtoInfoBridge` without that flag, so the attribute is
//! built here from its own [`InfoBridgePort::HairpinMode`] inside a raw nested attribute. The
//! value is read back from the ordinary link dump (`IFLA_INFO_SLAVE_DATA`), see
//! [`LinkDetails::hairpin`](super::LinkDetails::hairpin).

use std::io;

use netlink_packet_core::{DefaultNla, Emitable, NLA_F_NESTED};
use netlink_packet_route::link::{InfoBridgePort, LinkAttribute, LinkMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::{errno, Netlink, OpError};

/// `IFLA_PROTINFO` from `linux/if_link.h`.
const IFLA_PROTINFO: u16 = 12;

impl Netlink {
    /// Turns hairpin mode on or off on the bridge port `port` (a link enslaved to a bridge).
    /// A link that is not a bridge port is an `Unsupported` error saying so.
    pub fn set_hairpin(&mut self, port: &str, on: bool) -> io::Result<()> {
        let op = format!(
            "turning hairpin mode {} on bridge port {port}",
            if on { "on" } else { "off" }
        );
        let mut msg = LinkMessage::default();
        msg.header.interface_family = AddressFamily::Bridge;
        msg.header.index = self.index_for(port, &op)?;
        msg.attributes
            .push(LinkAttribute::ProtoInfoUnknown(protinfo(&[
                InfoBridgePort::HairpinMode(on),
            ])));
        match self.request(RouteNetlinkMessage::SetLink(msg), 0, &op) {
            Err(e) if errno(&e) == Some(libc::EOPNOTSUPP) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                OpError::new(
                    &op,
                    format!("{port} is not attached to a bridge"),
                    Some(libc::EOPNOTSUPP),
                ),
            )),
            r => r,
        }
    }
}

/// A nested `IFLA_PROTINFO` holding `attrs`.
fn protinfo(attrs: &[InfoBridgePort]) -> DefaultNla {
    let mut value = vec![0u8; attrs.buffer_len()];
    attrs.emit(&mut value);
    DefaultNla::new(IFLA_PROTINFO | NLA_F_NESTED, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protinfo_is_nested_and_holds_brport_mode() {
        let nla = protinfo(&[InfoBridgePort::HairpinMode(true)]);
        let mut buf = vec![0u8; nla.buffer_len()];
        nla.emit(&mut buf);
        let u16_at = |i: usize| u16::from_ne_bytes([buf[i], buf[i + 1]]);
        // Outer header: length 12 (4 + 8), type IFLA_PROTINFO | NLA_F_NESTED.
        assert_eq!((u16_at(0), u16_at(2)), (12, IFLA_PROTINFO | NLA_F_NESTED));
        // Inner: length 5, type IFLA_BRPORT_MODE (4), value 1, padding.
        assert_eq!((u16_at(4), u16_at(6)), (5, 4));
        assert_eq!(&buf[8..], &[1, 0, 0, 0]);
    }
}
