//! End-to-end tests of berthd with the real docker CLI (`/usr/local/bin/docker`, 28.x) as
//! the client: each test starts its own daemon on a temporary socket and data root.

mod containers;
mod daemon;
mod errors;
mod images;
mod registry;
