#!/usr/bin/env python3
"""Every `tensor.filter` x resize mode against OpenCV and Pillow, independently.

    filters_check.py POOL [--calibset BIN] [--pngs N] [--jpegs N] [--tolerance L]

Picks N PNG and N JPEG stills from a make-pool folder (hostile files skipped),
plus small PNG cut-outs of them (so that enlarging is checked too), and builds
one calibset set per filter (linear, area, bilinear-aa, nearest, cubic) and
resize mode (stretch, letterbox centred, letterbox top-left, crop) with
`dtype = "uint8"`, `layout = "nhwc"`. Each image is then preprocessed here from
the deployment libraries' own calls, written from their documentation and
source, not from calibset's code:

- decode: `cv2.imread(path, cv2.IMREAD_COLOR)`, BGR -> RGB;
- resample: `cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR | INTER_AREA |
  INTER_NEAREST | INTER_CUBIC)`, or `PIL.Image.fromarray(img).resize((w, h),
  Image.BILINEAR)` for bilinear-aa;
- letterbox: Ultralytics' `LetterBox` (r = min(H/h, W/w), new size int(round(w r)),
  int(round(h r)), padding int(round(dw - 0.1)) / int(round(dw + 0.1)) with 114,
  or all right and bottom for top-left);
- crop: torchvision's `Resize(S)` (shorter side S, longer int(S * long / short))
  then `CenterCrop(S)` (offset int(round((n - S) / 2))).

calibset's calib.npy must match within --tolerance levels (default 1) on every
value. Prints one line per filter x mode: images, values off by 1 and by more,
images not byte-identical, the largest difference; for cubic also against
OpenCV's own code (`cv2.ipp.setUseIPP(False)`; the wheels' default routes 8-bit
INTER_CUBIC through Intel IPP). Exit 1 on any value beyond the tolerance.
"""
import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import hostile  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

FILTERS = ("linear", "area", "bilinear-aa", "nearest", "cubic")
CV2 = {"linear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA, "nearest": cv2.INTER_NEAREST,
       "cubic": cv2.INTER_CUBIC}
# mode name -> (recipe lines, size)
MODES = {
    "stretch": ('resize = "stretch"', (160, 120)),
    "letterbox": ('resize = "letterbox"', (160, 144)),
    "letterbox-top-left": ('resize = "letterbox"\npad_position = "top-left"', (144, 160)),
    "crop": ('resize = "crop"', (144, 144)),
}


def resize(img, w, h, filt, ipp=True):
    if (w, h) == (img.shape[1], img.shape[0]):
        return img.copy()
    if filt == "bilinear-aa":
        return np.asarray(Image.fromarray(img).resize((w, h), Image.BILINEAR))
    prev = cv2.ipp.useIPP()
    cv2.ipp.setUseIPP(ipp)
    try:
        return cv2.resize(img, (w, h), interpolation=CV2[filt])
    finally:
        cv2.ipp.setUseIPP(prev)


def letterbox(img, W, H, filt, center=True, ipp=True):
    """Ultralytics LetterBox(new_shape=(H, W), auto=False, scaleup=True, center=center)."""
    shape = img.shape[:2]
    r = min(H / shape[0], W / shape[1])
    new_unpad = int(round(shape[1] * r)), int(round(shape[0] * r))
    dw, dh = W - new_unpad[0], H - new_unpad[1]
    if center:
        dw /= 2
        dh /= 2
    if shape[::-1] != new_unpad:
        img = resize(img, new_unpad[0], new_unpad[1], filt, ipp)
    top, bottom = int(round(dh - 0.1)) if center else 0, int(round(dh + 0.1))
    left, right = int(round(dw - 0.1)) if center else 0, int(round(dw + 0.1))
    return cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(114, 114, 114))


def crop(img, S, filt, ipp=True):
    """torchvision Resize(S) then CenterCrop(S)."""
    h, w = img.shape[:2]
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = S, int(S * long / short)
    nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
    img = resize(img, nw, nh, filt, ipp)
    top, left = int(round((nh - S) / 2.0)), int(round((nw - S) / 2.0))
    return img[top:top + S, left:left + S]


def reference(rgb, mode, size, filt, ipp=True):
    W, H = size
    if mode == "stretch":
        return resize(rgb, W, H, filt, ipp)
    if mode == "letterbox":
        return letterbox(rgb, W, H, filt, True, ipp)
    if mode == "letterbox-top-left":
        return letterbox(rgb, W, H, filt, False, ipp)
    assert W == H, "crop checks a square size (torchvision Resize(int))"
    return crop(rgb, W, filt, ipp)


def pick(pool, ext, n):
    """n files ending in ext from POOL/stills, spread over the sorted list."""
    bad = hostile(pool)
    found = []
    for d, _, files in os.walk(os.path.join(pool, "stills")):
        for name in files:
            p = os.path.normpath(os.path.join(d, name))
            if name.lower().endswith(ext) and p not in bad:
                found.append(p)
    found.sort()
    if len(found) <= n:
        return found
    return [found[i * len(found) // n] for i in range(n)]


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pool")
    ap.add_argument("--calibset", default=os.path.join(ROOT, "target", "release", "calibset"))
    ap.add_argument("--pngs", type=int, default=8)
    ap.add_argument("--jpegs", type=int, default=12)
    ap.add_argument("--tolerance", type=int, default=1)
    a = ap.parse_args(argv)
    a.calibset = os.path.abspath(a.calibset)
    sources = pick(a.pool, ".png", a.pngs) + pick(a.pool, (".jpg", ".jpeg"), a.jpegs)
    if not sources:
        raise SystemExit(f"no stills in {a.pool}")
    failed = False
    with tempfile.TemporaryDirectory() as work:
        stills = os.path.join(work, "stills")
        os.makedirs(stills)
        names = {}
        for i, p in enumerate(sources):
            name = f"{i:03d}{os.path.splitext(p)[1].lower()}"
            shutil.copyfile(p, os.path.join(stills, name))
            names[name] = p
        # Small lossless cut-outs, odd sizes: the sets enlarge these.
        for i, p in enumerate(sources[: max(2, len(sources) // 4)]):
            rgb = cv2.imread(p, cv2.IMREAD_COLOR)
            h, w = rgb.shape[:2]
            cut = rgb[h // 3: h // 3 + 53 + 7 * i, w // 4: w // 4 + 71 - 5 * i]
            name = f"cut{i:02d}.png"
            cv2.imwrite(os.path.join(stills, name), cut)
            names[name] = os.path.join(stills, name)
        n = len(names)
        decoded = {name: cv2.cvtColor(cv2.imread(os.path.join(stills, name), cv2.IMREAD_COLOR),
                                      cv2.COLOR_BGR2RGB) for name in names}
        print(f"{n} images ({a.pngs} PNG and {a.jpegs} JPEG stills from {a.pool}, "
              f"{n - len(sources)} PNG cut-outs), tolerance {a.tolerance}")
        for mode, (lines, size) in MODES.items():
            for filt in FILTERS:
                d = os.path.join(work, f"{mode}-{filt}")
                os.makedirs(d)
                with open(os.path.join(d, "recipe.toml"), "w", encoding="utf-8") as f:
                    f.write(f'total = {n}\ndefault_bucket = "normal"\n[buckets.normal]\ncount = {n}\n'
                            f'[sources]\nroots = ["{stills}"]\nallow_outside = true\n'
                            f'[dedup]\nsimilarity = 1.0\nexact = false\n'
                            f'[output]\ndir = "out"\nlayout = "flat"\n'
                            f'[tensor]\nsize = [{size[0]}, {size[1]}]\n{lines}\nfilter = "{filt}"\n'
                            f'dtype = "uint8"\nlayout = "nhwc"\n[export]\nformats = ["npy"]\n')
                r = subprocess.run([a.calibset, "build", "-q", "--no-cache", "--recipe", "recipe.toml"],
                                   cwd=d, capture_output=True, text=True)
                if r.returncode != 0:
                    raise SystemExit(f"calibset build {mode} {filt} exited {r.returncode}: {r.stderr}")
                with open(os.path.join(d, "out", "manifest.csv"), newline="", encoding="utf-8") as f:
                    rows = list(csv.DictReader(f))
                data = np.load(os.path.join(d, "out", "calib.npy"))
                assert data.dtype == np.uint8 and data.shape == (n, size[1], size[0], 3), data.shape
                assert len(rows) == n, (len(rows), n)
                variants = [("", True)] + ([(" (OpenCV's own code)", False)] if filt == "cubic" else [])
                for label, ipp in variants:
                    ones = more = differ = 0
                    worst, worst_at = 0, None
                    for row, x in zip(rows, data):
                        name = os.path.basename(row["source"])
                        y = reference(decoded[name], mode, size, filt, ipp)
                        diff = np.abs(x.astype(int) - y.astype(int))
                        ones += int((diff == 1).sum())
                        more += int((diff > 1).sum())
                        differ += int(diff.any())
                        if diff.max() > worst:
                            worst = int(diff.max())
                            yy, xx, c = np.unravel_index(int(diff.argmax()), diff.shape)
                            worst_at = (name, names[name], (int(xx), int(yy), int(c)), int(x[yy, xx, c]), int(y[yy, xx, c]))
                    total = data.size
                    bad = worst > a.tolerance and not label
                    failed |= bad
                    print(f"{'FAIL' if bad else 'ok  '} {mode:19s} {filt:11s}{label}: {n} images, "
                          f"{ones} of {total} values off by 1, {more} by more, {differ} images not identical, "
                          f"max {worst}" + (f" at {worst_at}" if worst > a.tolerance else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
