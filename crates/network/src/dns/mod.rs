//! The embedded DNS server of user-defined networks, as Docker's.
//!
//! Why: on a user-defined network Docker lets containers reach each other by name (container
//! name, `--network-alias`, service names in compose), and images and compose files rely on it.
//! Docker answers those names from a resolver it injects into each container at 127.0.0.11;
//! berth runs one [`DnsServer`] per user network instead, bound to the network's gateway
//! address, port 53, in the host's namespace, and writes `nameserver <gateway>` into the
//! containers' resolv.conf ([`crate::etc::resolv_conf`]). No per-container socket, no iptables
//! redirection inside the container, and upstreams on the host's loopback (systemd-resolved's
//! 127.0.0.53) keep working, because the server lives where they are reachable.
//!
//! Behaviour (Docker's where it has one):
//! - A name the [`Resolve`] implementation knows gets its A records (TTL 600); AAAA and other
//!   types for it get NOERROR with no answer, so resolvers do not go on to ask upstream.
//! - `d.c.b.a.in-addr.arpa` PTR queries are answered from [`Resolve::reverse`].
//! - Any other qualified name is relayed byte for byte to the upstreams in order (2 s each) and
//!   the first answer relayed back; none, or all failed, gives SERVFAIL.
//! - An unknown single-label name is NXDOMAIN and never leaves the host.
//! - Garbage never gets an answer beyond FORMERR/NOTIMP, and never stops the server.
//!
//! [`wire`] holds the message format; the server loops are in `server` (UDP) and `tcp`.

mod forward;
mod server;
mod tcp;
pub mod wire;

#[cfg(test)]
mod tests;

pub use server::{upstreams_from_resolv_conf, DnsServer, Resolve};
