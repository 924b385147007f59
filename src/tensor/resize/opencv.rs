//! OpenCV's `cv::resize` for 8-bit images, step for step (`imgproc/src/resize.cpp`):
//!
//! - `INTER_LINEAR` ([`linear`]): per axis, the sample at `(i + 0.5)·scale − 0.5`
//!   (in `f32`), two taps with 11-bit weights (`saturate_cast<short>(w · 2048)`),
//!   the horizontal pass exact in `i32`, the vertical one as OpenCV's vector
//!   code rounds it: `(((S0 >> 4)·β0 >> 16) + ((S1 >> 4)·β1 >> 16) + 2) >> 2`.
//!   Horizontally, samples left of the first pixel centre take the edge pixel;
//!   vertically the weights stay as computed and the rows are clamped (as
//!   OpenCV does, which shades the first and last rows slightly).
//! - `INTER_AREA` ([`area`]): shrinking in both axes, the mean of the covered
//!   source pixels (integer factors: an exact sum, `(s + 2) >> 2` for 2×2,
//!   else `cvRound(s · (1/k))` in `f32`; other factors: OpenCV's `f32` area
//!   weights); enlarging in either axis, OpenCV's area-flavoured bilinear
//!   weights through the `INTER_LINEAR` code.
//! - `INTER_NEAREST` ([`nearest`]): source `⌊i · (1 / (n'/n))⌋` per axis.
//! - `INTER_CUBIC` ([`cubic`]): Keys' kernel with `A = −0.75` in `f32`, 11-bit
//!   weights, four taps with clamped edges, the vertical pass in `f32` as
//!   OpenCV's vector code does it. (opencv-python's wheels route 8-bit
//!   `INTER_CUBIC` through Intel IPP, which differs by one level on a few
//!   percent of values; this is OpenCV's own code, `cv2.ipp.setUseIPP(False)`.)
//!
//! Scales are `1 / (n'/n)` in `f64` as OpenCV computes them.

use std::ops::Range;

use super::{Image, Size};

/// The 11-bit fixed-point unit of OpenCV's 8-bit weights (`INTER_RESIZE_COEF_SCALE`).
const ONE: f32 = 2048.0;

/// `saturate_cast<short>(v)`: round half to even, clamp to `i16`.
fn short(v: f32) -> i32 {
    v.round_ties_even().clamp(-32768.0, 32767.0) as i32
}

/// OpenCV's scale from `n` source to `m` output positions and its inverse.
fn scales(n: usize, m: usize) -> (f64, f64) {
    let inv = m as f64 / n as f64;
    (1.0 / inv, inv)
}

/// Two taps: source positions and 11-bit weights.
#[derive(Clone, Copy, Debug)]
struct Two {
    i0: usize,
    i1: usize,
    a0: i32,
    a1: i32,
}

/// How the two-tap weights are placed.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// `INTER_LINEAR`: half-pixel centres.
    Linear,
    /// `INTER_AREA` while enlarging: OpenCV's area-flavoured variant.
    Area,
}

/// The two-tap weights along one axis for the outputs in `outputs`.
/// `clamp_edges`: the horizontal rule (samples outside the pixel centres take
/// the edge pixel); vertically the weights stay and only the rows are clamped.
fn two_taps(n: usize, m: usize, outputs: Range<usize>, mode: Mode, clamp_edges: bool) -> Vec<Two> {
    let (scale, inv) = scales(n, m);
    outputs
        .map(|d| {
            let (mut s, mut f) = match mode {
                Mode::Linear => {
                    let f = ((d as f64 + 0.5) * scale - 0.5) as f32;
                    let s = f.floor();
                    (s as i64, f - s)
                }
                Mode::Area => {
                    let s = (d as f64 * scale).floor() as i64;
                    let f = ((d + 1) as f64 - (s + 1) as f64 * inv) as f32;
                    (s, if f <= 0.0 { 0.0 } else { f - f.floor() })
                }
            };
            if clamp_edges {
                if s < 0 {
                    (s, f) = (0, 0.0);
                }
                if s >= n as i64 - 1 {
                    (s, f) = (n as i64 - 1, 0.0);
                }
            }
            let clamp = |i: i64| i.clamp(0, n as i64 - 1) as usize;
            Two {
                i0: clamp(s),
                i1: clamp(s + 1),
                a0: short((1.0 - f) * ONE),
                a1: short(f * ONE),
            }
        })
        .collect()
}

/// `cv2.resize(..., interpolation=cv2.INTER_LINEAR)`.
pub(super) fn linear(src: &Image<'_>, size: Size, win: (usize, usize, usize, usize)) -> Vec<u8> {
    two_tap(src, size, win, Mode::Linear)
}

/// The two-tap resize: exact `i32` horizontal pass, OpenCV's vector rounding
/// vertically.
fn two_tap(
    src: &Image<'_>,
    size: Size,
    (x0, y0, tw, th): (usize, usize, usize, usize),
    mode: Mode,
) -> Vec<u8> {
    let xs = two_taps(size.w, size.nw, x0..x0 + tw, mode, true);
    let ys = two_taps(size.h, size.nh, y0..y0 + th, mode, false);
    let first = ys.iter().map(|t| t.i0).min().unwrap_or(0);
    let last = ys.iter().map(|t| t.i1).max().unwrap_or(0);
    let stride = tw * 3;
    let mut rows = vec![0i32; (last + 1 - first) * stride];
    for y in first..=last {
        let s = src.row(y);
        let dst = &mut rows[(y - first) * stride..(y - first + 1) * stride];
        for (d, t) in dst.chunks_exact_mut(3).zip(&xs) {
            for c in 0..3 {
                d[c] = i32::from(s[t.i0 * 3 + c]) * t.a0 + i32::from(s[t.i1 * 3 + c]) * t.a1;
            }
        }
    }
    let mut out = vec![0u8; tw * th * 3];
    for (o, t) in out.chunks_exact_mut(stride).zip(&ys) {
        let r0 = &rows[(t.i0 - first) * stride..(t.i0 - first + 1) * stride];
        let r1 = &rows[(t.i1 - first) * stride..(t.i1 - first + 1) * stride];
        for ((o, &s0), &s1) in o.iter_mut().zip(r0).zip(r1) {
            *o = vertical_linear(s0, s1, t.a0, t.a1);
        }
    }
    out
}

/// OpenCV's `VResizeLinearVec_32s8u` on one value: both rows shifted to 16
/// bits, multiplied keeping the high half, summed, rounded by `(x + 2) >> 2`.
fn vertical_linear(s0: i32, s1: i32, b0: i32, b1: i32) -> u8 {
    let hi = |s: i32, b: i32| ((s >> 4).clamp(-32768, 32767) * b) >> 16;
    let v = (hi(s0, b0) + hi(s1, b1)).clamp(-32768, 32767);
    ((v + 2) >> 2).clamp(0, 255) as u8
}

/// `cv2.resize(..., interpolation=cv2.INTER_NEAREST)`.
pub(super) fn nearest(
    src: &Image<'_>,
    size: Size,
    (x0, y0, tw, th): (usize, usize, usize, usize),
) -> Vec<u8> {
    let pick = |n: usize, m: usize, i: usize| {
        let (scale, _) = scales(n, m);
        ((i as f64 * scale).floor() as usize).min(n - 1)
    };
    let xs: Vec<usize> = (x0..x0 + tw).map(|x| pick(size.w, size.nw, x)).collect();
    let mut out = Vec::with_capacity(tw * th * 3);
    for y in y0..y0 + th {
        let row = src.row(pick(size.h, size.nh, y));
        for &sx in &xs {
            out.extend_from_slice(&row[sx * 3..sx * 3 + 3]);
        }
    }
    out
}

/// `cv2.resize(..., interpolation=cv2.INTER_AREA)`.
pub(super) fn area(src: &Image<'_>, size: Size, win: (usize, usize, usize, usize)) -> Vec<u8> {
    let (sx, _) = scales(size.w, size.nw);
    let (sy, _) = scales(size.h, size.nh);
    if sx < 1.0 || sy < 1.0 {
        return two_tap(src, size, win, Mode::Area);
    }
    let (ix, iy) = (sx.round_ties_even(), sy.round_ties_even());
    if (sx - ix).abs() < f64::EPSILON && (sy - iy).abs() < f64::EPSILON {
        return area_integer(src, (ix as usize, iy as usize), win);
    }
    area_fractional(src, size, win)
}

/// `INTER_AREA` by integer factors `kx × ky`: the block sum, then
/// `(s + 2) >> 2` for 2 × 2 (OpenCV's vector path) or `cvRound(s · (1/k))`.
fn area_integer(
    src: &Image<'_>,
    (kx, ky): (usize, usize),
    (x0, y0, tw, th): (usize, usize, usize, usize),
) -> Vec<u8> {
    let k = kx * ky;
    let scale = 1.0f32 / k as f32;
    let mut out = Vec::with_capacity(tw * th * 3);
    for y in y0..y0 + th {
        for x in x0..x0 + tw {
            let mut sum = [0u32; 3];
            for sy in y * ky..(y + 1) * ky {
                let row = src.row(sy);
                for sx in x * kx..(x + 1) * kx {
                    for c in 0..3 {
                        sum[c] += u32::from(row[sx * 3 + c]);
                    }
                }
            }
            for s in sum {
                out.push(if (kx, ky) == (2, 2) {
                    ((s + 2) >> 2) as u8
                } else {
                    (s as f32 * scale).round_ties_even().clamp(0.0, 255.0) as u8
                });
            }
        }
    }
    out
}

/// OpenCV's `computeResizeAreaTab` for the outputs in `outputs`: each
/// output's source positions and `f32` weights, in OpenCV's order.
fn area_taps(n: usize, m: usize, outputs: Range<usize>) -> Vec<Vec<(usize, f32)>> {
    let (scale, _) = scales(n, m);
    outputs
        .map(|d| {
            let fsx1 = d as f64 * scale;
            let fsx2 = fsx1 + scale;
            let cell = scale.min(n as f64 - fsx1);
            let sx2 = (fsx2.floor() as i64).min(n as i64 - 1);
            let sx1 = (fsx1.ceil() as i64).min(sx2);
            let mut taps = Vec::new();
            if sx1 as f64 - fsx1 > 1e-3 {
                taps.push(((sx1 - 1) as usize, ((sx1 as f64 - fsx1) / cell) as f32));
            }
            for s in sx1..sx2 {
                taps.push((s as usize, (1.0 / cell) as f32));
            }
            if fsx2 - sx2 as f64 > 1e-3 {
                let part = (fsx2 - sx2 as f64).min(1.0).min(cell) / cell;
                taps.push((sx2 as usize, part as f32));
            }
            taps
        })
        .collect()
}

/// `INTER_AREA` by fractional factors: OpenCV's `resizeArea_` in `f32`.
fn area_fractional(
    src: &Image<'_>,
    size: Size,
    (x0, y0, tw, th): (usize, usize, usize, usize),
) -> Vec<u8> {
    let xs = area_taps(size.w, size.nw, x0..x0 + tw);
    let ys = area_taps(size.h, size.nh, y0..y0 + th);
    let stride = tw * 3;
    let mut buf = vec![0f32; stride];
    let mut sum = vec![0f32; stride];
    let mut out = vec![0u8; tw * th * 3];
    for (o, taps) in out.chunks_exact_mut(stride).zip(&ys) {
        for (j, &(sy, beta)) in taps.iter().enumerate() {
            let row = src.row(sy);
            for (b, xt) in buf.chunks_exact_mut(3).zip(&xs) {
                let mut acc = [0f32; 3];
                for &(sx, alpha) in xt {
                    for c in 0..3 {
                        acc[c] += f32::from(row[sx * 3 + c]) * alpha;
                    }
                }
                b.copy_from_slice(&acc);
            }
            for (s, &b) in sum.iter_mut().zip(&buf) {
                *s = if j == 0 { beta * b } else { *s + beta * b };
            }
        }
        for (o, &s) in o.iter_mut().zip(&sum) {
            *o = s.round_ties_even().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// OpenCV's `interpolateCubic` (`A = −0.75`) at offset `x` in `f32`.
fn cubic_weights(x: f32) -> [f32; 4] {
    const A: f32 = -0.75;
    let c0 = ((A * (x + 1.0) - 5.0 * A) * (x + 1.0) + 8.0 * A) * (x + 1.0) - 4.0 * A;
    let c1 = ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    let c2 = ((A + 2.0) * (1.0 - x) - (A + 3.0)) * (1.0 - x) * (1.0 - x) + 1.0;
    [c0, c1, c2, 1.0 - c0 - c1 - c2]
}

/// Four cubic taps along one axis: clamped source positions, 11-bit weights.
fn cubic_taps(n: usize, m: usize, outputs: Range<usize>) -> Vec<([usize; 4], [i32; 4])> {
    let (scale, _) = scales(n, m);
    outputs
        .map(|d| {
            let f = ((d as f64 + 0.5) * scale - 0.5) as f32;
            let s = f.floor();
            let w = cubic_weights(f - s).map(|c| short(c * ONE));
            let s = s as i64;
            let idx = [0, 1, 2, 3].map(|k| (s - 1 + k).clamp(0, n as i64 - 1) as usize);
            (idx, w)
        })
        .collect()
}

/// `cv2.resize(..., interpolation=cv2.INTER_CUBIC)` (OpenCV's own code).
pub(super) fn cubic(
    src: &Image<'_>,
    size: Size,
    (x0, y0, tw, th): (usize, usize, usize, usize),
) -> Vec<u8> {
    let xs = cubic_taps(size.w, size.nw, x0..x0 + tw);
    let ys = cubic_taps(size.h, size.nh, y0..y0 + th);
    let first = ys.iter().map(|t| t.0[0]).min().unwrap_or(0);
    let last = ys.iter().map(|t| t.0[3]).max().unwrap_or(0);
    let stride = tw * 3;
    let mut rows = vec![0f32; (last + 1 - first) * stride];
    for y in first..=last {
        let s = src.row(y);
        let dst = &mut rows[(y - first) * stride..(y - first + 1) * stride];
        for (d, (idx, w)) in dst.chunks_exact_mut(3).zip(&xs) {
            for c in 0..3 {
                let v: i32 = (0..4).map(|k| i32::from(s[idx[k] * 3 + c]) * w[k]).sum();
                // Exact: |v| < 2^24.
                d[c] = v as f32;
            }
        }
    }
    let unit = 1.0f32 / (ONE * ONE);
    let mut out = vec![0u8; tw * th * 3];
    for (o, (idx, w)) in out.chunks_exact_mut(stride).zip(&ys) {
        let b = w.map(|v| v as f32 * unit);
        let r = idx.map(|i| &rows[(i - first) * stride..(i - first + 1) * stride]);
        for (x, o) in o.iter_mut().enumerate() {
            let s = r[0][x] * b[0] + r[1][x] * b[1];
            let s = s + r[2][x] * b[2];
            let s = s + r[3][x] * b[3];
            *o = s.round_ties_even().clamp(0.0, 255.0) as u8;
        }
    }
    out
}
