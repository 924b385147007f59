//! `[[rules]]`: each rule must match something (`match`, `where`, `when`) and do
//! something (`bucket`, `tags`, `camera`, `fps`), with patterns, globs, measured
//! tags and frame rates that are valid.

use toml::Spanned;

use super::Checker;
use crate::features::MEASURED_TAGS;
use crate::pattern::PathPattern;
use crate::recipe::Rule;
use crate::recipe::raw::{RawRecipe, RawRule};

/// Every `[[rules]]` entry, in file order; a rule whose `match` pattern does not
/// parse is left out (its problems are reported).
pub(super) fn rules(c: &mut Checker<'_, '_>, raw: &RawRecipe) -> Vec<Rule> {
    raw.rules
        .iter()
        .enumerate()
        .filter_map(|(i, rule)| self::rule(c, &format!("rules[{i}]"), rule))
        .collect()
}

/// One rule, reported under `key` (`rules[i]`).
fn rule(c: &mut Checker<'_, '_>, key: &str, rule: &Spanned<RawRule>) -> Option<Rule> {
    let r = rule.get_ref();
    if r.bucket.is_none() && r.tags.is_empty() && r.camera.is_none() && r.fps.is_none() {
        c.at_key(
            rule,
            key,
            "does nothing: give it a `bucket`, `tags`, `camera` or `fps`",
        );
    }
    if r.pattern.is_none() && r.conditions.is_empty() && r.when.is_none() {
        c.at_key(
            rule,
            key,
            "matches nothing: give it a `match` pattern, `where` or `when` conditions",
        );
    }
    let when = when(c, key, r);
    let conditions = conditions(c, key, r);
    let pattern = match &r.pattern {
        Some(p) => c.pattern(p, &format!("{key}.match")),
        None => PathPattern::new("**").ok(),
    }?;
    let fps = fps(c, key, r);
    Some(Rule {
        pattern,
        conditions,
        when,
        fps,
        bucket: r.bucket,
        tags: r.tags.clone(),
        camera: r.camera.clone(),
    })
}

/// `when`: labels the image must all carry — tags and classes from folders,
/// the manifest or annotations, `field=value`, or measured tags (`auto:…`,
/// each one of [`MEASURED_TAGS`]). Unknown measured tags and empty keys are
/// reported but kept.
fn when(c: &mut Checker<'_, '_>, key: &str, r: &RawRule) -> Vec<String> {
    let when: Vec<String> = r
        .when
        .as_ref()
        .map_or_else(Vec::new, |w| w.get_ref().to_vec());
    if let Some(w) = &r.when {
        for t in &when {
            if t.trim().is_empty() {
                c.at_key(w, &format!("{key}.when"), "an empty label matches nothing");
            } else if t.starts_with("auto:") && !MEASURED_TAGS.contains(&t.as_str()) {
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
    }
    when
}

/// `where`: metadata field (lowercased) → compiled glob; invalid globs are
/// reported and left out.
fn conditions(
    c: &mut Checker<'_, '_>,
    key: &str,
    r: &RawRule,
) -> Vec<(String, globset::GlobMatcher)> {
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
    conditions
}

/// `fps`: a frame rate above 0.
fn fps(c: &mut Checker<'_, '_>, key: &str, r: &RawRule) -> Option<f64> {
    r.fps.as_ref().and_then(|f| {
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
    })
}
