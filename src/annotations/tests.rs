use std::path::{Path, PathBuf};

use super::*;

/// A temporary dataset tree.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
        p
    }

    fn spec(&self, format: Format, path: &str, names: Option<&str>) -> AnnotationSpec {
        AnnotationSpec {
            format,
            path: self.path(path),
            images: None,
            names: names.map(|n| self.path(n)),
            deploy_size: (640, 640),
            small_box: 16.0,
        }
    }
}

fn load(spec: &AnnotationSpec, images: &[PathBuf]) -> (Annotations, Vec<AnnotationIssue>) {
    try_load(spec, images).expect("load")
}

fn try_load(
    spec: &AnnotationSpec,
    images: &[PathBuf],
) -> Result<(Annotations, Vec<AnnotationIssue>), AnnotationError> {
    let refs: Vec<&Path> = images.iter().map(PathBuf::as_path).collect();
    Annotations::load(spec, &refs)
}

fn classes(ann: &ImageAnnotation) -> Vec<&str> {
    ann.classes.iter().map(String::as_str).collect()
}

/// `ds/images/train/{a,b,c}.jpg` with labels for `a` (two boxes) and `b` (one).
fn yolo_fixture(fx: &Fixture) -> Vec<PathBuf> {
    fx.write(
        "ds/labels/train/a.txt",
        "0 0.5 0.5 0.2 0.5\n\n1 0.1 0.1 0.05 0.02\n",
    );
    fx.write("ds/labels/train/b.txt", "1 0.5 0.5 0.3 0.3 0.9\n");
    ["a", "b", "c"]
        .iter()
        .map(|s| fx.path(&format!("ds/images/train/{s}.jpg")))
        .collect()
}

fn check_yolo_named(fx: &Fixture, names: &str) {
    let images = yolo_fixture(fx);
    let (ann, issues) = load(&fx.spec(Format::Yolo, "ds", Some(names)), &images);
    assert!(issues.is_empty(), "{issues:?}");
    let a = ann.of(&images[0]).expect("a");
    assert_eq!(classes(a), ["car", "person"]);
    assert_eq!(a.objects, 2);
    let smallest = a.smallest_box.expect("measured");
    assert!((smallest - 12.8).abs() < 1e-4, "{smallest}");
    assert!(a.far_small);
    let b = ann.of(&images[1]).expect("b");
    assert_eq!(classes(b), ["car"]);
    assert!(!b.far_small);
}

#[test]
fn yolo_names_yaml_list() {
    let fx = Fixture::new();
    fx.write("data.yaml", "path: ../ds\nnc: 2\nnames: [person, car]\n");
    check_yolo_named(&fx, "data.yaml");
    fx.write("block.yml", "names:\n  - person\n  - car\n");
    check_yolo_named(&fx, "block.yml");
}

#[test]
fn yolo_names_yaml_maps() {
    let fx = Fixture::new();
    fx.write("flow.yaml", "names: {0: person, 1: car}\n");
    check_yolo_named(&fx, "flow.yaml");
    fx.write(
        "block.yaml",
        "train: images/train\nnames:\n  0: person\n  1: car\n",
    );
    check_yolo_named(&fx, "block.yaml");
}

#[test]
fn yolo_names_txt() {
    let fx = Fixture::new();
    fx.write("classes.txt", "person\r\ncar\r\n\r\n");
    check_yolo_named(&fx, "classes.txt");
}

#[test]
fn yolo_without_names_uses_ids() {
    let fx = Fixture::new();
    let images = yolo_fixture(&fx);
    let (ann, _) = load(&fx.spec(Format::Yolo, "ds", None), &images);
    assert_eq!(classes(ann.of(&images[0]).expect("a")), ["0", "1"]);
}

#[test]
fn yolo_empty_or_missing_label_is_background() {
    let fx = Fixture::new();
    let mut images = yolo_fixture(&fx);
    fx.write("ds/labels/train/d.txt", "\n  \n");
    images.push(fx.path("ds/images/train/d.jpg"));
    images.push(fx.path("ds/extra/e.jpg"));
    images.push(fx.path("elsewhere/images/f.jpg"));
    let (ann, issues) = load(&fx.spec(Format::Yolo, "ds", None), &images);
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(ann.len(), 4);
    for i in [2, 3] {
        assert_eq!(ann.of(&images[i]), Some(&ImageAnnotation::default()));
    }
    assert_eq!(ann.of(&images[4]), None);
    assert_eq!(ann.of(&images[5]), None);
}

#[test]
fn yolo_label_path_replaces_last_images() {
    let root = Path::new("/d/ds");
    assert_eq!(
        yolo::label_path(root, Path::new("/d/ds/images/x/images/a.b.JPG")),
        Some(PathBuf::from("/d/ds/images/x/labels/a.b.txt"))
    );
    assert_eq!(
        yolo::label_path(root, Path::new("/d/ds/train/images/a.png")),
        Some(PathBuf::from("/d/ds/train/labels/a.txt"))
    );
    assert_eq!(yolo::label_path(root, Path::new("/d/ds/images.jpg")), None);
    assert_eq!(yolo::label_path(root, Path::new("/d/images/a.jpg")), None);
}

#[test]
fn yolo_far_small_threshold() {
    // 0.025 * 640 = 16 px: exactly the threshold is not far-small; just below is.
    for (h, far) in [("0.025", false), ("0.0249", true), ("0.5", false)] {
        let fx = Fixture::new();
        fx.write("ds/labels/a.txt", &format!("0 0.5 0.5 0.5 {h}\n"));
        let images = [fx.path("ds/images/a.jpg")];
        let (ann, _) = load(&fx.spec(Format::Yolo, "ds", None), &images);
        assert_eq!(ann.of(&images[0]).expect("a").far_small, far, "h = {h}");
    }
}

#[test]
fn yolo_segment_polygon_uses_its_extent() {
    let fx = Fixture::new();
    fx.write("ds/labels/a.txt", "0 0.1 0.40 0.2 0.41 0.3 0.42\n");
    let images = [fx.path("ds/images/a.jpg")];
    let (ann, _) = load(&fx.spec(Format::Yolo, "ds", None), &images);
    let h = ann.of(&images[0]).expect("a").smallest_box.expect("h");
    assert!((h - 12.8).abs() < 1e-3, "{h}");
    // In a pose dataset the same columns are a box plus keypoints.
    fx.write("pose.yaml", "kpt_shape: [1, 2]\nnames: [person]\n");
    let (ann, _) = load(&fx.spec(Format::Yolo, "ds", Some("pose.yaml")), &images);
    let h = ann.of(&images[0]).expect("a").smallest_box.expect("h");
    assert!((h - 0.41 * 640.0).abs() < 1e-3, "{h}");
}

#[test]
fn yolo_bad_lines_name_file_and_line() {
    let cases = [
        (
            "0 0.5 0.5 0.1",
            "expected `class cx cy w h`, found 4 fields",
        ),
        (
            "person 0.5 0.5 0.1 0.1",
            "class id `person` is not a number",
        ),
        ("-1 0.5 0.5 0.1 0.1", "class id `-1` is negative"),
        ("1.5 0.5 0.5 0.1 0.1", "class id `1.5` is not an integer"),
        ("0 0.5 abc 0.1 0.1", "`abc` is not a number"),
        ("0 0.5 0.5 0.1 NaN", "`NaN` is not a number"),
        (
            "0 0.5 0.5 0.1 48",
            "box height 48 is outside 0..1 (YOLO boxes are normalised)",
        ),
        (
            "0 0.1 0.2 0.3 0.4 0.5 0.6 0.7",
            "segment polygon has an odd number of coordinates (7)",
        ),
    ];
    for (line, message) in cases {
        let fx = Fixture::new();
        let label = fx.write("ds/labels/a.txt", &format!("0 0.5 0.5 0.1 0.1\n\n{line}\n"));
        let images = [fx.path("ds/images/a.jpg")];
        let err = try_load(&fx.spec(Format::Yolo, "ds", None), &images).expect_err(line);
        assert_eq!(err.to_string(), format!("{}:3: {message}", label.display()));
    }
}

#[test]
fn yolo_unknown_class_names_the_names_file() {
    let fx = Fixture::new();
    let names = fx.write("classes.txt", "person\ncar\n");
    let label = fx.write("ds/labels/a.txt", "2 0.5 0.5 0.1 0.1\n");
    let images = [fx.path("ds/images/a.jpg")];
    let err = try_load(&fx.spec(Format::Yolo, "ds", Some("classes.txt")), &images)
        .expect_err("unknown class");
    assert_eq!(
        err.to_string(),
        format!(
            "{}:1: class id 2 is not in {}",
            label.display(),
            names.display()
        )
    );
}

#[test]
fn yolo_bad_names_files() {
    let cases = [
        (
            "a.txt",
            "person\n\ncar\n",
            ":2: empty class name (line n names class n - 1)",
        ),
        ("b.yaml", "nc: 2\n", ": no `names:` key"),
        (
            "c.yaml",
            "names: {a: person}\n",
            ": `names` key `a` is not a class id (0, 1, ...)",
        ),
        ("d.yaml", "names: []\n", ": `names:` is empty"),
    ];
    for (file, text, message) in cases {
        let fx = Fixture::new();
        let names = fx.write(file, text);
        let err = try_load(&fx.spec(Format::Yolo, "ds", Some(file)), &[]).expect_err(file);
        assert_eq!(err.to_string(), format!("{}{message}", names.display()));
    }
    let fx = Fixture::new();
    fx.write("e.yaml", "names: [a, b\n");
    let err = try_load(&fx.spec(Format::Yolo, "ds", Some("e.yaml")), &[]).expect_err("yaml");
    assert!(matches!(err, AnnotationError::NamesYaml { .. }), "{err:?}");
}

#[test]
fn yolo_reports_when_nothing_is_labelled() {
    let fx = Fixture::new();
    let images = [fx.path("ds/images/a.jpg")];
    let (ann, issues) = load(&fx.spec(Format::Yolo, "ds", None), &images);
    assert_eq!(ann.len(), 1);
    assert_eq!(issues.len(), 1);
    assert!(issues[0].message.starts_with("no label file found"));
    let images = [fx.path("ds/a.jpg")];
    let (ann, issues) = load(&fx.spec(Format::Yolo, "ds", None), &images);
    assert!(ann.is_empty());
    assert!(issues[0].message.contains("under an `images` folder"));
}

const COCO: &str = r#"{
  "images": [
    {"id": 1, "file_name": "a.jpg", "width": 1280, "height": 1280},
    {"id": 2, "file_name": "sub/b.jpg", "width": 640, "height": 320},
    {"id": 3, "file_name": "bg.jpg", "width": 640, "height": 480}
  ],
  "annotations": [
    {"id": 10, "image_id": 1, "category_id": 7, "bbox": [0, 0, 50, 400]},
    {"id": 11, "image_id": 1, "category_id": 3, "bbox": [0, 0, 10, 20]},
    {"id": 12, "image_id": 2, "category_id": 3, "bbox": [5, 5, 10, 100], "iscrowd": 0}
  ],
  "categories": [{"id": 3, "name": "car"}, {"id": 7, "name": "person"}]
}"#;

#[test]
fn coco_good() {
    let fx = Fixture::new();
    fx.write("coco/instances.json", COCO);
    let images = [
        fx.path("coco/a.jpg"),
        fx.path("coco/sub/b.jpg"),
        fx.path("coco/bg.jpg"),
        fx.path("coco/unlisted.jpg"),
    ];
    let spec = fx.spec(Format::Coco, "coco/instances.json", None);
    let (ann, issues) = load(&spec, &images);
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(ann.len(), 3);
    let a = ann.of(&images[0]).expect("a");
    assert_eq!(classes(a), ["car", "person"]);
    assert_eq!(a.objects, 2);
    assert_eq!(a.smallest_box, Some(10.0)); // 20 / 1280 * 640
    assert!(a.far_small);
    let b = ann.of(&images[1]).expect("b");
    assert_eq!(b.smallest_box, Some(200.0)); // 100 / 320 * 640
    assert!(!b.far_small);
    assert_eq!(ann.of(&images[2]), Some(&ImageAnnotation::default()));
    assert_eq!(ann.of(&images[3]), None);
}

#[test]
fn coco_images_folder_and_missing_image() {
    let fx = Fixture::new();
    fx.write("coco/instances.json", COCO);
    let mut spec = fx.spec(Format::Coco, "coco/instances.json", None);
    spec.images = Some(fx.path("pics"));
    let images = [fx.path("pics/a.jpg"), fx.path("pics/bg.jpg")];
    let (ann, issues) = load(&spec, &images);
    assert_eq!(ann.len(), 2);
    assert_eq!(
        issues,
        [AnnotationIssue {
            path: fx.path("pics/sub/b.jpg"),
            message: "listed in the COCO file but not found".into(),
        }]
    );
}

#[test]
fn coco_unknown_ids_are_errors() {
    let cases = [
        (
            r#""category_id": 7"#,
            r#""category_id": 9"#,
            "annotations[0]: unknown category_id 9",
        ),
        (
            r#""image_id": 2"#,
            r#""image_id": 5"#,
            "annotations[2]: unknown image_id 5",
        ),
        (
            "[5, 5, 10, 100]",
            "[5, 5, 10]",
            "annotations[2]: bbox has 3 numbers, expected 4 ([x, y, width, height])",
        ),
    ];
    for (from, to, message) in cases {
        let fx = Fixture::new();
        let json = fx.write("instances.json", &COCO.replace(from, to));
        let spec = fx.spec(Format::Coco, "instances.json", None);
        let err = try_load(&spec, &[]).expect_err(message);
        assert_eq!(err.to_string(), format!("{}: {message}", json.display()));
    }
}

#[test]
fn coco_broken_json_names_line_and_column() {
    let fx = Fixture::new();
    let json = fx.write("instances.json", "{\n  \"images\": [,]\n}");
    let spec = fx.spec(Format::Coco, "instances.json", None);
    let err = try_load(&spec, &[]).expect_err("broken");
    assert_eq!(
        err.to_string(),
        format!("invalid COCO JSON in {}", json.display())
    );
    let source = std::error::Error::source(&err).expect("source").to_string();
    assert_eq!(source, "expected value at line 2 column 14");
}

const VOC: &str = "<annotation>
  <filename>a.png</filename>
  <size><width>1280</width><height>960</height><depth>3</depth></size>
  <object><name>car</name><difficult>0</difficult>
    <bndbox><xmin>1</xmin><ymin>100</ymin><xmax>50</xmax><ymax>124</ymax></bndbox>
  </object>
  <object><name> person </name>
    <bndbox><xmin>1</xmin><ymin>10.5</ymin><xmax>50</xmax><ymax>310.5</ymax></bndbox>
  </object>
</annotation>";

#[test]
fn voc_good_and_no_object() {
    let fx = Fixture::new();
    fx.write("voc/a.xml", VOC);
    fx.write(
        "voc/b.XML",
        "<annotation><size><width>1</width><height>1</height></size></annotation>",
    );
    let images = [
        fx.path("jpg/a.jpg"),
        fx.path("jpg/b.jpg"),
        fx.path("jpg/c.jpg"),
    ];
    let (ann, issues) = load(&fx.spec(Format::Voc, "voc", None), &images);
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(ann.len(), 2);
    let a = ann.of(&images[0]).expect("a");
    assert_eq!(classes(a), ["car", "person"]);
    assert_eq!(a.objects, 2);
    assert_eq!(a.smallest_box, Some(16.0)); // 24 / 960 * 640
    assert!(!a.far_small);
    assert_eq!(ann.of(&images[1]), Some(&ImageAnnotation::default()));
    assert_eq!(ann.of(&images[2]), None);
}

#[test]
fn voc_without_size_counts_but_does_not_measure() {
    let fx = Fixture::new();
    let xml = fx.write("voc/a.xml", &VOC.replace("<height>960</height>", ""));
    let images = [fx.path("a.jpg")];
    let (ann, issues) = load(&fx.spec(Format::Voc, "voc", None), &images);
    let a = ann.of(&images[0]).expect("a");
    assert_eq!((a.objects, a.smallest_box, a.far_small), (2, None, false));
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].path, xml);
}

#[test]
fn voc_malformed_xml_is_an_error() {
    let fx = Fixture::new();
    let xml = fx.write("voc/a.xml", "<annotation>\n<object><name>car</object>\n");
    let images = [fx.path("a.jpg")];
    let err = try_load(&fx.spec(Format::Voc, "voc", None), &images).expect_err("xml");
    assert_eq!(
        err.to_string(),
        format!("malformed XML in {}", xml.display())
    );
    let source = std::error::Error::source(&err).expect("source").to_string();
    assert!(source.contains("2:"), "{source}");
}

#[test]
fn voc_bad_values_name_the_element() {
    let cases = [
        (
            "<ymax>124</ymax>",
            "<ymax>x</ymax>",
            "5: <ymax> `x` is not a number",
        ),
        (
            "<ymax>124</ymax>",
            "<ymax>90</ymax>",
            "5: <ymax> 90 is less than <ymin> 100",
        ),
        ("<name>car</name>", "", "4: <object> has no <name>"),
    ];
    for (from, to, message) in cases {
        let fx = Fixture::new();
        let xml = fx.write("voc/a.xml", &VOC.replace(from, to));
        let images = [fx.path("a.jpg")];
        let err = try_load(&fx.spec(Format::Voc, "voc", None), &images).expect_err(message);
        assert_eq!(err.to_string(), format!("{}:{message}", xml.display()));
    }
}
