#!/usr/bin/env bash
# berth-runtime alone: run an isolated container from an OCI bundle, as runc would.
# Builds berth-runtime, makes a bundle from Debian's static busybox and demo/runtime-config.json
# (pid/net/ipc/uts/mount/cgroup namespaces, read-only root, 64 MiB memory limit, 3 capabilities,
# a seccomp filter, no_new_privileges) and runs it. Needs root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
if [ "$(id -u)" != 0 ]; then echo "demo/run.sh: run as root (containers need namespaces and cgroups)" >&2; exit 1; fi
if [ ! -x /bin/busybox ]; then
  echo "installing busybox-static and libseccomp-dev…" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static libseccomp-dev pkg-config >/dev/null
fi
cargo build --release -q -p berth-runtime-cli --manifest-path "$repo/Cargo.toml"
bin="$repo/target/release/berth-runtime"
bundle=$(mktemp -d /tmp/berth-demo.XXXXXX)
state=$(mktemp -d /tmp/berth-demo-state.XXXXXX)
trap 'rm -rf "$bundle" "$state"' EXIT
chmod 755 "$bundle"
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/proc" "$bundle/rootfs/sys" "$bundle/rootfs/dev" "$bundle/rootfs/tmp"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$bundle/rootfs/bin/$a"; done
cp "$here/runtime-config.json" "$bundle/config.json"
echo "\$ berth-runtime run --bundle $bundle demo" >&2
"$bin" --root "$state" run --bundle "$bundle" "demo-$$"
