#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The agent's house rules, checked by `make lint`:
- no circle among the files of userspace/agent/ (a file calls only files below it; what must
  go up, such as "keys arrived" or "an event for the subscribers", is a callback the loop's
  owner, agent.c, passes down);
- no function longer than MAX_LINES lines there;
- the file map in agent_state.h names every file.
With --graph, print who calls whom (file -> file: functions)."""
import glob
import os
import re
import sys

MAX_LINES = 80
DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "userspace", "agent")


def stripped(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//.*", "", text)
    return re.sub(r'"(\\.|[^"\\])*"', '""', text)


def functions(text):
    """(name, first line, length) of every function defined at file level."""
    out, start, name = [], None, None
    for n, line in enumerate(text.split("\n")):
        m = re.match(r"^[a-z].*?\b([a-z_0-9]+)\(", line)
        if m and start is None and not line.rstrip().endswith(";") and "=" not in line.split("(")[0]:
            start, name = n, m.group(1)
        elif start is not None and line.startswith(("typedef", "#define")):
            start = None
        if line == "}" and start is not None:
            out.append((name, start + 1, n - start + 1))
            start = None
    return out


def main():
    files = sorted(glob.glob(os.path.join(DIR, "*.c")))
    src = {f: stripped(open(f).read()) for f in files}
    exported = {}
    for f, text in src.items():
        for name, _, _ in functions(text):
            if not re.search(r"^static\b[^;{]*\b" + name + r"\(", text, flags=re.M):
                exported[name] = f
    calls = {f: {} for f in files}
    for f, text in src.items():
        for name, home in exported.items():
            if home != f and re.search(r"\b" + name + r"\b", text):
                calls[f].setdefault(home, []).append(name)
    base = os.path.basename
    if "--graph" in sys.argv:
        for f in files:
            for g, names in sorted(calls[f].items()):
                print(f"{base(f)} -> {base(g)}: {' '.join(sorted(names))}")
    bad = 0
    # a circle is a strongly connected component of more than one file (Tarjan)
    index, low, stack, on, comps = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in calls[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(comp)

    for f in files:
        if f not in index:
            visit(f)
    for comp in comps:
        edges = [f"{base(a)} -> {base(b)} ({', '.join(sorted(calls[a][b]))})"
                 for a in comp for b in comp if b in calls[a]]
        print("agent: files call each other in a circle: " + "; ".join(edges))
        bad = 1
    for f in files:
        for name, line, length in functions(src[f]):
            if length > MAX_LINES:
                print(f"{os.path.relpath(f)}:{line}: {name} is {length} lines (at most {MAX_LINES})")
                bad = 1
    fmap = open(os.path.join(DIR, "agent_state.h")).read().split("#ifndef")[0]
    for f in sorted(glob.glob(os.path.join(DIR, "*.[ch]"))):
        if not re.search(r"\b" + re.escape(base(f)) + r"\b", fmap):
            print(f"userspace/agent/agent_state.h: the file map does not name {base(f)}")
            bad = 1
    if not bad:
        print(f"agent: {len(files)} files, no circle, no function over {MAX_LINES} lines, all in the file map")
    return bad


if __name__ == "__main__":
    sys.exit(main())
