//! YOLO (Ultralytics) label files.
//!
//! An image `ds/…/images/…/a.jpg` below the dataset folder `ds` has its labels in
//! `ds/…/labels/…/a.txt` (the last `images` component becomes `labels`). Each
//! non-blank line is `class cx cy w h` with coordinates normalised to 0..1; the box
//! is `h * deploy_height` deployment pixels tall. Longer lines follow Ultralytics:
//!
//! - 6 numbers: a box and one extra column (e.g. a confidence), which is ignored;
//! - more than 6 numbers in a pose dataset (data YAML with `kpt_shape`): a box
//!   followed by keypoints, which are ignored;
//! - more than 6 numbers otherwise: a segmentation polygon `class x1 y1 x2 y2 …`,
//!   whose box is its bounding rectangle.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

use super::names::ClassNames;
use super::{AnnotationError, AnnotationIssue, AnnotationSpec, ImageAnnotation, Loaded, number};

/// The dataset folder and its class names: `spec.path` may be the folder or
/// its Ultralytics data YAML (whose `path:` names the folder, relative to the
/// YAML; its own folder without one). Without `names`, the data YAML passed as
/// `path`, or one found in the dataset folder or beside it, gives the names.
fn dataset(spec: &AnnotationSpec) -> Result<(PathBuf, Option<ClassNames>), AnnotationError> {
    let given = spec.names.as_deref().map(ClassNames::load).transpose()?;
    if is_yaml(&spec.path) {
        let yaml = ClassNames::load(&spec.path)?;
        let dir = spec.path.parent().unwrap_or(Path::new("."));
        let root = match &yaml.root {
            Some(r) => crate::paths::normalize(&dir.join(r)),
            None => dir.to_owned(),
        };
        return Ok((root, given.or(Some(yaml))));
    }
    let names = match given {
        Some(n) => Some(n),
        None => find_data_yaml(&spec.path),
    };
    Ok((spec.path.clone(), names))
}

/// The image folders an Ultralytics data YAML at `yaml` names: its `train`,
/// `val` and `test` entries that are folders, under its `path:` (relative to
/// the YAML; its own folder without one), each once. List files (`train.txt`)
/// and folders that do not exist are left out; none at all is an error.
pub(crate) fn split_folders(yaml: &Path) -> Result<Vec<PathBuf>, AnnotationError> {
    let data = ClassNames::load(yaml)?;
    let dir = yaml.parent().unwrap_or(Path::new("."));
    let root = match &data.root {
        Some(r) => crate::paths::normalize(&dir.join(r)),
        None => dir.to_owned(),
    };
    let mut folders: Vec<PathBuf> = Vec::new();
    for split in &data.splits {
        let folder = crate::paths::normalize(&root.join(split));
        if folder.is_dir() && !folders.contains(&folder) {
            folders.push(folder);
        }
    }
    if folders.is_empty() {
        return Err(AnnotationError::Names {
            path: yaml.to_owned(),
            line: None,
            message: "names no existing image folder under `train`, `val` or `test`: give `sources.roots`".into(),
        });
    }
    Ok(folders)
}

/// Whether `path` names a YAML file.
pub(super) fn is_yaml(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

/// The first readable data YAML with `names:` in the dataset folder, then
/// beside it (sorted by name).
fn find_data_yaml(root: &Path) -> Option<ClassNames> {
    [Some(root), root.parent()]
        .into_iter()
        .flatten()
        .flat_map(|dir| crate::source::files_in(dir).unwrap_or_default())
        .filter(|p| is_yaml(p))
        .find_map(|p| ClassNames::load(&p).ok())
}

/// Loads the label file of every image under an `images` folder of the dataset.
pub(super) fn load(spec: &AnnotationSpec, images: &[&Path]) -> Result<Loaded, AnnotationError> {
    let (root, names) = dataset(spec)?;
    let deploy_h = f64::from(spec.deploy_size.1);
    let mut out = HashMap::new();
    let mut issues = Vec::new();
    let mut label_files = 0usize;
    // Images under an `images` folder, and their label files (read ahead
    // when they are objects in a store).
    let (labelled, labels): (Vec<&Path>, Vec<PathBuf>) = images
        .iter()
        .filter_map(|&image| Some((image, label_path(&root, image)?)))
        .unzip();
    let texts = crate::source::read_texts(labels, crate::source::LABEL_LIMIT);
    for (image, (label, text)) in labelled.into_iter().zip(texts) {
        let text = match text {
            Ok(text) => {
                label_files += 1;
                text
            }
            Err(crate::source::ReadError::Io(e)) if e.kind() == ErrorKind::NotFound => {
                String::new()
            }
            Err(e) => {
                return Err(AnnotationError::Read {
                    path: label,
                    source: e.into_io(),
                });
            }
        };
        let ann = parse(&label, &text, names.as_ref(), deploy_h, spec.small_box)?;
        out.insert(image.to_owned(), ann);
    }
    if out.is_empty() && !images.is_empty() {
        issues.push(AnnotationIssue {
            path: spec.path.clone(),
            message: format!(
                "none of the {} images lies under an `images` folder of the dataset, so none has YOLO labels",
                images.len()
            ),
        });
    } else if !out.is_empty() && label_files == 0 {
        issues.push(AnnotationIssue {
            path: spec.path.clone(),
            message: format!(
                "no label file found for any of the {} images under `images` folders; all are treated as background",
                out.len()
            ),
        });
    }
    Ok((out, issues))
}

/// The label file of `image`, when it lies under an `images` folder of `root`.
pub(super) fn label_path(root: &Path, image: &Path) -> Option<PathBuf> {
    let rel = image.strip_prefix(root).ok()?;
    let parts: Vec<Component> = rel.components().collect();
    let (file, dirs) = parts.split_last()?;
    let at = dirs.iter().rposition(|c| c.as_os_str() == "images")?;
    let mut out = root.to_path_buf();
    for (i, c) in dirs.iter().enumerate() {
        out.push(if i == at {
            "labels".as_ref()
        } else {
            c.as_os_str()
        });
    }
    out.push(file.as_os_str());
    out.set_extension("txt");
    Some(out)
}

/// Parses the text of the label file `path`.
pub(super) fn parse(
    path: &Path,
    text: &str,
    names: Option<&ClassNames>,
    deploy_h: f64,
    small_box: f32,
) -> Result<ImageAnnotation, AnnotationError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut ann = ImageAnnotation::default();
    for (i, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let (class, height) =
            parse_line(&fields, names).map_err(|message| AnnotationError::Yolo {
                path: path.to_owned(),
                line: i + 1,
                message,
            })?;
        ann.add_object(&class, Some(height * deploy_h), small_box);
    }
    Ok(ann)
}

/// One non-blank line: the class name and the normalised box height.
fn parse_line(fields: &[&str], names: Option<&ClassNames>) -> Result<(String, f64), String> {
    if fields.len() < 5 {
        return Err(format!(
            "expected `class cx cy w h`, found {} field{}",
            fields.len(),
            if fields.len() == 1 { "" } else { "s" }
        ));
    }
    let id = class_id(fields[0])?;
    let class = match names {
        Some(n) => n
            .name(id)
            .ok_or_else(|| format!("class id {id} is not in {}", n.path.display()))?
            .to_owned(),
        None => id.to_string(),
    };
    let nums = fields[1..]
        .iter()
        .map(|f| number(f).ok_or_else(|| format!("`{f}` is not a number")))
        .collect::<Result<Vec<f64>, String>>()?;
    let polygon = nums.len() > 5 && !names.is_some_and(|n| n.pose);
    let height = if polygon {
        if nums.len() % 2 != 0 {
            return Err(format!(
                "segment polygon has an odd number of coordinates ({})",
                nums.len()
            ));
        }
        let ys = nums.iter().skip(1).step_by(2);
        let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &y| {
            (lo.min(y), hi.max(y))
        });
        hi - lo
    } else {
        for (what, v) in [("width", nums[2]), ("height", nums[3])] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!(
                    "box {what} {v} is outside 0..1 (YOLO boxes are normalised)"
                ));
            }
        }
        nums[3]
    };
    Ok((class, height))
}

/// A class id: a non-negative integer (`3`, or `3.0` as some exporters write it).
fn class_id(text: &str) -> Result<u64, String> {
    if let Ok(id) = text.parse::<u64>() {
        return Ok(id);
    }
    match number(text) {
        Some(v) if v < 0.0 => Err(format!("class id `{text}` is negative")),
        Some(v) if v.fract() == 0.0 && v < 9.0e15 => Ok(v as u64),
        Some(_) => Err(format!("class id `{text}` is not an integer")),
        None => Err(format!("class id `{text}` is not a number")),
    }
}
