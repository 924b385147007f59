//! From the probe's counts to what a user decides on: per tensor its range
//! under each method, how far the set's two halves put it apart (the domain
//! rule: more than 10–15 % means too few samples or a skewed mix), which
//! image sets it, which tensors must stay float, and the method advice.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use serde::Serialize;

use super::load::Model;
use super::probe::{Probe, ProbeImage};
use super::stats::{BINS, Histogram, Summary};
use crate::handoff::Calibration;
use crate::label::Bucket;

/// Percentiles every tensor reports (of the magnitudes, as ONNX Runtime and
/// TensorRT calibrate them: see `Histogram::percentile_range`).
pub(super) const PERCENTILES: [f64; 3] = [99.9, 99.99, 99.999];
/// A half-to-half difference above this share of the range is flagged.
pub(super) const DRIFT_WARN: f64 = 0.10;
/// … and above this one, the set is called unstable.
pub(super) const DRIFT_FAIL: f64 = 0.15;
/// More than this share of the tensors over [`DRIFT_FAIL`] makes the set
/// unstable; fewer, borderline. (Balanced 120-image 6:2:2 sets of the medium
/// bench pool have 1.4–1.7 % of YOLOv8n's tensors over 15 % under Percentile
/// 99.999; a 40-image set 7 %.)
pub(super) const UNSTABLE_SHARE: f64 = 0.02;
/// An image whose extreme leads the runner-up's by this share of the range
/// sets that tensor's MinMax range on its own.
pub(super) const LEAD: f64 = 0.10;
/// A `Concat` whose inputs' magnitudes differ by this factor gets one int8
/// scale that leaves the small input a handful of levels: it stays float.
pub(super) const MIXED_RANGES: f64 = 32.0;
/// Version of `ranges.json`.
pub(super) const RANGES_SCHEMA: u32 = 1;

/// One image's extreme of one tensor and how far it leads the next image's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Extreme {
    /// The image, by its path in the set.
    pub image: PathBuf,
    /// The runner-up image's extreme.
    pub runner_up: f32,
    /// (extreme − runner-up) as a share of the tensor's int8 span.
    pub lead: f64,
}

/// One half's bounds of one tensor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct HalfStats {
    /// Smallest value.
    pub min: f32,
    /// Largest value.
    pub max: f32,
    /// The method's range over this half.
    pub range: [f32; 2],
}

/// Everything measured of one tensor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct TensorStats {
    /// ONNX tensor name.
    pub name: String,
    /// Op type of the node that makes it.
    pub op: String,
    /// That node.
    pub node: String,
    /// Smallest value over the set.
    pub min: f32,
    /// Largest value over the set.
    pub max: f32,
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub std: f64,
    /// Values per image.
    pub values_per_image: u64,
    /// NaN and infinite values seen (left out of every statistic).
    pub non_finite: u64,
    /// `"99.9"`, `"99.99"`, `"99.999"` → range.
    pub percentile: BTreeMap<String, [f32; 2]>,
    /// The range the tables hand off, for the chosen method.
    pub range: [f32; 2],
    /// The two halves of the seeded split.
    pub halves: [HalfStats; 2],
    /// Largest |Δ| of the halves' min and max, as a share of the span the
    /// int8 grid covers (the set's range widened to hold 0, as quantizers
    /// widen it).
    pub drift_minmax: f64,
    /// Largest |Δ| of the halves' method ranges, as the same share.
    pub drift: f64,
    /// The image that sets the max.
    pub max_image: Extreme,
    /// The image that sets the min.
    pub min_image: Extreme,
    /// max / p99.99 magnitude (1 = no tail).
    pub tail: f64,
    /// Kept in float: left out of the range tables.
    pub float: bool,
}

/// A tensor flagged for drift.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drift {
    /// Tensor name.
    pub tensor: String,
    /// Its op.
    pub op: String,
    /// The method range's drift.
    pub drift: f64,
    /// The min/max drift.
    pub drift_minmax: f64,
}

/// The per-tensor stability check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TensorStability {
    /// Images per half.
    pub halves: [usize; 2],
    /// Tensors whose method range drifts over 10 % / over 15 %.
    pub over_10: usize,
    /// …
    pub over_15: usize,
    /// Tensors whose min/max drift over 10 % / 15 % (the domain rule's).
    pub minmax_over_10: usize,
    /// …
    pub minmax_over_15: usize,
    /// On the method's ranges: `unstable` when more than 2 % of the tensors
    /// drift over 15 %, `borderline` when any drifts over 10 %, else `stable`.
    pub verdict: &'static str,
    /// The worst tensors, most drift first (up to 10).
    pub worst: Vec<Drift>,
}

/// An image that sets many tensors' ranges on its own.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dominant {
    /// Its path in the set.
    pub image: PathBuf,
    /// Its bucket.
    pub bucket: Option<Bucket>,
    /// Tensors whose max or min it leads by over 10 % of the range.
    pub tensors: usize,
}

/// A tensor kept in float.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeptFloat {
    /// Tensor name.
    pub tensor: String,
    /// The node that makes it (exclude it from quantization).
    pub node: String,
    /// Its op.
    pub op: String,
    /// Why.
    pub reason: String,
}

/// The model section of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelReport {
    /// The model file.
    pub path: PathBuf,
    /// blake3 of it, hex.
    pub blake3: String,
    /// Images probed.
    pub images: usize,
    /// Calibrated tensors.
    pub tensors: usize,
    /// The method the range tables use: `minmax` or `percentile`.
    pub method: &'static str,
    /// Its percentile.
    pub percentile: Option<f64>,
    /// Whether the recipe chose the method (else the advice did).
    pub method_from_recipe: bool,
    /// The per-tensor stability check.
    pub stability: TensorStability,
    /// Images that set many ranges alone (MinMax risk), most first.
    pub dominant: Vec<Dominant>,
    /// Tensors to keep in float, with their nodes.
    pub float: Vec<KeptFloat>,
    /// Method advice from the activations.
    pub advice: Vec<String>,
    /// NaN and infinite activations seen.
    pub non_finite: u64,
    /// The set's ranges against a sample of the distinct pool (`model.coverage`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<super::coverage::Coverage>,
}

/// `ranges.json`: every statistic of every tensor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct RangesFile {
    /// [`RANGES_SCHEMA`].
    pub schema: u32,
    /// The model file and its hash.
    pub model: PathBuf,
    /// blake3, hex.
    pub model_blake3: String,
    /// Input name and shape.
    pub input: InputInfo,
    /// Images probed.
    pub images: usize,
    /// The method `range` follows.
    pub method: MethodInfo,
    /// Histogram bins per tensor.
    pub histogram_bins: usize,
    /// Per tensor, in the model's order (input first).
    pub tensors: Vec<TensorStats>,
}

/// The model input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct InputInfo {
    /// Name.
    pub name: String,
    /// Shape (batch 1).
    pub shape: Vec<usize>,
}

/// A method as `ranges.json` names it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct MethodInfo {
    /// `minmax` or `percentile`.
    pub name: &'static str,
    /// The percentile, for `percentile`.
    pub percentile: Option<f64>,
}

/// The probe's outcome: the report section and the per-tensor statistics.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Analysis {
    /// The report section.
    pub report: ModelReport,
    /// `ranges.json`.
    pub ranges: RangesFile,
}

/// What the range tables hand off: MinMax or a percentile.
fn method_range(method: Calibration, h: &Histogram, min: f32, max: f32) -> [f32; 2] {
    match method {
        Calibration::Percentile(p) => h.percentile_range(p, min, max),
        _ => [min, max],
    }
}

/// Min and max over `summaries` (rows of images), tensor `t`.
fn bounds<'a>(rows: impl Iterator<Item = &'a Vec<Summary>>, t: usize) -> (f32, f32) {
    rows.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), r| {
        (lo.min(r[t].min), hi.max(r[t].max))
    })
}

/// The image with the most extreme value of tensor `t` (by `key`, larger is
/// more extreme), the runner-up's value, and its lead over `span`.
fn extreme(
    probe: &Probe,
    images: &[ProbeImage],
    t: usize,
    key: impl Fn(&Summary) -> f32,
    span: f64,
) -> Extreme {
    let mut best: Option<(usize, f32)> = None;
    let mut second = f32::NEG_INFINITY;
    for (i, row) in probe.summaries.iter().enumerate() {
        let v = key(&row[t]);
        match best {
            Some((_, b)) if v <= b => second = second.max(v),
            Some((_, b)) => {
                second = b;
                best = Some((i, v));
            }
            None => best = Some((i, v)),
        }
    }
    let (i, v) = best.unwrap_or((0, 0.0));
    let runner_up = if second.is_finite() { second } else { v };
    Extreme {
        image: images.get(i).map(|m| m.name.clone()).unwrap_or_default(),
        runner_up,
        lead: if span > 0.0 {
            f64::from(v - runner_up) / span
        } else {
            0.0
        },
    }
}

/// Tensor `t`'s mean, variance and count of non-finite values over the set.
struct Moments {
    /// Mean of the finite values (0 when there are none).
    mean: f64,
    /// Their variance, never negative (0 when there are none).
    var: f64,
    /// How many values were not finite.
    non_finite: u64,
}

/// The [`Moments`] of tensor `t`, summed image by image in set order.
fn moments(probe: &Probe, t: usize) -> Moments {
    let (mut sum, mut sum_sq, mut count, mut non_finite) = (0.0f64, 0.0f64, 0u64, 0u64);
    for row in &probe.summaries {
        sum += row[t].sum;
        sum_sq += row[t].sum_sq;
        count += row[t].count;
        non_finite += row[t].non_finite;
    }
    let mean = if count > 0 { sum / count as f64 } else { 0.0 };
    let var = if count > 0 {
        (sum_sq / count as f64 - mean * mean).max(0.0)
    } else {
        0.0
    };
    Moments {
        mean,
        var,
        non_finite,
    }
}

/// Tensor `t`'s bounds and `method` range over each half of the set; a half
/// with no values takes the whole set's `bounds`.
fn half_stats(
    probe: &Probe,
    t: usize,
    method: Calibration,
    (min, max): (f32, f32),
) -> [HalfStats; 2] {
    [0u8, 1].map(|half| {
        let rows = probe
            .summaries
            .iter()
            .zip(&probe.half_of)
            .filter(|(_, h)| **h == half)
            .map(|(r, _)| r);
        let (lo, hi) = bounds(rows, t);
        let (lo, hi) = if lo <= hi { (lo, hi) } else { (min, max) };
        HalfStats {
            min: lo,
            max: hi,
            range: method_range(method, &probe.halves[usize::from(half)][t], lo, hi),
        }
    })
}

/// How far the two halves put a tensor apart as shares of `span`: by their
/// bounds (MinMax) and by their method ranges.
fn drifts([a, b]: [HalfStats; 2], span: f64) -> (f64, f64) {
    let share = |a: f32, b: f32| {
        if span > 0.0 {
            f64::from((a - b).abs()) / span
        } else {
            0.0
        }
    };
    let drift_minmax = share(a.min, b.min).max(share(a.max, b.max));
    let drift = share(a.range[0], b.range[0]).max(share(a.range[1], b.range[1]));
    (drift_minmax, drift)
}

/// The statistics of tensor `t`.
fn tensor_stats(
    probe: &Probe,
    images: &[ProbeImage],
    whole: &[Histogram],
    t: usize,
    method: Calibration,
) -> TensorStats {
    let info = &probe.tensors[t];
    let (min, max) = bounds(probe.summaries.iter(), t);
    let (min, max) = if min <= max { (min, max) } else { (0.0, 0.0) };
    let Moments {
        mean,
        var,
        non_finite,
    } = moments(probe, t);
    let h = &whole[t];
    let percentile = PERCENTILES
        .iter()
        .map(|&p| (p.to_string(), h.percentile_range(p, min, max)))
        .collect();
    let range = method_range(method, h, min, max);
    // Shares are of the span the int8 grid covers, which always holds 0.
    let span = f64::from(max.max(0.0) - min.min(0.0));
    let halves = half_stats(probe, t, method, (min, max));
    let (drift_minmax, drift) = drifts(halves, span);
    let p9999 = h.percentile_range(99.99, min, max);
    let mag = |r: [f32; 2]| f64::from(r[0].abs().max(r[1].abs()));
    let tail = if mag(p9999) > 0.0 {
        f64::from(min.abs().max(max.abs())) / mag(p9999)
    } else {
        1.0
    };
    TensorStats {
        name: info.name.clone(),
        op: info.op.clone(),
        node: info.node.clone(),
        min,
        max,
        mean,
        std: var.sqrt(),
        values_per_image: probe
            .summaries
            .first()
            .map_or(0, |r| r[t].count + r[t].non_finite),
        non_finite,
        percentile,
        range,
        halves,
        drift_minmax,
        drift,
        max_image: extreme(probe, images, t, |s| s.max, span),
        min_image: extreme(probe, images, t, |s| -s.min, span),
        tail,
        float: false,
    }
}

/// Tensors to keep float: the output of a `Concat` whose inputs' magnitudes
/// differ by [`MIXED_RANGES`] or more (YOLOv8's final `Concat` of pixel boxes
/// and 0–1 class scores), and every tensor computed from it.
fn kept_float(model: &Model, stats: &[TensorStats]) -> Vec<KeptFloat> {
    let by_name: HashMap<&str, &TensorStats> = stats.iter().map(|s| (s.name.as_str(), s)).collect();
    let mag = |s: &TensorStats| f64::from(s.min.abs().max(s.max.abs()));
    let mut kept = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for node in model.nodes.iter().filter(|n| n.op == "Concat") {
        let mags: Vec<f64> = node
            .inputs
            .iter()
            .filter_map(|i| by_name.get(i.as_str()).map(|s| mag(s)))
            .filter(|&m| m > 0.0)
            .collect();
        let (Some(lo), Some(hi)) = (
            mags.iter().copied().reduce(f64::min),
            mags.iter().copied().reduce(f64::max),
        ) else {
            continue;
        };
        if hi / lo < MIXED_RANGES {
            continue;
        }
        let reason = format!(
            "concatenates values up to {lo:.3} with values up to {hi:.1} ({:.0}×): one int8 scale of {:.3} leaves the small ones {:.0} level(s)",
            hi / lo,
            hi / 127.0,
            (lo / (hi / 127.0)).floor()
        );
        let mut todo: Vec<(String, String)> = node
            .outputs
            .iter()
            .map(|o| (o.clone(), reason.clone()))
            .collect();
        while let Some((tensor, why)) = todo.pop() {
            if !seen.insert(tensor.clone()) {
                continue;
            }
            if let Some(s) = by_name.get(tensor.as_str()) {
                kept.push(KeptFloat {
                    tensor: tensor.clone(),
                    node: s.node.clone(),
                    op: s.op.clone(),
                    reason: why.clone(),
                });
            }
            for consumer in model.nodes.iter().filter(|n| n.inputs.contains(&tensor)) {
                for o in &consumer.outputs {
                    todo.push((o.clone(), format!("computed from `{tensor}`, kept float")));
                }
            }
        }
    }
    kept.sort_by(|a, b| a.tensor.cmp(&b.tensor));
    kept
}

/// Advice from the activations, beside the pixel rule's.
fn advice(stats: &[TensorStats], method: Calibration, dominated: usize) -> Vec<String> {
    let live: Vec<&TensorStats> = stats.iter().filter(|s| !s.float).collect();
    let heavy: Vec<&TensorStats> = live.iter().copied().filter(|s| s.tail > 2.0).collect();
    let mut lines = Vec::new();
    if !heavy.is_empty() {
        let mut groups: BTreeMap<String, usize> = BTreeMap::new();
        for s in &heavy {
            *groups.entry(group(&s.node)).or_default() += 1;
        }
        let list = groups
            .iter()
            .map(|(g, n)| format!("{g} ({n})"))
            .collect::<Vec<_>>()
            .join(", ");
        lines.push(format!(
            "{} of {} tensors have a max more than twice their 99.99th percentile (heavy tails, by node group: {list}): MinMax would spend their int8 range on a few outliers",
            heavy.len(),
            live.len()
        ));
    }
    if dominated > 0 {
        lines.push(format!(
            "{dominated} tensor(s) take their max or min from one image more than {:.0}% of the int8 span beyond any other: MinMax ranges follow that image",
            LEAD * 100.0
        ));
    }
    let head_heavy = heavy
        .iter()
        .filter(|s| group(&s.node) == last_group(stats))
        .count();
    if head_heavy > 0 && matches!(method, Calibration::Percentile(p) if p > 99.99) {
        lines.push(format!(
            "{head_heavy} heavy-tailed tensor(s) are in the last node group {} (the head): the domain rule allows it a tighter percentile (99.99 or 99.5) than the backbone",
            last_group(stats)
        ));
    }
    if lines.is_empty() {
        lines.push(
            "no heavy tails and no single-image ranges: MinMax and Percentile agree closely".into(),
        );
    }
    lines
}

/// A node's group: the first path component of its name (`/model.22/…` →
/// `/model.22`), or the name itself.
fn group(node: &str) -> String {
    let trimmed = node.trim_start_matches('/');
    match trimmed.split_once('/') {
        Some((first, _)) if node.starts_with('/') => format!("/{first}"),
        Some((first, _)) => first.to_owned(),
        None => node.to_owned(),
    }
}

/// The group of the last tensor (the head, in a detector).
fn last_group(stats: &[TensorStats]) -> String {
    stats
        .iter()
        .rev()
        .find(|s| s.op != "Input" && !s.float)
        .map_or_else(String::new, |s| group(&s.node))
}

/// The tensors of `stats` to keep float ([`kept_float`]), each marked
/// [`TensorStats::float`].
fn mark_float(model: &Model, stats: &mut [TensorStats]) -> Vec<KeptFloat> {
    let float = kept_float(model, stats);
    let float_names: HashSet<&str> = float.iter().map(|k| k.tensor.as_str()).collect();
    for s in stats {
        s.float = float_names.contains(s.name.as_str());
    }
    float
}

/// How far the set's two halves put the `live` (int8) tensors apart: the
/// counts over [`DRIFT_WARN`] and [`DRIFT_FAIL`], the verdict and the ten
/// worst.
fn stability(probe: &Probe, live: &[&TensorStats]) -> TensorStability {
    let count = |f: &dyn Fn(&TensorStats) -> bool| live.iter().filter(|s| f(s)).count();
    let mut worst: Vec<Drift> = live
        .iter()
        .filter(|s| s.drift > DRIFT_WARN || s.drift_minmax > DRIFT_WARN)
        .map(|s| Drift {
            tensor: s.name.clone(),
            op: s.op.clone(),
            drift: s.drift,
            drift_minmax: s.drift_minmax,
        })
        .collect();
    worst.sort_by(|a, b| b.drift.total_cmp(&a.drift).then(a.tensor.cmp(&b.tensor)));
    worst.truncate(10);
    let over_15 = count(&|s| s.drift > DRIFT_FAIL);
    let over_10 = count(&|s| s.drift > DRIFT_WARN);
    let halves = [0u8, 1].map(|h| probe.half_of.iter().filter(|&&x| x == h).count());
    TensorStability {
        halves,
        over_10,
        over_15,
        minmax_over_10: count(&|s| s.drift_minmax > DRIFT_WARN),
        minmax_over_15: count(&|s| s.drift_minmax > DRIFT_FAIL),
        verdict: if over_15 as f64 > UNSTABLE_SHARE * live.len() as f64 {
            "unstable"
        } else if over_10 > 0 {
            "borderline"
        } else {
            "stable"
        },
        worst,
    }
}

/// The ten images that set the most `live` tensors' extremes on their own
/// (a lead over [`LEAD`]), and how many tensors have such an extreme.
fn dominant(live: &[&TensorStats], images: &[ProbeImage]) -> (Vec<Dominant>, usize) {
    let mut leads: BTreeMap<PathBuf, usize> = BTreeMap::new();
    let mut dominated = 0;
    for s in live {
        let mut any = false;
        for e in [&s.max_image, &s.min_image] {
            if e.lead > LEAD {
                *leads.entry(e.image.clone()).or_default() += 1;
                any = true;
            }
        }
        dominated += usize::from(any);
    }
    let bucket_of: HashMap<&PathBuf, Option<Bucket>> =
        images.iter().map(|i| (&i.name, i.bucket)).collect();
    let mut dominant: Vec<Dominant> = leads
        .into_iter()
        .map(|(image, tensors)| Dominant {
            bucket: bucket_of.get(&image).copied().flatten(),
            image,
            tensors,
        })
        .collect();
    dominant.sort_by(|a, b| b.tensors.cmp(&a.tensors).then(a.image.cmp(&b.image)));
    dominant.truncate(10);
    (dominant, dominated)
}

/// The analysis of `probe` of `model` over `images`, for `method`.
pub(super) fn analyse(
    model: &Model,
    probe: &Probe,
    images: &[ProbeImage],
    method: Calibration,
    method_from_recipe: bool,
) -> Analysis {
    let whole = probe.whole();
    let mut stats: Vec<TensorStats> = (0..probe.tensors.len())
        .map(|t| tensor_stats(probe, images, &whole, t, method))
        .collect();
    let float = mark_float(model, &mut stats);
    let live: Vec<&TensorStats> = stats.iter().filter(|s| !s.float).collect();
    let stability = stability(probe, &live);
    let (dominant, dominated) = dominant(&live, images);
    let (name, percentile) = match method {
        Calibration::Percentile(p) => ("percentile", Some(p)),
        _ => ("minmax", None),
    };
    let blake3 = model
        .hash
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    let report = ModelReport {
        path: model.path.clone(),
        blake3: blake3.clone(),
        images: images.len(),
        tensors: stats.len(),
        method: name,
        percentile,
        method_from_recipe,
        stability,
        dominant,
        advice: advice(&stats, method, dominated),
        float,
        non_finite: stats.iter().map(|s| s.non_finite).sum(),
        coverage: None,
    };
    let ranges = RangesFile {
        schema: RANGES_SCHEMA,
        model: model.path.clone(),
        model_blake3: blake3,
        input: InputInfo {
            name: probe.tensors[0].name.clone(),
            shape: model.input_shape.clone(),
        },
        images: images.len(),
        method: MethodInfo { name, percentile },
        histogram_bins: BINS,
        tensors: stats,
    };
    Analysis { report, ranges }
}
