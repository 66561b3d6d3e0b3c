#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make demo`: an agent on a private cgroup root, then
#   1. a workload bound by the operator to one endpoint: one connection allowed, one denied;
#   2. workload identity: a local demo issuer (key made on first run), two tokens whose claims
#      select two allowlists, one token whose claims select nothing, and the events of each;
#   3. names: a local DNS server (NSD); a workload allowed api.demo.mcpf reaches it by name,
#      and cannot even resolve evil.demo.mcpf (the query never leaves the host);
#   4. no secrets: the github workload asks the agent for a credential for its downstream API
#      (an HTTPS stand-in that checks tokens with PyJWT against the exported issuer), calls
#      it with no secret of its own; the same token is refused by another service.
# Everything is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (BPF and cgroups)" >&2; exit 1; }
source scripts/jwt.sh
M=build/mcpfence NP=build/netprobe
D=$(mktemp -d /tmp/mcpfence-demo.XXXX)
CFG=$D/agent.json
ISS=https://issuer.demo.mcpfence.local
KEYDIR=build/demo-issuer
agent=
cleanup() {
	[ -n "$agent" ] && kill "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
	kill $(jobs -p) 2>/dev/null || true
	$M uninstall --config "$CFG" >/dev/null 2>&1 || true
	rm -rf "$D"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show_events() { # the events of one kind, compact
	jq -c "select($1) | del(.cgroup_id, .bound_cgroup_id, .pid, .mode)" "$D/events.jsonl"
}

if [ ! -f "$KEYDIR/issuer.pem" ]; then
	mkdir -p "$KEYDIR"
	jwt_keygen EdDSA "$KEYDIR/issuer.pem"
	echo "{\"keys\":[$(jwt_jwk EdDSA "$KEYDIR/issuer.pem" demo-1)]}" >"$KEYDIR/issuer.jwks"
	echo "demo: made a demo issuer key in $KEYDIR (first run)"
fi
cat >"$CFG" <<JSON
{ "cgroup_root": "mcpfence-demo", "bpffs": "/sys/fs/bpf/mcpfence-demo",
  "socket": "$D/agent.sock", "attest_socket": "$D/attest.sock",
  "policies": ["$PWD/policies/demo"],
  "events": { "stdout": false, "file": "$D/events.jsonl" },
  "dns": { "resolvers": ["127.0.0.153"] },
  "issuer": { "url": "https://mcpfence.demo.local/node", "keys": "$PWD/$KEYDIR/mint" },
  "trust": { "issuers": [ { "issuer": "$ISS", "jwks_file": "$PWD/$KEYDIR/issuer.jwks",
                            "algorithms": ["EdDSA"] } ] } }
JSON

# a DNS server for part 3: api.demo.mcpf and evil.demo.mcpf, both on this host
mkdir -p "$D/nsd"
printf '%s\n' '$ORIGIN demo.mcpf.' '@ 300 IN SOA ns.demo.mcpf. admin.demo.mcpf. 1 3600 600 86400 60' \
	'@ 300 IN NS ns' 'ns 300 IN A 127.0.0.153' 'api 300 IN A 127.0.0.2' 'evil 300 IN A 127.0.0.4' >"$D/nsd/demo.mcpf.zone"
scripts/nsd-conf.sh "$D/nsd" demo.mcpf 127.0.0.153
nsd -d -c "$D/nsd/nsd.conf" >"$D/nsd/log" 2>&1 &
echo "nameserver 127.0.0.153" >"$D/resolv.conf"

say "policies: demo-mcp (bound by the operator), demo-github and demo-slack (selected by tokens), demo-names"
$M policy check policies/demo
say "start the agent (programs attach to cgroup /mcpfence-demo, state pinned in bpffs)"
$M agent --config "$CFG" 2>"$D/agent.log" &
agent=$!
for _ in $(seq 50); do [ -S "$D/attest.sock" ] && break; sleep 0.1; done
cat "$D/agent.log"
# the downstream APIs: HTTPS, accepting only a valid token for their own audience
$M issuer export "$D/pub" --config "$CFG" >/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=demo \
	-addext "subjectAltName=IP:127.0.0.2,IP:127.0.0.3" -keyout "$D/tls.key" -out "$D/tls.crt" 2>/dev/null
for ip in 127.0.0.2 127.0.0.3; do
	/usr/bin/python3 tests/downstream.py $ip 8443 https://$ip:8443 "$D/pub" "$D/tls.crt" "$D/tls.key" >"$D/ds.$ip" 2>&1 &
done
$NP listen 127.0.0.4 8443 >/dev/null &
for _ in $(seq 50); do grep -q READY "$D/ds.127.0.0.2" "$D/ds.127.0.0.3" 2>/dev/null && break; sleep 0.1; done

say "1. bound by the operator: demo-mcp may reach 127.0.0.2:8443 only"
$M run --config "$CFG" --policy demo-mcp -- bash -c '
	{ exec 3<>/dev/tcp/127.0.0.2/8443; } 2>/dev/null && echo "  connect 127.0.0.2:8443 -> allowed" || echo "  connect 127.0.0.2:8443 -> denied?!"
	{ exec 4<>/dev/tcp/127.0.0.4/8443; } 2>/dev/null && echo "  connect 127.0.0.4:8443 -> allowed?!" || echo "  connect 127.0.0.4:8443 -> denied (Operation not permitted)"'
sleep 1.2
show_events '.type == "egress"'

say "2. workload identity: tokens signed by the demo issuer, verified with its public key only"
mint() { jwt_sign EdDSA "$KEYDIR/issuer.pem" demo-1 "$(jwt_claims "$ISS" "repo:acme/$1:ref:refs/heads/main" 600 "\"repository\":\"acme/$1\"")" >"$D/$1.jwt"; }
mint github-mcp
mint slack-mcp
mint billing-mcp
for t in github-mcp slack-mcp billing-mcp; do
	echo "  token $t: $($M token verify --trust "$CFG" --policies policies/demo --token-file "$D/$t.jwt" --json |
		jq -r 'if .valid then "valid, selects policy " + .policy else "refused: " + .error end')"
done
for t in github-mcp slack-mcp; do
	echo "  workload with the $t token:"
	$M run --config "$CFG" --token-file "$D/$t.jwt" -- bash -c '
		for ip in 127.0.0.2 127.0.0.3; do
			{ exec 3<>/dev/tcp/$ip/8443; } 2>/dev/null && echo "    connect $ip:8443 -> allowed" || echo "    connect $ip:8443 -> denied"
			exec 3>&- 2>/dev/null || true
		done'
done
echo "  workload with the billing-mcp token (no policy names that repository):"
$M run --config "$CFG" --token-file "$D/billing-mcp.jwt" -- true 2>&1 | sed 's/^/    /' || true
sleep 1.2

say "the attestation events"
show_events '.type == "attest"'
say "the deny events, each naming the verified identity"
show_events '.type == "egress" and .identity != null'

say "3. names: demo-names allows api.demo.mcpf:8443; the workload's resolver is a local NSD"
# the workload's resolv.conf points at the demo's DNS server (a private mount namespace)
unshare -m sh -c 'mount -o bind "$0" /etc/resolv.conf && exec "$@"' "$D/resolv.conf" \
	$M run --config "$CFG" --policy demo-names -- bash -c '
	for name in api.demo.mcpf evil.demo.mcpf; do
		if ! getent hosts $name >/dev/null; then echo "  resolve $name -> refused (the query never left the host)"; continue; fi
		{ exec 3<>/dev/tcp/$name/8443; } 2>/dev/null && echo "  connect $name:8443 -> allowed ($(getent hosts $name | cut -d" " -f1), learned from the reply)" ||
			echo "  connect $name:8443 -> denied"
		exec 3>&- 2>/dev/null || true
	done
	{ exec 4<>/dev/tcp/127.0.0.4/8443; } 2>/dev/null && echo "  connect 127.0.0.4:8443 -> allowed?!" || echo "  connect 127.0.0.4:8443 (evil.demo.mcpf, never resolved) -> denied"'
sleep 1.2
show_events '.type == "dns" or (.type == "egress" and .policy == "demo-names")'

say "4. no secrets: the github workload's credential for its downstream, minted by the agent"
echo "  (the workload's environment holds no secret; the agent's signing keys are hidden from it)"
env -i PATH="$PATH" M="$M" S="$D/attest.sock" CA="$D/tls.crt" \
	$M run --config "$CFG" --token-file "$D/github-mcp.jwt" -- bash -c '
	t=$($M token get --attest-socket "$S" --audience https://127.0.0.2:8443) || exit 1
	echo "  token get --audience https://127.0.0.2:8443 -> a fresh ES256 JWT, claims:"
	p=$(echo "$t" | cut -d. -f2); while [ $((${#p} % 4)) -ne 0 ]; do p="$p="; done
	echo "$p" | basenc --base64url -d | jq -c . | sed "s/^/    /"
	echo "  GET https://127.0.0.2:8443/ with it -> $(curl -s --cacert "$CA" -H "Authorization: Bearer $t" https://127.0.0.2:8443/)"
	echo "  the same token to https://127.0.0.3:8443/ -> $(curl -s --max-time 3 --cacert "$CA" -H "Authorization: Bearer $t" https://127.0.0.3:8443/ || echo "denied by the kernel (not in its policy)")"
	$M token get --attest-socket "$S" --audience https://127.0.0.3:8443 2>&1 | sed "s/^/  token get --audience https:\/\/127.0.0.3:8443 -> /"' || true
outside=$(curl -s --cacert "$D/tls.crt" -H "Authorization: Bearer x.y.z" https://127.0.0.3:8443/)
echo "  (from outside the fence, 127.0.0.3 answers a bad token with: $outside)"
sleep 1.2
show_events '.type == "credential"'

say "status"
$M status --config "$CFG"
say "done: stopping the agent and uninstalling"
