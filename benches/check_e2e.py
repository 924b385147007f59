#!/usr/bin/env python3
"""Checks an end-to-end build on the bench pool.

usage: check_e2e.py POOL OUT TOTAL CAMERA_MIN

Asserts the set's manifest has TOTAL rows with the recipe's 6:2:2 bucket
counts, every camera at least CAMERA_MIN, no hostile file chosen, every
chosen file byte-identical to its source, and no two chosen files that the
pool's ground truth says are near duplicates of each other beyond the
dedup leak the bench README allows.
"""
import csv
import sys
from collections import Counter
from pathlib import Path

pool, out, total, camera_min = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rows = list(csv.DictReader(open(out / "manifest.csv", newline="")))
assert len(rows) == total, f"{len(rows)} rows, want {total}"
buckets = Counter(r["bucket"] for r in rows)
want = {"normal": total * 6 // 10, "hard": total * 2 // 10, "background": total * 2 // 10}
assert buckets == want, f"buckets {dict(buckets)} != {want}"
cams = Counter(r["camera"] for r in rows if r["camera"])
low = {c: n for c, n in cams.items() if n < camera_min}
assert not low, f"cameras below {camera_min}: {low}"
hostile = {r["path"] for r in csv.DictReader(open(pool / "truth/hostile.csv")) if r["valid"] == "0"}
chosen = {r["source"] for r in rows}
assert not (chosen & hostile), f"hostile files chosen: {chosen & hostile}"
for r in rows:
    a = (out / r["file"]).read_bytes()
    b = (pool / r["source"]).read_bytes()
    assert a == b, f"{r['file']} differs from {r['source']}"
group = {r["path"]: r["group"] for r in csv.DictReader(open(pool / "truth/dups.csv"))}
per_group = Counter(group[s] for s in chosen if s in group)
leaked = [g for g, n in per_group.items() if n > 1]
share = len(leaked) / max(1, len(per_group))
print(f"e2e: {len(rows)} files, buckets {dict(buckets)}, {len(cams)} cameras "
      f"(min {min(cams.values())}), {len(leaked)} duplicate groups chosen twice ({share:.1%})")
assert share <= 0.02, f"{share:.1%} of chosen duplicate groups leak"
