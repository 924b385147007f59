//! The report of a planned build: counts per bucket, the largest duplicate
//! groups, the composition of the chosen set, the shortfalls and the largest
//! total the pool supports, and the stability check of the chosen set.

use std::collections::BTreeMap;

use super::{
    CameraCount, CompositionRow, DedupSummary, GroupSummary, MaxTotal, Report, Status, advice,
};
use crate::dedup::Dedup;
use crate::inventory::Inventory;
use crate::label::{Bucket, PerBucket};
use crate::recipe::Recipe;
use crate::select::Selection;

/// The report of a planned build (without output details).
pub(crate) fn assemble(
    recipe: &Recipe,
    seed: u64,
    inv: &Inventory,
    dd: &Dedup,
    sel: &Selection,
) -> Report {
    let images = &inv.images;
    let mut kept = PerBucket::<usize>::default();
    for (i, img) in images.iter().enumerate() {
        if dd.is_kept(i)
            && let Some(b) = img.labels.bucket
        {
            kept[b] += 1;
        }
    }
    let largest_groups = dd
        .groups()
        .into_iter()
        .take(10)
        .map(|(rep, members)| GroupSummary {
            kept: images[rep].file.rel.clone(),
            size: members.len(),
        })
        .collect();
    let mut chosen = PerBucket::<usize>::default();
    // Cameras sort by name with `None` last: keyed `(false, name)` / `(true, "")`.
    type Cameras = BTreeMap<(bool, String), usize>;
    let mut composition: BTreeMap<(Bucket, Vec<String>), Cameras> = BTreeMap::new();
    for p in &sel.picks {
        chosen[p.bucket] += 1;
        let img = &images[p.image];
        let tags = img.labels.tags.iter().cloned().collect();
        let camera = match &img.labels.camera {
            Some(c) => (false, c.clone()),
            None => (true, String::new()),
        };
        *composition
            .entry((p.bucket, tags))
            .or_default()
            .entry(camera)
            .or_default() += 1;
    }
    Report {
        schema_version: crate::schema::SCHEMA_VERSION,
        version: env!("CARGO_PKG_VERSION"),
        recipe: recipe.name.clone(),
        seed,
        status: if sel.shortfalls.is_empty() {
            Status::Ok
        } else {
            Status::Shortfall
        },
        total: recipe.total,
        pool: inv.summary.clone(),
        measure: Some(inv.measure),
        dedup: DedupSummary {
            settings: recipe.dedup,
            exact_removed: dd.exact_removed(),
            near_removed: dd.near_removed(),
            candidate_pairs: dd.candidate_pairs,
            kept: kept.clone(),
            largest_groups,
        },
        wanted: PerBucket {
            normal: recipe.buckets.normal.count,
            hard: recipe.buckets.hard.count,
            background: recipe.buckets.background.count,
        },
        chosen,
        slots: sel.slots.clone(),
        cameras: sel.cameras.clone(),
        no_camera: sel.no_camera.clone(),
        spill: sel.spill.clone(),
        shortfall_policy: recipe.shortfall,
        composition: composition
            .into_iter()
            .map(|((bucket, tags), cameras)| CompositionRow {
                bucket,
                tags,
                cameras: cameras
                    .into_iter()
                    .map(|((none, name), chosen)| CameraCount {
                        camera: (!none).then_some(name),
                        chosen,
                    })
                    .collect(),
            })
            .collect(),
        files: Vec::new(),
        shortfalls: sel.shortfalls.clone(),
        max_total: if sel.shortfalls.is_empty() {
            None
        } else {
            max_total(recipe, &kept)
        },
        topped_up: sel.topped_up.clone(),
        stability: (sel.picks.len() >= 2).then(|| {
            let chosen: Vec<usize> = sel.picks.iter().map(|p| p.image).collect();
            let pool: Vec<usize> = (0..images.len())
                .filter(|&i| dd.is_kept(i) && images[i].labels.bucket.is_some())
                .collect();
            crate::stability::check(images, &chosen, &pool, seed, recipe.stability_threshold)
        }),
        sequences: None,
        advice: advice::advise(
            images,
            &sel.picks
                .iter()
                .map(|p| (p.image, p.bucket))
                .collect::<Vec<_>>(),
        ),
        tensor: recipe.tensor.clone(),
        model: None,
        exports: recipe.exports.formats.iter().copied().collect(),
        resaves: None,
        output: None,
        warnings: inv.warnings.clone(),
    }
}

/// The largest total whose bucket counts (at the recipe's shares) all fit the
/// distinct images per bucket and still hold each bucket's quotas and
/// minimums (so the advice is a valid recipe); `None` when the recipe's own
/// total fits (its shortfall is elsewhere) or when no total does.
fn max_total(recipe: &Recipe, kept: &PerBucket<usize>) -> Option<MaxTotal> {
    // A total is only advice if the recipe stays valid at it: each bucket's
    // count must still hold its quotas and minimums.
    let reserved = |b: Bucket| {
        let plan = &recipe.buckets[b];
        plan.quota.values().chain(plan.min.values()).sum::<usize>()
    };
    let fits = |t: usize| {
        let c = recipe.counts_for(t);
        Bucket::ALL
            .into_iter()
            .all(|b| c[b] <= kept[b] && c[b] >= reserved(b))
    };
    if fits(recipe.total) {
        return None;
    }
    // Largest-remainder counts are not monotone in the total (the Alabama
    // paradox), so scan rather than bisect; each step is a few operations.
    let upper: usize = kept.iter().map(|(_, n)| n).sum();
    let lo = (1..=upper).rev().find(|&t| fits(t)).unwrap_or(0);
    let next = recipe.counts_for(lo + 1);
    let limited_by = Bucket::ALL
        .into_iter()
        .find(|&b| next[b] > kept[b])
        .unwrap_or(Bucket::Normal);
    (lo > 0).then_some(MaxTotal {
        total: lo,
        limited_by,
    })
}
