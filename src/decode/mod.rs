//! Decoding: the one entry point from an image file's bytes to pixels, at the
//! scale the caller needs, within limits.
//!
//! [`decode`] first reads the image's size from its header ([`probe`]) and
//! refuses, before allocating anything, an image above [`Limits::max_pixels`]
//! or (for JPEG) one whose data ends before its frame does ([`jpeg`]). It then
//! decodes at the smallest scale that still covers the request: JPEGs at a
//! reduced DCT scale (1/8, 1/4, 1/2 or 1/1), non-interlaced PNGs row by row
//! into a box average (memory of one row, whatever the height), other formats
//! in full and box-averaged down. CMYK JPEGs become RGB, and the EXIF
//! orientation is applied ([`orient`]), here and nowhere else. Decodes that need
//! much memory wait for each other ([`budget`]), so peak memory does not grow
//! with the number of worker threads.

mod budget;
mod jpeg;
mod orient;
mod png;

use std::path::Path;

use serde::{Deserialize, Serialize};

/// An image format, as found in the file's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Format {
    /// JPEG / JFIF / EXIF.
    Jpeg,
    /// PNG.
    Png,
    /// Windows bitmap.
    Bmp,
    /// WebP.
    Webp,
    /// TIFF.
    Tiff,
}

impl Format {
    /// Recognises a format from its magic bytes.
    pub(crate) fn sniff(bytes: &[u8]) -> Option<Format> {
        match bytes {
            [0xFF, 0xD8, 0xFF, ..] => Some(Format::Jpeg),
            [0x89, b'P', b'N', b'G', ..] => Some(Format::Png),
            [b'B', b'M', ..] => Some(Format::Bmp),
            [
                b'R',
                b'I',
                b'F',
                b'F',
                _,
                _,
                _,
                _,
                b'W',
                b'E',
                b'B',
                b'P',
                ..,
            ] => Some(Format::Webp),
            [b'I', b'I', 42, 0, ..] | [b'M', b'M', 0, 42, ..] => Some(Format::Tiff),
            _ => None,
        }
    }

    /// The format's lowercase name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Bmp => "bmp",
            Format::Webp => "webp",
            Format::Tiff => "tiff",
        }
    }

    /// Whether `path`'s extension is one this format is saved under.
    pub(crate) fn matches_extension(self, path: &Path) -> bool {
        let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
            return false;
        };
        let ext = ext.to_ascii_lowercase();
        match self {
            Format::Jpeg => matches!(ext.as_str(), "jpg" | "jpeg" | "jpe" | "jfif"),
            Format::Png => ext == "png",
            Format::Bmp => ext == "bmp",
            Format::Webp => ext == "webp",
            Format::Tiff => matches!(ext.as_str(), "tif" | "tiff"),
        }
    }

    fn to_image(self) -> image::ImageFormat {
        match self {
            Format::Jpeg => image::ImageFormat::Jpeg,
            Format::Png => image::ImageFormat::Png,
            Format::Bmp => image::ImageFormat::Bmp,
            Format::Webp => image::ImageFormat::WebP,
            Format::Tiff => image::ImageFormat::Tiff,
        }
    }
}

/// An image's size, read from its header without decoding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Header {
    /// Pixels in the full image.
    pub(crate) fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Problem {
    /// The data ends before the image does.
    #[error("truncated: {0}")]
    Truncated(String),
    /// The decoder failed.
    #[error("{0}")]
    Corrupt(String),
    /// More decoding work than any real image of its size needs: a
    /// progressive JPEG with more than 100 scans (a scan bomb,
    /// minutes of CPU in a few hundred KB). Refused from the marker walk,
    /// before anything is decoded.
    #[error("{0}")]
    TooComplex(String),
    /// More pixels than allowed.
    #[error("{width}×{height} is {} megapixels, above the limit of {} (raise `limits.max_megapixels`)", mp(*width as u64 * *height as u64), mp(*limit))]
    TooLarge {
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// The limit, in pixels.
        limit: u64,
    },
}

fn mp(pixels: u64) -> String {
    let m = pixels as f64 / 1e6;
    if m >= 10.0 {
        format!("{m:.0}")
    } else {
        format!("{m:.1}")
    }
}

/// Bounds on what one image may cost to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most pixels (width × height, from the header) an image may have. Default
    /// [`Limits::DEFAULT_MAX_PIXELS`].
    pub max_pixels: u64,
}

impl Limits {
    /// 100 megapixels: above any camera frame, below what a decompression bomb
    /// declares.
    pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;

    /// Most bytes an image file may have to be read at all: 8 per allowed pixel
    /// (16-bit RGBA uncompressed), at least 64 MiB.
    pub fn max_file_bytes(&self) -> u64 {
        self.max_pixels.saturating_mul(8).max(64 << 20)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pixels: Self::DEFAULT_MAX_PIXELS,
        }
    }
}

/// How large a decoded raster must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Request {
    /// The short side at least this many pixels (or the full image if smaller).
    ShortSide(u32),
    /// The long side at least this many pixels (or the full image if smaller).
    LongSide(u32),
    /// The full image, every pixel.
    Full,
}

impl Request {
    /// The side the request is about, and its length, for an image of `h`.
    fn side(self, h: Header) -> (u32, u32) {
        match self {
            Request::ShortSide(n) => (h.width.min(h.height).max(1), n.max(1)),
            Request::LongSide(n) => (h.width.max(h.height).max(1), n.max(1)),
            Request::Full => (1, 1),
        }
    }

    /// The size (width, height) a DCT-scaled decode must reach.
    fn target(self, h: Header) -> (u32, u32) {
        if self == Request::Full {
            return (h.width, h.height);
        }
        let (side, n) = self.side(h);
        let scale = |v: u32| (u64::from(v) * u64::from(n)).div_ceil(u64::from(side)) as u32;
        (scale(h.width), scale(h.height))
    }

    /// The box-averaging factor for a full decode: how many pixels per side
    /// become one while the requested side stays at least its length.
    fn factor(self, h: Header) -> usize {
        let (side, n) = self.side(h);
        (side / n).max(1) as usize
    }
}

/// Decoded pixels, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pixels {
    /// One luma byte per pixel.
    Grey(Vec<u8>),
    /// Interleaved RGB.
    Rgb(Vec<u8>),
}

impl Pixels {
    fn channels(&self) -> usize {
        match self {
            Pixels::Grey(_) => 1,
            Pixels::Rgb(_) => 3,
        }
    }

    fn len(&self) -> usize {
        match self {
            Pixels::Grey(v) | Pixels::Rgb(v) => v.len(),
        }
    }
}

/// A decoded image, possibly reduced: grey and RGB planes of `width × height`.
#[derive(Debug, Clone)]
pub(crate) struct Raster {
    /// Width of the original image, upright.
    pub full_width: u32,
    /// Height of the original image, upright.
    pub full_height: u32,
    /// Width of this raster.
    pub width: usize,
    /// Height of this raster.
    pub height: usize,
    /// BT.601 luma, row-major.
    pub grey: Vec<u8>,
    /// Interleaved RGB, row-major; `None` for grey sources.
    pub rgb: Option<Vec<u8>>,
}

impl Raster {
    /// A raster of `pixels` (`width × height`, as stored) turned upright by
    /// `orientation`; `header` gives the full stored size.
    fn new(
        header: Header,
        width: usize,
        height: usize,
        pixels: Pixels,
        orientation: image::metadata::Orientation,
    ) -> Self {
        let (pixels, width, height) = orient::apply(pixels, width, height, orientation);
        let (full_width, full_height) = if orient::swaps_sides(orientation) {
            (header.height, header.width)
        } else {
            (header.width, header.height)
        };
        let (grey, rgb) = match pixels {
            Pixels::Grey(g) => (g, None),
            Pixels::Rgb(rgb) => (luma(&rgb), Some(rgb)),
        };
        Raster {
            full_width,
            full_height,
            width,
            height,
            grey,
            rgb,
        }
    }

    /// Area-averages the grey plane to `side × side`.
    pub(crate) fn thumbnail(&self, side: usize) -> Vec<u8> {
        let (w, h) = (self.width, self.height);
        let mut out = Vec::with_capacity(side * side);
        for ty in 0..side {
            let y0 = ty * h / side;
            let y1 = ((ty + 1) * h / side).max(y0 + 1).min(h);
            for tx in 0..side {
                let x0 = tx * w / side;
                let x1 = ((tx + 1) * w / side).max(x0 + 1).min(w);
                let mut sum = 0u32;
                for y in y0..y1 {
                    sum += self.grey[y * w + x0..y * w + x1]
                        .iter()
                        .map(|&v| u32::from(v))
                        .sum::<u32>();
                }
                let n = ((y1 - y0) * (x1 - x0)) as u32;
                out.push(((sum + n / 2) / n) as u8);
            }
        }
        out
    }
}

/// Whether the first bytes of an image file already show that it is over
/// `limits`: its header declares too many pixels. `None` when they do not (it
/// is within the limits, or the prefix does not hold the whole header): the
/// full decode decides. Lets a reader stop downloading a file it would refuse.
pub(crate) fn refused_by_header(prefix: &[u8], limits: &Limits) -> Option<Problem> {
    let format = Format::sniff(prefix)?;
    let header = match format {
        Format::Jpeg => {
            return match jpeg::inspect(prefix, limits.max_pixels) {
                Err(too_large @ Problem::TooLarge { .. }) => Some(too_large),
                _ => None,
            };
        }
        Format::Png => png::header(prefix).ok()?,
        other => image::ImageReader::with_format(std::io::Cursor::new(prefix), other.to_image())
            .into_dimensions()
            .ok()
            .map(|(width, height)| Header { width, height })?,
    };
    (u64::from(header.width) * u64::from(header.height) > limits.max_pixels).then_some(
        Problem::TooLarge {
            width: header.width,
            height: header.height,
            limit: limits.max_pixels,
        },
    )
}

/// Reads an image's size from its header, checking a JPEG's scans as it goes.
pub(crate) fn probe(bytes: &[u8], format: Format) -> Result<Header, Problem> {
    let header = match format {
        Format::Jpeg => jpeg::inspect(bytes, u64::MAX)?.header,
        Format::Png => png::header(bytes)?,
        other => {
            let reader =
                image::ImageReader::with_format(std::io::Cursor::new(bytes), other.to_image());
            let (width, height) = reader
                .into_dimensions()
                .map_err(|e| image_problem(e, bytes, other))?;
            Header { width, height }
        }
    };
    if header.width == 0 || header.height == 0 {
        return Err(Problem::Corrupt("zero-sized image".into()));
    }
    Ok(header)
}

/// Decodes `bytes` (of `format`) to a raster at least as large as `request`,
/// within `limits`.
pub(crate) fn decode(
    bytes: &[u8],
    format: Format,
    request: Request,
    limits: &Limits,
) -> Result<Raster, Problem> {
    let jpeg_info = match format {
        Format::Jpeg => Some(jpeg::inspect(bytes, limits.max_pixels)?),
        _ => None,
    };
    let header = match &jpeg_info {
        Some(info) => info.header,
        None => probe(bytes, format)?,
    };
    if header.pixels() > limits.max_pixels {
        return Err(Problem::TooLarge {
            width: header.width,
            height: header.height,
            limit: limits.max_pixels,
        });
    }
    match (format, &jpeg_info) {
        (Format::Jpeg, Some(info)) => {
            let want = request.target(header);
            let _permit = budget::reserve(info.memory(want));
            jpeg::decode(bytes, info, want)
        }
        (Format::Png, _) if !png::interlaced(bytes) => {
            png::decode_reduced(bytes, header, request.factor(header))
        }
        _ => {
            // Decoded whole (up to RGBA16), then the RGB copy.
            let _permit = budget::reserve(header.pixels() * (8 + 3));
            decode_whole(bytes, format, header, request.factor(header))
        }
    }
}

/// Decodes with the image crate, then box-averages by `k`.
fn decode_whole(bytes: &[u8], format: Format, header: Header, k: usize) -> Result<Raster, Problem> {
    use image::ImageDecoder;
    let corrupt = |e: image::ImageError| image_problem(e, bytes, format);
    let mut reader =
        image::ImageReader::with_format(std::io::Cursor::new(bytes), format.to_image());
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(header.width);
    limits.max_image_height = Some(header.height);
    limits.max_alloc = Some(header.pixels().saturating_mul(8).saturating_add(1 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let img = image::DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    let (fw, fh) = (img.width(), img.height());
    if (fw, fh) != (header.width, header.height) {
        return Err(Problem::Corrupt(format!(
            "decoded {fw}×{fh}, but the header says {}×{}",
            header.width, header.height
        )));
    }
    let rgb = img.into_rgb8();
    let (w, h, rgb) = box_reduce(rgb.as_raw(), fw as usize, fh as usize, k);
    Ok(Raster::new(header, w, h, Pixels::Rgb(rgb), orientation))
}

/// What an image-crate error on `bytes` (of `format`) says about the file:
/// data that ends early (a read past the end, or less data than a WebP's or
/// BMP's header declares) is [`Problem::Truncated`], anything else
/// [`Problem::Corrupt`].
fn image_problem(e: image::ImageError, bytes: &[u8], format: Format) -> Problem {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    let mut past_end = false;
    while let Some(c) = cause {
        past_end |= c
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::UnexpectedEof);
        cause = c.source();
    }
    let le32 = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
    };
    let declared = match format {
        // The RIFF chunk's size counts every byte after its 8-byte header.
        Format::Webp => le32(4).map(|n| n.saturating_add(8)),
        // The file size in the BMP header (0 in some writers: not a claim).
        Format::Bmp => le32(2).filter(|&n| n > 0),
        _ => None,
    };
    // The TIFF decoder keeps only the text of its read error: std's message
    // for a `read_exact` past the end.
    past_end |= e.to_string().contains("failed to fill whole buffer");
    if past_end || declared.is_some_and(|n| n > bytes.len()) {
        Problem::Truncated(format!("the data ends early ({e})"))
    } else {
        Problem::Corrupt(e.to_string())
    }
}

/// RGB of CMYK pixels as Adobe stores them and libjpeg returns them: inverted,
/// 255 meaning no ink.
fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    cmyk.chunks_exact(4)
        .flat_map(|p| {
            let k = u16::from(p[3]);
            [0, 1, 2].map(|i| (u16::from(p[i]) * k / 255) as u8)
        })
        .collect()
}

/// BT.601 luma of one RGB pixel, rounded: `(299 R + 587 G + 114 B + 500) / 1000`.
fn luma_of(p: &[u8]) -> u8 {
    let v = 299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2]);
    ((v + 500) / 1000) as u8
}

/// BT.601 luma of interleaved RGB ([`luma_of`] for every pixel).
///
/// Sixteen pixels at a time, so the compiler turns the stride-3 loads into
/// shuffles and the arithmetic into vector code (about twice as fast as one
/// pixel at a time); the result is the same, pixel for pixel.
fn luma(rgb: &[u8]) -> Vec<u8> {
    const LANES: usize = 16;
    let mut out = vec![0u8; rgb.len() / 3];
    let (outs, out_rest) = out.as_chunks_mut::<LANES>();
    let (pixels, rest) = rgb.as_chunks::<{ 3 * LANES }>();
    for (o, p) in outs.iter_mut().zip(pixels) {
        for (j, o) in o.iter_mut().enumerate() {
            *o = luma_of(&p[3 * j..3 * j + 3]);
        }
    }
    for (o, p) in out_rest.iter_mut().zip(rest.chunks_exact(3)) {
        *o = luma_of(p);
    }
    out
}

/// Averages `k × k` blocks of interleaved RGB (partial edge blocks dropped).
fn box_reduce(rgb: &[u8], w: usize, h: usize, k: usize) -> (usize, usize, Vec<u8>) {
    if k == 1 {
        return (w, h, rgb.to_vec());
    }
    let mut reducer = png::RowReducer::new(w, k);
    let mut out = Vec::with_capacity((w / k) * (h / k) * 3);
    for row in rgb.chunks_exact(w * 3).take(h / k * k) {
        reducer.push(row, &mut out);
    }
    (w / k, h / k, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luma_is_the_rounded_bt601_sum_for_every_pixel() {
        // Lengths around the 16-pixel blocks, and every level in each channel.
        for n in [0, 1, 15, 16, 17, 33, 256] {
            let rgb: Vec<u8> = (0..3 * n)
                .map(|i| ((i * 97 + i / 3 * 31) % 256) as u8)
                .collect();
            let want: Vec<u8> = rgb
                .chunks_exact(3)
                .map(|p| {
                    let v = 299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2]);
                    ((v + 500) / 1000) as u8
                })
                .collect();
            assert_eq!(luma(&rgb), want, "{n} pixels");
        }
        assert_eq!(luma(&[255, 255, 255, 0, 0, 0, 255, 0, 0]), [255, 0, 76]);
    }

    #[test]
    fn a_cut_bmp_tiff_or_webp_is_truncated_not_corrupt() {
        let img =
            image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 99]));
        for format in [Format::Bmp, Format::Tiff, Format::Webp] {
            let mut bytes = Vec::new();
            let mut cursor = std::io::Cursor::new(&mut bytes);
            match format {
                Format::Webp => img.write_with_encoder(
                    image::codecs::webp::WebPEncoder::new_lossless(&mut cursor),
                ),
                other => img.write_to(&mut cursor, other.to_image()),
            }
            .unwrap();
            let whole = decode(&bytes, format, Request::Full, &Limits::default());
            assert!(whole.is_ok(), "{format:?}: {whole:?}");
            let cut = &bytes[..bytes.len() * 2 / 3];
            let problem = decode(cut, format, Request::Full, &Limits::default()).unwrap_err();
            assert!(
                matches!(&problem, Problem::Truncated(m) if m.starts_with("the data ends early")),
                "{format:?}: {problem:?}"
            );
        }
        // Damage that is not a cut stays corrupt.
        let mut bytes = Vec::new();
        img.write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Bmp,
        )
        .unwrap();
        bytes[14..18].copy_from_slice(&7u32.to_le_bytes());
        let problem = decode(&bytes, Format::Bmp, Request::Full, &Limits::default()).unwrap_err();
        assert!(matches!(problem, Problem::Corrupt(_)), "{problem:?}");
    }

    #[test]
    fn sniffs_magic_not_extension() {
        assert_eq!(Format::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(Format::Jpeg));
        assert_eq!(Format::sniff(b"\x89PNG\r\n"), Some(Format::Png));
        assert_eq!(Format::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Format::Webp));
        assert_eq!(Format::sniff(b"II*\0"), Some(Format::Tiff));
        assert_eq!(Format::sniff(b"GIF89a"), None);
        assert!(Format::Jpeg.matches_extension(Path::new("IMG_0001.JPG")));
        assert!(!Format::Png.matches_extension(Path::new("a.jpg")));
    }

    #[test]
    fn a_header_over_the_limit_is_refused_from_a_prefix() {
        let limits = Limits {
            max_pixels: 1_000_000,
        };
        let png_header = |w, h| {
            let mut out = Vec::new();
            let mut enc = ::png::Encoder::new(&mut out, w, h);
            enc.set_color(::png::ColorType::Rgb);
            let writer = enc.write_header().unwrap();
            drop(writer);
            out[..33].to_vec()
        };
        let refused = refused_by_header(&png_header(2000, 2000), &limits);
        assert!(
            matches!(refused, Some(Problem::TooLarge { width: 2000, .. })),
            "{refused:?}"
        );
        assert_eq!(refused_by_header(&png_header(1000, 1000), &limits), None);

        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new(&mut jpeg)
            .encode(&[128; 16 * 16 * 3], 16, 16, image::ExtendedColorType::Rgb8)
            .unwrap();
        let sof = jpeg.windows(2).position(|m| m == [0xFF, 0xC0]).unwrap();
        // A prefix that stops inside the scan: within the limit, the full
        // decode decides.
        assert_eq!(refused_by_header(&jpeg[..sof + 40], &limits), None);
        jpeg[sof + 5..sof + 7].copy_from_slice(&3000u16.to_be_bytes());
        jpeg[sof + 7..sof + 9].copy_from_slice(&3000u16.to_be_bytes());
        assert!(matches!(
            refused_by_header(&jpeg[..sof + 40], &limits),
            Some(Problem::TooLarge { height: 3000, .. })
        ));
        assert_eq!(refused_by_header(b"not an image", &limits), None);
    }

    #[test]
    fn box_reduce_averages_blocks() {
        let rgb = [0, 0, 0, 10, 10, 10, 20, 20, 20, 30, 30, 30].repeat(2);
        let (w, h, out) = box_reduce(&rgb, 4, 2, 2);
        assert_eq!((w, h), (2, 1));
        assert_eq!(out, [5, 5, 5, 25, 25, 25]);
    }

    #[test]
    fn thumbnail_of_uniform_is_uniform() {
        let header = Header {
            width: 100,
            height: 50,
        };
        let r = Raster::new(
            header,
            100,
            50,
            Pixels::Grey(vec![77; 5000]),
            image::metadata::Orientation::NoTransforms,
        );
        assert!(r.thumbnail(32).iter().all(|&v| v == 77));
    }
}
