#!/usr/bin/env python3
"""Writes the `[export]` files of a set the way the spec describes, to exercise
check_exports.py and ort_roundtrip.py before (or without) the Rust side.

usage: fake_set.py OUT RECIPE.toml [--impl reference|pil] [--corrupt KIND]

OUT is a set folder that already holds the images and manifest.csv (e.g. a
build of the same recipe without its [tensor]/[export] tables). The tensors
come from reference.py (`--impl reference`) or from an independent Pillow
pipeline (`--impl pil`: Pillow's decoder, float64 bilinear/area weights or Pillow's
own BILINEAR), which shows
how far a second implementation lands from the reference. `--corrupt KIND`
then breaks one thing, so a check can be seen to fail:
  value      one element of calib.npy (image 3) moved by 5 levels
  order      two rows of calib.npy swapped
  dtype      calib.npy written as float64
  npz-key    calib.npz under the key "data"
  raw-size   raw/000002.raw one byte short
  raw-endian raw/000001.raw byte-swapped
  list-order two lines of dataset.txt swapped
  input-list input_list.txt without the NAME:= prefix
  yaml-path  data.yaml with a relative path
  reader     calib_reader.py yields one batch too few
  report     report.json's tensor.pad changed
  pad        tensors padded with pad + 1
  channels   tensors in the other channel order
"""
import argparse
import csv
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference  # noqa: E402

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

CALIB_READER = '''\
"""ONNX Runtime calibration data reader for this calibset set (calib.npy beside this file)."""
import os

import numpy as np
import onnxruntime.quantization

DEFAULT_INPUT = {input!r}


class CalibReader(onnxruntime.quantization.CalibrationDataReader):
    def __init__(self, input_name=None, batch_size=1):
        self.input_name = input_name or DEFAULT_INPUT
        self.batch_size = int(batch_size)
        if self.batch_size < 1:
            raise ValueError("batch_size must be 1 or more")
        self.data = np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "calib.npy"), mmap_mode="r")
        self.pos = 0

    def get_next(self):
        if self.pos >= len(self.data):
            return None
        batch = np.ascontiguousarray(self.data[self.pos:self.pos + self.batch_size])
        self.pos += self.batch_size
        return {{self.input_name: batch}}

    def rewind(self):
        self.pos = 0

    def __len__(self):
        return (len(self.data) + self.batch_size - 1) // self.batch_size
'''


def unescape(s):
    """%XX -> byte, the rest UTF-8: the path as bytes."""
    out, i, b = bytearray(), 0, s.encode("utf-8")
    while i < len(b):
        if b[i:i + 1] == b"%" and len(b[i + 1:i + 3]) == 2:
            out.append(int(b[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(b[i])
            i += 1
    return bytes(out)


def _area_matrix(n, m):
    """(m, n) weights of exact area averaging from n source pixels to m (m <= n)."""
    a = np.zeros((m, n))
    s = n / m
    for i in range(m):
        lo, hi = i * s, (i + 1) * s
        for j in range(int(np.floor(lo)), min(n, int(np.ceil(hi)))):
            a[i, j] = max(0.0, min(hi, j + 1) - max(lo, j)) / s
    return a


def _linear_matrix(n, m):
    """(m, n) weights of half-pixel bilinear from n source pixels to m, edges clamped."""
    a = np.zeros((m, n))
    for i in range(m):
        x = min(max((i + 0.5) * n / m - 0.5, 0.0), n - 1.0)
        j = int(np.floor(x))
        f = x - j
        a[i, j] += 1 - f
        a[i, min(j + 1, n - 1)] += f
    return a


def pil_tensor(path, spec):
    """An implementation independent of reference.py's decoder and resampler:
    Pillow's decoder + EXIF transpose, then for `linear` two-tap half-pixel
    bilinear weights in float64 (OpenCV's fixed point lands within a level of
    it), for `area` exact area weights when shrinking, for `bilinear-aa`
    Pillow's own Image.resize(BILINEAR); rounded half to even."""
    from PIL import Image, ImageOps

    img = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    w, h = img.size
    W, H = spec["size"]
    g = reference.geometry(w, h, spec)
    nw, nh = g["new"]
    a = np.asarray(img, np.uint8)
    if (nw, nh) != (w, h):
        filt = spec["filter"]
        if filt == "bilinear-aa":
            a = np.asarray(img.resize((nw, nh), Image.BILINEAR))
        elif filt == "linear" or (filt == "area" and nw <= w and nh <= h):
            m = _linear_matrix if filt == "linear" else _area_matrix
            f = np.tensordot(m(h, nh), a.astype(np.float64), axes=(1, 0))  # (nh, w, 3)
            f = np.tensordot(m(w, nw), f, axes=(1, 1)).transpose(1, 0, 2)  # (nh, nw, 3)
            a = np.clip(np.rint(f), 0, 255).astype(np.uint8)
        else:
            raise SystemExit(f"fake_set.py --impl pil: no independent {filt} resampling for {w}x{h} -> {nw}x{nh}")
    if g["pad"]:
        top, bottom, left, right = g["pad"]
        a = np.pad(a, ((top, bottom), (left, right), (0, 0)), constant_values=spec["pad"])
    if g["crop"]:
        left, top = g["crop"]
        a = a[top:top + H, left:left + W]
    if spec["channels"] == "bgr":
        a = a[:, :, ::-1]
    return reference.values(np.ascontiguousarray(a), spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("recipe", type=Path)
    ap.add_argument("--impl", choices=["reference", "pil"], default="reference")
    ap.add_argument("--corrupt", default=None)
    a = ap.parse_args()
    recipe = tomllib.loads(a.recipe.read_text())
    spec = reference.spec_with_defaults(recipe["tensor"])
    export = recipe.get("export", {})
    formats = export.get("formats", [])
    root = a.recipe.resolve().parent
    out = a.out.resolve()
    rows = list(csv.DictReader(open(out / "manifest.csv", newline="", encoding="utf-8")))
    name = reference.input_name(spec)
    data_spec = dict(spec)
    if a.corrupt == "pad":
        data_spec["pad"] = spec["pad"] + 1
    if a.corrupt == "channels":
        data_spec["channels"] = "bgr" if spec["channels"] == "rgb" else "rgb"
    tensors = []
    for r in rows:
        src = os.fsdecode(unescape(r["source"]))
        p = root / src
        if Path(src).suffix.lower().lstrip(".") in ("mp4", "mkv", "avi", "mov", "h264", "264", "webm", "m4v"):
            p = out / os.fsdecode(unescape(r["file"]))
        tensors.append(reference.preprocess(str(p), data_spec) if a.impl == "reference" else pil_tensor(p, data_spec))
    arr = np.stack(tensors)
    c = a.corrupt
    if c == "value":
        flat = arr[3].reshape(-1)
        i = flat.size // 2 + 7
        step = spec["scale"] / spec["std"][0] if spec["dtype"] in reference.FLOAT_DTYPES else 1
        flat[i] = flat[i] + (5 * step if spec["dtype"] in reference.FLOAT_DTYPES else (5 if flat[i] < 120 else -5))
    if c == "order":
        arr[[1, 2]] = arr[[2, 1]]
    written = []
    if "list" in formats:
        # The real path bytes (%XX decoded), so every line opens.
        lines = [os.fsencode(out) + b"/" + unescape(r["file"]) if export.get("paths", "relative") == "absolute"
                 else unescape(r["file"]) for r in rows]
        if c == "list-order":
            lines[0], lines[1] = lines[1], lines[0]
        (out / "dataset.txt").write_bytes(b"".join(x + b"\n" for x in lines))
        written.append("dataset.txt")
    if "npy" in formats or "ort" in formats:
        np.save(out / "calib.npy", arr.astype(np.float64) if c == "dtype" else arr)
        written.append("calib.npy")
    if "npz" in formats:
        np.savez(out / "calib.npz", **{("data" if c == "npz-key" else name): arr})
        written.append("calib.npz")
    if "raw" in formats:
        (out / "raw").mkdir(exist_ok=True)
        lines = []
        for i, t in enumerate(arr):
            data = t.astype(t.dtype.newbyteorder("<")).tobytes()
            if c == "raw-size" and i == 2:
                data = data[:-1]
            if c == "raw-endian" and i == 1:
                data = t.astype(t.dtype.newbyteorder(">")).tobytes()
            (out / "raw" / f"{i:06d}.raw").write_bytes(data)
            rel = f"raw/{i:06d}.raw"
            lines.append(f"{spec['input']}:={rel}" if spec["input"] and c != "input-list" else rel)
        (out / "input_list.txt").write_text("".join(f"{x}\n" for x in lines))
        written.append(f"raw/ ({len(arr)} files), input_list.txt")
    if "yolo" in formats:
        path = "." if c == "yaml-path" else str(out)
        (out / "data.yaml").write_text(f"path: {json.dumps(path)}\ntrain: .\nval: .\nnames:\n  0: person\n  1: car\n")
        written.append("data.yaml")
    if "ort" in formats:
        text = CALIB_READER.format(input=name)
        if c == "reader":  # stop one batch early
            text = text.replace("if self.pos >= len(self.data):", "if self.pos >= len(self.data) - 1:")
        (out / "calib_reader.py").write_text(text)
        written.append("calib_reader.py")
    rp = out / "report.json"
    report = json.loads(rp.read_text()) if rp.exists() else {}
    t = {k: v for k, v in recipe["tensor"].items()}
    if spec["dtype"] in reference.FLOAT_DTYPES:
        t.update(scale=spec["scale"], mean=spec["mean"], std=spec["std"])
    if c == "report":
        t["pad"] = spec["pad"] + 1
    report["tensor"] = t
    rp.write_text(json.dumps(report, indent=2))
    print(f"fake_set ({a.impl}{', corrupt ' + c if c else ''}): {arr.shape} {arr.dtype.str}; wrote {', '.join(written)}, report.json tensor")


if __name__ == "__main__":
    main()
