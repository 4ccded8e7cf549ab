//! RFC 3339 times as Docker's json-file log and `exit.json` write them (Go's `RFC3339Nano`):
//! the workspace's one implementation, in berth-types.

pub use berth_types::time::{now, rfc3339_nano};
