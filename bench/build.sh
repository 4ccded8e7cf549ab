#!/usr/bin/env bash
# Image builds (issue 7): the same two-stage Dockerfile (10 instructions, a 20 MiB context of 200
# incompressible files) built by berthd (`DOCKER_BUILDKIT=0 docker build`, the legacy builder's
# `POST /build`), by a private dockerd (Debian's docker.io) with its legacy builder (the same
# docker CLI) and with BuildKit (`DOCKER_BUILDKIT=1` with Debian's docker 20.10 CLI, which has
# BuildKit built in), and by `podman build`, in the same run:
#   1. cold: `build --no-cache` (before each run: the previous result removed, dangling images
#      pruned, and for BuildKit its build cache pruned as well),
#   2. fully cached: the same build again, nothing changed,
#   3. one file changed: app.txt (copied after the 20 MiB directory) gets new content before
#      each run, so the big COPY stays cached and the steps after it run again.
# Each build's result is checked: /sums of the image (through create + cp) must equal
# `busybox sha256sum data/* app.txt` computed on the host for the current context.
# berthd and dockerd run in private network namespaces (`ip netns add`, nsenter --net) with their
# default bridges, as in bench/network.sh; podman runs in a third one. Nothing touches the
# host's interfaces or firewall. The base image is bench/make-archive.sh's busybox image
# (bench/load:latest), `load`ed into each builder: no registry, no network.
# Medians and ratios go to docs/BENCHMARKS.md (section "Builds").
#
# Env: RUNS (10, hyperfine runs per figure), BENCH_OUT=/path to write the section there instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
. "$here/lib.sh"
RUNS=${RUNS:-10}
[ "$(id -u)" = 0 ] || { echo "$bench_me: run as root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
need=(); for p in hyperfine docker.io podman busybox-static jq nftables iproute2 util-linux; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq; apt-get install -y -qq "${need[@]}" >/dev/null; fi
DOCKER=/usr/local/bin/docker; [ -x "$DOCKER" ] || DOCKER=$(command -v docker)
DOCKER20=/usr/bin/docker   # docker.io's CLI (20.10): BuildKit built in, no buildx plugin needed
DOCKERD=$(command -v dockerd || true)
PODMAN=$(command -v podman || true)
cli20_version() { "$DOCKER20" --version 2>/dev/null | sed -n 's/^Docker version \([^,]*\).*/\1/p' || echo '?'; }
# podman's default nofile limit (1048576) must fit under the hard limit its runtime inherits;
# raised here for every builder alike (as bench/lifecycle.sh does).
ulimit -Hn 1048576 2>/dev/null || true; ulimit -Sn 1048576 2>/dev/null || true
t_start=$(date +%s); load_start=$(cut -d" " -f1-3 /proc/loadavg)

make_work /var/tmp/berth-build-bench
ns_b=berth-bench-$$-b; ns_d=berth-bench-$$-d; ns_p=berth-bench-$$-p
trap ns_cleanup EXIT
ns_add "$ns_b" "$ns_d" "$ns_p"

cargo build --release -q -p berthd -p berth-shim-cli -p berth-cli --manifest-path "$repo/Cargo.toml"
archive="$work/base.tar"; "$here/make-archive.sh" "$archive" 1 1 2>"$work/image.log"
base=$(tar -xOf "$archive" manifest.json | jq -r '.[0].RepoTags[0]')
tag=bench/build:latest

# --- the context: Dockerfile, data/ (200 × 100 KiB from /dev/urandom, generated once per run and
# shared by every builder), app.txt (the file the "one file changed" runs rewrite).
ctx="$work/ctx"; mkdir -p "$ctx/data"
head -c $((200 * 102400)) /dev/urandom | split -b 102400 -a 3 -d --additional-suffix=.bin - "$ctx/data/f"
app0='app.txt, change 000000'
printf '%s\n' "$app0" > "$ctx/app.txt"
cat > "$ctx/Dockerfile" <<EOF
FROM $base AS build
ARG GREETING=hello
ENV APP_ENV=bench
WORKDIR /work
COPY data/ ./data/
COPY app.txt ./
RUN busybox sha256sum data/* app.txt > sums
FROM $base
COPY --from=build /work/sums /sums
LABEL org.example.bench=build
CMD ["cat", "/sums"]
EOF
ctx_bytes=$(du -sb "$ctx" | cut -f1); ctx_files=$(find "$ctx" -type f | wc -l)
echo 0 > "$work/counter"
# The one-file change: a new content for app.txt before each run (a global counter: never seen before by any builder).
change=$(prep_script change "n=\$((\$(cat $work/counter) + 1)); echo \$n > $work/counter; printf 'app.txt, change %06d\\n' \$n > $ctx/app.txt")

declare -A MED VER NOTE HITS OK ISO
# expected: the sums the build must produce for the current context.
expected() { (cd "$ctx" && LC_ALL=C busybox sh -c 'busybox sha256sum data/* app.txt'); }
# verify NAME CLI: the built image's /sums (create + cp, nothing runs) against expected; OK[NAME] lists the checks that passed or why one failed.
verify() {
  local name=$1 cli=$2 id got what=$3
  if ! id=$($cli create "$tag" 2>&1); then OK[$name]+="${OK[$name]:+; }$what: create fails: $(oneline <<<"$id")"; return 0; fi
  id=$(tail -1 <<<"$id")
  got=$($cli cp "$id:/sums" - 2>&1 | tar -xO 2>/dev/null || true)
  $cli rm -f "$id" >/dev/null 2>&1 || true
  if [ "$got" = "$(expected)" ]; then OK[$name]+="${OK[$name]:+, }$what ok"
  else OK[$name]+="${OK[$name]:+; }$what: /sums differs from the context's ($(oneline <<<"$got" | head -c 120))"; fi
}
# hits OUT: the steps a build's output reports as taken from the cache.
hits() { grep -ciE 'using cache|CACHED' "$1" || true; }

# measure NAME CLI BUILD COLD_PREP: the three figures for one builder. CLI is its command line
# (docker -H SOCK, podman …), BUILD the build command without -t/--no-cache/context, COLD_PREP
# extra cleanup before each cold run. MED[NAME-cold|cached|changed]; HITS[NAME] = cache hits
# reported by a cached and a changed build; OK[NAME] = the checks of the result.
measure() {
  local name=$1 cli=$2 build=$3 coldprep=$4 out
  printf '%s\n' "$app0" > "$ctx/app.txt"
  # 1. cold, once with its output (a failure is recorded with its message), then timed.
  if ! $build --no-cache -t "$tag" "$ctx" >"$work/$name-cold.out" 2>&1; then
    MED[$name-cold]="fails: \`$build --no-cache -t $tag CTX\`: $(grep -v '^\s*$' "$work/$name-cold.out" | tail -3 | oneline)"; return 0
  fi
  verify "$name" "$cli" cold
  bench "$name-cold" "$build --no-cache -t $tag $ctx" \
    "$(prep_script "$name-cold" "$cli rmi -f $tag >/dev/null 2>&1 || true; $cli image prune -f >/dev/null; $coldprep")"
  # 2. fully cached: a build fills the cache (the cold runs may not have), then the timed rebuilds.
  $build -t "$tag" "$ctx" >/dev/null 2>&1 || true
  if ! $build -t "$tag" "$ctx" >"$work/$name-cached.out" 2>&1; then
    MED[$name-cached]="fails: $(grep -v '^\s*$' "$work/$name-cached.out" | tail -3 | oneline)"
  else
    bench "$name-cached" "$build -t $tag $ctx" true
    verify "$name" "$cli" cached
  fi
  # 3. app.txt changed before each run.
  "$change" >/dev/null
  if ! $build -t "$tag" "$ctx" >"$work/$name-changed.out" 2>&1; then
    MED[$name-changed]="fails: $(grep -v '^\s*$' "$work/$name-changed.out" | tail -3 | oneline)"
  else
    verify "$name" "$cli" changed
    bench "$name-changed" "$build -t $tag $ctx" "$change"
    verify "$name" "$cli" "changed ×$RUNS"
  fi
  HITS[$name]="$(hits "$work/$name-cached.out") / $(hits "$work/$name-changed.out")"
  printf '%s\n' "$app0" > "$ctx/app.txt"
}

# --- berthd: release build, its defaults (berth0, nftables), a private data root, exec root and socket.
bd="$work/berthd"; cli="$DOCKER -H unix://$bd/berth.sock"
if start_berthd_in "$ns_b" "$bd"; then
  VER[berth]=$($cli version -f '{{.Server.Version}}')
  $cli load -i "$archive" >/dev/null
  # berth's own CLI (manifest contexts; its digest cache under the bench directory). A cold
  # run starts without build cache, content store or client digest cache, as BuildKit's
  # cold runs start after `builder prune -af`.
  bcli="env XDG_CACHE_HOME=$work/berth-cache $repo/target/release/berth -H unix://$bd/berth.sock"
  measure berth "$cli" "$bcli build" "$bcli builder prune -f >/dev/null; rm -rf $work/berth-cache"
  berth_store=$(du -sb "$bd/data" | cut -f1)
  # The same daemon through the docker CLI: the legacy API's plain tar on every build.
  $bcli builder prune -f >/dev/null
  measure berthdocker "$cli" "env DOCKER_BUILDKIT=0 $cli build" ""
else
  MED[berth-cold]="fails: berthd did not start: $(tail -c 160 "$bd/daemon.log" | oneline)"
fi
# The docker CLI's floor: the same build sent to a server that only reads the context and
# answers at once (bench/drain-build.py), i.e. what the plain-tar API costs before any builder.
python3 "$here/drain-build.py" "$work/drain.sock" & drain_pid=$!; track "$drain_pid"
if wait_ready "$drain_pid" 100 test -S "$work/drain.sock"; then
  bench floor "env DOCKER_BUILDKIT=0 $DOCKER -H unix://$work/drain.sock build -t $tag $ctx" true
fi
stop "$drain_pid"
ids=$($cli ps -aq 2>/dev/null || true); [ -z "$ids" ] || $cli rm -f $ids >/dev/null 2>&1 || true
stop "$berthd_pid"

# --- docker: a private dockerd with its defaults (docker0, iptables), own data-root, exec-root and socket;
# its legacy builder (CLI 28, DOCKER_BUILDKIT=0), then BuildKit (CLI 20.10, DOCKER_BUILDKIT=1).
if [ -n "$DOCKERD" ]; then
  dd_dir="$work/dockerd"; sock="unix://$dd_dir/docker.sock"; cli="$DOCKER -H $sock"
  if start_dockerd_in "$ns_d" "$dd_dir" "$sock"; then
    VER[legacy]=$($cli version -f '{{.Server.Version}}')
    $cli load -i "$archive" >/dev/null
    measure legacy "$cli" "env DOCKER_BUILDKIT=0 $cli build" ""
    # BuildKit starts from no build cache and without the legacy builder's result.
    $cli rmi -f "$tag" >/dev/null 2>&1 || true; $cli image prune -f >/dev/null 2>&1 || true
    if [ -x "$DOCKER20" ]; then
      VER[buildkit]="${VER[legacy]}, CLI $(cli20_version)"
      measure buildkit "$cli" "env DOCKER_BUILDKIT=1 $DOCKER20 -H $sock build --progress=plain" "$DOCKER20 -H $sock builder prune -af >/dev/null"
    else
      MED[buildkit-cold]="not measured: $DOCKER20 (docker.io's CLI) is missing"
    fi
  else
    MED[legacy-cold]="fails: dockerd did not start: $(tail -c 160 "$dd_dir/daemon.log" | oneline)"
    MED[buildkit-cold]=${MED[legacy-cold]}
  fi
  ids=$($cli ps -aq 2>/dev/null || true); [ -z "$ids" ] || $cli rm -f $ids >/dev/null 2>&1 || true
  stop "$dockerd_pid"
else
  MED[legacy-cold]="not installed"; MED[buildkit-cold]="not installed"
fi

# --- podman: daemonless; a private root and runroot, in its own network namespace. Its default
# isolation (an OCI runtime for RUN) first; if that build fails, --isolation chroot (no runtime).
if [ -n "$PODMAN" ]; then
  VER[podman]=$($PODMAN --version | awk '{print $NF}')
  cli="nsenter --net=/run/netns/$ns_p $PODMAN --root $work/podman/root --runroot $work/podman/run --storage-driver overlay --cgroup-manager cgroupfs --events-backend file"
  $cli load -i "$archive" >/dev/null 2>"$work/podman-load.err" || MED[podman-cold]="fails: podman load: $(oneline <"$work/podman-load.err")"
  if [ -z "${MED[podman-cold]:-}" ]; then
    measure podman "$cli" "$cli build" ""
    ISO[podman]="default (OCI runtime)"
    if [[ ${MED[podman-cold]} == fails* ]]; then
      cp "$work/podman-cold.out" "$work/podman-default-cold.out"
      NOTE[podman]="with its default isolation (RUN through its OCI runtime), \`podman build --no-cache\` fails: $(grep -v '^\s*$' "$work/podman-default-cold.out" | tail -3 | oneline); measured with \`--isolation chroot\` (RUN in a chroot, no OCI runtime) instead"
      unset 'MED[podman-cold]'; OK[podman]=""
      measure podman "$cli" "$cli build --isolation chroot" ""
      ISO[podman]="--isolation chroot"
    fi
  fi
  $cli rm -af >/dev/null 2>&1 || true
  sh -c "$(wipe "$work/podman")"
else
  MED[podman-cold]="not installed"
fi
t_total=$(( $(date +%s) - t_start )); load_end=$(cut -d" " -f1-3 /proc/loadavg)
for k in $(printf '%s\n' "${!MED[@]}" | sort); do echo "$bench_me: $k = ${MED[$k]}" >&2; done
for k in "${!OK[@]}"; do echo "$bench_me: $k checks: ${OK[$k]}" >&2; done

# --- the report
# t V: seconds V as ms below 1 s, else s.
t() { if num "${1:-}"; then awk -v s="$1" 'BEGIN{if (s < 1) printf "%.1f ms", s*1000; else printf "%.2f s", s}'; else echo "${1:-–}"; fi; }
# verdict V LIMIT: "met" when V ≤ LIMIT (both numbers), "not met" when above, else "–".
verdict() { if num "${1:-}" && num "${2:-}"; then awk -v v="$1" -v l="$2" 'BEGIN{print (v <= l ? "met" : "not met")}'; else echo "–"; fi; }
half() { if num "${1:-}"; then awk -v v="$1" 'BEGIN{print v/2}'; else echo "–"; fi; }
label() { case $1 in berth) echo "berth${VER[berth]:+ ${VER[berth]}} (\`berth build\`, manifest context)";; berthdocker) echo "berth${VER[berth]:+ ${VER[berth]}} via the docker CLI (plain tar)";; legacy) echo "docker${VER[legacy]:+ ${VER[legacy]}}, legacy builder";;
  buildkit) echo "docker${VER[buildkit]:+ ${VER[buildkit]}}, BuildKit";; podman) echo "podman${VER[podman]:+ ${VER[podman]}}${ISO[podman]:+ (${ISO[podman]})}";; esac; }
bk_cold=${MED[buildkit-cold]:-}; bk_changed=${MED[buildkit-changed]:-}
{
  echo "## Builds: a two-stage Dockerfile, cold, fully cached, one file changed"
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}')), kernel $(uname -r). berthd ${VER[berth]:-?} is driven by berth's own CLI (\`berth build\`: a manifest context, only the contents berthd lacks are sent, unchanged files' digests remembered by the client) and, as a second row, by the docker CLI; berthd and dockerd ${VER[legacy]:-?} (Debian's docker.io) are driven by the docker CLI $("$DOCKER" version -f '{{.Client.Version}}' 2>/dev/null) with \`DOCKER_BUILDKIT=0\` (the legacy builder's \`POST /build\`); BuildKit by Debian's docker CLI $(cli20_version) (\`/usr/bin/docker\`, BuildKit built in) with \`DOCKER_BUILDKIT=1\` against the same dockerd; podman ${VER[podman]:-?} is its own CLI. $(hyperfine --version), $RUNS runs per figure after 1 warm-up, median. Script run time: ${t_total} s; load average (1, 5, 15 min) ${load_start} at the start, ${load_end} at the end (on $(nproc) cores)."
  echo
  echo "| builder | cold (\`--no-cache\`) | vs berth | fully cached | vs berth | app.txt changed | vs berth | steps from cache (cached / changed build) |"
  echo "|---|---|---|---|---|---|---|---|"
  for n in berth berthdocker legacy buildkit podman; do
    c=${MED[$n-cold]:-–}; f=${MED[$n-cached]:-–}; g=${MED[$n-changed]:-–}
    echo "| $(label $n) | $(t "$c") | $(ratio "$c" "${MED[berth-cold]:-}") | $(t "$f") | $(ratio "$f" "${MED[berth-cached]:-}") | $(t "$g") | $(ratio "$g" "${MED[berth-changed]:-}") | ${HITS[$n]:-–} |"
  done
  echo
  echo "Issue 7's targets for berth, from this run: fully cached ≤ 50 ms: $(t "${MED[berth-cached]:-}") — **$(verdict "${MED[berth-cached]:-}" 0.050)**; cold ≤ 0.5× BuildKit ($(t "$(half "$bk_cold")")): $(t "${MED[berth-cold]:-}") — **$(verdict "${MED[berth-cold]:-}" "$(half "$bk_cold")")**; one file changed ≤ 0.5× BuildKit ($(t "$(half "$bk_changed")")): $(t "${MED[berth-changed]:-}") — **$(verdict "${MED[berth-changed]:-}" "$(half "$bk_changed")")**. (The issue measured BuildKit at 1.13 s / 99 ms / 296 ms, the legacy builder at 2.24 s / 150 ms / 938 ms, podman at 3.2 s / 842 ms / 1.5 s on its machine.)"
  echo
  echo "- Context: $(mib "$ctx_bytes") MiB in $ctx_files files: \`Dockerfile\`, \`data/\` (200 files of 100 KiB from /dev/urandom, generated once per run, the same for every builder), \`app.txt\` (one line). Base image: bench/make-archive.sh's busybox image (\`$base\`, busybox + 1 MiB), \`load\`ed into each builder; no registry, no network access."
  echo "- Cold: \`build --no-cache\`; before each run (untimed) the previous result is removed (\`rmi -f $tag\`), dangling images pruned (\`image prune -f\`) and, for BuildKit, its build cache too (\`builder prune -af\`: BuildKit would otherwise keep the transferred context, which the legacy builders receive in full on every build). Every cold build therefore includes the image-store writes (the 20 MiB COPY layer, the RUN and COPY layers, the configs) for all builders. Fully cached: the same build again after one that filled the cache. App.txt changed: before each run (untimed) app.txt gets a content no build has seen (\`app.txt, change N\`), so \`COPY data/\` stays cached and \`COPY app.txt\`, \`RUN\` and the second stage's \`COPY --from\` run again."
  echo "- \"Steps from cache\" counts the \"Using cache\" / \"CACHED\" lines of one fully cached and one app.txt-changed build (each builder reports them its own way: the legacy builders and podman one line per cached instruction, BuildKit only for the instructions that make a filesystem snapshot: WORKDIR, COPY, RUN; compare within a row). Every build's result was checked: \`/sums\` of the image (\`create\` + \`cp\`, nothing run) equals \`busybox sha256sum data/* app.txt\` of the context on the host: $(for n in berth berthdocker legacy buildkit podman; do printf '%s: %s. ' "$n" "${OK[$n]:-–}"; done)"
  [ -z "${NOTE[podman]:-}" ] || echo "- podman ${NOTE[podman]}"
  echo "- Isolation: berthd and dockerd run in their own network namespaces (\`ip netns add\`, started with \`nsenter --net=/run/netns/NS\`) with their default bridges (the RUN step's container gets the default network), private data-root, exec-root and socket under the bench directory; podman (\`--root/--runroot\` under the bench directory, overlay, cgroupfs) runs in a third namespace. The builders are measured one after the other (berthd stopped before dockerd starts, dockerd stopped before podman)."
  echo "- \"vs berth\" is the builder's median over berth's (above 1: slower than berth)."
  echo "- The docker CLI's floor: \`DOCKER_BUILDKIT=0 docker build\` of this context against a server that only reads the body and answers at once (bench/drain-build.py) takes $(t "${MED[floor]:-}") (median): the plain-tar API alone exceeds 50 ms, which is why berth's own CLI sends a manifest context (only the contents berthd lacks)."
  echo
  echo "The Dockerfile and the commands (CLI = \`docker -H unix://SOCK\` for berthd or dockerd, \`nsenter --net=/run/netns/NS podman --root … --runroot …\` for podman; CTX = the context directory):"
  echo
  echo '```'
  cat "$ctx/Dockerfile"
  echo '```'
  echo
  echo '```'
  echo "berth -H unix://SOCK build [--no-cache] -t $tag CTX        # berth's own CLI"
  echo "berth -H unix://SOCK builder prune -f; rm -rf CACHE          # before each of its cold runs"
  echo "env DOCKER_BUILDKIT=0 CLI build --no-cache -t $tag CTX      # cold, berth and docker's legacy builder (CLI 28)"
  echo "env DOCKER_BUILDKIT=0 CLI build -t $tag CTX                 # fully cached / app.txt changed"
  echo "env DOCKER_BUILDKIT=1 /usr/bin/docker -H unix://SOCK build --progress=plain [--no-cache] -t $tag CTX   # BuildKit (CLI 20.10)"
  echo "CLI build ${ISO[podman]:+$( [ "${ISO[podman]}" = "--isolation chroot" ] && echo "--isolation chroot ")}[--no-cache] -t $tag CTX   # podman"
  echo "CLI rmi -f $tag; CLI image prune -f [; CLI builder prune -af]   # before each cold run"
  echo "printf 'app.txt, change %06d\\n' N > CTX/app.txt                # before each app.txt-changed run"
  echo '```'
} > "$work/section.md"
write_section "Builds" "$work/section.md"
