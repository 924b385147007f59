#!/usr/bin/env python3
"""Decoded JPEG pixels: calibset's full-resolution RGB against cv2.imread and Pillow.

    decode_check.py POOL [--calibset BIN] [--limit N] [--synthetic N] [--allow REF:KIND ...]

Takes the JPEGs of a make-pool folder (hostile files skipped: truth/hostile.csv),
groups them by decoded size and builds one calibset set per size with
`[tensor] size = [w, h]`, `resize = "stretch"`, `dtype = "uint8"`, `layout =
"nhwc"`: a same-size "resize" is a copy, so calib.npy holds calibset's decoded,
EXIF-oriented pixels. Compares them value by value with

- OpenCV: `cv2.imread(path, cv2.IMREAD_COLOR)` (applies EXIF orientation), BGR -> RGB;
- Pillow: `ImageOps.exif_transpose(Image.open(path)).convert("RGB")` (Pillow does
  not apply EXIF orientation by itself; the transpose makes the comparison about
  the pixels).

Prints per reference: images compared, images with any differing value, values
differing, the largest difference and a histogram of the differences, split by
JPEG kind (baseline/progressive, chroma subsampling, grey, CMYK, EXIF
orientation). Exit 1 when an image differs from a reference, except for the
kinds allowed with --allow (e.g. `--allow opencv:cmyk`).
"""
import argparse
import collections
import csv
import os
import shutil
import subprocess
import sys
import tempfile

import cv2
import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import hostile  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def jpeg_kind(path):
    """'baseline 4:2:0', 'progressive 4:4:4', 'grey', 'cmyk', 'exif 6', ..."""
    im = Image.open(path)
    orientation = im.getexif().get(0x0112, 1)
    if orientation != 1:
        return f"exif {orientation}"
    if im.mode == "L":
        return "grey"
    if im.mode == "CMYK":
        return "cmyk"
    prog = "progressive" if im.info.get("progressive") or im.info.get("progression") else "baseline"
    layers = getattr(im, "layer", None)
    sub = "?"
    if layers and len(layers) >= 3:
        (h0, v0), (h1, v1) = (layers[0][1], layers[0][2]), (layers[1][1], layers[1][2])
        ratio = (h0 // max(h1, 1), v0 // max(v1, 1))
        sub = {(1, 1): "4:4:4", (2, 1): "4:2:2", (2, 2): "4:2:0", (1, 2): "4:4:0"}.get(ratio, f"{ratio}")
    return f"{prog} {sub}"


def jpegs(pool, limit):
    bad = hostile(pool)
    out = []
    for d, _, files in os.walk(pool):
        for name in sorted(files):
            p = os.path.normpath(os.path.join(d, name))
            if name.lower().endswith((".jpg", ".jpeg")) and p not in bad:
                out.append(p)
    out.sort()
    return out[:limit] if limit else out


def with_orientation(jpeg_bytes, orientation):
    """The JPEG with an EXIF APP1 segment (little-endian TIFF, one Orientation entry) after SOI."""
    tiff = b"II*\x00" + (8).to_bytes(4, "little") + (1).to_bytes(2, "little")
    tiff += (0x0112).to_bytes(2, "little") + (3).to_bytes(2, "little") + (1).to_bytes(4, "little")
    tiff += orientation.to_bytes(2, "little") + b"\x00\x00" + (0).to_bytes(4, "little")
    app1 = b"Exif\x00\x00" + tiff
    return jpeg_bytes[:2] + b"\xff\xe1" + (len(app1) + 2).to_bytes(2, "big") + app1 + jpeg_bytes[2:]


def synthetic(paths, n, work):
    """JPEG variants of the first n sources: baseline and progressive at 4:4:4,
    4:2:2 and 4:2:0, grey, CMYK, odd sizes, and EXIF orientations 3, 6 and 8."""
    import io
    out = []
    d = os.path.join(work, "synthetic")
    os.makedirs(d)
    for k, p in enumerate(paths[:n]):
        im = Image.open(p).convert("RGB")
        if k % 2:  # odd sizes exercise the chroma edges
            im = im.crop((0, 0, im.width - 3, im.height - 5))
        variants = {}
        for prog in (False, True):
            for sub, name in ((0, "444"), (1, "422"), (2, "420")):
                b = io.BytesIO()
                im.save(b, "JPEG", quality=85, subsampling=sub, progressive=prog)
                variants[f"{'p' if prog else 'b'}{name}"] = b.getvalue()
        b = io.BytesIO()
        im.convert("L").save(b, "JPEG", quality=85)
        variants["grey"] = b.getvalue()
        b = io.BytesIO()
        im.convert("CMYK").save(b, "JPEG", quality=90)
        variants["cmyk"] = b.getvalue()
        for o in (3, 6, 8):
            variants[f"exif{o}"] = with_orientation(variants["b420"], o)
        for name, data in variants.items():
            q = os.path.join(d, f"s{k:02d}-{name}.jpg")
            with open(q, "wb") as f:
                f.write(data)
            out.append(q)
    return out


def calibset_pixels(binary, paths, work):
    """{path: (h, w, 3) uint8} as calibset decodes them, one build per size."""
    by_size = collections.defaultdict(list)
    for p in paths:
        img = cv2.imread(p, cv2.IMREAD_COLOR)
        if img is None:
            continue
        by_size[(img.shape[1], img.shape[0])].append(p)
    result = {}
    for k, ((w, h), group) in enumerate(sorted(by_size.items())):
        try:
            result.update(build(binary, os.path.join(work, f"g{k}"), (w, h), group))
        except Shortfall:
            # Near-identical images (same pHash): one build each.
            for i, p in enumerate(group):
                result.update(build(binary, os.path.join(work, f"g{k}-{i}"), (w, h), [p]))
    return result


class Shortfall(Exception):
    pass


def build(binary, d, size, group):
    """{path: pixels} for one build of `group` at `size` (stretch = copy)."""
    w, h = size
    os.makedirs(os.path.join(d, "stills"))
    names = {}
    for i, p in enumerate(group):
        name = f"{i:05d}.jpg"
        shutil.copyfile(p, os.path.join(d, "stills", name))
        names[name] = p
    with open(os.path.join(d, "recipe.toml"), "w", encoding="utf-8") as f:
        f.write(f'total = {len(group)}\ndefault_bucket = "normal"\n[buckets.normal]\ncount = {len(group)}\n'
                f'[sources]\nroots = ["stills"]\n[dedup]\nsimilarity = 1.0\nexact = false\n'
                f'[output]\ndir = "out"\nlayout = "flat"\n'
                f'[tensor]\nsize = [{w}, {h}]\nresize = "stretch"\ndtype = "uint8"\nlayout = "nhwc"\n'
                f'[export]\nformats = ["npy"]\n')
    r = subprocess.run([binary, "build", "-q", "--no-cache", "--recipe", "recipe.toml"], cwd=d,
                       capture_output=True, text=True)
    if r.returncode == 1 and len(group) > 1:
        raise Shortfall()
    if r.returncode != 0:
        raise SystemExit(f"calibset build failed for {w}x{h} ({group[:3]}): {r.stderr}")
    with open(os.path.join(d, "out", "manifest.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    data = np.load(os.path.join(d, "out", "calib.npy"))
    assert len(rows) == len(data), (len(rows), data.shape)
    return {names[os.path.basename(row["source"])]: x for row, x in zip(rows, data)}


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pool")
    ap.add_argument("--calibset", default=os.path.join(ROOT, "target", "release", "calibset"))
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--allow", action="append", default=[],
                    help="REF:KIND whose differences do not fail the check (e.g. opencv:cmyk)")
    ap.add_argument("--synthetic", type=int, default=6,
                    help="also re-encode the first N pool images as every JPEG kind (default 6)")
    a = ap.parse_args(argv)
    a.calibset = os.path.abspath(a.calibset)
    paths = jpegs(a.pool, a.limit)
    with tempfile.TemporaryDirectory() as work:
        paths += synthetic(paths, a.synthetic, work)
        ours = calibset_pixels(a.calibset, paths, work)
        return compare(ours, set(a.allow))


def compare(ours, allowed):
    refs = {
        "opencv": lambda p: cv2.cvtColor(cv2.imread(p, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB),
        "pillow": lambda p: np.asarray(ImageOps.exif_transpose(Image.open(p)).convert("RGB")),
    }
    failed = False
    for ref, fn in refs.items():
        stats = collections.defaultdict(lambda: {"images": 0, "differ": 0, "values": 0, "total": 0,
                                                 "max": 0, "hist": collections.Counter()})
        for p, x in ours.items():
            y = fn(p)
            kind = jpeg_kind(p)
            for key in (kind, "all"):
                s = stats[key]
                s["images"] += 1
                s["total"] += x.size
                if x.shape != y.shape:
                    s["differ"] += 1
                    s["hist"]["shape"] += 1
                    continue
                d = np.abs(x.astype(int) - y.astype(int))
                n = int((d > 0).sum())
                if n:
                    s["differ"] += 1
                    s["values"] += n
                    s["max"] = max(s["max"], int(d.max()))
                    for v, c in zip(*np.unique(d[d > 0], return_counts=True)):
                        s["hist"][min(int(v), 9)] += int(c)
        for key in sorted(stats, key=lambda k: (k != "all", k)):
            s = stats[key]
            hist = ", ".join(f"{'≥9' if k == 9 else k}: {v}" for k, v in sorted(s["hist"].items(), key=str))
            print(f"{ref:7s} {key:22s} {s['images']:4d} images, {s['differ']:4d} differ, "
                  f"{s['values']:9d} of {s['total']} values ({100 * s['values'] / max(s['total'], 1):.3f}%), "
                  f"max {s['max']}" + (f" [{hist}]" if hist else ""))
        for key, st in stats.items():
            if key != "all" and st["differ"] and f"{ref}:{key}" not in allowed:
                print(f"FAIL {ref} {key}: {st['differ']} images differ")
                failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
