#!/usr/bin/env python3
"""Checks a calibset set's range tables against its ranges.json.

usage: tables_check.py SETDIR

Reads SETDIR/ranges.json ({"schema": 1, "method": {"name": "percentile" |
"minmax" | "entropy", "percentile": P | null}, "tensors": [{"name": N, "range":
[lo, hi], "float": bool, ...}]}) and checks the four tables in SETDIR, each
with its own parser written from the format's documentation (no calibset
code). Every tensor with "float": false must be in every table, with its range;
no "float": true one (kept in float) may be in any.

  ort_calibration.json         onnxruntime's own load_tensors_data (needs
                               onnxruntime): calibration_method is the one
                               ranges.json names, smooth_quant false (else
                               quantize_static recomputes), lowest/highest
                               float32 arrays equal to lo/hi as float32
  ort_overrides.json           onnxruntime's TensorQuantOverridesHelper
                               validates each tensor's overrides; one
                               per-tensor {"rmin", "rmax"} equal to lo/hi as
                               float32
  calib.cache                  line by line: header TRT-<version>-
                               EntropyCalibration2, then "name: xxxxxxxx"
                               (name up to the last ": "), 8 hex digits the
                               big-endian float32 scale = max(|lo|, |hi|) / 127
                               within 1e-6 relative (0 for a zero range); a
                               name with a line break cannot be written and
                               must be absent; a name containing ": " is
                               noted (ModelOpt's import_scales_from_calib_cache
                               cannot read that line)
  quantization_overrides.json  AIMET/QNN encodings: {"activation_encodings":
                               {name: [one encoding]}, "param_encodings": {}};
                               bitwidth 8, dtype "int", is_symmetric "False",
                               min <= 0 <= max, scale > 0 and == (max - min) /
                               255 within 1e-6 relative, offset an int ==
                               round(min / scale) in -255..0, [min, max]
                               covering [min(lo, 0), max(hi, 0)] within one
                               scale step and no wider than that range or the
                               0.01 minimum range

Prints one summary line per file, then each problem found; exits 1 on any
mismatch, 2 when SETDIR/ranges.json is unusable or onnxruntime is missing.
"""
import argparse
import json
import math
import re
import struct
import sys
from pathlib import Path

import numpy as np

ORT_CALIBRATION = "ort_calibration.json"
ORT_OVERRIDES = "ort_overrides.json"
TENSORRT_CACHE = "calib.cache"
QNN_ENCODINGS = "quantization_overrides.json"

HEADER = re.compile(r"TRT-(\d+)-EntropyCalibration2")
HEX8 = re.compile(r"[0-9a-f]{8}")
REL = 1e-6
QNN_KEYS = {"bitwidth", "dtype", "is_symmetric", "max", "min", "offset", "scale"}
# The widest minimum range a QNN encoding may be widened to (AIMET, SNPE);
# QNN's own is 0.0001.
QNN_MIN_RANGE_MAX = 0.01


class Unusable(Exception):
    """ranges.json cannot be checked against."""


def load_ranges(setdir):
    """(method name, {name: (lo, hi)} of quantized tensors, set of float names)."""
    path = setdir / "ranges.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise Unusable(f"{path}: {e}") from e
    if doc.get("schema") != 1:
        raise Unusable(f"{path}: schema is {doc.get('schema')!r}, expected 1")
    method = (doc.get("method") or {}).get("name")
    if method not in ("percentile", "minmax", "entropy"):
        raise Unusable(f"{path}: method.name is {method!r}")
    quantized, floats = {}, set()
    for i, t in enumerate(doc.get("tensors", [])):
        name, rng, is_float = t.get("name"), t.get("range"), t.get("float")
        where = f"{path}: tensors[{i}]"
        if not isinstance(name, str) or not isinstance(is_float, bool):
            raise Unusable(f"{where}: needs a string name and a bool float")
        if name in quantized or name in floats:
            raise Unusable(f"{where}: {name!r} is listed twice")
        if is_float:
            floats.add(name)
            continue
        if (
            not isinstance(rng, list)
            or len(rng) != 2
            or not all(is_number(x) and math.isfinite(x) for x in rng)
            or rng[0] > rng[1]
        ):
            raise Unusable(f"{where}: range {rng!r} is not [lo, hi], finite, lo <= hi")
        quantized[name] = (float(rng[0]), float(rng[1]))
    return method, quantized, floats


def is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def f32(x):
    return np.float32(x)


def rel_close(got, want, rel=REL):
    if want == 0:
        return got == 0
    return abs(got - want) <= rel * abs(want)


def names_problems(found, quantized, floats, expected=None):
    """Missing quantized tensors, float tensors present, unknown names."""
    expected = set(quantized) if expected is None else expected
    found = set(found)
    out = []
    for name in sorted(expected - found):
        out.append(f"{name!r} is missing")
    for name in sorted(found & floats):
        out.append(f"{name!r} is kept in float and must not be in the table")
    for name in sorted(found - expected - floats):
        if name in quantized:
            out.append(f"{name!r} must not be in this table")
        else:
            out.append(f"{name!r} is not a tensor of ranges.json")
    return out


def read_json(path):
    return json.loads(path.read_text(encoding="utf-8"))


def check_ort_calibration(path, method, quantized, floats):
    from onnxruntime.quantization.calibrate import CalibrationMethod, load_tensors_data

    want_method = {
        "percentile": CalibrationMethod.Percentile,
        "minmax": CalibrationMethod.MinMax,
        "entropy": CalibrationMethod.Entropy,
    }[method]
    problems = []
    raw = read_json(path)
    if raw.get("smooth_quant", False) is not False:
        problems.append(f"smooth_quant is {raw.get('smooth_quant')!r}: quantize_static would recompute")
    td = load_tensors_data(path)
    if td.calibration_method != want_method:
        problems.append(f"calibration_method is {td.calibration_method}, ranges.json says {want_method}")
    problems += names_problems(td.keys(), quantized, floats)
    for name in td.keys():
        if name not in quantized:
            continue
        lo, hi = quantized[name]
        try:
            lowest, highest = td[name].range_value
        except AttributeError as e:
            problems.append(f"{name!r}: {e}")
            continue
        for key, got, want in (("lowest", lowest, lo), ("highest", highest, hi)):
            if getattr(got, "dtype", None) != np.float32:
                problems.append(f"{name!r}: {key} is {type(got).__name__} {getattr(got, 'dtype', '')}, not float32")
            elif np.asarray(got).size != 1 or f32(np.asarray(got).reshape(())) != f32(want):
                problems.append(f"{name!r}: {key} is {got!r}, ranges.json has {f32(want)!r}")
    return f"{len(td.keys())} tensors, {td.calibration_method}", problems


def check_ort_overrides(path, quantized, floats):
    from onnxruntime.quantization.quant_utils import QuantType
    from onnxruntime.quantization.tensor_quant_overrides import TensorQuantOverridesHelper

    raw = read_json(path)
    if not isinstance(raw, dict):
        return "not an object", ["the file is not a JSON object"]
    problems = names_problems(raw.keys(), quantized, floats)
    for name, overrides in raw.items():
        # is_valid returns after the first tensor it looks at: one helper each.
        helper = TensorQuantOverridesHelper({name: overrides})
        ok, why = helper.is_valid({}, {name}, QuantType.QUInt8)
        if not ok:
            problems.append(f"{name!r}: TensorQuantOverridesHelper: {why}")
            continue
        if name not in quantized:
            continue
        if not helper.has_per_tensor_overrides(name) or len(overrides) != 1:
            problems.append(f"{name!r}: expected one per-tensor override, got {overrides!r}")
            continue
        o = helper.get_per_tensor_overrides(name)
        if set(o) != {"rmin", "rmax"}:
            problems.append(f"{name!r}: keys {sorted(o)}, expected rmin and rmax")
            continue
        lo, hi = quantized[name]
        for key, want in (("rmin", lo), ("rmax", hi)):
            if not is_number(o[key]):
                problems.append(f"{name!r}: {key} is {o[key]!r}, not a number")
            elif f32(o[key]) != f32(want):
                problems.append(f"{name!r}: {key} is {o[key]!r}, ranges.json has {f32(want)!r}")
    return f"{len(raw)} tensors", problems


def check_tensorrt_cache(path, quantized, floats):
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        return "not UTF-8", [str(e)]
    if not text.endswith("\n"):
        return "unterminated", ["the last line has no newline"]
    lines = text[:-1].split("\n")
    problems, notes = [], []
    header = HEADER.fullmatch(lines[0])
    if not header:
        problems.append(f"header {lines[0]!r} is not TRT-<version>-EntropyCalibration2")
    scales = {}
    for number, line in enumerate(lines[1:], start=2):
        name, sep, hexv = line.rpartition(": ")
        if not sep or not HEX8.fullmatch(hexv):
            problems.append(f"line {number} {line!r} is not 'name: xxxxxxxx'")
            continue
        if name in scales:
            problems.append(f"line {number}: {name!r} is there twice")
        if len(line.split(": ")) != 2:
            notes.append(f"note: {name!r} contains ': ' (ModelOpt's import_scales_from_calib_cache cannot read it)")
        scales[name] = struct.unpack(">f", bytes.fromhex(hexv))[0]
    writable = {n for n in quantized if "\n" not in n and "\r" not in n}
    problems += names_problems(scales, quantized, floats, expected=writable)
    for name, scale in scales.items():
        if name not in writable:
            continue
        lo, hi = quantized[name]
        want = float(max(abs(f32(lo)), abs(f32(hi))) / f32(127))
        if not (math.isfinite(scale) and rel_close(scale, want)):
            problems.append(f"{name!r}: scale {scale!r}, expected max(|lo|, |hi|) / 127 = {want!r}")
    version = header.group(1) if header else "?"
    skipped = len(quantized) - len(writable)
    summary = f"{len(scales)} tensors, TensorRT version {version}"
    if skipped:
        summary += f", {skipped} with a line break in the name left out"
    return summary, problems + notes


def check_qnn_encodings(path, quantized, floats):
    raw = read_json(path)
    if not isinstance(raw, dict) or set(raw) != {"activation_encodings", "param_encodings"}:
        keys = sorted(raw) if isinstance(raw, dict) else type(raw).__name__
        return "bad layout", [f"top level is {keys}, expected activation_encodings and param_encodings"]
    problems = []
    if raw["param_encodings"] != {}:
        problems.append("param_encodings is not {}: calibset writes no weight encodings")
    acts = raw["activation_encodings"]
    if not isinstance(acts, dict):
        return "bad layout", ["activation_encodings is not an object"]
    problems += names_problems(acts, quantized, floats)
    for name, encs in acts.items():
        if name not in quantized:
            continue
        if not isinstance(encs, list) or len(encs) != 1 or not isinstance(encs[0], dict):
            problems.append(f"{name!r}: expected a list of one encoding, got {encs!r}")
            continue
        problems += [f"{name!r}: {p}" for p in qnn_encoding_problems(encs[0], *quantized[name])]
    return f"{len(acts)} tensors", problems


def qnn_encoding_problems(e, lo, hi):
    if set(e) != QNN_KEYS:
        return [f"keys {sorted(e)}, expected {sorted(QNN_KEYS)}"]
    out = []
    if e["bitwidth"] != 8 or not isinstance(e["bitwidth"], int) or isinstance(e["bitwidth"], bool):
        out.append(f"bitwidth {e['bitwidth']!r}, expected 8")
    if e["dtype"] != "int":
        out.append(f"dtype {e['dtype']!r}, expected 'int'")
    if e["is_symmetric"] != "False":
        out.append(f"is_symmetric {e['is_symmetric']!r}, expected the string 'False'")
    mn, mx, scale, offset = e["min"], e["max"], e["scale"], e["offset"]
    if not all(is_number(x) and math.isfinite(x) for x in (mn, mx, scale)):
        return out + [f"min/max/scale {mn!r}, {mx!r}, {scale!r} are not finite numbers"]
    if not isinstance(offset, int) or isinstance(offset, bool):
        return out + [f"offset {offset!r} is not an int"]
    if not mn <= 0 <= mx:
        out.append(f"[{mn!r}, {mx!r}] does not hold 0")
    if not scale > 0:
        return out + [f"scale {scale!r} is not positive"]
    if not rel_close(scale, (mx - mn) / 255):
        out.append(f"scale {scale!r} is not (max - min) / 255 = {(mx - mn) / 255!r}")
    if offset != round(mn / scale):
        out.append(f"offset {offset} is not round(min / scale) = {round(mn / scale)}")
    if not -255 <= offset <= 0:
        out.append(f"offset {offset} is outside -255..0")
    want_lo, want_hi = min(lo, 0.0), max(hi, 0.0)
    if mn > want_lo + scale or mx < want_hi - scale:
        out.append(f"[{mn!r}, {mx!r}] does not cover [{want_lo!r}, {want_hi!r}] within a step {scale!r}")
    if mx - mn > max(want_hi - want_lo, QNN_MIN_RANGE_MAX) * (1 + REL):
        out.append(
            f"[{mn!r}, {mx!r}] is wider than [{want_lo!r}, {want_hi!r}] and the {QNN_MIN_RANGE_MAX} minimum range"
        )
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("setdir", type=Path, help="the set folder (holds ranges.json and the tables)")
    args = ap.parse_args()
    try:
        method, quantized, floats = load_ranges(args.setdir)
    except Unusable as e:
        print(f"tables_check: {e}", file=sys.stderr)
        return 2
    try:
        import onnxruntime.quantization  # noqa: F401
    except ImportError as e:
        print(f"tables_check: needs onnxruntime ({e}): pip install onnxruntime", file=sys.stderr)
        return 2

    checks = [
        (ORT_CALIBRATION, lambda p: check_ort_calibration(p, method, quantized, floats)),
        (ORT_OVERRIDES, lambda p: check_ort_overrides(p, quantized, floats)),
        (TENSORRT_CACHE, lambda p: check_tensorrt_cache(p, quantized, floats)),
        (QNN_ENCODINGS, lambda p: check_qnn_encodings(p, quantized, floats)),
    ]
    failed = False
    for file, check in checks:
        path = args.setdir / file
        if not path.is_file():
            print(f"{file}: FAIL: missing from {args.setdir}")
            failed = True
            continue
        try:
            summary, problems = check(path)
        except Exception as e:  # a parser's own error is a finding too
            summary, problems = "unreadable", [f"{type(e).__name__}: {e}"]
        errors = [p for p in problems if not p.startswith("note: ")]
        verdict = f"FAIL ({len(errors)} problems)" if errors else "ok"
        print(f"{file}: {verdict}: {summary}")
        for p in problems:
            print(f"  {p}")
        failed |= bool(errors)
    print(f"{len(quantized)} quantized tensors, {len(floats)} kept in float")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
