#!/usr/bin/env bash
# Compose updates under load (issue 8): how many requests fail, and how long the longest
# outage is, while `up -d` replaces a changed web service that a client keeps calling on its
# published port (127.0.0.1:PORT, from the daemon's network namespace, one request every
# 10 ms on a new connection: bench/request-loop.py). Four client → daemon pairs, same run:
#   1. `berth compose up -d` → berthd (default strategy: rolling, start-first),
#   2. `berth compose up -d --strategy recreate` → berthd (docker compose's stop-first),
#   3. docker-compose 1.29 → berthd, 4. docker-compose 1.29 → a private dockerd (docker.io).
# The service: busybox httpd serving its version, with a health check (wget every 1 s); a
# new version takes DELAY s to start listening (an application's boot). Each update changes
# the version in `environment`, so every client recreates the container. Every run is
# checked: the new version must answer at the end. Medians over RUNS updates per pair go to
# docs/BENCHMARKS.md (section "Compose updates"). berthd and dockerd run in private network
# namespaces: nothing touches the host's network.
#
# Env: RUNS (5), PORT (18081), DELAY (1), BENCH_OUT=/path to write the section there instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
. "$here/lib.sh"
RUNS=${RUNS:-5}; PORT=${PORT:-18081}; DELAY=${DELAY:-1}
[ "$(id -u)" = 0 ] || { echo "$bench_me: run as root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
need=(); for p in docker.io docker-compose busybox-static jq iproute2 util-linux python3; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq; apt-get install -y -qq "${need[@]}" >/dev/null; fi
DOCKER=/usr/local/bin/docker; [ -x "$DOCKER" ] || DOCKER=$(command -v docker)
DOCKERD=$(command -v dockerd || true)
DC=$(command -v docker-compose)
t_start=$(date +%s); load_start=$(cut -d" " -f1-3 /proc/loadavg)

make_work /var/tmp/berth-compose-update-bench
ns_b=berth-bench-$$-b; ns_d=berth-bench-$$-d
project=upd
drop_project() { timeout 20 "$DOCKER" -H "$1" network rm "${project}_default" >/dev/null 2>&1 || true; }
SOCK_CLEANUP=drop_project
trap 'touch "$work/stop" 2>/dev/null || true; ns_cleanup' EXIT
ns_add "$ns_b" "$ns_d"

release_and_image

proj="$work/project"; mkdir -p "$proj"; file="$proj/docker-compose.yml"
# stack VERSION: the compose file serving VERSION.
stack() {
  cat > "$file" <<YAML
version: "3.8"
services:
  web:
    image: $tag
    command: ["sh", "-c", "busybox sleep $DELAY; busybox mkdir -p /www; echo \$\$VERSION > /www/index.html; exec busybox httpd -f -p 80 -h /www"]
    environment: [VERSION=$1]
    ports: ["127.0.0.1:$PORT:80"]
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD-SHELL", "busybox wget -q -O /dev/null http://127.0.0.1:80/"]
      interval: 1s
      timeout: 1s
      retries: 3
YAML
}
# answers NS VERSION: waits (30 s at most) until web answers VERSION on the published port.
answers() {
  local page
  for _ in $(seq 300); do
    page=$(nsenter --net="/run/netns/$1" busybox wget -q -O - "http://127.0.0.1:$PORT/" 2>/dev/null || true)
    [ "$page" = "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

declare -A MED VER OK
# measure NAME COMPOSE NS: RUNS updates by COMPOSE (the command line up to its verb; `up -d`
# and ARGS follow) under the request loop, in namespace NS.
measure() {
  local name=$1 compose=$2 ns=$3 extra=${4:-} out i v fails=() gaps=() ups=() reqs=0 failed=0
  stack v0
  if ! out=$($compose up -d 2>&1 </dev/null) || ! answers "$ns" v0; then
    OK[$name]="fails: first \`up -d\`: $(tail -3 <<<"$out" | oneline)"; $compose down >/dev/null 2>&1 </dev/null || true; return 0
  fi
  for i in $(seq "$RUNS"); do
    v=v$i; rm -f "$work/stop"
    nsenter --net="/run/netns/$ns" python3 "$here/request-loop.py" "$PORT" "$work/stop" > "$work/$name-$i.json" &
    local loop=$!
    sleep 0.5
    stack "$v"
    local t0; t0=$(date +%s.%N)
    if ! out=$($compose up -d $extra 2>&1 </dev/null); then
      OK[$name]+="${OK[$name]:+; }run $i: \`up -d\` failed: $(tail -2 <<<"$out" | oneline)"
    fi
    ups+=("$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')")
    answers "$ns" "$v" || OK[$name]+="${OK[$name]:+; }run $i: $v never answered"
    sleep 0.5; touch "$work/stop"; wait "$loop" || true
    fails+=("$(jq .failed "$work/$name-$i.json")"); gaps+=("$(jq .longest_gap_ms "$work/$name-$i.json")")
    reqs=$((reqs + $(jq .requests "$work/$name-$i.json"))); failed=$((failed + $(jq .failed "$work/$name-$i.json")))
  done
  MED[$name-failed]=$(printf '%s\n' "${fails[@]}" | median)
  MED[$name-gap]=$(printf '%s\n' "${gaps[@]}" | median)
  MED[$name-up]=$(printf '%s\n' "${ups[@]}" | median)
  MED[$name-total]="$failed of $reqs"
  [ -n "${OK[$name]:-}" ] || OK[$name]="new version answered after each of $RUNS updates"
  $compose down >/dev/null 2>&1 </dev/null || true
}

bd="$work/berthd"; bsock="unix://$bd/berth.sock"
if start_berthd_in "$ns_b" "$bd"; then
  VER[berthd]=$(with_image "$bsock")
  measure berth "$BERTH -H $bsock compose -f $file -p $project" "$ns_b"
  measure berthre "$BERTH -H $bsock compose -f $file -p $project" "$ns_b" "--strategy recreate"
  measure dcberth "$DC -H $bsock -f $file -p $project" "$ns_b"
else
  OK[berth]="fails: berthd did not start: $(tail -c 160 "$bd/daemon.log" | oneline)"
fi
stop_berthd_in "$bsock"

if [ -n "$DOCKERD" ]; then
  dd_dir="$work/dockerd"; dsock="unix://$dd_dir/docker.sock"
  if start_dockerd_in "$ns_d" "$dd_dir" "$dsock"; then
    VER[dockerd]=$(with_image "$dsock")
    measure dcdocker "$DC -H $dsock -f $file -p $project" "$ns_d"
  else
    OK[dcdocker]="fails: dockerd did not start: $(tail -c 160 "$dd_dir/daemon.log" | oneline)"
  fi
else
  OK[dcdocker]="not installed"
fi
t_total=$(( $(date +%s) - t_start )); load_end=$(cut -d" " -f1-3 /proc/loadavg)
for k in $(printf '%s\n' "${!MED[@]}" | sort); do echo "$bench_me: $k = ${MED[$k]}" >&2; done

VER[berth]=$("$BERTH" --version | awk '{print $NF}')
VER[dc]=$("$DC" version --short 2>/dev/null || echo '?')
label() { case $1 in
  berth) echo "\`berth compose up -d\` ${VER[berth]} (rolling) → berthd ${VER[berthd]:-?}";;
  berthre) echo "\`berth compose up -d --strategy recreate\` → berthd";;
  dcberth) echo "docker-compose ${VER[dc]} \`up -d\` → berthd";;
  dcdocker) echo "docker-compose ${VER[dc]} \`up -d\` → dockerd ${VER[dockerd]:-?}";; esac; }
{
  echo "## Compose updates: failed requests while \`up -d\` replaces a changed service"
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores, kernel $(uname -r), by bench/compose-update.sh. berthd ${VER[berthd]:-?} (release) and a private dockerd ${VER[dockerd]:-?} (Debian's docker.io, runc, iptables, userland proxy), each in its own network namespace, measured one after the other. The service: \`busybox httpd\` answering its version on 127.0.0.1:$PORT, a health check (\`wget\` every 1 s, 3 retries), and a start-up delay of $DELAY s before it listens (an application's boot). Each update changes the version in \`environment\`, so every client replaces the container. During each update bench/request-loop.py, in the daemon's namespace, sends \`GET /\` on a new connection every 10 ms (from 0.5 s before \`up -d\` until 0.5 s after the new version first answered). $RUNS updates per row; medians per update. Script run time: ${t_total} s; load average ${load_start} at the start, ${load_end} at the end."
  echo
  echo "| client → daemon | failed requests (median per update) | all updates: failed of sent | longest outage (median) | \`up -d\` wall time (median) | checks |"
  echo "|---|---|---|---|---|---|"
  for n in berth berthre dcberth dcdocker; do
    echo "| $(label $n) | ${MED[$n-failed]:-–} | ${MED[$n-total]:-–} | $(fmt "${MED[$n-gap]:-–}" '%.0f ms') | $(fmt "${MED[$n-up]:-–}" '%.2f s') | ${OK[$n]:-–} |"
  done
  echo
  echo "- Longest outage: the longest time between two successful answers seen by the loop (10 ms between requests, so about 10–20 ms is the floor with no outage at all). A request that is neither answered nor refused counts once, after the loop's 2 s timeout: an outage of about 2000 ms with a single failed request is one connection left hanging, not one refused."
  echo "- The rolling row's \`up -d\` takes longer: it returns once the new container is healthy, traffic has moved and the old one is gone (after a 1 s drain); the stop-first rows return as soon as the new container started, while the service is still down."
} > "$work/section.md"
write_section "Compose updates" "$work/section.md"
