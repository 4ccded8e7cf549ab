//! End-to-end tests of berthd with the real docker CLI (`/usr/local/bin/docker`, 28.x) as
//! the client: each test starts its own daemon on a temporary socket and data root.

mod containers;
mod crash;
mod daemon;
mod dockerpy;
mod errors;
mod exec;
mod images;
mod logging;
mod ops;
mod registry;
mod restart;
mod volumes;
