//! What reading the pool found: counts, skipped files with their reasons, and
//! cache use — the `pool` and `measure` parts of the report.

use serde::Serialize;

use crate::label::PerBucket;

/// What kind of problem kept a file (or a manifest row, an annotation, a
/// video) out of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssueKind {
    /// A zero-byte file.
    Empty,
    /// The bytes are no supported image format.
    NotAnImage,
    /// The data ends before the image does.
    Truncated,
    /// The decoder failed on damaged data.
    Corrupt,
    /// More decoding work than any real image needs (a JPEG scan bomb).
    TooComplex,
    /// More pixels than `limits.max_megapixels`.
    TooLarge,
    /// The file could not be read.
    Io,
    /// A folder entry could not be read while walking.
    Walk,
    /// A manifest row names a file that was not found.
    Missing,
    /// A problem with the annotations.
    Annotation,
    /// A video ffmpeg could not read.
    Video,
    /// A chosen file deleted, rewritten or made unreadable after it was
    /// measured (found by the look before writing; its slot is chosen again).
    Changed,
}

impl IssueKind {
    /// The kind as reports and JSON write it (`not-an-image`, `too-large`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            IssueKind::Empty => "empty",
            IssueKind::NotAnImage => "not-an-image",
            IssueKind::Truncated => "truncated",
            IssueKind::Corrupt => "corrupt",
            IssueKind::TooComplex => "too-complex",
            IssueKind::TooLarge => "too-large",
            IssueKind::Io => "io",
            IssueKind::Walk => "walk",
            IssueKind::Missing => "missing",
            IssueKind::Annotation => "annotation",
            IssueKind::Video => "video",
            IssueKind::Changed => "changed",
        }
    }
}

impl std::fmt::Display for IssueKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// A file that could not be used, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// Path relative to the recipe directory.
    pub path: String,
    /// What kind of problem.
    pub kind: IssueKind,
    /// Human explanation.
    pub message: String,
}

/// Counts from reading the pool.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PoolSummary {
    /// Image files found under the roots.
    pub scanned: usize,
    /// Skipped by `exclude` patterns.
    pub excluded: usize,
    /// Symlinked images and videos not followed (`sources.follow_symlinks`).
    pub symlinks_skipped: usize,
    /// Images no manifest row, rule or default bucketed (not used).
    pub unbucketed: usize,
    /// Video files found.
    pub videos: usize,
    /// Frames extracted from them.
    pub video_frames: usize,
    /// Up to 10 unbucketed paths, to help write rules.
    pub unbucketed_examples: Vec<String>,
    /// Usable images per bucket, before de-duplication.
    pub usable: PerBucket<usize>,
    /// Files skipped, with reasons (of the manifest rows whose file is
    /// missing, only the first few: see `missing`).
    pub issues: Vec<Issue>,
    /// Manifest rows whose file was not found under the roots (all of them;
    /// `issues` lists the first [`crate::manifest::MISSING_EXAMPLES`]).
    pub missing: usize,
    /// Readable images whose extension names another format.
    pub mislabelled: Vec<String>,
    /// Usable images per object class (manifest or annotations).
    pub classes: std::collections::BTreeMap<String, usize>,
}

impl PoolSummary {
    /// Files skipped: every issue, and the missing manifest rows not listed.
    pub fn skipped(&self) -> usize {
        self.issues.len() + self.missing_unlisted()
    }

    /// Manifest rows with a missing file that `issues` does not list.
    pub fn missing_unlisted(&self) -> usize {
        let listed = self
            .issues
            .iter()
            .filter(|i| i.kind == IssueKind::Missing)
            .count();
        self.missing.saturating_sub(listed)
    }

    /// Counts an unbucketed image, keeping the first few as examples.
    pub fn note_unbucketed(&mut self, rel: &str) {
        self.unbucketed += 1;
        if self.unbucketed_examples.len() < 10 {
            self.unbucketed_examples.push(rel.to_owned());
        }
    }
}

/// Counts from the measuring pass (absent from files written to disk: they vary
/// between cold and warm runs).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct MeasureSummary {
    /// Files whose features came from the cache (including files whose mtime
    /// changed but whose content hash still matched).
    pub from_cache: usize,
    /// Files whose features came from the feature index (`--index`).
    pub from_index: usize,
    /// Files decoded in this run.
    pub decoded: usize,
}

impl MeasureSummary {
    /// Counts one measurement by where it came from.
    pub(super) fn count(&mut self, origin: super::measure::Origin) {
        use super::measure::Origin;
        match origin {
            Origin::Cache | Origin::Verified => self.from_cache += 1,
            Origin::Index => self.from_index += 1,
            Origin::Decoded => self.decoded += 1,
        }
    }
}

impl std::fmt::Display for MeasureSummary {
    /// `12 from cache, 3 decoded`, with the index's share first when there is one.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.from_index > 0 {
            write!(f, "{} from index, ", self.from_index)?;
        }
        write!(
            f,
            "{} from cache, {} decoded",
            self.from_cache, self.decoded
        )
    }
}
