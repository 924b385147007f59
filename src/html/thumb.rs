//! Thumbnails: each shown image decoded through [`crate::decode`] (JPEGs at a
//! reduced DCT scale, others box-averaged close to the size), shrunk to
//! [`THUMB_LONG_SIDE`] on its long side and re-encoded as a base64 JPEG data URI.
//! An unreadable file yields no thumbnail; the page then draws a placeholder.

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use image::{DynamicImage, GrayImage, RgbImage};
use rayon::prelude::*;

use super::HtmlImage;
use crate::decode::{self, Format, Limits, Request};

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

/// Thumbnails of `images[i]` for every `i` in `shown`, read in order (objects
/// in a store fetched ahead, many at a time) and decoded in parallel. Images
/// that cannot be read or decoded are absent from the map.
pub(super) fn thumbnails(
    images: &[HtmlImage],
    shown: &[usize],
    limits: &Limits,
) -> BTreeMap<usize, Thumb> {
    let (which, paths): (Vec<usize>, Vec<PathBuf>) = shown
        .iter()
        .filter_map(|&i| Some((i, images.get(i)?.path.clone())))
        .unzip();
    crate::source::read_all(paths, limits.max_file_bytes())
        .zip(which)
        .par_bridge()
        .filter_map(|((_, bytes), i)| Some((i, thumbnail(&bytes.ok()?, limits)?)))
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}

/// The thumbnail of the image file `bytes`, or `None` when they do not decode.
pub(super) fn thumbnail(bytes: &[u8], limits: &Limits) -> Option<Thumb> {
    let format = Format::sniff(bytes)?;
    let request = Request::LongSide(THUMB_LONG_SIDE);
    let raster = decode::decode(bytes, format, request, limits).ok()?;
    let (w, h) = (raster.width as u32, raster.height as u32);
    if w == 0 || h == 0 {
        return None;
    }
    let rgb = match raster.rgb {
        Some(rgb) => RgbImage::from_raw(w, h, rgb)?,
        None => DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, raster.grey)?).into_rgb8(),
    };
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
        uri: format!("data:image/jpeg;base64,{}", STANDARD.encode(&jpeg)),
    })
}
