//! Resampling 8-bit RGB with the filter the recipe names ([`Filter`]), each
//! reproducing one library's 8-bit arithmetic so that calibset's tensors are
//! the deployment's, value for value:
//!
//! - [`opencv`]: `cv2.resize` with `INTER_LINEAR`, `INTER_AREA`,
//!   `INTER_NEAREST` and `INTER_CUBIC` (OpenCV's own fixed-point code paths,
//!   including the vector rounding of its 8-bit `INTER_LINEAR`);
//! - [`pillow`]: Pillow's `Image.resize(..., BILINEAR)`, the antialiased
//!   triangle filter torchvision's `Resize(antialias=True)` follows.
//!
//! Every filter is separable and computes each output position from its own
//! taps, so [`window`] resamples only the part of a resize that is kept (a
//! crop of a huge resize costs the crop). Integer or `f32` arithmetic in a
//! fixed order, one thread: the same bytes on every machine and thread count.

mod opencv;
mod pillow;

use super::Filter;

/// Resizes `rgb` (`w × h`, interleaved) to `nw × nh` with `filter`.
pub(super) fn rgb(rgb: &[u8], w: usize, h: usize, nw: usize, nh: usize, filter: Filter) -> Vec<u8> {
    window(rgb, (w, h), (nw, nh), (0, 0, nw, nh), filter)
}

/// The `tw × th` window at `(x0, y0)` of `rgb` (`w × h`, interleaved) resized
/// to `nw × nh` with `filter`, computed from the source pixels that window
/// reads alone: a crop of a huge resize costs the crop, not the resize (a
/// 65535×1 image cropped to 320×320 scales to 20,971,200×320 on paper).
pub(super) fn window(
    rgb: &[u8],
    (w, h): (usize, usize),
    (nw, nh): (usize, usize),
    win: (usize, usize, usize, usize),
    filter: Filter,
) -> Vec<u8> {
    let (x0, y0, tw, th) = win;
    debug_assert!(x0 + tw <= nw && y0 + th <= nh);
    debug_assert_eq!(rgb.len(), w * h * 3);
    if (w, h) == (nw, nh) {
        // Both libraries copy an image that keeps its size.
        let mut out = Vec::with_capacity(tw * th * 3);
        for y in y0..y0 + th {
            out.extend_from_slice(&rgb[(y * w + x0) * 3..(y * w + x0 + tw) * 3]);
        }
        return out;
    }
    let src = Image { px: rgb, w, h };
    let size = Size { w, h, nw, nh };
    match filter {
        Filter::Linear => opencv::linear(&src, size, win),
        Filter::Area => opencv::area(&src, size, win),
        Filter::Nearest => opencv::nearest(&src, size, win),
        Filter::Cubic => opencv::cubic(&src, size, win),
        Filter::BilinearAa => pillow::bilinear(&src, size, win),
    }
}

/// A source image: interleaved RGB, `w × h`.
#[derive(Clone, Copy)]
struct Image<'a> {
    px: &'a [u8],
    w: usize,
    h: usize,
}

impl Image<'_> {
    /// Row `y` (`w × 3` bytes).
    fn row(&self, y: usize) -> &[u8] {
        debug_assert!(y < self.h, "row {y} of {}", self.h);
        &self.px[y * self.w * 3..(y + 1) * self.w * 3]
    }
}

/// The source size and the full resized size.
#[derive(Clone, Copy, Debug)]
struct Size {
    w: usize,
    h: usize,
    nw: usize,
    nh: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 7 × 5 image whose channels all differ.
    fn pattern() -> Vec<u8> {
        let mut img = Vec::new();
        for y in 0..5usize {
            for x in 0..7usize {
                for c in 0..3usize {
                    img.push(((x * 37 + y * 91 + c * 53 + x * y * 17) % 256) as u8);
                }
            }
        }
        img
    }

    /// Expected values from `cv2.resize(pattern, size, interpolation=...)`
    /// (OpenCV 5.1, `cv2.ipp.setUseIPP(False)` for cubic) and Pillow 13's
    /// `Image.resize(size, BILINEAR)`.
    #[rustfmt::skip]
    const EXPECTED: [(Filter, (usize, usize), &[u8]); 10] = [
        (Filter::Linear, (3, 2), &[101, 154, 207, 218, 79, 132, 142, 173, 119, 101, 111, 164, 61, 114, 103, 148, 179, 104]),
        (Filter::Linear, (5, 8), &[7, 60, 113, 59, 112, 165, 111, 164, 217, 163, 216, 166, 214, 63, 64, 49, 101, 155, 111, 164, 150, 173, 114, 167, 123, 176, 172, 185, 123, 58, 108, 157, 198, 175, 222, 131, 246, 59, 112, 77, 120, 173, 144, 197, 58, 167, 184, 97, 153, 135, 141, 175, 148, 200, 116, 63, 117, 102, 155, 144, 146, 163, 76, 147, 129, 134, 103, 156, 209, 140, 87, 108, 77, 130, 167, 45, 94, 135, 157, 203, 112, 32, 85, 138, 147, 191, 148, 67, 120, 125, 88, 112, 165, 138, 133, 119, 105, 158, 67, 97, 150, 158, 144, 82, 113, 129, 131, 184, 122, 73, 126, 167, 220, 17, 58, 111, 164, 205, 53, 106]),
        (Filter::Area, (3, 2), &[102, 133, 149, 144, 139, 162, 143, 145, 110, 130, 117, 133, 105, 143, 123, 123, 125, 134]),
        (Filter::Area, (5, 8), &[11, 64, 117, 58, 111, 164, 106, 159, 212, 164, 217, 160, 211, 82, 61, 49, 102, 155, 105, 158, 152, 161, 127, 165, 128, 181, 168, 184, 127, 63, 106, 159, 212, 176, 229, 136, 245, 79, 95, 74, 127, 180, 144, 197, 67, 183, 177, 84, 153, 118, 142, 152, 161, 207, 119, 55, 108, 89, 142, 159, 170, 165, 71, 149, 114, 138, 113, 166, 211, 135, 71, 102, 77, 130, 168, 42, 95, 148, 155, 208, 115, 49, 102, 118, 151, 204, 147, 81, 134, 114, 100, 109, 162, 138, 125, 120, 111, 164, 70, 97, 150, 159, 150, 93, 117, 138, 118, 171, 127, 70, 123, 152, 205, 39, 61, 114, 167, 196, 66, 119]),
        (Filter::Nearest, (3, 2), &[0, 53, 106, 74, 127, 180, 148, 201, 254, 182, 235, 32, 68, 121, 174, 210, 7, 60]),
        (Filter::Nearest, (5, 8), &[0, 53, 106, 37, 90, 143, 74, 127, 180, 148, 201, 254, 185, 238, 35, 0, 53, 106, 37, 90, 143, 74, 127, 180, 148, 201, 254, 185, 238, 35, 91, 144, 197, 145, 198, 251, 199, 252, 49, 51, 104, 157, 105, 158, 211, 91, 144, 197, 145, 198, 251, 199, 252, 49, 51, 104, 157, 105, 158, 211, 182, 235, 32, 253, 50, 103, 68, 121, 174, 210, 7, 60, 25, 78, 131, 17, 70, 123, 105, 158, 211, 193, 246, 43, 113, 166, 219, 201, 254, 51, 17, 70, 123, 105, 158, 211, 193, 246, 43, 113, 166, 219, 201, 254, 51, 108, 161, 214, 213, 10, 63, 62, 115, 168, 16, 69, 122, 121, 174, 227]),
        (Filter::Cubic, (3, 2), &[86, 160, 247, 233, 61, 114, 155, 187, 123, 77, 106, 192, 45, 98, 93, 173, 205, 79]),
        (Filter::Cubic, (5, 8), &[0, 50, 102, 47, 98, 168, 98, 175, 228, 175, 245, 168, 222, 45, 62, 38, 95, 168, 112, 189, 146, 181, 104, 157, 106, 198, 193, 194, 126, 42, 108, 159, 207, 179, 253, 125, 254, 53, 106, 46, 116, 193, 145, 207, 53, 193, 204, 86, 149, 116, 141, 192, 157, 210, 104, 15, 93, 98, 167, 156, 156, 169, 51, 150, 109, 133, 86, 167, 233, 166, 64, 74, 60, 128, 187, 35, 87, 135, 184, 235, 106, 24, 78, 142, 173, 216, 151, 59, 121, 124, 74, 102, 175, 149, 145, 118, 97, 150, 57, 94, 172, 181, 146, 79, 106, 139, 136, 189, 111, 35, 135, 180, 233, 6, 20, 93, 188, 223, 46, 104]),
        (Filter::BilinearAa, (3, 2), &[113, 141, 149, 144, 137, 157, 133, 144, 120, 132, 125, 133, 115, 141, 127, 119, 130, 134]),
        (Filter::BilinearAa, (5, 8), &[12, 65, 118, 58, 111, 164, 111, 164, 217, 164, 217, 157, 210, 92, 60, 54, 107, 160, 109, 162, 153, 153, 135, 167, 125, 178, 168, 180, 137, 67, 115, 163, 205, 173, 219, 139, 202, 100, 109, 78, 122, 175, 137, 190, 82, 176, 170, 106, 158, 132, 141, 160, 130, 168, 111, 67, 120, 94, 147, 146, 156, 150, 86, 151, 126, 135, 118, 139, 177, 136, 91, 108, 77, 130, 157, 56, 104, 146, 154, 200, 120, 76, 126, 135, 151, 195, 141, 88, 141, 114, 101, 106, 159, 140, 129, 120, 99, 152, 93, 102, 155, 158, 146, 103, 119, 143, 111, 164, 129, 68, 121, 120, 173, 64, 63, 116, 169, 191, 73, 126]),
    ];

    #[test]
    fn every_filter_gives_its_librarys_values() {
        let img = pattern();
        for (filter, (nw, nh), want) in EXPECTED {
            let got = rgb(&img, 7, 5, nw, nh, filter);
            assert_eq!(got, want, "{filter:?} 7×5 → {nw}×{nh}");
        }
    }

    #[test]
    fn opencv_linear_rounds_like_its_vector_code() {
        // 2 × 3 grey to 2 × 5 with cv2.INTER_LINEAR: [[143, 71], [100, 56],
        // [36, 35], [44, 76], [50, 104]]. The exact (Σ + 2^21) >> 22 would
        // give 57 for the second row's right pixel; OpenCV's vector code
        // computes ((S >> 4)·β >> 16) per row, then (x + 2) >> 2.
        let img: Vec<u8> = [143u8, 71, 36, 35, 50, 104]
            .iter()
            .flat_map(|&v| [v, v, v])
            .collect();
        let out = rgb(&img, 2, 3, 2, 5, Filter::Linear);
        let grey: Vec<u8> = out.chunks(3).map(|p| p[0]).collect();
        assert_eq!(grey, [143, 71, 100, 56, 36, 35, 44, 76, 50, 104]);
    }

    #[test]
    fn exact_halving_is_the_mean_of_each_block() {
        // OpenCV turns an exact 2× INTER_LINEAR shrink into INTER_AREA's
        // (a + b + c + d + 2) >> 2; the fixed-point linear path gives the same.
        let img: Vec<u8> = [0, 10, 20, 30, 40, 50, 60, 71]
            .iter()
            .flat_map(|&v| [v, v, v])
            .collect();
        for filter in [Filter::Linear, Filter::Area] {
            let out = rgb(&img, 4, 2, 2, 1, filter);
            // (0 + 10 + 40 + 50 + 2) >> 2 = 25, (20 + 30 + 60 + 71 + 2) >> 2 = 45.
            assert_eq!(out, [25, 25, 25, 45, 45, 45], "{filter:?}");
        }
    }

    #[test]
    fn uniform_stays_uniform() {
        let img = [77u8, 88, 99].repeat(37 * 23);
        for filter in Filter::ALL {
            for (nw, nh) in [(10, 10), (37, 23), (80, 5), (3, 60), (74, 46), (1, 1)] {
                let out = rgb(&img, 37, 23, nw, nh, filter);
                assert!(
                    out.chunks(3).all(|p| p == [77, 88, 99]),
                    "{filter:?} {nw}×{nh}"
                );
            }
        }
    }

    #[test]
    fn a_window_is_the_same_part_of_the_full_resize() {
        let (w, h) = (29, 17);
        let img: Vec<u8> = (0..w * h * 3).map(|i| (i * 37 % 251) as u8).collect();
        for filter in Filter::ALL {
            for (nw, nh) in [(11, 7), (64, 40), (29, 17), (40, 9), (58, 34), (29, 40)] {
                let full = rgb(&img, w, h, nw, nh, filter);
                for (x0, y0, tw, th) in [(0, 0, nw, nh), (3, 2, 5, 4), (nw - 1, nh - 1, 1, 1)] {
                    let part = window(&img, (w, h), (nw, nh), (x0, y0, tw, th), filter);
                    let cut: Vec<u8> = (y0..y0 + th)
                        .flat_map(|y| full[(y * nw + x0) * 3..(y * nw + x0 + tw) * 3].to_vec())
                        .collect();
                    assert_eq!(part, cut, "{filter:?} {nw}×{nh} at ({x0}, {y0}) {tw}×{th}");
                }
            }
        }
    }

    #[test]
    fn a_one_pixel_source_fills_any_size() {
        let img = [9u8, 8, 7];
        for filter in Filter::ALL {
            let out = rgb(&img, 1, 1, 5, 3, filter);
            assert!(out.chunks(3).all(|p| p == [9, 8, 7]), "{filter:?}");
        }
    }
}
