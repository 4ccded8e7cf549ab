#!/usr/bin/env bash
# berth's main job: a Docker-compatible daemon and CLI. On a fresh Debian 12 machine, as root:
# builds berthd, berth-shim and berth (release), starts berthd on a scratch data root and
# socket, makes a busybox image from the machine's busybox-static (`berth import`), runs a web
# server container on a network of its own with a published port and shows it answering the
# host on 127.0.0.1 and another container by name, shows exec, logs, ps and inspect, then stops
# and removes everything it made.
#
# berthd runs with its own bridge name and nftables table (berthdemo0, table ip berth_demo),
# which the cleanup deletes with any accept rule berthd added beside a foreign drop policy
# (tagged berth:berth_demo): the host's network is left as it was.
# Env: DEMO_PORT (default: a free port from 18080).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
if [ "$(id -u)" != 0 ]; then echo "demo/run.sh: run as root (containers need namespaces, cgroups and mounts)" >&2; exit 1; fi
need=()
[ -x /bin/busybox ] || need+=(busybox-static)
[ -f /usr/share/containers/seccomp.json ] || need+=(golang-github-containers-common)
dpkg -s libseccomp-dev >/dev/null 2>&1 || need+=(libseccomp-dev pkg-config)
command -v nft >/dev/null || need+=(nftables)
command -v jq >/dev/null || need+=(jq)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}…" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
echo "building berthd, berth-shim and berth (release)…" >&2
cargo build --release -q -p berthd -p berth-shim-cli -p berth-cli --manifest-path "$repo/Cargo.toml"
bin="$repo/target/release"

scratch=$(mktemp -d /tmp/berth-demo.XXXXXX)
chmod 755 "$scratch"
sock="$scratch/berth.sock"
berthd_pid=
cleanup() {
  if [ -n "$berthd_pid" ]; then
    "$bin/berth" -H "unix://$sock" rm -f web client >/dev/null 2>&1 || true
    "$bin/berth" -H "unix://$sock" network rm demo >/dev/null 2>&1 || true
    kill "$berthd_pid" 2>/dev/null || true
    wait "$berthd_pid" 2>/dev/null || true
    # What berthd made on the host's network: its bridge, its table, its tagged rules.
    ip link del berthdemo0 2>/dev/null || true
    nft delete table ip berth_demo 2>/dev/null || true
    nft -j -a list ruleset 2>/dev/null | jq -r '.nftables[] | select(.rule.comment? == "berth:berth_demo")
      | .rule | "delete rule \(.family) \(.table) \(.chain) handle \(.handle)"' 2>/dev/null |
      nft -f - 2>/dev/null || true
  fi
  awk -v w="$scratch" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$scratch"
}
trap cleanup EXIT
say() { printf '\n$ %s\n' "$*" >&2; }

# A busybox root file system with a page to serve.
root="$scratch/rootfs"
mkdir -p "$root/bin" "$root/www" "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"; done
echo "hello from a berth container" > "$root/www/index.html"
tar -C "$root" -cf "$scratch/rootfs.tar" .

port=${DEMO_PORT:-}
if [ -z "$port" ]; then
  for p in $(seq 18080 18180); do
    if ! grep -qi ":$(printf '%04X' "$p") " /proc/net/tcp /proc/net/tcp6 2>/dev/null; then port=$p; break; fi
  done
fi

say "berth --data-root $scratch/data import rootfs.tar demo/web:1 -c 'CMD [\"httpd\",\"-f\",\"-v\",\"-p\",\"80\",\"-h\",\"/www\"]' -c 'EXPOSE 80'"
"$bin/berth" --data-root "$scratch/data" import "$scratch/rootfs.tar" demo/web:1 \
  -c "CMD [\"/bin/httpd\",\"-f\",\"-v\",\"-p\",\"80\",\"-h\",\"/www\"]" -c 'ENV PATH=/bin' -c 'EXPOSE 80'

say "berthd -H unix://$sock --data-root $scratch/data --exec-root $scratch/run -b berthdemo0 --firewall-table berth_demo &"
echo '{"log-level":"warn"}' > "$scratch/daemon.json"
"$bin/berthd" -H "unix://$sock" --data-root "$scratch/data" --exec-root "$scratch/run" \
  --pidfile "$scratch/berthd.pid" --config-file "$scratch/daemon.json" \
  --shim-binary "$bin/berth-shim" -b berthdemo0 --firewall-table berth_demo 2>"$scratch/berthd.log" &
berthd_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
export BERTH_HOST="unix://$sock"
berth() { "$bin/berth" "$@"; }

say "berth images"; berth images
say "berth network create demo"; berth network create demo
say "berth run -d --name web --network demo -p $port:80 --memory 64m --pids-limit 32 demo/web:1"
berth run -d --name web --network demo -p "$port:80" --memory 64m --pids-limit 32 demo/web:1
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
say "wget -qO- http://127.0.0.1:$port/   # from the host, through the published port"
/bin/busybox wget -qO- "http://127.0.0.1:$port/"
say "berth run --rm --name client --network demo demo/web:1 wget -qO- http://web/   # by name"
berth run --rm --name client --network demo demo/web:1 wget -qO- http://web/
say "berth ps --format '{{.Names}}  {{.Image}}  {{.Status}}  {{.Ports}}'"
berth ps --format '{{.Names}}  {{.Image}}  {{.Status}}  {{.Ports}}'
say "berth port web"; berth port web
say "berth inspect -f 'demo network address: {{.NetworkSettings.Networks.demo.IPAddress}}' web"
berth inspect -f 'demo network address: {{.NetworkSettings.Networks.demo.IPAddress}}' web
say "berth exec web sh -c 'echo pid 1 is \$(cat /proc/1/comm); id; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max'"
berth exec web sh -c 'echo pid 1 is $(cat /proc/1/comm); id; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max'
say "berth logs web"; berth logs web
say "berth inspect -f '{{.State.Status}} pid={{.State.Pid}} restarts={{.RestartCount}}' web"
berth inspect -f '{{.State.Status}} pid={{.State.Pid}} restarts={{.RestartCount}}' web
say "berth stop -t 1 web && berth rm web && berth network rm demo"
berth stop -t 1 web >/dev/null && berth rm web && berth network rm demo
say "berth ps -a"; berth ps -a
echo >&2
echo "done: berthd stopped, $scratch removed" >&2
