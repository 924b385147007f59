//! `calibset index`: measure one shard of a recipe's pool into the feature
//! index (Parquet), the data product `build --index` and `audit --index` read
//! instead of decoding.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use serde::Serialize;

use super::BuildError;
use crate::feature_index::{self, Shard};
use crate::inventory::{self, Issue, MeasureSummary};
use crate::progress::Progress;
use crate::recipe::Recipe;

/// What [`index`] measures and where it writes.
#[derive(Debug, Clone)]
pub struct IndexOptions {
    /// The index folder; the shard is written there as
    /// `part-<i>-of-<n>.parquet`.
    pub out: PathBuf,
    /// Which part of the pool (default: all of it, as shard 0/1).
    pub shard: Shard,
    /// Cache folder; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
}

/// What one `calibset index` run did.
#[derive(Debug, Clone, Serialize)]
pub struct IndexReport {
    /// The JSON layout's version ([`crate::schema::SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The recipe's name.
    pub recipe: String,
    /// The shard, as `i/n`.
    pub shard: String,
    /// The Parquet file written.
    pub file: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Rows written: files measured, usable or not.
    pub rows: usize,
    /// Usable images among them.
    pub images: usize,
    /// Videos of the shard, and the frames taken from them.
    pub videos: usize,
    /// Frames extracted from the shard's videos.
    pub video_frames: usize,
    /// Files that could not be measured (those of them that belong to the
    /// file's bytes are indexed too, so a build reports them without reading).
    pub issues: Vec<Issue>,
    /// Where the measurements came from.
    pub measure: MeasureSummary,
    /// Seconds the run took.
    pub seconds: f64,
    /// Non-fatal warnings.
    pub warnings: Vec<String>,
}

/// Measures shard `opts.shard` of `recipe`'s pool and writes it to the index
/// folder `opts.out` (atomically: a reader sees the old shard or the new one).
pub fn index(
    recipe: &Recipe,
    opts: &IndexOptions,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<IndexReport, BuildError> {
    let start = Instant::now();
    feature_index::available(&opts.out)?;
    // The index is not part of the pool: never written into it.
    let out = crate::paths::normalize(
        &std::path::absolute(&opts.out).unwrap_or_else(|_| opts.out.clone()),
    );
    let real_out = crate::paths::resolved(&out);
    for root in &recipe.sources.roots {
        if out.starts_with(root) || real_out.starts_with(crate::paths::resolved(root)) {
            return Err(BuildError::OutputOverlapsRoot {
                out: opts.out.clone(),
                root: root.clone(),
            });
        }
    }
    let inventory_options = inventory::Options {
        cache_dir: opts.cache_dir.as_deref(),
        save_cache: true,
        keep_unbucketed: true,
        index: None,
    };
    let shard = inventory::index_shard(
        &super::inventory_settings(recipe),
        &inventory_options,
        opts.shard,
        progress,
        cancel,
    )?;
    crate::cancel::check(cancel).map_err(|_| BuildError::Interrupted)?;
    let rows = shard.rows.len();
    let images = shard
        .rows
        .iter()
        .filter(|r| r.measured.result.is_ok())
        .count();
    let written = feature_index::write(&opts.out, opts.shard, shard.rows)?;
    Ok(IndexReport {
        schema_version: crate::schema::SCHEMA_VERSION,
        recipe: recipe.name.clone(),
        shard: opts.shard.to_string(),
        file: written.path.display().to_string(),
        bytes: written.bytes,
        rows,
        images,
        videos: shard.summary.videos,
        video_frames: shard.summary.video_frames,
        issues: shard.summary.issues,
        measure: shard.measure,
        seconds: start.elapsed().as_secs_f64(),
        warnings: shard.warnings,
    })
}

impl IndexReport {
    /// The report as pretty JSON, with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("report serialises");
        s.push('\n');
        s
    }

    /// The report as text.
    pub fn write_text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "indexed shard {} of {}: {} files, {} usable images, {} skipped",
            self.shard,
            self.recipe,
            self.rows,
            self.images,
            self.issues.len()
        )?;
        if self.videos > 0 {
            writeln!(
                out,
                "  videos: {} ({} frames)",
                self.videos, self.video_frames
            )?;
        }
        let per_row = self.bytes.checked_div(self.rows as u64).unwrap_or(0);
        writeln!(
            out,
            "  wrote {} ({} bytes, {per_row} per file)",
            self.file, self.bytes
        )?;
        writeln!(
            out,
            "  measured: {} decoded, {} from cache, in {:.2} s",
            self.measure.decoded, self.measure.from_cache, self.seconds
        )?;
        for issue in self.issues.iter().take(10) {
            writeln!(out, "  skipped {}: {}", issue.path, issue.message)?;
        }
        if self.issues.len() > 10 {
            writeln!(out, "  … and {} more skipped", self.issues.len() - 10)?;
        }
        Ok(())
    }
}

/// Opens the feature index at `path` for a build or an audit.
pub(crate) fn open(path: Option<&Path>) -> Result<Option<feature_index::FeatureIndex>, BuildError> {
    path.map(feature_index::FeatureIndex::open)
        .transpose()
        .map_err(BuildError::from)
}
