#!/usr/bin/env python3
"""Reference preprocessing for calibset's `[tensor]` exports (OpenCV + numpy only).

Written from the spec text, not from the Rust code, so the two implementations
check each other. One image, no batch axis:

    spec = spec_with_defaults(recipe["tensor"])
    x = preprocess("frames/cam01/day/000123.jpg", spec)   # (C, H, W) or (H, W, C)

Steps (the spec's numbering):
1. decode the whole file as 8-bit RGB with the EXIF orientation applied
   (cv2.imdecode with IMREAD_COLOR, which applies it as cv2.imread does; the
   self-test checks that), BGR -> RGB;
2. resample with `filter`, the library call it names: cv2.resize with
   INTER_LINEAR (`linear`, the default for stretch and letterbox), INTER_AREA
   (`area`), INTER_NEAREST (`nearest`), INTER_CUBIC (`cubic`), or Pillow's
   Image.resize(BILINEAR) (`bilinear-aa`, the default for crop);
3. geometry: stretch / letterbox (Ultralytics) / crop (torchvision Resize(S):
   the longer side int(S * long / short), then CenterCrop), with Python's
   round (round half to even);
4. channel order; 5. values in float32 (float16 cast from it), uint8, int8;
6. layout nchw -> (C, H, W), nhwc -> (H, W, C).

`python3 tests/tensor/reference.py --self-test` checks the geometry rules and
the pixel pipeline on synthetic images.
"""
import csv
import os
import struct
import sys

import cv2
import numpy as np

RESIZE = ("stretch", "letterbox", "crop")
FILTERS = ("linear", "area", "bilinear-aa", "nearest", "cubic")
# The filter a resize mode gets when the table names none (the spec's rule).
DEFAULT_FILTER = {"stretch": "linear", "letterbox": "linear", "crop": "bilinear-aa"}
PAD_POSITION = ("center", "top-left")
CHANNELS = ("rgb", "bgr")
LAYOUT = ("nchw", "nhwc")
DTYPE = {"float32": "<f4", "float16": "<f2", "uint8": "|u1", "int8": "|i1"}
FLOAT_DTYPES = ("float32", "float16")

# Defaults the spec states ...
STATED_DEFAULTS = {"pad": 114, "scale": 1.0 / 255.0, "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]}
# ... and, for the keys it gives no default for, an assumption: the first value
# it lists, except `resize`, whose comment lists stretch first while the
# example (and the Ultralytics exports) use letterbox. check_exports.py takes
# these from report.json when the recipe leaves them out.
ASSUMED_DEFAULTS = {"resize": "letterbox", "pad_position": "center", "channels": "rgb", "layout": "nchw",
                    "dtype": "float32"}
DEFAULTS = {**ASSUMED_DEFAULTS, **STATED_DEFAULTS}
KEYS = ("size",) + tuple(DEFAULTS) + ("filter", "input")
DEFAULT_INPUT = "images"


def _number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def spec_with_defaults(table, overrides=None):
    """The `[tensor]` table with every key resolved; raises ValueError on a bad table.

    `overrides` fills keys the table leaves out before the built-in defaults
    (check_exports.py passes report.json's resolved values there).
    """
    table = dict(table or {})
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise ValueError(f"tensor: unknown key(s) {unknown}")
    spec = {}
    for key, default in DEFAULTS.items():
        if key in table:
            spec[key] = table[key]
        elif overrides and key in overrides:
            spec[key] = overrides[key]
        else:
            spec[key] = list(default) if isinstance(default, list) else default
    if "size" not in table:
        raise ValueError("tensor.size: required ([width, height])")
    size = table["size"]
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)):
        raise ValueError(f"tensor.size: want [width, height] of positive integers, not {size!r}")
    spec["size"] = [int(size[0]), int(size[1])]
    for key, allowed in (("resize", RESIZE), ("pad_position", PAD_POSITION), ("channels", CHANNELS),
                         ("layout", LAYOUT), ("dtype", tuple(DTYPE))):
        if spec[key] not in allowed:
            raise ValueError(f"tensor.{key}: {spec[key]!r} is not one of {list(allowed)}")
    if "filter" in table:
        spec["filter"] = table["filter"]
    elif overrides and "filter" in overrides:
        spec["filter"] = overrides["filter"]
    else:
        spec["filter"] = DEFAULT_FILTER[spec["resize"]]
    if spec["filter"] not in FILTERS:
        raise ValueError(f"tensor.filter: {spec['filter']!r} is not one of {list(FILTERS)}")
    pad = spec["pad"]
    if not (isinstance(pad, int) and not isinstance(pad, bool) and 0 <= pad <= 255):
        raise ValueError(f"tensor.pad: want an integer 0-255, not {pad!r}")
    if not _number(spec["scale"]):
        raise ValueError(f"tensor.scale: want a number, not {spec['scale']!r}")
    spec["scale"] = float(spec["scale"])
    for key in ("mean", "std"):
        v = spec[key]
        if not (isinstance(v, list) and len(v) == 3 and all(_number(x) for x in v)):
            raise ValueError(f"tensor.{key}: want 3 numbers, not {v!r}")
        spec[key] = [float(x) for x in v]
    if any(x == 0 for x in spec["std"]):
        raise ValueError(f"tensor.std: must not contain 0: {spec['std']}")
    if "input" in table:
        if not isinstance(table["input"], str) or not table["input"]:
            raise ValueError(f"tensor.input: want a non-empty string, not {table['input']!r}")
        spec["input"] = table["input"]
    else:
        spec["input"] = None  # not declared: exports use DEFAULT_INPUT
    return spec


def input_name(spec):
    return spec.get("input") or DEFAULT_INPUT


def output_shape(spec):
    w, h = spec["size"]
    return (3, h, w) if spec["layout"] == "nchw" else (h, w, 3)


def numpy_dtype(spec):
    return np.dtype(DTYPE[spec["dtype"]])


# ---------------------------------------------------------------- step 1: decode

def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def decode(src):
    """8-bit RGB (h, w, 3) uint8 with the EXIF orientation applied.

    `src` is a path (str, bytes or PathLike; any bytes, so %XX-decoded names
    that are not UTF-8 work) or the file's bytes in a bytearray/memoryview.
    """
    data = bytes(src) if isinstance(src, (bytearray, memoryview)) else read_bytes(src)
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"OpenCV cannot decode {src if not isinstance(src, (bytearray, memoryview)) else 'the data'}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


# ---------------------------------------------------------------- step 2: resample

CV2_FILTERS = {"linear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA, "nearest": cv2.INTER_NEAREST,
               "cubic": cv2.INTER_CUBIC}


def resize(img, new_w, new_h, filt="linear"):
    """`filt`'s library call; same size: an exact copy (as both libraries do)."""
    h, w = img.shape[:2]
    if (new_w, new_h) == (w, h):
        return img.copy()
    if filt == "bilinear-aa":
        from PIL import Image

        return np.asarray(Image.fromarray(img).resize((new_w, new_h), Image.BILINEAR))
    if filt not in CV2_FILTERS:
        raise ValueError(f"tensor.filter: {filt!r}")
    return cv2.resize(img, (new_w, new_h), interpolation=CV2_FILTERS[filt])


# ---------------------------------------------------------------- step 3: geometry

def geometry(w, h, spec):
    """The plan for a w x h source: {'new': (new_w, new_h), 'pad': (top, bottom,
    left, right) or None, 'crop': (left, top) or None}."""
    W, H = spec["size"]
    mode = spec["resize"]
    if mode == "stretch":
        return {"new": (W, H), "pad": None, "crop": None}
    if mode == "letterbox":
        r = min(W / w, H / h)
        new_w, new_h = int(round(w * r)), int(round(h * r))
        assert 0 < new_w <= W and 0 < new_h <= H, (w, h, W, H, new_w, new_h)
        if spec["pad_position"] == "center":
            dw, dh = (W - new_w) / 2, (H - new_h) / 2
            top, bottom = int(round(dh - 0.1)), int(round(dh + 0.1))
            left, right = int(round(dw - 0.1)), int(round(dw + 0.1))
        else:
            top, left, bottom, right = 0, 0, H - new_h, W - new_w
        assert top + bottom + new_h == H and left + right + new_w == W
        return {"new": (new_w, new_h), "pad": (top, bottom, left, right), "crop": None}
    if mode == "crop":
        # torchvision Resize: the limiting side exact, the other truncated.
        if W * h >= H * w:
            new_w, new_h = W, max(H, int(W * h / w))
        else:
            new_w, new_h = max(W, int(H * w / h)), H
        assert new_w >= W and new_h >= H, (w, h, W, H, new_w, new_h)
        left, top = int(round((new_w - W) / 2)), int(round((new_h - H) / 2))
        return {"new": (new_w, new_h), "pad": None, "crop": (left, top)}
    raise ValueError(f"tensor.resize: {mode!r}")


def place(rgb, spec):
    """Steps 2-3: the W x H x 3 uint8 canvas (still RGB)."""
    h, w = rgb.shape[:2]
    W, H = spec["size"]
    g = geometry(w, h, spec)
    img = resize(rgb, *g["new"], spec["filter"])
    if g["pad"]:
        top, bottom, left, right = g["pad"]
        p = spec["pad"]
        img = cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(p, p, p))
    if g["crop"]:
        left, top = g["crop"]
        img = img[top:top + H, left:left + W]
    assert img.shape == (H, W, 3), (img.shape, H, W)
    return np.ascontiguousarray(img)


# ---------------------------------------------------------------- steps 4-6

def canvas(src, spec):
    """Steps 1-4: the H x W x 3 uint8 image in the output channel order."""
    img = place(decode(src), spec)
    if spec["channels"] == "bgr":
        img = img[:, :, ::-1]
    return np.ascontiguousarray(img)


def values(img, spec):
    """Steps 5-6 on an H x W x 3 uint8 image already in the output channel order."""
    dtype = spec["dtype"]
    if dtype in FLOAT_DTYPES:
        f32 = np.float32
        x = img.astype(f32) * f32(spec["scale"])
        x = (x - np.asarray(spec["mean"], f32)) / np.asarray(spec["std"], f32)
        assert x.dtype == f32
        if dtype == "float16":
            x = x.astype(np.float16)
    elif dtype == "uint8":
        x = img.astype(np.uint8)
    elif dtype == "int8":
        x = (img.astype(np.int16) - 128).astype(np.int8)
    else:
        raise ValueError(f"tensor.dtype: {dtype!r}")
    if spec["layout"] == "nchw":
        x = x.transpose(2, 0, 1)
    return np.ascontiguousarray(x).astype(numpy_dtype(spec), copy=False)


def preprocess(path, spec):
    """One image's tensor, no batch axis, in the declared layout and dtype."""
    return preprocess_detail(path, spec)[0]


def preprocess_detail(path, spec):
    """(tensor, geometry(w, h, spec), (w, h)) for one image; w x h is the decoded,
    EXIF-oriented size."""
    rgb = decode(path)
    h, w = rgb.shape[:2]
    img = place(rgb, spec)
    if spec["channels"] == "bgr":
        img = img[:, :, ::-1]
    return values(np.ascontiguousarray(img), spec), geometry(w, h, spec), (w, h)


def pad_mask(g, spec):
    """H x W bool: True on letterbox padding (exact by construction, no resampling)."""
    W, H = spec["size"]
    m = np.zeros((H, W), bool)
    if g["pad"]:
        top, bottom, left, right = g["pad"]
        m[:top] = m[H - bottom:] = True
        m[:, :left] = m[:, W - right:] = True
    return m


def level_tolerance(spec, levels):
    """Per-channel absolute tolerance for `levels` 8-bit levels, shaped to
    broadcast against one image's tensor (layout-aware)."""
    if spec["dtype"] in FLOAT_DTYPES:
        tol = np.array([levels * spec["scale"] / abs(s) for s in spec["std"]], np.float64)
    else:
        tol = np.full(3, float(levels))
    return tol[:, None, None] if spec["layout"] == "nchw" else tol[None, None, :]


def to_levels(diff, spec):
    """An absolute value difference expressed in 8-bit levels (per channel)."""
    if spec["dtype"] not in FLOAT_DTYPES:
        return diff
    unit = np.array([spec["scale"] / abs(s) for s in spec["std"]], np.float64)
    unit = unit[:, None, None] if spec["layout"] == "nchw" else unit[None, None, :]
    return diff / unit


# ---------------------------------------------------------------- self-test

def _exif_jpeg(rgb, orientation):
    """A JPEG of `rgb` with an EXIF APP1 segment carrying `orientation`."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 98])
    assert ok
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1)
    tiff += struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
    payload = b"Exif\x00\x00" + tiff
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    data = buf.tobytes()
    return data[:2] + app1 + data[2:]


def self_test():
    import tempfile

    failures = []

    def check(name, got, want):
        ok = got == want
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {got}" + ("" if ok else f" (want {want})"))
        if not ok:
            failures.append(name)

    def spec(**kw):
        return spec_with_defaults(kw)

    # Geometry ------------------------------------------------------------
    g = geometry(1000, 500, spec(size=[640, 640], resize="letterbox"))
    check("letterbox 1000x500 -> 640x640", (g["new"], g["pad"]), ((640, 320), (160, 160, 0, 0)))
    g = geometry(500, 1000, spec(size=[640, 640], resize="letterbox"))
    check("letterbox 500x1000 -> 640x640", (g["new"], g["pad"]), ((320, 640), (0, 0, 160, 160)))
    g = geometry(1000, 499, spec(size=[640, 640], resize="letterbox"))
    check("letterbox odd padding 1000x499 (dh 160.5)", (g["new"], g["pad"]), ((640, 319), (160, 161, 0, 0)))
    g = geometry(1000, 499, spec(size=[640, 640], resize="letterbox", pad_position="top-left"))
    check("letterbox top-left 1000x499", (g["new"], g["pad"]), ((640, 319), (0, 321, 0, 0)))
    # 1277 * 0.5 = 638.5: round half to even gives 638 (half up would give 639).
    g = geometry(1277, 1280, spec(size=[640, 640], resize="letterbox"))
    check("letterbox round-half-even 1277x1280 (638.5 -> 638)", (g["new"], g["pad"]), ((638, 640), (0, 0, 1, 1)))
    g = geometry(1279, 1280, spec(size=[640, 640], resize="letterbox"))
    check("letterbox round-half-even 1279x1280 (639.5 -> 640)", (g["new"], g["pad"]), ((640, 640), (0, 0, 0, 0)))
    g = geometry(640, 480, spec(size=[320, 320], resize="letterbox"))
    check("letterbox 640x480 -> 320x320", (g["new"], g["pad"]), ((320, 240), (40, 40, 0, 0)))
    g = geometry(500, 1000, spec(size=[224, 224], resize="crop"))
    check("crop 500x1000 -> 224x224", (g["new"], g["crop"]), ((224, 448), (0, 112)))
    # torchvision Resize(224): 224 * 451 / 300 = 336.75 -> int() = 336 (round would give 337).
    g = geometry(300, 451, spec(size=[224, 224], resize="crop"))
    check("crop truncates the longer side 300x451 -> 224x336", (g["new"], g["crop"]), ((224, 336), (0, 56)))
    g = geometry(1000, 500, spec(size=[224, 224], resize="crop"))
    check("crop 1000x500 -> 224x224", (g["new"], g["crop"]), ((448, 224), (112, 0)))
    # (105 - 100) / 2 = 2.5: round half to even gives 2 (half up would give 3).
    g = geometry(100, 105, spec(size=[100, 100], resize="crop"))
    check("crop round-half-even 100x105 -> 100x100 (2.5 -> 2)", (g["new"], g["crop"]), ((100, 105), (0, 2)))
    g = geometry(300, 200, spec(size=[640, 320], resize="stretch"))
    check("stretch 300x200 -> 640x320", (g["new"], g["pad"], g["crop"]), ((640, 320), None, None))

    # Resampling filters ----------------------------------------------------
    check("letterbox and stretch default to linear, crop to bilinear-aa",
          [spec(size=[8, 8], resize=m)["filter"] for m in RESIZE], ["linear", "linear", "bilinear-aa"])
    row = np.array([[[0, 0, 0], [255, 255, 255]]], np.uint8)  # 2x1
    up = resize(row, 4, 1)[0, :, 0].tolist()
    # half-pixel centres: x = (i + 0.5) / 2 - 0.5 -> -0.25, 0.25, 0.75, 1.25 (clamped)
    check("linear upscale 2->4 is half-pixel bilinear", up, [0, 64, 191, 255])
    blk = np.array([[10, 20, 30, 40], [30, 40, 50, 60], [0, 0, 255, 255], [0, 3, 255, 255]], np.uint8)
    blk = np.repeat(blk[:, :, None], 3, axis=2)
    check("area downscale 4x4->2x2 averages blocks", resize(blk, 2, 2, "area")[:, :, 0].tolist(), [[25, 45], [1, 255]])
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    outs = {f: resize(noise, 37, 29, f) for f in FILTERS}
    check("the five filters give five different shrinks",
          len({outs[f].tobytes() for f in FILTERS}), len(FILTERS))
    check("linear shrink reads 2x2 neighbours (not antialiased)",
          bool((outs["linear"] == cv2.resize(noise, (37, 29), interpolation=cv2.INTER_LINEAR)).all()), True)

    with tempfile.TemporaryDirectory() as tmp:
        # Pixel pipeline on a PNG (lossless) -------------------------------
        img = np.zeros((500, 1000, 3), np.uint8)  # h=500, w=1000
        img[:, :, 0] = 200
        img[:, :, 1] = 100
        img[:, :, 2] = 50
        p = os.path.join(tmp, "a.png")
        cv2.imwrite(p, cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        s = spec(size=[64, 64], resize="letterbox")
        x = preprocess(p, s)
        check("letterbox float32 nchw shape/dtype", (x.shape, x.dtype.str), ((3, 64, 64), "<f4"))
        check("pad rows are pad/255", [round(float(v), 6) for v in x[:, 0, 0]], [round(114 / 255, 6)] * 3)
        check("content is v/255 (rgb)", [round(float(v), 6) for v in x[:, 32, 32]],
              [round(np.float32(200) * np.float32(1 / 255), 6), round(np.float32(100) * np.float32(1 / 255), 6),
               round(np.float32(50) * np.float32(1 / 255), 6)])
        check("pad rows 0-15 and 48-63, content 16-47",
              (bool((x[:, :16] == x[0, 0, 0]).all()), bool((x[:, 48:] == x[0, 0, 0]).all()),
               bool((x[0, 16:48] == x[0, 32, 32]).all())), (True, True, True))
        s = spec(size=[64, 64], resize="letterbox", pad=0, channels="bgr", layout="nhwc", dtype="int8")
        x = preprocess(p, s)
        check("int8 nhwc bgr shape/dtype", (x.shape, x.dtype.str), ((64, 64, 3), "|i1"))
        check("int8 bgr values v-128", x[32, 32].tolist(), [50 - 128, 100 - 128, 200 - 128])
        check("int8 pad 0 -> -128", x[0, 0].tolist(), [-128] * 3)
        s = spec(size=[32, 16], resize="stretch", dtype="uint8")
        check("uint8 stretch", (preprocess(p, s).shape, preprocess(p, s)[:, 5, 5].tolist()), ((3, 16, 32), [200, 100, 50]))
        s = spec(size=[32, 32], resize="crop", dtype="float16", scale=1.0, mean=[100.0, 50.0, 25.0], std=[2.0, 4.0, 5.0])
        x = preprocess(p, s)
        check("float16 mean/std", (x.dtype.str, x[:, 3, 3].tolist()), ("<f2", [50.0, 12.5, 5.0]))

        # EXIF orientation (step 1) -----------------------------------------
        stored = np.full((20, 40, 3), 255, np.uint8)  # 40 wide, 20 high
        stored[:8, :8] = (255, 0, 0)  # red block at the stored top-left
        p = os.path.join(tmp, "exif6.jpg")
        with open(p, "wb") as f:
            f.write(_exif_jpeg(stored, 6))
        d = decode(p)
        check("EXIF orientation 6 applied (40x20 -> 20x40)", d.shape, (40, 20, 3))
        check("EXIF 6 rotates clockwise (red block to the top-right)",
              (int(d[3, 16, 0]) > 200 and int(d[3, 16, 1]) < 60, int(d[3, 3, 1]) > 200), (True, True))
        with open(p, "wb") as f:
            f.write(_exif_jpeg(stored, 1))
        check("EXIF orientation 1 keeps 40x20", decode(p).shape, (20, 40, 3))
        ref = cv2.cvtColor(cv2.imread(p, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        check("decode == cv2.imread(IMREAD_COLOR) + BGR->RGB", bool((decode(p) == ref).all()), True)

    # Spec validation -------------------------------------------------------
    for bad in ({"size": [640]}, {"size": [640, 640], "dtype": "float64"}, {"size": [640, 640], "pad": 300},
                {"size": [640, 640], "colour": "rgb"}, {}):
        try:
            spec_with_defaults(bad)
            check(f"rejects {bad}", "accepted", "ValueError")
        except ValueError:
            pass
    s = spec(size=[640, 640])
    check("defaults", (s["pad"], s["scale"], s["mean"], s["std"], input_name(s)),
          (114, 1 / 255, [0.0, 0.0, 0.0], [1.0, 1.0, 1.0], "images"))

    print(f"reference self-test: {len(failures)} failed" if failures else "reference self-test: all passed")
    return 1 if failures else 0


def hostile(pool):
    """The make-pool files listed in truth/hostile.csv (normalised absolute
    paths): deliberately broken inputs the pixel checks leave out."""
    path = os.path.join(pool, "truth", "hostile.csv")
    if not os.path.exists(path):
        return set()
    with open(path, newline="", encoding="utf-8") as f:
        return {os.path.normpath(os.path.join(pool, r["path"])) for r in csv.DictReader(f)}


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if len(argv) >= 3:  # debugging aid: reference.py IMAGE W H [resize]
        s = spec_with_defaults({"size": [int(argv[2]), int(argv[3])], "resize": argv[4] if len(argv) > 4 else "letterbox"})
        x = preprocess(argv[1], s)
        print(x.shape, x.dtype, float(x.min()), float(x.max()))
        return 0
    print(__doc__)
    print("usage: reference.py --self-test | reference.py IMAGE W H [stretch|letterbox|crop]")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
