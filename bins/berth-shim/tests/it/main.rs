//! berth-shim end to end, as root: real containers from busybox bundles under a daemonized
//! shim, checked through its files and its control socket.

mod harness;
mod lifecycle;
