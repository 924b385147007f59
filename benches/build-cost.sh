#!/usr/bin/env bash
# What a cold release build costs: wall and CPU time, peak compiler memory, the size of
# target/release and of the binary, and the binary's decoding speed. Every build goes
# into a fresh target folder (the project's own is left alone) with the locked
# dependencies, as `cargo install --locked` does. Run it on an idle machine and say the
# machine load when quoting it:
#   bash benches/build-cost.sh                        # the default build (every feature)
#   bash benches/build-cost.sh --no-default-features  # without object stores, Parquet, the model runtime
#   bash benches/build-cost.sh --profile-study        # lto / codegen-units variants (compare with the default run)
# Decoding speed: the fastest of three cold (`--no-cache`) one-thread builds of the bench
# pool recipe on make-pool's small pool (built on first use).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

pool="${CALIBSET_CI_POOL:-${TMPDIR:-/tmp}/calibset-ci-pool-small}"
[ -f "$pool/README.md" ] || ../shared/bench/make-pool "$pool" --size small --force >/dev/null
cp benches/pool-small.toml "$pool/calibset-build-cost.toml"

# measure NAME [cargo build options...], with CARGO_PROFILE_RELEASE_* in the environment.
measure() {
  local name="$1"
  shift
  local target
  target="$(mktemp -d "${TMPDIR:-/tmp}/calibset-build-cost.XXXXXX")"
  echo "== $name"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
  /usr/bin/time -f "build: wall %e s, CPU %U+%S s, peak RSS %M KB" \
    cargo build --release --locked --quiet --target-dir "$target" "$@" 2>&1 | tail -1
  local bin="$target/release/calibset"
  echo "target/release: $(du -sh "$target/release" | cut -f1)"
  echo "binary: $(stat -c %s "$bin") bytes; $(size "$bin" | awk 'NR==2 {print "text " $1 ", data " $2 ", bss " $3}')"
  objcopy --strip-all "$bin" "$target/stripped"
  echo "binary without its symbol table (strip = \"symbols\"): $(stat -c %s "$target/stripped") bytes"
  local times=()
  for _ in 1 2 3; do
    times+=("$( { /usr/bin/time -f %e "$bin" build --recipe "$pool/calibset-build-cost.toml" \
      --out "$target/set" --force --no-cache -q --jobs 1; } 2>&1 | tail -1)")
  done
  local best
  best=$(printf '%s\n' "${times[@]}" | sort -g | head -1)
  echo "decode: cold one-thread build of the small pool, best of 3: $best s"
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
  rm -rf "$target"
}

case "${1:-}" in
  --profile-study)
    CARGO_PROFILE_RELEASE_LTO=thin measure 'lto = "thin"'
    CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 measure 'lto = "fat", codegen-units = 1'
    ;;
  --no-default-features)
    measure "--no-default-features" --no-default-features
    ;;
  "")
    measure "default features"
    ;;
  *)
    echo "usage: bash benches/build-cost.sh [--no-default-features | --profile-study]" >&2
    exit 2
    ;;
esac
rm -f "$pool/calibset-build-cost.toml"
