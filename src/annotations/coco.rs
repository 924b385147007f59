//! COCO instances JSON.
//!
//! Reads `images[] {id, file_name, height}`, `annotations[] {image_id, category_id,
//! bbox: [x, y, w, h]}` (pixels) and `categories[] {id, name}`; other fields are
//! ignored, and every annotation counts as an object (`iscrowd` ones too). An image's
//! path is `file_name` joined to the images folder. A box is
//! `bbox_h / image_height * deploy_height` deployment pixels tall; an image without a
//! positive `height` gets its boxes counted but not measured (and an issue).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{AnnotationError, AnnotationIssue, AnnotationSpec, ImageAnnotation, Loaded, read_text};
use crate::paths;

#[derive(Deserialize)]
struct CocoFile {
    images: Vec<CocoImage>,
    #[serde(default)]
    annotations: Vec<CocoAnnotation>,
    #[serde(default)]
    categories: Vec<CocoCategory>,
}

#[derive(Deserialize)]
struct CocoImage {
    id: i64,
    file_name: PathBuf,
    #[serde(default)]
    height: Option<f64>,
}

#[derive(Deserialize)]
struct CocoAnnotation {
    image_id: i64,
    category_id: i64,
    bbox: Vec<f64>,
}

#[derive(Deserialize)]
struct CocoCategory {
    id: i64,
    name: String,
}

/// Loads the COCO file `spec.path` for `images`.
pub(super) fn load(spec: &AnnotationSpec, images: &[&Path]) -> Result<Loaded, AnnotationError> {
    let text = read_text(&spec.path, crate::source::LIST_LIMIT)?;
    parse(spec, &text, images)
}

/// Parses COCO JSON `text` as if read from `spec.path`.
pub(super) fn parse(
    spec: &AnnotationSpec,
    text: &str,
    images: &[&Path],
) -> Result<Loaded, AnnotationError> {
    let file: CocoFile = serde_json::from_str(text).map_err(|source| AnnotationError::Json {
        path: spec.path.clone(),
        source,
    })?;
    let categories = categories(spec, &file.categories)?;
    let index = index_images(spec, &file.images)?;
    let anns = measure(spec, &file, &index.by_id, &categories)?;
    Ok(match_found(spec, &file.images, index.listed, anns, images))
}

/// An [`AnnotationError::Coco`] at the JSON path `at` of `spec.path`.
fn error(spec: &AnnotationSpec, at: String, message: String) -> AnnotationError {
    AnnotationError::Coco {
        path: spec.path.clone(),
        at,
        message,
    }
}

/// `categories[]` by id: its position and name. A repeated id is an error.
fn categories<'f>(
    spec: &AnnotationSpec,
    categories: &'f [CocoCategory],
) -> Result<HashMap<i64, (usize, &'f str)>, AnnotationError> {
    let mut by_id: HashMap<i64, (usize, &str)> = HashMap::new();
    for (i, c) in categories.iter().enumerate() {
        if let Some((j, _)) = by_id.insert(c.id, (i, c.name.as_str())) {
            return Err(error(
                spec,
                format!("categories[{i}]"),
                format!("duplicate category id {} (also categories[{j}])", c.id),
            ));
        }
    }
    Ok(by_id)
}

/// `images[]` indexed: position by id, and each image's path in file order.
struct ImageIndex {
    /// Position in `images[]` by image id.
    by_id: HashMap<i64, usize>,
    /// `file_name` joined to the images folder and normalised, in `images[]` order.
    listed: Vec<PathBuf>,
}

/// Indexes `images[]`; a repeated id or path is an error. The images folder is
/// `spec.images`, else the COCO file's folder.
fn index_images(
    spec: &AnnotationSpec,
    images: &[CocoImage],
) -> Result<ImageIndex, AnnotationError> {
    let base = match &spec.images {
        Some(dir) => dir.clone(),
        None => spec.path.parent().unwrap_or(Path::new("/")).to_path_buf(),
    };
    let mut by_id: HashMap<i64, usize> = HashMap::new();
    let mut by_path: HashMap<PathBuf, usize> = HashMap::new();
    let mut listed: Vec<PathBuf> = Vec::with_capacity(images.len());
    for (i, img) in images.iter().enumerate() {
        if let Some(j) = by_id.insert(img.id, i) {
            return Err(error(
                spec,
                format!("images[{i}]"),
                format!("duplicate image id {} (also images[{j}])", img.id),
            ));
        }
        let path = paths::normalize(&base.join(&img.file_name));
        if let Some(j) = by_path.insert(path.clone(), i) {
            return Err(error(
                spec,
                format!("images[{i}]"),
                format!(
                    "file_name `{}` is listed twice (also images[{j}])",
                    img.file_name.display()
                ),
            ));
        }
        listed.push(path);
    }
    Ok(ImageIndex { by_id, listed })
}

/// Adds each of `annotations[]` to its image, one per entry of `images[]`: its
/// class and, when the image has a positive `height`, its box height in
/// deployment pixels. An unknown id or a malformed `bbox` is an error.
fn measure(
    spec: &AnnotationSpec,
    file: &CocoFile,
    by_id: &HashMap<i64, usize>,
    categories: &HashMap<i64, (usize, &str)>,
) -> Result<Vec<ImageAnnotation>, AnnotationError> {
    let deploy_h = f64::from(spec.deploy_size.1);
    let mut anns = vec![ImageAnnotation::default(); file.images.len()];
    for (i, a) in file.annotations.iter().enumerate() {
        let at = || format!("annotations[{i}]");
        let &idx = by_id
            .get(&a.image_id)
            .ok_or_else(|| error(spec, at(), format!("unknown image_id {}", a.image_id)))?;
        let &(_, name) = categories
            .get(&a.category_id)
            .ok_or_else(|| error(spec, at(), format!("unknown category_id {}", a.category_id)))?;
        let &[_, _, _, box_h] = a.bbox.as_slice() else {
            return Err(error(
                spec,
                at(),
                format!(
                    "bbox has {} numbers, expected 4 ([x, y, width, height])",
                    a.bbox.len()
                ),
            ));
        };
        if box_h < 0.0 {
            return Err(error(
                spec,
                at(),
                format!("bbox height {box_h} is negative"),
            ));
        }
        let height = file.images[idx]
            .height
            .filter(|h| *h > 0.0)
            .map(|h| box_h / h * deploy_h);
        anns[idx].add_object(name, height, spec.small_box);
    }
    Ok(anns)
}

/// Keeps the annotations of the listed images that are among `found`; a listed
/// image not found, or one with boxes but no positive `height`, is an issue.
fn match_found(
    spec: &AnnotationSpec,
    images: &[CocoImage],
    listed: Vec<PathBuf>,
    anns: Vec<ImageAnnotation>,
    found: &[&Path],
) -> Loaded {
    let found: HashSet<&Path> = found.iter().copied().collect();
    let mut out = HashMap::new();
    let mut issues = Vec::new();
    for (i, (path, ann)) in listed.into_iter().zip(anns).enumerate() {
        if !found.contains(path.as_path()) {
            issues.push(AnnotationIssue {
                path,
                message: "listed in the COCO file but not found".into(),
            });
            continue;
        }
        if ann.objects > 0 && ann.smallest_box.is_none() {
            issues.push(AnnotationIssue {
                path: spec.path.clone(),
                message: format!(
                    "images[{i}] (`{}`) has no positive `height`, so its boxes are not measured",
                    images[i].file_name.display()
                ),
            });
        }
        out.insert(path, ann);
    }
    (out, issues)
}
