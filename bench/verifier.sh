#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The verifier's work per program on this kernel (`mcpfence probe --json`: instructions processed
# and states, from BPF_LOG_STATS), written as the "Verifier" section of bench/RESULTS.md next to
# the figures that section held before (the previous commit's, when it is committed), so that a
# change that makes loading slower shows in the diff that brings it. Run by `make bench`; needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-bench/RESULTS.md}
MCPF=${MCPF:-build/mcpfence}
before=$(git rev-parse --short HEAD 2>/dev/null || echo "?")
probe=$("$MCPF" probe --json --no-attach || true)
# the figures before: the committed file's (bench/run.sh rewrites the working copy first)
committed=$(git show "HEAD:$OUT" 2>/dev/null || cat "$OUT" 2>/dev/null || true)
python3 - "$OUT" "$before" "$probe" "$committed" <<'PY'
import json, re, sys
out, rev, probe, committed = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
text = open(out).read() if __import__("os").path.exists(out) else ""
prev = {}
m = re.search(r"\n## Verifier\n.*?(?=\n## |\Z)", committed, re.S)
if m:
    for row in re.findall(r"^\| `([^`]+)` \| ([0-9]+) \| ([0-9]+) \|", m.group(0), re.M):
        prev[row[0]] = (int(row[1]), int(row[2]))
m = re.search(r"\n## Verifier\n.*?(?=\n## |\Z)", text, re.S)
if m:
    text = text[:m.start()] + text[m.end():]
v = probe.get("verifier", {})
L = ["", "## Verifier", "",
     "Instructions the kernel's verifier processed and the states it kept, per program, as `mcpfence probe --json` "
     "loads them on kernel %s (`bench/verifier.sh`; the agent loads the same programs at every start, the skb "
     "programs with the DNS code in when resolvers are configured). \"Before\" is what this section held before "
     "this run (committed at %s or earlier)." % (probe.get("kernel", "?"), rev), "",
     "| program | instructions | states | instructions before | states before |", "|---|---|---|---|---|"]
for name in sorted(v):
    b = prev.get(name)
    L.append("| `%s` | %d | %d | %s | %s |" % (name, v[name]["insns"], v[name]["states"],
             b[0] if b else "-", b[1] if b else "-"))
open(out, "w").write(text.rstrip("\n") + "\n" + "\n".join(L) + "\n")
print("\n".join(L))
PY
