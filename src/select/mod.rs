//! Filling the recipe: which images make the set, and which quota slot each fills.
//!
//! Selection is an assignment problem solved as a minimum-cost flow:
//!
//! ```text
//! source ─▶ slot (bucket × quota tag | min tag | free) ─▶ image ─▶ camera ─▶ sink
//! ```
//!
//! * a slot's capacity is its count; an image links to every slot it can serve (a
//!   `night;lowq` image can fill either the `night` or the `lowq` quota, once);
//!   the free share of a bucket takes images that carry none of the bucket's exact
//!   quota tags;
//! * each image passes at most one unit, costing its [`order::preference`] rank, so
//!   among all complete fills the one with the most preferred images wins;
//! * each camera's first `min` units to the sink are free and the rest cost more
//!   than any preference saving, so per-camera minimums are met whenever possible.
//!
//! The flow is maximal, so a complete fill is found whenever one exists; any
//! unfilled slot or camera minimum is then a real shortfall of the pool.

mod flow;
mod order;
mod solve;

pub(crate) use order::Balance;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::label::{Bucket, PerBucket};
use crate::pool::PoolImage;

/// What to do when the pool cannot fill a quota.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShortfallPolicy {
    /// Build nothing, report the shortfalls, exit 1.
    #[default]
    Fail,
    /// Top short tag quotas up from the same bucket's free share and report it.
    Fill,
}

/// The kind of slot an image fills.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "tag")]
pub enum SlotKind {
    /// An exact tag quota.
    Quota(String),
    /// A tag minimum.
    Min(String),
    /// A required class (`[classes]`).
    Class(String),
    /// The rest of the bucket.
    Free,
}

impl SlotKind {
    /// How reports name the slot in prose: `tag night`, `tag texture
    /// (minimum)`, `class bus`, `free share`.
    pub fn describe(&self) -> String {
        match self {
            SlotKind::Quota(t) => format!("tag {t}"),
            SlotKind::Min(t) => format!("tag {t} (minimum)"),
            SlotKind::Class(c) => format!("class {c}"),
            SlotKind::Free => "free share".to_owned(),
        }
    }

    /// `night`, `min:texture` or `free`: the name used in manifests and reports.
    pub fn label(&self) -> String {
        match self {
            SlotKind::Quota(t) => t.clone(),
            SlotKind::Min(t) => format!("min:{t}"),
            SlotKind::Class(c) => format!("class:{c}"),
            SlotKind::Free => "free".into(),
        }
    }
}

/// How one slot was filled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlotFill {
    /// The bucket.
    pub bucket: Bucket,
    /// The slot.
    pub slot: SlotKind,
    /// Images asked for (after any top-up).
    pub wanted: usize,
    /// Images assigned.
    pub filled: usize,
    /// Distinct images in the de-duplicated pool that could serve this slot.
    pub available: usize,
}

/// How one camera's minimum was met, and its share of the set against its
/// share of the pool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CameraFill {
    /// Camera name.
    pub camera: String,
    /// The recipe's per-camera minimum.
    pub min: usize,
    /// Images chosen from this camera.
    pub chosen: usize,
    /// Distinct images of this camera available after de-duplication.
    pub available: usize,
    /// `chosen` over the images chosen.
    pub set_share: f64,
    /// `available` over the distinct images available.
    pub pool_share: f64,
}

/// The images without a camera: chosen and available, like a camera's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoCamera {
    /// Images chosen.
    pub chosen: usize,
    /// Distinct images available.
    pub available: usize,
    /// `chosen` over the images chosen.
    pub set_share: f64,
    /// `available` over the distinct images available.
    pub pool_share: f64,
}

/// A part of the recipe the pool could not satisfy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Shortfall {
    /// A bucket slot (quota, minimum or free share) is not full.
    Slot {
        /// The bucket.
        bucket: Bucket,
        /// The slot.
        slot: SlotKind,
        /// Images wanted.
        wanted: usize,
        /// Images assigned.
        filled: usize,
        /// Images that could serve it after de-duplication.
        available: usize,
        /// For a free share that takes only untagged images: how many more
        /// distinct images of the bucket carry a quota tag (`free = "any"`
        /// would let them fill it).
        #[serde(skip_serializing_if = "is_zero")]
        tagged: usize,
    },
    /// A camera contributes fewer than the minimum.
    Camera {
        /// Camera name.
        camera: String,
        /// The minimum.
        wanted: usize,
        /// Images chosen from it.
        chosen: usize,
        /// Images of it available after de-duplication.
        available: usize,
    },
}

impl Shortfall {
    /// Whether a smaller total can make it go away: only a bucket's free share
    /// shrinks with the total; tag quotas, class and camera minimums do not.
    pub fn shrinks_with_total(&self) -> bool {
        matches!(
            self,
            Shortfall::Slot {
                slot: SlotKind::Free,
                ..
            }
        )
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Serialises a slot as its label, as manifests write it.
impl std::fmt::Display for Shortfall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shortfall::Slot {
                bucket,
                slot,
                wanted,
                filled,
                available,
                tagged,
            } => {
                write!(
                    f,
                    "bucket {bucket}, {}: wanted {wanted}, filled {filled} ({available} distinct image{} available after dedup)",
                    slot.describe(),
                    if *available == 1 { "" } else { "s" }
                )?;
                if *tagged > 0 {
                    write!(
                        f,
                        "; {tagged} more carry a quota tag, which `free = \"untagged\"` keeps out: drop it under [buckets.{bucket}] to use them"
                    )?;
                }
                Ok(())
            }
            Shortfall::Camera {
                camera,
                wanted,
                chosen,
                available,
            } => write!(
                f,
                "camera {camera}: wanted at least {wanted}, chose {chosen} ({available} distinct image{} available after dedup)",
                if *available == 1 { "" } else { "s" }
            ),
        }
    }
}

/// A short quota that `shortfall = "fill"` moved to the bucket's free share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopUp {
    /// The bucket.
    pub bucket: Bucket,
    /// The short slot.
    pub slot: SlotKind,
    /// Images moved to the free share.
    pub moved: usize,
}

/// The largest set the pool could give at the recipe's shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MaxTotal {
    /// Largest total whose every bucket count fits the distinct images available.
    pub total: usize,
    /// The bucket that runs out first.
    pub limited_by: Bucket,
}

/// One chosen image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Pick {
    /// Index into the pool.
    pub image: usize,
    /// The bucket it fills.
    pub bucket: Bucket,
    /// The slot it fills.
    pub slot: SlotKind,
    /// Its preference rank inside the bucket (0 = first choice).
    pub rank: usize,
}

/// The outcome of selection.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Selection {
    /// Chosen images, ordered by bucket, slot, then pool index.
    pub picks: Vec<Pick>,
    /// Every slot with its fill.
    pub slots: Vec<SlotFill>,
    /// Every camera with its fill (sorted by name).
    pub cameras: Vec<CameraFill>,
    /// The images without a camera, when there are any.
    pub no_camera: Option<NoCamera>,
    /// What could not be met.
    pub shortfalls: Vec<Shortfall>,
    /// Quotas topped up under `shortfall = "fill"`.
    pub topped_up: Vec<TopUp>,
    /// Images a free share took that also carry a quota tag, per bucket and tag.
    pub spill: Vec<Spill>,
}

/// Images a bucket's free share took beyond a quota: they carry the quota's
/// tag, but fill the free share (`free = "any"`, once untagged images ran out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Spill {
    /// The bucket.
    pub bucket: Bucket,
    /// The quota key.
    pub key: String,
    /// Free-share images carrying it.
    pub images: usize,
}

/// What one bucket must hold. Quota and minimum keys are labels: a tag, a class,
/// or `field=value` on the image's metadata (see [`crate::bucket::Labels::has`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BucketPlan {
    /// Images in this bucket.
    pub count: usize,
    /// `[buckets.NAME.quota]`: exactly this many images fill each label's slot.
    pub quota: BTreeMap<String, usize>,
    /// `[buckets.NAME.min]`: at least this many images carry each label.
    pub min: BTreeMap<String, usize>,
    /// From `[classes]`: this many images of each required class, each counted once.
    pub classes: BTreeMap<String, usize>,
    /// `free`: which images the free share may take. Default any.
    pub free: FreeShare,
}

/// Which images a bucket's free share may take.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FreeShare {
    /// Any image of the bucket; those carrying none of its quota tags first,
    /// the others only when they run out (the quotas then count the images
    /// that fill their slot, and the report says how many more the free share
    /// took).
    #[default]
    Any,
    /// Only images carrying none of the bucket's quota tags: a quota is never
    /// exceeded, but the free share may come up short.
    Untagged,
}

impl BucketPlan {
    /// Images left for the bucket's free share after quotas and minimums.
    pub fn free(&self) -> usize {
        self.count.saturating_sub(
            self.quota.values().sum::<usize>()
                + self.min.values().sum::<usize>()
                + self.classes.values().sum::<usize>(),
        )
    }
}

/// What selection needs from a recipe.
#[derive(Debug, Clone)]
pub(crate) struct Plan<'a> {
    /// Per-bucket counts, quotas and minimums.
    pub buckets: &'a PerBucket<BucketPlan>,
    /// Minimum images per camera.
    pub camera_min: usize,
    /// How picks are shared among cameras.
    pub balance: &'a Balance,
    /// The recipe seed.
    pub seed: u64,
    /// What to do about short quotas.
    pub shortfall: ShortfallPolicy,
    /// Set when the run is interrupted.
    pub cancel: &'a std::sync::atomic::AtomicBool,
}

/// One slot of one bucket, with its capacity.
pub(super) struct Slot {
    pub bucket: Bucket,
    pub kind: SlotKind,
    pub cap: usize,
}

/// Chooses from `candidates` (indices into `images`: de-duplicated, bucketed).
pub(crate) fn select(
    images: &[PoolImage],
    candidates: &[usize],
    plan: &Plan<'_>,
) -> Result<Selection, crate::cancel::Interrupted> {
    let mut slots = initial_slots(plan.buckets);
    let mut topped_up = Vec::new();
    loop {
        let mut sel = solve::solve(images, candidates, plan, &slots)?;
        if plan.shortfall == ShortfallPolicy::Fill {
            let mut moved_any = false;
            for (i, fill) in sel.slots.iter().enumerate() {
                let short = fill.wanted - fill.filled;
                if short == 0 || fill.slot == SlotKind::Free {
                    continue;
                }
                slots[i].cap = fill.filled;
                let free = slots
                    .iter()
                    .position(|s| s.bucket == fill.bucket && s.kind == SlotKind::Free)
                    .expect("every bucket has a free slot");
                slots[free].cap += short;
                topped_up.push(TopUp {
                    bucket: fill.bucket,
                    slot: fill.slot.clone(),
                    moved: short,
                });
                moved_any = true;
            }
            if moved_any {
                continue;
            }
        }
        sel.topped_up = topped_up;
        return Ok(sel);
    }
}

fn initial_slots(buckets: &PerBucket<BucketPlan>) -> Vec<Slot> {
    let mut slots = Vec::new();
    for (bucket, plan) in buckets.iter() {
        for (tag, &n) in &plan.quota {
            slots.push(Slot {
                bucket,
                kind: SlotKind::Quota(tag.clone()),
                cap: n,
            });
        }
        for (tag, &n) in &plan.min {
            slots.push(Slot {
                bucket,
                kind: SlotKind::Min(tag.clone()),
                cap: n,
            });
        }
        for (class, &n) in &plan.classes {
            slots.push(Slot {
                bucket,
                kind: SlotKind::Class(class.clone()),
                cap: n,
            });
        }
        slots.push(Slot {
            bucket,
            kind: SlotKind::Free,
            cap: plan.free(),
        });
    }
    slots
}

pub(super) fn serves(img: &PoolImage, slot: &Slot, plan: &BucketPlan) -> bool {
    if img.labels.bucket != Some(slot.bucket) {
        return false;
    }
    match &slot.kind {
        SlotKind::Quota(k) | SlotKind::Min(k) => img.labels.has(k),
        SlotKind::Class(c) => img.labels.classes.contains(c),
        SlotKind::Free => plan.free == FreeShare::Any || !carries_quota_tag(img, plan),
    }
}

/// Whether `img` carries one of the bucket's exact-quota keys.
pub(super) fn carries_quota_tag(img: &PoolImage, plan: &BucketPlan) -> bool {
    plan.quota.keys().any(|k| img.labels.has(k))
}

#[cfg(test)]
mod tests;
