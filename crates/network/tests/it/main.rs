//! Kernel-real tests of berth-network's netlink and netns layers (one test binary).
//!
//! Every test needs root (`require_root!`), makes its own uniquely named links (`bt` + 6
//! random characters) and namespaces under its own temp dir, removes them through Drop guards
//! even when it fails, and sends traffic only between the host and namespaces it created.
//! Firewall tests that change a ruleset (`coexist`) do it inside a private network namespace.

mod coexist;
mod link_attrs;
mod links;
mod netns;
mod sysctl;
mod util;
mod veth;
