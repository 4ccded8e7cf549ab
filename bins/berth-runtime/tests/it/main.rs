//! berth-runtime driven as its callers drive it: as a process with runc's command line, on real
//! bundles, on the real kernel, as root. Where runc is installed, the same bundles also run
//! under runc and the results are compared (the `differential` module).

mod console;
mod differential;
mod harness;
mod isolation;
mod lifecycle;
mod limits;
mod peers;
mod security;
