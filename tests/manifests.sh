#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Kubernetes manifests, checked without a cluster: kustomize (kubectl's, client side) must
# build them, every object must be well formed, and the DaemonSet must keep the promises
# docs/kubernetes.md makes (least privilege, the host mounts, readiness, no uninstall on stop).
# The config and policies they carry must pass mcpfence's own checks.
set -u
cd "$(dirname "$0")/.."
MCPF=${MCPF:-build/mcpfence}
pass() { echo "PASS manifests: $*"; }
fail() { echo "FAIL manifests: $*"; }
command -v kubectl >/dev/null || { fail "kubectl is missing (install-deps installs Debian's kubernetes-client)"; exit 1; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

if kubectl kustomize deploy/kubernetes >"$OUT/all.yaml" 2>"$OUT/err"; then
	pass "kubectl kustomize builds deploy/kubernetes ($(grep -c '^kind:' "$OUT/all.yaml") objects)"
else
	fail "kubectl kustomize: $(cat "$OUT/err")"
	exit 1
fi
/usr/bin/python3 - "$OUT/all.yaml" "$OUT" <<'PY'
import json, os, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
out = sys.argv[2]
def check(ok, what):
    print(("PASS" if ok else "FAIL") + " manifests: " + what)
for d in docs:
    m = d.get("metadata", {})
    cluster = d.get("kind") in ("Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition")
    check(d.get("apiVersion") and d.get("kind") and m.get("name") and
          (m.get("namespace") is None if cluster else m.get("namespace") == "mcpfence-system"),
          f"{d.get('kind')}/{m.get('name')}: apiVersion, kind, name" + ("" if cluster else ", namespace mcpfence-system"))
ds = next(d for d in docs if d["kind"] == "DaemonSet")
pod = ds["spec"]["template"]["spec"]
c = pod["containers"][0]
sc = c["securityContext"]
check(not sc.get("privileged") and sc.get("allowPrivilegeEscalation") is False,
      "the agent is not privileged and cannot escalate")
check(sc["capabilities"]["drop"] == ["ALL"] and
      set(sc["capabilities"]["add"]) == {"BPF", "PERFMON", "NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE", "DAC_READ_SEARCH"},
      "capabilities: drop ALL, add exactly the six the docs explain")
check(pod.get("hostPID") is True and not pod.get("hostNetwork"), "hostPID (attestation, the host's cgroup namespace), no hostNetwork")
vols = {v["name"]: v for v in pod["volumes"]}
mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
check(all(m["name"] in vols for m in c["volumeMounts"]), "every volumeMount has its volume")
def host(path):
    m = mounts.get(path)
    return m and vols[m["name"]].get("hostPath", {}).get("path")
check(host("/sys/fs/cgroup") == "/sys/fs/cgroup" and not mounts["/sys/fs/cgroup"].get("readOnly"),
      "the host's cgroup tree, writable")
check(host("/sys/fs/bpf") == "/sys/fs/bpf" and mounts["/sys/fs/bpf"].get("mountPropagation") == "HostToContainer",
      "the host's bpffs with HostToContainer propagation")
check(host("/run/mcpfence-attest") == "/run/mcpfence-attest" and host("/run/mcpfence") == "/run/mcpfence",
      "the attestation socket directory (for pods) apart from the control socket's")
probe = c.get("readinessProbe", {}).get("exec", {}).get("command", [])
check(probe[:2] == ["/usr/bin/mcpfence", "status"] and "--ready" in probe, "readiness: mcpfence status --ready (the canary passed)")
stop = json.dumps(c.get("lifecycle", {}))
check("uninstall" not in stop, "nothing on stop removes enforcement")
cms = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
for v in vols.values():
    if "configMap" in v and v["configMap"]["name"] != "mcpfence-issuer-keys":  # made by install.sh
        check(v["configMap"]["name"] in cms, f"ConfigMap {v['configMap']['name']} is in the manifests")
rules = [r for d in docs if d["kind"] == "ClusterRole" and d["metadata"]["name"] == "mcpfence-agent" for r in d["rules"]]
check(rules == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": ["mcpfence.io"], "resources": ["egresspolicies", "clusteregresspolicies"],
                 "verbs": ["get", "list", "watch"]},
                {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]}],
      "RBAC: the agent reads pods and policy resources and creates Events, nothing else")

env = {e["name"]: e for e in c.get("env", [])}
check(env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName",
      "NODE_NAME from spec.nodeName: the agent watches its own node's pods")
cfg = json.loads(cms["mcpfence-config"]["data"]["config.json"])
check(cfg["kubernetes"].get("policies") is True and host("/var/lib/mcpfence") == "/var/lib/mcpfence",
      "the config watches the policy resources (kubernetes.policies); their cache and the issuer's keys on the node's /var/lib/mcpfence")
check(cfg["attest_socket"].startswith("/run/mcpfence-attest/") and cfg["socket"].startswith("/run/mcpfence/"),
      "the config's sockets are on the mounted directories")
os.makedirs(f"{out}/policies")
for k, v in cms["mcpfence-policies"]["data"].items():
    open(f"{out}/policies/{k}", "w").write(v)
PY
if "$MCPF" policy check "$OUT/policies" >"$OUT/check" 2>&1; then
	pass "the policies in the ConfigMap pass mcpfence policy check"
else
	fail "policy check: $(cat "$OUT/check")"
fi

# The policy resources (issue 20): the CustomResourceDefinitions are scripts/crds.py's output,
# their schemas agree with policy check on the corpus, and a team's editor role stays in its
# namespace's EgressPolicies
/usr/bin/python3 scripts/crds.py "$OUT/crds.yaml"
cmp -s "$OUT/crds.yaml" deploy/kubernetes/crds.yaml && pass "deploy/kubernetes/crds.yaml is what scripts/crds.py writes" ||
	fail "deploy/kubernetes/crds.yaml differs from scripts/crds.py's output: run it"
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null || { fail "python3-jsonschema is missing (install-deps installs it)"; exit 0; }
/usr/bin/python3 tests/crd/check.py deploy/kubernetes/crds.yaml "$MCPF" | sed 's/^\(PASS\|FAIL\) crd: /\1 manifests: /'
/usr/bin/python3 - deploy/kubernetes/policy-editor.yaml deploy/kubernetes/crds.yaml <<'PY'
import sys, yaml
role = next(d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "ClusterRole")
crds = [d for d in yaml.safe_load_all(open(sys.argv[2])) if d]
ok = role["rules"] == [{"apiGroups": ["mcpfence.io"], "resources": ["egresspolicies"],
                        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}]
ok &= {d["spec"]["names"]["plural"]: d["spec"]["scope"] for d in crds} == \
      {"egresspolicies": "Namespaced", "clusteregresspolicies": "Cluster"}
print(("PASS" if ok else "FAIL") + " manifests: the editor role grants a namespace's EgressPolicies only "
      "(namespaced resource, bound by RoleBinding); ClusterEgressPolicies are cluster-scoped")
PY
