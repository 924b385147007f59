#!/usr/bin/env python3
"""Writes a large pool of small synthetic JPEGs for calibset's scale benchmark.

    benches/make_small_pool.py OUT [--images 100000] [--cameras 100] [--seed 0]

OUT/frames/camNNN/{day,night,empty}/NNNNNN.jpg: each camera's images are short
bursts (1-4 frames of one picture with a small shift and fresh noise) of random
scenes — a gradient sky, a few coloured boxes — at 96x64, a few KB each. "night"
frames are dark, "empty" frames have no boxes. Deterministic for a seed. Also
writes OUT/scale.toml, a recipe over the pool (1,000 images, 6:2:2, camera
minimum 5). Needs numpy and Pillow.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from PIL import Image

W, H = 96, 64

RECIPE = """\
# Scale benchmark recipe (benches/scale.sh): written by benches/make_small_pool.py.
name = "scale"
seed = 1
total = 1000
split = {{ normal = 6, hard = 2, background = 2 }}

[sources]
roots = ["frames"]

[camera]
from = "frames/{{camera}}/**"
min = 5

[dedup]
similarity = 0.98

[[rules]]
match = "frames/*/day/**"
bucket = "normal"
tags = ["day"]
[[rules]]
match = "frames/*/night/**"
bucket = "hard"
tags = ["night"]
[[rules]]
match = "frames/*/empty/**"
bucket = "background"
tags = ["empty"]
"""


def scene(rng: np.random.Generator, boxes: bool) -> np.ndarray:
    """A random picture, a little larger than a frame so bursts can pan."""
    h, w = H + 8, W + 8
    top, bottom = rng.uniform(40, 220, 3), rng.uniform(40, 220, 3)
    t = np.linspace(0.0, 1.0, h)[:, None, None]
    img = np.broadcast_to(top * (1 - t) + bottom * t, (h, w, 3)).copy()
    if boxes:
        for _ in range(rng.integers(2, 6)):
            x0, y0 = rng.integers(0, w - 8), rng.integers(0, h - 8)
            x1, y1 = x0 + rng.integers(6, 40), y0 + rng.integers(6, 30)
            img[y0:y1, x0:x1] = rng.uniform(0, 255, 3)
    return img


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--images", type=int, default=100_000)
    ap.add_argument("--cameras", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    per_camera = args.images // args.cameras
    written = 0
    for cam in range(args.cameras):
        n = per_camera + (1 if cam < args.images % args.cameras else 0)
        frame = 0
        while frame < n:
            kind = rng.choice(["day", "night", "empty"], p=[0.6, 0.2, 0.2])
            base = scene(rng, boxes=kind != "empty")
            if kind == "night":
                base *= 0.18
            folder = args.out / "frames" / f"cam{cam:03d}" / kind
            folder.mkdir(parents=True, exist_ok=True)
            for _ in range(min(int(rng.integers(1, 5)), n - frame)):
                dx, dy = rng.integers(0, 9), rng.integers(0, 9)
                px = base[dy : dy + H, dx : dx + W] + rng.normal(0, 3, (H, W, 3))
                img = Image.fromarray(np.clip(px, 0, 255).astype(np.uint8))
                img.save(folder / f"{frame:06d}.jpg", quality=85)
                frame += 1
                written += 1
    (args.out / "scale.toml").write_text(RECIPE.format())
    size = sum(f.stat().st_size for f in (args.out / "frames").rglob("*.jpg"))
    print(f"{written} images, {size / written / 1024:.1f} KB each, in {args.out}")


if __name__ == "__main__":
    main()
