//! Network modes and extra hosts.

use super::*;

#[test]
fn network_modes() {
    let img = image(None, Some(&["sh"]));
    let has_net = |mode: &str| {
        let spec = build_ok(&img, &hc(|h| h.network_mode = mode.into()));
        spec.linux()
            .as_ref()
            .unwrap()
            .namespaces()
            .as_ref()
            .unwrap()
            .iter()
            .any(|n| n.typ() == LinuxNamespaceType::Network)
    };
    assert!(has_net(""));
    assert!(has_net("default"));
    assert!(has_net("none"));
    assert!(!has_net("host"));
    assert!(
        build_err(&img, &hc(|h| h.network_mode = "container:abc".into()))
            .contains("no network namespace given")
    );
    assert!(has_net("mynet"));
    assert_eq!(
        build_err(&img, &hc(|h| h.network_mode = "container:".into())),
        "invalid network mode \"container:\": use default, bridge, none, host, \
         container:<name|id> or a network's name"
    );
}

#[test]
fn extra_hosts() {
    assert_eq!(
        parse_extra_hosts(&s(&["db:10.0.0.2", "v6:::1", "gw=host-gateway"])).unwrap(),
        vec![
            ("db".into(), "10.0.0.2".into()),
            ("v6".into(), "::1".into()),
            ("gw".into(), "host-gateway".into())
        ]
    );
    assert_eq!(
        parse_extra_hosts(&s(&["nohost"])).unwrap_err().to_string(),
        "bad format for add-host: \"nohost\": expected host:ip (or host=ip)"
    );
    assert!(parse_extra_hosts(&s(&["db:notanip"])).is_err());
}
