#!/usr/bin/env python3
"""Prints the import graph of calibset's library modules and fails on a cycle.

A module is a top-level entry of src/ (a file or a folder); it imports another
when any of its files names `crate::other` (tests included). The binary's own
files (main.rs, cli.rs, exit_code.rs, progress_bar.rs) and lib.rs are left out.
Usage: python3 .ci/module-graph.py [src]   (exit 1 when the graph has a cycle)
"""
import collections
import os
import re
import sys

src = sys.argv[1] if len(sys.argv) > 1 else "src"
binary = {"main", "cli", "exit_code", "progress_bar", "lib"}
lib = open(os.path.join(src, "lib.rs"), encoding="utf-8").read()
# `pub use module::{A, B};` at the crate root: `crate::A` means `module`.
reexports = {}
for m in re.finditer(r"pub use (\w+)::(?:\{([^}]*)\}|(\w+));", lib):
    for name in (m.group(2) or m.group(3)).split(","):
        reexports[name.strip().split(" as ")[-1]] = m.group(1)

edges = collections.defaultdict(set)
modules = set()
for root, _, files in os.walk(src):
    for f in files:
        if not f.endswith(".rs"):
            continue
        path = os.path.join(root, f)
        top = os.path.relpath(path, src).split(os.sep)[0].removesuffix(".rs")
        if top in binary:
            continue
        modules.add(top)
        text = re.sub(r"//.*", "", open(path, encoding="utf-8").read())
        names = set(re.findall(r"crate::(\w+)", text))
        for m in re.finditer(r"use crate::\{([^;]*)\};", text, re.S):
            for part in m.group(1).split(","):
                name = part.strip().split("::")[0].strip("{} \n")
                if name:
                    names.add(name)
        for name in names:
            name = reexports.get(name, name)
            if name not in (top, "self"):
                edges[top].add(name)

for m in sorted(modules):
    print(f"{m} -> {', '.join(sorted(edges[m])) or '(nothing)'}")

# Tarjan's strongly connected components: any with two or more modules is a cycle.
index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]


def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on_stack.add(v)
    for w in sorted(edges[v]):
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on_stack:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        component = []
        while True:
            w = stack.pop()
            on_stack.discard(w)
            component.append(w)
            if w == v:
                break
        if len(component) > 1:
            cycles.append(sorted(component))


for m in sorted(modules):
    if m not in index:
        visit(m)
if cycles:
    for c in cycles:
        print("import cycle through: " + ", ".join(c), file=sys.stderr)
    sys.exit(1)
print(f"{len(modules)} modules, no import cycle")
