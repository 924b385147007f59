//! Thumbnails: each shown image decoded (JPEGs at a reduced DCT scale), shrunk to
//! [`THUMB_LONG_SIDE`] on its long side and re-encoded as a base64 JPEG data URI.
//! An unreadable file yields no thumbnail; the page then draws a placeholder.

use std::collections::BTreeMap;
use std::path::Path;

use image::{DynamicImage, GrayImage, RgbImage};
use rayon::prelude::*;

use super::HtmlImage;
use super::encode::base64;

/// Long side of a thumbnail, in pixels.
pub(super) const THUMB_LONG_SIDE: u32 = 120;

/// JPEG quality of the embedded thumbnails.
const THUMB_QUALITY: u8 = 75;

/// One embedded thumbnail.
#[derive(Debug, Clone)]
pub(super) struct Thumb {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `data:image/jpeg;base64,…`
    pub uri: String,
}

/// Thumbnails of `images[i]` for every `i` in `shown`, decoded in parallel.
/// Images that cannot be read or decoded are absent from the map.
pub(super) fn thumbnails(images: &[HtmlImage], shown: &[usize]) -> BTreeMap<usize, Thumb> {
    shown
        .par_iter()
        .filter_map(|&i| {
            images
                .get(i)
                .and_then(|img| thumbnail(&img.path))
                .map(|t| (i, t))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}

/// The thumbnail of the image at `path`, or `None` when it cannot be read.
pub(super) fn thumbnail(path: &Path) -> Option<Thumb> {
    let bytes = std::fs::read(path).ok()?;
    let img = decode_jpeg_scaled(&bytes).or_else(|| image::load_from_memory(&bytes).ok())?;
    let (w, h) = (img.width(), img.height());
    if w == 0 || h == 0 {
        return None;
    }
    let long = w.max(h);
    let (tw, th) = if long <= THUMB_LONG_SIDE {
        (w, h)
    } else {
        let s = |v: u32| {
            ((u64::from(v) * u64::from(THUMB_LONG_SIDE) + u64::from(long) / 2) / u64::from(long))
                .max(1) as u32
        };
        (s(w), s(h))
    };
    let rgb = img.into_rgb8();
    let small = if (tw, th) == (w, h) {
        rgb
    } else {
        image::imageops::thumbnail(&rgb, tw, th)
    };
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, THUMB_QUALITY)
        .encode_image(&small)
        .ok()?;
    Some(Thumb {
        width: tw,
        height: th,
        uri: format!("data:image/jpeg;base64,{}", base64(&jpeg)),
    })
}

/// Decodes a JPEG at the smallest DCT scale (1/8 … 1/1) that still covers the
/// thumbnail size; `None` for anything that is not a JPEG jpeg-decoder can read.
fn decode_jpeg_scaled(bytes: &[u8]) -> Option<DynamicImage> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut d = jpeg_decoder::Decoder::new(bytes);
    d.read_info().ok()?;
    let info = d.info()?;
    let (fw, fh) = (u32::from(info.width), u32::from(info.height));
    let long = fw.max(fh);
    if long == 0 {
        return None;
    }
    let req = |v: u32| {
        (v * THUMB_LONG_SIDE)
            .div_ceil(long)
            .clamp(1, u32::from(u16::MAX)) as u16
    };
    let (w, h) = d.scale(req(fw), req(fh)).ok()?;
    let pixels = d.decode().ok()?;
    let (w, h) = (u32::from(w), u32::from(h));
    match d.info()?.pixel_format {
        jpeg_decoder::PixelFormat::L8 => {
            GrayImage::from_raw(w, h, pixels).map(DynamicImage::ImageLuma8)
        }
        jpeg_decoder::PixelFormat::L16 => {
            let grey = pixels.chunks_exact(2).map(|p| p[0]).collect();
            GrayImage::from_raw(w, h, grey).map(DynamicImage::ImageLuma8)
        }
        jpeg_decoder::PixelFormat::RGB24 => {
            RgbImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgb8)
        }
        jpeg_decoder::PixelFormat::CMYK32 => {
            let rgb = pixels
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = 255 - u16::from(p[3]);
                    [0, 1, 2].map(|i| ((255 - u16::from(p[i])) * k / 255) as u8)
                })
                .collect();
            RgbImage::from_raw(w, h, rgb).map(DynamicImage::ImageRgb8)
        }
    }
}
