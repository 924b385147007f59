//! Decoding to a small analysis raster: grey plus RGB, at reduced scale.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// An image format, as found in the file's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
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
    pub fn sniff(bytes: &[u8]) -> Option<Format> {
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
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Bmp => "bmp",
            Format::Webp => "webp",
            Format::Tiff => "tiff",
        }
    }

    /// Whether `path`'s extension is one this format is saved under.
    pub fn matches_extension(self, path: &Path) -> bool {
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

/// A reduced image: grey and RGB planes of `width × height`.
#[derive(Debug, Clone)]
pub struct Raster {
    /// Width of the original image.
    pub full_width: u32,
    /// Height of the original image.
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
    /// Area-averages the grey plane to `side × side`.
    pub fn thumbnail(&self, side: usize) -> Vec<u8> {
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

/// Decodes `bytes` to a raster whose short side is at least `short_side`
/// (or the full image, when it is smaller).
pub fn decode(bytes: &[u8], format: Format, short_side: u32) -> Result<Raster, String> {
    match format {
        Format::Jpeg => decode_jpeg(bytes, short_side),
        other => decode_other(bytes, other, short_side),
    }
}

fn decode_jpeg(bytes: &[u8], short_side: u32) -> Result<Raster, String> {
    let mut d = jpeg_decoder::Decoder::new(bytes);
    d.read_info().map_err(|e| e.to_string())?;
    let info = d.info().ok_or("no frame header")?;
    let (fw, fh) = (u32::from(info.width), u32::from(info.height));
    if fw == 0 || fh == 0 {
        return Err("zero-sized image".into());
    }
    let short = fw.min(fh).max(1);
    let req = |v: u32| (v * short_side).div_ceil(short).min(u32::from(u16::MAX)) as u16;
    let (w, h) = d.scale(req(fw), req(fh)).map_err(|e| e.to_string())?;
    let pixels = d.decode().map_err(|e| e.to_string())?;
    let info = d.info().ok_or("no frame header")?;
    let (w, h) = (usize::from(w), usize::from(h));
    let n = w * h;
    let (grey, rgb) = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => (pixels, None),
        jpeg_decoder::PixelFormat::L16 => (pixels.chunks_exact(2).map(|p| p[0]).collect(), None),
        jpeg_decoder::PixelFormat::RGB24 => (luma(&pixels), Some(pixels)),
        jpeg_decoder::PixelFormat::CMYK32 => {
            let rgb: Vec<u8> = pixels
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = 255 - u16::from(p[3]);
                    [0, 1, 2].map(|i| ((255 - u16::from(p[i])) * k / 255) as u8)
                })
                .collect();
            (luma(&rgb), Some(rgb))
        }
    };
    if grey.len() < n || rgb.as_ref().is_some_and(|c| c.len() < n * 3) {
        return Err("short pixel buffer".into());
    }
    Ok(raster(fw, fh, w, h, grey, rgb))
}

fn decode_other(bytes: &[u8], format: Format, short_side: u32) -> Result<Raster, String> {
    let img =
        image::load_from_memory_with_format(bytes, format.to_image()).map_err(|e| e.to_string())?;
    let (fw, fh) = (img.width(), img.height());
    if fw == 0 || fh == 0 {
        return Err("zero-sized image".into());
    }
    let rgb = img.into_rgb8();
    let k = (fw.min(fh) / short_side).max(1) as usize;
    let (w, h, rgb) = box_reduce(rgb.as_raw(), fw as usize, fh as usize, k);
    let grey = luma(&rgb);
    Ok(raster(fw, fh, w, h, grey, Some(rgb)))
}

fn raster(fw: u32, fh: u32, w: usize, h: usize, grey: Vec<u8>, rgb: Option<Vec<u8>>) -> Raster {
    Raster {
        full_width: fw,
        full_height: fh,
        width: w,
        height: h,
        grey,
        rgb,
    }
}

/// BT.601 luma of interleaved RGB.
fn luma(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3)
        .map(|p| {
            let v = 299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2]);
            ((v + 500) / 1000) as u8
        })
        .collect()
}

/// Averages `k × k` blocks of interleaved RGB (partial edge blocks dropped).
fn box_reduce(rgb: &[u8], w: usize, h: usize, k: usize) -> (usize, usize, Vec<u8>) {
    if k == 1 {
        return (w, h, rgb.to_vec());
    }
    let (ow, oh) = (w / k, h / k);
    let mut out = vec![0u8; ow * oh * 3];
    let mut acc = vec![0u32; ow * 3];
    for oy in 0..oh {
        acc.iter_mut().for_each(|a| *a = 0);
        for y in oy * k..(oy + 1) * k {
            let row = &rgb[y * w * 3..(y * w + ow * k) * 3];
            for (x, px) in row.chunks_exact(3).enumerate() {
                let o = (x / k) * 3;
                acc[o] += u32::from(px[0]);
                acc[o + 1] += u32::from(px[1]);
                acc[o + 2] += u32::from(px[2]);
            }
        }
        let n = (k * k) as u32;
        for (o, a) in out[oy * ow * 3..(oy + 1) * ow * 3].iter_mut().zip(&acc) {
            *o = ((a + n / 2) / n) as u8;
        }
    }
    (ow, oh, out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn box_reduce_averages_blocks() {
        let rgb = [0, 0, 0, 10, 10, 10, 20, 20, 20, 30, 30, 30].repeat(2);
        let (w, h, out) = box_reduce(&rgb, 4, 2, 2);
        assert_eq!((w, h), (2, 1));
        assert_eq!(out, [5, 5, 5, 25, 25, 25]);
    }

    #[test]
    fn thumbnail_of_uniform_is_uniform() {
        let r = raster(100, 50, 100, 50, vec![77; 5000], None);
        assert!(r.thumbnail(32).iter().all(|&v| v == 77));
    }
}
