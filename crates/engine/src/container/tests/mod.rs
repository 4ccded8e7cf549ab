//! The translation's rules, one table or case each; pure (temp dirs only, no root).
//!
//! Shared fixtures here; the cases by area in the submodules.

use std::collections::HashSet;
use std::path::Path;

use berth_image::{ContainerConfig, ImageConfig};
use berth_runtime::oci_spec::runtime::{
    Capability, LinuxNamespaceType, LinuxSeccompAction, PosixRlimitType, Spec,
};

use super::options::*;
use super::*;

mod mounts;
mod namespaces;
mod network;
mod output;
mod process;
mod resources;
mod security;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn image(ep: Option<&[&str]>, cmd: Option<&[&str]>) -> ImageConfig {
    ImageConfig {
        architecture: "amd64".into(),
        os: "linux".into(),
        config: Some(ContainerConfig {
            entrypoint: ep.map(s),
            cmd: cmd.map(s),
            env: Some(s(&["PATH=/image/bin", "LANG=C", "KEEP=1"])),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A rootfs with a passwd and group file, and a context on it.
fn ctx_with_rootfs() -> (tempfile::TempDir, SpecContext) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rootfs");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\n# comment\nnginx:x:101:102:nginx:/var/cache/nginx:/sbin/nologin\n",
    )
    .unwrap();
    std::fs::write(
        root.join("etc/group"),
        "root:x:0:root\nwheel:x:10:root,nginx\nnginx:x:102:\nvideo:x:27:nginx\n",
    )
    .unwrap();
    let ctx = SpecContext {
        rootfs: root,
        container_id: "0123456789abcdef0123".into(),
        cgroups_path: "/berth/0123456789ab".into(),
        arch: "amd64".into(),
        cgroup_v2: true,
        ..Default::default()
    };
    (dir, ctx)
}

fn build_ok(img: &ImageConfig, opts: &CreateOptions) -> Spec {
    let (_dir, ctx) = ctx_with_rootfs();
    build(img, opts, &ctx).unwrap()
}

fn build_err(img: &ImageConfig, opts: &CreateOptions) -> String {
    let (_dir, ctx) = ctx_with_rootfs();
    build(img, opts, &ctx).unwrap_err().to_string()
}

fn args(spec: &Spec) -> Vec<String> {
    spec.process().as_ref().unwrap().args().clone().unwrap()
}

fn env(spec: &Spec) -> Vec<String> {
    spec.process().as_ref().unwrap().env().clone().unwrap()
}

fn hc(f: impl FnOnce(&mut HostConfig)) -> CreateOptions {
    let mut o = CreateOptions::default();
    f(&mut o.host_config);
    o
}

fn bounding(spec: &Spec) -> HashSet<Capability> {
    let p = spec.process().as_ref().unwrap();
    p.capabilities()
        .as_ref()
        .unwrap()
        .bounding()
        .clone()
        .unwrap()
}

fn mount_of<'a>(spec: &'a Spec, dst: &str) -> Option<&'a berth_runtime::oci_spec::runtime::Mount> {
    spec.mounts()
        .as_ref()
        .unwrap()
        .iter()
        .find(|m| m.destination() == Path::new(dst))
}

fn options_of(spec: &Spec, dst: &str) -> Vec<String> {
    mount_of(spec, dst).unwrap().options().clone().unwrap()
}
