//! Bridges: idempotent creation, deletion, and the error for a name taken by a veth.

use std::fs::File;
use std::io;

use berth_network::netlink::{errno, Netlink};
use berth_testutil::require_root;

use crate::util::{assert_no_links, link_name, LinkGuard};

#[test]
fn bridge_create_is_idempotent_and_delete_removes_it() {
    require_root!();
    let br = link_name();
    let _guard = LinkGuard(br.clone());
    let mut nl = Netlink::new().unwrap();

    nl.create_bridge(&br, Some(1400)).unwrap();
    nl.create_bridge(&br, Some(1400))
        .expect("second create is a no-op");
    let link = nl.link(&br).unwrap().expect("bridge exists");
    assert_eq!(link.kind.as_deref(), Some("bridge"));
    assert_eq!(link.mtu, Some(1400));
    assert!(!link.up);
    assert_eq!(nl.link_index(&br).unwrap(), link.index);

    nl.set_up(&br).unwrap();
    assert!(nl.link(&br).unwrap().unwrap().up);
    nl.set_down(&br).unwrap();
    assert!(!nl.link(&br).unwrap().unwrap().up);

    nl.delete_link(&br, false).unwrap();
    assert!(nl.link(&br).unwrap().is_none());
    nl.delete_link(&br, true).expect("missing link tolerated");
    let err = nl.delete_link(&br, false).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
    assert_eq!(
        err.to_string(),
        format!("deleting link {br}: No such device")
    );
    let err = nl.link_index(&br).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
    assert_no_links(&[&br]);
}

#[test]
fn bridge_named_like_a_veth_fails_clearly() {
    require_root!();
    let (a, b) = (link_name(), link_name());
    let _guard = LinkGuard(a.clone());
    let mut nl = Netlink::new().unwrap();
    // Both ends in the host namespace: the peer's namespace is our own.
    let own = File::open("/proc/thread-self/ns/net").unwrap();
    nl.create_veth(&a, &b, &own, None).unwrap();
    assert_eq!(nl.link(&b).unwrap().unwrap().kind.as_deref(), Some("veth"));

    let err = nl.create_bridge(&a, None).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "creating bridge {a}: a veth link named {a} already exists; choose another bridge name"
        )
    );
    assert_eq!(errno(&err), Some(libc::EEXIST));
    // The veth is untouched.
    assert_eq!(nl.link(&a).unwrap().unwrap().kind.as_deref(), Some("veth"));

    nl.delete_link(&a, false).unwrap();
    assert!(
        nl.link(&b).unwrap().is_none(),
        "deleting one end removes both"
    );
    assert_no_links(&[&a, &b]);
}

#[test]
fn operations_on_missing_links_name_the_operation() {
    require_root!();
    let missing = link_name();
    let mut nl = Netlink::new().unwrap();
    let err = nl.set_up(&missing).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert_eq!(
        err.to_string(),
        format!("setting link {missing} up: no link named {missing}")
    );
    let err = nl.addresses(&missing).unwrap_err();
    assert!(
        err.to_string().starts_with("listing addresses of link"),
        "{err}"
    );
}
