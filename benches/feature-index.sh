#!/usr/bin/env bash
# Feature-index benchmark (issue 13): on the 100,000-image scale pool
# (benches/make_small_pool.py), each step timed with GNU time (wall, CPU =
# user + sys, peak RSS):
#   1. `calibset index` in 1 shard on one thread: files per CPU-second;
#   2. the same pool in 16 shards (one process each, --jobs 1): the bytes per
#      image of the Parquet files;
#   3. `build --index` from the 1-shard and the 16-shard index, a warm-cache
#      build for comparison, and the index opened alone (the merge's cost);
#   4. with moto installed: `calibset index` over a local S3 server
#      (tests/s3/server.py) of the make-pool small pool, against the same pool
#      on disk, one thread each.
#
#   bash benches/feature-index.sh [POOL_DIR] [IMAGES]   (defaults /tmp/calibset-scale, 100000)
#
# Needs numpy and Pillow for the pool, /usr/bin/time for the figures.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
pool="${1:-/tmp/calibset-scale}"
images="${2:-100000}"
[ -f "$pool/scale.toml" ] || python3 benches/make_small_pool.py "$pool" --images "$images"
cargo build --release -q
bin="$PWD/target/release/calibset"
work="$(mktemp -d)"
trap 'rm -rf "$work"; [ -n "${server:-}" ] && kill "$server" 2>/dev/null; true' EXIT
n="$(find "$pool/frames" -name '*.jpg' | wc -l)"

# time LABEL COMMAND...: runs COMMAND under GNU time and prints the figures.
timed() {
  local label="$1"
  shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" > /dev/null
  read -r wall user sys rss < "$work/time"
  cpu="$(echo "$user + $sys" | bc)"
  printf '%-34s wall %7.2f s  cpu %7.2f s  peak RSS %5d MB\n' "$label" "$wall" "$cpu" "$((rss / 1024))"
}

echo "pool: $n images in $pool"
timed "index, 1 shard, --jobs 1" "$bin" index -r "$pool/scale.toml" --out "$work/one" --no-cache --jobs 1 -q
echo "  => $(echo "scale=0; $n / $cpu" | bc) files per CPU-second"
cpu_one="$cpu"
cpu16=0
for i in $(seq 0 15); do
  timed "index, shard $i/16, --jobs 1" "$bin" index -r "$pool/scale.toml" --out "$work/sixteen" --shard "$i/16" --no-cache --jobs 1 -q
  cpu16="$(echo "$cpu16 + $cpu" | bc)"
done
echo "  => 16 shards: $cpu16 CPU-s in all (1 shard: $cpu_one)"
one="$(du -cb "$work"/one/*.parquet | tail -1 | cut -f1)"
sixteen="$(du -cb "$work"/sixteen/*.parquet | tail -1 | cut -f1)"
echo "parquet: 1 shard $((one / n)) B per image, 16 shards $((sixteen / n)) B per image"

timed "build --index (1 shard)" "$bin" build -r "$pool/scale.toml" --index "$work/one" --out "$work/set" --force --no-cache -q
timed "build --index (16 shards)" "$bin" build -r "$pool/scale.toml" --index "$work/sixteen" --out "$work/set" --force --no-cache -q
"$bin" build -r "$pool/scale.toml" --out "$work/set" --force --cache-dir "$work/cache" -q
timed "build, warm cache (no index)" "$bin" build -r "$pool/scale.toml" --out "$work/set" --force --cache-dir "$work/cache" -q
# Opening and merging the index alone: an audit of a one-image folder reads
# every shard (and finds its one image there).
mkdir -p "$work/one-image"
cp "$(find "$pool/frames" -name '*.jpg' | head -n 1)" "$work/one-image/"
timed "open index (1 shard, ${n} rows)" "$bin" audit "$work/one-image" --index "$work/one" --no-cache -q
timed "open index (16 shards, ${n} rows)" "$bin" audit "$work/one-image" --index "$work/sixteen" --no-cache -q

if python3 -c 'import moto.server, boto3' 2>/dev/null; then
  small="${CALIBSET_CI_POOL:-${TMPDIR:-/tmp}/calibset-ci-pool-small}"
  [ -f "$small/README.md" ] || ../shared/bench/make-pool "$small" --size small --force
  m="$(find "$small/frames" "$small/stills" -type f | wc -l)"
  python3 tests/s3/server.py --upload "pool=$small" > "$work/server" &
  server=$!
  until grep -q ready "$work/server" 2>/dev/null; do sleep 0.2; done
  port="$(awk '{print $2}' "$work/server")"
  sed 's/^total = .*/total = 150/' benches/pool-small.toml > "$small/calibset-local.toml"
  sed -e 's|^roots = .*|roots = ["s3://pool/frames", "s3://pool/stills"]|' \
    -e 's|^manifest = .*|manifest = "s3://pool/manifest.csv"|' benches/pool-small.toml > "$work/remote.toml"
  timed "index, local disk, --jobs 1" "$bin" index -r "$small/calibset-local.toml" --out "$work/l" --no-cache --jobs 1 -q
  echo "  => $(echo "scale=0; $m / $cpu" | bc) files per CPU-second ($m files)"
  AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=calibset-test-key AWS_SECRET_ACCESS_KEY=x AWS_REGION=us-east-1 \
    timed "index, local S3 (moto), --jobs 1" "$bin" index -r "$work/remote.toml" --out "$work/r" --no-cache --jobs 1 -q
  echo "  => $(echo "scale=0; $m / $cpu" | bc) files per calibset CPU-second, $(echo "scale=0; $m / $wall" | bc) files per second"
  rm -f "$small/calibset-local.toml"
else
  echo "moto not installed: the S3 figures are skipped (pip install 'moto[server]')"
fi
