//! What an image is, for selection: its [`Bucket`], tags, classes, camera and
//! metadata ([`Labels`]), and where its bucket came from ([`Origin`]). Shared by
//! every stage; imports nothing of calibset's.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::{Index, IndexMut};

use serde::{Deserialize, Serialize};

/// The three kinds of images a calibration set mixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    /// Typical positives: what the model sees most of the time.
    Normal,
    /// Hard positives: night, backlight, rain/fog, blur, far-small, heavy JPEG.
    Hard,
    /// Background: no target at all.
    Background,
}

impl Bucket {
    /// All buckets, in report order.
    pub const ALL: [Bucket; 3] = [Bucket::Normal, Bucket::Hard, Bucket::Background];

    /// The lowercase name used in recipes, manifests and output folders.
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Normal => "normal",
            Bucket::Hard => "hard",
            Bucket::Background => "background",
        }
    }

    /// Parses a bucket name (case-insensitive, surrounding spaces ignored).
    pub fn parse(s: &str) -> Option<Bucket> {
        Self::ALL
            .into_iter()
            .find(|b| b.as_str().eq_ignore_ascii_case(s.trim()))
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// One value per bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PerBucket<T> {
    /// The normal bucket's value.
    pub normal: T,
    /// The hard bucket's value.
    pub hard: T,
    /// The background bucket's value.
    pub background: T,
}

impl<T> PerBucket<T> {
    /// `(bucket, value)` pairs in bucket order.
    pub fn iter(&self) -> impl Iterator<Item = (Bucket, &T)> {
        Bucket::ALL.into_iter().map(move |b| (b, &self[b]))
    }
}

impl<T> Index<Bucket> for PerBucket<T> {
    type Output = T;
    fn index(&self, b: Bucket) -> &T {
        [&self.normal, &self.hard, &self.background][b.index()]
    }
}

impl<T> IndexMut<Bucket> for PerBucket<T> {
    fn index_mut(&mut self, b: Bucket) -> &mut T {
        match b {
            Bucket::Normal => &mut self.normal,
            Bucket::Hard => &mut self.hard,
            Bucket::Background => &mut self.background,
        }
    }
}

/// Where an image's bucket came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "index")]
pub(crate) enum Origin {
    /// A row of the recipe's manifest.
    Manifest,
    /// The `[[rules]]` entry with this 0-based index.
    Rule(usize),
    /// The recipe's annotations (no objects: background; objects: a positive).
    Annotation,
    /// The recipe's `default_bucket`.
    Default,
    /// Nothing bucketed the image.
    None,
}

/// What an image is, for selection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Labels {
    /// The bucket, if any source gave one.
    pub bucket: Option<Bucket>,
    /// Tags, sorted.
    pub tags: BTreeSet<String>,
    /// Object classes (from the manifest or annotations), sorted.
    pub classes: BTreeSet<String>,
    /// Camera name, if known.
    pub camera: Option<String>,
    /// Capture time in seconds, when known (manifest `time`, video timestamp).
    pub time: Option<f64>,
    /// The manifest's `time` as written, which the lock keeps.
    pub time_written: Option<String>,
    /// Frame rate of its sequence, when a rule sets one.
    pub fps: Option<f64>,
    /// Other fields: manifest columns and `{name}` captures of path patterns.
    pub meta: BTreeMap<String, String>,
    /// Measured tags (`auto:dark`, …) from the image's quality signals.
    pub measured: BTreeSet<String>,
    /// Where the bucket came from.
    pub origin: Origin,
    /// The `[[rules]]` entry that matched the image (0-based), if any.
    pub rule: Option<usize>,
    /// A photo, never a video frame unless `sequences.match` declares it: an
    /// annotation source lists it.
    pub still: bool,
}

impl Labels {
    /// Unlabelled.
    pub(crate) fn empty() -> Self {
        Labels {
            bucket: None,
            tags: BTreeSet::new(),
            classes: BTreeSet::new(),
            camera: None,
            time: None,
            time_written: None,
            fps: None,
            meta: BTreeMap::new(),
            measured: BTreeSet::new(),
            origin: Origin::None,
            rule: None,
            still: false,
        }
    }

    /// Whether the image carries `key`, as quota and minimum keys name it: a tag, a
    /// class, a measured tag (`auto:dark`), or `field=value` on its metadata
    /// (`camera=cam01`, `weather=rain`).
    pub(crate) fn has(&self, key: &str) -> bool {
        match key.split_once('=') {
            Some((field, value)) => self.field(field.trim()) == Some(value.trim()),
            None => {
                self.tags.contains(key) || self.classes.contains(key) || self.measured.contains(key)
            }
        }
    }

    /// Tags joined with `;`, as manifests and reports write them.
    pub(crate) fn tags_joined(&self) -> String {
        self.tags.iter().cloned().collect::<Vec<_>>().join(";")
    }

    /// A metadata field's value; `camera` is one too.
    pub(crate) fn field(&self, name: &str) -> Option<&str> {
        match name {
            "camera" => self.camera.as_deref(),
            _ => self.meta.get(name).map(String::as_str),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_honour_width() {
        assert_eq!(
            format!("{:<8}|{:>7}", Bucket::Hard, Bucket::Normal),
            "hard    | normal"
        );
    }

    #[test]
    fn parses_bucket_names() {
        assert_eq!(Bucket::parse(" Hard "), Some(Bucket::Hard));
        assert_eq!(Bucket::parse("background"), Some(Bucket::Background));
        assert_eq!(Bucket::parse("bg"), None);
    }

    #[test]
    fn per_bucket_indexes() {
        let mut p = PerBucket::<u32>::default();
        p[Bucket::Hard] = 3;
        assert_eq!(p.hard, 3);
        assert_eq!(p.iter().map(|(_, v)| *v).sum::<u32>(), 3);
    }
}
