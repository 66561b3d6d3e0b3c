#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bad input gets a clear error and changes nothing: malformed policies and configs at start
# and at reload, oversized policies, hostile control-socket clients and bind requests.
source "$(dirname "$0")/lib.sh"

# --- policy check
mkdir -p "$WORK/bad"
printf '{"apiVersion":"mcpfence/v1","kind":"EgressPolicy","metadata":{"name":"b"},"spec":{"egress":[{"to":["10.0.0.0/8"]},{"to":["1.2.3.4"]},{"to":["10.0.0.1"],"ports":["443","70000"]}]}}' >"$WORK/bad/port.json"
printf '{"apiVersion":"mcpfence/v1", "kind": ' >"$WORK/bad/trunc.json"
out=$("$MCPF" policy check "$WORK/bad/port.json" 2>&1); rc=$?
check "badinput: policy check exits 1 on an invalid policy" 1 "$rc"
echo "$out" | grep -qF "$WORK/bad/port.json: spec.egress[2].ports[1]: \"70000\" is not a port" &&
	pass "badinput: policy check names file and JSON path" || fail "badinput: message: $out"
out=$("$MCPF" policy check --json "$WORK/bad/trunc.json"); rc=$?
check "badinput: policy check --json reports errors as JSON" "1 false" "$rc $(echo "$out" | jq .ok)"
echo "$out" | jq -r '.errors[0]' | grep -q "trunc.json: line 1" && pass "badinput: truncated JSON names the line" ||
	fail "badinput: truncated: $out"

# --- an agent with a bad policy refuses to start and touches nothing
write_config
cp "$WORK/bad/port.json" "$WORK/policies/"
"$MCPF" agent --config "$CONFIG" >"$WORK/bad-start.log" 2>&1; rc=$?
check "badinput: agent refuses to start with an invalid policy" 1 "$rc"
grep -q 'spec.egress\[2\].ports\[1\]' "$WORK/bad-start.log" && pass "badinput: the start failure names the error" ||
	fail "badinput: start log: $(cat "$WORK/bad-start.log")"
[ ! -e "$BPFFS" ] && [ ! -e "$ROOT" ] && pass "badinput: nothing pinned, no cgroup created" ||
	fail "badinput: state left after a refused start"
rm "$WORK/policies/port.json"
echo '{"cgroup_root": "x", "polices": []}' >"$WORK/typo.json"
out=$("$MCPF" agent --config "$WORK/typo.json" 2>&1); rc=$?
check "badinput: a config with an unknown field is refused" 1 "$rc"
echo "$out" | grep -q "typo.json: polices: unknown field" && pass "badinput: the config error names file and field" ||
	fail "badinput: config error: $out"
for row in '{"kubernetes": {"api": "http://10.0.0.1", "node_name": "n"}}|kubernetes.api: an https URL is required' \
	'{"kubernetes": {"api": "https://10.0.0.1"}}|kubernetes.node_name: required' \
	'{"kubernetes": {"api": "https://10.0.0.1", "node_name": "n", "cgroup_driver": "cgroupsv2"}}|kubernetes.cgroup_driver: "cgroupfs" or "systemd"' \
	'{"kubernetes": {"api": "https://10.0.0.1", "node_name": "n", "namespaces": "mcp"}}|kubernetes.namespaces: must be an array' \
	'{"metrics": {"listen": "0.0.0.0:9464"}}|metrics.listen: "0.0.0.0:9464": a Unix socket path, or a loopback address with a port' \
	'{"metrics": {"listen": "127.0.0.1"}}|metrics.listen: "127.0.0.1": a Unix socket path, or a loopback address with a port' \
	'{"metrics": {"listen": "[::1]"}}|metrics.listen: "\[::1\]": a Unix socket path' \
	'{"metrics": {}}|metrics.listen: required' \
	'{"docker": {"socket": "docker.sock"}}|docker.socket: an absolute path' \
	'{"docker": {"sock": "/var/run/docker.sock"}}|docker.sock: unknown field' \
	'{"docker": true}|docker: must be an object' \
	'{"dns": {"queries_per_second": -1}}|dns.queries_per_second: must be an integer from 0 (unlimited) to 1000000' \
	'{"dns": {"new_names_per_minute": "300"}}|dns.new_names_per_minute: must be an integer from 0 (unlimited) to 1000000' \
	'{"bindings": [{"cgroup": "x", "hold": true, "policy": "p"}]}|bindings\[0\]: needs either "policy": NAME or "hold": true'; do
	echo "${row%%|*}" >"$WORK/k8s.json"
	out=$(env -u NODE_NAME -u KUBERNETES_SERVICE_HOST "$MCPF" agent --config "$WORK/k8s.json" 2>&1); rc=$?
	[ "$rc" = 1 ] && echo "$out" | grep -q "k8s.json: ${row#*|}" && pass "badinput: config ${row%%|*}: refused, naming the field" ||
		fail "badinput: config ${row%%|*}: rc $rc: $out"
done

# --- the kernel feature probe (uname must be there: the check below depends on it)
[ -n "$(uname -r)" ] || fail "badinput: uname -r prints nothing", and an agent that cannot load BPF refuses to start
out=$("$MCPF" probe --json); rc=$?
check "badinput: probe: this kernel can enforce (every hook loaded and attached)" "0 true true" \
	"$rc $(echo "$out" | jq '.can_enforce') $(echo "$out" | jq '.attach_tested')"
check "badinput: probe: all eight hooks reported" 8 "$(echo "$out" | jq '[.features | keys[] | select(startswith("hook "))] | length')"
# the one difference between the kernels we test: SO_PEERPIDFD arrived in 6.5
kv=$(uname -r | awk -F. '{ printf "%d", $1 * 100 + $2 }')
check "badinput: probe: SO_PEERPIDFD reported exactly on kernels 6.5 and later ($(uname -r))" \
	"$([ "$kv" -ge 605 ] && echo true || echo false)" "$(echo "$out" | jq '.features.SO_PEERPIDFD.ok')"
chmod 755 "$WORK"; chmod 644 "$CONFIG"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$MCPF" agent --config "$CONFIG" 2>&1); rc=$?
check "badinput: an agent without BPF privileges refuses to start" 1 "$rc"
echo "$out" | grep -q "lacks what enforcement needs: .*map ringbuf.*Refusing to start" &&
	pass "badinput: ... naming the missing features, never running without enforcement" ||
	fail "badinput: refusal message: $out"
[ ! -e "$BPFFS" ] && pass "badinput: ... and nothing was pinned" || fail "badinput: pinned after refusal"

# --- a running agent keeps its state through bad reloads
write_config '"max_prefixes": 1024, "bindings": [ { "cgroup": "'"$ROOT_REL"'/svc", "policy": "good" } ]'
write_policy good enforce '[ { "to": ["127.0.0.2"], "ports": ["8080"], "protocol": "tcp" } ]'
agent_start || { fail "badinput: agent start"; exit 1; }
listen 127.0.0.2 8080
state() { for m in mcpf_trie4 mcpf_trie6 mcpf_bindings mcpf_meta; do bpftool -j map dump pinned "$BPFFS/$m"; done | md5sum; }
good_state=$(state)
bad_policies=(
	'[ { "to": ["10.0.0.0/33"] } ]'
	'[ { "to": ["10.0.0.1"], "ports": ["99999"] } ]'
	'[ { "to": ["10.0.0.1"], "protocol": "sctp" } ]'
	'[ { "to": ["10.0.0.1"], "extra": true } ]'
	'{ "to": ["10.0.0.1"] }'
)
for i in "${!bad_policies[@]}"; do
	write_policy broken enforce "${bad_policies[$i]}"
	agent_reload
	check "badinput: reload with bad policy $i leaves the pinned state unchanged" "$good_state" "$(state)"
done
printf '{"apiVersion":"mcpfence/v1","kind":"EgressPolicy","metadata":{"name":"good"},"spec":{"egress":[]}}' >"$WORK/policies/dup.json"
rm -f "$WORK/policies/broken.json"
agent_reload
check "badinput: reload with a duplicate policy name leaves the state unchanged" "$good_state" "$(state)"
rm -f "$WORK/policies/dup.json"
# oversized: more prefixes than the tries hold; the kernel refuses part-way, the agent rolls back
python3 -c 'import json; print(json.dumps({"apiVersion":"mcpfence/v1","kind":"EgressPolicy","metadata":{"name":"huge"},"spec":{"egress":[{"to":["10.%d.%d.0/24" % (i >> 8, i & 255) for i in range(3000)]}]}}))' >"$WORK/policies/huge.json"
agent_reload
check "badinput: an oversized policy is rolled back, state unchanged" "$good_state" "$(state)"
grep -q "huge: writing 3000+0 prefixes to the kernel" "$WORK/agent.log" &&
	pass "badinput: the oversized policy's error names it and the limit" ||
	fail "badinput: no oversized error in the log"
rm -f "$WORK/policies/huge.json"
head -c $((65 << 20)) /dev/zero | tr '\0' ' ' >"$WORK/policies/big.json"
agent_reload
grep -q "big.json: larger than the limit of 64 MiB" "$WORK/agent.log" &&
	pass "badinput: a policy file over 64 MiB is refused by size" || fail "badinput: big file not refused"
check "badinput: ... and the state is unchanged" "$good_state" "$(state)"
rm -f "$WORK/policies/big.json"
check "badinput: after all that, enforcement is as before (allowed)" OK "$(in_cgroup svc "$NETPROBE" tcp 127.0.0.2 8080)"
check "badinput: after all that, enforcement is as before (denied)" EPERM "$(in_cgroup svc "$NETPROBE" tcp 127.0.0.3 8080)"

# --- the control socket
check "badinput: control socket is 0600 root" "600 root" "$(stat -c '%a %U' "$SOCK")"
req() { python3 - "$SOCK" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5)
try:
    s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode()); s.shutdown(socket.SHUT_WR)
    print(s.recv(65536).decode().strip())
except Exception as e:
    print(type(e).__name__)
PY
}
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
chmod 755 "$WORK"
out=$(as_nobody /usr/bin/python3 -c "
import socket; s = socket.socket(socket.AF_UNIX)
try: s.connect('$SOCK'); print('connected')
except Exception as e: print(type(e).__name__)")
check "badinput: a local user cannot even connect to the socket" PermissionError "$out"
chmod 666 "$SOCK" # pretend a careless operator opened it: SO_PEERCRED still refuses
out=$(as_nobody /usr/bin/python3 -c "
import socket, json; s = socket.socket(socket.AF_UNIX); s.connect('$SOCK')
s.sendall(b'{\"op\":\"bind\",\"cgroup\":\"$ROOT_REL/evil\",\"policy\":\"good\"}\n')
print(json.loads(s.recv(4096))['error'])")
echo "$out" | grep -q '"bind" needs a root peer (uid 65534 is not)' &&
	pass "badinput: a non-root peer cannot bind itself a policy (SO_PEERCRED)" || fail "badinput: nobody bind: $out"
chmod 600 "$SOCK"
echo "$(req 'not json')" | grep -q "malformed request" && pass "badinput: malformed request gets an error" ||
	fail "badinput: malformed request"
echo "$(req '{"op":"bind","cgroup":"/","policy":"good"}')" | grep -q "is not under the cgroup root" &&
	pass "badinput: binding a cgroup outside the root is refused" || fail "badinput: outside root"
echo "$(req '{"op":"bind","cgroup":"'"$ROOT_REL"'/../x","policy":"good"}')" | grep -q "is not a valid cgroup path" &&
	pass "badinput: a path with .. is refused" || fail "badinput: dotdot"
echo "$(req '{"op":"bind","cgroup":"'"$ROOT_REL"'/svc","policy":"nope"}')" | grep -q 'no policy named \\"nope\\"' &&
	pass "badinput: binding an unknown policy is refused" || fail "badinput: unknown policy"
for w in '"x"' '{"container": 7}' '{"a":"","b":"","c":"","d":"","e":"","f":"","g":"","h":"","i":""}'; do
	echo "$(req '{"op":"bind","cgroup":"'"$ROOT_REL"'/svc","policy":"good","workload":'"$w"'}')" |
		grep -q '\\"workload\\" must be an object of at most 8 strings' &&
		pass "badinput: a bind with workload $w is refused" || fail "badinput: workload $w: $(req '{"op":"bind","cgroup":"'"$ROOT_REL"'/svc","policy":"good","workload":'"$w"'}')"
done
echo "$(req '{"op":"frobnicate"}')" | grep -q 'unknown op' && pass "badinput: unknown op is refused" ||
	fail "badinput: unknown op"
python3 -c "
import socket; s = socket.socket(socket.AF_UNIX); s.connect('$SOCK')
try: s.sendall(b'x' * (1 << 20))
except Exception: pass" 2>/dev/null
check "badinput: after a 1 MiB line without newline the agent still answers" true \
	"$(req '{"op":"ping"}' | jq .ok)"
check "badinput: state unchanged after the socket abuse" "$good_state" "$(state)"
agent_stop && pass "badinput: agent exits cleanly (no sanitizer report)" || fail "badinput: agent exit status $?"

# --- the OCI hook's stdin is bounded: a runtime's state is a few KiB
out=$(head -c 2000000 /dev/zero | tr '\0' ' ' | "$MCPF" oci-hook 2>&1); rc=$?
[ "$rc" != 0 ] && echo "$out" | grep -q "the container state on stdin is over 1048576 bytes" &&
	pass "badinput: oci-hook refuses a state over 1 MiB, saying so" || fail "badinput: oci-hook: rc $rc: $out"
out=$(echo '{"pid": 1, "annotations": {"mcpfence.io/policy": "p"}' | "$MCPF" oci-hook 2>&1); rc=$?
[ "$rc" != 0 ] && echo "$out" | grep -q "the container state on stdin" &&
	pass "badinput: oci-hook refuses a state that is not JSON" || fail "badinput: oci-hook: rc $rc: $out"
