//! The create-body fields docker 28.2 sends for the networking flags of `run`/`create`.

use super::*;
use clap::Parser;

#[derive(Debug, Parser)]
struct T {
    #[command(flatten)]
    n: NetFlags,
}

fn parse(args: &[&str]) -> std::result::Result<NetFlags, clap::Error> {
    T::try_parse_from(std::iter::once("t").chain(args.iter().copied())).map(|t| t.n)
}

fn body(args: &[&str]) -> Result<Value> {
    let mut cfg = json!({ "HostConfig": {} });
    parse(args).unwrap().apply(&mut cfg)?;
    Ok(cfg)
}

#[test]
fn publish_fills_exposed_ports_and_bindings() {
    let b = body(&[
        "-p",
        "8080:80",
        "-p",
        "127.0.0.1::53/udp",
        "-P",
        "--expose",
        "9000",
    ])
    .unwrap();
    assert_eq!(
        b["ExposedPorts"],
        json!({"53/udp": {}, "80/tcp": {}, "9000/tcp": {}})
    );
    assert_eq!(
        b["HostConfig"]["PortBindings"],
        json!({"80/tcp": [{"HostIp": "", "HostPort": "8080"}],
               "53/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}]})
    );
    assert_eq!(b["HostConfig"]["PublishAllPorts"], true);
    let e = body(&["-p", "80/xtp"]).unwrap_err();
    assert_eq!(e.to_string(), "invalid proto: xtp");
}

#[test]
fn no_network_means_the_default_endpoint() {
    let b = body(&[]).unwrap();
    assert_eq!(b["HostConfig"]["NetworkMode"], "default");
    assert_eq!(b["HostConfig"]["PortBindings"], json!({}));
    assert!(b.get("ExposedPorts").is_none());
    assert_eq!(
        b["NetworkingConfig"]["EndpointsConfig"]["default"],
        ep_if_empty()
    );
    let e = body(&["--network-alias", "web"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "network-scoped aliases are only supported for user-defined networks"
    );
}

#[test]
fn user_network_and_its_endpoint_options() {
    // A lone network without options: no endpoint, as docker's client sends it.
    let b = body(&["--network", "front"]).unwrap();
    assert_eq!(b["HostConfig"]["NetworkMode"], "front");
    assert_eq!(b["NetworkingConfig"], json!({"EndpointsConfig": {}}));
    let b = body(&[
        "--network",
        "front",
        "--network-alias",
        "web",
        "--network-alias",
        "www",
        "--ip",
        "172.30.0.9",
    ])
    .unwrap();
    let ep = &b["NetworkingConfig"]["EndpointsConfig"]["front"];
    assert_eq!(ep["Aliases"], json!(["web", "www"]));
    assert_eq!(ep["IPAMConfig"], json!({"IPv4Address": "172.30.0.9"}));
    assert_eq!(ep["DriverOpts"], Value::Null);
    let b = body(&["--network", "name=back,alias=db", "--network", "front"]).unwrap();
    let eps = &b["NetworkingConfig"]["EndpointsConfig"];
    assert_eq!(eps["back"]["Aliases"], json!(["db"]));
    assert_eq!(eps["front"], ep_if_empty());
    assert_eq!(b["HostConfig"]["NetworkMode"], "back");
    let e = body(&["--network", "host", "--network", "front"]).unwrap_err();
    assert!(e.to_string().contains("cannot attach both user-defined"));
    let e = body(&["--network", "a", "--network", "a"]).unwrap_err();
    assert_eq!(e.to_string(), "network \"a\" is specified multiple times");
}

#[test]
fn dns_and_hosts_flags_validate_like_docker() {
    let b = body(&[
        "--dns",
        "1.1.1.1",
        "--dns",
        "::ffff:8.8.8.8",
        "--dns-search",
        "example.com.",
        "--dns-option",
        "ndots:2",
        "--add-host",
        "db=10.0.0.2",
        "--add-host",
        "v6:[::1]",
        "--add-host",
        "gw:host-gateway",
    ])
    .unwrap();
    let h = &b["HostConfig"];
    assert_eq!(h["Dns"], json!(["1.1.1.1", "8.8.8.8"]));
    assert_eq!(h["DnsSearch"], json!(["example.com"]));
    assert_eq!(h["DnsOptions"], json!(["ndots:2"]));
    assert_eq!(
        h["ExtraHosts"],
        json!(["db:10.0.0.2", "v6:::1", "gw:host-gateway"])
    );
    assert_eq!(body(&[]).unwrap()["HostConfig"]["ExtraHosts"], Value::Null);
    let e = parse(&["--dns", "nope"]).unwrap_err().to_string();
    assert!(
        e.contains("IP address is not correctly formatted: nope"),
        "{e}"
    );
    let e = parse(&["--add-host", "nohost"]).unwrap_err().to_string();
    assert!(e.contains("bad format for add-host: \"nohost\""), "{e}");
    let e = parse(&["--add-host", "h:1.2.3"]).unwrap_err().to_string();
    assert!(
        e.contains("invalid IP address in add-host: \"1.2.3\""),
        "{e}"
    );
    let e = parse(&["--dns-search=-bad-"]).unwrap_err().to_string();
    assert!(e.contains("-bad- is not a valid domain"), "{e}");
    assert_eq!(dns_search(".").unwrap(), ".");
}

#[test]
fn network_long_syntax() {
    assert!(!is_long_syntax("front"));
    assert!(is_long_syntax("name=front,alias=a"));
    let a = attachment("name=n,alias=a,ip=10.0.0.2,driver-opt=k=v,gw-priority=3").unwrap();
    assert_eq!(a.target, "n");
    assert_eq!(a.ipv4, "10.0.0.2");
    assert_eq!(a.driver_opts["k"], "v");
    assert_eq!(a.gw_priority, 3);
    assert_eq!(
        attachment("alias=a").unwrap_err().to_string(),
        "network name/id is not specified"
    );
    assert_eq!(
        attachment("name=n,bogus=1").unwrap_err().to_string(),
        "invalid field key bogus"
    );
}
