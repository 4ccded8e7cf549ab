//! `/proc/sys/net` writes inside a private network namespace: the values follow the writing
//! thread's namespace, so the host's settings are never touched.

use berth_network::sysctl;
use berth_testutil::require_root;

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap().trim().to_string()
}

#[test]
fn ip_forward_and_conf_follow_the_threads_namespace() {
    require_root!();
    const FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";
    let host_forward = read(FORWARD);
    let host_localnet = sysctl::get_conf("lo", "route_localnet").unwrap();
    std::thread::spawn(|| {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
        std::fs::write(FORWARD, "0").unwrap();
        assert!(sysctl::enable_ip_forward().unwrap(), "0 → 1 is a change");
        assert_eq!(read(FORWARD), "1");
        assert!(
            !sysctl::enable_ip_forward().unwrap(),
            "already on: untouched"
        );
        sysctl::set_conf("lo", "route_localnet", "1").unwrap();
        assert_eq!(sysctl::get_conf("lo", "route_localnet").unwrap(), "1");
        let err = sysctl::set_conf("nosuchif0", "route_localnet", "1").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{err}");
        assert!(
            err.to_string()
                .contains("/proc/sys/net/ipv4/conf/nosuchif0"),
            "{err}"
        );
    })
    .join()
    .expect("test thread in the private netns failed");
    assert_eq!(read(FORWARD), host_forward, "the host's ip_forward changed");
    assert_eq!(
        sysctl::get_conf("lo", "route_localnet").unwrap(),
        host_localnet
    );
}
