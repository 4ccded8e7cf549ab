# Shared helpers for the bench/ scripts; source it after `set -euo pipefail`:
#   here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here"); . "$here/lib.sh"
# Env: BENCH_OUT, the markdown file write_section updates (default: docs/BENCHMARKS.md of the repo).

bench_me="bench/${0##*/}"
BENCH_OUT=${BENCH_OUT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/docs/BENCHMARKS.md}
BENCH_PIDS=()
work=""

# --- numbers

# num V: succeeds when V is a plain non-negative number (a median, not a "fails: …" note).
num() { case $1 in ''|*[!0-9.]*) return 1;; esac; }
# fmt V [FORMAT]: V with printf FORMAT (default seconds, "%.2f s") when a number, else V as is.
fmt() { if num "$1"; then printf "${2:-%.2f s}" "$1"; else echo "$1"; fi; }
# fmt_ms V: V (milliseconds) as "%.1f ms" when a number, else V as is.
fmt_ms() { fmt "$1" '%.1f ms'; }
# ratio A B: "A/B×" to 2 decimals when both are numbers, else "–".
ratio() { if num "$1" && num "$2"; then awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f×", a/b}'; else echo "–"; fi; }
# mbs SECONDS BYTES: throughput in MB/s (10^6 bytes) when SECONDS is a number, else "–".
mbs() { if num "$1"; then awk -v b="$2" -v t="$1" 'BEGIN{printf "%.0f MB/s", b/1e6/t}'; else echo "–"; fi; }
# mib BYTES: BYTES in MiB to 1 decimal.
mib() { awk -v b="$1" 'BEGIN{printf "%.1f", b/1048576}'; }
# median: the median of the numeric lines on stdin (other lines ignored).
median() { grep -E '^[0-9.]+$' | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# oneline: stdin's first 240 bytes on one line, trailing spaces dropped.
oneline() { head -c 240 | tr '\n' ' ' | sed 's/ *$//'; }

# --- hyperfine

# hf_median JSON [FACTOR]: the median of hyperfine's first result in its --export-json JSON, times FACTOR if given.
hf_median() { if [ -n "${2:-}" ]; then jq ".results[0].median*$2" "$1"; else jq '.results[0].median' "$1"; fi; }
# bench NAME COMMAND PREPARE: hyperfine, cold (PREPARE empties the store and syncs before each run); MED[NAME] = the median, or why it failed.
bench() {
  local name=$1 cmd=$2 prep=$3
  if ! hyperfine -N --warmup 1 --runs "$RUNS" --prepare "$prep" --export-json "$work/$name.json" "$cmd" >/dev/null 2>"$work/$name.err"; then
    MED[$name]="fails during the timed runs: $(grep -v '^\s*$' "$work/$name.err" | tail -3 | head -c 200 | tr '\n' ' ')"
    return 0
  fi
  MED[$name]=$(hf_median "$work/$name.json")
}
# prep_script NAME BODY: BODY (then sync) as an executable script under $work, for hyperfine -N (no shell); prints its path.
prep_script() {
  printf '#!/bin/sh\nset -e\n%s\nsync\n' "$2" > "$work/prep-$1.sh"; chmod +x "$work/prep-$1.sh"; echo "$work/prep-$1.sh"
}

# --- the work directory, processes, mounts

# unmount_under DIR: lazily unmount whatever is mounted under DIR, deepest first.
unmount_under() { awk -v w="$1" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done; }
# wipe DIR: prints a shell command that unmounts leftovers under DIR, then removes it (for prep scripts and sh -c).
wipe() { echo "awk -v w='$1' 'index(\$5, w) == 1 {print \$5}' /proc/self/mountinfo | sort -r | while read -r m; do umount -l \"\$m\" || true; done; rm -rf '$1'"; }
# stop PID: TERM, wait up to 20 s, then KILL, and reap it.
stop() {
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 200); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
# track PID: have bench_cleanup stop PID.
track() { BENCH_PIDS+=("$1"); }
# bench_cleanup: stop the tracked processes (last tracked first), unmount leftovers under $work, remove it.
bench_cleanup() {
  local i
  for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do stop "${BENCH_PIDS[i]}"; done
  [ -z "$work" ] || { unmount_under "$work"; rm -rf "$work"; }
}
# ms SECONDS: milliseconds with one decimal (a non-number is printed as is, "–" when empty).
ms() { if num "${1:-}"; then awk -v s="$1" 'BEGIN{printf "%.1f", s*1000}'; else echo "${1:-–}"; fi; }
# Daemons compared in private network namespaces: ns_add NAME… creates them (lo up) for
# ns_cleanup, which removes the containers of every daemon in SOCKS while it still answers (then
# runs SOCK_CLEANUP SOCK, if set, for what else a benchmark made there), runs bench_cleanup
# (daemons stopped, $work unmounted and removed) and deletes the namespaces, killing any process
# left in one. Set it as the EXIT trap.
BENCH_NETNS=(); SOCKS=(); SOCK_CLEANUP=
ns_add() {
  local ns
  for ns in "$@"; do ip netns add "$ns"; ip netns exec "$ns" ip link set lo up; BENCH_NETNS+=("$ns"); done
}
ns_cleanup() {
  local s ns pids ids
  for s in ${SOCKS[@]+"${SOCKS[@]}"}; do
    ids=$(timeout 20 "$DOCKER" -H "$s" ps -aq 2>/dev/null || true)
    [ -z "$ids" ] || timeout 60 "$DOCKER" -H "$s" rm -f $ids >/dev/null 2>&1 || true
    [ -z "$SOCK_CLEANUP" ] || "$SOCK_CLEANUP" "$s"
  done
  bench_cleanup
  for ns in ${BENCH_NETNS[@]+"${BENCH_NETNS[@]}"}; do
    [ -e "/run/netns/$ns" ] || continue
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    if [ -n "$pids" ]; then
      echo "$bench_me: processes left in $ns after the daemon stopped: $(ps -o pid=,comm= -p $(echo $pids | tr ' ' ,) | tr '\n' ' ')— killing them" >&2
      kill -KILL $pids 2>/dev/null || true
    fi
    ip netns del "$ns" || true
  done
}
# make_work PREFIX: work=a fresh PREFIX.XXXXXX directory (mode 755), cleaned up on exit, INT and TERM.
make_work() {
  work=$(mktemp -d "$1.XXXXXX"); chmod 755 "$work"
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}
# wait_ready PID TRIES CMD…: retry CMD every 0.1 s, up to TRIES times, until it succeeds or PID exits; succeeds if CMD does.
wait_ready() {
  local pid=$1 tries=$2; shift 2
  for _ in $(seq "$tries"); do
    "$@" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  "$@" >/dev/null 2>&1
}

# --- peers

# build_berth: BERTH=the berth binary (given, or berth-cli built in release), or "" with berth_note saying why.
build_berth() {
  berth_note=""
  if [ -n "${BERTH:-}" ]; then
    [ -x "$BERTH" ] || { echo "$bench_me: BERTH=$BERTH is not executable" >&2; exit 1; }
  elif cargo metadata --no-deps --format-version 1 --manifest-path "$repo/Cargo.toml" | jq -e '.packages[] | select(.name == "berth-cli")' >/dev/null; then
    cargo build --release -q -p berth-cli --manifest-path "$repo/Cargo.toml"
    BERTH="$repo/target/release/berth"
  else
    BERTH=""
    berth_note="not built: the berth-cli package (binary \`berth\`) does not exist yet"
    echo "$bench_me: berth-cli does not exist yet: measuring the peers only" >&2
  fi
}
# start_dockerd DIR SOCK: a private $DOCKERD (data-root, exec-root, pidfile and daemon.log under DIR; -H SOCK; no iptables, no bridge), tracked; waits up to 60 s, succeeds once `$DOCKER -H SOCK version` answers.
start_dockerd() {
  local dir=$1 sock=$2
  mkdir -p "$dir"
  "$DOCKERD" --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
    -H "$sock" --iptables=false --ip6tables=false --bridge=none >"$dir/daemon.log" 2>&1 &
  dockerd_pid=$!; track "$dockerd_pid"
  wait_ready "$dockerd_pid" 600 "$DOCKER" -H "$sock" version
}
# start_berthd_in NS DIR: the release berthd with its defaults (berth0, nftables) in network namespace NS, log level warn (daemon.json, data root, exec root, pidfile, daemon.log and socket berth.sock under DIR), tracked, its socket in SOCKS; sets berthd_pid; succeeds once `$DOCKER -H unix://DIR/berth.sock version` answers.
start_berthd_in() {
  local ns=$1 dir=$2
  mkdir -p "$dir"
  echo '{"log-level":"warn"}' > "$dir/daemon.json"
  nsenter --net="/run/netns/$ns" "$repo/target/release/berthd" -H "unix://$dir/berth.sock" --data-root "$dir/data" --exec-root "$dir/run" \
    --pidfile "$dir/berthd.pid" --config-file "$dir/daemon.json" \
    --shim-binary "$repo/target/release/berth-shim" 2>"$dir/daemon.log" &
  berthd_pid=$!; track "$berthd_pid"; SOCKS+=("unix://$dir/berth.sock")
  wait_ready "$berthd_pid" 200 "$DOCKER" -H "unix://$dir/berth.sock" version
}
# release_and_image: builds berthd, berth-shim and berth (release; BERTH is the CLI) and the bench's busybox image archive ($archive, tagged $tag).
release_and_image() {
  cargo build --release -q -p berthd -p berth-shim-cli -p berth-cli --manifest-path "$repo/Cargo.toml"
  BERTH="$repo/target/release/berth"
  archive="$work/base.tar"; "$here/make-archive.sh" "$archive" 1 1 2>"$work/image.log"
  tag=$(tar -xOf "$archive" manifest.json | jq -r '.[0].RepoTags[0]')
}
# with_image SOCK: loads $archive into the daemon at SOCK and prints the daemon's version.
with_image() {
  "$DOCKER" -H "$1" load -i "$archive" >/dev/null && "$DOCKER" -H "$1" version -f '{{.Server.Version}}'
}
# stop_berthd_in SOCK: removes every container of the berthd at SOCK, then stops it (started by start_berthd_in), so the daemon measured next does not share the machine with its idle load.
stop_berthd_in() {
  local ids; ids=$("$DOCKER" -H "$1" ps -aq 2>/dev/null || true)
  [ -z "$ids" ] || "$DOCKER" -H "$1" rm -f $ids >/dev/null 2>&1 || true
  stop "$berthd_pid"
}
# start_dockerd_in NS DIR SOCK: a private $DOCKERD with its defaults (docker0, iptables, userland proxy) in network namespace NS (data-root, exec-root, pidfile and daemon.log under DIR; -H SOCK), tracked, its socket in SOCKS; succeeds once `$DOCKER -H SOCK version` answers.
start_dockerd_in() {
  local ns=$1 dir=$2 sock=$3
  mkdir -p "$dir"
  nsenter --net="/run/netns/$ns" "$DOCKERD" --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
    -H "$sock" >"$dir/daemon.log" 2>&1 &
  dockerd_pid=$!; track "$dockerd_pid"; SOCKS+=("$sock")
  wait_ready "$dockerd_pid" 600 "$DOCKER" -H "$sock" version
}

# --- the report

# write_section TITLE FILE: print FILE (a "## TITLE…" section), then replace the section whose heading starts with "## TITLE:" in $BENCH_OUT (the colon keeps "Compose" from matching "Compose updates"), or append it (creating the file if needed).
write_section() {
  local key="## ${1%:}:" sec=$2 out=$BENCH_OUT
  cat "$sec"
  mkdir -p "$(dirname "$out")"
  if [ -f "$out" ]; then
    # Replace our section (keeping the blank line before the next one), keep the others.
    awk -v f="$sec" -v k="$key" 'BEGIN{skip=0} index($0, k) == 1 {while((getline l < f)>0) print l; skip=1; next} /^## /{if (skip) print ""; skip=0} !skip' "$out" > "$out.tmp"
    if ! awk -v k="$key" 'index($0, k) == 1 {f=1} END{exit !f}' "$out.tmp"; then
      [ -z "$(tail -c 1 "$out.tmp")" ] || echo >> "$out.tmp"
      { echo; cat "$sec"; } >> "$out.tmp"
    fi
    mv "$out.tmp" "$out"
  else
    { echo "# Benchmarks"; echo; echo "Each section is written by a script in bench/; berth and its peers are measured in the same run."; echo; cat "$sec"; } > "$out"
  fi
}
