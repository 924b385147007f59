#!/usr/bin/env python3
"""calibset's probe against ONNX Runtime's own calibrators, on the same tensors.

    python tests/tensor/ranges_check.py SETDIR MODEL.onnx [--pool POOL [--images N]]

SETDIR is a set built with `[model]` and the `npy` export: it holds ranges.json
(calibset's per-tensor statistics) and calib.npy (the tensors it probed). The
model's input is fixed to the set's shape, as quantize_ort.py does, and:

1. MinMax: ONNX Runtime's MinMaxCalibrater over calib.npy. Every tensor it
   calibrates must be in ranges.json with the same min and max within 1e-3 of
   the tensor's magnitude.
2. Percentile 99.999: the calibrator quantize_static builds for
   CalibrationMethod.Percentile (symmetric, 2,048 bins). Every tensor's range
   must be within 1 % of the tensor's range (ORT's own bins are 1/1,024 of the
   largest magnitude wide).
3. The set's quantize_ort.py with --ranges (quantize_static fed calibset's
   ort_calibration.json, no calibration run) against quantize_ort.py as is
   (ONNX Runtime calibrating on calib.npy), same method, same nodes kept
   float; and quantize_static fed the set's ort_overrides.json as
   TensorQuantOverrides on the same prepared model: the mean output cosine
   between each calibset-fed INT8 model and ORT's, on the set's images and on N held-out
   pool images (as detect_check.py picks them), must be >= 0.9999, and their
   detection F1 against FP32 at conf 0.05 (detect_check.py's matching) within
   0.02 of each other.

Exits 1 with the worst tensors on a mismatch.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np


def fixed_model(model_path, shape, dst):
    import onnx

    m = onnx.load(model_path)
    dims = m.graph.input[0].type.tensor_type.shape.dim
    for d, n in zip(dims, shape):
        d.Clear()
        d.dim_value = n
    onnx.save(m, dst)


class Reader:
    def __init__(self, name, data):
        self.name, self.data, self.i = name, data, 0

    def get_next(self):
        if self.i >= len(self.data):
            return None
        x = self.data[self.i : self.i + 1]
        self.i += 1
        return {self.name: x}

    def rewind(self):
        self.i = 0

    def __len__(self):
        return len(self.data)

    def set_range(self, start_index, end_index):
        self.data = self.data[start_index:end_index]
        self.i = 0


def calibrate(model, name, data, method, tmp, **extra):
    from onnxruntime.quantization.calibrate import CalibrationDataReader, create_calibrator

    class R(Reader, CalibrationDataReader):
        pass

    cal = create_calibrator(model, augmented_model_path=os.path.join(tmp, f"aug-{method.name}.onnx"),
                            calibrate_method=method, extra_options=extra)
    cal.collect_data(R(name, data))
    out = {}
    for k, td in cal.compute_data().items():
        lo, hi = td.range_value
        out[k] = (float(np.asarray(lo).reshape(-1)[0]), float(np.asarray(hi).reshape(-1)[0]))
    return out


def compare(what, ort, ours, key, tol, scale_of):
    missing = sorted(k for k in ort if k not in ours)
    rows = []
    for k, (lo, hi) in ort.items():
        if k not in ours:
            continue
        a, b = key(ours[k])
        s = scale_of(ours[k], lo, hi)
        err = max(abs(a - lo), abs(b - hi)) / s
        rows.append((err, k, (lo, hi), (a, b)))
    rows.sort(reverse=True)
    bad = [r for r in rows if r[0] > tol]
    worst = rows[0] if rows else (0.0, "-", None, None)
    print(f"{what}: {len(rows)} tensors compared with ONNX Runtime, worst {worst[0]:.2e} ({worst[1]}), "
          f"{len(bad)} over {tol:g}; ORT calibrates {len(missing)} tensor(s) calibset has not"
          + (f" (first: {missing[:3]})" if missing else ""))
    for err, k, o, c in bad[:8]:
        print(f"  FAIL {k}: ORT {o}, calibset {c}, off by {err:.2e}")
    return not bad and not missing


def quantize_with_overrides(set_dir, fixed, out, exclude, tmp):
    """quantize_static of `fixed` as quantize_ort.py prepares it, every range
    from the set's ort_overrides.json (ORT 1.32 wants numpy values)."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    sys.path.insert(0, set_dir)
    import quantize_ort
    from calib_reader import CalibReader

    pre = os.path.join(tmp, "pre-overrides.onnx")
    quant_pre_process(fixed, pre)
    m = onnx.load(pre)
    quantize_ort.named(m)
    onnx.save(m, pre)
    with open(os.path.join(set_dir, "ort_overrides.json"), encoding="utf-8") as f:
        overrides = {k: [{kk: np.float32(vv) for kk, vv in o.items()} for o in v] for k, v in json.load(f).items()}
    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        quantize_static(pre, out, CalibReader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax, nodes_to_exclude=exclude,
                        extra_options={"TensorQuantOverrides": overrides, "CalibStridedMinMax": 8})
    finally:
        os.chdir(cwd)


def cosine(a, b):
    a, b = a.reshape(-1).astype(np.float64), b.reshape(-1).astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("set")
    ap.add_argument("model")
    ap.add_argument("--pool", help="the bench pool, for held-out images")
    ap.add_argument("--images", type=int, default=100, help="held-out images (default 100)")
    a = ap.parse_args()
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationMethod

    ranges = json.load(open(os.path.join(a.set, "ranges.json"), encoding="utf-8"))
    data = np.load(os.path.join(a.set, "calib.npy"))
    name = ranges["input"]["name"]
    shape = [1] + list(data.shape[1:])
    assert list(ranges["input"]["shape"]) == shape, (ranges["input"], shape)
    assert ranges["images"] == len(data), (ranges["images"], len(data))
    ours = {t["name"]: t for t in ranges["tensors"]}
    ok = True
    with tempfile.TemporaryDirectory(prefix="calibset-ranges-") as tmp:
        model = os.path.join(tmp, "fixed.onnx")
        fixed_model(a.model, shape, model)

        mm = calibrate(model, name, data, CalibrationMethod.MinMax, tmp)
        mag = lambda t, lo, hi: max(abs(lo), abs(hi), 1e-6)  # noqa: E731
        ok &= compare("MinMax min/max", mm, ours, lambda t: (t["min"], t["max"]), 1e-3, mag)

        pc = calibrate(model, name, data, CalibrationMethod.Percentile, tmp, percentile=99.999)
        span = lambda t, lo, hi: max(t["max"] - t["min"], 1e-6)  # noqa: E731
        ok &= compare("Percentile 99.999", pc, ours, lambda t: tuple(t["percentile"]["99.999"]), 0.01, span)

        method = ranges["method"]
        theirs_path, ours_path = os.path.join(tmp, "ort.int8.onnx"), os.path.join(tmp, "calibset.int8.onnx")
        script = os.path.join(a.set, "quantize_ort.py")
        # ONNX Runtime calibrating on every image at once (one stride): its
        # most exact percentile, which strides only coarsen.
        for out, extra in ((ours_path, ["--ranges"]), (theirs_path, ["--stride", str(len(data))])):
            run = subprocess.run([sys.executable, script, model, out, *extra], capture_output=True, text=True)
            said = [l for l in run.stderr.splitlines() if l.startswith("quantize_ort:")]
            print("\n".join(said))
            if run.returncode != 0:
                print(run.stderr[-3000:])
                print("FAIL quantize_ort.py " + " ".join(extra) + " exits non-zero")
                return 1
        exclude = [l for l in subprocess.run([sys.executable, script, model, "-", "--list-float"],
                                              capture_output=True, text=True, check=True).stdout.splitlines() if l]
        # quantize_static fed calibset's TensorQuantOverrides (every range
        # given, so the calibration it still runs sets none), on the model
        # quantize_ort.py quantizes: fixed input, quant_pre_process, named
        # nodes, the same nodes kept float.
        overrides_path = os.path.join(tmp, "overrides.int8.onnx")
        quantize_with_overrides(a.set, model, overrides_path, exclude, tmp)
        print(f"quantize_static with {os.path.join(a.set, 'ort_overrides.json')} as TensorQuantOverrides: wrote {overrides_path}")
        so = ort.SessionOptions()
        so.log_severity_level = 3
        session = lambda p: ort.InferenceSession(p, so, providers=["CPUExecutionProvider"])  # noqa: E731
        s_theirs, s_fp32 = session(theirs_path), session(model)
        ours = [("ort_calibration.json (quantize_ort.py --ranges)", session(ours_path)),
                ("ort_overrides.json (TensorQuantOverrides)", session(overrides_path))]
        sets = [("set", data)]
        if a.pool:
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            import detect_check
            import reference
            from pathlib import Path

            spec = reference.spec_with_defaults(json.load(open(os.path.join(a.set, "report.json"), encoding="utf-8"))["tensor"])
            images, _ = detect_check.held_out(Path(a.set), Path(a.pool), a.images)
            held = np.stack([reference.preprocess(str(Path(a.pool) / p), spec) for p, _ in images])
            sets.append(("held-out", held))
        for label, xs in sets:
            cos = {who: [] for who, _ in ours}
            det = {who: [0, 0, 0] for who in list(cos) + ["ort"]}
            for x in xs:
                y32 = s_fp32.run(None, {name: x[None]})[0][0]
                y_theirs = s_theirs.run(None, {name: x[None]})[0]
                ys = {who: s.run(None, {name: x[None]})[0] for who, s in ours}
                for who, y in ys.items():
                    cos[who].append(cosine(y, y_theirs))
                if label == "held-out":
                    d32 = detect_check.detections(y32, 0.05)
                    for who, y in list(ys.items()) + [("ort", y_theirs)]:
                        d8 = detect_check.detections(y[0], 0.05)
                        row = det[who]
                        row[0] += len(d32[0])
                        row[1] += len(d8[0])
                        row[2] += detect_check.matches(d32, d8)
            f1 = {w: 2 * r[2] / (r[0] + r[1]) if r[0] + r[1] else 1.0 for w, r in det.items()}
            for who, c in cos.items():
                mean = float(np.mean(c))
                good = mean >= 0.9999
                line = (f"INT8 from calibset's {who} vs ORT's own {method['name']} calibration, "
                        f"{len(xs)} {label} images ({len(exclude)} nodes kept float): output cosine mean {mean:.6f}, "
                        f"min {min(c):.6f}" + ("" if good else "  FAIL (cosine mean < 0.9999)"))
                if label == "held-out":
                    close = abs(f1[who] - f1["ort"]) <= 0.02
                    line += f"; F1 vs FP32 at conf 0.05: calibset's {f1[who]:.3f}, ORT's {f1['ort']:.3f}"
                    line += "" if close else "  FAIL (apart by more than 0.02)"
                    good &= close
                print(line)
                ok &= good
    print("ok" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
