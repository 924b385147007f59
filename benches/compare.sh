#!/usr/bin/env bash
# Hashing speed side by side: calibset, czkawka_cli and ImageHash on the same
# pool, in one interleaved session (REPS rounds, the tools rotated each round,
# after one warm-up round). Prints the median wall time, images per CPU-second
# (CPU = user + sys, which contention on a shared machine distorts least) and
# calibset's ratio to each peer.
#
#   benches/compare.sh [small|medium|large] [REPS]     (default medium 5)
#
# The peers are optional: czkawka_cli (`cargo install czkawka_cli --locked`, a
# long build) and ImageHash (`pip install imagehash`); the script says which it
# could not run. Every tool hashes every image cold: calibset with --no-cache,
# czkawka_cli with an empty cache folder, ImageHash in one process per core.
# A fourth row, `decode`, is the floor to compare with: Pillow's libjpeg-turbo
# (with its SIMD code) decoding every file and nothing else, JPEGs at the same
# reduced DCT scale calibset uses (short side >= 120 px), in one process per core.
# The pool is built with ../shared/bench/make-pool on first use, in
# ${TMPDIR:-/tmp}/calibset-bench-pool-SIZE.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
size="${1:-medium}"
reps="${2:-5}"
pool="${TMPDIR:-/tmp}/calibset-bench-pool-$size"
[ -f "$pool/README.md" ] || ../shared/bench/make-pool "$pool" --size "$size" --force
cargo build --release -q
jobs="$(nproc)"
images=$(find "$pool/frames" "$pool/stills" -type f | wc -l)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cat > "$work/imagehash_pool.py" <<'PY'
import os, sys
from concurrent.futures import ProcessPoolExecutor
import imagehash
from PIL import Image

def phash(path):
    try:
        with Image.open(path) as im:
            return str(imagehash.phash(im))
    except Exception:
        return None

root, jobs = sys.argv[1], int(sys.argv[2])
paths = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
with ProcessPoolExecutor(jobs) as ex:
    done = sum(h is not None for h in ex.map(phash, paths, chunksize=64))
print(f"{done} hashed", file=sys.stderr)
PY

cat > "$work/decode_pool.py" <<'PY'
import os, sys
from concurrent.futures import ProcessPoolExecutor
from PIL import Image

def decode(path):
    try:
        with Image.open(path) as im:
            if im.format == "JPEG":
                w, h = im.size
                short = max(1, min(w, h))
                im.draft("RGB", (-(-w * 120 // short), -(-h * 120 // short)))
            im.load()
            return True
    except Exception:
        return False

root, jobs = sys.argv[1], int(sys.argv[2])
paths = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
with ProcessPoolExecutor(jobs) as ex:
    done = sum(ex.map(decode, paths, chunksize=64))
print(f"{done} decoded", file=sys.stderr)
PY

declare -A cmd
cmd[calibset]="$PWD/target/release/calibset audit $pool --no-cache --jobs $jobs -q"
missing=()
if command -v czkawka_cli >/dev/null; then
  # A fresh cache folder for every run: czkawka keeps its hashes in $XDG_CACHE_HOME/czkawka.
  # -m 1: every file, as the other tools (by default it skips files under 16 KiB).
  cmd[czkawka]="rm -rf $work/xdg && XDG_CACHE_HOME=$work/xdg czkawka_cli image -m 1 -d $pool/frames -d $pool/stills -f $work/czkawka.txt"
else
  missing+=("czkawka_cli (cargo install czkawka_cli --locked)")
fi
if python3 -c 'import imagehash' 2>/dev/null; then
  cmd[imagehash]="python3 $work/imagehash_pool.py $pool $jobs"
else
  missing+=("ImageHash (pip install imagehash)")
fi
if python3 -c 'import PIL' 2>/dev/null; then
  cmd[decode]="python3 $work/decode_pool.py $pool $jobs"
else
  missing+=("the decode floor (pip install pillow)")
fi
tools=(calibset)
[ -n "${cmd[czkawka]:-}" ] && tools+=(czkawka)
[ -n "${cmd[imagehash]:-}" ] && tools+=(imagehash)
[ -n "${cmd[decode]:-}" ] && tools+=(decode)

run() { # tool round -> appends "wall cpu" to $work/tool.times
  local t="$1"
  /usr/bin/time -f "%e %U %S" -o "$work/t" bash -c "${cmd[$t]} >/dev/null 2>&1" || true
  # GNU time puts "Command exited with non-zero status N" above the figures
  # when a tool exits non-zero (czkawka_cli's 11: duplicates found): read only
  # the last line.
  tail -n 1 "$work/t" | awk '{ printf "%s %.3f\n", $1, $2 + $3 }' >> "$work/$t.times"
}
echo "pool: $size, $images files, $jobs jobs, $reps rounds after a warm-up"
for t in "${tools[@]}"; do run "$t"; done
for t in "${tools[@]}"; do : > "$work/$t.times"; done
for ((r = 0; r < reps; r++)); do
  for ((k = 0; k < ${#tools[@]}; k++)); do
    run "${tools[$(((k + r) % ${#tools[@]}))]}"
  done
done
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf '%-10s %10s %12s %14s\n' tool "wall s" "CPU s" "img/CPU-s"
declare -A rate
for t in "${tools[@]}"; do
  wall=$(cut -d' ' -f1 "$work/$t.times" | median)
  cpu=$(cut -d' ' -f2 "$work/$t.times" | median)
  rate[$t]=$(awk -v n="$images" -v c="$cpu" 'BEGIN { printf "%.0f", n / c }')
  printf '%-10s %10s %12s %14s\n' "$t" "$wall" "$cpu" "${rate[$t]}"
done
for t in "${tools[@]:1}"; do
  awk -v a="${rate[calibset]}" -v b="${rate[$t]}" -v t="$t" \
    'BEGIN { printf "calibset / %s: %.2fx images per CPU-second\n", t, a / b }'
done
[ -n "${rate[decode]:-}" ] && echo "(decode: Pillow/libjpeg-turbo decoding alone, the floor calibset's decode pass builds on)"
for m in "${missing[@]}"; do echo "not run: $m"; done
