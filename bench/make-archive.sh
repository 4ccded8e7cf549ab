#!/usr/bin/env bash
# Writes a docker-archive (the layout `docker save` of Docker 20.10 writes) for the image-load
# benchmark: `bench/make-archive.sh OUT.tar [SIZE_MB=200] [LAYERS=4]`.
#
# The image, tagged bench/load:latest, is a small busybox layer (Debian's busybox-static with a
# few applet links, so it is runnable) followed by LAYERS layers of incompressible files from
# /dev/urandom (4 MiB files in two directories per layer), ≈ SIZE_MB MiB in all. Layout:
#   manifest.json   [{"Config":"<hex>.json","RepoTags":["bench/load:latest"],"Layers":["<id>/layer.tar",…]}]
#   repositories    {"bench/load":{"latest":"<top layer id>"}}
#   <hex>.json      image config (rootfs.diff_ids = sha256 of each layer.tar; <hex> = its sha256)
#   <id>/layer.tar, <id>/VERSION ("1.0"), <id>/json (the legacy v1 layer JSON)
# Needs bash, GNU tar, sha256sum, jq, head.
set -euo pipefail
[ $# -ge 1 ] && [ $# -le 3 ] || { echo "usage: $0 OUT.tar [SIZE_MB=200] [LAYERS=4]" >&2; exit 2; }
out=$1; size_mb=${2:-200}; layers=${3:-4}
case "$size_mb$layers" in *[!0-9]*) echo "$0: SIZE_MB and LAYERS must be integers" >&2; exit 2;; esac
[ "$layers" -ge 1 ] || { echo "$0: LAYERS must be at least 1" >&2; exit 2; }
for t in tar sha256sum jq head; do command -v "$t" >/dev/null || { echo "$0: needs $t" >&2; exit 1; }; done
BUSYBOX=${BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || { echo "$0: $BUSYBOX missing (install busybox-static)" >&2; exit 1; }

# Staged next to OUT so the final tar is written on the same filesystem.
stage=$(mktemp -d "$(dirname "$(realpath -m "$out")")/.make-archive.XXXXXX")
trap 'rm -rf "$stage"' EXIT
created=2024-01-01T00:00:00Z
mtime=@1704067200
# Plain ustar with root-owned entries named without "./", as Go's archive/tar writes them.
TAR=(tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="$mtime" --format=ustar)

diff_ids=(); ids=(); history=(); parent=""
# add_layer TREE CREATED_BY: packs TREE into a layer directory, records its diff_id and v1 id.
add_layer() {
  local tree=$1 created_by=$2 tmp="$stage/layer.tmp" diff id top
  mapfile -t top < <(ls -A "$tree")
  "${TAR[@]}" -C "$tree" -cf "$tmp" -- "${top[@]}"
  diff=$(sha256sum "$tmp" | cut -d' ' -f1)
  # Docker's v1 ids chain the parent's id and the layer's content; any unique hex would load.
  id=$(printf '%s\n%s\n' "$parent" "$diff" | sha256sum | cut -d' ' -f1)
  mkdir "$stage/$id"
  mv "$tmp" "$stage/$id/layer.tar"
  printf '1.0' > "$stage/$id/VERSION"
  jq -cn --arg id "$id" --arg parent "$parent" --arg created "$created" \
    '{id: $id, created: $created, container_config: {Cmd: null}, os: "linux"}
     + (if $parent == "" then {} else {parent: $parent} end)' > "$stage/$id/json"
  diff_ids+=("sha256:$diff"); ids+=("$id")
  history+=("$(jq -cn --arg c "$created" --arg b "$created_by" '{created: $c, created_by: $b}')")
  parent=$id
  rm -rf "$tree"
}

# Layer 1: busybox, runnable.
t="$stage/tree"; mkdir -p "$t/bin" "$t/etc" "$t/tmp" "$t/proc" "$t/sys" "$t/dev"
chmod 1777 "$t/tmp"
cp "$BUSYBOX" "$t/bin/busybox"
for a in sh true ls cat echo du sha256sum; do ln -s busybox "$t/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$t/etc/passwd"
printf 'root:x:0:\n' > "$t/etc/group"
add_layer "$t" "/bin/sh -c #(nop) ADD file:busybox in /"

# Layers 2…: incompressible data, SIZE_MB split evenly, 4 MiB files alternating between a/ and b/.
per_layer=$(( size_mb * 1024 * 1024 / layers ))
chunk=$(( 4 * 1024 * 1024 ))
for ((l = 1; l <= layers; l++)); do
  t="$stage/tree"; mkdir -p "$t/data/l$l/a" "$t/data/l$l/b"
  left=$per_layer; n=0
  while [ "$left" -gt 0 ]; do
    this=$(( left < chunk ? left : chunk ))
    dir=$([ $((n % 2)) = 0 ] && echo a || echo b)
    head -c "$this" /dev/urandom > "$t/data/l$l/$dir/f$n.bin"
    left=$(( left - this )); n=$(( n + 1 ))
  done
  add_layer "$t" "/bin/sh -c #(nop) COPY dir:random-$l in /data/l$l"
done

# The image config, named by its digest, and the manifest.
jq -n --arg created "$created" \
  --argjson diffs "$(printf '%s\n' "${diff_ids[@]}" | jq -R . | jq -s .)" \
  --argjson hist "$(printf '%s\n' "${history[@]}" | jq -s .)" \
  '{architecture: "amd64", os: "linux", created: $created, docker_version: "20.10.24",
    config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
             Cmd: ["/bin/sh"], WorkingDir: "/"},
    container_config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
             Cmd: ["/bin/sh", "-c", "#(nop) CMD [\"/bin/sh\"]"]},
    history: $hist,
    rootfs: {type: "layers", diff_ids: $diffs}}' -c > "$stage/config.tmp"
cfg=$(sha256sum "$stage/config.tmp" | cut -d' ' -f1)
mv "$stage/config.tmp" "$stage/$cfg.json"
jq -cn --arg cfg "$cfg.json" --argjson layers "$(printf '%s/layer.tar\n' "${ids[@]}" | jq -R . | jq -s .)" \
  '[{Config: $cfg, RepoTags: ["bench/load:latest"], Layers: $layers}]' > "$stage/manifest.json"
jq -cn --arg top "$parent" '{"bench/load": {latest: $top}}' > "$stage/repositories"

"${TAR[@]}" -C "$stage" -cf "$out.tmp" manifest.json repositories "$cfg.json" "${ids[@]}"
mv "$out.tmp" "$out"
echo "$out: $(( $(stat -c %s "$out") / 1024 / 1024 )) MiB, $(( layers + 1 )) layers, bench/load:latest (config sha256:$cfg)" >&2
