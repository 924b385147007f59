#!/usr/bin/env python3
"""Checks a calibset set's `[export]` files against the reference preprocessing.

usage: check_exports.py OUT RECIPE.toml [--tol LEVELS] [--lossy-tol LEVELS]

Reads the recipe's [tensor] and [export] tables and OUT/manifest.csv, applies
reference.py to every SOURCE image (the manifest's `source`, relative to the
recipe's folder, %XX escapes decoded; a video's frame is taken from OUT) and
checks each export the recipe asks for:

  list  dataset.txt: one line per manifest row, in order, each the image's path
        relative to OUT (or absolute with paths = "absolute"), every one existing
  npy   calib.npy: header dtype/shape/C order, rows in manifest order, values
  npz   calib.npz: one array under the recipe's `input` (default "images"),
        equal to calib.npy (values checked against the reference otherwise)
  raw   raw/000000.raw ...: count, sizes, little-endian values (equal to the
        calib.npy rows); input_list.txt lines (NAME:=raw/... when `input` is set)
  yolo  data.yaml: path (absolute, the set folder), train: ., val: ., names map
  ort   calib_reader.py: CalibReader yields N batches of (1, ...) equal to
        calib.npy then None, rewind(), batch_size, input_name (needs onnxruntime;
        without it the file is only parsed)
and report.json's `tensor` object against the recipe.

Values must be within --tol 8-bit levels (default 1; for float dtypes one level
is scale/std[c]) of the reference, or --lossy-tol (default 3) for JPEG and
lossy WebP sources, whose decoders may differ by a level. Prints one line per
check and exits 1 on any mismatch, naming the first mismatching image, the
element's position and both values.
"""
import argparse
import ast
import csv
import importlib.util
import json
import math
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference  # noqa: E402

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

FORMATS = ("list", "npy", "npz", "raw", "yolo", "ort")
VIDEO_EXT = {"mp4", "mkv", "avi", "mov", "h264", "264", "webm", "m4v"}
# The lock's fixed columns (src/handoff/tables.rs LOCK_COLUMNS); metadata
# columns (manifest fields, pattern captures) follow them in name order.
MANIFEST_COLUMNS = ["file", "source", "time", "bucket", "slot", "tags", "classes", "camera", "width", "height", "phash", "blake3"]


class Mismatch(Exception):
    pass


def unescape(s):
    """The lock manifest's path text -> the path's bytes (%XX -> one byte)."""
    b = s.encode("utf-8")
    out, i = bytearray(), 0
    while i < len(b):
        if b[i] == 0x25 and i + 2 < len(b) + 1 and all(c in b"0123456789abcdefABCDEF" for c in b[i + 1:i + 3]) \
                and len(b[i + 1:i + 3]) == 2:
            out.append(int(b[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(b[i])
            i += 1
    return bytes(out)


def fspath(s):
    return os.fsdecode(unescape(s))


def lossy_kind(data):
    """'JPEG' / 'lossy WebP' for sources whose decoders may legitimately differ, else None."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        if data[12:16] == b"VP8 " or (data[12:16] == b"VP8X" and b"VP8 " in data[:1 << 16]):
            return "lossy WebP"
    return None


def fmt_value(v):
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}"
    return str(int(v))


class Checker:
    def __init__(self, out, recipe_path, tol, lossy_tol):
        self.out = out
        self.recipe_path = recipe_path
        self.root = recipe_path.resolve().parent
        self.tol, self.lossy_tol = tol, lossy_tol
        self.recipe = tomllib.loads(recipe_path.read_text(encoding="utf-8"))
        self.results = []
        self.notes = []
        report_path = out / "report.json"
        self.report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else None
        self.table = self.recipe.get("tensor")
        self.spec = None
        if self.table is not None:
            resolved = (self.report or {}).get("tensor")
            resolved = resolved if isinstance(resolved, dict) else {}
            # Keys the spec gives no default for: take report.json's resolution.
            taken = {k: resolved[k] for k in reference.ASSUMED_DEFAULTS if k not in self.table and k in resolved}
            self.spec = reference.spec_with_defaults(self.table, overrides=taken)
            for k, assumed in reference.ASSUMED_DEFAULTS.items():
                if k in self.table:
                    continue
                if k not in taken:
                    self.notes.append(f"tensor.{k} is neither in the recipe nor in report.json; assumed {assumed!r}")
                elif taken[k] != assumed:
                    self.notes.append(f"tensor.{k} is not in the recipe; report.json resolves it to {taken[k]!r} "
                                      f"(this check would have assumed {assumed!r}); using report.json's")
        self.export = self.recipe.get("export") or {}
        self.formats = self.export.get("formats", [])
        with open(out / "manifest.csv", newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            self.columns = reader.fieldnames
            self.rows = list(reader)
        self.n = len(self.rows)
        self._ref = {}
        self._tol = {}
        self._src = {}
        self._pad = {}

    # ------------------------------------------------------------ helpers
    def result(self, name, ok, msg):
        self.results.append((name, ok))
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {msg}", flush=True)

    def source(self, i):
        """(path read for image i, description, lossy kind or None)."""
        if i not in self._src:
            r = self.rows[i]
            src = fspath(r["source"])
            if Path(src).suffix.lower().lstrip(".") in VIDEO_EXT:
                path = self.out / fspath(r["file"])
                what = f"frame of video {r['source']} at {r['time']} (read from OUT/{r['file']})"
            else:
                path = self.root / src
                what = f"source {r['source']}"
            try:
                with open(path, "rb") as f:
                    head = f.read(1 << 16)
            except OSError as e:
                raise Mismatch(f"image {i} ({r['file']}): cannot read {what}: {e}")
            self._src[i] = (path, what, lossy_kind(head))
        return self._src[i]

    def ref(self, i):
        if i not in self._ref:
            path, what, lossy = self.source(i)
            try:
                t, g, _ = reference.preprocess_detail(str(path), self.spec)
            except Exception as e:  # noqa: BLE001 - say which image
                raise Mismatch(f"image {i} ({self.rows[i]['file']}): the reference cannot process {what}: {e}")
            self._ref[i] = t
            self._pad[i] = reference.pad_mask(g, self.spec)
        return self._ref[i]

    def levels_allowed(self, i):
        return self.lossy_tol if self.source(i)[2] else self.tol

    def tolerance(self, i):
        """Per-element absolute tolerance for image i: the image's levels, none on
        letterbox padding (it is exact), plus float rounding."""
        if i not in self._tol:
            ref = self.ref(i).astype(np.float64)
            tol = reference.level_tolerance(self.spec, self.levels_allowed(i)) + np.zeros_like(ref)
            pad = self._pad[i][None, :, :] if self.spec["layout"] == "nchw" else self._pad[i][:, :, None]
            tol = np.where(pad, 0.0, tol)
            # Float rounding of both values, at the larger magnitude either may have:
            # half a step each side (float16 steps are up to 0.06 levels at +-2.5).
            if self.spec["dtype"] == "float16":
                tol += (np.abs(ref) + tol) * 2.0 ** -10 + 2.0 ** -24
            elif self.spec["dtype"] == "float32":
                tol += (np.abs(ref) + tol) * 2.0 ** -22 + 1e-12
            self._tol[i] = tol
        return self._tol[i]

    def pos_text(self, idx):
        names = "c,y,x" if self.spec["layout"] == "nchw" else "y,x,c"
        return "[" + ", ".join(f"{n}={v}" for n, v in zip(names.split(","), idx)) + "]"

    def in_levels(self, v, c):
        if self.spec["dtype"] in reference.FLOAT_DTYPES:
            return (float(v) * self.spec["std"][c] + self.spec["mean"][c]) / self.spec["scale"]
        return float(v) + (128 if self.spec["dtype"] == "int8" else 0)

    def image_label(self, i):
        r = self.rows[i]
        path, what, lossy = self.source(i)
        return f"image {i} ({r['file']}, {what}{', ' + lossy if lossy else ''}: ±{self.levels_allowed(i)} levels)"

    def compare_image(self, got, i, where):
        """None if row i of an export (`got`, no batch axis) matches the reference, else a message."""
        ref = self.ref(i)
        if got.shape != ref.shape:
            return f"{where}: {self.image_label(i)} has shape {got.shape}, the reference {ref.shape}"
        g = got.astype(np.float64)
        if not np.isfinite(g).all():
            idx = tuple(int(v) for v in np.argwhere(~np.isfinite(g))[0])
            return f"{where}: {self.image_label(i)} holds a non-finite value {g[idx]} at {self.pos_text(idx)}"
        diff = np.abs(g - ref.astype(np.float64))
        bad = diff > self.tolerance(i)
        if not bad.any():
            return None
        idx = tuple(int(v) for v in np.argwhere(bad)[0])
        c = idx[0] if self.spec["layout"] == "nchw" else idx[2]
        lv = reference.to_levels(diff, self.spec)
        gv, rv = got[idx], ref[idx]
        in_pad = " (letterbox padding: must be exact)" if self._pad[i][idx[1:] if self.spec["layout"] == "nchw" else idx[:2]] else ""
        msg = (f"{where}: {self.image_label(i)} differs at {self.pos_text(idx)}{in_pad}: export {fmt_value(gv)}"
               f" (level {self.in_levels(gv, c):.2f}), reference {fmt_value(rv)} (level {self.in_levels(rv, c):.2f}),"
               f" {float(lv[idx]):.2f} levels apart; {int(bad.sum())} of {bad.size} elements beyond tolerance,"
               f" largest {float(lv.max()):.2f} levels")
        return msg + self.diagnose(g, i)

    def diagnose(self, g, i):
        """Hints for a failing row: another row's image, channels swapped, wrong upscaling."""
        hints = []
        for j in range(self.n):
            if j != i:
                try:
                    ref = self.ref(j)
                except Mismatch:
                    continue
                if ref.shape == g.shape and (np.abs(g - ref) <= self.tolerance(j)).all():
                    hints.append(f"it matches the reference of manifest row {j} ({self.rows[j]['file']}): rows out of order?")
                    break
        ch = 0 if self.spec["layout"] == "nchw" else 2
        ref = self.ref(i)
        if self.spec["mean"] == [self.spec["mean"][0]] * 3 and self.spec["std"] == [self.spec["std"][0]] * 3:
            if (np.abs(g - np.flip(ref, axis=ch).astype(np.float64)) <= self.tolerance(i)).all():
                hints.append("it matches the reference with the channels reversed (rgb/bgr swapped?)")
        for other in reference.FILTERS:
            if other == self.spec["filter"]:
                continue
            alt = reference.preprocess(str(self.source(i)[0]), {**self.spec, "filter": other})
            if (np.abs(g - alt.astype(np.float64)) <= self.tolerance(i)).all():
                hints.append(f"it matches filter {other!r}, not {self.spec['filter']!r}")
                break
        return "".join(f"\n      hint: {h}" for h in hints)

    def compare_all(self, get_row, where):
        """Checks every row; returns (ok, message)."""
        exact = 0
        worst = (0.0, None)
        for i in range(self.n):
            got = get_row(i)
            msg = self.compare_image(got, i, where)
            if msg:
                return False, msg
            ref = self.ref(i)
            d = reference.to_levels(np.abs(got.astype(np.float64) - ref.astype(np.float64)), self.spec)
            exact += bool((got == ref).all())
            if d.max() > worst[0]:
                worst = (float(d.max()), i)
        tail = f", largest {worst[0]:.2f} levels (image {worst[1]}, {self.rows[worst[1]]['file']})" if worst[1] is not None else ""
        return True, f"{self.n} images within tolerance of the reference, {exact} bit-identical{tail}"

    def expected_shape(self):
        return (self.n,) + reference.output_shape(self.spec)

    def expected_dtype(self):
        return reference.numpy_dtype(self.spec)

    # ------------------------------------------------------------ checks
    def check_manifest(self):
        fixed = self.columns[: len(MANIFEST_COLUMNS)]
        if fixed != MANIFEST_COLUMNS:
            raise Mismatch(f"manifest.csv columns {self.columns}, want {MANIFEST_COLUMNS} then metadata columns")
        meta = self.columns[len(MANIFEST_COLUMNS):]
        names = [m[5:] if m.startswith("meta.") and m[5:] in MANIFEST_COLUMNS else m for m in meta]
        if names != sorted(names):
            raise Mismatch(f"manifest.csv metadata columns {meta} are not in name order")
        missing = [r["file"] for r in self.rows if not (self.out / fspath(r["file"])).is_file()]
        if missing:
            raise Mismatch(f"{len(missing)} manifest files missing in OUT, first {missing[0]}")
        return f"{self.n} rows"

    def check_list(self):
        p = self.out / "dataset.txt"
        if not p.is_file():
            raise Mismatch("dataset.txt is missing")
        data = p.read_bytes()
        if b"\r" in data:
            raise Mismatch("dataset.txt has CR characters (want \\n line ends)")
        lines = data.decode("utf-8", "surrogateescape").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if len(lines) != self.n:
            raise Mismatch(f"dataset.txt has {len(lines)} lines, manifest.csv {self.n} rows")
        absolute = self.export.get("paths", "relative") == "absolute"
        out_real = os.path.realpath(self.out)
        for i, (line, r) in enumerate(zip(lines, self.rows)):
            rel = fspath(r["file"])
            if absolute:
                if not os.path.isabs(line):
                    raise Mismatch(f"dataset.txt line {i + 1} is not absolute: {line!r}")
                if os.path.realpath(line) != os.path.join(out_real, rel):
                    raise Mismatch(f"dataset.txt line {i + 1} is {line!r}, manifest row {i} is {r['file']!r} "
                                   f"(want {os.path.join(str(self.out.resolve()), rel)!r})")
            else:
                if line != r["file"] and line != rel:
                    where = next((j for j, rr in enumerate(self.rows) if rr["file"] == line), None)
                    extra = f" (that is manifest row {where}: order differs)" if where is not None else ""
                    raise Mismatch(f"dataset.txt line {i + 1} is {line!r}, manifest row {i} is {r['file']!r}{extra}")
            full = line if absolute else os.path.join(self.out, line)
            if not os.path.isfile(full):
                raise Mismatch(f"dataset.txt line {i + 1}: {line!r} does not exist (relative to OUT)")
        return f"dataset.txt: {len(lines)} {'absolute' if absolute else 'relative'} paths in manifest order, all exist"

    def load_npy(self, p):
        with open(p, "rb") as f:
            version = np.lib.format.read_magic(f)
            header = np.lib.format.read_array_header_1_0(f) if version == (1, 0) else np.lib.format.read_array_header_2_0(f)
        shape, fortran, dtype = header
        want_shape, want_dtype = self.expected_shape(), self.expected_dtype()
        problems = []
        if dtype.str != want_dtype.str:
            problems.append(f"dtype {dtype.str!r}, want {want_dtype.str!r} ({self.spec['dtype']})")
        if tuple(shape) != want_shape:
            problems.append(f"shape {tuple(shape)}, want {want_shape} (N = {self.n} manifest rows, {self.spec['layout']})")
        if fortran:
            problems.append("fortran_order is True, want C order")
        if problems:
            raise Mismatch(f"{p.name}: " + "; ".join(problems))
        return np.load(p, mmap_mode="r", allow_pickle=False), version

    def check_npy(self):
        p = self.out / "calib.npy"
        if not p.is_file():
            raise Mismatch("calib.npy is missing")
        arr, version = self.load_npy(p)
        ok, msg = self.compare_all(lambda i: np.asarray(arr[i]), "calib.npy")
        if not ok:
            raise Mismatch(msg)
        return f"calib.npy {arr.shape} {arr.dtype.str} (npy {version[0]}.{version[1]}): {msg}"

    def check_npz(self):
        p = self.out / "calib.npz"
        key = reference.input_name(self.spec)
        if not p.is_file():
            raise Mismatch("calib.npz is missing")
        with zipfile.ZipFile(p) as z:
            names = z.namelist()
        if names != [f"{key}.npy"]:
            raise Mismatch(f"calib.npz holds {names}, want exactly ['{key}.npy'] (key {key!r})")
        with np.load(p, allow_pickle=False) as z:
            arr = z[key]
        want_shape, want_dtype = self.expected_shape(), self.expected_dtype()
        if arr.dtype.str != want_dtype.str or arr.shape != want_shape:
            raise Mismatch(f"calib.npz[{key!r}] is {arr.shape} {arr.dtype.str}, want {want_shape} {want_dtype.str}")
        npy = self.out / "calib.npy"
        if npy.is_file():
            other = np.load(npy, mmap_mode="r")
            if other.shape == arr.shape and other.dtype == arr.dtype:
                eq = np.asarray(other) == arr
                if self.spec["dtype"] in reference.FLOAT_DTYPES:
                    eq |= np.isnan(arr) & np.isnan(other)
                if not eq.all():
                    idx = tuple(int(v) for v in np.argwhere(~eq)[0])
                    raise Mismatch(f"calib.npz[{key!r}] differs from calib.npy at image {idx[0]} "
                                   f"({self.rows[idx[0]]['file']}) {self.pos_text(idx[1:])}: npz {fmt_value(arr[idx])}, "
                                   f"npy {fmt_value(other[idx])}")
                return f"calib.npz[{key!r}] {arr.shape} {arr.dtype.str}, equal to calib.npy"
        ok, msg = self.compare_all(lambda i: arr[i], f"calib.npz[{key!r}]")
        if not ok:
            raise Mismatch(msg)
        return f"calib.npz[{key!r}] {arr.shape} {arr.dtype.str}: {msg}"

    def check_raw(self):
        d = self.out / "raw"
        if not d.is_dir():
            raise Mismatch("raw/ is missing")
        want = [f"{i:06d}.raw" for i in range(self.n)]
        have = sorted(os.listdir(d))
        if have != want:
            extra = sorted(set(have) - set(want))
            missing = sorted(set(want) - set(have))
            raise Mismatch(f"raw/ holds {len(have)} files, want {len(want)} (000000.raw..{self.n - 1:06d}.raw);"
                           f" missing {missing[:3]}{'...' if len(missing) > 3 else ''},"
                           f" unexpected {extra[:3]}{'...' if len(extra) > 3 else ''}")
        shape = reference.output_shape(self.spec)
        dtype = self.expected_dtype().newbyteorder("<")
        size = int(np.prod(shape)) * dtype.itemsize
        for i, name in enumerate(want):
            s = (d / name).stat().st_size
            if s != size:
                raise Mismatch(f"raw/{name} ({self.rows[i]['file']}) is {s} bytes, want {size} "
                               f"({'x'.join(map(str, shape))} {self.spec['dtype']})")
        npy = self.out / "calib.npy"
        other = np.load(npy, mmap_mode="r") if npy.is_file() else None
        if other is not None and (other.shape[1:] != shape or other.dtype != self.expected_dtype()):
            other = None
        rows = {}

        def row(i):
            rows[i] = np.fromfile(d / want[i], dtype=dtype).reshape(shape)
            return rows[i]

        for i in range(self.n):
            r = row(i)
            if other is not None and r.tobytes() != np.ascontiguousarray(other[i]).astype(dtype).tobytes():
                ne = np.argwhere(~((r == other[i]) | (np.isnan(r.astype(np.float64)) & np.isnan(np.asarray(other[i], np.float64)))))
                where = f" at {self.pos_text(tuple(int(v) for v in ne[0]))}: raw {fmt_value(r[tuple(ne[0])])}, " \
                        f"npy {fmt_value(other[i][tuple(ne[0])])}" if len(ne) else " (bytes differ)"
                hint = ""
                swapped = np.fromfile(d / want[i], dtype=dtype.newbyteorder(">")).reshape(shape)
                if dtype.itemsize > 1 and (swapped == other[i]).all():
                    hint = " (it is big-endian)"
                raise Mismatch(f"raw/{want[i]} differs from calib.npy row {i} ({self.rows[i]['file']}){where}{hint}")
        ok, msg = self.compare_all(lambda i: rows[i] if i in rows else row(i), "raw")
        if not ok:
            raise Mismatch(msg)
        return f"raw/: {self.n} files of {size} bytes ({'x'.join(map(str, shape))} {dtype.str})" + \
               (", each equal to its calib.npy row" if other is not None else "") + f"; {msg}"

    def check_input_list(self):
        p = self.out / "input_list.txt"
        if not p.is_file():
            raise Mismatch("input_list.txt is missing")
        lines = p.read_text(encoding="utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        name = self.spec["input"]
        want = [f"{name}:=raw/{i:06d}.raw" if name else f"raw/{i:06d}.raw" for i in range(self.n)]
        if len(lines) != len(want):
            raise Mismatch(f"input_list.txt has {len(lines)} lines, want {len(want)}")
        for i, (a, b) in enumerate(zip(lines, want)):
            if a != b:
                why = " (tensor.input is set in the recipe)" if name else " (tensor.input is not set in the recipe)"
                raise Mismatch(f"input_list.txt line {i + 1} is {a!r}, want {b!r}{why}")
            rel = a.split(":=", 1)[1] if name else a
            if not (p.parent / rel).is_file():
                raise Mismatch(f"input_list.txt line {i + 1}: {rel} does not exist relative to input_list.txt")
        return f"input_list.txt: {len(lines)} lines like {want[0]!r}, all exist"

    def check_yolo(self):
        p = self.out / "data.yaml"
        if not p.is_file():
            raise Mismatch("data.yaml is missing")
        text = p.read_text(encoding="utf-8")
        try:
            import yaml
            data = yaml.safe_load(text)
        except ModuleNotFoundError:
            data = mini_yaml(text)
        if not isinstance(data, dict):
            raise Mismatch(f"data.yaml is not a mapping: {data!r}")
        missing = [k for k in ("path", "train", "val", "names") if k not in data]
        if missing:
            raise Mismatch(f"data.yaml lacks {missing} (has {sorted(data)})")
        path = data["path"]
        if not isinstance(path, str) or not os.path.isabs(path):
            raise Mismatch(f"data.yaml path is {path!r}, want the absolute set folder {str(self.out.resolve())!r}")
        if not os.path.isdir(path):
            raise Mismatch(f"data.yaml path {path!r} does not exist")
        if not os.path.samefile(path, self.out):
            raise Mismatch(f"data.yaml path {path!r} is not the set folder {str(self.out.resolve())!r}")
        for k in ("train", "val"):
            if data[k] != ".":
                raise Mismatch(f"data.yaml {k} is {data[k]!r}, want '.'")
        names = data["names"]
        if not isinstance(names, dict):
            raise Mismatch(f"data.yaml names is a {type(names).__name__} ({names!r}), want a map of class ids to names")
        bad = {k: v for k, v in names.items() if not (isinstance(k, int) and not isinstance(k, bool) and k >= 0 and isinstance(v, str))}
        if bad:
            raise Mismatch(f"data.yaml names has entries that are not id: name: {bad}")
        if sorted(names) != list(range(len(names))):
            raise Mismatch(f"data.yaml names ids {sorted(names)} are not 0..{len(names) - 1}")
        extra = sorted(set(data) - {"path", "train", "val", "names"})
        shown = dict(list(names.items())[:4])
        return (f"data.yaml: path {path}, train ., val ., {len(names)} names {shown}{' ...' if len(names) > 4 else ''}"
                + (f"; other keys {extra}" if extra else ""))

    def check_ort(self):
        p = self.out / "calib_reader.py"
        if not p.is_file():
            raise Mismatch("calib_reader.py is missing")
        tree = ast.parse(p.read_text(encoding="utf-8"), str(p))
        cls = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "CalibReader"]
        if not cls:
            raise Mismatch("calib_reader.py defines no top-level class CalibReader")
        bases = [ast.unparse(b) for b in cls[0].bases]
        if not any(b.endswith("CalibrationDataReader") for b in bases):
            raise Mismatch(f"CalibReader's bases are {bases}, want onnxruntime.quantization.CalibrationDataReader")
        try:
            import onnxruntime.quantization as q
        except ModuleNotFoundError:
            self.notes.append("onnxruntime is not installed: calib_reader.py was parsed, not run")
            return "calib_reader.py parses and defines CalibReader(CalibrationDataReader) (not run: no onnxruntime)"
        npy = self.out / "calib.npy"
        if not npy.is_file():
            raise Mismatch("calib_reader.py reads calib.npy, which is missing")
        calib = np.load(npy, mmap_mode="r")
        cwd = os.getcwd()
        with tempfile.TemporaryDirectory() as tmp:
            os.chdir(tmp)  # it must find calib.npy beside itself, not in the working folder
            try:
                spec = importlib.util.spec_from_file_location("calibset_calib_reader", p)
                mod = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(mod)
                if not issubclass(mod.CalibReader, q.CalibrationDataReader):
                    raise Mismatch("CalibReader is not a subclass of onnxruntime.quantization.CalibrationDataReader")
                name = reference.input_name(self.spec)
                lines = [self.reader_pass(mod.CalibReader(), calib, name, 1, "CalibReader()")]
                lines.append(self.reader_pass(mod.CalibReader(input_name="x", batch_size=4), calib, "x", 4,
                                              "CalibReader(input_name='x', batch_size=4)"))
            finally:
                os.chdir(cwd)
        return f"calib_reader.py: {'; '.join(lines)}"

    def reader_pass(self, reader, calib, name, batch, call):
        def drain(limit):
            out = []
            while len(out) <= limit:
                b = reader.get_next()
                if b is None:
                    return out
                out.append(b)
            raise Mismatch(f"{call}.get_next() gave more than {limit} batches without returning None")

        n = len(calib)
        full = -(-n // batch)
        got = drain(full + 1)
        whole = n // batch
        if len(got) not in (full, whole):
            raise Mismatch(f"{call}: get_next() gave {len(got)} batches before None, want {full}"
                           f" ({n} images, batch {batch})")
        pos = 0
        for k, b in enumerate(got):
            if not isinstance(b, dict) or list(b) != [name]:
                raise Mismatch(f"{call}: batch {k} is {type(b).__name__} with keys "
                               f"{list(b) if isinstance(b, dict) else '-'}, want {{{name!r}: array}}")
            a = b[name]
            if not isinstance(a, np.ndarray):
                raise Mismatch(f"{call}: batch {k} is a {type(a).__name__}, want a numpy array")
            m = min(batch, n - pos)
            want_shape = (m,) + calib.shape[1:]
            if a.shape != want_shape or a.dtype != calib.dtype:
                raise Mismatch(f"{call}: batch {k} is {a.shape} {a.dtype.str}, want {want_shape} {calib.dtype.str}")
            if not np.array_equal(a, calib[pos:pos + m]):
                idx = tuple(int(v) for v in np.argwhere(a != calib[pos:pos + m])[0])
                raise Mismatch(f"{call}: batch {k} row {idx[0]} (image {pos + idx[0]}) differs from calib.npy at "
                               f"{self.pos_text(idx[1:])}: {fmt_value(a[idx])} vs {fmt_value(calib[pos + idx[0]][idx[1:]])}")
            pos += m
        reader.rewind()
        again = reader.get_next()
        if again is None or not np.array_equal(again.get(name), calib[0:min(batch, n)]):
            raise Mismatch(f"{call}: after rewind() get_next() does not give the first batch again")
        partial = "" if len(got) == full else f" (the last {n - pos} images dropped: no partial batch)"
        return f"{call} gave {len(got)} batches of {got[0][name].shape} {got[0][name].dtype.str} == calib.npy, then None{partial}; rewind() ok"

    def check_report(self):
        if self.report is None:
            raise Mismatch("report.json is missing")
        t = self.report.get("tensor")
        if not isinstance(t, dict):
            raise Mismatch(f"report.json has no tensor object (keys {sorted(self.report)})")
        problems = []
        for k, v in self.table.items():
            if k not in t:
                problems.append(f"{k} missing (recipe {v!r})")
            elif not same(t[k], v):
                problems.append(f"{k} is {t[k]!r}, recipe {v!r}")
        if self.spec["dtype"] in reference.FLOAT_DTYPES:
            for k in ("scale", "mean", "std"):
                if k not in t:
                    problems.append(f"{k} missing (resolved {self.spec[k]!r})")
                elif not same(t[k], self.spec[k]):
                    problems.append(f"{k} is {t[k]!r}, want {self.spec[k]!r}")
        for k, v in t.items():
            if k in self.table or k in ("scale", "mean", "std", "input") or k not in reference.KEYS:
                continue
            if not same(v, self.spec[k]):
                stated = reference.STATED_DEFAULTS.get(k)
                problems.append(f"{k} is {v!r} but the recipe leaves it out" +
                                (f" and the spec's default is {stated!r}" if stated is not None else ""))
        if "input" in t and "input" not in self.table and t["input"] not in (None, reference.DEFAULT_INPUT):
            problems.append(f"input is {t['input']!r} but the recipe sets none")
        unknown = sorted(set(t) - set(reference.KEYS))
        if unknown:
            problems.append(f"unknown keys {unknown}")
        if problems:
            raise Mismatch("report.json tensor: " + "; ".join(problems))
        return f"report.json tensor: {json.dumps(t, sort_keys=True)}"

    # ------------------------------------------------------------ driver
    def run(self):
        def step(name, fn):
            try:
                self.result(name, True, fn())
            except Mismatch as e:
                self.result(name, False, str(e))

        bad = [f for f in self.formats if f not in FORMATS] if isinstance(self.formats, list) else [self.formats]
        if bad or not self.formats:
            self.result("recipe", False, f"export.formats is {self.formats!r}, want a non-empty list of {list(FORMATS)}")
            return self.finish()
        if self.export.get("paths", "relative") not in ("relative", "absolute"):
            self.result("recipe", False, f"export.paths is {self.export.get('paths')!r}, want relative or absolute")
        tensor_formats = [f for f in self.formats if f in ("npy", "npz", "raw", "ort")]
        if tensor_formats and self.spec is None:
            self.result("recipe", False, f"formats {tensor_formats} need a [tensor] table, the recipe has none")
            return self.finish()
        if self.spec is not None:
            s = self.spec
            print(f"spec: {s['size'][0]}x{s['size'][1]} {s['resize']} filter {s['filter']} pad {s['pad']} {s['pad_position']} {s['channels']}"
                  f" {s['layout']} {s['dtype']} scale {s['scale']:.6g} mean {s['mean']} std {s['std']}"
                  f" input {reference.input_name(s)!r}; tolerance ±{self.tol} levels, ±{self.lossy_tol} for JPEG/lossy WebP",
                  flush=True)
        step("manifest", self.check_manifest)
        checks = {"list": [self.check_list], "npy": [self.check_npy], "npz": [self.check_npz],
                  "raw": [self.check_raw, self.check_input_list], "yolo": [self.check_yolo], "ort": [self.check_ort]}
        for f in FORMATS:
            if f in self.formats:
                for fn in checks[f]:
                    step("raw input_list" if fn == self.check_input_list else f, fn)
        if self.spec is not None:
            step("report", self.check_report)
        leftovers = {"list": ["dataset.txt"], "npy": ["calib.npy"], "npz": ["calib.npz"], "raw": ["raw", "input_list.txt"],
                     "yolo": ["data.yaml"], "ort": ["calib_reader.py"]}
        for f, files in leftovers.items():
            if f not in self.formats:
                for name in files:
                    if (self.out / name).exists() and not (name == "calib.npy" and "ort" in self.formats):
                        self.notes.append(f"{name} exists though export.formats has no {f!r}")
        return self.finish()

    def finish(self):
        for n in self.notes:
            print(f"note {n}")
        failed = [n for n, ok in self.results if not ok]
        print(f"check_exports: {len(self.results) - len(failed)} passed, {len(failed)} failed")
        return 1 if failed else 0


def same(a, b):
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)
    return a == b


def mini_yaml(text):
    """Enough YAML for data.yaml without PyYAML: top-level scalars and one-level maps."""
    data, cur = {}, None
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indented = line[0] in " \t"
        k, _, v = line.strip().partition(":")
        k, v = k.strip().strip("'\""), v.strip()
        val = scalar(v)
        if indented and cur is not None:
            data[cur][scalar(k) if k.lstrip("-").isdigit() else k] = val
        elif v == "":
            data[k], cur = {}, k
        else:
            data[k], cur = (val if v != "{}" else {}), None
    return data


def scalar(v):
    if v.startswith(("'", '"')):
        return json.loads(v) if v.startswith('"') else v[1:-1].replace("''", "'")
    if v.lstrip("-").isdigit():
        return int(v)
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="the set folder the build wrote")
    ap.add_argument("recipe", type=Path, help="the recipe it was built from (sources are relative to its folder)")
    ap.add_argument("--tol", type=int, default=1, help="levels allowed for lossless sources (default 1)")
    ap.add_argument("--lossy-tol", type=int, default=3, help="levels allowed for JPEG and lossy WebP sources (default 3: allows for differing libjpeg-turbo builds)")
    a = ap.parse_args()
    for p, what in ((a.out / "manifest.csv", "manifest.csv"), (a.recipe, "recipe")):
        if not p.is_file():
            print(f"check_exports: {what} not found: {p}", file=sys.stderr)
            return 2
    try:
        checker = Checker(a.out, a.recipe, a.tol, a.lossy_tol)
    except ValueError as e:
        print(f"FAIL recipe: {e}")
        print("check_exports: 0 passed, 1 failed")
        return 1
    return checker.run()


if __name__ == "__main__":
    sys.exit(main())
