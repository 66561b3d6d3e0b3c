#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The MCP server image for the container tests: Debian's node, the libraries it loads and
# tests/mcp/server.js, built locally (no registry). Cached in OUT while its inputs are unchanged.
# Usage: tests/mcp/image.sh OUT
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
source "$REPO/scripts/oci.sh"
OUT=$1
NODE=$(readlink -f "$(command -v node)")
KEY=$(cat "$REPO/tests/mcp/server.js" "$REPO/scripts/oci.sh" "$0" | sha256sum | cut -c1-16)-$(stat -c %s-%Y "$NODE")
[ -f "$OUT/key" ] && [ "$(cat "$OUT/key")" = "$KEY" ] && exit 0
ROOTFS=$(mktemp -d)
trap 'rm -rf "$ROOTFS"' EXIT
oci_add_elf "$ROOTFS" "$NODE"
[ "$NODE" = /usr/bin/node ] || { mkdir -p "$ROOTFS/usr/bin"; ln -s "$NODE" "$ROOTFS/usr/bin/node"; }
mkdir -p "$ROOTFS/app" "$ROOTFS/tmp" "$ROOTFS/etc"
cp "$REPO/tests/mcp/server.js" "$ROOTFS/app/server.js"
echo "node:x:1000:1000::/app:/usr/bin/node" >"$ROOTFS/etc/passwd"
oci_pack "$ROOTFS" "$OUT/oci" latest -- --config.entrypoint /usr/bin/node --config.cmd /app/server.js \
	--config.workingdir /app --config.label org.opencontainers.image.title=mcpfence-test-mcp-server
echo "$KEY" >"$OUT/key"
