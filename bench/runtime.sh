#!/usr/bin/env bash
# create+start+wait+delete of a busybox bundle running `true`: berth-runtime vs runc, crun and
# youki in the same run. Medians and ratios go to docs/BENCHMARKS.md (section "runtime").
#
# Peers: runc and crun from Debian; youki from crates.io (`cargo install youki`, v1+v2+seccomp)
# into /opt/youki unless YOUKI=/path is given. A peer that fails on this host is reported as such.
# BENCH_OUT=/path writes the section there instead of docs/BENCHMARKS.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
. "$here/lib.sh"
RUNS=${RUNS:-50}
[ "$(id -u)" = 0 ] || { echo "bench/runtime.sh: run as root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
need=(); for p in runc crun hyperfine busybox-static libseccomp-dev pkg-config jq; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq; apt-get install -y -qq "${need[@]}" >/dev/null; fi
YOUKI=${YOUKI:-/opt/youki/bin/youki}
if [ ! -x "$YOUKI" ] && [ -z "${NO_YOUKI:-}" ]; then
  echo "building youki (once)…" >&2
  CARGO_TARGET_DIR=/tmp/youki-target cargo install youki --no-default-features --features v1,v2,seccomp --root /opt/youki >/dev/null 2>&1 || true
fi
cargo build --release -q -p berth-runtime-cli --bins --manifest-path "$repo/Cargo.toml"
cargo build --release -q -p berth-runtime --examples --manifest-path "$repo/Cargo.toml"
BERTH="$repo/target/release/berth-runtime"
INPROC="$repo/target/release/examples/inproc_bench"
SPLIT="$repo/target/release/examples/split_bench"

make_work /tmp/berth-bench
mkdir -p "$work/bundle/rootfs/bin" "$work/bundle/rootfs/proc" "$work/bundle/rootfs/sys" "$work/bundle/rootfs/dev"
cp /bin/busybox "$work/bundle/rootfs/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$work/bundle/rootfs/bin/$a"; done
# runc's own default spec (`runc spec`), running `true`, terminal off.
(cd "$work" && runc spec && jq '.process.terminal=false | .process.args=["true"] | .hostname="bench" | .root.path="rootfs"' config.json > bundle/config.json && rm config.json)

declare -A MED
NOTES=()
run_peer() { # name binary
  local name=$1 bin=$2 root="$work/root-$1"
  mkdir -p "$root"
  if ! "$bin" --root "$root" run --bundle "$work/bundle" probe-$name >/dev/null 2>"$work/$name.err"; then
    MED[$name-run]="fails: $(head -c 160 "$work/$name.err" | tr '\n' ' ')"; MED[$name-split]=${MED[$name-run]}; return
  fi
  hyperfine -N -i --warmup 3 --runs "$RUNS" --export-json "$work/$name-run.json" \
    "$bin --root $root run --bundle $work/bundle c-$name" >/dev/null
  MED[$name-run]=$(hf_median "$work/$name-run.json" 1000)
  rfails=$(jq '[.results[0].exit_codes[] | select(. != 0)] | length' "$work/$name-run.json")
  [ "$rfails" = 0 ] || NOTES+=("$name: $rfails of $RUNS \`run\` invocations exited non-zero (timed all the same).")
  "$SPLIT" "$bin" "$work/bundle" "$RUNS" > "$work/$name-split.txt"
  MED[$name-split]=$(median < "$work/$name-split.txt")
  fails=$(grep -c FAIL "$work/$name-split.txt" || true)
  [ "$fails" = 0 ] || NOTES+=("$name: $fails of $RUNS split runs failed ($(grep FAIL "$work/$name-split.txt" | sort | uniq -c | tr -s ' ' | paste -sd, -)); the median is over the others.")
}

run_peer berth-runtime "$BERTH"
run_peer runc "$(command -v runc)"
run_peer crun "$(command -v crun)"
if [ -x "$YOUKI" ]; then run_peer youki "$YOUKI"; else MED[youki-run]="not built"; MED[youki-split]="not built"; fi
inproc_med=$("$INPROC" "$work/bundle" "$RUNS" | median)

runc_run=${MED[runc-run]}; runc_split=${MED[runc-split]}
{
  echo "## runtime: create + start + wait + delete of a busybox bundle (\`true\`)"
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores, kernel $(uname -r), cgroups: $(stat -fc %T /sys/fs/cgroup)$( [ -d /sys/fs/cgroup/unified ] && echo ' + cgroup2 at unified/ (hybrid)'). $RUNS runs each (hyperfine, 3 warm-up), median."
  echo "Bundle: \`runc spec\` output (pid, net, ipc, uts, mount namespaces; masked/read-only paths; 3 capabilities; no_new_privileges) running \`true\`."
  echo
  echo "| runtime | \`run\` median | vs runc | split create/start/wait/delete median | vs runc |"
  echo "|---|---|---|---|---|"
  for n in berth-runtime runc crun youki; do
    echo "| $n $( [ $n = runc ] && runc --version | head -1 | awk '{print $3}')$( [ $n = crun ] && crun --version | head -1 | awk '{print $3}') | $(fmt_ms "${MED[$n-run]}") | $(ratio "${MED[$n-run]}" "$runc_run") | $(fmt_ms "${MED[$n-split]}") | $(ratio "${MED[$n-split]}" "$runc_split") |"
  done
  echo "| berth-runtime library in-process (run+wait+delete, no runtime exec) | $(fmt_ms "$inproc_med") | $(ratio "$inproc_med" "$runc_run") | – | – |"
  echo
  for n in "${NOTES[@]}"; do echo "- $n"; done
  [ ${#NOTES[@]} = 0 ] || echo
  echo "The split form is driven as containerd's shim drives a runtime: \`create\`, \`start\`, reap the init as a child subreaper, \`delete\` (crates/runtime/examples/split_bench.rs). The in-process row calls the berth-runtime library directly (crates/runtime/examples/inproc_bench.rs): what berth's own shim will do."
} > "$work/section.md"
write_section "runtime:" "$work/section.md"
