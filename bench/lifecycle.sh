#!/usr/bin/env bash
# Container lifecycle through the Docker API, the same docker CLI against each daemon:
# berthd vs a private dockerd (Debian's docker.io) vs podman, in the same run.
#   1. `docker run --rm --network none IMAGE true` (create, attach, start, wait, remove),
#   2. `docker exec C true` in a running container,
#   3. 20 concurrent `docker run --rm … true` (wall time for all 20).
# Medians and ratios go to docs/BENCHMARKS.md (section "Container lifecycle").
#
# Env: RUNS (20), PAR (20), BENCH_OUT=/path to write the section there instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
. "$here/lib.sh"
RUNS=${RUNS:-20}; PAR=${PAR:-20}
[ "$(id -u)" = 0 ] || { echo "$bench_me: run as root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
need=(); for p in hyperfine busybox-static jq podman docker.io; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq; apt-get install -y -qq "${need[@]}" >/dev/null; fi
DOCKER=/usr/local/bin/docker; [ -x "$DOCKER" ] || DOCKER=$(command -v docker)
DOCKERD=$(command -v dockerd || true)
PODMAN=$(command -v podman || true)

# podman's default nofile limit (1048576) must fit under the hard limit its runtime inherits;
# raised here for every daemon alike.
ulimit -Hn 1048576 2>/dev/null || true; ulimit -Sn 1048576 2>/dev/null || true

make_work /var/tmp/berth-lifecycle-bench
cargo build --release -q -p berthd -p berth-shim-cli --manifest-path "$repo/Cargo.toml"
archive="$work/image.tar"; "$here/make-archive.sh" "$archive" 1 1 >/dev/null
tag=$(tar -xOf "$archive" manifest.json | jq -r '.[0].RepoTags[0]')
declare -A MED VER

# measure NAME CLI…: the three figures for one daemon reached with CLI (a docker-compatible
# command line); MED[NAME-run], MED[NAME-exec], MED[NAME-par].
measure() {
  local name=$1; shift
  local cli="$*"
  $cli load -i "$archive" >/dev/null
  local run="$cli run --rm --network none $tag /bin/busybox true"
  if ! out=$($run 2>&1); then MED[$name-run]="fails: $(oneline <<<"$out")"; return 0; fi
  bench "$name-run" "$run" true
  $cli run -d --name bench-exec --network none "$tag" /bin/busybox sleep 100000 >/dev/null
  bench "$name-exec" "$cli exec bench-exec /bin/busybox true" true
  $cli rm -f bench-exec >/dev/null
  printf '#!/bin/sh\nseq %s | xargs -P %s -I{} %s >/dev/null\n' "$PAR" "$PAR" "$run" > "$work/par-$name.sh"
  chmod +x "$work/par-$name.sh"
  bench "$name-par" "$work/par-$name.sh" true
}

# --- berthd: release build, a private data root, exec root and socket.
bd="$work/berthd"; mkdir -p "$bd"
echo '{"log-level":"warn"}' > "$bd/daemon.json"
"$repo/target/release/berthd" -H "unix://$bd/berth.sock" --data-root "$bd/data" --exec-root "$bd/run" \
  --pidfile "$bd/berthd.pid" --config-file "$bd/daemon.json" \
  --shim-binary "$repo/target/release/berth-shim" 2>"$bd/daemon.log" &
berthd_pid=$!; track "$berthd_pid"
if wait_ready "$berthd_pid" 200 "$DOCKER" -H "unix://$bd/berth.sock" version; then
  VER[berth]=$("$DOCKER" -H "unix://$bd/berth.sock" version -f '{{.Server.Version}}')
  measure berth "$DOCKER" -H "unix://$bd/berth.sock"
  "$DOCKER" -H "unix://$bd/berth.sock" rm -f $("$DOCKER" -H "unix://$bd/berth.sock" ps -aq) >/dev/null 2>&1 || true
else
  MED[berth-run]="fails: berthd did not start: $(tail -c 160 "$bd/daemon.log" | oneline)"
fi

# --- docker: a private dockerd (own data-root, exec-root, socket; no bridge, no iptables).
if [ -n "$DOCKERD" ]; then
  sock="unix://$work/dockerd/docker.sock"
  if start_dockerd "$work/dockerd" "$sock"; then
    VER[docker]=$("$DOCKER" -H "$sock" version -f '{{.Server.Version}}')
    measure docker "$DOCKER" -H "$sock"
    "$DOCKER" -H "$sock" rm -f $("$DOCKER" -H "$sock" ps -aq) >/dev/null 2>&1 || true
  else
    MED[docker-run]="fails: dockerd did not start: $(tail -c 160 "$work/dockerd/daemon.log" | oneline)"
  fi
else
  MED[docker-run]="not installed"
fi

# --- podman: daemonless, its own CLI; a private root and runroot.
if [ -n "$PODMAN" ]; then
  VER[podman]=$($PODMAN --version | awk '{print $NF}')
  measure podman "$PODMAN" --root "$work/podman/root" --runroot "$work/podman/run" \
    --storage-driver overlay --cgroup-manager cgroupfs --events-backend file
  sh -c "$(wipe "$work/podman")"
else
  MED[podman-run]="not installed"
fi

ms() { if num "${1:-}"; then awk -v s="$1" 'BEGIN{printf "%.1f", s*1000}'; else echo "${1:-–}"; fi; }
{
  echo "## Container lifecycle: run, exec, $PAR concurrent runs (docker CLI → daemon)"
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores, kernel $(uname -r). hyperfine, $RUNS runs each after 1 warm-up, median. The same docker CLI ($("$DOCKER" version -f '{{.Client.Version}}' 2>/dev/null)) drives berthd and dockerd; podman is its own CLI (no daemon). Image: bench/make-archive.sh (busybox + 1 MiB), \`--network none\` everywhere (berth has no bridge network yet)."
  echo
  echo "| daemon | \`run --rm … true\` | vs berth | \`exec … true\` | vs berth | $PAR × \`run --rm\` in parallel | vs berth |"
  echo "|---|---|---|---|---|---|---|"
  for n in berth docker podman; do
    r=${MED[$n-run]:-–}; e=${MED[$n-exec]:-–}; p=${MED[$n-par]:-–}
    echo "| $n${VER[$n]:+ ${VER[$n]}} | $(fmt_ms "$(ms "$r")") | $(ratio "$r" "${MED[berth-run]:-}") | $(fmt_ms "$(ms "$e")") | $(ratio "$e" "${MED[berth-exec]:-}") | $(fmt "$p") | $(ratio "$p" "${MED[berth-par]:-}") |"
  done
  echo
  echo "berthd: release build, \`--data-root/--exec-root\` under the bench directory. docker: a private dockerd (own data-root, exec-root, socket; \`--iptables=false --bridge=none\`), overlay2, runc. podman: \`--root/--runroot\` under the bench directory, crun or runc as Debian ships it. \"vs berth\" is the peer's time over berth's (above 1: slower than berth)."
} > "$work/section.md"
write_section "Container lifecycle" "$work/section.md"
