//! Pillow's `Image.resize(size, Image.BILINEAR)` for 8-bit RGB, step for step
//! (`libImaging/Resample.c`): a triangle filter whose support grows with the
//! shrink factor (antialiased), weights normalised per output in `f64` and
//! rounded to 22-bit integers, two passes each rounded to 8 bits. Pillow runs
//! the horizontal pass first unless the width does not shrink while the height
//! does. torchvision's `Resize(antialias=True)` uses the same filter (its 8-bit
//! path is within a level of Pillow's).

use std::ops::Range;

use super::{Image, Size};

/// Bits of Pillow's fixed-point weights for 8-bit images (`PRECISION_BITS`).
const BITS: u32 = 32 - 8 - 2;

/// One output's taps: the first source position and the integer weights.
struct Taps {
    start: usize,
    weights: Vec<i32>,
}

/// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for the outputs in
/// `outputs` of a resize from `n` to `m` positions.
fn taps(n: usize, m: usize, outputs: Range<usize>) -> Vec<Taps> {
    // `(in1 − in0) / outSize` with the box in `f32`, as Pillow computes it.
    let scale = f64::from(n as f32) / m as f64;
    let filterscale = scale.max(1.0);
    let support = filterscale; // the triangle's support is 1
    let ss = 1.0 / filterscale;
    outputs
        .map(|xx| {
            let center = (xx as f64 + 0.5) * scale;
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(n as i64) as usize;
            let raw: Vec<f64> = (xmin..xmax.max(xmin))
                .map(|x| {
                    let t = ((x as f64 - center + 0.5) * ss).abs();
                    if t < 1.0 { 1.0 - t } else { 0.0 }
                })
                .collect();
            let total: f64 = raw.iter().sum();
            let weights = raw
                .iter()
                .map(|&k| {
                    let k = if total != 0.0 { k / total } else { k };
                    let scaled = k * f64::from(1u32 << BITS);
                    (if k < 0.0 { scaled - 0.5 } else { scaled + 0.5 }) as i32
                })
                .collect();
            Taps {
                start: xmin,
                weights,
            }
        })
        .collect()
}

/// Pillow's `clip8`: the rounded fixed-point sum to 8 bits.
fn clip8(ss: i32) -> u8 {
    (ss >> BITS).clamp(0, 255) as u8
}

/// The rounding term every Pillow sum starts from.
const HALF: i32 = 1 << (BITS - 1);

/// `Image.resize(size, BILINEAR)`, the window `(x0, y0, tw, th)` of it.
pub(super) fn bilinear(
    src: &Image<'_>,
    size: Size,
    (x0, y0, tw, th): (usize, usize, usize, usize),
) -> Vec<u8> {
    let need_h = size.nw != size.w;
    let need_v = size.nh != size.h;
    let xs = need_h.then(|| taps(size.w, size.nw, x0..x0 + tw));
    let ys = need_v.then(|| taps(size.h, size.nh, y0..y0 + th));
    // Source columns and rows the window reads.
    let span = |t: &Option<Vec<Taps>>, lo: usize, len: usize| match t {
        Some(t) => {
            let first = t.iter().map(|t| t.start).min().unwrap_or(0);
            let last = t
                .iter()
                .map(|t| t.start + t.weights.len())
                .max()
                .unwrap_or(first);
            first..last.max(first + 1)
        }
        None => lo..lo + len,
    };
    let cols = span(&xs, x0, tw);
    let rows = span(&ys, y0, th);
    let horizontal_first = !(size.nw >= size.w && size.nh < size.h);
    if horizontal_first {
        // Rows of the source the vertical pass reads, resampled horizontally.
        let mid = horizontal(src, rows.clone(), (0, x0), &xs, tw);
        vertical(&mid, tw, rows.start, &ys, th)
    } else {
        let mid = vertical_cols(src, cols.clone(), &ys, th, rows.start);
        let img = Image {
            px: &mid,
            w: cols.len(),
            h: th,
        };
        horizontal(&img, 0..th, (cols.start, x0), &xs, tw)
    }
}

/// The horizontal pass over `rows` of `src`, whose column 0 is source column
/// `origin`: `tw` outputs per row from `xs` (none: the columns from source
/// column `x0` copied).
fn horizontal(
    src: &Image<'_>,
    rows: Range<usize>,
    (origin, x0): (usize, usize),
    xs: &Option<Vec<Taps>>,
    tw: usize,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.len() * tw * 3);
    for y in rows {
        let row = src.row(y);
        match xs {
            None => out.extend_from_slice(&row[(x0 - origin) * 3..(x0 - origin + tw) * 3]),
            Some(xs) => {
                for t in xs {
                    let px = &row[(t.start - origin) * 3..];
                    for c in 0..3 {
                        let mut ss = HALF;
                        for (k, &wt) in t.weights.iter().enumerate() {
                            ss += i32::from(px[k * 3 + c]) * wt;
                        }
                        out.push(clip8(ss));
                    }
                }
            }
        }
    }
    out
}

/// The vertical pass over `mid` (`tw` wide, its first row source row `row0`):
/// `th` output rows from `ys` (none: the rows copied).
fn vertical(mid: &[u8], tw: usize, row0: usize, ys: &Option<Vec<Taps>>, th: usize) -> Vec<u8> {
    let stride = tw * 3;
    let Some(ys) = ys else {
        return mid[..th * stride].to_vec();
    };
    let mut out = Vec::with_capacity(th * stride);
    for t in ys {
        for x in 0..stride {
            let mut ss = HALF;
            for (k, &wt) in t.weights.iter().enumerate() {
                ss += i32::from(mid[(t.start - row0 + k) * stride + x]) * wt;
            }
            out.push(clip8(ss));
        }
    }
    out
}

/// The vertical pass first, on the source columns `cols` only: `th` rows of
/// `cols.len()` pixels (rows from `row0` copied when `ys` is none).
fn vertical_cols(
    src: &Image<'_>,
    cols: Range<usize>,
    ys: &Option<Vec<Taps>>,
    th: usize,
    row0: usize,
) -> Vec<u8> {
    let width = cols.len() * 3;
    let mut out = Vec::with_capacity(th * width);
    match ys {
        None => {
            for y in row0..row0 + th {
                out.extend_from_slice(&src.row(y)[cols.start * 3..cols.end * 3]);
            }
        }
        Some(ys) => {
            for t in ys {
                for x in cols.start * 3..cols.end * 3 {
                    let mut ss = HALF;
                    for (k, &wt) in t.weights.iter().enumerate() {
                        ss += i32::from(src.row(t.start + k)[x]) * wt;
                    }
                    out.push(clip8(ss));
                }
            }
        }
    }
    out
}
