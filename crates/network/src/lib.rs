//! Container networks: the kernel side.
//!
//! Why this crate: a container on a network needs a bridge on the host, a veth pair whose one
//! end is enslaved to it and whose other end lives in the container's network namespace as
//! `eth0`, addresses on both, a default route inside, and firewall rules around it. This crate
//! does that work through the kernel's own interfaces — rtnetlink for links, addresses and
//! routes ([`netlink`]), nsfs bind mounts for named namespaces ([`netns`]) — and never by
//! running `ip`: no fork/exec on the container start path, and failures come back as errnos
//! that can be classified, not text to parse. Address management lives in [`ipam`], the
//! nftables rules in [`firewall`].
//!
//! Everything here is synchronous (the engine is; a network setup is a few kernel round trips)
//! and takes every path and name from its caller: nothing is hard-coded to `/run/berth`.
//!
//! Errors are [`std::io::Error`]s whose kind follows the errno and whose message names the
//! operation (`creating bridge br-x: File exists`); [`netlink::errno`] gives the errno back.
//!
//! Invariants:
//! - A [`netlink::Netlink`] handle acts in the namespace it was opened in, for its whole life.
//! - No thread of the caller ever changes network namespace: entering one happens on a
//!   dedicated thread that ends afterwards ([`netns::run_in_fd`]).

#![warn(missing_docs)]

pub mod dns;
pub mod etc;
pub mod firewall;
pub mod ipam;
pub mod netlink;
pub mod netns;
pub mod ports;
pub mod sysctl;
