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

use crate::annotations::Annotations;
use crate::features::{Quality, Thresholds};
use crate::label::{Bucket, Labels, Origin};
use crate::manifest::Manifest;
use crate::pattern::PathPattern;

/// One `[[rules]]` entry.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `match`: the pattern (default `**`). Its `{name}` captures become metadata.
    pub pattern: PathPattern,
    /// `where`: metadata fields whose values must match these globs.
    pub conditions: Vec<(String, globset::GlobMatcher)>,
    /// `when`: measured tags the image must all have (`auto:dark`, …).
    pub when: Vec<String>,
    /// `bucket`: bucket given to matching images.
    pub bucket: Option<Bucket>,
    /// `tags`: tags added to matching images.
    pub tags: Vec<String>,
    /// `camera`: camera name given to matching images.
    pub camera: Option<String>,
    /// `fps`: frame rate of matching numbered frames (overrides `sequences.fps`).
    pub fps: Option<f64>,
}

/// What labelling takes from a recipe: its rules, camera pattern, default
/// bucket and measured-tag thresholds.
#[derive(Debug, Clone, Copy)]
pub struct LabelRules<'a> {
    /// `[[rules]]`, in file order; the first match wins.
    pub rules: &'a [Rule],
    /// `camera.from`: the pattern whose `{camera}` capture names the camera.
    pub camera_from: Option<&'a PathPattern>,
    /// `default_bucket`: the bucket of images nothing else buckets.
    pub default_bucket: Option<Bucket>,
    /// `[quality]`: thresholds of the measured tags.
    pub thresholds: &'a Thresholds,
}

/// Applies a recipe's manifest, rules and camera pattern to image paths.
pub(crate) struct Labeller<'a> {
    rules: LabelRules<'a>,
    manifest: Option<&'a Manifest>,
    annotations: Option<&'a Annotations>,
}

impl<'a> Labeller<'a> {
    /// A labeller applying `rules`, using `manifest` rows first when given.
    pub(crate) fn new(rules: LabelRules<'a>, manifest: Option<&'a Manifest>) -> Self {
        Self {
            rules,
            manifest,
            annotations: None,
        }
    }

    /// Also uses `annotations`: an annotated image with no object is background, one
    /// with objects a positive (normal, or hard when a rule says so); its classes are
    /// added, and a box below the far-small size tags it `far-small`.
    pub(crate) fn with_annotations(mut self, annotations: Option<&'a Annotations>) -> Self {
        self.annotations = annotations;
        self
    }

    /// Adds the measured tags `quality` earns under the recipe's thresholds.
    pub(crate) fn add_measured(&self, labels: &mut Labels, quality: &Quality) {
        labels.measured = quality
            .measured_tags(self.rules.thresholds)
            .into_iter()
            .map(str::to_owned)
            .collect();
    }

    /// Labels the image at `path` (absolute), whose path relative to the recipe
    /// directory is `rel` (`/`-separated). Without `quality`, rules with `when`
    /// conditions cannot match.
    pub(crate) fn label(
        &self,
        path: &std::path::Path,
        rel: &str,
        quality: Option<&Quality>,
    ) -> Labels {
        let mut labels = Labels::empty();
        if let Some(q) = quality {
            self.add_measured(&mut labels, q);
        }
        let row = self.manifest.and_then(|m| m.row(path));
        let annotation = self.annotations.and_then(|a| a.of(path));
        // What the image shows comes first, so rules can test it with `when`:
        // the manifest's fields, tags and classes, the annotations' classes and
        // far-small tag, then the camera pattern's captures.
        if let Some(row) = row {
            labels.meta.clone_from(&row.meta);
            labels.time = row.time;
            labels.time_written.clone_from(&row.time_written);
            labels.classes.extend(row.classes.iter().cloned());
            labels.tags.extend(row.tags.iter().cloned());
        }
        if let Some(a) = annotation {
            labels.still = true;
            labels.classes.extend(a.classes.iter().cloned());
            if a.far_small {
                labels.tags.insert("far-small".to_owned());
            }
        }
        if let Some(captures) = self.rules.camera_from.and_then(|p| p.captures(rel)) {
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
        self.apply_first_rule(&mut labels, rel, quality.is_some());
        // Bucket precedence: manifest row > annotations > rule > default.
        if let Some(a) = annotation {
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
            if row.camera.is_some() {
                labels.camera.clone_from(&row.camera);
            }
        }
        if labels.bucket.is_none()
            && let Some(b) = self.rules.default_bucket
        {
            labels.bucket = Some(b);
            labels.origin = Origin::Default;
        }
        labels
    }

    /// Applies the first rule whose pattern matches `rel` and whose `where` and
    /// `when` conditions hold. `when` keys are any labels the image carries
    /// (tags, classes, `field=value`); measured ones (`auto:`) need `measured`.
    fn apply_first_rule(&self, labels: &mut Labels, rel: &str, measured: bool) {
        for (i, rule) in self.rules.rules.iter().enumerate() {
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
            let needs_measure = rule.when.iter().any(|t| t.starts_with("auto:"));
            if !rule
                .conditions
                .iter()
                .all(|(field, glob)| probe.field(field).is_some_and(|v| glob.is_match(v)))
                || (needs_measure && !measured)
                || !rule.when.iter().all(|t| probe.has(t))
            {
                continue;
            }
            labels.meta = probe.meta;
            if let Some(c) = labels.meta.remove("camera") {
                labels.camera = Some(c);
            }
            labels.rule = Some(i);
            if rule.bucket.is_some() {
                labels.bucket = rule.bucket;
                labels.origin = Origin::Rule(i);
            }
            labels.tags.extend(rule.tags.iter().cloned());
            labels.fps = rule.fps;
            if rule.camera.is_some() {
                labels.camera.clone_from(&rule.camera);
            }
            return;
        }
    }
}
