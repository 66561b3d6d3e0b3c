#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The agent's image (make image) loads into the three runtimes people use, each started here
# by hand with a private root so that nothing of the machine's is touched: containerd (ctr
# images import), docker (dockerd, docker load) and podman (podman load). Running it is
# 80-containers.sh's part, with runc.
source "$(dirname "$0")/lib.sh"

for t in containerd ctr dockerd podman; do
	command -v "$t" >/dev/null || { skip "image-load: $t is not installed (scripts/install-deps.sh installs it; the vmtest guests have no container runtime)"; exit 0; }
done
TAR="$REPO/build/image/mcpfence.tar"
make -s -C "$REPO" image >"$WORK/image.log" 2>&1 || { fail "image-load: make image: $(tail -3 "$WORK/image.log")"; exit 1; }

docker_start >"$WORK/daemons.log" 2>&1 || { fail "image-load: $(cat "$WORK/daemons.log")"; exit 1; }
ctr --address "$WORK/ctrd.sock" -n mcpf images import "$TAR" >"$WORK/ctr.out" 2>&1
ctr --address "$WORK/ctrd.sock" -n mcpf images ls -q | grep -q 'mcpfence:latest' &&
	pass "image-load: containerd imports it (ctr images import): $(ctr --address "$WORK/ctrd.sock" -n mcpf images ls -q | grep mcpfence)" ||
	fail "image-load: containerd: $(cat "$WORK/ctr.out")"

# docker
"${DOCKER[@]}" load -i "$TAR" >"$WORK/docker.out" 2>&1
"${DOCKER[@]}" image inspect mcpfence:latest --format '{{json .Config.Entrypoint}}' 2>/dev/null | grep -q mcpfence &&
	pass "image-load: docker loads it (docker load), entrypoint $("${DOCKER[@]}" image inspect mcpfence:latest --format '{{json .Config.Entrypoint}}')" ||
	fail "image-load: docker: $(cat "$WORK/docker.out")"

# podman: no daemon; its own storage
PODMAN=(podman --root "$WORK/podman" --runroot "$WORK/podman-run" --storage-driver vfs)
"${PODMAN[@]}" load -i "$TAR" >"$WORK/podman.out" 2>&1
"${PODMAN[@]}" image exists mcpfence:latest && pass "image-load: podman loads it (podman load)" ||
	fail "image-load: podman: $(cat "$WORK/podman.out")"
"${PODMAN[@]}" rmi -a -f >/dev/null 2>&1
rm -rf "$WORK/podman" 2>/dev/null
