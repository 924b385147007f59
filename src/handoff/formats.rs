//! The hand-off to the quantizer: the files each toolchain reads, written into
//! the set beside the images (`[export] formats`).
//!
//! | format | files | for |
//! |---|---|---|
//! | `list` | `dataset.txt`: one image path per line | RKNN-Toolkit2 `rknn.build(dataset=)` |
//! | `npy` | `calib.npy`: `(N, C, H, W)` or `(N, H, W, C)` | TensorRT ModelOpt, OpenVINO NNCF, Hailo DFC |
//! | `npz` | `calib.npz`: the same array under the input's name | tools that take named inputs |
//! | `raw` | `raw/NNNNNN.raw` + `input_list.txt` | SNPE / QNN |
//! | `yolo` | `data.yaml`: the set as an Ultralytics dataset | `model.export(format=…, int8=True, data=…)` |
//! | `ort` | `calib_reader.py`, `quantize_ort.py` (+ `calib.npy`) | ONNX Runtime `quantize_static` |
//!
//! Rows follow the lock manifest's order (by file path in the set). The
//! tensors are the recipe's `[tensor]` preprocessing of each chosen image.
//!
//! The two ONNX Runtime files name the calibration method the report advises
//! ([`Calibration`]): `quantize_ort.py` (the template `quantize_ort.py` beside
//! this file) runs `quant_pre_process`, keeps a detection head's
//! post-processing in float and calibrates in strides; `calib_reader.py` is the
//! data reader it and a hand-written `quantize_static` call use.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::tensors::TensorJob;
use crate::decode::Limits;
use crate::export::Output;
use crate::tensor::{Source, Spec};

/// One hand-off format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `dataset.txt`.
    List,
    /// `calib.npy`.
    Npy,
    /// `calib.npz`.
    Npz,
    /// `raw/*.raw` and `input_list.txt`.
    Raw,
    /// `data.yaml`.
    Yolo,
    /// `calib_reader.py` (with `calib.npy`).
    Ort,
}

impl Format {
    /// Every format, in the order they are written.
    pub const ALL: [Format; 6] = [
        Format::List,
        Format::Npy,
        Format::Npz,
        Format::Raw,
        Format::Yolo,
        Format::Ort,
    ];

    /// The name used in recipes and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::List => "list",
            Format::Npy => "npy",
            Format::Npz => "npz",
            Format::Raw => "raw",
            Format::Yolo => "yolo",
            Format::Ort => "ort",
        }
    }

    /// Parses a format name.
    pub fn parse(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == name.trim())
    }

    /// Whether the format writes tensors (and needs `[tensor]`).
    pub fn needs_tensor(self) -> bool {
        matches!(self, Format::Npy | Format::Npz | Format::Raw | Format::Ort)
    }
}

/// `[export]`: which hand-off files a build writes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Exports {
    /// `formats`. Default none.
    pub formats: BTreeSet<Format>,
    /// `paths = "absolute"`: `dataset.txt` lists absolute paths. Default
    /// relative to the set folder.
    pub absolute_paths: bool,
}

/// The calibration method the ONNX Runtime files name: the report's advice
/// (`report::advice`). The default, Percentile 99.999, is what that advice
/// names for every set today.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Calibration {
    /// `CalibrationMethod.Percentile` at this percentile (0–100).
    Percentile(f64),
    /// `CalibrationMethod.MinMax`.
    MinMax,
    /// `CalibrationMethod.Entropy`.
    Entropy,
}

impl Default for Calibration {
    fn default() -> Self {
        Calibration::Percentile(99.999)
    }
}

impl Calibration {
    /// From the report's advice: `method` as `Advice::method` spells it
    /// (`percentile`, `minmax`, `entropy`), with its percentile. `None` for
    /// another name or a percentile outside (0, 100].
    pub fn from_advice(method: &str, percentile: Option<f64>) -> Option<Calibration> {
        match (method, percentile) {
            ("percentile", Some(p)) if p > 0.0 && p <= 100.0 => Some(Calibration::Percentile(p)),
            ("minmax", _) => Some(Calibration::MinMax),
            ("entropy", _) => Some(Calibration::Entropy),
            _ => None,
        }
    }

    /// The `onnxruntime.quantization.CalibrationMethod` member.
    pub fn ort_name(self) -> &'static str {
        match self {
            Calibration::Percentile(_) => "Percentile",
            Calibration::MinMax => "MinMax",
            Calibration::Entropy => "Entropy",
        }
    }

    /// The `extra_options` of `quantize_static` as a Python dict literal.
    fn extra_options(self) -> String {
        match self {
            Calibration::Percentile(p) => format!("{{\"CalibPercentile\": {p}}}"),
            _ => "{}".to_owned(),
        }
    }

    /// As people read it: `Percentile 99.999`, `MinMax`.
    fn text(self) -> String {
        match self {
            Calibration::Percentile(p) => format!("Percentile {p}"),
            other => other.ort_name().to_owned(),
        }
    }
}

/// The set's images as the hand-off files list them.
#[derive(Debug)]
pub(crate) struct Chosen<'a> {
    /// The output folder (absolute).
    pub out: &'a Path,
    /// Per image, in lock-manifest order: where its bytes come from and its
    /// place in the set.
    pub images: Vec<(Source, &'a Path)>,
    /// Class names for `data.yaml`, in id order.
    pub classes: Vec<String>,
}

/// The outputs `exports` asks for, for the `chosen` images, preprocessed by
/// `spec` (required by the tensor formats; the recipe checks that), with the
/// ONNX Runtime files naming `calibration` (the report's advice,
/// [`Calibration::from_advice`]).
pub(crate) fn outputs(
    exports: &Exports,
    chosen: &Chosen<'_>,
    spec: Option<&Spec>,
    limits: Limits,
    calibration: Calibration,
) -> Vec<Output> {
    let has = |f: Format| exports.formats.contains(&f);
    let mut outputs = Vec::new();
    if has(Format::List) {
        outputs.push(file("dataset.txt", dataset_list(exports, chosen)));
    }
    if let Some(spec) = spec.filter(|_| exports.formats.iter().any(|f| f.needs_tensor())) {
        outputs.push(Output::Stream(std::sync::Arc::new(TensorJob {
            sources: chosen.images.iter().map(|(s, _)| s.clone()).collect(),
            spec: spec.clone(),
            npy: has(Format::Npy) || has(Format::Ort),
            npz: has(Format::Npz),
            raw: has(Format::Raw),
            limits,
        })));
        if has(Format::Ort) {
            let n = chosen.images.len();
            outputs.push(file("calib_reader.py", calib_reader(spec, n, calibration)));
            outputs.push(file("quantize_ort.py", quantize_ort(spec, n, calibration)));
        }
    }
    if has(Format::Yolo) {
        outputs.push(file("data.yaml", data_yaml(chosen).into_bytes()));
    }
    outputs
}

fn file(path: &str, bytes: Vec<u8>) -> Output {
    Output::File {
        path: PathBuf::from(path),
        bytes,
    }
}

/// `dataset.txt`: one path per line, exactly the bytes of the name.
fn dataset_list(exports: &Exports, chosen: &Chosen<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    for (_, dest) in &chosen.images {
        let path = if exports.absolute_paths {
            chosen.out.join(dest)
        } else {
            dest.to_path_buf()
        };
        out.extend_from_slice(path.as_os_str().as_encoded_bytes());
        out.push(b'\n');
    }
    out
}

/// `data.yaml`: the set folder as an Ultralytics dataset (every image in it is
/// train and val; calibration needs no labels).
fn data_yaml(chosen: &Chosen<'_>) -> String {
    let mut yaml = String::from(
        "# Written by calibset: the calibration set as an Ultralytics dataset, for\n\
         # model.export(format=..., int8=True, data=\"data.yaml\").\n",
    );
    yaml.push_str(&format!(
        "path: {}\n",
        quoted(&chosen.out.to_string_lossy())
    ));
    yaml.push_str("train: .\nval: .\nnames:\n");
    let names: Vec<&str> = if chosen.classes.is_empty() {
        vec!["object"]
    } else {
        chosen.classes.iter().map(String::as_str).collect()
    };
    for (id, name) in names.iter().enumerate() {
        yaml.push_str(&format!("  {id}: {}\n", quoted(name)));
    }
    yaml
}

/// A YAML double-quoted scalar.
fn quoted(s: &str) -> String {
    let mut out = String::from('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `calib_reader.py`: an ONNX Runtime `CalibrationDataReader` over `calib.npy`,
/// whose example names `calibration` (`quantize_static` alone would use MinMax).
fn calib_reader(spec: &Spec, n: usize, calibration: Calibration) -> Vec<u8> {
    // JSON string literals are Python string literals too.
    let literal = |s: &str| serde_json::to_string(s).expect("a string serialises");
    let preprocessing = literal(&serde_json::to_string(spec).expect("the spec serialises"));
    let shape = spec.shape().map(|d| d.to_string()).join(", ");
    let pairs = [
        ("@TEXT@", calibration.text()),
        ("@METHOD@", calibration.ort_name().to_owned()),
        ("@EXTRA@", calibration.extra_options()),
        ("@N@", n.to_string()),
        ("@SHAPE@", shape),
        ("@DTYPE@", spec.dtype.numpy().to_owned()),
        ("@DESCRIBED@", spec.describe()),
        ("@INPUT@", literal(spec.input_name())),
        ("@PREPROCESSING@", preprocessing),
    ];
    fill(CALIB_READER, &pairs)
}

/// `quantize_ort.py`: the template beside this file with the set's size,
/// shape and dtype and the calibration method filled in.
fn quantize_ort(spec: &Spec, n: usize, calibration: Calibration) -> Vec<u8> {
    let percentile = match calibration {
        Calibration::Percentile(p) => p.to_string(),
        _ => "None".to_owned(),
    };
    let shape = spec.shape().map(|d| d.to_string()).join(", ");
    let pairs = [
        ("@N@", n.to_string()),
        ("@SHAPE@", shape),
        ("@DTYPE@", spec.dtype.numpy().to_owned()),
        ("@METHOD_TEXT@", calibration.text()),
        ("@METHOD@", format!("\"{}\"", calibration.ort_name())),
        ("@PERCENTILE@", percentile),
    ];
    fill(QUANTIZE_ORT, &pairs)
}

/// `template` with each `@MARKER@` of `pairs` replaced by its value, in one
/// pass: a value that holds a marker (an input named `@N@`) stays as it is.
fn fill(template: &str, pairs: &[(&str, String)]) -> Vec<u8> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        match pairs.iter().find(|(marker, _)| tail.starts_with(marker)) {
            Some((marker, value)) => {
                out.push_str(value);
                rest = &tail[marker.len()..];
            }
            None => {
                out.push('@');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out.into_bytes()
}

/// The `quantize_ort.py` template: `@N@`, `@SHAPE@`, `@DTYPE@`,
/// `@METHOD_TEXT@`, `@METHOD@` and `@PERCENTILE@` are filled in.
const QUANTIZE_ORT: &str = include_str!("quantize_ort.py");

/// The `calib_reader.py` template: `@TEXT@`, `@METHOD@`, `@EXTRA@`, `@N@`,
/// `@SHAPE@`, `@DTYPE@`, `@DESCRIBED@`, `@INPUT@` and `@PREPROCESSING@` are
/// filled in.
const CALIB_READER: &str = include_str!("calib_reader.py");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_by_name() {
        for f in Format::ALL {
            assert_eq!(Format::parse(f.as_str()), Some(f));
        }
        assert_eq!(Format::parse("tflite"), None);
    }

    #[test]
    fn lists_and_yaml_name_the_set() {
        let a = Source::File(PathBuf::from("/pool/a.jpg"));
        let chosen = Chosen {
            out: Path::new("/sets/one"),
            images: vec![(a, Path::new("normal/a.jpg"))],
            classes: vec!["person".into(), "car \"x\"".into()],
        };
        let mut exports = Exports::default();
        assert_eq!(dataset_list(&exports, &chosen), b"normal/a.jpg\n");
        exports.absolute_paths = true;
        assert_eq!(dataset_list(&exports, &chosen), b"/sets/one/normal/a.jpg\n");
        let yaml = data_yaml(&chosen);
        assert!(yaml.contains("path: \"/sets/one\"\ntrain: .\nval: .\nnames:\n  0: \"person\"\n  1: \"car \\\"x\\\"\"\n"), "{yaml}");
        let reader =
            String::from_utf8(calib_reader(&Spec::default(), 3, Calibration::default())).unwrap();
        assert!(reader.contains("INPUT_NAME = \"images\""));
        assert!(reader.contains("3 images of shape (3, 640, 640)"));
    }

    #[test]
    fn the_ort_files_name_the_advised_method() {
        let spec = Spec::default();
        let p = Calibration::from_advice("percentile", Some(99.99)).unwrap();
        let reader = String::from_utf8(calib_reader(&spec, 5, p)).unwrap();
        assert!(
            reader.contains("calibrate_method=CalibrationMethod.Percentile,\n"),
            "{reader}"
        );
        assert!(
            reader.contains("extra_options={\"CalibPercentile\": 99.99})"),
            "{reader}"
        );
        assert!(
            reader.contains("calibrates with\nPercentile 99.99, the method"),
            "{reader}"
        );
        let script = String::from_utf8(quantize_ort(&spec, 5, p)).unwrap();
        assert!(!script.contains('@'), "a marker left: {script}");
        assert!(script.contains("METHOD = \"Percentile\"\nPERCENTILE = 99.99\n"));
        assert!(script.contains("(5 images of shape\n(3, 640, 640), <f4)"));
        assert!(script.contains("calibrated with\n   Percentile 99.99 (the method"));

        let m = Calibration::from_advice("minmax", None).unwrap();
        let reader = String::from_utf8(calib_reader(&spec, 5, m)).unwrap();
        assert!(
            reader.contains("CalibrationMethod.MinMax,\n                    extra_options={})")
        );
        let script = String::from_utf8(quantize_ort(&spec, 5, m)).unwrap();
        assert!(script.contains("METHOD = \"MinMax\"\nPERCENTILE = None\n"));
        assert_eq!(Calibration::from_advice("percentile", None), None);
        assert_eq!(Calibration::from_advice("percentile", Some(101.0)), None);
        assert_eq!(Calibration::from_advice("kl", None), None);
        assert_eq!(Calibration::default(), Calibration::Percentile(99.999));
    }

    #[test]
    fn markers_are_filled_in_one_pass() {
        let pairs = [("@A@", "@B@".to_owned()), ("@B@", "b".to_owned())];
        assert_eq!(fill("x @A@ @B@ @C@ a@b", &pairs), b"x @B@ b @C@ a@b");
    }
}
