//! Annotations as a bucketing source: YOLO, COCO and Pascal VOC.
//!
//! This module owns reading detection annotations and boiling each image's boxes
//! down to an [`ImageAnnotation`]: its class names, its object count, and the
//! height of its smallest box measured at the deployment resolution, which decides
//! whether the image is `far-small`.
//!
//! | format | `path` | an image is covered when |
//! |---|---|---|
//! | `yolo` | dataset folder | it lies under an `images` folder of the dataset |
//! | `coco` | instances JSON | the JSON lists it (`images[].file_name`) |
//! | `voc` | folder of XML files | an XML file has its file stem |
//!
//! A covered image with no boxes is a background image (`objects == 0`); an image
//! that is not covered has no annotation at all ([`Annotations::of`] is `None`).
//!
//! Problems that make the annotations untrustworthy (a malformed line, an unknown
//! class, broken JSON or XML) are [`AnnotationError`]s and stop the load. Problems
//! that only limit what can be said about some images are [`AnnotationIssue`]s:
//!
//! - COCO: an image listed in the JSON but not among the images found;
//! - COCO and VOC: an image with boxes but no usable height (missing or zero), whose
//!   boxes are counted but not measured (`smallest_box` stays `None`, never far-small);
//! - VOC: an XML file whose stem matches more than one image (it applies to all);
//! - YOLO: no image under an `images` folder, or no label file at all (every image
//!   would be a background image, which usually means a wrong `path`).
//!
//! Errors name the file and the place in it. Those that wrap a parser error
//! ([`AnnotationError::Json`], [`AnnotationError::Xml`], [`AnnotationError::NamesYaml`])
//! keep the parser's message (with its line and column) as the error's source, so
//! print them with their chain (`{:#}` with anyhow).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

mod coco;
mod names;
mod voc;
mod yolo;

pub(crate) use yolo::split_folders;

#[cfg(test)]
mod tests;

/// Which annotation format a recipe uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Ultralytics YOLO: one `class cx cy w h` text file per image, normalised 0..1.
    Yolo,
    /// COCO instances JSON: `images`, `annotations` (pixel `bbox`), `categories`.
    Coco,
    /// Pascal VOC: one XML file per image with `<object><bndbox>` pixel boxes.
    Voc,
}

/// `[annotations]` of a recipe, with paths already resolved (absolute, normalised).
#[derive(Debug, Clone)]
pub struct AnnotationSpec {
    /// The annotation format.
    pub format: Format,
    /// yolo: the dataset folder; label files are found by replacing the last `images`
    ///       path component of an image (below this folder) with `labels` and its
    ///       extension with `.txt` (ds/images/train/a.jpg -> ds/labels/train/a.txt).
    /// coco: the instances JSON file.
    /// voc:  the folder of XML files (matched to images by file stem; not recursive).
    pub path: PathBuf,
    /// coco: folder `file_name`s are relative to (default: the JSON's folder).
    pub images: Option<PathBuf>,
    /// yolo: class names: a data YAML (`.yaml`/`.yml`; `names:` as a list, a
    ///       `{0: a, 1: b}` map, or a block map) or any other file as text with one
    ///       name per line. Without it, class ids are used as names.
    pub names: Option<PathBuf>,
    /// Deployment resolution (width, height) in pixels that boxes are measured at.
    pub deploy_size: (u32, u32),
    /// A box shorter than this many pixels at the deployment resolution makes the
    /// image `far-small`.
    pub small_box: f32,
}

/// What the annotations say about one image.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ImageAnnotation {
    /// Class names of its objects (deduplicated, sorted).
    pub classes: BTreeSet<String>,
    /// Number of objects (boxes).
    pub objects: usize,
    /// Height in deployment pixels of its smallest box, if any box could be measured.
    pub smallest_box: Option<f32>,
    /// True when some box is shorter than `small_box` at the deployment resolution.
    pub far_small: bool,
}

impl ImageAnnotation {
    /// Counts one object of class `class` whose box is `height` deployment pixels
    /// tall (`None` when it cannot be measured).
    fn add_object(&mut self, class: &str, height: Option<f64>, small_box: f32) {
        self.objects += 1;
        if !self.classes.contains(class) {
            self.classes.insert(class.to_owned());
        }
        if let Some(h) = height {
            let h = h as f32;
            self.smallest_box = Some(self.smallest_box.map_or(h, |s| s.min(h)));
            if h < small_box {
                self.far_small = true;
            }
        }
    }
}

/// A problem that does not stop the run (reported, counted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AnnotationIssue {
    /// The file concerned: the image, or the annotation file to fix.
    pub path: PathBuf,
    /// What is wrong, in a sentence fragment without the path.
    pub message: String,
}

/// Annotations for a set of images, keyed by normalised absolute image path.
#[derive(Debug, Default)]
pub(crate) struct Annotations {
    by_image: HashMap<PathBuf, ImageAnnotation>,
}

/// Per-image annotations and the issues met while loading them.
type Loaded = (HashMap<PathBuf, ImageAnnotation>, Vec<AnnotationIssue>);

impl Annotations {
    /// Number of images covered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_image.len()
    }

    /// Whether no image is covered.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.by_image.is_empty()
    }

    /// Loads annotations for `images` (absolute, normalised paths of the image files
    /// found).
    ///
    /// - yolo: reads each image's label file; a missing or empty label file means
    ///   "no objects" (a background image), but only for images under an `images`
    ///   folder of the dataset; images elsewhere get no annotation.
    /// - coco: images listed in the JSON get an annotation (no annotations => no
    ///   objects); a listed image not found among `images` is an issue ("listed in
    ///   the COCO file but not found"); an image not listed gets none.
    /// - voc: an XML per image, by file stem (the XML's `<filename>` is not used);
    ///   no `<object>` => no objects; images without an XML get none.
    ///
    /// Issues come in a deterministic order for a given input.
    pub(crate) fn load(
        spec: &AnnotationSpec,
        images: &[&Path],
    ) -> Result<(Self, Vec<AnnotationIssue>), AnnotationError> {
        let (by_image, issues) = match spec.format {
            Format::Yolo => yolo::load(spec, images)?,
            Format::Coco => coco::load(spec, images)?,
            Format::Voc => voc::load(spec, images)?,
        };
        Ok((Self { by_image }, issues))
    }

    /// The annotation of one image (absolute, normalised path), if the source covers it.
    pub(crate) fn of(&self, image: &Path) -> Option<&ImageAnnotation> {
        self.by_image.get(image)
    }
}

/// Why annotations could not be loaded: always names the file and, where it
/// applies, the 1-based line (YOLO label and names files, VOC elements) or the JSON
/// path (COCO).
#[derive(Debug, thiserror::Error)]
pub enum AnnotationError {
    /// A file or folder could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A YOLO label line is malformed or names an unknown class.
    #[error("{}:{line}: {message}", path.display())]
    Yolo {
        /// The label file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A class-names file is unusable.
    #[error("{}{}: {message}", path.display(), at_line(line))]
    Names {
        /// The names file.
        path: PathBuf,
        /// 1-based line, for text files.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A class-names YAML file is not valid YAML.
    #[error("invalid YAML in {}", path.display())]
    NamesYaml {
        /// The names file.
        path: PathBuf,
        /// The parser's error, with line and column.
        #[source]
        source: yaml_rust2::ScanError,
    },
    /// A COCO file is not valid JSON or lacks a required field.
    #[error("invalid COCO JSON in {}", path.display())]
    Json {
        /// The COCO file.
        path: PathBuf,
        /// The parser's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A COCO file is valid JSON but inconsistent.
    #[error("{}: {at}: {message}", path.display())]
    Coco {
        /// The COCO file.
        path: PathBuf,
        /// The JSON path of the offending entry, e.g. `annotations[3]`.
        at: String,
        /// What is wrong.
        message: String,
    },
    /// A VOC file is not well-formed XML.
    #[error("malformed XML in {}", path.display())]
    Xml {
        /// The XML file.
        path: PathBuf,
        /// The parser's error, with row and column.
        #[source]
        source: roxmltree::Error,
    },
    /// A VOC file is well-formed but not a usable annotation.
    #[error("{}:{line}: {message}", path.display())]
    Voc {
        /// The XML file.
        path: PathBuf,
        /// 1-based line of the offending element.
        line: u32,
        /// What is wrong, naming the element.
        message: String,
    },
}

/// `:line` when there is a line.
fn at_line(line: &Option<usize>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}

/// Reads a whole text file of at most `limit` bytes, mapping failure to
/// [`AnnotationError::Read`].
fn read_text(path: &Path, limit: u64) -> Result<String, AnnotationError> {
    crate::source::read_text(path, limit).map_err(|e| AnnotationError::Read {
        path: path.to_owned(),
        source: e.into_io(),
    })
}

/// A finite number, or `None`.
fn number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Entry points for the fuzz targets (`tests/fuzz`): each parser on raw text.
#[cfg(fuzzing)]
pub(crate) mod fuzz {
    use std::path::Path;

    use super::{AnnotationSpec, Format, coco, names::ClassNames, voc, yolo};

    /// A YOLO label file, with and without class names.
    pub fn yolo(text: &str) {
        let path = Path::new("/fuzz/labels/a.txt");
        let _ = yolo::parse(path, text, None, 720.0, 32.0);
        if let Ok(names) = ClassNames::parse(Path::new("/fuzz/names.txt"), "car\nperson\n") {
            let _ = yolo::parse(path, text, Some(&names), 720.0, 32.0);
        }
    }

    /// A class-names file, as YAML and as lines.
    pub fn names(text: &str) {
        let _ = ClassNames::parse(Path::new("/fuzz/data.yaml"), text);
        let _ = ClassNames::parse(Path::new("/fuzz/names.txt"), text);
    }

    /// A COCO JSON file.
    pub fn coco(text: &str) {
        let spec = AnnotationSpec {
            format: Format::Coco,
            path: "/fuzz/instances.json".into(),
            images: None,
            names: None,
            deploy_size: (1280, 720),
            small_box: 32.0,
        };
        let images = [Path::new("/fuzz/a.jpg"), Path::new("/fuzz/img/b.png")];
        let _ = coco::parse(&spec, text, &images);
    }

    /// A VOC XML file.
    pub fn voc(text: &str) {
        let _ = voc::parse(Path::new("/fuzz/a.xml"), text, 720.0, 32.0);
    }
}
