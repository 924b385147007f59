//! The tuning sections: `[dedup]`, `[sequences]`, `[stability]`, `[quality]`
//! and `[limits]`. Each value must lie in the range its setting can take;
//! absent values keep their defaults.

use toml::Spanned;

use super::Checker;
use crate::decode::Limits;
use crate::dedup::SequencePlan;
use crate::dedup::{DedupSettings, Threshold};
use crate::features::Thresholds;
use crate::pattern::PathPattern;
use crate::recipe::raw::{RawDuration, RawRecipe};

/// `[dedup]`: `similarity` in (0, 1] or `max_distance` from 0 to 64 bits, not
/// both.
pub(super) fn dedup(c: &mut Checker<'_, '_>, raw: &RawRecipe) -> DedupSettings {
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

/// `[sequences]`: `every` a duration above 0, `fps` above 0, `match` patterns
/// that parse.
pub(super) fn sequences(c: &mut Checker<'_, '_>, raw: &RawRecipe) -> SequencePlan {
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

/// `[stability] threshold`: a share above 0; defaults to
/// [`crate::stability::DEFAULT_THRESHOLD`].
pub(super) fn stability_threshold(c: &mut Checker<'_, '_>, raw: &RawRecipe) -> f64 {
    match &raw.stability.threshold {
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
    }
}

/// `[quality]`: each threshold within the range its signal can take.
pub(super) fn quality(c: &mut Checker<'_, '_>, raw: &RawRecipe) -> Thresholds {
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

/// `[limits]`: `max_megapixels` above 0 and at most a million.
pub(super) fn limits(c: &mut Checker<'_, '_>, raw: &RawRecipe) -> Limits {
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
