//! End-to-end tests of berthd with the real docker CLI (`/usr/local/bin/docker`, 28.x) as
//! the client: each test starts its own daemon on a temporary socket and data root.

mod archive;
mod bad_input;
mod build;
mod coexist;
mod compose_legacy;
mod containers;
mod crash;
mod daemon;
mod dockerpy;
mod errors;
mod events;
mod exec;
mod health;
mod images;
mod load;
mod logging;
mod network;
mod network_ports;
mod network_recovery;
mod ops;
mod port_groups;
mod prune;
mod registry;
mod restart;
mod tls;
mod volumes;
