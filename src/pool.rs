//! The pool: every usable image with its labels and features, in path order.

use crate::features::Features;
use crate::label::Labels;
use crate::source::FileEntry;

/// One usable image.
#[derive(Debug, Clone)]
pub(crate) struct PoolImage {
    /// Where it is.
    pub file: FileEntry,
    /// Bucket, tags, camera.
    pub labels: Labels,
    /// What is in it.
    pub features: Features,
}

impl PoolImage {
    /// The folder holding the image: frames of one sequence share it.
    pub(crate) fn folder(&self) -> &std::path::Path {
        self.file.path.parent().unwrap_or(std::path::Path::new(""))
    }
}

#[cfg(test)]
pub(crate) mod fake {
    //! Pool images for unit tests, without files.
    use super::*;
    use crate::features::{Format, Quality};
    use crate::label::{Bucket, Origin};

    /// An image at `rel` with the given labels and thumbnail.
    pub(crate) fn image(
        rel: &str,
        bucket: Bucket,
        tags: &[&str],
        camera: Option<&str>,
        thumb: Vec<u8>,
    ) -> PoolImage {
        let content_hash = *blake3::hash(&thumb).as_bytes();
        let sig = image_hasher_free_phash(&thumb);
        PoolImage {
            file: FileEntry {
                path: std::path::Path::new("/pool").join(rel),
                rel: rel.to_owned(),
                version: crate::source::Version::default(),
                frame_of: None,
            },
            labels: Labels {
                bucket: Some(bucket),
                tags: tags.iter().map(|t| t.to_string()).collect(),
                camera: camera.map(str::to_owned),
                origin: Origin::Manifest,
                ..Labels::empty()
            },
            features: Features {
                format: Format::Jpeg,
                width: 64,
                height: 48,
                content_hash,
                phash: crate::features::PHash(sig),
                signature: crate::features::Signature::new(&thumb),
                quality: Quality::default(),
                histogram: vec![0; 3 * crate::features::HIST_BINS].into(),
            },
        }
    }

    /// A cheap stand-in hash: the thumbnail's 8×8 block means against their median.
    fn image_hasher_free_phash(thumb: &[u8]) -> u64 {
        let side = crate::features::THUMB_SIDE;
        let mut means = Vec::with_capacity(64);
        for by in 0..8 {
            for bx in 0..8 {
                let mut s = 0u32;
                for y in by * side / 8..(by + 1) * side / 8 {
                    for x in bx * side / 8..(bx + 1) * side / 8 {
                        s += u32::from(thumb[y * side + x]);
                    }
                }
                means.push(s);
            }
        }
        let mut sorted = means.clone();
        sorted.sort_unstable();
        let median = sorted[32];
        means
            .iter()
            .enumerate()
            .fold(0u64, |h, (i, &m)| if m > median { h | 1 << i } else { h })
    }

    /// A 32×32 thumbnail with a soft blob at (`cx`, `cy`) over a gradient.
    pub(crate) fn blob(cx: f32, cy: f32, gain: f32) -> Vec<u8> {
        let side = crate::features::THUMB_SIDE;
        (0..side * side)
            .map(|i| {
                let (x, y) = ((i % side) as f32, (i / side) as f32);
                let d = (x - cx).powi(2) + (y - cy).powi(2);
                let v = 30.0 + 2.0 * y + 180.0 * (-d / 30.0).exp();
                (v * gain).clamp(0.0, 255.0) as u8
            })
            .collect()
    }
}
