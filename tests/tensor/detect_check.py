#!/usr/bin/env python3
"""Judges INT8 YOLOv8 detectors by their detections against the FP32 model.

usage: detect_check.py SET POOL FP32.onnx NAME=INT8_MODEL [NAME=INT8_MODEL ...]
                       [--images N] [--min-f1 F] [--expect-fail NAME] [--threads T]

Held-out images: the bench pool's manifest rows (POOL/manifest.csv) whose file
is not a source of the set (SET/manifest.csv), N of them (default 300) taken
evenly by path, a third from the background bucket; each preprocessed with the
set's `tensor` (SET/report.json) by the reference (reference.py). Every model
runs on every image; an INT8_MODEL is an ONNX file (ONNX Runtime) or an
OpenVINO IR `.xml`.

YOLOv8 output (1, 4 + classes, anchors): boxes cx, cy, w, h in input pixels,
class scores 0..1. Detections at a confidence: per anchor the best class,
kept at or above it, then per-class non-maximum suppression at IoU 0.7 (as
Ultralytics predicts), at most 300. An INT8 detection matches an unmatched
FP32 one of the same class at IoU >= 0.5, greedily by INT8 confidence.
Printed per model, at conf 0.25 and 0.05: FP32 and INT8 detections, matches,
F1 = 2 * matches / (FP32 + INT8); the mean absolute score error on the 20
anchors with FP32's highest scores of each image (at FP32's best class); on
background images, INT8 detections at 0.25 that match no FP32 one
(spurious); and, secondary, the mean cosine of the raw outputs.

A model FAILS when FP32 detects something at 0.05 and it detects nothing, or
when its F1 at 0.05 is below --min-f1 (default 0.45). --expect-fail NAME
inverts the verdict for a negative control (a model the check must reject).
Exit 1 when any verdict is not as expected.
"""
import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference  # noqa: E402

CONFS = (0.25, 0.05)
NMS_IOU = 0.7
MATCH_IOU = 0.5
MAX_DET = 300
TOP_ANCHORS = 20


def held_out(set_dir, pool, n):
    """(path, bucket) of n pool images that are not sources of the set."""
    with open(set_dir / "manifest.csv", newline="", encoding="utf-8") as f:
        used = {row["source"] for row in csv.DictReader(f)}
    with open(pool / "manifest.csv", newline="", encoding="utf-8") as f:
        rows = [(r["path"], r["bucket"]) for r in csv.DictReader(f) if r["path"] not in used]
    rows.sort()
    bg = [r for r in rows if r[1] == "background"]
    fg = [r for r in rows if r[1] != "background"]
    n_bg = min(len(bg), n // 3)
    n_fg = min(len(fg), n - n_bg)

    def even(xs, k):
        return [xs[int(i * len(xs) / k)] for i in range(k)] if k else []

    return even(fg, n_fg) + even(bg, n_bg), len(used)


def boxes_xyxy(b):
    cx, cy, w, h = b
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


def iou(a, b):
    """IoU of every box in a (k, 4) with every box in b (m, 4)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(2)
    area = lambda x: np.clip(x[:, 2:] - x[:, :2], 0, None).prod(1)  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None, :] - inter, 1e-9)


def detections(y, conf):
    """(boxes (k, 4) xyxy, classes (k,), scores (k,)) of one YOLOv8 output (4 + nc, A)."""
    scores = y[4:]
    cls = scores.argmax(0)
    best = scores.max(0)
    keep = np.nonzero(best >= conf)[0]
    if keep.size == 0:
        return np.zeros((0, 4)), np.zeros(0, int), np.zeros(0)
    b = boxes_xyxy(y[:4, keep].astype(np.float64))
    c, s = cls[keep], best[keep].astype(np.float64)
    out = []
    for k in np.unique(c):
        idx = np.nonzero(c == k)[0]
        idx = idx[np.argsort(-s[idx], kind="stable")]
        while idx.size:
            i = idx[0]
            out.append(i)
            if idx.size == 1:
                break
            rest = idx[1:]
            idx = rest[iou(b[i : i + 1], b[rest])[0] <= NMS_IOU]
    out = sorted(out, key=lambda i: -s[i])[:MAX_DET]
    return b[out], c[out], s[out]


def matches(ref, got):
    """Matched pairs of got's detections to ref's: same class, IoU >= MATCH_IOU."""
    rb, rc, _ = ref
    gb, gc, _ = got  # already sorted by score
    if len(rb) == 0 or len(gb) == 0:
        return 0
    m = iou(gb, rb)
    taken = np.zeros(len(rb), bool)
    n = 0
    for i in range(len(gb)):
        ok = (rc == gc[i]) & ~taken & (m[i] >= MATCH_IOU)
        if ok.any():
            j = int(np.argmax(np.where(ok, m[i], -1)))
            taken[j] = True
            n += 1
    return n


def cosine(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na and nb else float(na == nb)


class Runner:
    """Runs one model (ONNX via ONNX Runtime, or OpenVINO IR) on one (1, ...) tensor."""

    def __init__(self, path, threads):
        self.path = path
        if path.suffix == ".xml":
            import openvino as ov

            core = ov.Core()
            core.set_property("CPU", {"INFERENCE_NUM_THREADS": threads})
            self.model = core.compile_model(str(path), "CPU")
            self.run = lambda x: np.asarray(self.model(x)[0])
        else:
            import onnxruntime as ort

            so = ort.SessionOptions()
            so.intra_op_num_threads = threads
            so.log_severity_level = 3
            s = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
            name = s.get_inputs()[0].name
            self.run = lambda x: s.run(None, {name: x})[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("set", type=Path)
    ap.add_argument("pool", type=Path)
    ap.add_argument("fp32", type=Path)
    ap.add_argument("models", nargs="+", metavar="NAME=MODEL")
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--min-f1", type=float, default=0.45)
    ap.add_argument("--expect-fail", action="append", default=[], metavar="NAME")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    a = ap.parse_args()

    models = []
    for m in a.models:
        name, _, path = m.partition("=")
        if not path or not Path(path).is_file():
            print(f"FAIL {m}: not NAME=MODEL with an existing file")
            return 1
        models.append((name, Path(path)))
    spec = reference.spec_with_defaults(json.load(open(a.set / "report.json", encoding="utf-8"))["tensor"])
    images, in_set = held_out(a.set, a.pool, a.images)
    n_bg = sum(b == "background" for _, b in images)
    print(f"held-out: {len(images)} pool images not among the set's {in_set} sources "
          f"({len(images) - n_bg} normal/hard, {n_bg} background), {spec['size'][0]}x{spec['size'][1]} {spec['resize']}")

    t0 = time.monotonic()
    fp32 = Runner(a.fp32, a.threads)
    runners = [(name, Runner(path, a.threads)) for name, path in models]
    ref = {c: [] for c in CONFS}
    stats = {name: {"det": {c: [0, 0, 0] for c in CONFS}, "err": [], "cos": [], "spurious": 0, "bg_fp32": 0}
             for name, _ in models}
    for path, bucket in images:
        x = reference.preprocess(str(a.pool / path), spec)[None]
        y32 = fp32.run(x)[0]
        if y32.ndim != 2 or not 5 <= y32.shape[0] < y32.shape[1]:
            print(f"FAIL the FP32 output is {y32.shape}, not YOLOv8's (4 + classes, anchors)")
            return 1
        d32 = {c: detections(y32, c) for c in CONFS}
        s32 = y32[4:]
        top = np.argsort(-s32.max(0), kind="stable")[:TOP_ANCHORS]
        top_cls = s32[:, top].argmax(0)
        for name, r in runners:
            y8 = r.run(x)[0]
            s = stats[name]
            for c in CONFS:
                d8 = detections(y8, c)
                row = s["det"][c]
                row[0] += len(d32[c][0])
                row[1] += len(d8[0])
                row[2] += matches(d32[c], d8)
                if c == 0.25 and bucket == "background":
                    s["spurious"] += len(d8[0]) - matches(d32[c], d8)
                    s["bg_fp32"] += len(d32[c][0])
            s["err"].append(float(np.abs(y8[4:][top_cls, top] - s32[top_cls, top]).mean()))
            s["cos"].append(cosine(y32, y8))
    took = time.monotonic() - t0
    print(f"timing: {len(images)} images x {1 + len(runners)} models in {took:.1f} s")

    failed = 0
    report = {}
    for name, path in models:
        s = stats[name]
        figures = {}
        parts = []
        for c in CONFS:
            n32, n8, tp = s["det"][c]
            f1 = 2 * tp / (n32 + n8) if n32 + n8 else 1.0
            figures[f"conf_{c}"] = {"fp32": n32, "int8": n8, "matched": tp, "f1": round(f1, 4)}
            parts.append(f"conf {c}: FP32 {n32} INT8 {n8} matched {tp} F1 {f1:.3f}")
        figures["top_score_error"] = round(float(np.mean(s["err"])), 5)
        figures["spurious_background"] = s["spurious"]
        figures["cosine"] = round(float(np.mean(s["cos"])), 5)
        report[name] = figures
        print(f"{name} ({path.name}): " + "; ".join(parts)
              + f"; top-{TOP_ANCHORS} score error {figures['top_score_error']:.4f}"
              + f"; background: {s['spurious']} spurious at 0.25 (FP32 {s['bg_fp32']})"
              + f"; cosine {figures['cosine']:.5f} (secondary)")
        low = figures["conf_0.05"]
        why = None
        if low["fp32"] and not low["int8"]:
            why = "detects nothing at conf 0.05"
        elif low["f1"] < a.min_f1:
            why = f"F1 at conf 0.05 {low['f1']:.3f} < {a.min_f1}"
        expect_fail = name in a.expect_fail
        if why and expect_fail:
            print(f"ok   {name}: rejected as expected ({why})")
        elif why:
            failed += 1
            print(f"FAIL {name}: {why}")
        elif expect_fail:
            failed += 1
            print(f"FAIL {name}: a negative control, yet it passes (F1 at conf 0.05 {low['f1']:.3f} >= {a.min_f1})")
        else:
            print(f"ok   {name}: F1 at conf 0.05 {low['f1']:.3f} >= {a.min_f1}")
    if a.json:
        a.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"detect_check: {len(models) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
