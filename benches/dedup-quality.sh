#!/usr/bin/env bash
# Dedup accuracy benchmark: builds the bench-pool recipe on make-pool pools of
# several seeds and scores calibset's duplicate groups (pool.csv's `kept`
# column) against each pool's truth/dups.csv with ../shared/bench/score.py.
#
#   bash benches/dedup-quality.sh [SIZE] [SEED...]     (defaults: medium 0 1 2 3)
#   SIMILARITY=0.95 bash benches/dedup-quality.sh      (another dedup.similarity)
#
# Pools are generated once per seed (${TMPDIR:-/tmp}/calibset-bench-pool-SIZE-sSEED,
# about 90 s each for medium) and reused. Prints, per seed: duplicate groups of two
# or more images, the share of them that keep two or more images ("leaked"),
# the pairwise recall of the groups, and pairs of different scenes put in one
# group ("cross-scene"). Needs numpy and scipy (score.py).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
size="${1:-medium}"
shift || true
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(0 1 2 3)
similarity="${SIMILARITY:-0.98}"
shared="../shared/bench"
cargo build --release -q
bin="$PWD/target/release/calibset"
work="$(mktemp -d)"
recipe=""
# The recipe sits in the pool (its paths are relative to it): removed even
# when a build fails.
trap 'rm -rf "$work"; [ -z "$recipe" ] || rm -f "$recipe"' EXIT

printf 'dedup.similarity %s, make-pool %s\n' "$similarity" "$size"
printf '%-5s %7s %8s %8s %12s %7s %9s\n' seed images groups leaked "leaked %" recall "cross-scene"
for seed in "${seeds[@]}"; do
  pool="${TMPDIR:-/tmp}/calibset-bench-pool-$size-s$seed"
  [ -f "$pool/README.md" ] ||
    "$shared/make-pool" "$pool" --size "$size" --seed "$seed" --force > "$work/make-pool.log" 2>&1 ||
    { cat "$work/make-pool.log" >&2; exit 1; }
  recipe="$pool/calibset-quality.toml"
  sed -e 's/^total = 150/total = 300/' -e 's/^min = 3/min = 1/' \
    -e "s/^similarity = .*/similarity = $similarity/" \
    benches/pool-small.toml > "$recipe"
  "$bin" build --recipe "$recipe" --out "$work/set-$seed" --cache-dir "$work/cache" -q
  rm -f "$recipe"
  recipe=""
  # pool.csv's `kept` names the image each image's duplicate group kept: the
  # cluster id score.py reads.
  python3 - "$work/set-$seed/pool.csv" "$work/clusters-$seed.csv" <<'PY'
import csv, sys
with open(sys.argv[1], newline="") as f, open(sys.argv[2], "w", newline="") as out:
    w = csv.writer(out)
    w.writerow(["path", "cluster_id"])
    for row in csv.DictReader(f):
        w.writerow([row["path"], row["kept"] or row["path"]])
PY
  python3 "$shared/score.py" "$work/clusters-$seed.csv" --truth "$pool/truth/dups.csv" \
    --root "$pool" --json "$work/score-$seed.json" > /dev/null
  python3 - "$work/score-$seed.json" "$seed" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = r["thresholds"][0]["component"]
groups = r["truth_pairs"]["multi_member_groups"]
print(f"{sys.argv[2]:<5} {r['coverage']['rows_with_value']:>7} {groups:>8} {c['leaked_groups']:>8}"
      f" {100 * c['leaked_share']:>11.1f}% {c['recall']:>7.4f} {c['cross_scene']:>9}")
PY
done
