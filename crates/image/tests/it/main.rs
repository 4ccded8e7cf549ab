//! berth-image's store driven as its callers drive it, as root on the real kernel: loading and
//! saving archives (hostile ones too), exchanging them with docker and skopeo, garbage
//! collection against the real `du`, overlay root filesystems, and loads killed mid-way.

mod archive;
mod build;
mod commit;
mod common;
mod crash;
mod fsck;
mod gc;
mod interop;
mod policy;
mod reboot;
mod rootfs;
