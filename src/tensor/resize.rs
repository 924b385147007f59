//! Resampling 8-bit RGB: when the target is no larger than the source in both
//! axes, each output pixel is the area-weighted mean of the source pixels it
//! covers (antialiased; OpenCV's `INTER_AREA`); otherwise bilinear
//! interpolation with half-pixel centres (OpenCV's `INTER_LINEAR`). Separable,
//! in `f32`, rounded half to even as OpenCV's `cvRound` does.

/// Per output position: the source positions it reads and their weights.
type Taps = Vec<Vec<(usize, f32)>>;

/// Resizes `rgb` (`w × h`, interleaved) to `nw × nh`.
pub(super) fn rgb(rgb: &[u8], w: usize, h: usize, nw: usize, nh: usize) -> Vec<u8> {
    window(rgb, (w, h), (nw, nh), (0, 0, nw, nh))
}

/// The `tw × th` window at `(x0, y0)` of `rgb` (`w × h`, interleaved) resized
/// to `nw × nh`, computed from the source pixels that window reads alone: a
/// crop of a huge resize costs the crop, not the resize (a 65535×1 image
/// cropped to 320×320 scales to 20,971,200×320 on paper).
pub(super) fn window(
    rgb: &[u8],
    (w, h): (usize, usize),
    (nw, nh): (usize, usize),
    (x0, y0, tw, th): (usize, usize, usize, usize),
) -> Vec<u8> {
    debug_assert!(x0 + tw <= nw && y0 + th <= nh);
    if (w, h) == (nw, nh) {
        let mut out = Vec::with_capacity(tw * th * 3);
        for y in y0..y0 + th {
            out.extend_from_slice(&rgb[(y * w + x0) * 3..(y * w + x0 + tw) * 3]);
        }
        return out;
    }
    let area = nw <= w && nh <= h;
    let (xs, ys) = if area {
        (area_taps(w, nw, x0..x0 + tw), area_taps(h, nh, y0..y0 + th))
    } else {
        (
            linear_taps(w, nw, x0..x0 + tw),
            linear_taps(h, nh, y0..y0 + th),
        )
    };
    // The source rows the window reads.
    let first = ys.iter().flatten().map(|&(sy, _)| sy).min().unwrap_or(0);
    let last = ys.iter().flatten().map(|&(sy, _)| sy).max().unwrap_or(0);
    // Horizontal pass: those rows to the window's `tw` columns.
    let mut rows = vec![0f32; (last + 1 - first) * tw * 3];
    for y in first..=last {
        let src = &rgb[y * w * 3..(y + 1) * w * 3];
        let dst = &mut rows[(y - first) * tw * 3..(y - first + 1) * tw * 3];
        for (x, taps) in xs.iter().enumerate() {
            let mut acc = [0f32; 3];
            for &(sx, wt) in taps {
                for c in 0..3 {
                    acc[c] += f32::from(src[sx * 3 + c]) * wt;
                }
            }
            dst[x * 3..x * 3 + 3].copy_from_slice(&acc);
        }
    }
    // Vertical pass.
    let mut out = vec![0u8; tw * th * 3];
    let mut acc = vec![0f32; tw * 3];
    for (y, taps) in ys.iter().enumerate() {
        acc.iter_mut().for_each(|a| *a = 0.0);
        for &(sy, wt) in taps {
            let row = &rows[(sy - first) * tw * 3..(sy - first + 1) * tw * 3];
            for (a, &v) in acc.iter_mut().zip(row) {
                *a += v * wt;
            }
        }
        for (o, &a) in out[y * tw * 3..(y + 1) * tw * 3].iter_mut().zip(&acc) {
            *o = a.round_ties_even().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// Area averaging from `n` source positions to `m ≤ n`, for the outputs in
/// `outputs`: output `i` covers `[i·n/m, (i+1)·n/m)`, each source pixel
/// weighted by its overlap.
fn area_taps(n: usize, m: usize, outputs: std::ops::Range<usize>) -> Taps {
    let scale = n as f64 / m as f64;
    outputs
        .map(|i| {
            let (start, end) = (i as f64 * scale, ((i + 1) as f64 * scale).min(n as f64));
            let mut taps = Vec::new();
            let mut s = start.floor() as usize;
            while (s as f64) < end && s < n {
                let overlap = end.min(s as f64 + 1.0) - start.max(s as f64);
                if overlap > 1e-9 {
                    taps.push((s, (overlap / scale) as f32));
                }
                s += 1;
            }
            taps
        })
        .collect()
}

/// Bilinear from `n` source positions to `m`, for the outputs in `outputs`:
/// output `i` samples the source at `(i + 0.5)·n/m − 0.5`, clamped to the edges.
fn linear_taps(n: usize, m: usize, outputs: std::ops::Range<usize>) -> Taps {
    let scale = n as f64 / m as f64;
    outputs
        .map(|i| {
            let f = ((i as f64 + 0.5) * scale - 0.5).max(0.0);
            let i0 = (f.floor() as usize).min(n - 1);
            let a = if i0 + 1 >= n { 0.0 } else { f - i0 as f64 };
            if a <= 0.0 {
                vec![(i0, 1.0)]
            } else {
                vec![(i0, (1.0 - a) as f32), (i0 + 1, a as f32)]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_averages_two_by_two_blocks() {
        // One row of 4 pixels, two rows: halving gives the mean of each 2×2 block.
        let img: Vec<u8> = [0, 10, 20, 30, 40, 50, 60, 70]
            .iter()
            .flat_map(|&v| [v, v, v])
            .collect();
        let out = rgb(&img, 4, 2, 2, 1);
        // (0 + 10 + 40 + 50) / 4 = 25, (20 + 30 + 60 + 70) / 4 = 45.
        assert_eq!(out, [25, 25, 25, 45, 45, 45]);
    }

    #[test]
    fn a_non_integer_shrink_weighs_partial_pixels() {
        // 3 pixels to 2: output 0 covers pixel 0 and half of pixel 1.
        let img: Vec<u8> = [0u8, 90, 180].iter().flat_map(|&v| [v, v, v]).collect();
        let out = rgb(&img, 3, 1, 2, 1);
        assert_eq!(out[0], 30); // (0 * 1 + 90 * 0.5) / 1.5
        assert_eq!(out[3], 150); // (90 * 0.5 + 180) / 1.5
    }

    #[test]
    fn enlarging_is_bilinear_with_half_pixel_centres() {
        let img: Vec<u8> = [0u8, 100].iter().flat_map(|&v| [v, v, v]).collect();
        let out = rgb(&img, 2, 1, 4, 1);
        // Samples at -0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
        let row: Vec<u8> = out.chunks(3).map(|p| p[0]).collect();
        assert_eq!(row, [0, 25, 75, 100]);
    }

    #[test]
    fn uniform_stays_uniform() {
        let img = [77u8, 88, 99].repeat(37 * 23);
        for (nw, nh) in [(10, 10), (37, 23), (80, 5), (3, 60)] {
            let out = rgb(&img, 37, 23, nw, nh);
            assert!(out.chunks(3).all(|p| p == [77, 88, 99]), "{nw}×{nh}");
        }
    }

    #[test]
    fn a_window_is_the_same_part_of_the_full_resize() {
        let (w, h) = (29, 17);
        let img: Vec<u8> = (0..w * h * 3).map(|i| (i * 37 % 251) as u8).collect();
        for (nw, nh) in [(11, 7), (64, 40), (29, 17), (40, 9)] {
            let full = rgb(&img, w, h, nw, nh);
            for (x0, y0, tw, th) in [(0, 0, nw, nh), (3, 2, 5, 4), (nw - 1, nh - 1, 1, 1)] {
                let part = window(&img, (w, h), (nw, nh), (x0, y0, tw, th));
                let cut: Vec<u8> = (y0..y0 + th)
                    .flat_map(|y| full[(y * nw + x0) * 3..(y * nw + x0 + tw) * 3].to_vec())
                    .collect();
                assert_eq!(part, cut, "{nw}×{nh} at ({x0}, {y0}) {tw}×{th}");
            }
        }
    }
}
