#!/usr/bin/env python3
"""Shows that check_exports.py passes good exports and catches broken ones.

usage: harness_selftest.py SET RECIPE.toml

SET is a set folder (images + manifest.csv; any export files in it are
ignored) built from RECIPE.toml, whose [tensor]/[export] tables are used. For
each case the set is copied to a temporary folder, fake_set.py writes the
exports (from the reference, from an independent Pillow/float64 pipeline, or
with one injected fault) and check_exports.py must pass, or fail with the
named check failing.
"""
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

# fault -> (export format it needs, check line that must fail)
FAULTS = {
    "value": ("npy", "npy"),
    "order": ("npy", "npy"),
    "dtype": ("npy", "npy"),
    "pad": ("npy", "npy"),
    "channels": ("npy", "npy"),
    "npz-key": ("npz", "npz"),
    "raw-size": ("raw", "raw"),
    "raw-endian": ("raw", "raw"),
    "list-order": ("list", "list"),
    "input-list": ("raw", "raw input_list"),
    "yaml-path": ("yolo", "yolo"),
    "reader": ("ort", "ort"),
    "report": (None, "report"),
}
EXPORT_FILES = ["dataset.txt", "calib.npy", "calib.npz", "raw", "input_list.txt", "data.yaml", "calib_reader.py"]


def run(cmd):
    return subprocess.run([sys.executable, *map(str, cmd)], capture_output=True, text=True)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    src, recipe = Path(sys.argv[1]), Path(sys.argv[2])
    r = tomllib.loads(recipe.read_text(encoding="utf-8"))
    formats = (r.get("export") or {}).get("formats", [])
    tensor = r.get("tensor") or {}
    passed = failed = skipped = 0
    with tempfile.TemporaryDirectory(prefix="calibset-harness-") as tmp:
        cases = [("reference", None), ("pil", None)] + [("reference", f) for f in FAULTS]
        for impl, fault in cases:
            need = FAULTS[fault][0] if fault else None
            if need and need not in formats:
                skipped += 1
                continue
            if fault == "pad" and tensor.get("resize", "letterbox") != "letterbox":
                skipped += 1
                continue
            if fault == "raw-endian" and tensor.get("dtype") in ("uint8", "int8"):  # one byte: no byte order
                skipped += 1
                continue
            if fault == "input-list" and "input" not in tensor:
                skipped += 1
                continue
            out = Path(tmp) / f"{impl}-{fault or 'good'}"
            shutil.copytree(src, out, symlinks=True)
            for name in EXPORT_FILES:
                p = out / name
                if p.is_dir():
                    shutil.rmtree(p)
                elif p.exists():
                    p.unlink()
            w = run([HERE / "fake_set.py", out, recipe, "--impl", impl] + (["--corrupt", fault] if fault else []))
            if w.returncode != 0:
                print(f"FAIL {impl} {fault or 'good'}: fake_set.py failed:\n{w.stdout}{w.stderr}")
                failed += 1
                continue
            c = run([HERE / "check_exports.py", out, recipe])
            lines = c.stdout.splitlines()
            fails = [ln for ln in lines if ln.startswith("FAIL ")]
            if fault is None:
                ok = c.returncode == 0
                why = "check_exports passes" if ok else "check_exports failed:\n  " + "\n  ".join(fails or lines[-5:])
            else:
                want = FAULTS[fault][1]
                hit = [ln for ln in fails if ln.startswith(f"FAIL {want}: ")]
                ok = c.returncode == 1 and bool(hit)
                why = (f"caught: {hit[0][:160]}" if ok else
                       f"not caught by the {want!r} check (rc {c.returncode}):\n  " + "\n  ".join(fails or lines[-3:]))
            print(f"{'ok  ' if ok else 'FAIL'} {impl} {fault or 'good exports'}: {why}", flush=True)
            passed += ok
            failed += not ok
            shutil.rmtree(out)
    print(f"harness self-test: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
