//! Low-bitrate re-saves (`[resave]`): a share of the chosen images written a
//! second time as heavy JPEG (quality 40 by default), so the quantizer also
//! sees the compression artefacts deployment streams carry.
//!
//! Which images: `share` of the chosen images of the listed buckets, rounded,
//! drawn with the recipe's seed (the same seed re-saves the same images, byte
//! for byte). Each is decoded at full resolution (upright) and encoded with
//! the image crate's JPEG encoder at `quality`; it goes beside its original as
//! `NAME.qQQ.jpg`, tagged `jpeg-qQQ`. Re-saves are extra files: they do not
//! count toward the recipe's total, whose numbers stay exact.

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;

use serde::Serialize;

use super::HandoffError;
use crate::decode::{self, Format, Limits, Request};
use crate::export::Placement;
use crate::features::Features;
use crate::label::Bucket;
use crate::rng::SplitMix64;
use crate::select::Selection;

/// `[resave]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResavePlan {
    /// `share`: of the chosen images of `buckets`, 0–1.
    pub share: f64,
    /// `quality`: JPEG quality, 1–100. Default 40.
    pub quality: u8,
    /// `buckets`: where the re-saved images come from. Default all three.
    pub buckets: BTreeSet<Bucket>,
}

impl ResavePlan {
    /// The tag re-saves carry: `jpeg-q40`.
    pub fn tag(&self) -> String {
        format!("jpeg-q{}", self.quality)
    }
}

/// One re-saved image.
#[derive(Debug, Clone)]
pub(crate) struct Resave {
    /// The pick it re-saves (index into `Selection::picks`).
    pub pick: usize,
    /// Its place in the set.
    pub dest: PathBuf,
    /// The JPEG bytes.
    pub bytes: Vec<u8>,
    /// Its features (size, pHash, content hash), measured on the bytes.
    pub features: Features,
}

/// The picks to re-save (indices into `sel.picks`, sorted): `plan.share` of
/// those in `plan.buckets`, rounded, drawn with `seed`.
pub(crate) fn picks(plan: &ResavePlan, sel: &Selection, seed: u64) -> Vec<usize> {
    let mut eligible: Vec<usize> = (0..sel.picks.len())
        .filter(|&k| plan.buckets.contains(&sel.picks[k].bucket))
        .collect();
    let count = ((eligible.len() as f64) * plan.share).round() as usize;
    SplitMix64::new(seed, 0x5245_5341_5645).shuffle(&mut eligible);
    let mut chosen: Vec<usize> = eligible.into_iter().take(count).collect();
    chosen.sort_unstable();
    chosen
}

/// Re-saves the [`picks`] of `plan` (placed at `placements`, in pick order).
pub(crate) fn resaves(
    plan: &ResavePlan,
    sel: &Selection,
    placements: &[Placement],
    seed: u64,
    limits: &Limits,
) -> Result<Vec<Resave>, HandoffError> {
    let chosen = picks(plan, sel, seed);
    let mut taken: HashSet<String> = placements
        .iter()
        .map(|p| p.dest.to_string_lossy().to_lowercase())
        .collect();
    let suffix = format!("q{}", plan.quality);
    chosen
        .into_iter()
        .map(|k| {
            let p = &placements[k];
            let bytes = encode(&p.source, plan.quality, limits)?;
            let features = crate::features::measure(&bytes, std::path::Path::new("x.jpg"), limits)
                .map_err(|e| HandoffError::Resave {
                    path: p.source.clone(),
                    quality: plan.quality,
                    message: e.to_string(),
                })?
                .0;
            let stem = p
                .dest
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let mut n = 1;
            let dest = loop {
                let name = match n {
                    1 => format!("{stem}.{suffix}.jpg"),
                    _ => format!("{stem}.{suffix}~{n}.jpg"),
                };
                let dest = p.dest.with_file_name(name);
                if taken.insert(dest.to_string_lossy().to_lowercase()) {
                    break dest;
                }
                n += 1;
            };
            Ok(Resave {
                pick: k,
                dest,
                bytes,
                features,
            })
        })
        .collect()
}

/// The image at `source`, upright, as a JPEG of `quality`.
fn encode(source: &std::path::Path, quality: u8, limits: &Limits) -> Result<Vec<u8>, HandoffError> {
    let fail = |message: String| HandoffError::Resave {
        path: source.to_owned(),
        quality,
        message,
    };
    let bytes = crate::features::read(source, limits).map_err(|e| fail(e.to_string()))?;
    let format = Format::sniff(&bytes).ok_or_else(|| fail("not an image".into()))?;
    let raster =
        decode::decode(&bytes, format, Request::Full, limits).map_err(|e| fail(e.to_string()))?;
    let (w, h) = (raster.width as u32, raster.height as u32);
    let (pixels, colour) = match &raster.rgb {
        Some(rgb) => (rgb.as_slice(), image::ExtendedColorType::Rgb8),
        None => (raster.grey.as_slice(), image::ExtendedColorType::L8),
    };
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode(pixels, w, h, colour)
        .map_err(|e| fail(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_re_save_reads_back_at_its_quality() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("a.png");
        let img = image::RgbImage::from_fn(96, 64, |x, y| {
            image::Rgb([
                (x * 5 % 256) as u8,
                (y * 9 % 256) as u8,
                ((x * y) % 256) as u8,
            ])
        });
        img.save(&src).unwrap();
        for quality in [40, 75] {
            let bytes = encode(&src, quality, &Limits::default()).unwrap();
            assert_eq!(crate::features::jpeg_quality(&bytes), Some(quality));
        }
    }

    #[test]
    fn a_source_that_is_no_image_is_a_re_save_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("a.jpg");
        std::fs::write(&src, b"not an image").unwrap();
        let e = encode(&src, 40, &Limits::default()).unwrap_err();
        assert!(
            matches!(&e, HandoffError::Resave { path, quality: 40, .. } if *path == src),
            "{e:?}"
        );
        assert!(e.to_string().starts_with("cannot re-save "), "{e}");
    }
}
