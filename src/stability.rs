//! The stability self-check: would the quantizer calibrate the same ranges from
//! either half of the set?
//!
//! The chosen images are split into two halves by a seeded shuffle. For each
//! colour channel the statistics a calibrator reads — min, max, 0.1 % and 99.9 %
//! percentiles, mean and standard deviation — are computed over each half and
//! over the whole de-duplicated pool, from per-image histograms (64 levels per
//! channel) kept in the cache. A difference is expressed as a share of the
//! pool's calibrated range (its 99.9 % minus 0.1 % percentile), so "0.12" means
//! the two halves would put a range bound 12 % of the range apart. The domain
//! notes advise that more than 10–15 % means too few samples or a skewed mix.

use serde::Serialize;

use crate::features::HIST_BINS;
use crate::pool::PoolImage;
use crate::rng::SplitMix64;

/// Default share of the range above which a statistic is flagged.
pub(crate) const DEFAULT_THRESHOLD: f64 = 0.10;

/// One statistic of one channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatRow {
    /// `R`, `G` or `B`.
    pub channel: &'static str,
    /// `min`, `p0.1`, `mean`, `std`, `p99.9`, `max`.
    pub stat: &'static str,
    /// Value over the first half (0–255).
    pub half_a: f64,
    /// Value over the second half.
    pub half_b: f64,
    /// Value over the whole de-duplicated pool.
    pub pool: f64,
    /// |half_a − half_b| as a share of the pool's range.
    pub halves: f64,
    /// Largest |half − pool| as a share of the pool's range.
    pub vs_pool: f64,
}

/// The check's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stability {
    /// Images in each half.
    pub halves: (usize, usize),
    /// The flagging threshold (share of range).
    pub threshold: f64,
    /// Every statistic.
    pub rows: Vec<StatRow>,
    /// Statistics whose halves differ by more than the threshold.
    pub flagged: Vec<String>,
}

/// Merged histogram of `members`, channel `c`.
fn merged(images: &[PoolImage], members: &[usize], c: usize) -> Vec<u64> {
    let mut h = vec![0u64; HIST_BINS];
    for &i in members {
        let hist = &images[i].features.histogram;
        if hist.len() == 3 * HIST_BINS {
            for (b, v) in h.iter_mut().zip(&hist[c * HIST_BINS..(c + 1) * HIST_BINS]) {
                *b += u64::from(*v);
            }
        }
    }
    h
}

/// `[min, p0.1, mean, std, p99.9, max]` of a histogram, in 0–255 levels.
fn stats(h: &[u64]) -> [f64; 6] {
    let width = 256.0 / HIST_BINS as f64;
    let n: u64 = h.iter().sum();
    if n == 0 {
        return [0.0; 6];
    }
    let centre = |b: usize| (b as f64 + 0.5) * width;
    let min = h
        .iter()
        .position(|&v| v > 0)
        .map_or(0.0, |b| b as f64 * width);
    let max = h
        .iter()
        .rposition(|&v| v > 0)
        .map_or(0.0, |b| (b + 1) as f64 * width);
    let mean = h
        .iter()
        .enumerate()
        .map(|(b, &v)| centre(b) * v as f64)
        .sum::<f64>()
        / n as f64;
    let var = h
        .iter()
        .enumerate()
        .map(|(b, &v)| (centre(b) - mean).powi(2) * v as f64)
        .sum::<f64>()
        / n as f64;
    let quantile = |q: f64| {
        let target = q * n as f64;
        let mut seen = 0.0;
        for (b, &v) in h.iter().enumerate() {
            let next = seen + v as f64;
            if next >= target && v > 0 {
                return (b as f64 + (target - seen) / v as f64) * width;
            }
            seen = next;
        }
        max
    };
    [min, quantile(0.001), mean, var.sqrt(), quantile(0.999), max]
}

/// Checks `chosen` (indices into `images`) against itself and `pool`.
pub(crate) fn check(
    images: &[PoolImage],
    chosen: &[usize],
    pool: &[usize],
    seed: u64,
    threshold: f64,
) -> Stability {
    let mut order = chosen.to_vec();
    order.sort_unstable();
    SplitMix64::new(seed, 0x5747_4142).shuffle(&mut order);
    let (a, b) = order.split_at(order.len() / 2);
    const NAMES: [&str; 6] = ["min", "p0.1", "mean", "std", "p99.9", "max"];
    let mut rows = Vec::new();
    let mut flagged = Vec::new();
    for (c, channel) in ["R", "G", "B"].into_iter().enumerate() {
        let (sa, sb, sp) = (
            stats(&merged(images, a, c)),
            stats(&merged(images, b, c)),
            stats(&merged(images, pool, c)),
        );
        let range = (sp[4] - sp[1]).max(1.0);
        for (k, stat) in NAMES.into_iter().enumerate() {
            let row = StatRow {
                channel,
                stat,
                half_a: sa[k],
                half_b: sb[k],
                pool: sp[k],
                halves: (sa[k] - sb[k]).abs() / range,
                vs_pool: (sa[k] - sp[k]).abs().max((sb[k] - sp[k]).abs()) / range,
            };
            if row.halves > threshold {
                flagged.push(format!(
                    "{channel} {stat}: halves differ by {:.0}% of the range",
                    row.halves * 100.0
                ));
            }
            rows.push(row);
        }
    }
    Stability {
        halves: (a.len(), b.len()),
        threshold,
        rows,
        flagged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::Bucket;
    use crate::pool::fake::{blob, image};

    fn with_level(level: u8, n: usize) -> Vec<PoolImage> {
        (0..n)
            .map(|k| {
                let mut i = image(
                    &format!("{level}/{k}.jpg"),
                    Bucket::Normal,
                    &[],
                    None,
                    blob(5.0, 5.0, 1.0),
                );
                let mut h = vec![0u16; 3 * HIST_BINS];
                for c in 0..3 {
                    h[c * HIST_BINS + usize::from(level) * HIST_BINS / 256] = 100;
                    h[c * HIST_BINS + HIST_BINS - 1 - usize::from(level) * HIST_BINS / 512] = 100;
                }
                i.features.histogram = h.into();
                i
            })
            .collect()
    }

    #[test]
    fn statistics_of_a_histogram() {
        let mut h = vec![0u64; HIST_BINS];
        h[0] = 500;
        h[HIST_BINS - 1] = 500;
        let [min, p01, mean, std, p999, max] = stats(&h);
        assert_eq!((min, max), (0.0, 256.0));
        assert!(p01 < 4.0 && p999 > 252.0, "{p01} {p999}");
        assert!(
            (mean - 128.0).abs() < 1e-9 && (std - 126.0).abs() < 1e-9,
            "{mean} {std}"
        );
    }

    #[test]
    fn a_uniform_set_is_stable_and_a_split_one_is_flagged() {
        let images = with_level(40, 20);
        let all: Vec<usize> = (0..20).collect();
        let s = check(&images, &all, &all, 7, DEFAULT_THRESHOLD);
        assert_eq!(s.halves, (10, 10));
        assert!(s.flagged.is_empty(), "{:?}", s.flagged);
        assert_eq!(s.rows.len(), 18);

        // Half the images dark, half bright: whichever way they split, some bound moves.
        let mut images = with_level(8, 2);
        images.extend(with_level(200, 2));
        let all: Vec<usize> = (0..4).collect();
        let flagged = (0..10u64)
            .filter(|&seed| {
                !check(&images, &all, &all, seed, DEFAULT_THRESHOLD)
                    .flagged
                    .is_empty()
            })
            .count();
        assert!(flagged > 0);
    }
}
