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
//! | `ort` | `calib_reader.py` (+ `calib.npy`) | ONNX Runtime `quantize_static` |
//!
//! Rows follow the lock manifest's order (by file path in the set). The
//! tensors are the recipe's `[tensor]` preprocessing of each chosen image.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Output;
use super::tensors::{Source, TensorJob};
use crate::decode::Limits;
use crate::tensor::Spec;

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

/// The set's images as the hand-off files list them.
#[derive(Debug)]
pub struct Chosen<'a> {
    /// The output folder (absolute).
    pub out: &'a Path,
    /// Per image, in lock-manifest order: where its bytes come from and its
    /// place in the set.
    pub images: Vec<(Source, &'a Path)>,
    /// Class names for `data.yaml`, in id order.
    pub classes: Vec<String>,
}

/// The outputs `exports` asks for, for the `chosen` images, preprocessed by
/// `spec` (required by the tensor formats; the recipe checks that).
pub fn outputs(
    exports: &Exports,
    chosen: &Chosen<'_>,
    spec: Option<&Spec>,
    limits: Limits,
) -> Vec<Output> {
    let has = |f: Format| exports.formats.contains(&f);
    let mut outputs = Vec::new();
    if has(Format::List) {
        outputs.push(file("dataset.txt", dataset_list(exports, chosen)));
    }
    if let Some(spec) = spec.filter(|_| exports.formats.iter().any(|f| f.needs_tensor())) {
        outputs.push(Output::Tensors(TensorJob {
            sources: chosen.images.iter().map(|(s, _)| s.clone()).collect(),
            spec: spec.clone(),
            npy: has(Format::Npy) || has(Format::Ort),
            npz: has(Format::Npz),
            raw: has(Format::Raw),
            limits,
        }));
        if has(Format::Ort) {
            outputs.push(file(
                "calib_reader.py",
                calib_reader(spec, chosen.images.len()),
            ));
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

/// `calib_reader.py`: an ONNX Runtime `CalibrationDataReader` over `calib.npy`.
fn calib_reader(spec: &Spec, n: usize) -> Vec<u8> {
    // JSON string literals are Python string literals too.
    let literal = |s: &str| serde_json::to_string(s).expect("a string serialises");
    let preprocessing = literal(&serde_json::to_string(spec).expect("the spec serialises"));
    let shape = spec.shape().map(|d| d.to_string()).join(", ");
    format!(
        r#""""ONNX Runtime calibration data of this set, written by calibset.

    from onnxruntime.quantization import quantize_static
    from calib_reader import CalibReader
    quantize_static("model.onnx", "model.int8.onnx", CalibReader())

Each image of calib.npy (beside this file: {n} images of shape ({shape}),
dtype {dtype}) is one calibration sample, preprocessed as PREPROCESSING says;
check it against the model's deployment preprocessing.
"""
import json
import os

import numpy as np
from onnxruntime.quantization import CalibrationDataReader

HERE = os.path.dirname(os.path.abspath(__file__))
INPUT_NAME = {input}
PREPROCESSING = json.loads({preprocessing})


class CalibReader(CalibrationDataReader):
    """Yields {{input_name: batch}} over calib.npy, then None."""

    def __init__(self, input_name=None, batch_size=1, path=None):
        self.input_name = input_name or INPUT_NAME
        self.batch_size = int(batch_size)
        self.data = np.load(path or os.path.join(HERE, "calib.npy"), mmap_mode="r")
        self.next = 0

    def get_next(self):
        if self.next >= len(self.data):
            return None
        batch = np.ascontiguousarray(self.data[self.next : self.next + self.batch_size])
        self.next += self.batch_size
        return {{self.input_name: batch}}

    def rewind(self):
        self.next = 0

    def __len__(self):
        return (len(self.data) + self.batch_size - 1) // self.batch_size
"#,
        dtype = spec.dtype.numpy(),
        input = literal(spec.input_name()),
    )
    .into_bytes()
}

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
        let reader = String::from_utf8(calib_reader(&Spec::default(), 3)).unwrap();
        assert!(reader.contains("INPUT_NAME = \"images\""));
        assert!(reader.contains("3 images of shape (3, 640, 640)"));
    }
}
