#!/usr/bin/env python3
"""Quantizes a model with a calibset set's calib_reader.py and compares INT8 to FP32.

usage: ort_roundtrip.py OUT MODEL.onnx [--images K] [--min-cosine C] [--method percentile|minmax] [--threads T]

Imports OUT/calib_reader.py, runs onnxruntime.quantization.quantize_static on
MODEL (QDQ, per-tensor, Percentile calibration at 99.999 %, or MinMax where
this onnxruntime has no Percentile) into a temporary file, then runs the FP32
and the INT8 model on the first K images of OUT/calib.npy and prints, per
output, the largest absolute difference and the cosine similarity of the
flattened outputs; for a YOLOv8-shaped output (1, 4 + classes, anchors) also
the mean top confidence and the agreement of the class scores. Exits 1 if the
quantization fails, the INT8 model does not load or run, or the cosine
similarity of any image's output is below C (default 0.9).
"""
import argparse
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def fail(msg):
    print(f"FAIL {msg}")
    print("ort_roundtrip: 0 passed, 1 failed")
    sys.exit(1)


def load_reader(out):
    p = out / "calib_reader.py"
    if not p.is_file():
        fail(f"{p} is missing")
    spec = importlib.util.spec_from_file_location("calibset_calib_reader", p)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    if not hasattr(mod, "CalibReader"):
        fail(f"{p} defines no CalibReader")
    return mod.CalibReader


def cosine(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 1.0 if na == nb else 0.0
    return float(a @ b / (na * nb))


def yolo_v8(shape):
    """(1, 4 + classes, anchors) with classes >= 1 and anchors > channels."""
    return len(shape) == 3 and shape[0] == 1 and 5 <= shape[1] < shape[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("model", type=Path)
    ap.add_argument("--images", type=int, default=4, help="images of calib.npy compared (default 4)")
    ap.add_argument("--min-cosine", type=float, default=0.9)
    ap.add_argument("--method", choices=["percentile", "minmax"], default="percentile")
    ap.add_argument("--threads", type=int, default=2, help="intra-op threads of the comparison sessions")
    ap.add_argument("--quantize-outputs", action="store_true",
                    help="also quantize the nodes that produce the graph outputs (by default they stay float: "
                         "YOLOv8's output Concat mixes pixel boxes and 0-1 scores, one scale zeroes the scores)")
    a = ap.parse_args()

    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, quantize_static

    npy = a.out / "calib.npy"
    if not npy.is_file():
        fail(f"{npy} is missing")
    calib = np.load(npy, mmap_mode="r")
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.log_severity_level = 3
    try:
        fp32 = ort.InferenceSession(str(a.model), so, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001
        fail(f"the FP32 model {a.model} does not load: {e}")
    inp = fp32.get_inputs()[0]
    def dims(shape):  # long symbolic dims (YOLO's anchor count) as N
        return [d if not isinstance(d, str) or len(d) <= 12 else "N" for d in shape]

    print(f"model {a.model.name}: input {inp.name!r} {inp.shape} {inp.type}; outputs "
          + ", ".join(f"{o.name!r} {dims(o.shape)}" for o in fp32.get_outputs()))
    print(f"calib.npy: {calib.shape} {calib.dtype.str}; onnxruntime {ort.__version__}")
    if "float" not in inp.type or calib.dtype != np.float32:
        fail(f"the model wants {inp.type} and calib.npy is {calib.dtype.str}: quantize_static needs float32 inputs here")
    if len(inp.shape) != calib.ndim:
        fail(f"the model's input has rank {len(inp.shape)}, calib.npy rows {calib.ndim} (with the batch axis)")
    for k, (m, c) in enumerate(zip(inp.shape[1:], calib.shape[1:]), 1):
        if isinstance(m, int) and m != c:
            fail(f"the model's input axis {k} is {m}, calib.npy's {c} (layout or size differs): shape {inp.shape} vs {calib.shape}")

    CalibReader = load_reader(a.out)
    reader = CalibReader(input_name=inp.name)
    default_name = None
    try:
        first = CalibReader().get_next()
        default_name = list(first)[0] if first else None
    except Exception as e:  # noqa: BLE001
        print(f"note CalibReader() without input_name failed: {e}")
    if default_name and default_name != inp.name:
        print(f"note CalibReader()'s default input name is {default_name!r}, the model's {inp.name!r}: passing input_name")

    method = CalibrationMethod.MinMax
    extra = {}
    if a.method == "percentile":
        if hasattr(CalibrationMethod, "Percentile"):
            method = CalibrationMethod.Percentile
            extra = {"CalibPercentile": 99.999}
        else:
            print("note this onnxruntime has no CalibrationMethod.Percentile: MinMax instead")
    exclude = []
    if not a.quantize_outputs:
        import onnx
        g = onnx.load(str(a.model), load_external_data=False).graph
        outs = {o.name for o in g.output}
        exclude = [n.name for n in g.node if set(n.output) & outs and n.op_type == "Concat"]
        if exclude:
            print(f"note nodes_to_exclude={exclude} (Concat producing a graph output stays float; --quantize-outputs to quantize it)")
    with tempfile.TemporaryDirectory(prefix="calibset-ort-") as tmp:
        q = Path(tmp) / "int8.onnx"
        t0 = time.monotonic()
        cwd = os.getcwd()
        os.chdir(tmp)  # quantize_static may leave augmented models in the working folder
        try:
            quantize_static(str(a.model.resolve()), str(q), reader, quant_format=QuantFormat.QDQ, per_channel=False,
                            calibrate_method=method, extra_options=extra, nodes_to_exclude=exclude)
        except Exception as e:  # noqa: BLE001
            fail(f"quantize_static ({method.name}) failed: {type(e).__name__}: {e}")
        finally:
            os.chdir(cwd)
        took = time.monotonic() - t0
        print(f"quantize_static: QDQ, per-tensor, {method.name}{' 99.999' if extra else ''}, {len(calib)} images in {took:.1f} s;"
              f" {a.model.stat().st_size / 1e6:.1f} MB -> {q.stat().st_size / 1e6:.1f} MB")
        try:
            import onnx
            g = onnx.load(str(q)).graph
            ops = [n.op_type for n in g.node]
            print(f"int8 model: {ops.count('QuantizeLinear')} QuantizeLinear, {ops.count('DequantizeLinear')} DequantizeLinear of {len(ops)} nodes")
            if not ops.count("QuantizeLinear"):
                fail("the quantized model has no QuantizeLinear node")
        except ModuleNotFoundError:
            pass
        try:
            int8 = ort.InferenceSession(str(q), so, providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001
            fail(f"the INT8 model does not load: {type(e).__name__}: {e}")

        k = min(a.images, len(calib))
        names = [o.name for o in fp32.get_outputs()]
        worst = 1.0
        stats = {n: {"cos": [], "maxabs": [], "top32": [], "top8": [], "scos": [], "n32": [], "n8": []} for n in names}
        t1 = time.monotonic()
        for i in range(k):
            x = np.ascontiguousarray(calib[i:i + 1])
            ya = fp32.run(None, {inp.name: x})
            try:
                yb = int8.run(None, {inp.name: x})
            except Exception as e:  # noqa: BLE001
                fail(f"the INT8 model does not run on image {i}: {type(e).__name__}: {e}")
            for n, u, v in zip(names, ya, yb):
                if u.shape != v.shape:
                    fail(f"output {n!r}: FP32 {u.shape}, INT8 {v.shape}")
                s = stats[n]
                s["cos"].append(cosine(u, v))
                s["maxabs"].append(float(np.abs(u.astype(np.float64) - v).max()))
                if yolo_v8(u.shape):
                    c32, c8 = u[0, 4:, :], v[0, 4:, :]
                    s["top32"].append(float(c32.max()))
                    s["top8"].append(float(c8.max()))
                    s["scos"].append(cosine(c32, c8))
                    s["n32"].append(int((c32.max(0) > 0.25).sum()))
                    s["n8"].append(int((c8.max(0) > 0.25).sum()))
        run_took = time.monotonic() - t1
        for n in names:
            s = stats[n]
            worst = min(worst, min(s["cos"]))
            line = (f"output {n!r} on {k} images: cosine min {min(s['cos']):.5f} mean {np.mean(s['cos']):.5f},"
                    f" max abs diff {max(s['maxabs']):.4g}")
            if s["top32"]:
                line += (f"; YOLOv8 scores: mean top confidence FP32 {np.mean(s['top32']):.4f} INT8 {np.mean(s['top8']):.4f},"
                         f" score cosine min {min(s['scos']):.4f}, anchors > 0.25 FP32 {sum(s['n32'])} INT8 {sum(s['n8'])}")
            print(line)
        print(f"timing: quantization {took:.1f} s, {2 * k} inferences {run_took:.1f} s")
    if worst < a.min_cosine:
        print(f"FAIL cosine similarity {worst:.5f} < {a.min_cosine}")
        print("ort_roundtrip: 0 passed, 1 failed")
        return 1
    print(f"ok   INT8 agrees with FP32: cosine >= {worst:.5f} (threshold {a.min_cosine})")
    print("ort_roundtrip: 1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
