#!/usr/bin/env python3
"""Fails when a library or binary function outside tests is longer than 80 lines (a CI step).

A function runs from its `fn` line to the line of its closing brace. Test code
is left out: `tests.rs` and `fixture.rs` files and everything after a
`#[cfg(test)]` line (calibset keeps its test modules at the end of a file).
Braces inside string literals, raw strings, chars and comments are skipped.
Usage: python3 .ci/fn-length.py [src] [limit]
"""
import os
import re
import sys

src = sys.argv[1] if len(sys.argv) > 1 else "src"
limit = int(sys.argv[2]) if len(sys.argv) > 2 else 80
FN = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+|async\s+|unsafe\s+|extern\s+\"C\"\s+)*fn\s+(\w+)")


def code_only(text):
    """`text` with comments and the contents of literals blanked, newlines kept."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif (m := re.match(r'r(#*)"', text[i:])) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            end = '"' + m.group(1)
            j = text.find(end, i + len(m.group(0)))
            j = n if j < 0 else j + len(end)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(re.sub(r"[^\n]", " ", text[i : j + 1]))
            i = j + 1
        elif c == "'" and (m := re.match(r"'(\\.[^']*|[^\\'])'", text[i:])):
            out.append(" " * len(m.group(0)))
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


long = []
for root, _, files in os.walk(src):
    for f in sorted(files):
        if not f.endswith(".rs") or f in ("tests.rs", "fixture.rs"):
            continue
        path = os.path.join(root, f)
        lines = code_only(open(path, encoding="utf-8").read()).split("\n")
        for k, line in enumerate(lines):
            if line.strip().startswith("#[cfg(test)]"):
                lines = lines[:k]
                break
        k = 0
        while k < len(lines):
            m = FN.match(lines[k])
            if not m:
                k += 1
                continue
            depth, opened, j = 0, False, k
            while j < len(lines):
                for ch in lines[j]:
                    if ch == "{":
                        depth, opened = depth + 1, True
                    elif ch == "}":
                        depth -= 1
                    elif ch == ";" and not opened and depth == 0:
                        break  # a declaration without a body
                if (opened and depth == 0) or (not opened and ";" in lines[j]):
                    break
                j += 1
            if opened and j - k + 1 > limit:
                long.append((j - k + 1, f"{path}:{k + 1}", m.group(1)))
            k += 1

for n, where, name in sorted(long, reverse=True):
    print(f"{where}: fn {name} is {n} lines (limit {limit})")
if long:
    sys.exit(1)
print(f"no function outside tests is over {limit} lines")
