#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# nsd-conf.sh DIR ZONE ADDR...: write DIR/nsd.conf for an NSD that serves ZONE from
# DIR/ZONE.zone on port 53 of each ADDR, keeps every file in DIR, and answers every query
# (no response rate limiting: the suites and benchmarks send bursts). Used by the names suite,
# the names benchmark and the demo; run it as `nsd -d -c DIR/nsd.conf`.
set -euo pipefail
dir=$1 zone=$2
shift 2
{
	echo "server:"
	for a in "$@"; do echo "  ip-address: $a"; done
	cat <<EOF2
  port: 53
  username: ""
  chroot: ""
  zonesdir: "$dir"
  database: ""
  pidfile: "$dir/nsd.pid"
  xfrdfile: "$dir/xfrd.state"
  zonelistfile: "$dir/zone.list"
  logfile: "$dir/nsd.log"
  server-count: 1
  rrl-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: $zone
  zonefile: $zone.zone
EOF2
} >"$dir/nsd.conf"
