#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The agent's container image, built locally with no registry pull: the mcpfence binary, the
# shared libraries it loads and the CA bundle, all from this machine's Debian packages (their
# names and versions are in /usr/share/mcpfence/packages.txt inside). Writes
#   OUT/oci                an OCI image layout, tag mcpfence:latest  (umoci, skopeo, ctr)
#   OUT/mcpfence.tar       the same as a docker-archive               (docker load, podman load)
# Usage: deploy/image/build.sh BINARY OUT
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
source "$REPO/scripts/oci.sh"
BIN=$1
OUT=$2
VERSION=$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)

ROOTFS=$(mktemp -d)
trap 'rm -rf "$ROOTFS"' EXIT
oci_add_elf "$ROOTFS" "$BIN"
mkdir -p "$ROOTFS/usr/bin" && strip --strip-debug -o "$ROOTFS/usr/bin/mcpfence" "$ROOTFS/$BIN" && rm "$ROOTFS/$BIN"
find "$ROOTFS" -mindepth 1 -type d -empty -delete
oci_add_files "$ROOTFS" /etc/ssl/certs/ca-certificates.crt # JWKS discovery over HTTPS
mkdir -p "$ROOTFS/etc/mcpfence" "$ROOTFS/run/mcpfence" "$ROOTFS/tmp" "$ROOTFS/usr/share/mcpfence"
echo 'root:x:0:0:root:/:/usr/bin/mcpfence' >"$ROOTFS/etc/passwd"
echo 'root:x:0:' >"$ROOTFS/etc/group"
oci_packages "$ROOTFS" >"$ROOTFS/usr/share/mcpfence/packages.txt"
echo "$VERSION" >"$ROOTFS/usr/share/mcpfence/version"

mkdir -p "$OUT"
oci_pack "$ROOTFS" "$OUT/oci" latest -- \
	--config.entrypoint /usr/bin/mcpfence \
	--config.cmd agent --config.cmd --config --config.cmd /etc/mcpfence/config.json \
	--config.user 0:0 --config.workingdir / --config.stopsignal SIGTERM \
	--config.label org.opencontainers.image.title=mcpfence \
	--config.label org.opencontainers.image.version="$VERSION" \
	--config.label org.opencontainers.image.description="eBPF egress and identity enforcer for MCP servers"
rm -f "$OUT/mcpfence.tar"
skopeo copy --quiet "oci:$OUT/oci:latest" "docker-archive:$OUT/mcpfence.tar:mcpfence:latest"
echo "image: $OUT/oci (mcpfence:latest), $OUT/mcpfence.tar;" \
	"root file system $(du -sk --apparent-size "$ROOTFS" | cut -f1) KiB in $(find "$ROOTFS" -type f | wc -l) files," \
	"compressed layer $(( $(find "$OUT/oci/blobs" -type f -size +100k -printf '%s\n' | sort -n | tail -1) / 1024 )) KiB," \
	"$(wc -l <"$ROOTFS/usr/share/mcpfence/packages.txt") Debian packages"
