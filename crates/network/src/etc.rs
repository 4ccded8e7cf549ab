//! The `/etc/hosts`, `/etc/resolv.conf` and `/etc/hostname` a container gets, as Docker
//! writes them.
//!
//! Why byte-for-byte Docker's: these files are read by everything inside the container — the
//! C library's resolver (glibc, musl), `hostname`, `getent`, language runtimes that parse
//! resolv.conf themselves (Go, Node's c-ares, Java) — and by scripts and tests written against
//! Docker (`grep $(hostname) /etc/hosts`, `cat /etc/resolv.conf`). Same lines, same order,
//! same tab separators, so nothing can tell the difference.
//!
//! Pure functions, text in and text out: the engine reads the host's resolv.conf, writes the
//! results into the container's directory and bind-mounts them.
//!
//! Rules (moby's libnetwork `etchosts` and `internal/resolvconf`):
//! - hosts: the six fixed localhost/IPv6 lines, then `--add-host` entries, then the
//!   container's own addresses with its names; `ip<TAB>names`.
//! - resolv.conf with the embedded DNS (user-defined networks): that server is the only
//!   nameserver (Docker's 127.0.0.11; berth's is the network gateway, see [`crate::dns`]); the
//!   host's `search` and `options` are kept and `ndots:0` is added unless an `ndots` is set.
//! - resolv.conf without it (default bridge): the host's nameservers minus loopback ones, which
//!   cannot work from another network namespace; if none is left, Google's 8.8.8.8 and 8.8.4.4.
//! - `--dns`, `--dns-search` and `--dns-option` replace the host's lines of the same kind;
//!   `--dns-search .` means no search domains at all.

use std::net::{IpAddr, Ipv4Addr};

/// The lines every Docker /etc/hosts starts with, in Docker's order.
const DEFAULT_HOSTS: [(&str, &str); 6] = [
    ("127.0.0.1", "localhost"),
    ("::1", "localhost ip6-localhost ip6-loopback"),
    ("fe00::0", "ip6-localnet"),
    ("ff00::0", "ip6-mcastprefix"),
    ("ff02::1", "ip6-allnodes"),
    ("ff02::2", "ip6-allrouters"),
];

/// Nameservers used when the host has none a container can reach (Docker's fallback).
pub const DEFAULT_NAMESERVERS: [&str; 2] = ["8.8.8.8", "8.8.4.4"];

/// The option the embedded DNS needs: a name with dots goes to it as is first.
const EMBEDDED_NDOTS: &str = "ndots:0";

/// A container's /etc/hosts.
///
/// `extra` are the `--add-host` entries as `(name, address)` pairs (the engine's
/// `parse_extra_hosts` order). `own` are the container's addresses; each line names the
/// container as Docker does — `hostname.domainname hostname` with a domain name (or when
/// `hostname` itself has a dot: the FQDN, then the part before the first dot), else just
/// `hostname` — followed by the pair's other names (aliases) not already on the line. An
/// address with no name at all is left out.
pub fn hosts_file(
    hostname: &str,
    domainname: &str,
    own: &[(Ipv4Addr, Vec<String>)],
    extra: &[(String, String)],
) -> String {
    let mut out = String::new();
    for (ip, names) in DEFAULT_HOSTS {
        push_record(&mut out, ip, names);
    }
    for (name, ip) in extra {
        push_record(&mut out, ip, name);
    }
    let base = container_names(hostname, domainname);
    for (ip, names) in own {
        let mut all = base.clone();
        for name in names {
            if !name.is_empty() && !all.contains(name) {
                all.push(name.clone());
            }
        }
        if !all.is_empty() {
            push_record(&mut out, &ip.to_string(), &all.join(" "));
        }
    }
    out
}

fn push_record(out: &mut String, ip: &str, names: &str) {
    out.push_str(ip);
    out.push('\t');
    out.push_str(names);
    out.push('\n');
}

/// Docker's names for the container's own entry: the FQDN and, if it has a dot, the short name.
fn container_names(hostname: &str, domainname: &str) -> Vec<String> {
    if hostname.is_empty() {
        return Vec::new();
    }
    let mut fqdn = hostname.to_string();
    if !domainname.is_empty() {
        fqdn.push('.');
        fqdn.push_str(domainname);
    }
    let short = fqdn.split_once('.').map(|(s, _)| s.to_string());
    let mut names = vec![fqdn];
    names.extend(short);
    names
}

/// A container's /etc/hostname.
pub fn hostname_file(hostname: &str) -> String {
    format!("{hostname}\n")
}

/// The parts of a resolv.conf that matter, as Docker reads them.
#[derive(Debug, Default)]
struct ResolvConf {
    nameservers: Vec<IpAddr>,
    search: Vec<String>,
    options: Vec<String>,
    /// Directives Docker does not interpret (`sortlist`, …): kept verbatim, after the rest.
    other: Vec<String>,
}

impl ResolvConf {
    fn parse(text: &str) -> ResolvConf {
        let mut rc = ResolvConf::default();
        for line in text.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let Some(&first) = fields.first() else {
                continue;
            };
            if first.starts_with('#') || first.starts_with(';') {
                continue;
            }
            let args = fields[1..].iter().map(|s| s.to_string());
            match first {
                // Unparseable addresses are dropped, as Docker does.
                "nameserver" => rc
                    .nameservers
                    .extend(fields.get(1).and_then(|a| a.parse::<IpAddr>().ok())),
                // `domain` is the obsolete spelling of `search`; the last one wins.
                "domain" | "search" if fields.len() > 1 => rc.search = args.collect(),
                "options" => rc.options.extend(args),
                "domain" | "search" => {}
                _ => rc.other.push(line.to_string()),
            }
        }
        rc
    }
}

/// `None` if `option` is not ndots, `Some(None)` if its value is not a number.
fn ndots(option: &str) -> Option<Option<u32>> {
    let (key, value) = option.split_once(':').unwrap_or((option, ""));
    (key == "ndots").then(|| value.parse().ok())
}

/// A container's /etc/resolv.conf, from the host's (`host`, the text of its resolv.conf).
///
/// `embedded_dns` is the address of the network's embedded DNS server (user-defined networks)
/// or `None` (default bridge). `dns`, `search` and `options` are `--dns`, `--dns-search` and
/// `--dns-option`: each, when not empty, replaces the host's lines of its kind. With the
/// embedded DNS, `--dns` addresses are not written (they are that server's upstreams: see
/// [`crate::dns::upstreams_from_resolv_conf`] for the host's).
pub fn resolv_conf(
    host: &str,
    embedded_dns: Option<Ipv4Addr>,
    dns: &[String],
    search: &[String],
    options: &[String],
) -> String {
    let mut rc = ResolvConf::parse(host);
    if !search.is_empty() {
        rc.search = search
            .iter()
            .filter(|s| s.as_str() != "." && !s.is_empty())
            .cloned()
            .collect();
    }
    if !options.is_empty() {
        rc.options = options.iter().filter(|o| !o.is_empty()).cloned().collect();
    }
    let nameservers: Vec<String> = match embedded_dns {
        Some(ns) => {
            // An ndots the resolver cannot parse is dropped; a valid one is kept as set.
            rc.options.retain(|o| ndots(o).is_none_or(|n| n.is_some()));
            if !rc.options.iter().any(|o| ndots(o).is_some()) {
                rc.options.push(EMBEDDED_NDOTS.to_string());
            }
            vec![ns.to_string()]
        }
        None if !dns.is_empty() => dns
            .iter()
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty())
            .collect(),
        None => {
            let reachable: Vec<String> = rc
                .nameservers
                .iter()
                .filter(|ip| !ip.is_loopback())
                .map(IpAddr::to_string)
                .collect();
            if reachable.is_empty() {
                DEFAULT_NAMESERVERS.iter().map(|s| s.to_string()).collect()
            } else {
                reachable
            }
        }
    };
    let mut out = String::new();
    for ns in &nameservers {
        out.push_str("nameserver ");
        out.push_str(ns);
        out.push('\n');
    }
    if !rc.search.is_empty() {
        out.push_str(&format!("search {}\n", rc.search.join(" ")));
    }
    if !rc.options.is_empty() {
        out.push_str(&format!("options {}\n", rc.options.join(" ")));
    }
    for line in &rc.other {
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULTS: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
        fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn hosts_default_bridge_layout() {
        let own = [(Ipv4Addr::new(172, 17, 0, 2), vec![])];
        let got = hosts_file("0123456789ab", "", &own, &[]);
        assert_eq!(got, format!("{DEFAULTS}172.17.0.2\t0123456789ab\n"));
    }

    #[test]
    fn hosts_extra_before_own_and_domain() {
        let own = [(Ipv4Addr::new(10, 0, 0, 5), vec![])];
        let extra = [
            ("db".to_string(), "10.0.0.9".to_string()),
            ("v6".to_string(), "::1".to_string()),
        ];
        let got = hosts_file("web", "example.com", &own, &extra);
        let want = format!("{DEFAULTS}10.0.0.9\tdb\n::1\tv6\n10.0.0.5\tweb.example.com web\n");
        assert_eq!(got, want);
    }

    #[test]
    fn hosts_fqdn_hostname_aliases_and_no_address() {
        let own = [(Ipv4Addr::new(10, 0, 0, 5), v(&["web.x", "alias", "alias"]))];
        let got = hosts_file("web.x", "", &own, &[]);
        assert_eq!(got, format!("{DEFAULTS}10.0.0.5\tweb.x web alias\n"));
        // --network none: no own address, only the fixed lines.
        assert_eq!(hosts_file("web", "", &[], &[]), DEFAULTS);
        // No hostname and no names: no line for the address.
        assert_eq!(
            hosts_file("", "", &[(Ipv4Addr::new(10, 0, 0, 5), vec![])], &[]),
            DEFAULTS
        );
    }

    #[test]
    fn hostname_file_has_newline() {
        assert_eq!(hostname_file("abc"), "abc\n");
    }

    const HOST: &str =
        "# generated\nnameserver 127.0.0.53\nnameserver 192.168.1.1\nnameserver ::1\n\
        nameserver 2001:db8::1\nnameserver bogus\nsearch lan corp.example\noptions edns0\n\
        options trust-ad\nsortlist 10.0.0.0/255.0.0.0\n";

    #[test]
    fn resolv_embedded_keeps_search_and_options() {
        let got = resolv_conf(HOST, Some(Ipv4Addr::new(172, 18, 0, 1)), &[], &[], &[]);
        let want =
            "nameserver 172.18.0.1\nsearch lan corp.example\noptions edns0 trust-ad ndots:0\n\
            sortlist 10.0.0.0/255.0.0.0\n";
        assert_eq!(got, want);
    }

    #[test]
    fn resolv_embedded_ignores_dns_and_respects_ndots() {
        let gw = Some(Ipv4Addr::new(172, 18, 0, 1));
        let got = resolv_conf(
            "nameserver 1.1.1.1\noptions ndots:2\n",
            gw,
            &v(&["9.9.9.9"]),
            &[],
            &[],
        );
        assert_eq!(got, "nameserver 172.18.0.1\noptions ndots:2\n");
        let got = resolv_conf("options ndots:x\n", gw, &[], &[], &[]);
        assert_eq!(got, "nameserver 172.18.0.1\noptions ndots:0\n");
        let got = resolv_conf("", gw, &[], &v(&["a.example"]), &v(&["ndots:5", "rotate"]));
        assert_eq!(
            got,
            "nameserver 172.18.0.1\nsearch a.example\noptions ndots:5 rotate\n"
        );
    }

    #[test]
    fn resolv_default_bridge_drops_loopback() {
        let got = resolv_conf(HOST, None, &[], &[], &[]);
        let want = "nameserver 192.168.1.1\nnameserver 2001:db8::1\nsearch lan corp.example\n\
            options edns0 trust-ad\nsortlist 10.0.0.0/255.0.0.0\n";
        assert_eq!(got, want);
    }

    #[test]
    fn resolv_default_bridge_falls_back_to_google() {
        let got = resolv_conf(
            "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n",
            None,
            &[],
            &[],
            &[],
        );
        assert_eq!(
            got,
            "nameserver 8.8.8.8\nnameserver 8.8.4.4\nsearch .\noptions edns0 trust-ad\n"
        );
        assert_eq!(
            resolv_conf("", None, &[], &[], &[]),
            "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        );
    }

    #[test]
    fn resolv_overrides_replace_host_lines() {
        let got = resolv_conf(
            HOST,
            None,
            &v(&["10.1.1.1", "127.0.0.1"]),
            &v(&["."]),
            &v(&["attempts:2"]),
        );
        let want = "nameserver 10.1.1.1\nnameserver 127.0.0.1\noptions attempts:2\nsortlist 10.0.0.0/255.0.0.0\n";
        assert_eq!(got, want);
    }

    #[test]
    fn resolv_domain_is_search_and_last_wins() {
        let got = resolv_conf(
            "nameserver 10.0.0.1\ndomain old.example\nsearch new.example\n",
            None,
            &[],
            &[],
            &[],
        );
        assert_eq!(got, "nameserver 10.0.0.1\nsearch new.example\n");
    }
}
