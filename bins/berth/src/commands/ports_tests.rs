//! Cases taken from go-connections v0.5.0's `nat_test.go` and docker's
//! `formatter/container_test.go`, so a drift from docker shows here first.

use super::*;
use serde_json::json;

fn m(port: &str, ip: &str, hp: &str) -> Mapping {
    Mapping {
        port: port.into(),
        host_ip: ip.into(),
        host_port: hp.into(),
    }
}

fn err(spec: &str) -> String {
    parse_port_spec(spec).unwrap_err().to_string()
}

#[test]
fn publish_single_port_forms() {
    assert_eq!(parse_port_spec("80").unwrap(), [m("80/tcp", "", "")]);
    assert_eq!(
        parse_port_spec("8080:80").unwrap(),
        [m("80/tcp", "", "8080")]
    );
    assert_eq!(
        parse_port_spec("127.0.0.1:8080:80/udp").unwrap(),
        [m("80/udp", "127.0.0.1", "8080")]
    );
    assert_eq!(
        parse_port_spec("127.0.0.1::80").unwrap(),
        [m("80/tcp", "127.0.0.1", "")]
    );
    assert_eq!(parse_port_spec("53/UDP").unwrap(), [m("53/udp", "", "")]);
    assert_eq!(
        parse_port_spec("[::1]:8080:80").unwrap(),
        [m("80/tcp", "::1", "8080")]
    );
    assert_eq!(
        parse_port_spec("::1:8080:80").unwrap(),
        [m("80/tcp", "::1", "8080")]
    );
}

#[test]
fn publish_ranges() {
    assert_eq!(
        parse_port_spec("8000-8001:80-81").unwrap(),
        [m("80/tcp", "", "8000"), m("81/tcp", "", "8001")]
    );
    // A host range for one container port: the daemon picks one port of the range.
    assert_eq!(
        parse_port_spec("8000-8010:80").unwrap(),
        [m("80/tcp", "", "8000-8010")]
    );
    assert_eq!(
        parse_port_spec("0.0.0.0::80-81/udp").unwrap(),
        [m("80/udp", "0.0.0.0", ""), m("81/udp", "0.0.0.0", "")]
    );
}

#[test]
fn publish_errors_use_dockers_words() {
    assert_eq!(err("x"), "invalid containerPort: x");
    assert_eq!(err("+80"), "invalid containerPort: +80");
    assert_eq!(err("70000"), "invalid containerPort: 70000");
    assert_eq!(err("x:80"), "invalid hostPort: x");
    assert_eq!(err("80/xtp"), "invalid proto: xtp");
    assert_eq!(err("1.2.3:80:80"), "invalid IP address: 1.2.3");
    assert_eq!(err("8080:"), "no port specified: 8080:<empty>");
    assert_eq!(
        err("8000-8002:80-81"),
        "invalid ranges specified for container and host Ports: 80-81 and 8000-8002"
    );
    assert_eq!(err("81-80"), "invalid containerPort: 81-80");
}

#[test]
fn publish_and_expose_build_the_maps() {
    let (exposed, bindings) = parse_publish(
        &[
            "8080:80".into(),
            "9090:80".into(),
            "published=53,target=53,protocol=udp".into(),
        ],
        &["7000-7001".into(), "80".into()],
    )
    .unwrap();
    let keys: Vec<&str> = exposed.keys().map(String::as_str).collect();
    assert_eq!(keys, ["53/udp", "7000/tcp", "7001/tcp", "80/tcp"]);
    assert_eq!(bindings["80/tcp"].len(), 2);
    assert_eq!(bindings["53/udp"], [m("53/udp", "", "53")]);
    let e = parse_publish(&[], &["1:2".into()]).unwrap_err();
    assert_eq!(e.to_string(), "invalid port format for --expose: 1:2");
    let e = parse_publish(&[], &["x".into()]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid range format for --expose: x, error: strconv.ParseUint: parsing \"x\": invalid syntax"
    );
}

#[test]
fn ps_ports_column_collapses_ranges() {
    let p = |ip: &str, private: u16, public: u16, kind: &str| {
        let mut v = json!({"PrivatePort": private, "Type": kind});
        if !ip.is_empty() {
            v["IP"] = json!(ip);
            v["PublicPort"] = json!(public);
        }
        v
    };
    assert_eq!(display_ports(&[]), "");
    assert_eq!(display_ports(&[p("", 80, 0, "tcp")]), "80/tcp");
    assert_eq!(
        display_ports(&[p("0.0.0.0", 80, 8080, "tcp")]),
        "0.0.0.0:8080->80/tcp"
    );
    assert_eq!(
        display_ports(&[p("", 9989, 0, "tcp"), p("", 9988, 0, "tcp")]),
        "9988-9989/tcp"
    );
    assert_eq!(
        display_ports(&[
            p("0.0.0.0", 9998, 9998, "udp"),
            p("0.0.0.0", 9999, 9999, "udp"),
            p("::", 9999, 9999, "udp"),
        ]),
        "0.0.0.0:9998-9999->9998-9999/udp, [::]:9999->9999/udp"
    );
    assert_eq!(
        display_ports(&[
            p("", 80, 0, "tcp"),
            p("", 82, 0, "tcp"),
            p("4.3.2.1", 8899, 8899, "tcp"),
            p("::", 80, 8080, "tcp"),
        ]),
        "80/tcp, 82/tcp, 4.3.2.1:8899->8899/tcp, [::]:8080->80/tcp"
    );
}

#[test]
fn natural_order_and_host_ports() {
    let mut v = vec![
        "80/tcp -> 0.0.0.0:8080",
        "8080/tcp -> :::1",
        "443/tcp -> 0.0.0.0:443",
    ];
    v.sort_by(|a, b| natural_cmp(a, b));
    assert_eq!(
        v,
        [
            "80/tcp -> 0.0.0.0:8080",
            "443/tcp -> 0.0.0.0:443",
            "8080/tcp -> :::1"
        ]
    );
    assert_eq!(natural_cmp("a02", "a2"), Ordering::Greater);
    assert_eq!(join_host_port("::", "80"), "[::]:80");
    assert_eq!(join_host_port("", "80"), ":80");
}
