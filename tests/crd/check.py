#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The CRD schemas (deploy/kubernetes/crds.yaml) and `mcpfence policy check` judged side by side
on tests/crd/corpus.py, with Debian's python3-jsonschema standing in for the API server's
OpenAPI validation. Prints PASS/FAIL lines. Usage: check.py CRDS_YAML MCPFENCE"""
import json
import os
import subprocess
import sys
import tempfile

import jsonschema
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

crds = {d["spec"]["names"]["kind"]: d for d in yaml.safe_load_all(open(sys.argv[1])) if d}
mcpf = sys.argv[2]


def schema_ok(kind, spec):
    doc = {"apiVersion": "mcpfence.io/v1", "kind": kind, "metadata": {"name": "p"}, "spec": spec}
    schema = crds[kind]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    try:
        jsonschema.validate(doc, schema)
        return True, ""
    except jsonschema.ValidationError as e:
        return False, "/".join(str(p) for p in e.absolute_path) + ": " + e.message


def check_ok(kind, spec):
    doc = {"apiVersion": "mcpfence/v1", "kind": kind, "metadata": {"name": "p"}, "spec": spec}
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(doc, f)
        f.flush()
        r = subprocess.run([mcpf, "policy", "check", f.name], capture_output=True, text=True)
    return r.returncode == 0, (r.stdout + r.stderr).strip().split("\n")[0]


def main():
    bad = 0
    for want, cases in corpus.AGREE.items():
        for kind, spec in cases:
            (s, swhy), (c, cwhy) = schema_ok(kind, spec), check_ok(kind, spec)
            ok = s == c == (want == "ok")
            bad += not ok
            if not ok:
                print(f"FAIL crd: {kind} {json.dumps(spec)}: want {want}, schema {'ok' if s else swhy}, "
                      f"policy check {'ok' if c else cwhy}")
    n = sum(len(c) for c in corpus.AGREE.values())
    if not bad:
        print(f"PASS crd: the schemas and policy check agree on all {n} policies of the corpus "
              f"({len(corpus.AGREE['ok'])} accepted, {len(corpus.AGREE['refused'])} refused by both)")
    node = [(k, s) for k, s in corpus.NODE_ONLY if schema_ok(k, s)[0] and not check_ok(k, s)[0]]
    print(("PASS" if len(node) == len(corpus.NODE_ONLY) else "FAIL") +
          f" crd: {len(node)} of {len(corpus.NODE_ONLY)} policies only the agent can judge pass the schema "
          "and are refused by policy check (CIDR host bits, port order, a credential's host, a matcher's "
          "shape, the GitHub issuer rule)")
    for kind in crds:
        v = crds[kind]["spec"]["versions"][0]
        cols = [c["name"] for c in v["additionalPrinterColumns"]]
        print(("PASS" if {"Mode", "Rules", "Age"} <= set(cols) and crds[kind]["spec"]["names"]["shortNames"] else "FAIL") +
              f" crd: {kind}: kubectl get shows {', '.join(cols)}; short name {crds[kind]['spec']['names']['shortNames'][0]}")


main()
