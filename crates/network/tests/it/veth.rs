//! The whole container wiring: bridge, veth into a fresh netns, eth0, addresses, default
//! route, a ping from the namespace to the bridge, then teardown by deleting the namespace.

use std::net::IpAddr;

use berth_network::netlink::{LinkAddress, Netlink};
use berth_testutil::require_root;

use crate::util::{
    assert_no_links, assert_no_mounts_under, eventually, free_subnet, host, link_name, ping_from,
    LinkGuard, NsDir,
};

#[test]
fn veth_into_netns_gets_eth0_addresses_route_and_pings_the_bridge() {
    require_root!();
    let (br, vh, peer) = (link_name(), link_name(), link_name());
    let _br_guard = LinkGuard(br.clone());
    let _vh_guard = LinkGuard(vh.clone());
    let dir = NsDir::new();
    let dir_path = dir.path().to_path_buf();
    let ns = dir.create(&format!("ns-{vh}"));
    let subnet = free_subnet();
    let (gw, addr) = (host(subnet, 1), host(subnet, 2));

    let mut nl = Netlink::new().unwrap();
    nl.create_bridge(&br, None).unwrap();
    nl.create_veth(&vh, &peer, &ns, Some(&br)).unwrap();
    assert!(
        nl.link(&peer).unwrap().is_none(),
        "peer born in the netns, not here"
    );
    let bridge_index = nl.link_index(&br).unwrap();
    assert_eq!(nl.link(&vh).unwrap().unwrap().master, Some(bridge_index));

    let mut inside = Netlink::new_in(&ns).unwrap();
    assert_eq!(
        inside.link(&peer).unwrap().unwrap().kind.as_deref(),
        Some("veth")
    );
    inside.set_name(&peer, "eth0").unwrap();
    assert!(inside.link(&peer).unwrap().is_none());

    nl.add_address(&br, gw).unwrap();
    inside.add_address("eth0", addr).unwrap();
    nl.set_up(&br).unwrap();
    nl.set_up(&vh).unwrap();
    inside.set_up("lo").unwrap();
    inside.set_up("eth0").unwrap();
    inside.add_default_route(gw.addr).unwrap();

    let v4 = |list: Vec<LinkAddress>| -> Vec<(IpAddr, u8)> {
        list.into_iter()
            .filter(|a| a.addr.is_ipv4())
            .map(|a| (a.addr, a.prefix))
            .collect()
    };
    assert_eq!(
        v4(nl.addresses(&br).unwrap()),
        vec![(IpAddr::V4(gw.addr), 24)]
    );
    assert_eq!(
        v4(inside.addresses("eth0").unwrap()),
        vec![(IpAddr::V4(addr.addr), 24)]
    );
    let routes = inside.ipv4_routes().unwrap();
    assert!(
        routes.iter().any(|r| r.prefix == 0),
        "default route: {routes:?}"
    );
    let err = inside.add_address("eth0", addr).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists, "{err}");

    assert!(
        ping_from(&ns, &gw.addr.to_string(), 5),
        "ping from the netns to the bridge at {}",
        gw.addr
    );

    // Removing an address works and is visible.
    nl.del_address(&br, gw).unwrap();
    assert!(v4(nl.addresses(&br).unwrap()).is_empty());
    assert!(
        !ping_from(&ns, &gw.addr.to_string(), 1),
        "the ping really went to the bridge address: without it, no answer"
    );

    // Deleting the namespace (once nothing holds it) destroys eth0, and with it the host end.
    drop(inside);
    ns.delete().unwrap();
    eventually("the host end of the veth to vanish", || {
        nl.link(&vh).unwrap().is_none()
    });
    nl.delete_link(&br, false).unwrap();
    drop(dir);
    assert_no_links(&[&br, &vh, &peer]);
    assert_no_mounts_under(&dir_path);
}
