//! MAC addresses, hairpin mode on bridge ports, and the link dump, all inside a private
//! namespace: the bridge and veths live and die with it, the host's links are never touched.

use std::io;
use std::net::Ipv4Addr;

use berth_network::netlink::{container_mac, format_mac, Netlink};
use berth_testutil::require_root;

use crate::util::{assert_no_links, link_name, NsDir};

#[test]
fn mac_hairpin_and_link_dump_in_a_private_netns() {
    require_root!();
    let (br, vh, peer) = (link_name(), link_name(), link_name());
    let dir = NsDir::new();
    let ns = dir.create(&format!("ns-{vh}"));
    let mut nl = Netlink::new_in(&ns).unwrap();
    nl.create_bridge(&br, None).unwrap();
    // Both ends in the private namespace: the peer is born where `nl` acts.
    nl.create_veth(&vh, &peer, &ns, Some(&br)).unwrap();

    // MAC: Docker's 02:42 + IPv4 bytes, read back through IFLA_ADDRESS.
    let mac = container_mac(Ipv4Addr::new(172, 17, 0, 2));
    assert_eq!(format_mac(mac), "02:42:ac:11:00:02");
    nl.set_mac(&peer, mac).unwrap();
    assert_eq!(nl.link(&peer).unwrap().unwrap().mac, Some(mac));
    assert!(
        nl.link("lo").unwrap().unwrap().mac.is_some(),
        "lo has 00:00:…"
    );
    let err = nl.set_mac(&link_name(), mac).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");

    // Hairpin: off by default, on, off again, read back from the kernel each time.
    assert_eq!(nl.link(&vh).unwrap().unwrap().hairpin, Some(false));
    nl.set_hairpin(&vh, true).unwrap();
    assert_eq!(nl.link(&vh).unwrap().unwrap().hairpin, Some(true));
    nl.set_hairpin(&vh, true).expect("idempotent");
    nl.set_up(&vh).unwrap();
    assert_eq!(
        nl.link(&vh).unwrap().unwrap().hairpin,
        Some(true),
        "state survives up"
    );
    nl.set_hairpin(&vh, false).unwrap();
    assert_eq!(nl.link(&vh).unwrap().unwrap().hairpin, Some(false));
    // Not a bridge port: no hairpin attribute, and setting it says why it failed.
    assert_eq!(nl.link(&peer).unwrap().unwrap().hairpin, None);
    let err = nl.set_hairpin(&peer, true).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported, "{err}");
    assert!(
        err.to_string().contains("not attached to a bridge"),
        "{err}"
    );
    nl.set_hairpin(&vh, true).unwrap();

    // The dump: every link of the namespace, with kinds and the master.
    let links = nl.links().unwrap();
    let find = |n: &str| links.iter().find(|l| l.name == n).cloned();
    let bridge = find(&br).expect("bridge in dump");
    assert_eq!(bridge.kind.as_deref(), Some("bridge"));
    let port = find(&vh).expect("veth in dump");
    assert_eq!(port.kind.as_deref(), Some("veth"));
    assert_eq!(port.master, Some(bridge.index));
    assert_eq!(port.hairpin, Some(true));
    assert_eq!(find(&peer).expect("peer in dump").mac, Some(mac));
    assert!(find("lo").is_some());
    assert_eq!(links.len(), 4, "{links:#?}");

    drop(nl);
    ns.delete().unwrap();
    drop(dir);
    assert_no_links(&[&br, &vh, &peer]);
}

#[test]
fn host_dump_lists_lo() {
    require_root!();
    let mut nl = Netlink::new().unwrap();
    let links = nl.links().unwrap();
    assert!(links.iter().any(|l| l.name == "lo" && l.index == 1));
    let names: std::collections::BTreeSet<&str> = links.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names.len(), links.len(), "one entry per link");
}
