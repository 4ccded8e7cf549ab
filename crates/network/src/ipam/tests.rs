//! Unit tests of the IPAM logic (a file of their own to keep `ipam.rs` short).

use super::*;

fn c(s: &str) -> Cidr {
    Cidr::parse_subnet(s).unwrap()
}
fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[test]
fn cidr_parse_format_and_math() {
    let n = c("172.18.0.0/16");
    assert_eq!(n.to_string(), "172.18.0.0/16");
    assert_eq!(
        (n.broadcast(), n.netmask()),
        (ip("172.18.255.255"), ip("255.255.0.0"))
    );
    assert!(n.contains(ip("172.18.3.4")) && !n.contains(ip("172.19.0.0")));
    assert_eq!("10.1.2.3/8".parse::<Cidr>().unwrap(), c("10.0.0.0/8"));
    assert_eq!(c("0.0.0.0/0").broadcast(), Ipv4Addr::BROADCAST);
    for bad in [
        "10.0.0.0",
        "10.0.0.0/33",
        "10.0.0/8",
        "x/8",
        "10.0.0.0/+8",
        "::1/64",
    ] {
        assert!(
            matches!(bad.parse::<Cidr>(), Err(IpamError::InvalidCidr(_))),
            "{bad}"
        );
    }
    let e = Cidr::parse_subnet("172.18.0.5/16").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid subnet 172.18.0.5/16 : it should be 172.18.0.0/16"
    );
    assert!(c("10.0.0.0/8").overlaps(&c("10.9.0.0/16")));
    assert!(c("10.9.0.0/16").overlaps(&c("10.0.0.0/8")));
    assert!(!c("10.0.0.0/24").overlaps(&c("10.0.1.0/24")));
}

#[test]
fn cidr_serde_is_a_string() {
    let json = serde_json::to_string(&c("192.168.16.0/20")).unwrap();
    assert_eq!(json, "\"192.168.16.0/20\"");
    assert_eq!(
        serde_json::from_str::<Cidr>(&json).unwrap(),
        c("192.168.16.0/20")
    );
    assert!(serde_json::from_str::<Cidr>("\"nope\"").is_err());
}

#[test]
fn default_pools_are_dockers() {
    let all: Vec<String> = docker_default_pools()
        .iter()
        .flat_map(Pool::subnets)
        .map(|c| c.to_string())
        .collect();
    assert_eq!(all.len(), 15 + 16);
    assert_eq!(all[0], "172.17.0.0/16");
    assert_eq!(all[3], "172.20.0.0/16");
    assert_eq!(all[14], "172.31.0.0/16");
    assert_eq!(all[15], "192.168.0.0/20");
    assert_eq!(all[16], "192.168.16.0/20");
    assert_eq!(all[30], "192.168.240.0/20");
}

#[test]
fn pick_skips_networks_and_routes() {
    let pools = docker_default_pools();
    assert_eq!(pick_subnet(&pools, &[], &[]).unwrap(), c("172.17.0.0/16"));
    let taken = [c("172.17.0.0/16"), c("172.19.0.0/24")];
    let routes = [c("172.18.5.0/24")];
    assert_eq!(
        pick_subnet(&pools, &taken, &routes).unwrap(),
        c("172.20.0.0/16")
    );
    // A wide VPN route over all of 172.16.0.0/12 sends us to 192.168.
    let vpn = [c("172.16.0.0/12"), c("192.168.0.0/24")];
    assert_eq!(
        pick_subnet(&pools, &[], &vpn).unwrap(),
        c("192.168.16.0/20")
    );
    let all: Vec<Cidr> = pools.iter().flat_map(Pool::subnets).collect();
    let e = pick_subnet(&pools, &all, &[]).unwrap_err();
    assert_eq!(e, IpamError::NoAvailablePool);
    assert!(e
        .to_string()
        .starts_with("could not find an available, non-overlapping IPv4"));
}

#[test]
fn picked_subnets_never_overlap() {
    let pools = docker_default_pools();
    let mut taken = Vec::new();
    while let Ok(n) = pick_subnet(&pools, &taken, &[]) {
        assert!(taken.iter().all(|t: &Cidr| !t.overlaps(&n)));
        taken.push(n);
    }
    assert_eq!(taken.len(), 31);
}

#[test]
fn user_subnet_overlap_is_dockers_error() {
    let e = check_subnet(&c("172.18.128.0/17"), &[c("172.18.0.0/16")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Pool overlaps with other one on this address space"
    );
    check_subnet(&c("172.19.0.0/16"), &[c("172.18.0.0/16")]).unwrap();
}

#[test]
fn proc_net_route_parsing() {
    let text =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
        eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
        eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
        tun0\t000010AC\t00000000\t0001\t0\t0\t0\t0000F0FF\t0\t0\t0\n\
        garbage line\n";
    assert_eq!(
        parse_proc_net_route(text),
        vec![c("192.0.2.0/24"), c("172.16.0.0/12")]
    );
    assert!(parse_proc_net_route("").is_empty());
    // The real file parses (whatever it holds) without a default route in it.
    assert!(host_routes().unwrap().iter().all(|r| r.prefix() > 0));
}

#[test]
fn gateway_and_range_validation() {
    let s = AddressSpace::new(c("10.5.0.0/24"), None, None).unwrap();
    assert_eq!(s.gateway, ip("10.5.0.1"));
    let s = AddressSpace::new(c("10.5.0.0/24"), Some(ip("10.5.0.254")), None).unwrap();
    assert_eq!(s.gateway, ip("10.5.0.254"));
    let e = AddressSpace::new(c("10.5.0.0/24"), Some(ip("10.6.0.1")), None).unwrap_err();
    assert_eq!(e.to_string(), "no matching subnet for gateway 10.6.0.1");
    let e = AddressSpace::new(c("10.5.0.0/24"), None, Some(c("10.5.1.0/28"))).unwrap_err();
    assert_eq!(e.to_string(), "no matching subnet for range 10.5.1.0/28");
    assert!(AddressSpace::new(c("10.5.0.0/24"), None, Some(c("10.5.0.0/16"))).is_err());
}

#[test]
fn allocate_in_order_skipping_reserved_and_exhausts() {
    let mut s = AddressSpace::new(c("10.5.0.0/29"), None, None).unwrap();
    let got: Vec<_> = (0..5).map(|_| s.allocate().unwrap().to_string()).collect();
    assert_eq!(
        got,
        ["10.5.0.2", "10.5.0.3", "10.5.0.4", "10.5.0.5", "10.5.0.6"]
    );
    let e = s.allocate().unwrap_err();
    assert_eq!(
        e.to_string(),
        "no available IPv4 addresses on this network's address pools"
    );
    assert!(s.release(ip("10.5.0.4")));
    assert!(!s.release(ip("10.5.0.4")));
    assert_eq!(s.allocate().unwrap(), ip("10.5.0.4"));
}

#[test]
fn released_address_is_not_reused_at_once() {
    let mut s = AddressSpace::new(c("10.5.0.0/24"), None, None).unwrap();
    let a = s.allocate().unwrap();
    s.release(a);
    assert_eq!(s.allocate().unwrap(), ip("10.5.0.3"));
}

#[test]
fn ip_range_limits_dynamic_but_not_requested() {
    let mut s = AddressSpace::new(c("10.5.0.0/24"), None, Some(c("10.5.0.128/30"))).unwrap();
    let got: Vec<_> = (0..4).map(|_| s.allocate().unwrap()).collect();
    assert_eq!(got[0], ip("10.5.0.128"));
    assert_eq!(got[3], ip("10.5.0.131"));
    assert_eq!(s.allocate().unwrap_err(), IpamError::NoAvailableIps);
    s.request(ip("10.5.0.7")).unwrap();
    assert!(s.is_allocated(ip("10.5.0.7")));
}

#[test]
fn requested_address_errors() {
    let mut s = AddressSpace::new(c("10.5.0.0/24"), None, None).unwrap();
    s.request(ip("10.5.0.10")).unwrap();
    assert_eq!(
        s.request(ip("10.5.0.10")).unwrap_err().to_string(),
        "Address already in use"
    );
    assert_eq!(
        s.request(ip("10.5.0.1")).unwrap_err(),
        IpamError::AddressInUse
    );
    assert_eq!(
        s.request(ip("10.5.0.255")).unwrap_err(),
        IpamError::AddressInUse
    );
    let e = s.request(ip("10.6.0.10")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "no configured subnet or ip-range contain the IP address 10.6.0.10"
    );
    // Dynamic allocation steps over the requested one.
    let got: Vec<_> = (0..9).map(|_| s.allocate().unwrap()).collect();
    assert!(!got.contains(&ip("10.5.0.10")));
}

#[test]
fn state_round_trips_as_json() {
    let mut s = AddressSpace::new(c("10.5.0.0/24"), None, Some(c("10.5.0.64/26"))).unwrap();
    s.allocate().unwrap();
    s.request(ip("10.5.0.9")).unwrap();
    let json = serde_json::to_string(&s).unwrap();
    let mut back: AddressSpace = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
    assert_eq!(back.allocate().unwrap(), ip("10.5.0.65"));
}

#[test]
fn tiny_subnets() {
    let mut s = AddressSpace::new(c("10.5.0.0/31"), None, None).unwrap();
    assert_eq!(s.gateway, ip("10.5.0.0"));
    assert_eq!(s.allocate().unwrap(), ip("10.5.0.1"));
    assert!(s.allocate().is_err());
}
