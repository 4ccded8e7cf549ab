#!/usr/bin/env bash
# Cold `load` of a docker-archive (bench/make-archive.sh: busybox + LAYERS layers of random data,
# ≈ SIZE_MB MiB): `berth load -i` vs `docker load -i` (a private dockerd started here) and
# `podman load -i` (a private root), in the same run, each into an empty store every time; the
# floor is `dd … conv=fsync` of the same archive. Medians, ratios and MB/s go to
# docs/BENCHMARKS.md (section "Image load").
#
# Env: RUNS (10), SIZE_MB (200), LAYERS (4), ARCHIVE=/path to use a ready-made archive,
# BERTH=/path to time that berth binary instead of building berth-cli, BENCH_OUT=/path to write the
# section there instead of docs/BENCHMARKS.md.
# A peer that fails on this host is reported as such; berth is reported as "not built" while the
# berth-cli package does not exist.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
. "$here/lib.sh"
RUNS=${RUNS:-10}; SIZE_MB=${SIZE_MB:-200}; LAYERS=${LAYERS:-4}
[ "$(id -u)" = 0 ] || { echo "bench/image-load.sh: run as root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
need=(); for p in hyperfine busybox-static jq podman; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq; apt-get install -y -qq "${need[@]}" >/dev/null; fi
DOCKER=/usr/local/bin/docker; [ -x "$DOCKER" ] || DOCKER=$(command -v docker || true)
DOCKERD=$(command -v dockerd || true)
PODMAN=$(command -v podman || true)

make_work /var/tmp/berth-load-bench

# berth: built in release when the berth-cli package exists.
build_berth

# The archive, made once.
if [ -n "${ARCHIVE:-}" ]; then archive=$ARCHIVE
else archive="$work/archive.tar"; "$here/make-archive.sh" "$archive" "$SIZE_MB" "$LAYERS"; fi
bytes=$(stat -c %s "$archive")
mib=$(mib "$bytes")
layers=$(tar -xOf "$archive" manifest.json | jq '.[0].Layers | length')
tag=$(tar -xOf "$archive" manifest.json | jq -r '.[0].RepoTags[0]')

declare -A MED VER
NOTES=()
NOTES+=("Durability differs: dd's figure includes its fsync; berth does not wait for unpacked layers to reach the disk (docker's overlay2 does not fsync applied layers either). berth instead records the boot a layer was written in and, on the first open after a reboot, rebuilds such layers through their tar-split and checks them against their diff ids (damaged ones are removed). Blobs and metadata are fsynced.")

# --- berth
if [ -n "$BERTH" ]; then
  if ! out=$("$BERTH" --data-root "$work/berth-probe" load -i "$archive" 2>&1) || ! grep -q "^Loaded image: $tag\$" <<<"$out"; then
    MED[berth]="fails: $(head -c 160 <<<"$out" | tr '\n' ' ')"
  elif ! "$BERTH" --data-root "$work/berth-probe" images 2>&1 | grep -q "${tag%%:*}"; then
    MED[berth]="fails: \`berth images\` does not list $tag after the load"
  else
    bench berth "$BERTH --data-root $work/berth-root load -i $archive" "$(prep_script berth "$(wipe "$work/berth-root")")"
  fi
  VER[berth]=$("$BERTH" --version 2>/dev/null | head -1 | awk '{print $NF}' || true)
  rm -rf "$work/berth-probe"
else
  MED[berth]=$berth_note
fi

# --- docker: a private dockerd (own data-root, exec-root, socket; no bridge, no iptables).
if [ -n "$DOCKERD" ] && [ -n "$DOCKER" ]; then
  dd_dir="$work/dockerd"
  sock="unix://$dd_dir/docker.sock"
  if ! start_dockerd "$dd_dir" "$sock"; then
    MED[docker]="fails: dockerd did not start: $(tail -c 160 "$dd_dir/daemon.log" | tr '\n' ' ')"
  elif ! out=$("$DOCKER" -H "$sock" load -i "$archive" 2>&1) || ! grep -q "Loaded image: $tag" <<<"$out"; then
    MED[docker]="fails: $(head -c 160 <<<"$out" | tr '\n' ' ')"
  else
    VER[docker]="$("$DOCKER" -H "$sock" version -f '{{.Server.Version}}') ($("$DOCKER" -H "$sock" info -f '{{.Driver}}'))"
    bench docker "$DOCKER -H $sock load -i $archive" \
      "$(prep_script docker "$DOCKER -H $sock rmi -f $tag >/dev/null 2>&1 || true
$DOCKER -H $sock image prune -f >/dev/null")"
  fi
else
  MED[docker]="not installed"
fi

# --- podman: a private root and runroot, overlay storage, a fresh root every run.
if [ -n "$PODMAN" ]; then
  pm="$PODMAN --root $work/podman/root --runroot $work/podman/run --storage-driver overlay --cgroup-manager cgroupfs --events-backend file"
  if ! out=$($pm load -i "$archive" 2>&1) || ! grep -q "Loaded image: .*$tag" <<<"$out"; then
    MED[podman]="fails: $(head -c 160 <<<"$out" | tr '\n' ' ')"
  else
    VER[podman]=$($PODMAN --version | awk '{print $NF}')
    bench podman "$pm load -i $archive" "$(prep_script podman "$(wipe "$work/podman")")"
  fi
  sh -c "$(wipe "$work/podman")"
else
  MED[podman]="not installed"
fi

# --- the floor: copying the archive and fsyncing it.
bench dd "dd if=$archive of=$work/copy bs=4M conv=fsync status=none" "$(prep_script dd "rm -f '$work/copy'")"
rm -f "$work/copy"

{
  echo "## Image load: cold \`load -i\` of a ${mib} MiB docker-archive"
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores, kernel $(uname -r), $(df -T "$work" | awk 'NR==2{print $2}') under $(dirname "$work"). $RUNS runs each (hyperfine, 1 warm-up), median; before every run the store is emptied and \`sync\`ed, so each load starts from an empty store (the archive itself is in the page cache for all)."
  echo "Archive: bench/make-archive.sh, \`docker save\` layout (Docker 20.10), $layers uncompressed layers: busybox, then random (incompressible) 4 MiB files."
  echo
  echo "| loader | median | vs berth | throughput |"
  echo "|---|---|---|---|"
  for n in berth docker podman; do
    echo "| $n${VER[$n]:+ ${VER[$n]}} | $(fmt "${MED[$n]}") | $(ratio "${MED[$n]}" "${MED[berth]}") | $(mbs "${MED[$n]}" "$bytes") |"
  done
  echo "| floor: \`dd bs=4M conv=fsync\` of the archive | $(fmt "${MED[dd]}") | $(ratio "${MED[dd]}" "${MED[berth]}") | $(mbs "${MED[dd]}" "$bytes") |"
  echo
  for n in "${NOTES[@]}"; do echo "- $n"; done
  [ ${#NOTES[@]} = 0 ] || echo
  echo "berth: \`berth --data-root DIR load -i\`, a fresh DIR per run. docker: a private dockerd (own data-root, exec-root and socket; no bridge, no iptables), the image removed (\`rmi -f\`, \`image prune\`) before each run. podman: \`--root/--runroot\` under the bench directory, overlay storage, a fresh root per run. \"vs berth\" is the loader's time over berth's (above 1: slower than berth)."
} > "$work/section.md"
write_section "Image load" "$work/section.md"
