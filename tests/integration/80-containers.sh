#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Containers and pods end to end, with a real OCI runtime (runc, as docker, podman and
# containerd use it). The agent runs inside its own image (make image) with the DaemonSet's
# capabilities (read from deploy/kubernetes/daemonset.yaml) and host mounts, in a private
# cgroup namespace as containerd starts it. It confines "pods": containers of a locally built
# MCP server image (Debian's node + tests/mcp/server.js) started by runc into kubelet-shaped
# cgroups, for both cgroup drivers and all three QoS classes, in a pod network namespace:
#   - attesting with a Kubernetes-format token (the pod uid claim matches its cgroup)
#   - selected by annotation, bound by the OCI hook before the container's process starts
#   - held by annotation (attest required) and never attesting: denied everything
#   - not selected: left alone
# A token replayed from another pod is refused; the agent's container killed and restarted
# changes nothing. The attested MCP server, with no secret of its own, calls an HTTPS API with a
# credential the agent mints for it (issue 19). (The systemd driver's cgroups are made by runc's cgroupfs driver with the
# systemd driver's names: this machine has no systemd to own them. The kubelet itself, which
# cannot be installed here, is not part of it: runc plays its part.)
source "$(dirname "$0")/lib.sh"
source "$REPO/scripts/jwt.sh"

for t in runc umoci skopeo node; do
	command -v "$t" >/dev/null || { skip "containers: $t is not installed (scripts/install-deps.sh installs it; the vmtest guests have no container runtime)"; exit 0; }
done
/usr/bin/python3 -c 'import yaml' 2>/dev/null || { fail "containers: python3-yaml is missing (install-deps installs it)"; exit 1; }

RUNC=(runc --root "$WORK/runc")
CTRS=()
CLEANUP_FIRST+=('for c in "${CTRS[@]}"; do "${RUNC[@]}" delete -f "$c" >/dev/null 2>&1; done')

# --- images, built locally: the agent's (make image) and the MCP server's
make -s -C "$REPO" image >"$WORK/image.log" 2>&1 || { fail "containers: make image: $(tail -5 "$WORK/image.log")"; exit 1; }
"$REPO/tests/mcp/image.sh" "$REPO/build/image-mcp" >"$WORK/image-mcp.log" 2>&1 ||
	{ fail "containers: MCP server image: $(tail -5 "$WORK/image-mcp.log")"; exit 1; }
size=$(stat -c %s "$REPO/build/image/mcpfence.tar")
[ "$size" -lt $((40 << 20)) ] && pass "containers: make image: the agent image is $((size >> 10)) KiB" ||
	fail "containers: the agent image is $((size >> 20)) MiB"
out=$(skopeo inspect --config "oci:$REPO/build/image/oci:latest" | jq -c '[.config.Entrypoint, .config.Cmd]')
skopeo inspect "docker-archive:$REPO/build/image/mcpfence.tar" >/dev/null 2>&1 &&
	pass "containers: the docker-archive (docker load, podman load, ctr images import) reads back" ||
	fail "containers: the docker-archive does not read back"
check "containers: the image's entrypoint is the agent" '[["/usr/bin/mcpfence"],["agent","--config","/etc/mcpfence/config.json"]]' "$out"

# --- the node: a pod network (a namespace, the endpoints on its far side), keys, config
netns_setup || { fail "containers: netns"; exit 1; }
http_servers 198.51.100.1 8080 8081 || { fail "containers: the HTTP servers did not start"; exit 1; }
ISS="https://kubernetes.default.svc.mcpfence.test"
mkdir -p "$WORK/etc/policies" "$WORK/run" "$WORK/attest" "$WORK/log" "$WORK/tokens" "$WORK/lib" "$WORK/ca"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=downstream \
	-addext "subjectAltName=IP:198.51.100.1" -keyout "$WORK/ds.key" -out "$WORK/ca/ds.crt" 2>/dev/null
jwt_keygen RS256 "$WORK/k1.pem"
echo "{\"keys\":[$(jwt_jwk RS256 "$WORK/k1.pem" k1)]}" >"$WORK/etc/issuer.jwks"
cat >"$WORK/etc/config.json" <<JSON
{ "cgroup_root": "$ROOT_REL/node", "bpffs": "$BPFFS", "unbound": "allow",
  "socket": "/run/mcpfence/agent.sock", "attest_socket": "/run/mcpfence-attest/attest.sock",
  "policies": ["policies/"],
  "events": { "stdout": false, "file": "/var/log/mcpfence/events.jsonl" },
  "issuer": { "url": "https://mcpfence.test/node" },
  "trust": { "issuers": [ { "issuer": "$ISS", "jwks_file": "issuer.jwks", "kubernetes": true } ] } }
JSON
cat >"$WORK/etc/policies/github-mcp.json" <<JSON
{ "apiVersion": "mcpfence/v1", "kind": "EgressPolicy", "metadata": { "name": "github-mcp" },
  "spec": { "identity": { "issuer": "$ISS", "audience": "mcpfence",
              "claims": { "kubernetes.io.namespace": "mcp", "kubernetes.io.serviceaccount.name": "github-mcp" } },
            "egress": [ { "to": ["198.51.100.1"], "ports": ["8080", "8443-8444"], "protocol": "tcp" } ],
            "credentials": [ { "audience": "https://198.51.100.1:8443", "lifetime": "5m" } ] } }
JSON
cat >"$WORK/etc/policies/annotated.json" <<JSON
{ "apiVersion": "mcpfence/v1", "kind": "EgressPolicy", "metadata": { "name": "annotated", "namespace": "mcp" },
  "spec": { "egress": [ { "to": ["198.51.100.1"], "ports": ["8080"], "protocol": "tcp" } ] } }
JSON
SOCK="$WORK/run/agent.sock" # the control socket, as the host sees it
EVENTS="$WORK/log/events.jsonl"
CONFIG="$WORK/config.host.json" # for status and uninstall from the host
sed "s|/run/mcpfence/agent.sock|$SOCK|; s|/run/mcpfence-attest/attest.sock|$WORK/attest/attest.sock|; s|\"policies/\"|\"$WORK/etc/policies/\"|; s|\"issuer.jwks\"|\"$WORK/etc/issuer.jwks\"|; s|/var/log/mcpfence/events.jsonl|$EVENTS|; s|\"url\": \"https://mcpfence.test/node\"|&, \"keys\": \"$WORK/lib/issuer\"|" \
	"$WORK/etc/config.json" >"$CONFIG"

# bundle IMAGE_DIR NAME: an OCI bundle of the image, for runc
bundle() {
	rm -rf "$WORK/b/$2"
	mkdir -p "$WORK/b"
	umoci unpack --image "$1/oci:latest" "$WORK/b/$2" >/dev/null
}

# --- the agent's container: the DaemonSet's capabilities and mounts, translated for runc
CAPS=$(/usr/bin/python3 -c '
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d.get("kind") == "DaemonSet":
        c = d["spec"]["template"]["spec"]["containers"][0]["securityContext"]
        assert not c.get("privileged"), "privileged"
        print(" ".join("CAP_" + x for x in c["capabilities"]["add"]))' "$REPO/deploy/kubernetes/daemonset.yaml")
[ -n "$CAPS" ] && pass "containers: the DaemonSet names its capabilities and is not privileged: $CAPS" ||
	{ fail "containers: no capabilities in the DaemonSet"; exit 1; }
agent_container() {
	bundle "$REPO/build/image" agent
	jq --argjson caps "$(printf '%s\n' $CAPS | jq -R . | jq -sc .)" \
		--arg cg "/$ROOT_REL/system/mcpfence-agent" --arg work "$WORK" --argjson nofile "$(ulimit -Hn)" '
		.process.terminal = false | .process.capabilities = {bounding: $caps, effective: $caps, permitted: $caps}
		| .root.readonly = true  # readOnlyRootFilesystem
		| .process.rlimits = [{type: "RLIMIT_NOFILE", hard: $nofile, soft: $nofile}]
		# hostPID: no pid namespace; a private cgroup namespace, as containerd makes on cgroup v2
		| .linux.namespaces = [.linux.namespaces[] | select(.type != "pid")] + [{type: "cgroup"}]
		| .linux.cgroupsPath = $cg
		| .mounts = [.mounts[] | select(.destination != "/sys/fs/cgroup")] + [
			{destination: "/sys/fs/cgroup", type: "bind", source: "/sys/fs/cgroup", options: ["rbind", "rw"]},
			{destination: "/sys/fs/bpf", type: "bind", source: "/sys/fs/bpf", options: ["rbind", "rw", "rslave"]},
			{destination: "/run/mcpfence", type: "bind", source: ($work + "/run"), options: ["rbind", "rw"]},
			{destination: "/run/mcpfence-attest", type: "bind", source: ($work + "/attest"), options: ["rbind", "rw"]},
			{destination: "/etc/mcpfence", type: "bind", source: ($work + "/etc"), options: ["rbind", "ro"]},
			{destination: "/var/log/mcpfence", type: "bind", source: ($work + "/log"), options: ["rbind", "rw"]},
			{destination: "/var/lib/mcpfence", type: "bind", source: ($work + "/lib"), options: ["rbind", "rw"]},
			{destination: "/etc/resolv.conf", type: "bind", source: "/etc/resolv.conf", options: ["rbind", "ro"]}]
		' "$WORK/b/agent/config.json" >"$WORK/b/agent/c.json" && mv "$WORK/b/agent/c.json" "$WORK/b/agent/config.json"
	CTRS+=(mcpf-agent-$$)
	"${RUNC[@]}" run -d --bundle "$WORK/b/agent" "mcpf-agent-$$" >>"$WORK/agent.log" 2>&1
}
running() { "$MCPF" status --config "$CONFIG" --json 2>/dev/null | grep -q '"running": true'; }
t0=$(date +%s%N)
agent_container || { fail "containers: runc run agent: $(tail -5 "$WORK/agent.log")"; exit 1; }
wait_for 20 running || { fail "containers: the agent in its image did not start: $(tail -8 "$WORK/agent.log")"; exit 1; }
pass "containers: the agent runs in its image under runc with the DaemonSet's capabilities; enforcing $(( ($(date +%s%N) - t0) / 1000000 )) ms after start"
grep -q "Enforcement canary passed" "$WORK/agent.log" && grep -q "Joined the host's cgroup namespace" "$WORK/agent.log" &&
	pass "containers: ... it joined the host's cgroup namespace and its canary passed" ||
	fail "containers: no join or canary in the agent's log: $(head -8 "$WORK/agent.log" | tr '\n' ' ')"
out=$("${RUNC[@]}" exec "mcpf-agent-$$" /usr/bin/mcpfence probe --json 2>&1)
echo "$out" | jq -e '.can_enforce == true' >/dev/null && pass "containers: mcpfence probe works inside the image" ||
	fail "containers: probe in the image: $(echo "$out" | jq -c '[.features | to_entries[] | select(.value.ok != true)], .attach_tested' 2>&1 | head -c 600)"

# --- pods. pod DRIVER QOS NAME MODE: a pod cgroup path (kubelet-shaped), an MCP server in it
pod_path() { # DRIVER QOS UID
	local u=${3//-/_}
	case "$1/$2" in
	cgroupfs/guaranteed) echo "node/kubepods/pod$3" ;;
	cgroupfs/*) echo "node/kubepods/$2/pod$3" ;;
	systemd/guaranteed) echo "node/kubepods.slice/kubepods-pod$u.slice" ;;
	systemd/*) echo "node/kubepods.slice/kubepods-$2.slice/kubepods-$2-pod$u.slice" ;;
	esac
}
k8s_token() { # POD_UID -> a projected service-account token for pod POD_UID
	jwt_sign RS256 "$WORK/k1.pem" k1 "$(jwt_claims "$ISS" "system:serviceaccount:mcp:github-mcp" 600 \
		'"kubernetes.io":{"namespace":"mcp","serviceaccount":{"name":"github-mcp"},"pod":{"name":"gh","uid":"'"$1"'"}}')"
}
FETCHES=('http_get {"url":"http://198.51.100.1:8080/"}' 'http_get {"url":"http://198.51.100.1:8081/"}')
# mcp_call POD_CGROUP CTR TOKEN_POD ANNOTATIONS_JSON [CALL...]: run the MCP server in a new
# container of the pod; it attests when TOKEN_POD is set; each CALL ("TOOL ARGS_JSON") is a tool
# call, by default: fetch the allowed and the denied endpoint. Prints each call's text.
mcp_call() {
	local cg=$1 ctr=$2 tok=$3 ann=$4 id="mcpf-$$-$2" n=1 call
	shift 4
	[ $# -gt 0 ] || set -- "${FETCHES[@]}"
	bundle "$REPO/build/image-mcp" "$ctr"
	mkdir -p "$WORK/tokens/$ctr"
	[ -n "$tok" ] && k8s_token "$tok" >"$WORK/tokens/$ctr/mcpfence"
	jq --arg cg "/$ROOT_REL/$cg/$id" --arg work "$WORK" --arg ctr "$ctr" --arg netns "/var/run/netns/$NETNS" \
		--arg hook "$MCPF" --argjson ann "$ann" --arg tok "$tok" '
		.process.terminal = false | .process.user = {uid: 1000, gid: 1000}
		| .process.capabilities = {bounding: [], effective: [], permitted: []}
		| .process.env += ["MCPF_ATTEST_SOCKET=/run/mcpfence-attest/attest.sock",
			"NODE_EXTRA_CA_CERTS=/etc/downstream-ca/ds.crt"]
		| .process.env += (if $tok != "" then ["MCPF_TOKEN_FILE=/var/run/secrets/tokens/mcpfence"] else [] end)
		| .linux.namespaces = [.linux.namespaces[] | select(.type != "network")] + [{type: "network", path: $netns}, {type: "cgroup"}]
		| .linux.cgroupsPath = $cg | .annotations = $ann
		| .hooks.createRuntime = [{path: $hook, args: ["mcpfence", "oci-hook", "--agent-socket", ($work + "/run/agent.sock")]}]
		| .mounts += [
			{destination: "/run/mcpfence-attest", type: "bind", source: ($work + "/attest"), options: ["rbind", "ro"]},
			{destination: "/var/run/secrets/tokens", type: "bind", source: ($work + "/tokens/" + $ctr), options: ["rbind", "ro"]},
			{destination: "/etc/downstream-ca", type: "bind", source: ($work + "/ca"), options: ["rbind", "ro"]}]
		' "$WORK/b/$ctr/config.json" >"$WORK/b/$ctr/c.json" && mv "$WORK/b/$ctr/c.json" "$WORK/b/$ctr/config.json"
	CTRS+=("$id")
	{
		echo '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}'
		for call in "$@"; do
			n=$((n + 1))
			jq -cn --argjson id $n --arg tool "${call%% *}" --argjson args "${call#* }" \
				'{jsonrpc: "2.0", id: $id, method: "tools/call", params: {name: $tool, arguments: $args}}'
		done
	} | timeout 30 "${RUNC[@]}" run --bundle "$WORK/b/$ctr" "$id" >"$WORK/$ctr.out" 2>"$WORK/$ctr.err"
	local rc=$?
	"${RUNC[@]}" delete -f "$id" >/dev/null 2>&1
	if [ "$rc" -ne 0 ]; then
		echo "exit=$rc $(tr '\n' ' ' <"$WORK/$ctr.err" | head -c 300)"
		return
	fi
	jq -s -r 'map(select(.id >= 2)) | sort_by(.id)[] | .result.content[0].text' "$WORK/$ctr.out" | xargs
}
# as containerd and CRI-O annotate a pod's containers: the hook names the pod in its events
ANN_POLICY='{"mcpfence.io/policy": "annotated", "io.kubernetes.pod.namespace": "mcp", "io.kubernetes.pod.name": "annotated"}'
ANN_HOLD='{"mcpfence.io/attest": "required"}'
declare -A POD
i=0
for row in "cgroupfs guaranteed token" "cgroupfs burstable annotation" "cgroupfs besteffort none" \
	"systemd guaranteed annotation" "systemd burstable none" "systemd besteffort token" \
	"cgroupfs burstable held" "systemd guaranteed held"; do
	set -- $row
	i=$((i + 1))
	uid=$(cat /proc/sys/kernel/random/uuid)
	cg=$(pod_path "$1" "$2" "$uid")
	POD[$3$i]=$cg
	case "$3" in
	token) got=$(mcp_call "$cg" "p$i" "$uid" "$ANN_HOLD"); want="HTTP 200 EPERM" ;;
	annotation) got=$(mcp_call "$cg" "p$i" "" "$ANN_POLICY"); want="HTTP 200 EPERM" ;;
	held) got=$(mcp_call "$cg" "p$i" "" "$ANN_HOLD"); want="EPERM EPERM" ;;
	none) got=$(mcp_call "$cg" "p$i" "" '{}'); want="HTTP 200 HTTP 200" ;;
	esac
	check "pods: $1 driver, $2 QoS, $3: the MCP server gets (allowed, other endpoint)" "$want" "$got"
	case "$3" in token) TOKEN_POD=$uid TOKEN_CG=$cg ;; annotation) ANN_CG=$cg ANN_CTR="mcpf-$$-p$i" ;; none) NONE_CG=$cg ;; esac
done
check "pods: status shows the attested pod bound as a pod, with its identity" "github-mcp system:serviceaccount:mcp:github-mcp" \
	"$("$MCPF" status --config "$CONFIG" --json | jq -r --arg cg "/$ROOT_REL/$TOKEN_CG" '.bindings[] | select(.cgroup == $cg) | [.policy, .identity.sub] | join(" ")')"
ev=$(jq -c --arg cg "/$ROOT_REL/$ANN_CG/" 'select(.type == "egress" and .verdict == "deny" and (.cgroup | startswith($cg)))' "$EVENTS" | head -1)
echo "$ev" | jq -e --arg id "$ANN_CTR" '(.cgroup | endswith($id)) and .workload.pod == "mcp/annotated"' >/dev/null &&
	pass "pods: the deny event names the container (its cgroup), the pod and the policy: $(echo "$ev" | jq -c '{cgroup, workload, dst, dport, policy, comm}')" ||
	fail "pods: no deny event naming the container: $(tail -3 "$EVENTS")"
[ "$(events_where '.type == "egress" and (.cgroup | contains("'"$NONE_CG"'"))')" -eq 0 ] &&
	pass "pods: the pod nobody selected left no event" || fail "pods: events from an unselected pod"

# --- no secrets past the fence: the attested server calls an HTTPS API with a minted credential
"$MCPF" issuer export "$WORK/pub" --config "$CONFIG" >/dev/null || fail "credentials: issuer export"
for port in 8443 8444; do
	/usr/bin/python3 "$REPO/tests/downstream.py" 198.51.100.1 $port "https://198.51.100.1:$port" "$WORK/pub" \
		"$WORK/ca/ds.crt" "$WORK/ds.key" >"$WORK/ds.$port.out" 2>&1 &
	BG_PIDS+=($!)
	wait_ready "$WORK/ds.$port.out" || fail "credentials: downstream $port did not start"
done
A8443='{"url":"https://198.51.100.1:8443/","audience":"https://198.51.100.1:8443"}'
CALLS=("api_get $A8443" 'api_get {"url":"https://198.51.100.1:8444/","audience":"https://198.51.100.1:8443"}'
	'api_get {"url":"https://198.51.100.1:8443/"}' 'http_get {"url":"http://198.51.100.1:8081/"}')
check "credentials: the MCP server image with no secret: its credential opens its API (200), the same token is refused by another API (401), forwarding its own token is refused (401), a host outside the policy is denied by the kernel" \
	"HTTP 200 HTTP 401 HTTP 401 EPERM" "$(mcp_call "$TOKEN_CG" cred "$TOKEN_POD" "$ANN_HOLD" "${CALLS[@]}")"
env=$(jq -r '.process.env[] | split("=")[0]' "$WORK/b/cred/config.json" | grep -viE '^(PATH|TERM|HOME|MCPF_ATTEST_SOCKET|MCPF_TOKEN_FILE|NODE_EXTRA_CA_CERTS)$' | xargs)
aud=$(cut -d. -f2 "$WORK/tokens/cred/mcpfence" | tr '_-' '/+' | base64 -d 2>/dev/null | jq -r .aud)
check "credentials: ... its environment holds no other variable, its only token is its projected identity (aud mcpfence)" \
	" mcpfence" "$env $aud"
check "credentials: ... both credentials it asked for have their event, naming the pod's identity and policy" 2 \
	"$(events_where '.type == "credential" and .result == "ok" and .policy == "github-mcp" and .audience == "https://198.51.100.1:8443" and .identity.sub == "system:serviceaccount:mcp:github-mcp" and (.cgroup | contains("'"$TOKEN_CG"'"))')"
check "credentials: another pod cannot obtain it: bound to a policy without it, unselected" \
	"refused audience_not_granted refused not_bound" \
	"$(mcp_call "$ANN_CG" cred-ann "" '{}' "api_get $A8443") $(mcp_call "$NONE_CG" cred-none "" '{}' "api_get $A8443")"

# --- the hook keeps what identity established, and scopes an annotation to the pod's namespace
check "hook: a later container of the attested pod, annotated attest=required: the pod keeps its attested binding" \
	"HTTP 200 EPERM" "$(mcp_call "$TOKEN_CG" second "" "$ANN_HOLD")"
check "hook: ... status still shows the identity" "github-mcp system:serviceaccount:mcp:github-mcp" \
	"$("$MCPF" status --config "$CONFIG" --json | jq -r --arg cg "/$ROOT_REL/$TOKEN_CG" '.bindings[] | select(.cgroup == $cg) | [.policy, .identity.sub] | join(" ")')"
OTHER_CG=$(pod_path cgroupfs burstable "$(cat /proc/sys/kernel/random/uuid)")
check "hook: a pod of namespace other annotated with mcp's policy is held, not bound to it" "EPERM EPERM" \
	"$(mcp_call "$OTHER_CG" other "" '{"mcpfence.io/policy": "annotated", "io.kubernetes.cri.sandbox-namespace": "other", "io.kubernetes.cri.sandbox-name": "o-0"}')"
check "hook: ... its hold event says why (the namespace from containerd's annotation)" 1 \
	"$(events_where '.type == "policy" and .action == "hold" and .reason == "no policy \"annotated\" in namespace other" and (.cgroup | contains("'"$OTHER_CG"'"))')"
[ "$(events_where '.type == "egress" and .verdict == "deny" and .workload.pod == "other/o-0"')" -ge 1 ] &&
	pass "hook: ... its deny events name the pod from containerd's annotations (other/o-0)" ||
	fail "hook: no deny event naming other/o-0: $(tail -2 "$EVENTS")"

# a token replayed from another pod: refused, and that pod stays where it was (left alone)
other=$(pod_path cgroupfs burstable "$(cat /proc/sys/kernel/random/uuid)")
got=$(mcp_call "$other" replay "$TOKEN_POD" '{}')
echo "$got" | grep -q "exit=3 .*pod_mismatch" && pass "pods: a token replayed from another pod is refused (pod_mismatch)" ||
	fail "pods: replay: $got"

# --- the agent's container killed: nothing changes while it is gone, or after it is back
"${RUNC[@]}" kill "mcpf-agent-$$" KILL
wait_for 5 eval '! running'
"${RUNC[@]}" delete -f "mcpf-agent-$$" >/dev/null 2>&1
check "restart: agent gone: the annotated pod's new container is still confined" "HTTP 200 EPERM" \
	"$(mcp_call "$ANN_CG" ann-2 "" '{}')"
check "restart: agent gone: the attested pod still confined" "HTTP 200 EPERM" "$(mcp_call "$TOKEN_CG" tok-2 "" '{}')"
got=$(mcp_call "$(pod_path cgroupfs burstable "$(cat /proc/sys/kernel/random/uuid)")" ann-3 "" "$ANN_POLICY")
echo "$got" | grep -q "exit=" && pass "restart: agent gone: an annotated container is not started (the hook fails closed)" ||
	fail "restart: an annotated container started without the agent: $got"
before=$(jq -c '[.bindings[] | {cgroup, policy}] | sort' <<<"$("$MCPF" status --config "$CONFIG" --json)")
t0=$(date +%s%N)
agent_container || fail "restart: runc run: $(tail -3 "$WORK/agent.log")"
wait_for 20 running || fail "restart: the agent did not come back: $(tail -5 "$WORK/agent.log")"
pass "restart: the agent's container is back, enforcing after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
check "restart: the bindings are the same as before" "$before" \
	"$(jq -c '[.bindings[] | {cgroup, policy}] | sort' <<<"$("$MCPF" status --config "$CONFIG" --json)")"
check "restart: the attested pod: unchanged" "HTTP 200 EPERM" "$(mcp_call "$TOKEN_CG" tok-3 "" '{}')"
check "restart: the attested pod's credential still opens its API: the signing keys survived in /var/lib/mcpfence" \
	"HTTP 200" "$(mcp_call "$TOKEN_CG" cred-2 "" '{}' "api_get $A8443")"
check "restart: the pod nobody selected: still left alone" "HTTP 200 HTTP 200" "$(mcp_call "$NONE_CG" none-2 "" '{}')"
"${RUNC[@]}" kill "mcpf-agent-$$" TERM
wait_for 10 eval '! running' && pass "containers: the agent's container stops on SIGTERM" || fail "containers: the agent did not stop"
