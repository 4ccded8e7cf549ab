#!/usr/bin/env bash
# Cold pull of a ≈ SIZE_MB MiB image (bench/make-archive.sh: busybox + LAYERS layers of random
# data) from a registry on the loopback (Debian's docker-registry, started here on a free port,
# storage in the bench directory): `berth pull` vs `docker pull` (a private dockerd started here)
# vs `podman pull --tls-verify=false` (a private root) vs `skopeo copy` to a dir:, in the same
# run, each into an empty store every time. The image is pushed with `skopeo copy`, which gzips
# the layers as registries serve them. Medians, ratios and MB/s (of the compressed image) go to
# docs/BENCHMARKS.md (section "Image pull").
#
# Env: RUNS (5), SIZE_MB (200), LAYERS (4), ARCHIVE=/path to push a ready-made docker-archive,
# BERTH=/path to time that berth binary instead of building berth-cli, BENCH_OUT=/path to write the
# section there instead of docs/BENCHMARKS.md.
# A peer that fails on this host is reported as such; berth is reported as "not built" while the
# berth-cli package does not exist.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
. "$here/lib.sh"
RUNS=${RUNS:-5}; SIZE_MB=${SIZE_MB:-200}; LAYERS=${LAYERS:-4}
[ "$(id -u)" = 0 ] || { echo "bench/pull.sh: run as root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
need=(); for p in hyperfine busybox-static jq curl podman skopeo docker-registry; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  # docker-registry must not start as a system service: deny service starts for the install.
  made_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1
  fi
  rc=0
  { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; } || rc=$?
  [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || { echo "bench/pull.sh: installing ${need[*]} failed" >&2; exit 1; }
fi
DOCKER=/usr/local/bin/docker; [ -x "$DOCKER" ] || DOCKER=$(command -v docker || true)
DOCKERD=$(command -v dockerd || true)
PODMAN=$(command -v podman || true)
SKOPEO=$(command -v skopeo)
REGISTRY=$(command -v docker-registry)

make_work /var/tmp/berth-pull-bench

# berth: built in release when the berth-cli package exists.
build_berth

# --- the registry: Debian's docker-registry on a free loopback port, storage under $work.
port=""
for _ in $(seq 100); do
  p=$(( 20000 + RANDOM % 30000 ))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "bench/pull.sh: no free port found" >&2; exit 1; }
mkdir -p "$work/registry/data"
cat > "$work/registry/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry/data
http:
  addr: 127.0.0.1:$port
EOF
"$REGISTRY" serve "$work/registry/config.yml" >"$work/registry/registry.log" 2>&1 &
registry_pid=$!; track "$registry_pid"
wait_ready "$registry_pid" 300 curl -sf "http://127.0.0.1:$port/v2/" || {
  echo "bench/pull.sh: docker-registry did not start: $(tail -c 400 "$work/registry/registry.log")" >&2; exit 1; }
reg_ver=$("$REGISTRY" --version 2>/dev/null | awk '{print $NF}')

# --- the image: made once, pushed with skopeo (which gzips the layers).
if [ -n "${ARCHIVE:-}" ]; then archive=$ARCHIVE
else archive="$work/archive.tar"; "$here/make-archive.sh" "$archive" "$SIZE_MB" "$LAYERS"; fi
ref="127.0.0.1:$port/bench/pull:latest"
"$SKOPEO" copy -q --dest-tls-verify=false "docker-archive:$archive" "docker://$ref"
amib=$(mib "$(stat -c %s "$archive")")
rm -f "$work/archive.tar"
manifest=$("$SKOPEO" inspect --raw --tls-verify=false "docker://$ref")
layers=$(jq '.layers | length' <<<"$manifest")
mtype=$(jq -r '.mediaType // "application/vnd.oci.image.manifest.v1+json"' <<<"$manifest")
# What a pull transfers: the manifest, the config and the compressed layers.
bytes=$(( $(jq '([.layers[].size] | add) + .config.size' <<<"$manifest") + ${#manifest} ))
mib=$(mib "$bytes")

declare -A MED VER SIZE
NOTES=()
NOTES+=("berth does not wait for unpacked layers to reach the disk (docker's overlay2 does not fsync applied layers either); it verifies layers written in an earlier boot on its first open after a reboot (tar-split rebuild against the diff id) instead.")

# --- berth: a fresh data root per run.
if [ -n "$BERTH" ]; then
  if ! out=$("$BERTH" --data-root "$work/berth-probe" pull -q "$ref" 2>&1); then
    MED[berth]="fails: $(oneline <<<"$out")"
    echo "bench/pull.sh: berth pull failed:" >&2; printf '%s\n' "$out" >&2
  elif ! "$BERTH" --data-root "$work/berth-probe" images 2>&1 | grep -q "bench/pull"; then
    MED[berth]="fails: \`berth images\` does not list bench/pull after the pull"
  else
    bench berth "$BERTH --data-root $work/berth pull -q $ref" "$(prep_script berth "$(wipe "$work/berth")")"
  fi
  VER[berth]=$("$BERTH" --version 2>/dev/null | head -1 | awk '{print $NF}' || true)
  SIZE[berth]=$(du -sm "$work/berth-probe" 2>/dev/null | cut -f1 || true)
  rm -rf "$work/berth-probe"
else
  MED[berth]=$berth_note
fi

# --- docker: a private dockerd (own data-root, exec-root, socket; no bridge, no iptables).
# 127.0.0.0/8 is an insecure registry for dockerd by default.
if [ -n "$DOCKERD" ] && [ -n "$DOCKER" ]; then
  dd_dir="$work/dockerd"
  sock="unix://$work/docker.sock"
  if ! start_dockerd "$dd_dir" "$sock"; then
    MED[docker]="fails: dockerd did not start: $(tail -c 160 "$dd_dir/daemon.log" | tr '\n' ' ')"
  elif ! out=$("$DOCKER" -H "$sock" pull -q "$ref" 2>&1); then
    MED[docker]="fails: $(oneline <<<"$out")"
  elif ! "$DOCKER" -H "$sock" images 2>&1 | grep -q "bench/pull"; then
    MED[docker]="fails: \`docker images\` does not list bench/pull after the pull"
  else
    VER[docker]="$("$DOCKER" -H "$sock" version -f '{{.Server.Version}}') ($("$DOCKER" -H "$sock" info -f '{{.Driver}}'))"
    SIZE[docker]=$(du -sm "$dd_dir/data" 2>/dev/null | cut -f1 || true)
    bench docker "$DOCKER -H $sock pull -q $ref" \
      "$(prep_script docker "$DOCKER -H $sock rmi -f $ref >/dev/null 2>&1 || true
$DOCKER -H $sock image prune -af >/dev/null")"
  fi
else
  MED[docker]="not installed"
fi

# --- podman: a private root and runroot, overlay storage, a fresh root every run.
if [ -n "$PODMAN" ]; then
  pm="$PODMAN --root $work/podman/root --runroot $work/podman/run --storage-driver overlay --cgroup-manager cgroupfs --events-backend file"
  if ! out=$($pm pull -q --tls-verify=false "$ref" 2>&1); then
    MED[podman]="fails: $(oneline <<<"$out")"
  elif ! $pm images 2>&1 | grep -q "bench/pull"; then
    MED[podman]="fails: \`podman images\` does not list bench/pull after the pull"
  else
    VER[podman]=$($PODMAN --version | awk '{print $NF}')
    SIZE[podman]=$(du -sm "$work/podman/root" 2>/dev/null | cut -f1 || true)
    bench podman "$pm pull -q --tls-verify=false $ref" "$(prep_script podman "$(wipe "$work/podman")")"
  fi
  sh -c "$(wipe "$work/podman")"
else
  MED[podman]="not installed"
fi

# --- skopeo: download only (blobs written to a dir:, nothing decompressed or unpacked).
if ! out=$("$SKOPEO" copy -q --src-tls-verify=false "docker://$ref" "dir:$work/skopeo-dir" 2>&1); then
  MED[skopeo]="fails: $(oneline <<<"$out")"
elif [ ! -f "$work/skopeo-dir/manifest.json" ]; then
  MED[skopeo]="fails: no manifest.json in the dir: after the copy"
else
  VER[skopeo]=$("$SKOPEO" --version | awk '{print $NF}')
  SIZE[skopeo]=$(du -sm "$work/skopeo-dir" 2>/dev/null | cut -f1 || true)
  bench skopeo "$SKOPEO copy -q --src-tls-verify=false docker://$ref dir:$work/skopeo-dir" \
    "$(prep_script skopeo "rm -rf '$work/skopeo-dir'")"
fi
rm -rf "$work/skopeo-dir"

sizes=""; for n in berth docker podman skopeo; do [ -z "${SIZE[$n]:-}" ] || sizes+="${sizes:+, }$n ${SIZE[$n]} MiB"; done
[ -z "$sizes" ] || NOTES+=("On disk after the trial pull (\`du -sm\` of the store, a sanity check that the layers were written): $sizes.")
{
  echo "## Image pull: cold pull of a ${mib} MiB image from a loopback registry"
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores, kernel $(uname -r), $(df -T "$work" | awk 'NR==2{print $2}') under $(dirname "$work"). $RUNS runs each (hyperfine, 1 warm-up), median; before every run the local store is emptied and \`sync\`ed, so each pull starts with nothing local."
  echo "Registry: Debian's docker-registry $reg_ver (distribution), filesystem storage under the bench directory, listening on 127.0.0.1 over plain HTTP: all traffic is on the loopback, no network in the way (the registry's blobs are in the page cache for all)."
  echo "Image: bench/make-archive.sh (${amib} MiB docker-archive: busybox, then random, incompressible 4 MiB files), pushed with \`skopeo copy\`, which gzips the layers as registries serve them: $layers gzip layers, ${mib} MiB transferred (manifest $mtype, config, layers); MB/s is of that."
  echo
  echo "| puller | median | vs berth | throughput |"
  echo "|---|---|---|---|"
  for n in berth docker podman; do
    echo "| $n${VER[$n]:+ ${VER[$n]}} | $(fmt "${MED[$n]}") | $(ratio "${MED[$n]}" "${MED[berth]}") | $(mbs "${MED[$n]}" "$bytes") |"
  done
  echo "| skopeo ${VER[skopeo]:-} \`copy\` to \`dir:\` (download only) | $(fmt "${MED[skopeo]}") | $(ratio "${MED[skopeo]}" "${MED[berth]}") | $(mbs "${MED[skopeo]}" "$bytes") |"
  echo
  for n in "${NOTES[@]}"; do echo "- $n"; done
  [ ${#NOTES[@]} = 0 ] || echo
  echo "berth: \`berth --data-root DIR pull -q\`, a fresh DIR per run (127.0.0.0/8 is an insecure registry by default). docker: \`docker pull -q\` against a private dockerd (own data-root, exec-root and socket; no bridge, no iptables; loopback registries are insecure by default), the image removed (\`rmi -f\`, \`image prune -af\`) before each run. podman: \`podman pull -q --tls-verify=false\`, \`--root/--runroot\` under the bench directory, overlay storage, a fresh root per run. berth, docker and podman download, decompress, unpack and register the layers; skopeo only downloads the compressed blobs into a directory (removed before each run), nothing is decompressed or unpacked (a download-only reference, not a like-for-like peer). \"vs berth\" is the puller's time over berth's (above 1: slower than berth)."
} > "$work/section.md"
write_section "Image pull" "$work/section.md"
