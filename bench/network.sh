#!/usr/bin/env bash
# Container networking through the Docker API, the same docker CLI against each daemon:
# berthd vs a private dockerd (Debian's docker.io, its default bridge and iptables), in the same run.
#   1. `docker run --rm IMAGE true` with `--network none`, the default bridge and a user network:
#      medians, and the extra latency of a bridge over none (berth's target: ≤ 5 ms);
#   2. iperf3 TCP throughput between two containers on one user network (the client finds the
#      server by name, through the daemon's DNS), and over loopback without containers;
#   3. wrk requests/s against a busybox httpd container published on 127.0.0.1:PORT.
# Each daemon runs in its own private network namespace (`ip netns add berth-bench-<pid>-b|-d`,
# entered with nsenter so /sys/fs/cgroup stays visible); wrk and the loopback references run in
# those namespaces too: nothing touches the host's interfaces or firewall.
# Medians and ratios go to docs/BENCHMARKS.md (section "Networks").
#
# Env: RUNS (20, hyperfine runs per `run` figure), TPUT_RUNS (3, iperf3/wrk runs per figure),
#      SECS (5, seconds per iperf3/wrk run), PORT (18080), BENCH_OUT=/path to write the section there instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
. "$here/lib.sh"
RUNS=${RUNS:-20}; TPUT_RUNS=${TPUT_RUNS:-3}; SECS=${SECS:-5}; PORT=${PORT:-18080}; REF_PORT=$((PORT + 1))
WRK_T=2; WRK_C=16
[ "$(id -u)" = 0 ] || { echo "$bench_me: run as root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
need=(); for p in iperf3 wrk hyperfine docker.io busybox-static jq nftables iproute2 util-linux; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq; apt-get install -y -qq "${need[@]}" >/dev/null; fi
DOCKER=/usr/local/bin/docker; [ -x "$DOCKER" ] || DOCKER=$(command -v docker)
DOCKERD=$(command -v dockerd || true)
t_start=$(date +%s); load_start=$(cut -d" " -f1-3 /proc/loadavg)

make_work /var/tmp/berth-network-bench
ns_b=berth-bench-$$-b; ns_d=berth-bench-$$-d
# What ns_cleanup removes besides containers: the user network.
drop_benchnet() { timeout 20 "$DOCKER" -H "$1" network rm benchnet >/dev/null 2>&1 || true; }
SOCK_CLEANUP=drop_benchnet
trap ns_cleanup EXIT
ns_add "$ns_b" "$ns_d"
# inns NS CMD…: CMD in NS's network namespace only (mounts, /sys and cgroups stay the host's).
inns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$@"; }
# (Background processes are started with nsenter itself, not inns, so that $! is their pid: nsenter execs them.)

cargo build --release -q -p berthd -p berth-shim-cli --manifest-path "$repo/Cargo.toml"
archive="$work/net.tar"; tag=bench/net:latest
"$here/make-tool-image.sh" "$archive" "$tag" "$(command -v iperf3)" 2>"$work/image.log"
declare -A MED MIN VER NOTE RETRANS

# iperf_gbps JSON…: the median of end.sum_received.bits_per_second over the iperf3 -J outputs, in Gbit/s.
iperf_gbps() { for f in "$@"; do jq '.end.sum_received.bits_per_second / 1e9' "$f"; done | median; }
# wrk_rps OUT…: the median of "Requests/sec:" over wrk outputs; NOTE[$key] gets their error lines.
wrk_rps() { for f in "$@"; do awk '/^Requests\/sec:/ {print $2}' "$f"; done | median; }
wrk_errors() { cat "$@" | grep -E 'Socket errors|Non-2xx' | sed 's/^ *//' | sort | uniq -c | awk '{n=$1; $1=""; sub(/^ /, ""); printf "%s%s× %s", (NR>1 ? "; " : ""), n, $0}' || true; }
# run_wrk NAME URL NS: a 1 s warm-up, then TPUT_RUNS wrk runs in NS; MED[NAME-rps], NOTE[NAME-rps].
run_wrk() {
  local name=$1 url=$2 ns=$3 i files=() r0 s0
  inns "$ns" wrk -t"$WRK_T" -c"$WRK_C" -d1s "$url" >/dev/null 2>&1 || true
  r0=$(tcp_counter "$ns" TcpRetransSegs); s0=$(tcp_counter "$ns" TcpExtTCPSynRetrans)
  for ((i = 1; i <= TPUT_RUNS; i++)); do
    if ! inns "$ns" wrk -t"$WRK_T" -c"$WRK_C" -d"${SECS}s" "$url" >"$work/$name-wrk-$i.out" 2>&1; then
      MED[$name-rps]="fails: wrk: $(oneline <"$work/$name-wrk-$i.out")"; return 0
    fi
    files+=("$work/$name-wrk-$i.out")
  done
  sed -n '/Latency/p; /requests in/p; /Socket errors/p; /Non-2xx/p' "${files[@]}" | sed "s|^|$bench_me: wrk $name: |" >&2
  MED[$name-rps]=$(wrk_rps "${files[@]}")
  RETRANS[$name]="$(( $(tcp_counter "$ns" TcpRetransSegs) - r0 )) segments, $(( $(tcp_counter "$ns" TcpExtTCPSynRetrans) - s0 )) SYNs"
  num "${MED[$name-rps]}" || MED[$name-rps]="fails: no Requests/sec in wrk's output: $(oneline <"${files[0]}")"
  NOTE[$name-rps]=$(wrk_errors "${files[@]}")
}
# tcp_counter NS NAME: the absolute value of nstat's counter NAME in NS (0 when absent).
tcp_counter() { inns "$1" nstat -asz "$2" 2>/dev/null | awk -v n="$2" '$1 == n {v=$2} END {print v+0}'; }
# wait_url NS URL: up to 10 s until busybox wget fetches URL from NS.
wait_url() { for _ in $(seq 100); do inns "$1" busybox wget -q -O /dev/null "$2" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# --- the host loopback references (no container), in the berth namespace before berthd starts.
nsenter --net="/run/netns/$ns_b" iperf3 -s -B 127.0.0.1 >/dev/null 2>&1 &
ref_pid=$!; track "$ref_pid"
sleep 0.5
inns "$ns_b" iperf3 -c 127.0.0.1 -t 1 >/dev/null 2>&1 || true
files=()
for ((i = 1; i <= TPUT_RUNS; i++)); do
  if inns "$ns_b" iperf3 -c 127.0.0.1 -t "$SECS" -J >"$work/ref-iperf-$i.json" 2>&1; then files+=("$work/ref-iperf-$i.json"); fi
done
if [ ${#files[@]} -gt 0 ]; then MED[ref-iperf]=$(iperf_gbps "${files[@]}"); else MED[ref-iperf]="fails: $(oneline <"$work/ref-iperf-1.json")"; fi
stop "$ref_pid"
mkdir -p "$work/www"; head -c 612 /dev/zero > "$work/www/index.html"
# On its own port: the TIME_WAIT sockets it leaves on 127.0.0.1:REF_PORT would make berthd refuse
# to publish that port for a minute (berth binds published ports without SO_REUSEADDR).
nsenter --net="/run/netns/$ns_b" busybox httpd -f -p "127.0.0.1:$REF_PORT" -h "$work/www" &
ref_pid=$!; track "$ref_pid"
if wait_url "$ns_b" "http://127.0.0.1:$REF_PORT/index.html"; then run_wrk ref "http://127.0.0.1:$REF_PORT/index.html" "$ns_b"; else MED[ref-rps]="fails: busybox httpd did not answer"; fi
stop "$ref_pid"

# measure NAME NS CLI…: the figures for one daemon (in NS) reached with CLI:
# MED[NAME-none|bridge|user] (s), MED[NAME-iperf] (Gbit/s), MED[NAME-rps].
measure() {
  local name=$1 ns=$2; shift 2
  local cli="$*" v out i files=()
  $cli load -i "$archive" >/dev/null
  $cli network create benchnet >/dev/null
  # 1. run --rm true: none, default bridge, user network.
  for v in none:"--network none" bridge:"" user:"--network benchnet"; do
    local run="$cli run --rm ${v#*:} $tag true"
    run=${run//  / }
    if ! out=$($run 2>&1); then MED[$name-${v%%:*}]="fails: $(oneline <<<"$out")"; continue; fi
    bench "$name-${v%%:*}" "$run" true
    MIN[$name-${v%%:*}]=$(jq '.results[0].min' "$work/$name-${v%%:*}.json" 2>/dev/null || echo "–")
  done
  # 2. iperf3 between two containers of benchnet; the client reaches the server by its name.
  if ! out=$($cli run -d --name bench-iperf-srv --network benchnet "$tag" iperf3 -s 2>&1); then
    MED[$name-iperf]="fails: server: $(oneline <<<"$out")"
  else
    for _ in $(seq 20); do
      out=$($cli run --rm --network benchnet "$tag" iperf3 -c bench-iperf-srv -t 1 2>&1) && break
      sleep 0.5
    done
    for ((i = 1; i <= TPUT_RUNS; i++)); do
      if $cli run --rm --network benchnet "$tag" iperf3 -c bench-iperf-srv -t "$SECS" -J >"$work/$name-iperf-$i.json" 2>&1 \
        && jq -e '.end.sum_received.bits_per_second' "$work/$name-iperf-$i.json" >/dev/null 2>&1; then
        files+=("$work/$name-iperf-$i.json")
      else
        MED[$name-iperf]="fails: $(jq -r '.error // empty' "$work/$name-iperf-$i.json" 2>/dev/null | oneline) $(oneline <"$work/$name-iperf-$i.json")"; break
      fi
    done
    [ -n "${MED[$name-iperf]:-}" ] || MED[$name-iperf]=$(iperf_gbps "${files[@]}")
    $cli rm -f bench-iperf-srv >/dev/null
  fi
  # 3. wrk from the daemon's namespace against httpd published on 127.0.0.1:PORT (default bridge).
  if ! out=$($cli run -d --name bench-httpd -p "127.0.0.1:$PORT:80" "$tag" \
      sh -c "head -c 612 /dev/zero > /www/index.html && exec httpd -f -p 80 -h /www" 2>&1); then
    MED[$name-rps]="fails: $(oneline <<<"$out")"
  elif ! wait_url "$ns" "http://127.0.0.1:$PORT/index.html"; then
    MED[$name-rps]="fails: http://127.0.0.1:$PORT/index.html does not answer from the daemon's namespace ($(inns "$ns" busybox wget -q -O /dev/null "http://127.0.0.1:$PORT/index.html" 2>&1 | oneline))"
  else
    run_wrk "$name" "http://127.0.0.1:$PORT/index.html" "$ns"
  fi
  $cli rm -f bench-httpd >/dev/null 2>&1 || true
  $cli network rm benchnet >/dev/null 2>&1 || true
}

# --- berthd: release build, its defaults (berth0, nftables), a private data root, exec root and socket.
bd="$work/berthd"
if start_berthd_in "$ns_b" "$bd"; then
  VER[berth]=$("$DOCKER" -H "unix://$bd/berth.sock" version -f '{{.Server.Version}}')
  measure berth "$ns_b" "$DOCKER" -H "unix://$bd/berth.sock"
else
  MED[berth-none]="fails: berthd did not start: $(tail -c 160 "$bd/daemon.log" | oneline)"
fi
berth_nft=$(inns "$ns_b" nft list tables 2>/dev/null | oneline)
stop_berthd_in "unix://$bd/berth.sock"

# --- docker: a private dockerd with its defaults (docker0, iptables, userland proxy), own data-root, exec-root and socket.
if [ -n "$DOCKERD" ]; then
  dd_dir="$work/dockerd"; sock="unix://$dd_dir/docker.sock"
  if start_dockerd_in "$ns_d" "$dd_dir" "$sock"; then
    VER[docker]=$("$DOCKER" -H "$sock" version -f '{{.Server.Version}}')
    measure docker "$ns_d" "$DOCKER" -H "$sock"
  else
    MED[docker-none]="fails: dockerd did not start: $(tail -c 160 "$dd_dir/daemon.log" | oneline)"
  fi
else
  MED[docker-none]="not installed"
fi
t_total=$(( $(date +%s) - t_start )); load_end=$(cut -d" " -f1-3 /proc/loadavg)
for k in $(printf '%s\n' "${!MED[@]}" | sort); do echo "$bench_me: $k = ${MED[$k]}${NOTE[$k]:+ (${NOTE[$k]})}" >&2; done

# --- the report
# extra A B: (A − B) in ms, signed, when both are numbers (seconds), else "–".
extra() { if num "${1:-}" && num "${2:-}"; then awk -v a="$1" -v b="$2" 'BEGIN{printf "%+.1f ms", (a-b)*1000}'; else echo "–"; fi; }
# target NAME V: whether V − none is within berth's 5 ms target, by the medians and by the minima
# ("unclear" when the two disagree: the noise is larger than the difference).
target() {
  local a=${MED[$1-none]:-} b=${MED[$1-$2]:-} c=${MIN[$1-none]:-} d=${MIN[$1-$2]:-}
  if num "$a" && num "$b" && num "$c" && num "$d"; then
    awk -v a="$a" -v b="$b" -v c="$c" -v d="$d" 'BEGIN{m=(b-a)*1000 <= 5; n=(d-c)*1000 <= 5; print (m && n ? "within" : (!m && !n ? "over" : "unclear"))}'
  else echo "–"; fi
}
gbps() { fmt "${1:-–}" '%.2f Gbit/s'; }
rps() { fmt "${1:-–}" '%.0f req/s'; }
# pct A REF: A as a percentage of REF.
pct() { if num "${1:-}" && num "${2:-}"; then awk -v a="$1" -v b="$2" 'BEGIN{printf "%.0f%%", 100*a/b}'; else echo "–"; fi; }
{
  echo "## Networks: \`run\` with a bridge vs none, container-to-container TCP, requests/s through a published port"
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}')), kernel $(uname -r). The same docker CLI ($("$DOCKER" version -f '{{.Client.Version}}' 2>/dev/null)) drives berthd ${VER[berth]:-?} and dockerd ${VER[docker]:-?} (Debian's docker.io, runc); $(hyperfine --version), $(iperf3 --version | head -1 | awk '{print "iperf3 " $2}'), $(wrk -v 2>&1 | head -1 | awk '{print "wrk " $2}'), $(nft --version | awk '{print "nftables " $2}'), $(iptables -V). Script run time: ${t_total} s; load average (1, 5, 15 min) ${load_start} at the start, ${load_end} at the end (on $(nproc) cores: above $(nproc), other work on the machine competed for the CPUs)."
  echo
  echo "Isolation: each daemon runs in its own network namespace (\`ip netns add\`; the daemon started with \`nsenter --net=/run/netns/NS\`), with its defaults: berthd its default bridge \`berth0\` and nftables rules (tables in its namespace: ${berth_nft:-none}); dockerd its default bridge \`docker0\`, iptables (iptables-nft) and the userland proxy (\`docker-proxy\`), i.e. Docker's real network path. Private data-root, exec-root, pidfile and socket under the bench directory. wrk and the loopback references run in those namespaces too; the daemons are measured one after the other (berthd stopped before dockerd starts). Image: bench/make-tool-image.sh (busybox-static + Debian's iperf3 and the libraries ldd lists, one layer), \`docker load\`ed into each daemon. Podman is not measured: it fails on this machine before any network is involved (crun: setrlimit \`RLIMIT_NOFILE\`: Operation not permitted, see Container lifecycle)."
  echo
  echo "### \`docker run --rm IMAGE true\`: bridge vs none"
  echo
  echo "hyperfine -N, $RUNS runs each after 1 warm-up, median."
  echo
  echo "| daemon | \`--network none\` | default bridge | user network \`benchnet\` | extra: default bridge − none (medians / minima) | extra: user network − none (medians / minima) | berth's target ≤ 5 ms extra: bridge, user |"
  echo "|---|---|---|---|---|---|---|"
  for n in berth docker; do
    a=${MED[$n-none]:-–}; b=${MED[$n-bridge]:-–}; u=${MED[$n-user]:-–}
    echo "| $n${VER[$n]:+ ${VER[$n]}} | $(fmt_ms "$(ms "$a")") | $(fmt_ms "$(ms "$b")") | $(fmt_ms "$(ms "$u")") | $(extra "$b" "$a") / $(extra "${MIN[$n-bridge]:-}" "${MIN[$n-none]:-}") | $(extra "$u" "$a") / $(extra "${MIN[$n-user]:-}" "${MIN[$n-none]:-}") | $(target "$n" bridge), $(target "$n" user) |"
  done
  echo "| docker / berth | $(ratio "${MED[docker-none]:-}" "${MED[berth-none]:-}") | $(ratio "${MED[docker-bridge]:-}" "${MED[berth-bridge]:-}") | $(ratio "${MED[docker-user]:-}" "${MED[berth-user]:-}") | | | |"
  echo
  echo "### Throughput: iperf3 between two containers, wrk through a published port"
  echo
  echo "$TPUT_RUNS runs of ${SECS} s each after a 1 s warm-up, median. iperf3: TCP, one stream, the server container \`iperf3 -s\` and the client container \`iperf3 -c bench-iperf-srv -t $SECS -J\` on the user network \`benchnet\` (the name resolved by the daemon's DNS), \`end.sum_received.bits_per_second\`. wrk: \`wrk -t$WRK_T -c$WRK_C -d${SECS}s http://127.0.0.1:$PORT/index.html\` from the daemon's namespace against \`busybox httpd -f -p 80\` (a 612-byte file; busybox httpd closes every connection, so each request is a new TCP connection through the port mapping) in a container on the default bridge published with \`-p 127.0.0.1:$PORT:80\`."
  echo
  echo "| path | iperf3 TCP | of loopback | wrk | of loopback |"
  echo "|---|---|---|---|---|"
  echo "| host loopback, no container (reference: iperf3 / busybox httpd on 127.0.0.1 in the namespace) | $(gbps "${MED[ref-iperf]:-}") | 100% | $(rps "${MED[ref-rps]:-}") | 100% |"
  for n in berth docker; do
    echo "| $n${VER[$n]:+ ${VER[$n]}}: container → container (iperf3), 127.0.0.1:$PORT → container (wrk) | $(gbps "${MED[$n-iperf]:-}") | $(pct "${MED[$n-iperf]:-}" "${MED[ref-iperf]:-}") | $(rps "${MED[$n-rps]:-}") | $(pct "${MED[$n-rps]:-}" "${MED[ref-rps]:-}") |"
  done
  echo "| docker / berth | $(ratio "${MED[docker-iperf]:-}" "${MED[berth-iperf]:-}") | | $(ratio "${MED[docker-rps]:-}" "${MED[berth-rps]:-}") | |"
  echo
  for n in ref berth docker; do
    [ -z "${NOTE[$n-rps]:-}" ] || echo "- wrk reported errors ($n, all runs): ${NOTE[$n-rps]}"
  done
  echo "- TCP retransmissions counted in the daemon's namespace (\`nstat\`) during the timed wrk runs: reference ${RETRANS[ref]:-–}; berth ${RETRANS[berth]:-–}; docker ${RETRANS[docker]:-–}."
  echo "- Ratios are docker's figure over berth's: for times above 1 means docker is slower, for throughputs above 1 means docker is faster. The \"extra\" columns are differences of medians (and of minima, less sensitive to other load on the machine), so they carry the noise of both; the verdict is \"within\" or \"over\" when medians and minima agree, \"unclear\" when they do not."
  echo "- Published port: berth DNATs \`127.0.0.1:$PORT\` to the container in nftables (\`route_localnet\` on its bridge, no proxy process); dockerd's default sends loopback traffic through its userland proxy \`docker-proxy\` (DNAT covers only non-loopback clients)."
  echo
  echo "Commands (CLI = \`docker -H unix://SOCK\` for each daemon; NS = the daemon's namespace):"
  echo
  echo '```'
  echo "CLI run --rm --network none $tag true"
  echo "CLI run --rm $tag true"
  echo "CLI network create benchnet; CLI run --rm --network benchnet $tag true"
  echo "CLI run -d --name bench-iperf-srv --network benchnet $tag iperf3 -s"
  echo "CLI run --rm --network benchnet $tag iperf3 -c bench-iperf-srv -t $SECS -J"
  echo "CLI run -d --name bench-httpd -p 127.0.0.1:$PORT:80 $tag sh -c 'head -c 612 /dev/zero > /www/index.html && exec httpd -f -p 80 -h /www'"
  echo "nsenter --net=/run/netns/NS wrk -t$WRK_T -c$WRK_C -d${SECS}s http://127.0.0.1:$PORT/index.html"
  echo "nsenter --net=/run/netns/NS iperf3 -s -B 127.0.0.1 & nsenter --net=/run/netns/NS iperf3 -c 127.0.0.1 -t $SECS -J   # reference"
  echo "nsenter --net=/run/netns/NS busybox httpd -f -p 127.0.0.1:$REF_PORT -h DIR & nsenter --net=/run/netns/NS wrk …   # reference"
  echo '```'
} > "$work/section.md"
write_section "Networks" "$work/section.md"
