//! From [`RawRecipe`] to [`Recipe`]: every rule a recipe must follow, each
//! violation reported as a [`Problem`] at the offending key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::raw::{RawBucket, RawDuration, RawRecipe, RawSplit};
use super::span::SourceMap;
use super::{BucketPlan, CameraPlan, ClassPlan, OutputPlan, Problem, Recipe, Rule, Sources};
use crate::decode::Limits;
use crate::dedup::{DedupSettings, Threshold};
use crate::features::{MEASURED_TAGS, Thresholds};
use crate::label::{Bucket, PerBucket};
use crate::paths;
use crate::pattern::PathPattern;
use crate::sequence::SequencePlan;

/// Largest image count a recipe may ask for (total, bucket, quota, minimum).
const MAX_COUNT: usize = 10_000_000;

/// Collects problems while validating.
struct Checker<'a, 'b> {
    source: &'b SourceMap<'a>,
    problems: Vec<Problem>,
}

impl Checker<'_, '_> {
    fn at_key<T>(&mut self, value: &Spanned<T>, key: &str, message: impl Into<String>) {
        let p = self
            .source
            .problem_with_key(value.span().start, key.to_owned(), message.into());
        self.problems.push(p);
    }

    fn missing(&mut self, key: &str, message: impl Into<String>) {
        let p = self
            .source
            .problem_with_key(0, key.to_owned(), message.into());
        self.problems.push(p);
    }

    /// A count of images: 0 to [`MAX_COUNT`].
    fn count(&mut self, value: &Spanned<i64>, key: &str) -> usize {
        match usize::try_from(*value.get_ref()) {
            Ok(n) if n > MAX_COUNT => {
                self.at_key(value, key, format!("must be at most {MAX_COUNT}, not {n}"));
                0
            }
            Ok(n) => n,
            Err(_) => {
                self.at_key(
                    value,
                    key,
                    format!("must be 0 or more, not {}", value.get_ref()),
                );
                0
            }
        }
    }

    fn pattern(&mut self, value: &Spanned<String>, key: &str) -> Option<PathPattern> {
        match PathPattern::new(value.get_ref()) {
            Ok(p) => Some(p),
            Err(e) => {
                self.at_key(value, key, format!("{e} in `{}`", value.get_ref()));
                None
            }
        }
    }
}

pub(super) fn validate(
    raw: RawRecipe,
    source: &SourceMap<'_>,
    path: &Path,
    base_dir: PathBuf,
    stem: String,
) -> Result<Recipe, Vec<Problem>> {
    let mut c = Checker {
        source,
        problems: Vec::new(),
    };

    let name = match &raw.name {
        Some(n) if n.get_ref().trim().is_empty() => {
            c.at_key(n, "name", "must not be empty");
            stem
        }
        Some(n) => n.get_ref().clone(),
        None => stem,
    };
    let seed = match &raw.seed {
        Some(s) => u64::try_from(*s.get_ref()).unwrap_or_else(|_| {
            c.at_key(s, "seed", "must be 0 or more");
            0
        }),
        None => 0,
    };

    let mut split = None;
    let mut buckets = bucket_plans(&mut c, &raw, &mut split);
    let classes = class_plan(&mut c, &raw, &mut buckets);
    let total = buckets.iter().map(|(_, b)| b.count).sum::<usize>();
    if let Some(t) = &raw.total {
        let wanted = c.count(t, "total");
        if wanted == 0 {
            c.at_key(t, "total", "must be at least 1");
        } else if raw.split.is_none() && total != wanted {
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

    let sources = sources(&mut c, &raw, &base_dir);
    let camera = CameraPlan {
        from: raw.camera.from.as_ref().and_then(|f| {
            let p = c.pattern(f, "camera.from")?;
            if !p.capture_names().any(|n| n == "camera") {
                c.at_key(
                    f,
                    "camera.from",
                    "needs a `{camera}` capture, e.g. `frames/{camera}/**`",
                );
            }
            Some(p)
        }),
        min: raw
            .camera
            .min
            .as_ref()
            .map_or(0, |m| c.count(m, "camera.min")),
    };

    let dedup = dedup(&mut c, &raw);
    let sequences = sequences(&mut c, &raw);
    let ffmpeg = raw
        .video
        .ffmpeg
        .as_ref()
        .map(|f| paths::normalize(&base_dir.join(f.get_ref())));

    let mut rules = Vec::new();
    for (i, rule) in raw.rules.iter().enumerate() {
        let r = rule.get_ref();
        let key = format!("rules[{i}]");
        if r.bucket.is_none() && r.tags.is_empty() && r.camera.is_none() && r.fps.is_none() {
            c.at_key(
                rule,
                &key,
                "does nothing: give it a `bucket`, `tags`, `camera` or `fps`",
            );
        }
        if r.pattern.is_none() && r.conditions.is_empty() && r.when.is_none() {
            c.at_key(
                rule,
                &key,
                "matches nothing: give it a `match` pattern, `where` or `when` conditions",
            );
        }
        let when: Vec<String> = r
            .when
            .as_ref()
            .map_or_else(Vec::new, |w| w.get_ref().to_vec());
        if let Some(w) = &r.when {
            for t in when.iter().filter(|t| !MEASURED_TAGS.contains(&t.as_str())) {
                c.at_key(
                    w,
                    &format!("{key}.when"),
                    format!(
                        "unknown measured tag `{t}`, expected one of {}",
                        MEASURED_TAGS.join(", ")
                    ),
                );
            }
        }
        let mut conditions = Vec::new();
        for (field, glob) in &r.conditions {
            match globset::Glob::new(glob.get_ref()) {
                Ok(g) => conditions.push((field.to_ascii_lowercase(), g.compile_matcher())),
                Err(e) => c.at_key(
                    glob,
                    &format!("{key}.where.{field}"),
                    format!("invalid glob: {} in `{}`", e.kind(), glob.get_ref()),
                ),
            }
        }
        let pattern = match &r.pattern {
            Some(p) => c.pattern(p, &format!("{key}.match")),
            None => PathPattern::new("**").ok(),
        };
        if let Some(pattern) = pattern {
            let fps = r.fps.as_ref().and_then(|f| {
                let v = *f.get_ref();
                if v.is_finite() && v > 0.0 {
                    Some(v)
                } else {
                    c.at_key(
                        f,
                        &format!("{key}.fps"),
                        format!("must be above 0, not {v}"),
                    );
                    None
                }
            });
            rules.push(Rule {
                pattern,
                conditions,
                when,
                fps,
                bucket: r.bucket,
                tags: r.tags.clone(),
                camera: r.camera.clone(),
            });
        }
    }

    let output = OutputPlan {
        dir: raw
            .output
            .dir
            .as_ref()
            .map(|d| paths::normalize(&base_dir.join(d.get_ref()))),
        mode: raw.output.mode.unwrap_or_default(),
        layout: raw.output.layout.unwrap_or_default(),
    };

    let annotations = annotations(&mut c, &raw, &base_dir);
    let stability_threshold = match &raw.stability.threshold {
        None => crate::stability::DEFAULT_THRESHOLD,
        Some(t) if t.get_ref().is_finite() && *t.get_ref() > 0.0 => *t.get_ref(),
        Some(t) => {
            c.at_key(
                t,
                "stability.threshold",
                "must be a share above 0, e.g. 0.10",
            );
            crate::stability::DEFAULT_THRESHOLD
        }
    };
    let quality = quality(&mut c, &raw);
    let limits = limits(&mut c, &raw);
    if !c.problems.is_empty() {
        c.problems.sort_by_key(|p| (p.line, p.column));
        return Err(c.problems);
    }
    Ok(Recipe {
        path: path.to_owned(),
        text: source.text().to_owned(),
        base_dir,
        name,
        seed,
        total,
        buckets,
        split,
        shortfall: raw.shortfall.unwrap_or_default(),
        default_bucket: raw.default_bucket,
        sources,
        camera,
        dedup,
        sequences,
        ffmpeg,
        quality,
        limits,
        stability_threshold,
        annotations,
        rules,
        classes,
        output,
    })
}

/// `[quality]`: each threshold within the range its signal can take.
fn quality(c: &mut Checker<'_, '_>, raw: &RawRecipe) -> Thresholds {
    let q = &raw.quality;
    let mut t = Thresholds::default();
    let mut number = |value: &Option<Spanned<f64>>, key: &str, max: f64, what: &str| {
        let v = value.as_ref()?;
        let x = *v.get_ref();
        if x.is_finite() && (0.0..=max).contains(&x) {
            Some(x as f32)
        } else {
            c.at_key(
                v,
                &format!("quality.{key}"),
                format!("must be {what}, not {x}"),
            );
            None
        }
    };
    let luma = "a luma level from 0 to 255";
    let share = "a share from 0 to 1";
    if let Some(v) = number(&q.dark, "dark", 255.0, luma) {
        t.dark = v;
    }
    if let Some(v) = number(&q.overexposed, "overexposed", 1.0, share) {
        t.overexposed = v;
    }
    if let Some(v) = number(&q.backlit, "backlit", 1.0, share) {
        t.backlit = v;
    }
    if let Some(v) = number(&q.low_contrast, "low_contrast", 255.0, luma) {
        t.low_contrast = v;
    }
    if let Some(v) = number(&q.blurry, "blurry", f64::MAX, "a ratio of 0 or more") {
        t.blurry = v;
    }
    if let Some(v) = number(
        &q.low_information,
        "low_information",
        8.0,
        "bits from 0 to 8",
    ) {
        t.low_information = v;
    }
    if let Some(v) = number(&q.grayscale, "grayscale", f64::MAX, "0 or more") {
        t.grayscale = v;
    }
    if let Some(v) = &q.lowq {
        match u8::try_from(*v.get_ref()) {
            Ok(n) if n <= 100 => t.lowq = n,
            _ => c.at_key(
                v,
                "quality.lowq",
                format!("must be a JPEG quality from 0 to 100, not {}", v.get_ref()),
            ),
        }
    }
    t
}

/// `[limits]`.
fn limits(c: &mut Checker<'_, '_>, raw: &RawRecipe) -> Limits {
    let mut limits = Limits::default();
    if let Some(v) = &raw.limits.max_megapixels {
        let x = *v.get_ref();
        if x.is_finite() && x > 0.0 && x <= 1e6 {
            limits.max_pixels = (x * 1e6).round() as u64;
        } else {
            c.at_key(
                v,
                "limits.max_megapixels",
                format!("must be above 0 (megapixels, e.g. 100), not {x}"),
            );
        }
    }
    limits
}

/// `[classes]`: one class slot per required class in the chosen bucket.
fn class_plan(
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
fn bucket_plans(
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

fn bucket_plan(
    c: &mut Checker<'_, '_>,
    bucket: Bucket,
    rb: &RawBucket,
    count: usize,
) -> BucketPlan {
    let mut plan = BucketPlan {
        count,
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
                c.at_key(
                    w,
                    &format!("split.{bucket}"),
                    format!("weight must be a number from 0 to {MAX_WEIGHT}, not {v}"),
                );
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

/// Largest `split` weight accepted.
const MAX_WEIGHT: f64 = 1e6;

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

fn sources(c: &mut Checker<'_, '_>, raw: &RawRecipe, base: &Path) -> Sources {
    let roots = match &raw.sources.roots {
        Some(r) if r.get_ref().is_empty() => {
            c.at_key(r, "sources.roots", "must name at least one folder");
            Vec::new()
        }
        Some(r) => r
            .get_ref()
            .iter()
            .map(|p| paths::normalize(&base.join(p.get_ref())))
            .collect(),
        None => {
            c.missing(
                "sources.roots",
                "missing: add `[sources]` with `roots = [\"folder\", ...]`",
            );
            Vec::new()
        }
    };
    let exclude = raw
        .sources
        .exclude
        .iter()
        .enumerate()
        .filter_map(|(i, p)| c.pattern(p, &format!("sources.exclude[{i}]")))
        .collect();
    Sources {
        roots,
        allow_outside: raw.sources.allow_outside.unwrap_or(false),
        follow_symlinks: raw.sources.follow_symlinks.unwrap_or(false),
        manifest: raw
            .sources
            .manifest
            .as_ref()
            .map(|m| base.join(m.get_ref())),
        exclude,
    }
}

fn dedup(c: &mut Checker<'_, '_>, raw: &RawRecipe) -> DedupSettings {
    let d = &raw.dedup;
    let mut settings = DedupSettings::default();
    match (&d.similarity, &d.max_distance) {
        (Some(s), Some(_)) => {
            c.at_key(
                s,
                "dedup.similarity",
                "set either `similarity` or `max_distance`, not both",
            );
        }
        (Some(s), None) => {
            let v = *s.get_ref();
            if v > 0.0 && v <= 1.0 {
                settings.threshold = Threshold::Similarity(v as f32);
            } else {
                c.at_key(s, "dedup.similarity", format!("must be in (0, 1], not {v}"));
            }
        }
        (None, Some(m)) => match u32::try_from(*m.get_ref()) {
            Ok(v) if v <= 64 => settings.threshold = Threshold::MaxDistance(v),
            _ => c.at_key(
                m,
                "dedup.max_distance",
                format!("must be 0 to 64 bits, not {}", m.get_ref()),
            ),
        },
        (None, None) => {}
    }
    if let Some(scope) = d.scope {
        settings.scope = scope;
    }
    if let Some(exact) = d.exact {
        settings.exact = exact;
    }
    if let Some(grouping) = d.grouping {
        settings.grouping = grouping;
    }
    settings
}

fn sequences(c: &mut Checker<'_, '_>, raw: &RawRecipe) -> SequencePlan {
    let r = &raw.sequences;
    let every = r.every.as_ref().and_then(|e| {
        let parsed = match e.get_ref() {
            RawDuration::Seconds(s) => Ok(*s),
            RawDuration::Text(t) => crate::video::parse_duration(t),
        };
        match parsed {
            Ok(s) if s.is_finite() && s > 0.0 => Some(s),
            Ok(s) => {
                c.at_key(
                    e,
                    "sequences.every",
                    format!("must be above 0 seconds, not {s}"),
                );
                None
            }
            Err(msg) => {
                c.at_key(e, "sequences.every", msg);
                None
            }
        }
    });
    let fps = r.fps.as_ref().and_then(|f| {
        let v = *f.get_ref();
        if v.is_finite() && v > 0.0 {
            Some(v)
        } else {
            c.at_key(f, "sequences.fps", format!("must be above 0, not {v}"));
            None
        }
    });
    let declared = r.pattern.as_ref().map(|m| {
        let patterns = m.get_ref().to_vec();
        let many = patterns.len() > 1;
        patterns
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let key = if many {
                    format!("sequences.match[{i}]")
                } else {
                    "sequences.match".to_owned()
                };
                PathPattern::new(p)
                    .map_err(|e| c.at_key(m, &key, format!("{e} in `{p}`")))
                    .ok()
            })
            .collect()
    });
    SequencePlan {
        every,
        fps,
        consecutive: r.consecutive.unwrap_or(true),
        declared,
    }
}

/// `[annotations]` with paths resolved. Defaults: deployment size 1280×720,
/// far-small below 32 px.
fn annotations(
    c: &mut Checker<'_, '_>,
    raw: &RawRecipe,
    base: &Path,
) -> Option<crate::annotations::AnnotationSpec> {
    let a = raw.annotations.as_ref()?.get_ref();
    let resolve = |p: &str| paths::normalize(&base.join(p));
    let deploy_size = match &a.deploy_size {
        None => (1280, 720),
        Some(d) => match d.get_ref().as_slice() {
            &[w, h] if w > 0 && h > 0 && w <= 65_535 && h <= 65_535 => (w as u32, h as u32),
            _ => {
                c.at_key(
                    d,
                    "annotations.deploy_size",
                    "must be [width, height] in pixels, e.g. [1280, 720]",
                );
                (1280, 720)
            }
        },
    };
    let small_box = match &a.small_box {
        None => 32.0,
        Some(v) if v.get_ref().is_finite() && *v.get_ref() >= 0.0 => *v.get_ref() as f32,
        Some(v) => {
            c.at_key(v, "annotations.small_box", "must be 0 or more pixels");
            32.0
        }
    };
    Some(crate::annotations::AnnotationSpec {
        format: a.format,
        path: resolve(a.path.get_ref()),
        images: a.images.as_deref().map(resolve),
        names: a.names.as_deref().map(resolve),
        deploy_size,
        small_box,
    })
}
