#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The layers of userspace/ as the README draws them, checked: a file may include headers of its
# own folder, of the layers below it, bpf/ (the ABI) and, in kernel/ only, the BPF skeletons.
# An include that points up or sideways fails `make lint`, naming the file and the header.
set -u
cd "$(dirname "$0")/.."
declare -A level=([lib]=0 [kernel]=1 [policy]=2 [confine]=2 [k8s]=2 [docker]=2 [identity]=3 [agent]=4 [cli]=5)
declare -A home # header -> folder
for d in "${!level[@]}"; do
	for h in userspace/"$d"/*.h; do home[$(basename "$h")]=$d; done
done
bad=0
for d in "${!level[@]}"; do
	for f in userspace/"$d"/*.[ch]; do
		while read -r h; do
			if [ -e "bpf/$h" ]; then continue; fi
			case "$h" in *.skel.h)
				[ "$d" = kernel ] || { echo "$f: includes $h: only kernel/ touches the skeletons"; bad=1; }
				continue ;;
			esac
			hd=${home[$h]:-}
			[ -n "$hd" ] || { echo "$f: includes \"$h\", which is in no layer"; bad=1; continue; }
			[ "$hd" = "$d" ] && continue
			if [ "${level[$hd]}" -ge "${level[$d]}" ]; then
				echo "$f: includes $hd/$h: $hd is not below $d (lib < kernel < policy, confine, k8s, docker < identity < agent < cli)"
				bad=1
			fi
		done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
	done
done
[ "$bad" = 0 ] && echo "layers: every include points down"
exit "$bad"
