#!/usr/bin/env bash
# berth's main job: a Docker-compatible daemon and CLI. On a fresh Debian 12 machine, as root:
# builds berthd, berth-shim and berth (release), starts berthd on a scratch data root and
# socket, makes a busybox image from the machine's busybox-static (`berth import`), runs a web
# server container and shows it answering, shows exec, logs, ps and inspect, then stops and
# removes everything it made.
#
# The web server shares the host's network (`--network host`): bridge networks with published
# ports are the network issue's work; until then this is how a container's server is reached.
# Env: DEMO_PORT (default: a free port from 18080).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
if [ "$(id -u)" != 0 ]; then echo "demo/run.sh: run as root (containers need namespaces, cgroups and mounts)" >&2; exit 1; fi
need=()
[ -x /bin/busybox ] || need+=(busybox-static)
[ -f /usr/share/containers/seccomp.json ] || need+=(golang-github-containers-common)
dpkg -s libseccomp-dev >/dev/null 2>&1 || need+=(libseccomp-dev pkg-config)
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
    "$bin/berth" -H "unix://$sock" rm -f web >/dev/null 2>&1 || true
    kill "$berthd_pid" 2>/dev/null || true
    wait "$berthd_pid" 2>/dev/null || true
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

say "berth --data-root $scratch/data import rootfs.tar demo/web:1 -c 'CMD [\"httpd\",\"-f\",\"-p\",\"127.0.0.1:$port\",\"-h\",\"/www\"]'"
"$bin/berth" --data-root "$scratch/data" import "$scratch/rootfs.tar" demo/web:1 \
  -c "CMD [\"/bin/httpd\",\"-f\",\"-v\",\"-p\",\"127.0.0.1:$port\",\"-h\",\"/www\"]" -c 'ENV PATH=/bin'

say "berthd -H unix://$sock --data-root $scratch/data --exec-root $scratch/run &"
echo '{"log-level":"warn"}' > "$scratch/daemon.json"
"$bin/berthd" -H "unix://$sock" --data-root "$scratch/data" --exec-root "$scratch/run" \
  --pidfile "$scratch/berthd.pid" --config-file "$scratch/daemon.json" \
  --shim-binary "$bin/berth-shim" 2>"$scratch/berthd.log" &
berthd_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
export BERTH_HOST="unix://$sock"
berth() { "$bin/berth" "$@"; }

say "berth images"; berth images
say "berth run -d --name web --network host --memory 64m --pids-limit 32 demo/web:1"
berth run -d --name web --network host --memory 64m --pids-limit 32 demo/web:1
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
say "wget -qO- http://127.0.0.1:$port/   # from the host"
/bin/busybox wget -qO- "http://127.0.0.1:$port/"
say "berth ps --format '{{.Names}}  {{.Image}}  {{.Status}}'"
berth ps --format '{{.Names}}  {{.Image}}  {{.Status}}'
say "berth exec web sh -c 'echo pid 1 is \$(cat /proc/1/comm); id; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max'"
berth exec web sh -c 'echo pid 1 is $(cat /proc/1/comm); id; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max'
say "berth logs web"; berth logs web
say "berth inspect -f '{{.State.Status}} pid={{.State.Pid}} restarts={{.RestartCount}}' web"
berth inspect -f '{{.State.Status}} pid={{.State.Pid}} restarts={{.RestartCount}}' web
say "berth stop -t 1 web && berth rm web"
berth stop -t 1 web >/dev/null && berth rm web
say "berth ps -a"; berth ps -a
echo >&2
echo "done: berthd stopped, $scratch removed" >&2
