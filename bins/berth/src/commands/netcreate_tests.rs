//! `network create` bodies as docker 28.2's client sends them.

use super::*;
use clap::Parser;

#[derive(Debug, Parser)]
struct T {
    #[command(flatten)]
    c: Create,
}

fn body(args: &[&str]) -> Result<Value> {
    let t = T::try_parse_from(std::iter::once("t").chain(args.iter().copied())).unwrap();
    create_body(&t.c)
}

#[test]
fn plain_create_body() {
    let b = body(&["front"]).unwrap();
    assert_eq!(
        b,
        json!({"Name": "front", "CheckDuplicate": true, "Driver": "bridge", "Scope": "",
            "IPAM": {"Driver": "default", "Options": {}, "Config": []},
            "Internal": false, "Attachable": false, "Ingress": false, "ConfigOnly": false,
            "ConfigFrom": null, "Options": {}, "Labels": {}})
    );
}

#[test]
fn create_with_ipam_labels_and_options() {
    let b = body(&[
        "--subnet",
        "172.30.0.0/16",
        "--gateway",
        "172.30.0.1",
        "--ip-range",
        "172.30.5.0/24",
        "--internal",
        "--attachable",
        "--label",
        "a=b",
        "--label",
        "c",
        "-o",
        "com.docker.network.bridge.name=br-x",
        "--ipv6=false",
        "--aux-address",
        "h=172.30.0.2",
        "back",
    ])
    .unwrap();
    assert_eq!(
        b["IPAM"]["Config"],
        json!([{"Subnet": "172.30.0.0/16", "Gateway": "172.30.0.1",
            "IPRange": "172.30.5.0/24", "AuxiliaryAddresses": {"h": "172.30.0.2"}}])
    );
    assert_eq!(b["Labels"], json!({"a": "b", "c": ""}));
    assert_eq!(b["Options"]["com.docker.network.bridge.name"], "br-x");
    assert_eq!(b["Internal"], true);
    assert_eq!(b["Attachable"], true);
    assert_eq!(b["EnableIPv6"], false);
    assert!(b.get("EnableIPv4").is_none());
    let b = body(&["--subnet", "10.1.0.0/24,fd00::/64", "--ipv6", "n"]).unwrap();
    assert_eq!(b["IPAM"]["Config"].as_array().unwrap().len(), 2);
    assert_eq!(b["EnableIPv6"], true);
}

#[test]
fn ipam_errors_use_dockers_words() {
    let e = |args: &[&str]| body(args).unwrap_err().to_string();
    assert_eq!(
        e(&["--gateway", "10.0.0.1", "n"]),
        "every ip-range or gateway must have a corresponding subnet"
    );
    assert_eq!(
        e(&["--subnet", "10.0.0.0/16", "--gateway", "10.1.0.1", "n"]),
        "no matching subnet for gateway 10.1.0.1"
    );
    assert_eq!(
        e(&["--subnet", "10.0.0.0/16", "--subnet", "10.0.1.0/24", "n"]),
        "multiple overlapping subnet configuration is not supported"
    );
    assert_eq!(
        e(&["--subnet", "10.1.0.0/16", "--subnet", "10.0.0.0/33", "n"]),
        "invalid subnet: invalid CIDR address: 10.0.0.0/33"
    );
    assert_eq!(
        e(&[
            "--subnet",
            "10.0.0.0/16",
            "--ip-range",
            "10.0.1.0/24,10.0.2.0/24",
            "n"
        ]),
        "every ip-range or gateway must have a corresponding subnet"
    );
    let t = T::try_parse_from(["t", "--label", "=x", "n"]).unwrap_err();
    assert!(
        t.to_string().contains("invalid label '=x': empty name"),
        "{t}"
    );
}

#[test]
fn subnet_containment() {
    assert!(subnet_matches("10.0.0.0/8", "10.200.0.1").unwrap());
    assert!(!subnet_matches("10.0.0.0/8", "11.0.0.1").unwrap());
    assert!(subnet_matches("fd00::/64", "fd00::1").unwrap());
    assert!(!subnet_matches("fd00::/64", "10.0.0.1").unwrap());
    assert!(subnet_matches("0.0.0.0/0", "1.2.3.4").unwrap());
    assert!(!subnet_matches("10.0.0.0/8", "nope").unwrap());
}
