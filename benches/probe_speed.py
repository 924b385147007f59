#!/usr/bin/env python3
"""The model probe's speed and memory against an ONNX Runtime CPU session.

    python benches/probe_speed.py POOL MODEL.onnx [--sizes 320 640] [--images 40] [--threads 1]

For each input size: `calibset build` of an N-image set from POOL (every
image one bucket, default dedup) with `[tensor]` at that size, `[model]` and
the `npy` export, at --threads worker threads; the probe's time is the
"probing the model" stage of `-v`, the build's peak RSS from /usr/bin/time.
Then ONNX Runtime 1.x on the set's calib.npy: one CPU session of the same
model with every float tensor it calibrates made an output (as its
calibrators augment the graph), intra-op threads = --threads, every image run
once after two warm-up runs. Prints images per second of each and their
ratio (the goal: calibset at least half ORT's). Needs onnxruntime, onnx,
numpy; run on an idle machine and say its load when quoting.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def recipe(pool, model, size, n):
    return f"""name = "probe-speed"
seed = 1
total = {n}
default_bucket = "normal"

[buckets.normal]
count = {n}

[sources]
roots = [{str(os.path.join(pool, "frames"))!r}, {str(os.path.join(pool, "stills"))!r}]

[tensor]
size = [{size}, {size}]
resize = "letterbox"

[model]
path = {os.path.abspath(model)!r}

[export]
formats = ["npy"]
""".replace("'", '"')


def augmented(model_path, shape, dst):
    import onnx
    from onnx import shape_inference

    m = onnx.load(model_path)
    for d, n in zip(m.graph.input[0].type.tensor_type.shape.dim, shape):
        d.Clear()
        d.dim_value = n
    m = shape_inference.infer_shapes(m)
    have = {o.name for o in m.graph.output}
    inits = {i.name for i in m.graph.initializer}
    for vi in m.graph.value_info:
        if vi.name not in have and vi.name not in inits and vi.type.tensor_type.elem_type == onnx.TensorProto.FLOAT:
            m.graph.output.append(vi)
    onnx.save(m, dst)
    return len(m.graph.output)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pool")
    ap.add_argument("model")
    ap.add_argument("--sizes", type=int, nargs="+", default=[320, 640])
    ap.add_argument("--images", type=int, default=40)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--calibset", default=os.path.join(ROOT, "target", "release", "calibset"))
    a = ap.parse_args()
    import onnxruntime as ort

    print(f"load {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores, onnxruntime {ort.__version__}, "
          f"{a.images} images, {a.threads} thread(s)")
    for size in a.sizes:
        with tempfile.TemporaryDirectory(prefix="calibset-probe-speed-") as tmp:
            r = os.path.join(tmp, "r.toml")
            open(r, "w").write(recipe(a.pool, a.model, size, a.images))
            out = os.path.join(tmp, "set")
            run = subprocess.run(["/usr/bin/time", "-f", "peak-rss-kb %M", a.calibset, "build", "--recipe", r,
                                  "--out", out, "-v", "--no-cache", "-j", str(a.threads)],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                sys.exit(run.stderr[-2000:])
            took = re.search(r"probing the model took ([0-9.]+)(µs|ms|s)", run.stderr)
            unit = {"µs": 1e-6, "ms": 1e-3, "s": 1.0}[took.group(2)]
            probe_s = float(took.group(1)) * unit
            rss = int(re.search(r"peak-rss-kb (\d+)", run.stderr).group(1)) / 1024
            data = np.load(os.path.join(out, "calib.npy"))
            aug = os.path.join(tmp, "aug.onnx")
            outputs = augmented(a.model, (1,) + data.shape[1:], aug)
            so = ort.SessionOptions()
            so.intra_op_num_threads = a.threads
            so.inter_op_num_threads = 1
            so.log_severity_level = 3
            s = ort.InferenceSession(aug, so, providers=["CPUExecutionProvider"])
            name = s.get_inputs()[0].name
            for x in data[:2]:
                s.run(None, {name: x[None]})
            t0 = time.perf_counter()
            for x in data:
                s.run(None, {name: x[None]})
            ort_s = time.perf_counter() - t0
            ours, theirs = len(data) / probe_s, len(data) / ort_s
            print(f"{size}x{size}: calibset probe {ours:.2f} images/s ({probe_s:.1f} s, build peak RSS {rss:.0f} MB); "
                  f"ONNX Runtime with {outputs} outputs {theirs:.2f} images/s ({ort_s:.1f} s); ratio {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
