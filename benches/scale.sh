#!/usr/bin/env bash
# Scale benchmark: a pool of 100,000 small JPEGs (benches/make_small_pool.py),
# one cold build (empty cache) and three warm builds, each timed with GNU time:
# wall, CPU (user + sys) and peak RSS; then the cache's bytes per image.
#
#   bash benches/scale.sh [POOL_DIR] [IMAGES]     (defaults /tmp/calibset-scale, 100000)
#
# Needs numpy and Pillow for the pool, /usr/bin/time for the figures. The pool is
# generated once and reused; delete POOL_DIR to regenerate it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
pool="${1:-/tmp/calibset-scale}"
images="${2:-100000}"
[ -f "$pool/scale.toml" ] || python3 benches/make_small_pool.py "$pool" --images "$images"
cargo build --release -q
bin="$PWD/target/release/calibset"
cache="$(mktemp -d)"
out="$(mktemp -d)/set"
trap 'rm -rf "$cache" "$(dirname "$out")"' EXIT

run() {
  local label="$1"
  shift
  /usr/bin/time -f "%e %U %S %M" -o "$cache.time" "$bin" build --recipe "$pool/scale.toml" \
    --out "$out" --cache-dir "$cache" --force -q "$@"
  read -r wall user sys rss < "$cache.time"
  printf '%-6s wall %6.2f s  cpu %6.2f s  peak RSS %5d MB\n' "$label" "$wall" \
    "$(echo "$user + $sys" | bc)" "$((rss / 1024))"
}

run cold
for i in 1 2 3; do run warm; done
bytes="$(du -sb "$cache" | cut -f1)"
n="$(find "$pool/frames" -name '*.jpg' | wc -l)"
echo "cache  $bytes bytes for $n images: $((bytes / n)) B per image"
rm -f "$cache.time"
