//! Buckets and labels: which bucket, tags and camera each image gets.
//!
//! An image's bucket and camera come from, in order of precedence:
//! 1. its row in the recipe's manifest (non-empty fields only),
//! 2. its annotations: no object → background; objects → a positive (the rule's
//!    `hard` or `normal`, else normal),
//! 3. the first `[[rules]]` entry whose `match` pattern matches its path and whose
//!    `where` and `when` conditions hold,
//! 4. the `camera.from` capture (camera only) and `default_bucket` (bucket only).
//!
//! Metadata are the manifest's extra columns plus the `{name}` captures of
//! `camera.from` and of the matching rule's pattern (`{camera}` names the camera).
//!
//! Its tags are the union of the manifest row's tags and the matching rule's tags:
//! folders usually say the condition (`night`), manifests the content (`vehicle`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::{Index, IndexMut};

use serde::{Deserialize, Serialize};

use crate::annotations::Annotations;
use crate::features::Quality;
use crate::manifest::Manifest;
use crate::recipe::Recipe;

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
pub enum Origin {
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
pub struct Labels {
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
    /// Frame rate of its sequence, when a rule sets one.
    pub fps: Option<f64>,
    /// Other fields: manifest columns and `{name}` captures of path patterns.
    pub meta: BTreeMap<String, String>,
    /// Measured tags (`auto:dark`, …) from the image's quality signals.
    pub measured: BTreeSet<String>,
    /// Where the bucket came from.
    pub origin: Origin,
}

impl Labels {
    /// Unlabelled.
    pub fn empty() -> Self {
        Labels {
            bucket: None,
            tags: BTreeSet::new(),
            classes: BTreeSet::new(),
            camera: None,
            time: None,
            fps: None,
            meta: BTreeMap::new(),
            measured: BTreeSet::new(),
            origin: Origin::None,
        }
    }

    /// Whether the image carries `key`, as quota and minimum keys name it: a tag, a
    /// class, a measured tag (`auto:dark`), or `field=value` on its metadata
    /// (`camera=cam01`, `weather=rain`).
    pub fn has(&self, key: &str) -> bool {
        match key.split_once('=') {
            Some((field, value)) => self.field(field.trim()) == Some(value.trim()),
            None => {
                self.tags.contains(key) || self.classes.contains(key) || self.measured.contains(key)
            }
        }
    }

    /// Tags joined with `;`, as manifests and reports write them.
    pub fn tags_joined(&self) -> String {
        self.tags.iter().cloned().collect::<Vec<_>>().join(";")
    }

    /// A metadata field's value; `camera` is one too.
    pub fn field(&self, name: &str) -> Option<&str> {
        match name {
            "camera" => self.camera.as_deref(),
            _ => self.meta.get(name).map(String::as_str),
        }
    }
}

/// Applies a recipe's manifest, rules and camera pattern to image paths.
pub struct Labeller<'a> {
    recipe: &'a Recipe,
    manifest: Option<&'a Manifest>,
    annotations: Option<&'a Annotations>,
}

impl<'a> Labeller<'a> {
    /// A labeller for `recipe`, using `manifest` rows first when given.
    pub fn new(recipe: &'a Recipe, manifest: Option<&'a Manifest>) -> Self {
        Self {
            recipe,
            manifest,
            annotations: None,
        }
    }

    /// Also uses `annotations`: an annotated image with no object is background, one
    /// with objects a positive (normal, or hard when a rule says so); its classes are
    /// added, and a box below the far-small size tags it `far-small`.
    pub fn with_annotations(mut self, annotations: Option<&'a Annotations>) -> Self {
        self.annotations = annotations;
        self
    }

    /// Adds the measured tags `quality` earns under the recipe's thresholds.
    pub fn add_measured(&self, labels: &mut Labels, quality: &Quality) {
        labels.measured = quality
            .measured_tags(&self.recipe.quality)
            .into_iter()
            .map(str::to_owned)
            .collect();
    }

    /// Labels the image at `path` (absolute), whose path relative to the recipe
    /// directory is `rel` (`/`-separated). Without `quality`, rules with `when`
    /// conditions cannot match.
    pub fn label(&self, path: &std::path::Path, rel: &str, quality: Option<&Quality>) -> Labels {
        let mut labels = Labels::empty();
        if let Some(q) = quality {
            self.add_measured(&mut labels, q);
        }
        let row = self.manifest.and_then(|m| m.row(path));
        // Metadata first: manifest fields, then the camera pattern's captures.
        if let Some(row) = row {
            labels.meta.clone_from(&row.meta);
            labels.time = row.time;
            labels.classes.extend(row.classes.iter().cloned());
        }
        if let Some(captures) = self
            .recipe
            .camera
            .from
            .as_ref()
            .and_then(|p| p.captures(rel))
        {
            for (name, value) in captures {
                if name == "camera" {
                    labels.camera = Some(value.to_owned());
                } else {
                    labels
                        .meta
                        .entry(name.to_owned())
                        .or_insert_with(|| value.to_owned());
                }
            }
        }
        // The first rule whose pattern and `where` conditions hold.
        for (i, rule) in self.recipe.rules.iter().enumerate() {
            let Some(captures) = rule.pattern.captures(rel) else {
                continue;
            };
            let mut meta = labels.meta.clone();
            for (name, value) in captures {
                meta.insert(name.to_owned(), value.to_owned());
            }
            let probe = Labels {
                meta,
                ..labels.clone()
            };
            if !rule
                .conditions
                .iter()
                .all(|(field, glob)| probe.field(field).is_some_and(|v| glob.is_match(v)))
                || (!rule.when.is_empty() && quality.is_none())
                || !rule.when.iter().all(|t| labels.measured.contains(t))
            {
                continue;
            }
            labels.meta = probe.meta;
            if let Some(c) = labels.meta.remove("camera") {
                labels.camera = Some(c);
            }
            if rule.bucket.is_some() {
                labels.bucket = rule.bucket;
                labels.origin = Origin::Rule(i);
            }
            labels.tags.extend(rule.tags.iter().cloned());
            labels.fps = rule.fps;
            if rule.camera.is_some() {
                labels.camera.clone_from(&rule.camera);
            }
            break;
        }
        if let Some(a) = self.annotations.and_then(|a| a.of(path)) {
            labels.classes.extend(a.classes.iter().cloned());
            if a.far_small {
                labels.tags.insert("far-small".to_owned());
            }
            if a.objects == 0 {
                labels.bucket = Some(Bucket::Background);
                labels.origin = Origin::Annotation;
            } else if matches!(labels.bucket, None | Some(Bucket::Background)) {
                labels.bucket = Some(Bucket::Normal);
                labels.origin = Origin::Annotation;
            }
        }
        if let Some(row) = row {
            if let Some(b) = row.bucket {
                labels.bucket = Some(b);
                labels.origin = Origin::Manifest;
            }
            labels.tags.extend(row.tags.iter().cloned());
            if row.camera.is_some() {
                labels.camera.clone_from(&row.camera);
            }
        }
        if labels.bucket.is_none()
            && let Some(b) = self.recipe.default_bucket
        {
            labels.bucket = Some(b);
            labels.origin = Origin::Default;
        }
        labels
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn bucket_names_honour_width() {
        assert_eq!(
            format!("{:<8}|{:>7}", Bucket::Hard, Bucket::Normal),
            "hard    | normal"
        );
    }

    #[test]
    fn manifest_wins_bucket_and_camera_and_tags_add_up() {
        let recipe = crate::recipe::Recipe::parse(
            Path::new("/pool/r.toml"),
            "total = 1\nsplit = { normal = 1 }\ndefault_bucket = 'normal'\n[sources]\nroots = ['f']\n\
             [camera]\nfrom = 'f/{camera}/**'\n\
             [[rules]]\nmatch = 'f/*/night/**'\nbucket = 'hard'\ntags = ['night']\n\
             [[rules]]\nmatch = 'f/*/night/**'\nbucket = 'background'\ntags = ['never']\n\
             [[rules]]\nmatch = 'f/c2/**'\ncamera = 'renamed'\n",
        )
        .unwrap();
        let manifest = Manifest::parse(
            Path::new("/pool/m.csv"),
            "path,bucket,tags,camera\nf/c1/night/1.jpg,background,vehicle,\nf/c1/night/2.jpg,,,cam9\n",
            false,
        )
        .unwrap();
        let l = Labeller::new(&recipe, Some(&manifest));
        let label = |rel: &str| l.label(&Path::new("/pool").join(rel), rel, None);

        let a = label("f/c1/night/1.jpg");
        assert_eq!(a.bucket, Some(Bucket::Background));
        assert_eq!(a.origin, Origin::Manifest);
        assert_eq!(a.tags.iter().collect::<Vec<_>>(), ["night", "vehicle"]);
        assert_eq!(a.camera.as_deref(), Some("c1"));

        let b = label("f/c1/night/2.jpg");
        assert_eq!((b.bucket, b.origin), (Some(Bucket::Hard), Origin::Rule(0)));
        assert_eq!(b.camera.as_deref(), Some("cam9"));

        let c = label("f/c2/day/3.jpg");
        assert_eq!(
            (c.bucket, c.origin),
            (Some(Bucket::Normal), Origin::Default)
        );
        assert_eq!(c.camera.as_deref(), Some("renamed"));
        assert!(c.tags.is_empty());
    }

    #[test]
    fn captures_and_where_conditions_label_images() {
        let recipe = crate::recipe::Recipe::parse(
            Path::new("/pool/r.toml"),
            "total = 1\nsplit = { normal = 1 }\n[sources]\nroots = ['f']\n\
             [[rules]]\nmatch = 'f/{site}/{camera}/**'\nwhere = { weather = 'rain*' }\nbucket = 'hard'\ntags = ['wet']\n\
             [[rules]]\nwhere = { site = 'north' }\nbucket = 'normal'\n",
        )
        .unwrap();
        let manifest = Manifest::parse(
            Path::new("/pool/m.csv"),
            "path,weather,classes\nf/north/c1/1.jpg,rainy,car;bus\nf/north/c1/2.jpg,sunny,\n",
            false,
        )
        .unwrap();
        let l = Labeller::new(&recipe, Some(&manifest));
        let label = |rel: &str| l.label(&Path::new("/pool").join(rel), rel, None);

        let wet = label("f/north/c1/1.jpg");
        assert_eq!(
            (wet.bucket, wet.camera.as_deref()),
            (Some(Bucket::Hard), Some("c1"))
        );
        assert_eq!(wet.meta["site"], "north");
        assert!(wet.has("wet") && wet.has("car") && wet.has("site=north") && wet.has("camera=c1"));
        assert!(!wet.has("site=south") && !wet.has("truck"));
        // The first rule's `where` fails; the second sees no capture of `site`
        // from its own pattern and no `site` field, so nothing buckets it.
        let dry = label("f/north/c1/2.jpg");
        assert_eq!(dry.bucket, None);
        assert_eq!(dry.meta["weather"], "sunny");
    }

    #[test]
    fn when_rules_need_measurements() {
        let recipe = crate::recipe::Recipe::parse(
            Path::new("/pool/r.toml"),
            "total = 1\nsplit = { normal = 1 }\n[sources]\nroots = ['f']\n\
             [[rules]]\nwhen = 'auto:dark'\nbucket = 'hard'\ntags = ['night']\n\
             [[rules]]\nbucket = 'normal'\nmatch = '**'\n",
        )
        .unwrap();
        let l = Labeller::new(&recipe, None);
        let p = Path::new("/pool/f/a.jpg");
        let dark = Quality {
            mean: 20.0,
            contrast: 30.0,
            sharpness: 900.0,
            entropy: 6.0,
            colourfulness: 20.0,
            ..Quality::default()
        };
        let day = Quality {
            mean: 120.0,
            ..dark
        };
        assert_eq!(l.label(p, "f/a.jpg", None).bucket, Some(Bucket::Normal));
        let night = l.label(p, "f/a.jpg", Some(&dark));
        assert_eq!(
            (night.bucket, night.origin),
            (Some(Bucket::Hard), Origin::Rule(0))
        );
        assert!(night.has("night") && night.has("auto:dark"));
        let lit = l.label(p, "f/a.jpg", Some(&day));
        assert_eq!(lit.bucket, Some(Bucket::Normal));
        assert!(lit.measured.is_empty(), "{:?}", lit.measured);
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
