#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes deploy/kubernetes/crds.yaml: the EgressPolicy (namespaced) and ClusterEgressPolicy
(cluster-scoped) CustomResourceDefinitions, whose `spec` is the policy spec of the files
(README, Policies), as one structural OpenAPI v3 schema written once here. The API server then
refuses a malformed policy at `kubectl apply`; what only the agent can judge (CIDR host bits,
a credential's host unreachable under its own egress, port ranges in order) it refuses on the
node. tests/manifests.sh checks the file is this script's output and that the schema and
`mcpfence policy check` agree on a corpus. Usage: scripts/crds.py [OUT]"""
import sys

import yaml

NAMESPACE = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
PORT = r"^[0-9]{1,5}(-[0-9]{1,5})?$"
# a matcher: a string (byte-exact) or {"glob": PATTERN}. A structural schema cannot say "string
# or object", so the node keeps its value as written and the agent judges its shape
MATCHER = {
    "x-kubernetes-preserve-unknown-fields": True,
    "description": "a string (exact) or {\"glob\": PATTERN}",
}


def string(max_len=None, pattern=None, min_len=1, enum=None):
    s = {"type": "string", "minLength": min_len}
    if max_len:
        s["maxLength"] = max_len
    if pattern:
        s["pattern"] = pattern
    if enum:
        s = {"type": "string", "enum": enum}
    return s


def obj(props, required=()):
    o = {"type": "object", "additionalProperties": False, "properties": props}
    if required:
        o["required"] = list(required)
    return o


def spec_schema(cluster):
    egress_rule = obj({
        "to": {"type": "array", "minItems": 1, "items": string(253)},
        "ports": {"type": "array", "minItems": 1,
                  # minimum and maximum bind numbers, pattern strings
                  "items": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}],
                            "minimum": 0, "maximum": 65535, "pattern": PORT}},
        "protocol": string(enum=["tcp", "udp", "any"]),
    }, required=["to"])
    exchange = obj({
        "token_endpoint": string(1024, r"^https://"),
        "audience": string(1024), "scope": string(1024), "client_id": string(1024),
        "ca_file": string(1024),
        "form": string(enum=["token-exchange", "client-assertion"]),
    }, required=["token_endpoint"])
    credential = obj({
        "audience": string(1024),
        "lifetime": string(8, r"^[0-9]+(s|m|h)$"),
        "claims": {"type": "array", "maxItems": 16, "items": string(64)},
        "hosts": {"type": "array", "minItems": 1, "items": string(261)},
        "exchange": exchange,
    }, required=["audience"])
    identity = obj({
        "issuer": string(),
        "audience": string(),
        "subject": MATCHER,
        "claims": {"type": "object", "additionalProperties": MATCHER},
    }, required=["issuer"])
    props = {
        "mode": string(enum=["enforce", "audit"]),
        "identity": identity,
        "egress": {"type": "array", "items": egress_rule},
        "credentials": {"type": "array", "maxItems": 64, "items": credential},
    }
    required = ["egress"]
    if cluster:
        props["namespaces"] = {"type": "array", "minItems": 1, "maxItems": 64,
                               "items": {"type": "string", "maxLength": 63,
                                         "pattern": NAMESPACE[:-1] + "|^\\*$"}}
        required.append("namespaces")
    return obj(props, required)


def crd(cluster):
    kind = "ClusterEgressPolicy" if cluster else "EgressPolicy"
    plural = kind.lower().replace("policy", "policies")
    columns = [
        {"name": "Mode", "type": "string", "jsonPath": ".spec.mode", "description": "enforce (the default) or audit"},
        {"name": "Rules", "type": "string", "jsonPath": ".spec.egress[*].to", "description": "where each egress rule goes"},
    ]
    if cluster:
        columns.append({"name": "Namespaces", "type": "string", "jsonPath": ".spec.namespaces"})
    columns.append({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"})
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.mcpfence.io", "labels": {"app.kubernetes.io/name": "mcpfence"}},
        "spec": {
            "group": "mcpfence.io",
            "scope": "Cluster" if cluster else "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": kind + "List",
                      "shortNames": ["cegp" if cluster else "egp"], "categories": ["mcpfence"]},
            "versions": [{
                "name": "v1", "served": True, "storage": True,
                "additionalPrinterColumns": columns,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "description": ("Egress allowed to the pods of " +
                                    ("the namespaces listed in spec.namespaces" if cluster else "this namespace") +
                                    " that select it (annotation, token): the spec of a policy file (README, Policies)"),
                    "required": ["spec"],
                    "properties": {
                        "apiVersion": {"type": "string"}, "kind": {"type": "string"},
                        "metadata": {"type": "object",
                                     "properties": {"name": {"type": "string", "maxLength": 63,
                                                             "pattern": r"^[a-z0-9][a-z0-9._-]*$"}}},
                        "spec": spec_schema(cluster),
                    }}},
            }],
        },
    }


def main():
    text = "# SPDX-License-Identifier: MIT\n# Generated by scripts/crds.py: edit that, then run it.\n"
    text += yaml.safe_dump_all([crd(False), crd(True)], sort_keys=False, width=100)
    if len(sys.argv) > 1:
        open(sys.argv[1], "w").write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
