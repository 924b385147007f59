//! How many images each bucket gets: `total`, `split` (shared out by largest
//! remainder) or a `count` per bucket, then each bucket's `quota` and `min`
//! tables and the `[classes]` slots, all checked against the bucket's count.

use std::collections::BTreeMap;

use toml::Spanned;

use super::{Checker, MAX_COUNT};
use crate::label::{Bucket, PerBucket};
use crate::recipe::raw::{RawBucket, RawRecipe, RawSplit};
use crate::recipe::{BucketPlan, ClassPlan};

/// Largest `split` weight accepted.
const MAX_WEIGHT: f64 = 1e6;

/// `total`: at least 1 and, without a `split`, equal to the sum of the bucket
/// counts; missing is only a problem when nothing else was found and no bucket
/// has images. Returns the sum of the bucket counts.
pub(super) fn total(
    c: &mut Checker<'_, '_>,
    raw: &RawRecipe,
    buckets: &PerBucket<BucketPlan>,
) -> usize {
    let total = buckets.iter().map(|(_, b)| b.count).sum::<usize>();
    if let Some(t) = &raw.total {
        // One problem per value: below 1 is not also "0 or more", and above
        // the cap (a count of 0 from `count`) is not also "at least 1".
        let wanted = match *t.get_ref() {
            n if n < 1 => {
                c.at_key(t, "total", format!("must be at least 1, not {n}"));
                0
            }
            _ => c.count(t, "total"),
        };
        if wanted > 0 && raw.split.is_none() && total != wanted {
            c.at_key(
                t,
                "total",
                format!("is {wanted} but the bucket counts add up to {total}"),
            );
        }
    } else if total == 0 && c.problems.is_empty() {
        c.missing(
            "total",
            "missing: give `total` with a `split`, or a `count` for each bucket",
        );
    }
    total
}

/// `[classes]`: one class slot per required class in the chosen bucket.
pub(super) fn class_plan(
    c: &mut Checker<'_, '_>,
    raw: &RawRecipe,
    buckets: &mut PerBucket<BucketPlan>,
) -> Option<ClassPlan> {
    let spanned = raw.classes.as_ref()?;
    let rc = spanned.get_ref();
    let min = rc.min.as_ref().map_or(1, |m| c.count(m, "classes.min"));
    let bucket = rc.bucket.unwrap_or(Bucket::Normal);
    if rc.require.is_empty() {
        c.at_key(spanned, "classes.require", "list at least one class");
        return None;
    }
    let plan = &mut buckets[bucket];
    let wanted = min * rc.require.len();
    let taken = plan.quota.values().sum::<usize>() + plan.min.values().sum::<usize>();
    if taken + wanted > plan.count {
        c.at_key(
            spanned,
            "classes",
            format!(
                "{} classes × {min} images plus the bucket's quotas and minimums ({taken}) need {}, more than bucket `{bucket}`'s {} images",
                rc.require.len(),
                taken + wanted,
                plan.count
            ),
        );
    }
    for class in &rc.require {
        plan.classes.insert(class.clone(), min);
    }
    Some(ClassPlan {
        require: rc.require.clone(),
        min,
        bucket,
    })
}

/// Bucket counts from `split` (largest remainder) or per-bucket `count`, then
/// each bucket's quotas and minimums checked against its count.
pub(super) fn bucket_plans(
    c: &mut Checker<'_, '_>,
    raw: &RawRecipe,
    weights_out: &mut Option<PerBucket<f64>>,
) -> PerBucket<BucketPlan> {
    let raw_buckets = PerBucket {
        normal: raw.buckets.normal.as_ref(),
        hard: raw.buckets.hard.as_ref(),
        background: raw.buckets.background.as_ref(),
    };
    let mut counts = PerBucket::<usize>::default();
    match (&raw.split, &raw.total) {
        (Some(split), total) => {
            for (bucket, rb) in raw_buckets.iter() {
                if let Some(count) = rb.and_then(|b| b.count.as_ref()) {
                    c.at_key(
                        count,
                        &format!("buckets.{bucket}.count"),
                        "conflicts with `split`: use either `split` or a `count` per bucket",
                    );
                }
            }
            let Some(total) = total else {
                c.at_key(split, "split", "needs a `total` to divide");
                return PerBucket::default();
            };
            if let Some(weights) = split_weights(c, split) {
                let total = usize::try_from(*total.get_ref())
                    .ok()
                    .filter(|&t| t <= MAX_COUNT)
                    .unwrap_or(0);
                counts = largest_remainder(total, &weights);
                *weights_out = Some(weights);
            }
        }
        (None, _) => {
            for (bucket, rb) in raw_buckets.iter() {
                if let Some(count) = rb.and_then(|b| b.count.as_ref()) {
                    counts[bucket] = c.count(count, &format!("buckets.{bucket}.count"));
                }
            }
        }
    }

    let mut plans = PerBucket::<BucketPlan>::default();
    for (bucket, rb) in raw_buckets.iter() {
        let count = counts[bucket];
        let Some(rb) = rb else {
            plans[bucket].count = count;
            continue;
        };
        plans[bucket] = bucket_plan(c, bucket, rb, count);
    }
    plans
}

/// `[buckets.<bucket>]`: its `quota` and `min` tables, each key a tag, a class
/// or `field=value`, together at most the bucket's `count`.
fn bucket_plan(
    c: &mut Checker<'_, '_>,
    bucket: Bucket,
    rb: &RawBucket,
    count: usize,
) -> BucketPlan {
    let mut plan = BucketPlan {
        count,
        free: rb.free.unwrap_or_default(),
        ..BucketPlan::default()
    };
    let mut taken = 0usize;
    let mut overflow_reported = false;
    for (table, kind) in [(&rb.quota, "quota"), (&rb.min, "min")] {
        let mut map = BTreeMap::new();
        for (tag, value) in table {
            let key = format!("buckets.{bucket}.{kind}.{tag}");
            let n = c.count(value, &key);
            match tag.split_once('=') {
                _ if tag.trim().is_empty() => c.at_key(
                    value,
                    &key,
                    "an empty key names nothing: give a tag, a class or `field=value`",
                ),
                Some((field, val)) if field.trim().is_empty() || val.trim().is_empty() => c.at_key(
                    value,
                    &key,
                    "a `field=value` key needs both a field and a value, e.g. \"camera=cam01\"",
                ),
                _ => {}
            }
            if tag == "free" {
                c.at_key(
                    value,
                    &key,
                    "`free` names the bucket's free share in reports and manifests; give the tag another name",
                );
            }
            if kind == "min" && rb.quota.contains_key(tag) {
                c.at_key(
                    value,
                    &key,
                    format!("tag `{tag}` already has an exact quota in this bucket"),
                );
            }
            taken += n;
            if n > count {
                c.at_key(
                    value,
                    &key,
                    format!("{kind} of {n} is more than the bucket's {count} images"),
                );
            } else if taken > count && !overflow_reported {
                overflow_reported = true;
                c.at_key(
                    value,
                    &key,
                    format!(
                        "quotas and minimums of bucket `{bucket}` add up to {taken}, more than its {count} images"
                    ),
                );
            }
            map.insert(tag.clone(), n);
        }
        match kind {
            "quota" => plan.quota = map,
            _ => plan.min = map,
        }
    }
    plan
}

/// `split`: each weight from 0 to [`MAX_WEIGHT`], at least one above 0.
fn split_weights(c: &mut Checker<'_, '_>, split: &Spanned<RawSplit>) -> Option<PerBucket<f64>> {
    let s = split.get_ref();
    let mut weights = PerBucket::<f64>::default();
    let mut ok = true;
    for (bucket, w) in [
        (Bucket::Normal, &s.normal),
        (Bucket::Hard, &s.hard),
        (Bucket::Background, &s.background),
    ] {
        if let Some(w) = w {
            let v = *w.get_ref();
            if !(v.is_finite() && (0.0..=MAX_WEIGHT).contains(&v)) {
                let message = format!("weight must be a number from 0 to {MAX_WEIGHT}, not {v}");
                // A ratio string's weights have no place of their own.
                match s.ratio {
                    true => c.at_key(split, &format!("split.{bucket}"), message),
                    false => c.at_key(w, &format!("split.{bucket}"), message),
                }
                ok = false;
            } else {
                weights[bucket] = v;
            }
        }
    }
    if ok && weights.iter().map(|(_, w)| *w).sum::<f64>() <= 0.0 {
        c.at_key(split, "split", "at least one weight must be above 0");
        ok = false;
    }
    ok.then_some(weights)
}

/// Splits `total` by `weights` so the parts sum to `total`: floor every share,
/// then hand the remaining units to the largest fractional parts (ties: bucket
/// order). Computed exactly in integers: weights count in millionths.
pub(crate) fn largest_remainder(total: usize, weights: &PerBucket<f64>) -> PerBucket<usize> {
    let units = |w: f64| (w.max(0.0) * 1e6).round().min(u64::MAX as f64) as u128;
    let sum: u128 = weights.iter().map(|(_, w)| units(*w)).sum();
    let mut counts = PerBucket::<usize>::default();
    if sum == 0 {
        return counts;
    }
    let mut rems = Vec::new();
    for (bucket, w) in weights.iter() {
        let share = total as u128 * units(*w);
        counts[bucket] = (share / sum) as usize;
        rems.push((share % sum, bucket));
    }
    let assigned: usize = counts.iter().map(|(_, c)| *c).sum();
    rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, bucket) in rems.into_iter().take(total.saturating_sub(assigned)) {
        counts[bucket] += 1;
    }
    counts
}
