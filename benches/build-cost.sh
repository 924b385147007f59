#!/usr/bin/env bash
# What a cold release build costs: wall and CPU time, peak compiler memory, the size of
# target/release and of the binary. Builds into a fresh target folder (the project's own
# is left alone) with the locked dependencies, as `cargo install --locked` does. Run it on
# an idle machine and say the machine load when quoting it:
#   bash benches/build-cost.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target="$(mktemp -d "${TMPDIR:-/tmp}/calibset-build-cost.XXXXXX")"
trap 'rm -rf "$target"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
/usr/bin/time -f "wall %e s, CPU %U+%S s, peak RSS %M KB" \
  cargo build --release --locked --quiet --target-dir "$target" 2>&1 | tail -1
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "target/release: $(du -sh "$target/release" | cut -f1)"
bin="$target/release/calibset"
echo "binary: $(stat -c %s "$bin") bytes; $(size "$bin" | awk 'NR==2 {print "text " $1 ", data " $2 ", bss " $3}')"
