#!/usr/bin/env bash
# Speed benchmark: cold (empty cache) and warm builds of the bench-pool recipe
# with hyperfine, plus peak memory. Usage: benches/bench.sh [small|medium|large]
# Builds the pool with ../shared/bench/make-pool on first use (kept in
# ${TMPDIR:-/tmp}/calibset-bench-pool-SIZE); installs hyperfine with apt if missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
size="${1:-medium}"
pool="${TMPDIR:-/tmp}/calibset-bench-pool-$size"
[ -f "$pool/README.md" ] || ../shared/bench/make-pool "$pool" --size "$size" --force
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
cargo build --release -q
bin="$PWD/target/release/calibset"
sed -e 's/^total = 150/total = 300/' -e 's/^min = 3/min = 1/' benches/pool-small.toml > "$pool/calibset-bench.toml"
work="$(mktemp -d)"
common=(build --recipe "$pool/calibset-bench.toml" --out "$work/out" --force -q)
files=$(find "$pool/frames" "$pool/stills" -type f | wc -l)
echo "pool: $size, $files files"
hyperfine --warmup 1 --runs 5 \
  --prepare "rm -rf $work/cache" -n cold "$bin ${common[*]} --cache-dir $work/cache" \
  -n warm "$bin ${common[*]} --cache-dir $work/cache-warm"
/usr/bin/time -f "cold peak RSS: %M KiB, %e s" "$bin" "${common[@]}" --no-cache
rm -rf "$work" "$pool/calibset-bench.toml"
