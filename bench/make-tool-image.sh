#!/usr/bin/env bash
# Writes a one-layer docker-archive (the layout `docker save` of Docker 20.10 writes, as
# bench/make-archive.sh does) holding busybox and host binaries with the shared libraries they
# need: `bench/make-tool-image.sh OUT.tar TAG BINARY...`, e.g.
#   bench/make-tool-image.sh net.tar bench/net:latest /usr/bin/iperf3
#
# Rootfs: Debian's busybox-static as /bin/busybox with applet links (sh, true, httpd, …), each
# BINARY at its host path, every library `ldd BINARY` lists at the path ldd resolved it to
# (symlinks followed: the file is copied), and the dynamic loader at its PT_INTERP path (the
# `/lib64/ld-linux-x86-64.so.2` ldd prints); /etc/passwd, /etc/group, /tmp (1777).
# Layout:
#   manifest.json   [{"Config":"<hex>.json","RepoTags":["TAG"],"Layers":["<id>/layer.tar"]}]
#   repositories    {"<repo>":{"<tag>":"<layer id>"}}
#   <hex>.json      image config (rootfs.diff_ids = sha256 of layer.tar; <hex> = its sha256)
#   <id>/layer.tar, <id>/VERSION ("1.0"), <id>/json (the legacy v1 layer JSON)
# Needs bash, GNU tar, sha256sum, jq, ldd.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 OUT.tar TAG BINARY..." >&2; exit 2; }
out=$1; tag=$2; shift 2
case "$tag" in *:*) repo_name=${tag%:*}; tag_name=${tag##*:};; *) repo_name=$tag; tag_name=latest; tag=$tag:latest;; esac
for t in tar sha256sum jq ldd; do command -v "$t" >/dev/null || { echo "$0: needs $t" >&2; exit 1; }; done
BUSYBOX=${BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || { echo "$0: $BUSYBOX missing (install busybox-static)" >&2; exit 1; }

# Staged next to OUT so the final tar is written on the same filesystem.
stage=$(mktemp -d "$(dirname "$(realpath -m "$out")")/.make-tool-image.XXXXXX")
trap 'rm -rf "$stage"' EXIT
created=2024-01-01T00:00:00Z
mtime=@1704067200
# Plain ustar with root-owned entries named without "./".
TAR=(tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="$mtime" --format=ustar)

t="$stage/tree"; mkdir -p "$t/bin" "$t/etc" "$t/tmp" "$t/proc" "$t/sys" "$t/dev" "$t/www"
chmod 1777 "$t/tmp"
cp "$BUSYBOX" "$t/bin/busybox"
for a in sh true ls cat echo head tr sleep httpd dd wget nc ip ifconfig hostname; do ln -s busybox "$t/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' > "$t/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$t/etc/group"

# put SRC DEST: SRC's content (symlinks followed) at DEST inside the tree.
put() { mkdir -p "$t$(dirname "$2")"; cp -L "$1" "$t$2"; }
for bin in "$@"; do
  [ -x "$bin" ] || { echo "$0: $bin is not an executable" >&2; exit 1; }
  bin=$(realpath -s "$bin")
  put "$bin" "$bin"
  # ldd lines: "libx.so.1 => /path/libx.so.1 (0x…)", "/lib64/ld-linux-x86-64.so.2 (0x…)", "linux-vdso.so.1 (0x…)".
  ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u | while read -r lib; do
    [ -e "$t$lib" ] || put "$lib" "$lib"
  done
  if ldd "$bin" | grep -q 'not found'; then echo "$0: $bin: $(ldd "$bin" | grep 'not found')" >&2; exit 1; fi
done

layer="$stage/layer.tmp"
mapfile -t top < <(ls -A "$t")
"${TAR[@]}" -C "$t" -cf "$layer" -- "${top[@]}"
diff=$(sha256sum "$layer" | cut -d' ' -f1)
id=$(printf '\n%s\n' "$diff" | sha256sum | cut -d' ' -f1)
mkdir "$stage/$id"; mv "$layer" "$stage/$id/layer.tar"; printf '1.0' > "$stage/$id/VERSION"
jq -cn --arg id "$id" --arg created "$created" '{id: $id, created: $created, container_config: {Cmd: null}, os: "linux"}' > "$stage/$id/json"

jq -n --arg created "$created" --arg diff "sha256:$diff" --arg bins "$*" \
  '{architecture: "amd64", os: "linux", created: $created, docker_version: "20.10.24",
    config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
             Cmd: ["/bin/sh"], WorkingDir: "/"},
    history: [{created: $created, created_by: ("/bin/sh -c #(nop) ADD busybox " + $bins + " and their libraries in /")}],
    rootfs: {type: "layers", diff_ids: [$diff]}}' -c > "$stage/config.tmp"
cfg=$(sha256sum "$stage/config.tmp" | cut -d' ' -f1)
mv "$stage/config.tmp" "$stage/$cfg.json"
jq -cn --arg cfg "$cfg.json" --arg tag "$tag" --arg l "$id/layer.tar" '[{Config: $cfg, RepoTags: [$tag], Layers: [$l]}]' > "$stage/manifest.json"
jq -cn --arg r "$repo_name" --arg tg "$tag_name" --arg top "$id" '{($r): {($tg): $top}}' > "$stage/repositories"

"${TAR[@]}" -C "$stage" -cf "$out.tmp" manifest.json repositories "$cfg.json" "$id"
mv "$out.tmp" "$out"
echo "$out: $(( $(stat -c %s "$out") / 1024 )) KiB, 1 layer, $tag (config sha256:$cfg): busybox $*" >&2
