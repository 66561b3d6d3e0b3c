# SPDX-License-Identifier: MIT
# Build OCI images locally, with no registry: a root file system made of files from this
# machine's Debian packages (a program and the shared libraries it loads), packed with umoci.
# Sourced by deploy/image/build.sh and the container tests. Not run.

# oci_add_elf ROOTFS FILE...: FILE and every library ldd says it loads, at their own paths
oci_add_elf() {
	local rootfs=$1 f lib
	shift
	for f in "$@"; do
		oci_add_files "$rootfs" "$f"
		for lib in $(ldd "$f" | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
			oci_add_files "$rootfs" "$lib"
		done
	done
}

# oci_add_files ROOTFS PATH...: copy files (symlinks followed) to the same paths in ROOTFS
oci_add_files() {
	local rootfs=$1 f
	shift
	for f in "$@"; do
		mkdir -p "$rootfs/$(dirname "$f")"
		cp -L "$f" "$rootfs/$f"
	done
}

# oci_packages ROOTFS: the Debian packages (name version) the files of ROOTFS come from
oci_packages() {
	(cd "$1" && find . -type f | sed 's|^\.||') | while read -r f; do
		dpkg -S "$f" 2>/dev/null || dpkg -S "$(readlink -f "$f")" 2>/dev/null || dpkg -S "/usr$f" 2>/dev/null || true
	done | cut -d: -f1 | sort -u | while read -r p; do
		dpkg-query -W -f='${Package} ${Version}\n' "$p"
	done
}

# oci_pack ROOTFS LAYOUT TAG -- umoci config options...: LAYOUT:TAG holds ROOTFS as one layer
oci_pack() {
	local rootfs=$1 layout=$2 tag=$3 bundle
	shift 4
	bundle=$(mktemp -d)
	rm -rf "$layout"
	umoci init --layout "$layout"
	umoci new --image "$layout:$tag"
	umoci unpack --image "$layout:$tag" "$bundle/b" >/dev/null
	chmod 755 "$rootfs"
	cp -a "$rootfs/." "$bundle/b/rootfs/"
	umoci repack --image "$layout:$tag" "$bundle/b"
	umoci config --image "$layout:$tag" --os linux --architecture amd64 --no-history "$@"
	umoci gc --layout "$layout"
	rm -rf "$bundle"
}
