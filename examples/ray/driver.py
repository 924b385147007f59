#!/usr/bin/env python3
"""Index a calibset pool on a Ray cluster, then build the set from the index.

Each shard of the pool is one Ray task that runs the calibset binary
(`calibset index --shard i/n`) on whichever node Ray places it and returns the
Parquet shard it wrote; the driver keeps the shards in one index folder and
runs `calibset build --index` on it, which decodes nothing. Every node must
see the recipe and the pool at the same paths (a shared file system), or the
recipe's roots are `s3://` prefixes and every node has the AWS_* variables
(Ray's `runtime_env={"env_vars": ...}`), and every node has the calibset
binary.

    python examples/ray/driver.py --recipe adas-1000.toml --index idx --shards 32
    python examples/ray/driver.py --recipe adas-1000.toml --index idx --shards 32 \\
        --address auto -- --out calib --export npy     # an existing cluster; build options after --

Without --address, Ray starts a local cluster for the run (ray.init()).
Exit status: calibset build's (0 built, 1 shortfall, 2 error); 2 when a shard
fails, with its stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    if "--" in argv:
        cut = argv.index("--")
        argv, build_args = argv[:cut], argv[cut + 1 :]
    else:
        build_args = []
    p = argparse.ArgumentParser(
        description="Index a calibset pool in shards on Ray, then build from the index.",
        epilog="Arguments after -- go to `calibset build` (e.g. -- --out calib --json).",
    )
    p.add_argument("--recipe", required=True, type=Path, help="the recipe (TOML)")
    p.add_argument("--index", required=True, type=Path, help="index folder the shards are collected in")
    p.add_argument("--shards", required=True, type=int, help="number of shards (Ray tasks)")
    p.add_argument("--calibset", default=None, help="calibset binary (default: calibset on PATH)")
    p.add_argument("--address", default=None, help="Ray cluster address (default: a local cluster for this run)")
    p.add_argument("--cpus-per-task", type=int, default=1, help="CPUs per shard task; calibset runs with as many threads (default 1)")
    p.add_argument("--cache-dir", default=None, help="feature cache folder on the workers (default: none, every shard decodes)")
    p.add_argument("--no-build", action="store_true", help="index only; do not run calibset build")
    args = p.parse_args(argv)
    if args.shards < 1:
        p.error("--shards must be 1 or more")
    return args, build_args


def index_shard(calibset: str, recipe: str, shard: int, shards: int, jobs: int, cache_dir: str | None) -> dict:
    """Runs `calibset index` for one shard into a private folder; returns the
    shard's Parquet bytes and its JSON report (or the failure)."""
    with tempfile.TemporaryDirectory(prefix="calibset-shard-") as out:
        cmd = [calibset, "index", "--recipe", recipe, "--out", out, "--shard", f"{shard}/{shards}",
               "--json", "--quiet", "--jobs", str(jobs)]
        cmd += ["--cache-dir", cache_dir] if cache_dir else ["--no-cache"]
        start = time.monotonic()
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            return {"shard": shard, "error": run.stderr.strip() or f"exit {run.returncode}", "cmd": cmd}
        report = json.loads(run.stdout)
        data = Path(report["file"]).read_bytes()
        return {
            "shard": shard,
            "name": Path(report["file"]).name,
            "data": data,
            "report": report,
            "node": os.uname().nodename,
            "seconds": time.monotonic() - start,
        }


def main(argv: list[str]) -> int:
    args, build_args = parse_args(argv)
    import ray  # imported here so --help works without Ray

    calibset = args.calibset or shutil.which("calibset")
    if not calibset:
        print("driver: no calibset binary: pass --calibset PATH or put calibset on PATH", file=sys.stderr)
        return 2
    calibset = str(Path(calibset).resolve())
    recipe = str(args.recipe.resolve())

    ray.init(address=args.address, include_dashboard=False, log_to_driver=False)
    task = ray.remote(num_cpus=args.cpus_per_task, max_retries=2)(index_shard)
    start = time.monotonic()
    pending = [task.remote(calibset, recipe, i, args.shards, args.cpus_per_task, args.cache_dir)
               for i in range(args.shards)]
    args.index.mkdir(parents=True, exist_ok=True)
    failed = []
    rows = images = 0
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        result = ray.get(done[0])
        if "error" in result:
            failed.append(result)
            continue
        # Atomic, as calibset writes shards: a reader never sees half a file.
        final = args.index / result["name"]
        tmp = args.index / f".{result['name']}.tmp"
        tmp.write_bytes(result["data"])
        os.replace(tmp, final)
        r = result["report"]
        rows += r["rows"]
        images += r["images"]
        print(f"driver: shard {r['shard']}: {r['rows']} files, {len(result['data'])} bytes, "
              f"{result['seconds']:.1f} s on {result['node']}", file=sys.stderr)
    ray.shutdown()
    if failed:
        for f in sorted(failed, key=lambda f: f["shard"]):
            print(f"driver: shard {f['shard']}/{args.shards} failed: {f['error']}", file=sys.stderr)
        return 2
    print(f"driver: indexed {rows} files ({images} usable images) in {args.shards} shards "
          f"in {time.monotonic() - start:.1f} s into {args.index}", file=sys.stderr)
    if args.no_build:
        return 0
    build = [calibset, "build", "--recipe", recipe, "--index", str(args.index), *build_args]
    return subprocess.run(build).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
