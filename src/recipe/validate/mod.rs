//! From [`RawRecipe`] to [`Recipe`]: every rule a recipe must follow, each
//! violation reported as a [`Problem`] at the offending key.
//!
//! This module owns the [`Checker`] that collects problems and the order of the
//! checks; each recipe section is checked in its own file: [`buckets`] (`total`,
//! `split`, `[buckets]`, `[classes]`), [`sources`] (`[sources]`, `[camera]`,
//! `[output]`, `[annotations]`, `[video]`), [`rules`] (`[[rules]]`) and
//! [`settings`] (`[dedup]`, `[sequences]`, `[stability]`, `[quality]`,
//! `[limits]`) and [`handoff`] (`[tensor]`, `[export]`).

mod buckets;
mod handoff;
mod rules;
mod settings;
mod sources;

use std::path::{Path, PathBuf};

use toml::Spanned;

use super::raw::RawRecipe;
use super::span::SourceMap;
use super::{Problem, Recipe};
use crate::pattern::PathPattern;

pub(crate) use buckets::largest_remainder;

/// Largest image count a recipe may ask for (total, bucket, quota, minimum).
const MAX_COUNT: usize = 10_000_000;

/// Collects problems while validating.
struct Checker<'a, 'b> {
    source: &'b SourceMap<'a>,
    problems: Vec<Problem>,
}

impl Checker<'_, '_> {
    /// Reports `message` at `value`, under the dotted `key`.
    fn at_key<T>(&mut self, value: &Spanned<T>, key: &str, message: impl Into<String>) {
        let p = self
            .source
            .problem_with_key(value.span().start, key.to_owned(), message.into());
        self.problems.push(p);
    }

    /// Reports `message` about the absent `key`, at the start of the file.
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

    /// A path pattern, or `None` (and a problem) when it does not parse.
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

/// Checks `raw` (parsed from `source`, read from `path`) and builds the
/// [`Recipe`], or returns every problem found, sorted by position.
///
/// The steps run in a fixed order: problems at the same position keep it, and
/// the missing-`total` hint only shows when the steps before it found nothing.
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

    let name = name(&mut c, &raw, stem);
    let seed = seed(&mut c, &raw);
    let mut split = None;
    let mut buckets = buckets::bucket_plans(&mut c, &raw, &mut split);
    let classes = buckets::class_plan(&mut c, &raw, &mut buckets);
    let total = buckets::total(&mut c, &raw, &buckets);
    let sources = sources::sources(&mut c, &raw, &base_dir);
    let camera = sources::camera(&mut c, &raw);
    let dedup = settings::dedup(&mut c, &raw);
    let sequences = settings::sequences(&mut c, &raw);
    let ffmpeg = sources::ffmpeg(&raw, &base_dir);
    let rules = rules::rules(&mut c, &raw);
    let output = sources::output(&raw, &base_dir);
    let annotations = sources::annotations(&mut c, &raw, &base_dir);
    let stability_threshold = settings::stability_threshold(&mut c, &raw);
    let quality = settings::quality(&mut c, &raw);
    let limits = settings::limits(&mut c, &raw);
    let tensor = handoff::tensor(&mut c, &raw);
    let exports = handoff::exports(&mut c, &raw, tensor.is_some());
    let resave = handoff::resave(&mut c, &raw);
    let model = handoff::model(&mut c, &raw, &base_dir, tensor.is_some());

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
        tensor,
        model,
        exports,
        resave,
    })
}

/// `name`: not blank; defaults to the file `stem`.
fn name(c: &mut Checker<'_, '_>, raw: &RawRecipe, stem: String) -> String {
    match &raw.name {
        Some(n) if n.get_ref().trim().is_empty() => {
            c.at_key(n, "name", "must not be empty");
            stem
        }
        Some(n) => n.get_ref().clone(),
        None => stem,
    }
}

/// `seed`: 0 or more; defaults to 0.
fn seed(c: &mut Checker<'_, '_>, raw: &RawRecipe) -> u64 {
    match &raw.seed {
        Some(s) => u64::try_from(*s.get_ref()).unwrap_or_else(|_| {
            c.at_key(s, "seed", "must be 0 or more");
            0
        }),
        None => 0,
    }
}
