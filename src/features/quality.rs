//! Image-quality signals measured on the analysis raster in the decode pass.

use serde::{Deserialize, Serialize};

use crate::decode::{Format, Raster};

/// Luma at or below this counts as clipped dark.
const DARK_CLIP: u8 = 8;
/// Luma at or above this counts as clipped bright.
const BRIGHT_CLIP: u8 = 247;

/// Measured quality of one image. Luma values are 0–255 (BT.601).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct Quality {
    /// Mean luma.
    pub mean: f32,
    /// 1st-percentile luma.
    pub p01: u8,
    /// 99th-percentile luma.
    pub p99: u8,
    /// RMS contrast: standard deviation of luma.
    pub contrast: f32,
    /// Share of pixels at luma ≤ 8.
    pub dark_clip: f32,
    /// Share of pixels at luma ≥ 247.
    pub bright_clip: f32,
    /// Variance of the 4-neighbour Laplacian of the analysis raster (higher is sharper).
    pub sharpness: f32,
    /// JPEG quality (1–100) estimated from the luma quantisation table; `None` for
    /// other formats or tables that are missing.
    pub jpeg_quality: Option<u8>,
    /// Hasler–Süsstrunk colourfulness (0 for grey images).
    pub colourfulness: f32,
    /// Shannon entropy of the luma histogram, in bits (0–8).
    pub entropy: f32,
}

/// Thresholds for the measured tags (`[quality]` in a recipe).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// `auto:dark`: mean luma at or below this. Default 40.
    pub dark: f32,
    /// `auto:overexposed`: share of clipped-bright pixels at or above this. Default 0.10.
    pub overexposed: f32,
    /// `auto:backlit`: clipped-bright and clipped-dark shares both at or above this. Default 0.05.
    pub backlit: f32,
    /// `auto:low-contrast`: RMS contrast (luma standard deviation) at or below this. Default 20.
    pub low_contrast: f32,
    /// `auto:blurry`: relative sharpness (Laplacian variance / luma variance) at or
    /// below this. Default 0.25.
    pub blurry: f32,
    /// `auto:lowq`: estimated JPEG quality at or below this. Default 40.
    pub lowq: u8,
    /// `auto:low-information`: luma entropy at or below this many bits. Default 4.
    pub low_information: f32,
    /// `auto:grayscale`: colourfulness at or below this. Default 3.
    pub grayscale: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            dark: 40.0,
            overexposed: 0.10,
            backlit: 0.05,
            low_contrast: 20.0,
            blurry: 0.25,
            lowq: 40,
            low_information: 4.0,
            grayscale: 3.0,
        }
    }
}

/// Every measured tag calibset knows, as used in rules (`when`) and quotas.
pub(crate) const MEASURED_TAGS: &[&str] = &[
    "auto:dark",
    "auto:overexposed",
    "auto:backlit",
    "auto:low-contrast",
    "auto:blurry",
    "auto:lowq",
    "auto:low-information",
    "auto:grayscale",
];

impl Quality {
    /// Sharpness relative to contrast: Laplacian variance over luma variance, so a
    /// dim or hazy but in-focus picture is not taken for a blurred one.
    pub(crate) fn relative_sharpness(&self) -> f32 {
        self.sharpness / (self.contrast * self.contrast).max(25.0)
    }

    /// The measured tags this image earns under `t`.
    pub(crate) fn measured_tags(&self, t: &Thresholds) -> Vec<&'static str> {
        let mut tags = Vec::new();
        let mut tag = |on: bool, name| {
            if on {
                tags.push(name);
            }
        };
        tag(self.mean <= t.dark, "auto:dark");
        tag(self.bright_clip >= t.overexposed, "auto:overexposed");
        tag(
            self.bright_clip >= t.backlit && self.dark_clip >= t.backlit,
            "auto:backlit",
        );
        tag(self.contrast <= t.low_contrast, "auto:low-contrast");
        tag(self.relative_sharpness() <= t.blurry, "auto:blurry");
        tag(self.jpeg_quality.is_some_and(|q| q <= t.lowq), "auto:lowq");
        tag(self.entropy <= t.low_information, "auto:low-information");
        tag(self.colourfulness <= t.grayscale, "auto:grayscale");
        tags
    }

    /// Measures `raster`; `bytes` and `format` give the JPEG tables.
    pub(crate) fn measure(raster: &Raster, bytes: &[u8], format: Format) -> Self {
        let grey = &raster.grey;
        let n = grey.len().max(1) as f64;
        let mut hist = [0u32; 256];
        for &v in grey {
            hist[usize::from(v)] += 1;
        }
        // Mean and variance from the histogram: exact integer sums, one pass.
        let (sum, sum2) = hist
            .iter()
            .enumerate()
            .fold((0u64, 0u64), |(s, s2), (v, &c)| {
                let (v, c) = (v as u64, u64::from(c));
                (s + v * c, s2 + v * v * c)
            });
        let mean = sum as f64 / n;
        let var = (sum2 as f64 / n - mean * mean).max(0.0);
        let entropy = hist
            .iter()
            .filter(|&&c| c > 0)
            .map(|&c| {
                let p = f64::from(c) / n;
                -p * p.log2()
            })
            .sum::<f64>();
        let share = |range: std::ops::RangeInclusive<usize>| {
            hist[range].iter().map(|&c| f64::from(c)).sum::<f64>() / n
        };
        Quality {
            mean: mean as f32,
            p01: percentile(&hist, grey.len(), 0.01),
            p99: percentile(&hist, grey.len(), 0.99),
            contrast: var.sqrt() as f32,
            dark_clip: share(0..=usize::from(DARK_CLIP)) as f32,
            bright_clip: share(usize::from(BRIGHT_CLIP)..=255) as f32,
            sharpness: laplacian_variance(grey, raster.width, raster.height) as f32,
            jpeg_quality: match format {
                Format::Jpeg => jpeg_quality(bytes),
                _ => None,
            },
            colourfulness: raster.rgb.as_deref().map_or(0.0, colourfulness) as f32,
            entropy: entropy as f32,
        }
    }
}

fn percentile(hist: &[u32; 256], n: usize, q: f64) -> u8 {
    let target = ((n as f64) * q).ceil().max(1.0) as u64;
    let mut seen = 0u64;
    for (v, &c) in hist.iter().enumerate() {
        seen += u64::from(c);
        if seen >= target {
            return v as u8;
        }
    }
    255
}

/// Variance of the 4-neighbour Laplacian over the interior pixels, from exact
/// `i64` sums.
fn laplacian_variance(grey: &[u8], w: usize, h: usize) -> f64 {
    if w < 3 || h < 3 {
        return 0.0;
    }
    let (mut sum, mut sum2) = (0i64, 0i64);
    for y in 1..h - 1 {
        let above = &grey[(y - 1) * w..y * w];
        let row = &grey[y * w..(y + 1) * w];
        let below = &grey[(y + 1) * w..(y + 2) * w];
        for x in 1..w - 1 {
            let l = i32::from(row[x - 1])
                + i32::from(row[x + 1])
                + i32::from(above[x])
                + i32::from(below[x])
                - 4 * i32::from(row[x]);
            sum += i64::from(l);
            sum2 += i64::from(l * l);
        }
    }
    let n = ((w - 2) * (h - 2)) as f64;
    (sum2 as f64 / n - (sum as f64 / n).powi(2)).max(0.0)
}

/// Hasler and Süsstrunk's colourfulness, from exact integer sums of the
/// opponent channels (`yb` doubled to stay integral).
fn colourfulness(rgb: &[u8]) -> f64 {
    let n = (rgb.len() / 3).max(1) as f64;
    let [s_rg, s_yb2, s_rg_sq, s_yb2_sq] = opponent_sums(rgb);
    let (m_rg, m_yb) = (s_rg as f64 / n, s_yb2 as f64 / n / 2.0);
    let sd_rg = (s_rg_sq as f64 / n - m_rg * m_rg).max(0.0).sqrt();
    let sd_yb = (s_yb2_sq as f64 / n / 4.0 - m_yb * m_yb).max(0.0).sqrt();
    (sd_rg * sd_rg + sd_yb * sd_yb).sqrt() + 0.3 * (m_rg * m_rg + m_yb * m_yb).sqrt()
}

/// The opponent channels of one pixel: `rg = R − G` and `yb2 = R + G − 2B`.
fn opponents(p: &[u8]) -> (i32, i32) {
    let (r, g, b) = (i32::from(p[0]), i32::from(p[1]), i32::from(p[2]));
    (r - g, r + g - 2 * b)
}

/// Σ rg, Σ yb2, Σ rg², Σ yb2² over interleaved RGB, exactly.
///
/// Sixteen `i32` lanes per sum, emptied into `i64` every 256 blocks of sixteen
/// pixels (a lane then holds at most 256 · 510² < 2³¹), so the loop runs as
/// vector code.
fn opponent_sums(rgb: &[u8]) -> [i64; 4] {
    const LANES: usize = 16;
    let mut total = [0i64; 4];
    let (blocks, rest) = rgb.as_chunks::<{ 3 * LANES }>();
    for run in blocks.chunks(256) {
        let mut lanes = [[0i32; LANES]; 4];
        for p in run {
            for j in 0..LANES {
                let (rg, yb2) = opponents(&p[3 * j..3 * j + 3]);
                lanes[0][j] += rg;
                lanes[1][j] += yb2;
                lanes[2][j] += rg * rg;
                lanes[3][j] += yb2 * yb2;
            }
        }
        for (t, lane) in total.iter_mut().zip(&lanes) {
            *t += lane.iter().map(|&v| i64::from(v)).sum::<i64>();
        }
    }
    for p in rest.chunks_exact(3) {
        let (rg, yb2) = opponents(p);
        let (rg, yb2) = (i64::from(rg), i64::from(yb2));
        total[0] += rg;
        total[1] += yb2;
        total[2] += rg * rg;
        total[3] += yb2 * yb2;
    }
    total
}

/// The IJG (libjpeg) standard luminance table, natural order.
const STD_LUMA: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

/// Zig-zag position → natural index.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// The luma table an IJG encoder writes at `quality` (1–100), natural order.
pub(crate) fn ijg_table(quality: u8) -> [u16; 64] {
    let q = u32::from(quality.clamp(1, 100));
    let scale = if q < 50 { 5000 / q } else { 200 - 2 * q };
    STD_LUMA.map(|t| ((u32::from(t) * scale + 50) / 100).clamp(1, 255) as u16)
}

/// Estimates JPEG quality by finding the IJG quality whose luma table is
/// closest to the file's table 0 (sum of absolute differences, ties to higher).
pub(crate) fn jpeg_quality(bytes: &[u8]) -> Option<u8> {
    /// `ijg_table(q)` for q = 1..=100, built once.
    static TABLES: std::sync::LazyLock<Vec<[u16; 64]>> =
        std::sync::LazyLock::new(|| (1..=100u8).map(ijg_table).collect());
    let table = luma_table(bytes)?;
    (1..=100u8).rev().min_by_key(|&q| {
        let t = &TABLES[usize::from(q - 1)];
        t.iter()
            .zip(&table)
            .map(|(a, b)| u32::from(a.abs_diff(*b)))
            .sum::<u32>()
    })
}

/// Quantisation table 0 from the first DQT segment that defines it, natural order.
fn luma_table(bytes: &[u8]) -> Option<[u16; 64]> {
    let mut i = 2;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        let seg = bytes.get(i + 4..i + 2 + len)?;
        if marker == 0xDB {
            let mut j = 0;
            while j < seg.len() {
                let precision = seg[j] >> 4;
                let id = seg[j] & 0x0F;
                let size = if precision == 0 { 64 } else { 128 };
                let data = seg.get(j + 1..j + 1 + size)?;
                if id == 0 {
                    let mut table = [0u16; 64];
                    for (k, &natural) in ZIGZAG.iter().enumerate() {
                        table[natural] = if precision == 0 {
                            u16::from(data[k])
                        } else {
                            u16::from_be_bytes([data[2 * k], data[2 * k + 1]])
                        };
                    }
                    return Some(table);
                }
                j += 1 + size;
            }
        }
        i += 2 + len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::tests::jpeg;
    use super::super::{Format, Limits, measure};
    use super::*;
    use image::{Rgb, RgbImage};
    use std::path::Path;

    fn noise(w: u32, h: u32) -> RgbImage {
        let mut s = 12345u32;
        RgbImage::from_fn(w, h, |_, _| {
            s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let v = (s >> 16) as u8;
            Rgb([v, v.wrapping_mul(3), v / 2])
        })
    }

    #[test]
    fn opponent_sums_are_exact_over_blocks_and_remainders() {
        let naive = |rgb: &[u8]| {
            rgb.chunks_exact(3).fold([0i64; 4], |mut s, p| {
                let (r, g, b) = (i64::from(p[0]), i64::from(p[1]), i64::from(p[2]));
                let (rg, yb2) = (r - g, r + g - 2 * b);
                s[0] += rg;
                s[1] += yb2;
                s[2] += rg * rg;
                s[3] += yb2 * yb2;
                s
            })
        };
        // Past one 256-block run, with a remainder; and the extreme yb2 = ±510.
        for n in [0, 5, 16, 4096, 4096 + 16 * 3 + 7, 9000] {
            let rgb: Vec<u8> = (0..3 * n)
                .map(|i| ((i * 131 + i / 7) % 256) as u8)
                .collect();
            assert_eq!(opponent_sums(&rgb), naive(&rgb), "{n} pixels");
        }
        let blue = [0, 0, 255].repeat(5000);
        assert_eq!(opponent_sums(&blue), naive(&blue));
        assert_eq!(opponent_sums(&blue)[3], 5000 * 510 * 510);
        let yellow = [255, 255, 0].repeat(5000);
        assert_eq!(opponent_sums(&yellow), naive(&yellow));
    }

    #[test]
    fn measured_tags_follow_thresholds() {
        let t = Thresholds::default();
        let black = measure(
            &jpeg(&RgbImage::new(320, 240), 30),
            Path::new("b.jpg"),
            &Limits::default(),
        )
        .unwrap()
        .0;
        let tags = black.quality.measured_tags(&t);
        for want in [
            "auto:dark",
            "auto:low-contrast",
            "auto:lowq",
            "auto:low-information",
            "auto:grayscale",
        ] {
            assert!(tags.contains(&want), "{want} in {tags:?}");
        }
        assert!(!tags.contains(&"auto:overexposed"));
        let board = RgbImage::from_fn(480, 480, |x, y| {
            if (x / 8 + y / 8) % 2 == 0 {
                Rgb([255, 255, 255])
            } else {
                Rgb([0, 0, 0])
            }
        });
        let sharp = measure(&jpeg(&board, 95), Path::new("a.jpg"), &Limits::default())
            .unwrap()
            .0;
        let tags = sharp.quality.measured_tags(&t);
        for want in [
            "auto:backlit",
            "auto:overexposed",
            "auto:grayscale",
            "auto:low-information",
        ] {
            assert!(tags.contains(&want), "{want} in {tags:?}");
        }
        for not in ["auto:blurry", "auto:lowq", "auto:dark", "auto:low-contrast"] {
            assert!(!tags.contains(&not), "{not} in {tags:?}");
        }
        let soft = measure(
            &jpeg(&image::imageops::blur(&board, 6.0), 95),
            Path::new("s.jpg"),
            &Limits::default(),
        )
        .unwrap()
        .0;
        assert!(soft.quality.measured_tags(&t).contains(&"auto:blurry"));
        let grey = measure(
            &jpeg(&RgbImage::from_pixel(64, 64, Rgb([128; 3])), 30),
            Path::new("g.jpg"),
            &Limits::default(),
        )
        .unwrap()
        .0;
        assert!(!grey.quality.measured_tags(&t).contains(&"auto:dark"));
        let other = Thresholds {
            dark: 150.0,
            lowq: 10,
            ..t
        };
        assert!(grey.quality.measured_tags(&other).contains(&"auto:dark"));
        assert!(!grey.quality.measured_tags(&other).contains(&"auto:lowq"));
    }

    #[test]
    fn estimates_jpeg_quality_from_tables() {
        let img = noise(64, 64);
        for q in [20u8, 40, 60, 75, 90] {
            let est = jpeg_quality(&jpeg(&img, q)).unwrap();
            assert_eq!(est, q, "encoded at {q}");
        }
        assert_eq!(jpeg_quality(b"\xFF\xD8\xFF\xD9"), None);
    }

    #[test]
    fn black_frame_is_dark_flat_and_empty() {
        let img = RgbImage::new(320, 240);
        let (f, _) = measure(&jpeg(&img, 90), Path::new("b.jpg"), &Limits::default()).unwrap();
        let q = f.quality;
        assert!(q.mean < 1.0 && q.p99 <= 1 && q.dark_clip > 0.99, "{q:?}");
        assert!(
            q.entropy < 0.1 && q.contrast < 1.0 && q.sharpness < 1.0,
            "{q:?}"
        );
        assert_eq!(q.jpeg_quality, Some(90));
    }

    #[test]
    fn checkerboard_is_sharp_and_blur_is_not() {
        let board = RgbImage::from_fn(480, 480, |x, y| {
            if (x / 8 + y / 8) % 2 == 0 {
                Rgb([255; 3])
            } else {
                Rgb([0; 3])
            }
        });
        let blurred = image::imageops::blur(&board, 6.0);
        let (sharp, _) =
            measure(&jpeg(&board, 95), Path::new("a.jpg"), &Limits::default()).unwrap();
        let (soft, _) =
            measure(&jpeg(&blurred, 95), Path::new("b.jpg"), &Limits::default()).unwrap();
        assert!(sharp.quality.sharpness > 20.0 * soft.quality.sharpness.max(0.1));
        assert!(sharp.quality.contrast > 100.0);
        assert!(sharp.quality.colourfulness < 2.0);
        assert!(sharp.quality.dark_clip > 0.3 && sharp.quality.bright_clip > 0.3);
        assert_eq!(sharp.format, Format::Jpeg);
    }
}
