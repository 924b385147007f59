//! The continuous similarity that decides near duplicates.
//!
//! A [`Signature`] is the low-frequency 6×6 block of the orthonormal 2-D DCT-II
//! of an image's 32×32 grey thumbnail, without the DC term (35 values), each
//! coefficient weighted by its frequency `√(u² + v²)` and the vector scaled to
//! unit length. The cosine `ρ` of two signatures is, in effect, the correlation
//! of the two images' gradients after a blur: it ignores brightness and contrast
//! and gives little weight to smooth glows (backlight, haze) that make distinct
//! scenes look alike in plain pixel correlation.
//!
//! [`similarity`] reports `(1 + ρ) / 2`, in [0, 1]. On the bench pool this puts
//! consecutive frames of one burst at p1 0.985 / p5 0.997 and the most alike
//! pair of different scenes among pHash candidates at 0.92, so the default 0.98
//! removes bursts (1.7–2.0 % of duplicate groups leak on medium pools of seeds
//! 0–3) without merging scenes.

use std::sync::{Arc, LazyLock};

use serde::{Deserialize, Serialize};

use super::THUMB_SIDE;

/// Side of the low-frequency block kept.
const BAND: usize = 6;

/// Rows of the orthonormal DCT-II basis, `BAND × THUMB_SIDE`.
static BASIS: LazyLock<Vec<f32>> = LazyLock::new(|| {
    let n = THUMB_SIDE as f64;
    let mut m = vec![0f32; BAND * THUMB_SIDE];
    for u in 0..BAND {
        let scale = if u == 0 {
            (1.0 / n).sqrt()
        } else {
            (2.0 / n).sqrt()
        };
        for x in 0..THUMB_SIDE {
            let angle = std::f64::consts::PI * (2.0 * x as f64 + 1.0) * u as f64 / (2.0 * n);
            m[u * THUMB_SIDE + x] = (scale * angle.cos()) as f32;
        }
    }
    m
});

/// A unit-length vector of frequency-weighted low-band DCT coefficients
/// (35 values, 140 bytes; cached with the other features). Clones share the
/// values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Signature(
    #[serde(deserialize_with = "super::shared::<_, _, { Signature::LEN }>")] Arc<[f32]>,
);

impl Signature {
    /// The signature of a `THUMB_SIDE²` grey thumbnail.
    pub(crate) fn new(thumb: &[u8]) -> Self {
        let s = THUMB_SIDE;
        debug_assert_eq!(thumb.len(), s * s);
        let basis = &*BASIS;
        // rows: BAND × s = basis · thumbᵀ over x, for each row y
        let mut tmp = vec![0f32; BAND * s];
        for y in 0..s {
            let row = &thumb[y * s..(y + 1) * s];
            for u in 0..BAND {
                let b = &basis[u * s..(u + 1) * s];
                tmp[u * s + y] = b.iter().zip(row).map(|(c, &p)| c * f32::from(p)).sum();
            }
        }
        let mut coeffs = Vec::with_capacity(BAND * BAND - 1);
        for v in 0..BAND {
            let b = &basis[v * s..(v + 1) * s];
            for u in 0..BAND {
                if u == 0 && v == 0 {
                    continue;
                }
                let col = &tmp[u * s..(u + 1) * s];
                let c: f32 = b.iter().zip(col).map(|(c, t)| c * t).sum();
                coeffs.push(c * ((u * u + v * v) as f32).sqrt());
            }
        }
        let norm = coeffs.iter().map(|c| c * c).sum::<f32>().sqrt();
        if norm > 1e-3 {
            coeffs.iter_mut().for_each(|c| *c /= norm);
        } else {
            coeffs.iter_mut().for_each(|c| *c = 0.0);
        }
        Signature(coeffs.into())
    }

    /// Number of values in a signature.
    pub(crate) const LEN: usize = BAND * BAND - 1;

    /// The signature's values, in the order [`Signature::from_values`] takes.
    #[cfg(feature = "parquet")]
    pub(crate) fn values(&self) -> &[f32] {
        &self.0
    }

    /// A signature stored elsewhere (the feature index), from its values;
    /// `None` when there are not [`Signature::LEN`] of them.
    #[cfg(feature = "parquet")]
    pub(crate) fn from_values(values: Vec<f32>) -> Option<Self> {
        (values.len() == Self::LEN).then(|| Signature(values.into()))
    }

    /// Whether the image has no structure at all (a flat frame).
    pub(crate) fn is_flat(&self) -> bool {
        self.0.iter().all(|&c| c == 0.0)
    }
}

/// Similarity of two images in [0, 1]: `(1 + ρ) / 2`. Two flat frames are
/// identical (1); a flat frame and a structured one score 0.5.
pub(crate) fn similarity(a: &Signature, b: &Signature) -> f32 {
    similarity_of((&a.0, a.is_flat()), (&b.0, b.is_flat()))
}

/// [`similarity`] of two signatures' values, each with whether it is flat.
fn similarity_of(a: (&[f32], bool), b: (&[f32], bool)) -> f32 {
    if a.1 && b.1 {
        return 1.0;
    }
    let rho = a.0.iter().zip(b.0).map(|(x, y)| x * y).sum::<f32>();
    ((1.0 + rho) / 2.0).clamp(0.0, 1.0)
}

/// Many signatures side by side in one buffer, for the near-duplicate pass that
/// compares each image with dozens of candidates: reading a [`Signature`]
/// follows a pointer to its own allocation, and with hundreds of thousands of
/// pairs those two cache misses per read cost more than the dot product. Gives
/// exactly what [`similarity`] gives.
#[derive(Debug, Clone, Default)]
pub(crate) struct Signatures {
    /// [`Signature::LEN`] values per signature (a shorter one padded with
    /// zeros, which leaves every dot product as it was).
    values: Vec<f32>,
    /// Whether each signature is flat.
    flat: Vec<bool>,
}

impl Signatures {
    /// The signatures, in order; known afterwards by their position.
    pub(crate) fn new<'a>(signatures: impl IntoIterator<Item = &'a Signature>) -> Self {
        let mut packed = Signatures::default();
        for s in signatures {
            let len = s.0.len().min(Signature::LEN);
            packed.values.extend_from_slice(&s.0[..len]);
            packed
                .values
                .extend(std::iter::repeat_n(0.0, Signature::LEN - len));
            packed.flat.push(s.is_flat());
        }
        packed
    }

    /// [`similarity`] of the signatures at positions `i` and `j`.
    pub(crate) fn similarity(&self, i: usize, j: usize) -> f32 {
        let at = |k: usize| {
            (
                &self.values[k * Signature::LEN..(k + 1) * Signature::LEN],
                self.flat[k],
            )
        };
        similarity_of(at(i), at(j))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thumb(f: impl Fn(usize, usize) -> f32) -> Vec<u8> {
        (0..THUMB_SIDE * THUMB_SIDE)
            .map(|i| f(i % THUMB_SIDE, i / THUMB_SIDE).clamp(0.0, 255.0) as u8)
            .collect()
    }

    #[test]
    fn packed_signatures_give_what_similarity_gives() {
        let sigs: Vec<Signature> = (0..6)
            .map(|k| Signature::new(&thumb(|x, y| ((x * (k + 1) + y * 3) % 40) as f32 * 4.0)))
            .chain([Signature::new(&thumb(|_, _| 90.0))])
            .chain([Signature::new(&thumb(|_, _| 10.0))])
            .chain([Signature(vec![0.6, 0.8].into())])
            .collect();
        let packed = Signatures::new(&sigs);
        for i in 0..sigs.len() {
            for j in 0..sigs.len() {
                let want = similarity(&sigs[i], &sigs[j]);
                assert_eq!(packed.similarity(i, j).to_bits(), want.to_bits(), "{i} {j}");
            }
        }
        assert_eq!(packed.similarity(6, 7), 1.0, "two flat frames");
    }

    #[test]
    fn invariant_to_brightness_and_contrast() {
        let base = thumb(|x, y| ((x * 7 + y * 3) % 50) as f32 * 3.0 + 40.0);
        let brighter = thumb(|x, y| ((x * 7 + y * 3) % 50) as f32 * 3.3 + 50.0);
        let s = similarity(&Signature::new(&base), &Signature::new(&brighter));
        assert!(s > 0.995, "{s}");
    }

    #[test]
    fn distinct_content_is_dissimilar() {
        let a = thumb(|x, _| if x < 16 { 30.0 } else { 220.0 });
        let b = thumb(|_, y| if y < 16 { 30.0 } else { 220.0 });
        let s = similarity(&Signature::new(&a), &Signature::new(&b));
        assert!(s < 0.6, "{s}");
        let flat = thumb(|_, _| 90.0);
        assert!(Signature::new(&flat).is_flat());
        assert_eq!(
            similarity(&Signature::new(&flat), &Signature::new(&flat)),
            1.0
        );
        assert!((similarity(&Signature::new(&flat), &Signature::new(&a)) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn a_small_shift_stays_similar() {
        let blob = |cx: f32| {
            thumb(move |x, y| {
                let d = (x as f32 - cx).powi(2) + (y as f32 - 16.0).powi(2);
                200.0 * (-d / 40.0).exp() + 20.0
            })
        };
        let s1 = similarity(&Signature::new(&blob(10.0)), &Signature::new(&blob(10.5)));
        let s8 = similarity(&Signature::new(&blob(10.0)), &Signature::new(&blob(22.0)));
        assert!(s1 > 0.98 && s8 < 0.8, "{s1} {s8}");
    }
}
