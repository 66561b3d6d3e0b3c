#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install every build and test dependency from Debian's packages. Idempotent: installs only
# what is missing, so `make demo` / `make test` can call it on every run.
set -euo pipefail

PKGS=(
	clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config make gcc
	libssl-dev openssl libjansson-dev libyaml-dev libcurl4-openssl-dev liburing-dev
	iproute2 nftables iptables procps psmisc python3 jq cppcheck clang-tidy libclang-rt-14-dev
	qemu-system-x86 busybox-static cpio xz-utils util-linux coreutils xxd
	nsd bind9-dnsutils nodejs python3-jwt python3-jwcrypto python3-jsonschema
	runc umoci skopeo python3-yaml containerd docker.io podman prometheus
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v kubectl >/dev/null || missing+=(kubernetes-client) # any kubectl will do: client side only
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]} (run as root to install them)" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
