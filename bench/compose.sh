#!/usr/bin/env bash
# Compose (issue 8): `up -d` of a 5-service stack from nothing, and `down -v`, by three
# client → daemon pairs in the same run:
#   1. `berth compose` (target/release/berth -H unix://SOCK) → berthd,
#   2. docker-compose 1.29 (Debian's, Python on docker-py; it only uses the Engine API) → berthd,
#   3. docker-compose 1.29 → a private dockerd (Debian's docker.io).
# The stack: web (busybox httpd, published on 127.0.0.1's port PORT), api and cache (httpd),
# worker and db (sleep), on one user network, db with a named volume; web depends on api,
# api and worker on cache and db. Every image is the local bench/make-archive.sh busybox image,
# `load`ed into each daemon: no registry, no network. stop_signal SIGKILL: `down` measures the
# engines' teardown, not a stop grace period (sleep and httpd as PID 1 ignore SIGTERM).
# Before timing, each pair's `up -d` is checked (5 containers running, web answering on the
# published port from the daemon's namespace) and its `down -v` too (no container, network
# or volume of the project left); the state after the timed runs is checked again.
# berthd and dockerd run in private network namespaces (`ip netns add`, nsenter --net) with
# their default bridges, as in bench/network.sh: nothing touches the host's network.
# Medians and ratios go to docs/BENCHMARKS.md (section "Compose").
#
# Env: RUNS (10, hyperfine runs per figure), PORT (18080), BENCH_OUT=/path to write the section there instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
. "$here/lib.sh"
RUNS=${RUNS:-10}; PORT=${PORT:-18080}
[ "$(id -u)" = 0 ] || { echo "$bench_me: run as root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
need=(); for p in hyperfine docker.io docker-compose busybox-static jq iproute2 util-linux; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq; apt-get install -y -qq "${need[@]}" >/dev/null; fi
DOCKER=/usr/local/bin/docker; [ -x "$DOCKER" ] || DOCKER=$(command -v docker)
DOCKERD=$(command -v dockerd || true)
DC=$(command -v docker-compose)
t_start=$(date +%s); load_start=$(cut -d" " -f1-3 /proc/loadavg)

make_work /var/tmp/berth-compose-bench
ns_b=berth-bench-$$-b; ns_d=berth-bench-$$-d
project=bench
# What ns_cleanup removes besides containers: the project's network and volume.
drop_project() {
  timeout 20 "$DOCKER" -H "$1" network rm "${project}_backend" >/dev/null 2>&1 || true
  timeout 20 "$DOCKER" -H "$1" volume rm "${project}_data" >/dev/null 2>&1 || true
}
SOCK_CLEANUP=drop_project
trap ns_cleanup EXIT
ns_add "$ns_b" "$ns_d"

release_and_image

# --- the stack (compose file format 3.8: read by docker-compose 1.29 and by berth compose).
proj="$work/project"; mkdir -p "$proj"; file="$proj/docker-compose.yml"
svc() { # svc NAME COMMAND-JSON [EXTRA-LINES]
  printf '  %s:\n    image: %s\n    command: %s\n    networks: [backend]\n    stop_signal: SIGKILL\n%s' "$1" "$tag" "$2" "${3:-}"
}
{
  echo 'version: "3.8"'
  echo 'services:'
  svc web '["busybox", "httpd", "-f", "-p", "80", "-h", "/etc"]' "    ports: [\"127.0.0.1:$PORT:80\"]
    depends_on: [api]
"
  svc api '["busybox", "httpd", "-f", "-p", "8080", "-h", "/etc"]' '    depends_on: [cache, db]
'
  svc worker '["busybox", "sleep", "3600"]' '    depends_on: [cache, db]
'
  svc cache '["busybox", "httpd", "-f", "-p", "6379", "-h", "/etc"]'
  svc db '["busybox", "sleep", "3600"]' '    volumes: ["data:/data"]
'
  echo 'networks:'
  echo '  backend: {}'
  echo 'volumes:'
  echo '  data: {}'
} > "$file"

declare -A MED VER OK
# running CLI: the number of the project's running containers.
running() { { $1 ps -q --filter "label=com.docker.compose.project=$project" --filter status=running || true; } | wc -l; }
# leftovers CLI: the project's containers, networks and volumes still there (empty when none).
leftovers() {
  { $1 ps -aq --filter "label=com.docker.compose.project=$project"
    $1 network ls -q --filter "label=com.docker.compose.project=$project"
    $1 volume ls -q --filter "label=com.docker.compose.project=$project"; } 2>&1 | oneline || true
}
# check_up NAME CLI NS: 5 running, web answering on the published port; else why, in OK[NAME].
check_up() {
  local n page
  n=$(running "$2")
  [ "$n" = 5 ] || { OK[$1]+="${OK[$1]:+; }$n of 5 containers running after up"; return 1; }
  for _ in $(seq 50); do
    page=$(nsenter --net="/run/netns/$3" busybox wget -q -O - "http://127.0.0.1:$PORT/hostname" 2>/dev/null) && break
    sleep 0.1
  done
  [ -n "${page:-}" ] || { OK[$1]+="${OK[$1]:+; }web does not answer on 127.0.0.1:$PORT"; return 1; }
}
# check_down NAME CLI: nothing of the project left; else what, in OK[NAME].
check_down() {
  local left; left=$(leftovers "$2")
  [ -z "$left" ] || { OK[$1]+="${OK[$1]:+; }left after down: $left"; return 1; }
}
# measure NAME CLI COMPOSE NS: MED[NAME-up], MED[NAME-down] for COMPOSE (the compose command
# line up to its verb) against the daemon CLI reaches, in namespace NS.
measure() {
  local name=$1 cli=$2 compose=$3 ns=$4 out
  if ! out=$($compose up -d 2>&1 </dev/null); then
    MED[$name-up]="fails: \`up -d\`: $(grep -v '^\s*$' <<<"$out" | tail -3 | oneline)"; $compose down -v >/dev/null 2>&1 </dev/null || true; return 0
  fi
  check_up "$name" "$cli" "$ns" || { MED[$name-up]="fails: ${OK[$name]}"; return 0; }
  if ! out=$($compose down -v 2>&1 </dev/null); then
    MED[$name-down]="fails: \`down -v\`: $(grep -v '^\s*$' <<<"$out" | tail -3 | oneline)"; return 0
  fi
  check_down "$name" "$cli" || { MED[$name-down]="fails: ${OK[$name]}"; return 0; }
  bench "$name-up" "$compose up -d" "$(prep_script "$name-up" "$compose down -v >/dev/null 2>&1 </dev/null")"
  check_up "$name" "$cli" "$ns" && OK[$name]+="${OK[$name]:+, }up checked before and after the timed runs"
  bench "$name-down" "$compose down -v" "$(prep_script "$name-down" "$compose up -d >/dev/null 2>&1 </dev/null")"
  check_down "$name" "$cli" && OK[$name]+=", down before and after"
  $compose down -v >/dev/null 2>&1 </dev/null || true
}

# --- berthd: release build, its defaults (berth0, nftables), a private data root, exec root and socket.
bd="$work/berthd"; bsock="unix://$bd/berth.sock"
if start_berthd_in "$ns_b" "$bd"; then
  VER[berthd]=$(with_image "$bsock")
  measure berth "$DOCKER -H $bsock" "$BERTH -H $bsock compose -f $file -p $project" "$ns_b"
  measure dcberth "$DOCKER -H $bsock" "$DC -H $bsock -f $file -p $project" "$ns_b"
else
  MED[berth-up]="fails: berthd did not start: $(tail -c 160 "$bd/daemon.log" | oneline)"; MED[dcberth-up]=${MED[berth-up]}
fi
stop_berthd_in "$bsock"

# --- docker: a private dockerd with its defaults (docker0, iptables, userland proxy), own data-root, exec-root and socket.
if [ -n "$DOCKERD" ]; then
  dd_dir="$work/dockerd"; dsock="unix://$dd_dir/docker.sock"
  if start_dockerd_in "$ns_d" "$dd_dir" "$dsock"; then
    VER[dockerd]=$(with_image "$dsock")
    measure dcdocker "$DOCKER -H $dsock" "$DC -H $dsock -f $file -p $project" "$ns_d"
  else
    MED[dcdocker-up]="fails: dockerd did not start: $(tail -c 160 "$dd_dir/daemon.log" | oneline)"
  fi
else
  MED[dcdocker-up]="not installed"
fi
t_total=$(( $(date +%s) - t_start )); load_end=$(cut -d" " -f1-3 /proc/loadavg)
for k in $(printf '%s\n' "${!MED[@]}" | sort); do echo "$bench_me: $k = ${MED[$k]}" >&2; done

# --- the report
VER[berth]=$("$BERTH" --version | awk '{print $NF}')
VER[dc]=$("$DC" version --short 2>/dev/null || echo '?')
VER[dockerpy]=$(/usr/bin/python3 -c 'import docker; print(docker.__version__)' 2>/dev/null || echo '?')
label() { case $1 in
  berth) echo "\`berth compose\` ${VER[berth]} → berthd ${VER[berthd]:-?}";;
  dcberth) echo "docker-compose ${VER[dc]} → berthd ${VER[berthd]:-?}";;
  dcdocker) echo "docker-compose ${VER[dc]} → dockerd ${VER[dockerd]:-?}";; esac; }
{
  echo "## Compose: \`up -d\` and \`down -v\` of a 5-service stack"
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}')), kernel $(uname -r). Clients: berth's own \`berth compose\` (release build, \`berth -H unix://SOCK compose\`) and Debian's docker-compose ${VER[dc]} (Python, docker-py ${VER[dockerpy]}; \`docker-compose -H unix://SOCK\`), which speaks only the Engine API. Daemons: berthd ${VER[berthd]:-?} (release build) and a private dockerd ${VER[dockerd]:-?} (Debian's docker.io, runc, its default bridge, iptables and userland proxy), each in its own network namespace (\`ip netns add\`, started with \`nsenter --net\`), private data root, exec root and socket; measured one after the other (berthd stopped before dockerd starts). $(hyperfine --version), $RUNS runs per figure after 1 warm-up, median. Script run time: ${t_total} s; load average (1, 5, 15 min) ${load_start} at the start, ${load_end} at the end (on $(nproc) cores)."
  echo
  echo "The stack (compose file format 3.8): web (\`busybox httpd\`, published on 127.0.0.1:$PORT), api and cache (\`busybox httpd\`), worker and db (\`busybox sleep\`), all on one user network \`backend\`, db with the named volume \`data\`; web depends on api, api and worker on cache and db; every service \`stop_signal: SIGKILL\` (so \`down\` times the teardown, not a grace period). Image: bench/make-archive.sh's busybox image, \`docker load\`ed into each daemon (no registry). \`up -d\`: from nothing (before each run: \`down -v\` by the same client), so it creates the network, the volume and 5 containers and starts them in dependency order. \`down -v\`: before each run \`up -d\` by the same client; it stops and removes the 5 containers, the network and the volume. Each pair's \`up -d\` is checked before the timed runs and after them (5 containers running, web answering on 127.0.0.1:$PORT from the daemon's namespace), and so is its \`down -v\` (no container, network or volume labelled with the project left)."
  echo
  echo "| client → daemon | \`up -d\` | \`down -v\` | \`up -d\` / berth | \`down -v\` / berth | checks |"
  echo "|---|---|---|---|---|---|"
  for n in berth dcberth dcdocker; do
    echo "| $(label $n) | $(fmt_ms "$(ms "${MED[$n-up]:-}")") | $(fmt_ms "$(ms "${MED[$n-down]:-}")") | $(ratio "${MED[$n-up]:-}" "${MED[berth-up]:-}") | $(ratio "${MED[$n-down]:-}" "${MED[berth-down]:-}") | ${OK[$n]:-–} |"
  done
  echo
  echo "- Ratios are the row's median over \`berth compose\` → berthd's: above 1 means slower than berth. Rows 1 and 2 share the daemon (the client's share); rows 2 and 3 share the client (the daemon's share)."
  echo
  echo "Commands (SOCK = the daemon's socket; FILE = the stack above, project \`$project\`):"
  echo
  echo '```'
  echo "berth -H unix://SOCK compose -f FILE -p $project up -d      # prepare: … down -v"
  echo "berth -H unix://SOCK compose -f FILE -p $project down -v    # prepare: … up -d"
  echo "docker-compose -H unix://SOCK -f FILE -p $project up -d     # prepare: … down -v"
  echo "docker-compose -H unix://SOCK -f FILE -p $project down -v   # prepare: … up -d"
  echo '```'
} > "$work/section.md"
write_section "Compose" "$work/section.md"
