//! Per-image features, all computed in one decode pass.
//!
//! [`measure`] reads a file's bytes once and returns [`Features`]: the content
//! hash (exact duplicates), the 64-bit pHash and the similarity [`Signature`] of
//! a 32×32 grey thumbnail (near duplicates) and [`Quality`] signals. JPEGs are
//! decoded at a reduced DCT scale (the smallest `n/8` whose short side is ≥
//! [`ANALYSIS_SHORT_SIDE`]), other formats are decoded fully and box-averaged down
//! to the same size; nothing ever hashes a full-size RGB buffer.

mod quality;
mod signature;

use std::path::Path;
use std::sync::{Arc, LazyLock};

use image_hasher::{HashAlg, Hasher, HasherConfig};
use serde::{Deserialize, Serialize};

use crate::decode::{self, Problem, Request};
pub(crate) use crate::decode::{Format, Limits, Raster};
#[cfg(test)]
pub(crate) use quality::jpeg_quality;
pub(crate) use quality::{MEASURED_TAGS, Quality, Thresholds};
pub(crate) use signature::{Signature, Signatures, similarity};

/// Short side, in pixels, of the reduced image features are computed on.
pub(crate) const ANALYSIS_SHORT_SIDE: u32 = 120;

/// Side of the grey thumbnail the pHash and the signature are computed from.
pub(crate) const THUMB_SIDE: usize = 32;

/// Bumped whenever what [`measure`] computes changes; part of the cache key.
pub(crate) const FEATURES_VERSION: u32 = 8;

/// Bins per channel of [`Features::histogram`] (each covers 256 / `HIST_BINS` levels).
pub(crate) const HIST_BINS: usize = 64;

/// Everything the pipeline knows about one image's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Features {
    /// Format found in the bytes (not the extension).
    pub format: Format,
    /// Full width in pixels.
    pub width: u32,
    /// Full height in pixels.
    pub height: u32,
    /// blake3 of the file's bytes.
    pub content_hash: [u8; 32],
    /// 64-bit DCT perceptual hash (image_hasher: median of the 8×8 low band).
    pub phash: PHash,
    /// The similarity signature of the 32×32 grey thumbnail (what near-duplicate
    /// decisions compare; the thumbnail itself is not kept).
    pub signature: Signature,
    /// Measured image quality.
    pub quality: Quality,
    /// Pixel counts per channel (R, G, B) in [`HIST_BINS`] bins each, on the
    /// analysis raster: what the stability check merges. Shared, like the
    /// signature: the cache and the pool hold one copy.
    #[serde(deserialize_with = "shared::<_, _, { 3 * HIST_BINS }>")]
    pub histogram: Arc<[u16]>,
}

impl Features {
    /// The perceptual hash as 16 hex digits.
    pub(crate) fn phash_hex(&self) -> String {
        self.phash.to_string()
    }

    /// The content hash as 64 hex digits.
    pub(crate) fn content_hex(&self) -> String {
        self.content_hash
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether `bytes` are the content these features were measured on (their
    /// blake3 is the content hash).
    pub(crate) fn describes(&self, bytes: &[u8]) -> bool {
        *blake3::hash(bytes).as_bytes() == self.content_hash
    }

    /// Pixels of the full image.
    pub(crate) fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

/// A 64-bit perceptual hash; near-identical pictures differ in few bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct PHash(pub u64);

impl PHash {
    /// Hamming distance: the number of bits in which the two hashes differ.
    pub(crate) fn distance(self, other: PHash) -> u32 {
        (self.0 ^ other.0).count_ones()
    }
}

impl std::fmt::Display for PHash {
    /// 16 lowercase hex digits.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Why an image could not be measured. Such files are skipped and reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub(crate) enum ImageIssue {
    /// Zero bytes.
    #[error("empty file")]
    Empty,
    /// The bytes are not any supported image format.
    #[error("not an image (content matches no supported format)")]
    NotAnImage,
    /// The data ends before the image does (a cut file, or a header claiming
    /// a larger image than the data holds).
    #[error("truncated {0}")]
    Truncated(String),
    /// The decoder failed on damaged data.
    #[error("corrupt {0}")]
    Corrupt(String),
    /// More decoding work than any real image needs (a JPEG scan bomb; not
    /// decoded).
    #[error("too complex: {0}")]
    TooComplex(String),
    /// The header declares more pixels than the limit allows (not decoded).
    #[error("too large: {0}")]
    TooLarge(String),
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Io(String),
}

impl ImageIssue {
    /// Whether the verdict belongs to the file's bytes and may be cached. A
    /// read error may be transient (a permission fixed, a flaky mount), and a
    /// size verdict depends on the limit of the run.
    pub(crate) fn is_cacheable(&self) -> bool {
        !matches!(self, ImageIssue::Io(_) | ImageIssue::TooLarge(_))
    }
}

/// What [`measure`] also notices about a readable image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Notes {
    /// The extension names another format than the content has.
    pub mislabelled: bool,
}

static HASHER: LazyLock<Hasher> = LazyLock::new(|| {
    HasherConfig::new()
        .hash_alg(HashAlg::Median)
        .preproc_dct()
        .hash_size(8, 8)
        .resize_filter(image::imageops::FilterType::Triangle)
        .to_hasher()
});

/// Reads the bytes of the image file at `path`, refusing a file larger than
/// `limits` allow (see [`Limits::max_file_bytes`]) or one that is not a regular
/// file.
pub(crate) fn read(path: &Path, limits: &Limits) -> Result<Vec<u8>, ImageIssue> {
    crate::source::read_bytes(path, limits.max_file_bytes()).map_err(read_issue)
}

/// Why an image's bytes could not be read, as an [`ImageIssue`].
pub(crate) fn read_issue(e: crate::source::ReadError) -> ImageIssue {
    match e {
        crate::source::ReadError::TooLarge { .. } | crate::source::ReadError::Refused(_) => {
            ImageIssue::TooLarge(e.to_string())
        }
        other => ImageIssue::Io(other.to_string()),
    }
}

/// Deserializes a sequence of at most `N` values straight into a shared slice.
/// serde's own `Arc<[T]>` goes through a `Box<[T]>`: an extra allocation, copy
/// and free per field, which made loading 100,000 cache entries 10 % slower.
pub(crate) fn shared<'de, D, T, const N: usize>(d: D) -> Result<Arc<[T]>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Copy + Default,
{
    struct Bounded<T, const N: usize>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de> + Copy + Default, const N: usize> serde::de::Visitor<'de>
        for Bounded<T, N>
    {
        type Value = Arc<[T]>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "a sequence of at most {N} values")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Arc<[T]>, A::Error> {
            let mut buf = [T::default(); N];
            let mut n = 0;
            while let Some(v) = seq.next_element()? {
                let slot = buf
                    .get_mut(n)
                    .ok_or_else(|| serde::de::Error::invalid_length(N + 1, &self))?;
                *slot = v;
                n += 1;
            }
            Ok(Arc::from(&buf[..n]))
        }
    }
    d.deserialize_seq(Bounded::<T, N>(std::marker::PhantomData))
}

/// Reads and measures the image at `path`.
#[cfg(test)]
pub(crate) fn measure_file(path: &Path, limits: &Limits) -> Result<(Features, Notes), ImageIssue> {
    measure(&read(path, limits)?, path, limits)
}

/// Measures an image from its bytes; `path` only serves the extension check.
pub(crate) fn measure(
    bytes: &[u8],
    path: &Path,
    limits: &Limits,
) -> Result<(Features, Notes), ImageIssue> {
    if bytes.is_empty() {
        return Err(ImageIssue::Empty);
    }
    let format = Format::sniff(bytes).ok_or(ImageIssue::NotAnImage)?;
    let request = Request::ShortSide(ANALYSIS_SHORT_SIDE);
    let raster = decode::decode(bytes, format, request, limits).map_err(|e| {
        let name = format.as_str();
        match e {
            Problem::Truncated(m) => ImageIssue::Truncated(format!("{name}: {m}")),
            Problem::Corrupt(m) => ImageIssue::Corrupt(format!("{name}: {m}")),
            Problem::TooComplex(m) => ImageIssue::TooComplex(format!("{name}: {m}")),
            too_large @ Problem::TooLarge { .. } => {
                ImageIssue::TooLarge(format!("{name} {too_large}"))
            }
        }
    })?;
    let thumb = raster.thumbnail(THUMB_SIDE);
    let phash = phash(&thumb);
    let quality = Quality::measure(&raster, bytes, format);
    let histogram = channel_histogram(&raster);
    let notes = Notes {
        mislabelled: !format.matches_extension(path),
    };
    Ok((
        Features {
            format,
            width: raster.full_width,
            height: raster.full_height,
            content_hash: *blake3::hash(bytes).as_bytes(),
            phash,
            signature: Signature::new(&thumb),
            quality,
            histogram: histogram.into(),
        },
        notes,
    ))
}

/// R, G, B histograms of `raster` (grey rasters count into all three), as
/// 16-bit counts: a raster whose fullest bin passes 65,535 (more pixels than
/// 256×256 in one bin) has every count scaled down by the same factor.
fn channel_histogram(raster: &Raster) -> Vec<u16> {
    let mut channels = [[0u32; HIST_BINS]; 3];
    let bin = |v: u8| usize::from(v) * HIST_BINS / 256;
    match &raster.rgb {
        Some(rgb) => {
            for px in rgb.as_chunks::<3>().0 {
                for (h, &v) in channels.iter_mut().zip(px) {
                    h[bin(v)] += 1;
                }
            }
        }
        None => {
            for &v in &raster.grey {
                channels[0][bin(v)] += 1;
            }
            channels = [channels[0]; 3];
        }
    }
    let h = channels.as_flattened();
    let fullest = u64::from(h.iter().copied().max().unwrap_or(0)).max(1);
    let limit = u64::from(u16::MAX);
    h.iter()
        .map(|&v| {
            let v = u64::from(v);
            let scaled = if fullest > limit {
                v * limit / fullest
            } else {
                v
            };
            scaled as u16
        })
        .collect()
}

/// The 64-bit pHash of a 32×32 thumbnail.
fn phash(thumb: &[u8]) -> PHash {
    let side = THUMB_SIDE as u32;
    let img = image::GrayImage::from_raw(side, side, thumb.to_vec())
        .expect("thumbnail has THUMB_SIDE² pixels");
    let hash = HASHER.hash_image(&img);
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&hash.as_bytes()[..8]);
    PHash(u64::from_be_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, Rgb, RgbImage};

    pub(crate) fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
            .write_image(
                img,
                img.width(),
                img.height(),
                image::ExtendedColorType::Rgb8,
            )
            .unwrap();
        out
    }

    /// A smooth synthetic scene: two soft blobs on a gradient, moved by `shift`.
    pub(crate) fn scene(w: u32, h: u32, shift: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
            let blob = |cx: f32, cy: f32, r: f32| {
                (-((fx - cx).powi(2) + (fy - cy).powi(2)) / (r * r)).exp()
            };
            let s = shift as f32 / w as f32;
            let v = 40.0 + 60.0 * fy + 150.0 * blob(0.3 + s, 0.4, 0.12)
                - 30.0 * blob(0.7, 0.7 - s, 0.2);
            let v = v.clamp(0.0, 255.0) as u8;
            Rgb([v, v / 2 + 40, 255 - v])
        })
    }

    #[test]
    fn histograms_count_pixels_and_scale_only_past_16_bits() {
        let grey = |w: usize, h: usize, f: &dyn Fn(usize) -> u8| Raster {
            full_width: w as u32,
            full_height: h as u32,
            width: w,
            height: h,
            grey: (0..w * h).map(f).collect(),
            rgb: None,
        };
        let small = channel_histogram(&grey(100, 100, &|i| if i < 2500 { 0 } else { 255 }));
        for c in 0..3 {
            assert_eq!(small[c * HIST_BINS], 2500);
            assert_eq!(small[c * HIST_BINS + HIST_BINS - 1], 7500);
        }
        // 90,000 pixels in one bin, 10,000 in another: both scaled by 65,535 / 90,000.
        let large = channel_histogram(&grey(500, 200, &|i| if i < 90_000 { 40 } else { 200 }));
        assert_eq!(large[40 * HIST_BINS / 256], u16::MAX);
        assert_eq!(large[200 * HIST_BINS / 256], 7281);
    }

    #[test]
    fn bad_bytes_are_issues_not_panics() {
        let p = Path::new("x.jpg");
        assert_eq!(
            measure(b"", p, &Limits::default()).unwrap_err(),
            ImageIssue::Empty
        );
        assert_eq!(
            measure(b"hello world", p, &Limits::default()).unwrap_err(),
            ImageIssue::NotAnImage
        );
        let full = jpeg(&scene(320, 240, 0), 90);
        let cut = &full[..full.len() * 4 / 10];
        assert!(matches!(
            measure(cut, p, &Limits::default()).unwrap_err(),
            ImageIssue::Truncated(_)
        ));
        // A header claiming 20000 × 20000 is refused before any decoding.
        let mut bomb = full.clone();
        let sof = bomb.windows(2).position(|m| m == [0xFF, 0xC0]).unwrap();
        bomb[sof + 5..sof + 9].copy_from_slice(&[0x4E, 0x20, 0x4E, 0x20]);
        let e = measure(&bomb, p, &Limits::default()).unwrap_err();
        assert!(matches!(e, ImageIssue::TooLarge(_)), "{e}");
        assert!(
            e.to_string().contains("20000×20000 is 400 megapixels"),
            "{e}"
        );
        assert!(!e.is_cacheable());
        let small = Limits { max_pixels: 1000 };
        assert!(matches!(
            measure(&full, p, &small).unwrap_err(),
            ImageIssue::TooLarge(_)
        ));
    }

    #[test]
    fn same_picture_same_hash_across_formats_and_sizes() {
        let img = scene(640, 480, 0);
        let (a, na) = measure(&jpeg(&img, 92), Path::new("a.jpg"), &Limits::default()).unwrap();
        let mut png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(&img, 640, 480, image::ExtendedColorType::Rgb8)
            .unwrap();
        let (b, nb) = measure(&png, Path::new("b.jpg"), &Limits::default()).unwrap();
        assert_eq!((a.width, a.height, a.format), (640, 480, Format::Jpeg));
        assert_eq!(b.format, Format::Png);
        assert!(!na.mislabelled);
        assert!(nb.mislabelled);
        let d = a.phash.distance(b.phash);
        assert!(d <= 4, "jpeg vs png pHash distance {d}");
        assert_ne!(a.content_hash, b.content_hash);
        let other = measure(
            &jpeg(&scene(640, 480, 200), 92),
            Path::new("c.jpg"),
            &Limits::default(),
        )
        .unwrap()
        .0;
        let d = a.phash.distance(other.phash);
        assert!(d > 8, "moved scene pHash distance {d}");
    }
}
