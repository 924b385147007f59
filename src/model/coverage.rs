//! Does the set cover what the deployment pool makes the model do? The same
//! statistics over a seeded sample of the distinct pool, stratified by
//! bucket; per tensor the set's range against the pool's 99.99th
//! percentile: where the pool goes beyond the set, the set's ranges would
//! clip it, and the sample's images beyond the set's range say which buckets
//! and tags those activations come from.

use std::collections::BTreeMap;

use serde::Serialize;

use super::analysis::TensorStats;
use super::probe::{Probe, ProbeImage};
use crate::label::Bucket;
use crate::rng::SplitMix64;

/// The pool percentile the set's ranges are held against.
pub(super) const POOL_PERCENTILE: f64 = 99.99;

/// One tensor the set's range would clip.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Clipped {
    /// Tensor name.
    pub tensor: String,
    /// Its op.
    pub op: String,
    /// The set's range (the method's).
    pub set_range: [f32; 2],
    /// The pool sample's 99.99th-percentile range.
    pub pool_range: [f32; 2],
    /// How far the pool's range reaches beyond the set's, as a share of the
    /// set's int8 span.
    pub excess: f64,
    /// Sample images with values beyond the set's range, by bucket and by
    /// tag (`bucket:hard`, `tag:night`), most first.
    pub from: Vec<(String, usize)>,
}

/// The coverage check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    /// Pool images probed, per bucket.
    pub sample: BTreeMap<String, usize>,
    /// Tensors compared (those kept float aside).
    pub tensors: usize,
    /// Tensors whose pool 99.99th percentile lies beyond the set's range.
    pub clipped: usize,
    /// The worst of them, most excess first (up to 10).
    pub worst: Vec<Clipped>,
}

/// A seeded sample of up to `n` of `candidates`, stratified by bucket (each
/// bucket's share of the candidates, by largest remainder), in path order.
pub(super) fn sample(candidates: Vec<ProbeImage>, n: usize, seed: u64) -> Vec<ProbeImage> {
    if candidates.len() <= n {
        return candidates;
    }
    let keys = [
        Some(Bucket::Normal),
        Some(Bucket::Hard),
        Some(Bucket::Background),
        None,
    ];
    let mut groups: Vec<Vec<ProbeImage>> = keys
        .iter()
        .map(|k| {
            candidates
                .iter()
                .filter(|c| c.bucket == *k)
                .cloned()
                .collect()
        })
        .collect();
    let total = candidates.len();
    let exact: Vec<f64> = groups
        .iter()
        .map(|g| g.len() as f64 * n as f64 / total as f64)
        .collect();
    let mut take: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    for &k in order.iter().take(n - take.iter().sum::<usize>()) {
        take[k] += 1;
    }
    let mut chosen = Vec::with_capacity(n);
    for (k, group) in groups.iter_mut().enumerate() {
        group.sort_by(|a, b| a.name.cmp(&b.name));
        SplitMix64::new(seed, 0x434f_5645 + k as u64).shuffle(group);
        chosen.extend(group.drain(..take[k].min(group.len())));
    }
    chosen.sort_by(|a, b| a.name.cmp(&b.name));
    chosen
}

/// The set's `stats` against the `pool` probe of `images`.
pub(super) fn compare(stats: &[TensorStats], pool: &Probe, images: &[ProbeImage]) -> Coverage {
    let whole = pool.whole();
    let mut sample: BTreeMap<String, usize> = BTreeMap::new();
    for i in images {
        let key = i.bucket.map_or("unbucketed".to_owned(), |b| b.to_string());
        *sample.entry(key).or_default() += 1;
    }
    let mut clipped = Vec::new();
    let mut compared = 0;
    for (t, s) in stats.iter().enumerate() {
        if s.float {
            continue;
        }
        compared += 1;
        let (lo, hi) = pool
            .summaries
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), r| {
                (a.min(r[t].min), b.max(r[t].max))
            });
        if lo > hi {
            continue;
        }
        let pool_range = whole[t].percentile_range(POOL_PERCENTILE, lo, hi);
        let [slo, shi] = s.range;
        let span = f64::from(shi.max(0.0) - slo.min(0.0)).max(f64::MIN_POSITIVE);
        let excess = f64::from((pool_range[1] - shi).max(slo - pool_range[0]).max(0.0)) / span;
        if excess <= 1e-6 {
            continue;
        }
        let mut from: BTreeMap<String, usize> = BTreeMap::new();
        for (row, image) in pool.summaries.iter().zip(images) {
            if row[t].max > shi || row[t].min < slo {
                let bucket = image
                    .bucket
                    .map_or("unbucketed".to_owned(), |b| b.to_string());
                *from.entry(format!("bucket:{bucket}")).or_default() += 1;
                for tag in &image.tags {
                    *from.entry(format!("tag:{tag}")).or_default() += 1;
                }
            }
        }
        let mut from: Vec<(String, usize)> = from.into_iter().collect();
        from.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        clipped.push(Clipped {
            tensor: s.name.clone(),
            op: s.op.clone(),
            set_range: s.range,
            pool_range,
            excess,
            from,
        });
    }
    clipped.sort_by(|a, b| b.excess.total_cmp(&a.excess).then(a.tensor.cmp(&b.tensor)));
    let count = clipped.len();
    clipped.truncate(10);
    Coverage {
        sample,
        tensors: compared,
        clipped: count,
        worst: clipped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Source;
    use std::path::PathBuf;

    fn image(name: &str, bucket: Bucket) -> ProbeImage {
        ProbeImage {
            source: Source::File(PathBuf::from(name)),
            name: PathBuf::from(name),
            bucket: Some(bucket),
            tags: Vec::new(),
        }
    }

    #[test]
    fn the_sample_keeps_the_buckets_shares_and_the_seed_decides_which() {
        let mut pool = Vec::new();
        for k in 0..60 {
            pool.push(image(&format!("n{k:03}"), Bucket::Normal));
        }
        for k in 0..30 {
            pool.push(image(&format!("h{k:03}"), Bucket::Hard));
        }
        for k in 0..10 {
            pool.push(image(&format!("b{k:03}"), Bucket::Background));
        }
        let a = sample(pool.clone(), 20, 1);
        let count = |s: &[ProbeImage], b| s.iter().filter(|i| i.bucket == Some(b)).count();
        assert_eq!(
            (
                count(&a, Bucket::Normal),
                count(&a, Bucket::Hard),
                count(&a, Bucket::Background)
            ),
            (12, 6, 2)
        );
        let names = |s: &[ProbeImage]| s.iter().map(|i| i.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&a), names(&sample(pool.clone(), 20, 1)));
        let c = sample(pool.clone(), 20, 2);
        assert_ne!(names(&a), names(&c));
        assert_eq!(sample(pool.clone(), 500, 1).len(), 100);
    }
}
