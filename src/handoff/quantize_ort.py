#!/usr/bin/env python3
"""Quantizes an ONNX model to INT8 with ONNX Runtime on this calibration set.

Written by calibset beside calib_reader.py and calib.npy (@N@ images of shape
(@SHAPE@), @DTYPE@):

    python quantize_ort.py model.onnx model.int8.onnx

1. Fixes the model's input to the set's shape (batch 1) and runs ONNX Runtime's
   quant_pre_process (shape inference, graph optimisation).
2. Keeps in float the detection post-processing: every node between the graph
   outputs and the last Conv of each head branch (a Conv whose output lies on
   a feature grid, input size / 4..64). For a YOLOv8 / YOLO11 head that is the
   DFL, the box decode, the class Sigmoid and the final Concat that joins boxes
   in pixels (0..640) with scores (0..1): quantized with one scale, every score
   rounds to 0. Where the walk from an output reaches the model's input (no
   such Conv: not a detection head) nothing is kept float; name nodes with
   --exclude. --list-float prints the nodes and stops.
3. quantize_static: QDQ, int8, per-channel weights, calibrated with
   @METHOD_TEXT@ (the method the set's report advises), in strides of at most
   --stride images: ONNX Runtime's histogram calibration keeps every
   activation of the images it is given, so memory grows with the stride, not
   with the size of the set.
   With --ranges (a set built with [model]), no calibration runs: the ranges
   come from calibset's probe of the model, ort_calibration.json beside this
   script (ONNX Runtime's own calibration-cache format, the method calibset
   used), so the INT8 model is what ONNX Runtime's calibration of the same
   set gives, at a fraction of its time and memory.
"""
import argparse
import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from calib_reader import CalibReader  # noqa: E402

METHOD = @METHOD@
PERCENTILE = @PERCENTILE@
# Feature-grid strides a head's last Conv may sit at.
GRID_STRIDES = (4, 8, 16, 32, 64)


def fixed_input(model, shape):
    """Sets the first graph input's dims to `shape` (the set's, batch 1)."""
    dims = model.graph.input[0].type.tensor_type.shape.dim
    if len(dims) != len(shape):
        sys.exit(f"quantize_ort: the model's input has rank {len(dims)}, the set's tensors {len(shape)} (with the batch axis)")
    for d, n in zip(dims, shape):
        if d.HasField("dim_value") and d.dim_value != n:
            sys.exit(f"quantize_ort: the model's input is {[x.dim_value or x.dim_param for x in dims]}, the set's tensors {list(shape)}")
        d.Clear()
        d.dim_value = n


def named(model):
    """Gives every unnamed node a name (nodes_to_exclude works by name)."""
    used = {n.name for n in model.graph.node}
    for k, n in enumerate(model.graph.node):
        if not n.name:
            name = f"calibset_node_{k}"
            while name in used:
                name += "_"
            n.name = name
            used.add(name)


def float_tail(model):
    """The post-processing after the last Conv of each head branch.

    Walks back from every graph output through the nodes that produce it and
    stops at a Conv whose output is (1, C, H / s, W / s) for a stride s in
    GRID_STRIDES. Returns (nodes, head convs), or (None, reason) when the walk
    reaches the graph input or finds no such Conv.
    """
    g = model.graph
    dims = [d.dim_value for d in g.input[0].type.tensor_type.shape.dim]
    hw = dims[2:4] if dims[1] in (1, 3, 4) else dims[1:3]
    shapes = {}
    for vi in list(g.value_info) + list(g.output):
        t = vi.type.tensor_type
        if t.HasField("shape"):
            shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
    grids = {(-(-hw[0] // s), -(-hw[1] // s)) for s in GRID_STRIDES} | {(hw[0] // s, hw[1] // s) for s in GRID_STRIDES}

    def on_grid(name):
        s = shapes.get(name)
        return s is not None and len(s) == 4 and (s[2], s[3]) in grids

    producer = {o: n for n in g.node for o in n.output}
    inputs = {i.name for i in g.input}
    stack = [o.name for o in g.output]
    seen, tail, heads = set(), [], []
    while stack:
        t = stack.pop()
        if t in inputs:
            return None, f"the walk back from the outputs reaches the input {t!r} without a Conv on a feature grid"
        n = producer.get(t)
        if n is None or n.name in seen:
            continue
        seen.add(n.name)
        if n.op_type == "Conv" and on_grid(n.output[0]):
            heads.append(n)
            continue
        tail.append(n)
        stack.extend(i for i in n.input if i)
    if not heads:
        return None, "no Conv on a feature grid before the outputs"
    return tail, heads


def main():
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="the FP32 ONNX model")
    ap.add_argument("output", help="where the INT8 model goes")
    ap.add_argument("--method", choices=["Percentile", "MinMax", "Entropy"], default=METHOD,
                    help=f"calibration method (default {METHOD}, the report's advice)")
    ap.add_argument("--percentile", type=float, default=PERCENTILE or 99.999,
                    help=f"for Percentile (default {PERCENTILE or 99.999})")
    ap.add_argument("--stride", type=int, default=8,
                    help="images per calibration stride (default 8; the largest divisor of the set's size not above it)")
    ap.add_argument("--exclude", action="append", default=[], metavar="NODE",
                    help="also keep this node in float (repeat)")
    ap.add_argument("--no-auto-exclude", action="store_true",
                    help="do not keep the detection post-processing in float")
    ap.add_argument("--per-tensor", action="store_true", help="per-tensor weights (default per-channel)")
    ap.add_argument("--list-float", action="store_true", help="print the nodes kept in float and stop")
    ap.add_argument("--ranges", nargs="?", const=os.path.join(HERE, "ort_calibration.json"), metavar="FILE",
                    help="take the ranges from calibset's probe of the model (default FILE: ort_calibration.json "
                         "beside this script) instead of calibrating")
    a = ap.parse_args()

    reader = CalibReader()
    shape = (1,) + tuple(reader.data.shape[1:])
    with tempfile.TemporaryDirectory(prefix="calibset-ort-") as tmp:
        fixed = os.path.join(tmp, "fixed.onnx")
        pre = os.path.join(tmp, "pre.onnx")
        model = onnx.load(a.model)
        fixed_input(model, shape)
        onnx.save(model, fixed)
        del model
        quant_pre_process(fixed, pre)
        model = onnx.load(pre)
        named(model)
        onnx.save(model, pre)
        exclude = list(a.exclude)
        if not a.no_auto_exclude:
            tail, heads = float_tail(model)
            if tail is None:
                print(f"quantize_ort: no detection head found ({heads}): nothing kept in float but --exclude", file=sys.stderr)
            else:
                ops = {}
                for n in tail:
                    ops[n.op_type] = ops.get(n.op_type, 0) + 1
                print(f"quantize_ort: keeping {len(tail)} nodes in float, the post-processing after {len(heads)} head Convs: "
                      + ", ".join(f"{k} {v}" for k, v in sorted(ops.items())), file=sys.stderr)
                exclude += [n.name for n in tail]
        if a.list_float:
            print("\n".join(exclude))
            return 0
        del model
        cache = None
        if a.ranges:
            import json
            import shutil

            if not os.path.isfile(a.ranges):
                sys.exit(f"quantize_ort: no {a.ranges}: build the set with [model] (or --model) to get it")
            with open(a.ranges, encoding="utf-8") as f:
                cached = json.load(f)["calibration_method"]["value"].split(".")[-1]
            a.method = cached
            # quantize_static writes a cache it does not find: hand it a copy.
            cache = os.path.join(tmp, "ort_calibration.json")
            shutil.copy(a.ranges, cache)
        total = len(reader)
        stride = max(d for d in range(1, max(1, min(a.stride, total)) + 1) if total % d == 0)
        extra = {"CalibStridedMinMax": stride}
        if a.method == "Percentile":
            extra["CalibPercentile"] = a.percentile
        method = getattr(CalibrationMethod, a.method)
        what = f"{a.method} {a.percentile}" if a.method == "Percentile" else a.method
        if cache:
            print(f"quantize_ort: {what} ranges from {a.ranges} (calibset's probe of the model), no calibration run", file=sys.stderr)
        else:
            print(f"quantize_ort: calibrating with {what} on {len(reader.data)} images in strides of {stride}", file=sys.stderr)
        cwd = os.getcwd()
        out = os.path.abspath(a.output)
        os.chdir(tmp)  # calibration writes its augmented model to the working folder
        try:
            quantize_static(pre, out, reader, quant_format=QuantFormat.QDQ, per_channel=not a.per_tensor,
                            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                            calibrate_method=method, nodes_to_exclude=exclude, extra_options=extra,
                            calibration_cache_path=cache)
        finally:
            os.chdir(cwd)
    print(f"quantize_ort: wrote {a.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
