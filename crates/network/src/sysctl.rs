//! The few IPv4 sysctls container networking needs, written through `/proc/sys`.
//!
//! Why: a bridge network only routes when `net.ipv4.ip_forward` is 1, and some per-interface
//! settings (`route_localnet`, `rp_filter`…) are needed on berth's own bridges. Writing the
//! file is what `sysctl -w` does, without running it.
//!
//! **Namespaces.** `/proc/sys/net` is per network namespace, and which namespace a file shows
//! is decided when it is *opened*, from the opening thread (`current->nsproxy->net_ns`), not
//! from the process `/proc` belongs to nor from the mount. A thread that has `setns`ed or
//! `unshare`d into another network namespace therefore reads and writes that namespace's
//! values; every other thread of the process keeps seeing its own, and an already open file
//! keeps acting on the namespace it was opened in. So call these on a thread in the namespace
//! you mean (e.g. inside [`crate::netns::NetNs::run`]): in the host namespace for berth's
//! bridges, inside a container's namespace for its interfaces. Each call opens the file anew.
//!
//! `enable_ip_forward` writes only when the value is 0, so berth never rewrites a setting the
//! admin already made, and reports whether it changed anything (dockerd behaves differently
//! beside a forwarding it turned on itself: see `firewall/coexist.rs`).

use std::io;
use std::path::PathBuf;

const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

/// Sets `net.ipv4.ip_forward` to 1 when it is 0; returns whether it changed the value.
pub fn enable_ip_forward() -> io::Result<bool> {
    let ctx =
        |what: &str, e: io::Error| io::Error::new(e.kind(), format!("{what} {IP_FORWARD}: {e}"));
    let now = std::fs::read_to_string(IP_FORWARD).map_err(|e| ctx("reading", e))?;
    if now.trim() != "0" {
        return Ok(false);
    }
    std::fs::write(IP_FORWARD, "1").map_err(|e| ctx("writing", e))?;
    Ok(true)
}

/// Writes `value` to `/proc/sys/net/ipv4/conf/<ifname>/<key>` (`ifname` may also be `all` or
/// `default`). `InvalidInput` for an interface name that is empty, longer than 15 bytes, or
/// contains `/`, whitespace or is `.`/`..`, and for a key that is not a plain file name.
pub fn set_conf(ifname: &str, key: &str, value: &str) -> io::Result<()> {
    let path = conf_path(ifname, key)?;
    std::fs::write(&path, value).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("writing {value:?} to {}: {e}", path.display()),
        )
    })
}

/// Reads `/proc/sys/net/ipv4/conf/<ifname>/<key>`, trimmed; same validation as [`set_conf`].
pub fn get_conf(ifname: &str, key: &str) -> io::Result<String> {
    let path = conf_path(ifname, key)?;
    std::fs::read_to_string(&path)
        .map(|s| s.trim().to_string())
        .map_err(|e| io::Error::new(e.kind(), format!("reading {}: {e}", path.display())))
}

fn conf_path(ifname: &str, key: &str) -> io::Result<PathBuf> {
    let bad = |what: &str, v: &str| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("invalid {what} {v:?}"))
    };
    if !valid_ifname(ifname) {
        return Err(bad("interface name", ifname));
    }
    let key_ok = !key.is_empty()
        && key != "."
        && key != ".."
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !key_ok {
        return Err(bad("sysctl key", key));
    }
    Ok(PathBuf::from(format!(
        "/proc/sys/net/ipv4/conf/{ifname}/{key}"
    )))
}

/// Linux's rules for an interface name (`dev_valid_name`): 1–15 bytes, not `.` or `..`, no
/// `/`, `:` or whitespace.
pub fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && !name.contains('\0')
        && !name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_are_validated() {
        for ok in ["eth0", "br-0123456789ab", "all", "default", "veth1.2"] {
            assert!(valid_ifname(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "../all",
            "br-0123456789abc",
            "a b",
            "a:1",
        ] {
            assert!(!valid_ifname(bad), "{bad}");
            let err = set_conf(bad, "forwarding", "1").unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad}");
        }
        for bad in ["", "..", "a/b", "x y"] {
            let err = get_conf("lo", bad).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad}");
        }
        assert_eq!(
            conf_path("eth0", "route_localnet").unwrap(),
            PathBuf::from("/proc/sys/net/ipv4/conf/eth0/route_localnet")
        );
    }
}
