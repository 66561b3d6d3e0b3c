#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# vmtest: the root integration suite on other kernels, under qemu.
#
#   vmtest/run.sh [KERNEL...]      KERNEL: host, 6.1, 6.12 (default: $KERNELS or "6.1 6.12")
#
# Each Debian kernel is the newest linux-image package of its series, fetched with
# `apt-get download` into $VMTEST_CACHE and unpacked with `dpkg -x` (never installed). The
# guest boots from an initramfs holding busybox, the built binaries, the test scripts and the
# tools the suite uses with their shared libraries; its init mounts proc, sys, cgroup2, bpffs,
# brings lo up, runs `tests/run.sh integration`, prints a result marker and powers off.
# The guests boot side by side. The host side pre-seeds failure, enforces a timeout, and fails
# a run with no marker, a kernel BUG/WARNING/panic, or any failed check, showing the guest log.
# Prints PASS/FAIL lines for tests/run.sh and a summary per kernel into
# $VMTEST_CACHE/results.txt.
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
CACHE=${VMTEST_CACHE:-$REPO/build/vmtest}
TIMEOUT=${VMTEST_TIMEOUT:-1500}
MEM=${VMTEST_MEM:-2048}
KERNELS_ARG=("$@")
[ ${#KERNELS_ARG[@]} -eq 0 ] && read -r -a KERNELS_ARG <<<"${KERNELS:-6.1 6.12}"
mkdir -p "$CACHE"
RESULTS="$CACHE/results.txt"
: >"$RESULTS"

log() { echo "vmtest: $*" >&2; }

# The newest package of a kernel series available to apt.
kernel_package() {
	local re
	case "$1" in
	6.1) re='^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
	6.12) re='^linux-image-6\.12\.[0-9]+\+deb12-amd64$' ;;
	*) return 1 ;;
	esac
	apt-cache search --names-only "$re" 2>/dev/null | awk '{ print $1 }' | sort -V | tail -1
}

# Download and unpack once; prints the unpacked directory.
kernel_fetch() {
	local pkg=$1 dir="$CACHE/$1"
	if [ ! -d "$dir/boot" ]; then
		mkdir -p "$CACHE/debs"
		(cd "$CACHE/debs" && apt-get download "$pkg" >/dev/null 2>&1) || {
			log "apt-get download $pkg failed"; return 1; }
		rm -rf "$dir.tmp"
		dpkg -x "$CACHE"/debs/"${pkg}"_*.deb "$dir.tmp" && mv "$dir.tmp" "$dir"
	fi
	echo "$dir"
}

# Copy a program and the shared libraries it needs (ldd) into the guest root.
copy_with_libs() {
	local root=$1 f lib
	shift
	for f in "$@"; do
		[ -e "$f" ] || { log "missing $f"; continue; }
		mkdir -p "$root$(dirname "$f")"
		cp -L "$f" "$root$f"
		for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*'); do
			[ -e "$root$lib" ] || { mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"; }
		done
	done
}

GUEST_TOOLS=(bash jq ip bpftool openssl setpriv basenc xxd stat date mktemp seq sort timeout
	md5sum sysctl find xargs awk sed grep cut tr wc head tail cat ls rm mkdir rmdir cp mv sleep
	chmod touch ln readlink dirname basename env id tee base64 uname python3.11 nproc unshare
	nsd dig curl nsenter)

build_initramfs() { # ROOTDIR MODULES_DIR OUT
	local root=$1 mods=$2 out=$3 t p m
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc,repo,lib/modules}
	cp /bin/busybox "$root/bin/busybox"
	for t in sh mount umount poweroff insmod mkdir ln cat echo; do ln -sf busybox "$root/bin/$t"; done
	for t in "${GUEST_TOOLS[@]}"; do # the system's tools, not a developer's shims
		p=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$t") && copy_with_libs "$root" "$p"
	done
	ln -sf python3.11 "$root/usr/bin/python3"
	copy_with_libs "$root" /lib64/ld-linux-x86-64.so.2
	# the Python standard library the suite uses (sockets, ssl, http.server, json)
	mkdir -p "$root/usr/lib/python3.11"
	tar -C /usr/lib/python3.11 --exclude=test --exclude=idlelib --exclude=tkinter \
		--exclude=ensurepip --exclude=lib2to3 --exclude=pydoc_data --exclude=site-packages \
		--exclude=dist-packages -cf - . | tar -C "$root/usr/lib/python3.11" -xf -
	for p in /usr/lib/python3.11/lib-dynload/*.so; do copy_with_libs "$root" "$p"; done
	# Debian's PyJWT and jwcrypto (and what they import): the independent verifiers of
	# 52-credentials
	mkdir -p "$root/usr/lib/python3/dist-packages"
	tar -C /usr/lib/python3/dist-packages -cf - jwt jwcrypto cryptography deprecated wrapt \
		_cffi_backend.cpython-311-x86_64-linux-gnu.so | tar -C "$root/usr/lib/python3/dist-packages" -xf -
	find "$root/usr/lib/python3/dist-packages" -name '*.so' | while read -r p; do
		copy_with_libs "$root" "${p#"$root"}"
	done
	# cryptography loads OpenSSL's legacy provider
	for p in /usr/lib/x86_64-linux-gnu/ossl-modules/*.so; do copy_with_libs "$root" "$p"; done
	mkdir -p "$root/usr/lib/ssl" "$root/etc/ssl"
	cp -L /usr/lib/ssl/openssl.cnf "$root/usr/lib/ssl/" 2>/dev/null
	cp -L /etc/ssl/openssl.cnf "$root/etc/ssl/" 2>/dev/null
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
	# the project: binaries, suite, fixtures
	mkdir -p "$root/repo/build"
	copy_with_libs "$root" "$REPO/build/mcpfence" "$REPO/build/netprobe"
	cp build/mcpfence build/mcpfence-testhooks build/netprobe "$root/repo/build/"
	cp -r tests scripts policies "$root/repo/"
	mkdir -p "$root/repo/deploy" && cp deploy/mcpfence.service "$root/repo/deploy/" # 76-systemd reads the unit
	# VMTEST_SUITES: run some suites only (a glob for tests/run.sh), while working on them
	[ -n "${VMTEST_SUITES:-}" ] && echo "$VMTEST_SUITES" >"$root/repo/suites"
	rm -rf "$root/repo/tests/out" "$root/repo/tests/vectors"
	# modules, decompressed for busybox insmod, loaded in this order: veth for network
	# namespaces, inet_diag and tcp_diag for the agent's SOCK_DESTROY (refused TLS flows)
	for p in "$mods"/kernel/drivers/net/veth.ko* "$mods"/kernel/net/ipv4/inet_diag.ko* \
		"$mods"/kernel/net/ipv4/tcp_diag.ko*; do
		[ -e "$p" ] || continue
		m=$(basename "$p"); m=${m%%.ko*}.ko
		case "$p" in
		*.xz) xz -dc "$p" >"$root/lib/modules/$m" ;;
		*.zst) zstd -qdc "$p" >"$root/lib/modules/$m" ;;
		*) cp "$p" "$root/lib/modules/$m" ;;
		esac
	done
	cat >"$root/init" <<'INIT'
#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mkdir -p /sys/fs/cgroup /var /run/netns
ln -s /run /var/run
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
for m in veth inet_diag tcp_diag; do [ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko; done
ip link set lo up
echo "MCPF-VMTEST-START $(uname -r) $(nproc) cpus"
cd /repo
# latency limits are the host's; emulated guests are slower, and the suites scale them by this
export MCPF_TIME_SCALE=20
# suites of userspace logic only (the Kubernetes API clients) skip themselves here: see them
export MCPF_VMTEST=1
[ -f /repo/suites ] && export MCPF_SUITES="$(cat /repo/suites)"
MCPF_NO_SAN=1 TEST_OUT=/tmp/out bash tests/run.sh integration
echo "MCPF-VMTEST-RESULT rc=$?"
poweroff -f
INIT
	chmod +x "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet) >"$out"
}

# KVM only when it really boots a guest: /dev/kvm may be a device on which stock kernels hang.
ACCEL=
choose_accel() { # VMLINUZ
	local vmlinuz=$1 tiny="$CACHE/kvm-probe.cpio" out
	[ -n "$ACCEL" ] && return
	ACCEL=tcg
	[ -e /dev/kvm ] || { log "no /dev/kvm: TCG"; return; }
	rm -rf "$CACHE/kvm-probe" && mkdir -p "$CACHE/kvm-probe/bin"
	cp /bin/busybox "$CACHE/kvm-probe/bin/"
	printf '#!/bin/busybox sh\n/bin/busybox echo MCPF-KVM-OK\n/bin/busybox poweroff -f\n' >"$CACHE/kvm-probe/init"
	chmod +x "$CACHE/kvm-probe/init"
	(cd "$CACHE/kvm-probe" && find . | cpio -o -H newc --quiet) >"$tiny"
	out=$(timeout 25 qemu-system-x86_64 -accel kvm -cpu host -m 512 -nographic -no-reboot \
		-kernel "$vmlinuz" -initrd "$tiny" -append "console=ttyS0 rdinit=/init panic=-1" 2>&1)
	if echo "$out" | grep -q MCPF-KVM-OK; then ACCEL=kvm; fi
	log "accelerator: $ACCEL (a KVM boot probe $( [ $ACCEL = kvm ] && echo succeeded || echo did not finish in 25 s))"
}

prepare_guest() { # NAME VMLINUZ MODULES
	build_initramfs "$CACHE/root-$1" "$3" "$CACHE/initramfs-$1.cpio"
	choose_accel "$2"
}

# boot_guest NAME VMLINUZ: one guest's run; its PASS/FAIL lines on stdout, its summary line
# appended to $RESULTS
boot_guest() {
	local name=$1 vmlinuz=$2 logf="$CACHE/$1.log" t0 t1 rc counts cpu
	cpu=max
	[ "$ACCEL" = kvm ] && cpu=host
	echo "MCPF-VMTEST-RESULT rc=pre-seeded-failure (no guest output)" >"$logf.result"
	t0=$(date +%s)
	timeout "$TIMEOUT" qemu-system-x86_64 -accel "$ACCEL" -cpu "$cpu" -smp 2 -m "$MEM" \
		-nographic -no-reboot -nic none -kernel "$vmlinuz" -initrd "$CACHE/initramfs-$name.cpio" \
		-append "console=ttyS0 rdinit=/init panic=-1 loglevel=4 oops=panic" >"$logf" 2>&1
	rc=$?
	t1=$(date +%s)
	grep -a 'MCPF-VMTEST-RESULT' "$logf" >"$logf.result" 2>/dev/null
	counts=$(grep -a -E '^[0-9]+ passed, [0-9]+ failed' "$logf" | tail -1)
	local problems=()
	[ "$rc" -eq 124 ] && problems+=("timed out after ${TIMEOUT}s")
	grep -aq 'MCPF-VMTEST-RESULT rc=0' "$logf" || problems+=("no success marker ($(cat "$logf.result"))")
	grep -aEq 'BUG:|WARNING:|Kernel panic|Oops|general protection' "$logf" && problems+=("kernel splat")
	grep -a -E '^FAIL ' "$logf" | sed "s/^FAIL /FAIL vmtest $name: /"
	echo "$name $(grep -ao 'MCPF-VMTEST-START [^ ]*' "$logf" | head -1 | cut -d' ' -f2) accel=$ACCEL ${counts:-no counts} wall=$((t1 - t0))s" >>"$RESULTS"
	if [ ${#problems[@]} -eq 0 ]; then
		echo "PASS vmtest $name: kernel $(grep -ao 'MCPF-VMTEST-START [^ ]*' "$logf" | head -1 | cut -d' ' -f2), $counts, $((t1 - t0)) s under $ACCEL"
	else
		echo "FAIL vmtest $name: ${problems[*]} (log: $logf)"
		grep -a -E 'BUG:|WARNING:|panic|FAIL|MCPF' "$logf" | head -20 | sed 's/^/    /'
		tail -30 "$logf" | sed 's/^/    | /'
	fi
}

# The guests run side by side (VMTEST_PARALLEL=0: one after the other): under TCG each is
# mostly one busy thread, so two kernels take little more than the slower one.
GUESTS=()
for k in "${KERNELS_ARG[@]}"; do
	case "$k" in
	host)
		t0=$(date +%s)
		out=$(bash tests/run.sh integration 2>&1)
		counts=$(echo "$out" | grep -E '^[0-9]+ passed' | tail -1)
		echo "$out" | grep -E '^FAIL ' | sed 's/^FAIL /FAIL vmtest host: /'
		echo "host $(uname -r) native ${counts} wall=$(( $(date +%s) - t0 ))s" >>"$RESULTS"
		if echo "$counts" | grep -q ' 0 failed'; then
			echo "PASS vmtest host: kernel $(uname -r), $counts, $(( $(date +%s) - t0 )) s native"
		else
			echo "FAIL vmtest host: $counts"
		fi
		;;
	6.1 | 6.12)
		pkg=$(kernel_package "$k")
		if [ -z "$pkg" ]; then
			echo "FAIL vmtest $k: no linux-image package of the $k series is available to apt"
			continue
		fi
		dir=$(kernel_fetch "$pkg") || { echo "FAIL vmtest $k: could not fetch $pkg"; continue; }
		log "$k: $pkg"
		prepare_guest "$k" "$(ls "$dir"/boot/vmlinuz-*)" "$(ls -d "$dir"/lib/modules/*)"
		GUESTS+=("$k $(ls "$dir"/boot/vmlinuz-*)")
		;;
	*)
		echo "FAIL vmtest $k: unknown kernel (host, 6.1 or 6.12)"
		;;
	esac
done
pids=()
for g in "${GUESTS[@]}"; do
	read -r name vmlinuz <<<"$g"
	if [ "${VMTEST_PARALLEL:-1}" = 1 ]; then
		boot_guest "$name" "$vmlinuz" >"$CACHE/$name.out" &
		pids+=($!)
	else
		boot_guest "$name" "$vmlinuz" >"$CACHE/$name.out"
	fi
done
for p in "${pids[@]}"; do wait "$p"; done
for g in "${GUESTS[@]}"; do cat "$CACHE/${g%% *}.out"; done
cat "$RESULTS" >&2
