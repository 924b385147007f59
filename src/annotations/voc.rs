//! Pascal VOC XML files.
//!
//! The XML files (`*.xml`, any case) directly in the annotation folder are matched
//! to images by file stem: `a.xml` annotates `…/a.jpg` wherever the image lies (the
//! XML's `<filename>` is not consulted, so its extension may differ). A file reads
//!
//! ```xml
//! <annotation>
//!   <size><width>640</width><height>480</height></size>
//!   <object><name>car</name>
//!     <bndbox><xmin>1</xmin><ymin>2</ymin><xmax>30</xmax><ymax>40</ymax></bndbox>
//!   </object>
//! </annotation>
//! ```
//!
//! A box is `(ymax - ymin) / height * deploy_height` deployment pixels tall. Without
//! a positive `<size><height>`, boxes are counted but not measured (and an issue).

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use roxmltree::{Document, Node};

use super::{AnnotationError, AnnotationIssue, AnnotationSpec, ImageAnnotation, Loaded, number};

/// Loads the XML file of every image whose stem has one in `spec.path`.
pub(super) fn load(spec: &AnnotationSpec, images: &[&Path]) -> Result<Loaded, AnnotationError> {
    let xmls = list_xml(&spec.path)?;
    let mut by_stem: BTreeMap<&PathBuf, Vec<&Path>> = BTreeMap::new();
    for &image in images {
        if let Some(xml) = image.file_stem().and_then(|s| xmls.get(s)) {
            by_stem.entry(xml).or_default().push(image);
        }
    }
    let deploy_h = f64::from(spec.deploy_size.1);
    let mut out = HashMap::new();
    let mut issues = Vec::new();
    // Read ahead when the files are objects in a store.
    let texts = crate::source::read_texts(
        by_stem.keys().map(|p| (*p).clone()).collect(),
        crate::source::LABEL_LIMIT,
    );
    for ((xml, mut matched), (_, text)) in by_stem.into_iter().zip(texts) {
        let text = text.map_err(|e| AnnotationError::Read {
            path: xml.clone(),
            source: e.into_io(),
        })?;
        let (ann, measured) = parse(xml, &text, deploy_h, spec.small_box)?;
        if !measured {
            issues.push(AnnotationIssue {
                path: xml.clone(),
                message: "no positive <size><height>, so its boxes are not measured".into(),
            });
        }
        if matched.len() > 1 {
            matched.sort();
            let list: Vec<String> = matched.iter().map(|p| p.display().to_string()).collect();
            issues.push(AnnotationIssue {
                path: xml.clone(),
                message: format!(
                    "its file stem matches {} images ({}); it annotates all of them",
                    matched.len(),
                    list.join(", ")
                ),
            });
        }
        for image in matched {
            out.insert(image.to_owned(), ann.clone());
        }
    }
    Ok((out, issues))
}

/// The `*.xml` files directly in `dir`, by file stem (the first in name order wins
/// when two differ only in the extension's case).
fn list_xml(dir: &Path) -> Result<BTreeMap<OsString, PathBuf>, AnnotationError> {
    let read_err = |source| AnnotationError::Read {
        path: dir.to_owned(),
        source,
    };
    let files = crate::source::files_in(dir).map_err(read_err)?;
    let mut out = BTreeMap::new();
    for path in files {
        let is_xml = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("xml"));
        if !is_xml {
            continue;
        }
        if let Some(stem) = path.file_stem() {
            out.entry(stem.to_owned()).or_insert(path);
        }
    }
    Ok(out)
}

/// Parses the VOC XML `text` read from `path`; also says whether its boxes could
/// be measured (true when it has none).
pub(super) fn parse(
    path: &Path,
    text: &str,
    deploy_h: f64,
    small_box: f32,
) -> Result<(ImageAnnotation, bool), AnnotationError> {
    let doc = Document::parse(text).map_err(|source| AnnotationError::Xml {
        path: path.to_owned(),
        source,
    })?;
    let err = |node: Node, message: String| AnnotationError::Voc {
        path: path.to_owned(),
        line: doc.text_pos_at(node.range().start).row,
        message,
    };
    let root = doc.root_element();
    if root.tag_name().name() != "annotation" {
        return Err(err(
            root,
            format!(
                "root element is <{}>, expected <annotation>",
                root.tag_name().name()
            ),
        ));
    }
    let image_h = match child(root, "size").and_then(|s| child(s, "height")) {
        Some(h) => Some(value(h).map_err(|m| err(h, m))?).filter(|h| *h > 0.0),
        None => None,
    };
    let mut ann = ImageAnnotation::default();
    for obj in root.children().filter(|n| n.has_tag_name("object")) {
        let name = child(obj, "name")
            .and_then(|n| n.text())
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| err(obj, "<object> has no <name>".into()))?;
        let bndbox = child(obj, "bndbox")
            .ok_or_else(|| err(obj, format!("<object> `{name}` has no <bndbox>")))?;
        let coord = |tag: &str| {
            let node = child(bndbox, tag)
                .ok_or_else(|| err(bndbox, format!("<bndbox> has no <{tag}>")))?;
            value(node).map_err(|m| err(node, m))
        };
        let (ymin, ymax) = (coord("ymin")?, coord("ymax")?);
        if ymax < ymin {
            return Err(err(
                bndbox,
                format!("<ymax> {ymax} is less than <ymin> {ymin}"),
            ));
        }
        let height = image_h.map(|h| (ymax - ymin) / h * deploy_h);
        ann.add_object(name, height, small_box);
    }
    let measured = ann.objects == 0 || image_h.is_some();
    Ok((ann, measured))
}

/// The first child element of `node` named `tag`.
fn child<'a, 'i>(node: Node<'a, 'i>, tag: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|n| n.has_tag_name(tag))
}

/// The number in element `node`'s text.
fn value(node: Node) -> Result<f64, String> {
    let text = node.text().unwrap_or("").trim();
    number(text).ok_or_else(|| format!("<{}> `{text}` is not a number", node.tag_name().name()))
}
