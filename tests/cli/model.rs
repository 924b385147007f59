//! The check against the model (`[model]`, `--model`) through the binary, on
//! small ONNX models the tests write with `tract-onnx`'s protobuf types.

use predicates::prelude::*;
use predicates::str::contains;
use prost::Message;
use tract_onnx::pb;

use crate::fixture::{Pool, darken, png, scene};

/// A float32 value info of shape `dims` (0 = a free dimension).
fn value(name: &str, dims: &[i64]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{Dimension, dimension::Value};
    let dim = dims
        .iter()
        .map(|&d| Dimension {
            value: Some(if d > 0 {
                Value::DimValue(d)
            } else {
                Value::DimParam("N".into())
            }),
            ..Default::default()
        })
        .collect();
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: pb::tensor_proto::DataType::Float as i32,
                shape: Some(pb::TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn node(op: &str, inputs: &[&str], output: &str) -> pb::NodeProto {
    pb::NodeProto {
        name: format!("/{op}_{output}"),
        op_type: op.into(),
        input: inputs.iter().map(|s| (*s).into()).collect(),
        output: vec![output.into()],
        ..Default::default()
    }
}

fn scalar(name: &str, v: f32) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        data_type: pb::tensor_proto::DataType::Float as i32,
        float_data: vec![v],
        ..Default::default()
    }
}

/// A model of `nodes` with `inputs` and outputs `outputs`, as ONNX bytes.
fn model(inputs: Vec<pb::ValueInfoProto>, nodes: Vec<pb::NodeProto>, outputs: &[&str]) -> Vec<u8> {
    let graph = pb::GraphProto {
        name: "test".into(),
        node: nodes,
        initializer: vec![
            scalar("two", 2.0),
            scalar("half", 0.5),
            scalar("hundred", 100.0),
        ],
        input: inputs,
        output: outputs.iter().map(|o| value(o, &[])).collect(),
        ..Default::default()
    };
    pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec()
}

/// `relu = Relu(images·2 − 0.5)`, `mean = GlobalAveragePool(images)`, and
/// `mixed = Concat(relu·100, mean-broadcast sigmoid)`-like mix of ranges:
/// `joined = Concat(relu·100, Sigmoid(images))` on the channel axis.
fn tiny(side: i64) -> Vec<u8> {
    let mut concat = node("Concat", &["big", "score"], "joined");
    concat.attribute = vec![pb::AttributeProto {
        name: "axis".into(),
        r#type: pb::attribute_proto::AttributeType::Int as i32,
        i: 1,
        ..Default::default()
    }];
    model(
        vec![value("images", &[0, 3, side, side])],
        vec![
            node("Mul", &["images", "two"], "scaled"),
            node("Sub", &["scaled", "half"], "shifted"),
            node("Relu", &["shifted"], "relu"),
            node("GlobalAveragePool", &["images"], "mean"),
            node("Mul", &["relu", "hundred"], "big"),
            node("Sigmoid", &["images"], "score"),
            concat,
            node("Relu", &["joined"], "after"),
        ],
        &["mean", "after"],
    )
}

/// Eight PNG stills (two saturated white when `white`), `[tensor]` 8×8 float32
/// and `[model]` with `model_keys`.
fn pool_with(model_keys: &str, white: bool) -> Pool {
    let pool = Pool::empty();
    for k in 0..8u64 {
        let img = if white && k < 1 {
            image::RgbImage::from_pixel(40, 30, image::Rgb([255, 255, 255]))
        } else {
            scene(300 + k, 0.0, 40, 30)
        };
        pool.write(&format!("stills/s{k}.png"), &png(&img));
    }
    pool.write("tiny.onnx", &tiny(8));
    pool.write(
        "recipe.toml",
        format!(
            "total = 8\ndefault_bucket = \"normal\"\n[buckets.normal]\ncount = 8\n\
             [sources]\nroots = [\"stills\"]\n[output]\ndir = \"out\"\n\
             [tensor]\nsize = [8, 8]\nresize = \"stretch\"\n\
             [model]\n{model_keys}\n[export]\nformats = [\"npy\"]\n"
        )
        .as_bytes(),
    );
    pool
}

fn read_npy_f32(path: &std::path::Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap();
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    bytes[10 + header_len..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn tensor<'a>(ranges: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    ranges["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no tensor {name} in ranges.json"))
}

#[test]
fn a_build_with_a_model_writes_the_ranges_of_every_tensor_it_computes() {
    let pool = pool_with("path = \"tiny.onnx\"\nmethod = \"minmax\"", false);
    pool.cmd()
        .args(["build", "-q", "--recipe", "recipe.toml"])
        .assert()
        .success();
    let out = pool.join("out");
    let ranges = json(&out.join("ranges.json"));
    assert_eq!(ranges["schema"], 1);
    assert_eq!(ranges["images"], 8);
    assert_eq!(ranges["input"]["shape"], serde_json::json!([1, 3, 8, 8]));
    let names: Vec<&str> = ranges["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for n in [
        "images", "scaled", "shifted", "relu", "mean", "big", "score", "joined", "after",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    assert!(!names.contains(&"two"), "an initializer is not calibrated");
    // The tensors the set holds, through the model by hand.
    let x = read_npy_f32(&out.join("calib.npy"));
    let (lo, hi) = x
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let images = tensor(&ranges, "images");
    assert_eq!(images["min"].as_f64().unwrap() as f32, lo);
    assert_eq!(images["max"].as_f64().unwrap() as f32, hi);
    let relu = tensor(&ranges, "relu");
    assert_eq!(
        relu["min"].as_f64().unwrap() as f32,
        (lo * 2.0 - 0.5).max(0.0)
    );
    assert!((relu["max"].as_f64().unwrap() as f32 - (hi * 2.0 - 0.5)).abs() < 1e-6);
    assert_eq!(relu["range"], serde_json::json!([relu["min"], relu["max"]]));
    // Boxes ×100 joined with 0–1 scores: kept float, and out of the tables.
    assert_eq!(tensor(&ranges, "joined")["float"], true);
    assert_eq!(tensor(&ranges, "after")["float"], true);
    assert_eq!(tensor(&ranges, "relu")["float"], false);
    let ort = std::fs::read_to_string(out.join("ort_calibration.json")).unwrap();
    assert!(
        ort.contains("\"relu\"") && !ort.contains("\"joined\""),
        "{ort}"
    );
    let cache = std::fs::read_to_string(out.join("calib.cache")).unwrap();
    assert!(
        cache.starts_with("TRT-") && cache.contains("\nrelu: "),
        "{cache}"
    );
    assert!(out.join("ort_overrides.json").is_file());
    assert!(out.join("quantization_overrides.json").is_file());
    let report = json(&out.join("report.json"));
    assert_eq!(report["model"]["tensors"], names.len());
    assert_eq!(report["model"]["method"], "minmax");
    assert_eq!(report["model"]["float"][0]["tensor"], "after");
}

#[test]
fn the_report_names_the_image_that_sets_a_range_alone() {
    let pool = pool_with("path = \"tiny.onnx\"", true);
    let out = pool
        .cmd()
        .args(["build", "--recipe", "recipe.toml", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let model = &report["model"];
    assert_eq!(
        model["method"], "percentile",
        "the advice's method by default"
    );
    let top = &model["dominant"][0];
    assert!(
        top["image"].as_str().unwrap().ends_with("s0.png"),
        "the white frame sets the ranges: {model}"
    );
    let ranges = json(&pool.join("out/ranges.json"));
    let mean = tensor(&ranges, "mean");
    assert!(
        mean["max_image"]["image"]
            .as_str()
            .unwrap()
            .ends_with("s0.png")
    );
    assert!(mean["max_image"]["lead"].as_f64().unwrap() > 0.1, "{mean}");
}

#[test]
fn halves_that_differ_are_reported_unstable_and_alike_ones_stable() {
    // Two images, one per half: a bright one and a dark one.
    let pool = Pool::empty();
    let mut bright = scene(11, 0.0, 40, 30);
    for p in bright.pixels_mut() {
        for c in &mut p.0 {
            *c = 200 + *c / 5;
        }
    }
    pool.write("stills/a.png", &png(&bright));
    pool.write("stills/b.png", &png(&darken(&scene(12, 0.0, 40, 30))));
    pool.write("tiny.onnx", &tiny(8));
    let recipe = |total: usize| {
        format!(
            "total = {total}\ndefault_bucket = \"normal\"\n[buckets.normal]\ncount = {total}\n\
             [sources]\nroots = [\"stills\"]\n\
             [tensor]\nsize = [8, 8]\n[model]\npath = \"tiny.onnx\"\n"
        )
    };
    pool.write("recipe.toml", recipe(2).as_bytes());
    let report = dry_run(&pool);
    let st = &report["model"]["stability"];
    assert_eq!(st["verdict"], "unstable", "{st}");
    assert!(st["over_15"].as_u64().unwrap() > 0, "{st}");
    // Twelve images of one kind, six per half.
    let alike = Pool::empty();
    for k in 0..12u64 {
        alike.write(
            &format!("stills/s{k}.png"),
            &png(&scene(40 + k, 0.0, 40, 30)),
        );
    }
    alike.write("tiny.onnx", &tiny(8));
    alike.write("recipe.toml", recipe(12).as_bytes());
    let report = dry_run(&alike);
    let st = &report["model"]["stability"];
    assert_eq!(st["halves"], serde_json::json!([6, 6]), "{st}");
    assert_eq!(st["over_15"], 0, "{st}");
}

/// The report of `build --dry-run --json` in `pool`.
fn dry_run(pool: &Pool) -> serde_json::Value {
    crate::fixture::json_of(pool.cmd().args([
        "build",
        "--dry-run",
        "--recipe",
        "recipe.toml",
        "--json",
    ]))
}

/// Runs a build with `model` bytes as `tiny.onnx`; returns the failed
/// command's stderr, with nothing written.
fn refused(bytes: &[u8], tensor_keys: &str) -> String {
    let pool = pool_with("path = \"tiny.onnx\"", false);
    pool.write("tiny.onnx", bytes);
    if !tensor_keys.is_empty() {
        let text = std::fs::read_to_string(pool.join("recipe.toml"))
            .unwrap()
            .replace("size = [8, 8]\n", tensor_keys);
        pool.write("recipe.toml", text.as_bytes());
    }
    let out = pool
        .cmd()
        .args(["build", "--recipe", "recipe.toml"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!pool.join("out").exists(), "nothing is written");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn a_model_calibset_cannot_use_is_one_clear_error_and_nothing_is_written() {
    let err = refused(b"this is not a model", "");
    assert!(err.contains("not an ONNX model"), "{err}");
    let pool = pool_with("path = \"tiny.onnx\"", false);
    pool.write("tiny.onnx", b"not a model");
    let out = pool
        .cmd()
        .args(["build", "--recipe", "recipe.toml", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["error"]["kind"], "model", "{json}");
    let unknown = model(
        vec![value("images", &[1, 3, 8, 8])],
        vec![node("NoSuchOp", &["images"], "y")],
        &["y"],
    );
    let err = refused(&unknown, "");
    assert!(
        err.contains("operator NoSuchOp") && err.contains("/NoSuchOp_y"),
        "{err}"
    );
    let two = model(
        vec![value("images", &[1, 3, 8, 8]), value("extra", &[1])],
        vec![node("Relu", &["images"], "y")],
        &["y"],
    );
    let err = refused(&two, "");
    assert!(err.contains("has 2 inputs (`images`, `extra`)"), "{err}");
    let err = refused(&tiny(16), "");
    assert!(
        err.contains("is ?×3×16×16, but [tensor] makes 1×3×8×8 (set tensor.size = [16, 16])"),
        "{err}"
    );
    let err = refused(&tiny(8), "size = [8, 8]\nlayout = \"nhwc\"\n");
    assert!(err.contains("set tensor.layout = \"nchw\""), "{err}");
}

#[test]
fn the_model_needs_a_tensor_table_and_a_path() {
    let pool = pool_with("method = \"minmax\"", false);
    pool.cmd()
        .args(["check", "--recipe", "recipe.toml"])
        .assert()
        .code(2)
        .stderr(contains("model.path").and(contains("missing")));
    let pool = pool_with("path = \"tiny.onnx\"\nmethod = \"kl\"", false);
    pool.cmd()
        .args(["check", "--recipe", "recipe.toml"])
        .assert()
        .code(2)
        .stderr(contains("model.method").and(contains("\"percentile\" or \"minmax\"")));
    let text = std::fs::read_to_string(pool.join("recipe.toml")).unwrap();
    let start = text.find("[tensor]").unwrap();
    let end = text.find("[model]").unwrap();
    let without = format!("{}{}", &text[..start], &text[end..]).replace("method = \"kl\"", "");
    pool.write(
        "recipe.toml",
        without
            .replace("formats = [\"npy\"]", "formats = []")
            .as_bytes(),
    );
    pool.cmd()
        .args(["check", "--recipe", "recipe.toml"])
        .assert()
        .code(2)
        .stderr(contains("add a [tensor] table"));
}

#[test]
fn the_ranges_are_byte_identical_at_any_thread_count() {
    let pool = pool_with("path = \"tiny.onnx\"", true);
    let runs: Vec<Vec<u8>> = ["1", "3"]
        .into_iter()
        .map(|jobs| {
            let out = format!("out-{jobs}");
            pool.cmd()
                .args([
                    "build",
                    "-q",
                    "--recipe",
                    "recipe.toml",
                    "--jobs",
                    jobs,
                    "--out",
                    &out,
                ])
                .assert()
                .success();
            ["ranges.json", "ort_calibration.json", "calib.cache"]
                .iter()
                .flat_map(|f| std::fs::read(pool.join(&out).join(f)).unwrap())
                .collect()
        })
        .collect();
    assert!(
        runs[0] == runs[1],
        "the tables differ between --jobs 1 and 3"
    );
}

#[test]
fn probe_checks_a_set_already_built_and_writes_the_tables_outside_it() {
    let pool = pool_with("path = \"tiny.onnx\"", true);
    pool.cmd()
        .args(["build", "-q", "--recipe", "recipe.toml"])
        .assert()
        .success();
    let out = pool
        .cmd()
        .args([
            "probe",
            "--recipe",
            "recipe.toml",
            "--tables",
            "tables",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["model"]["images"], 8);
    let built = std::fs::read(pool.join("out/ranges.json")).unwrap();
    let probed = std::fs::read(pool.join("tables/ranges.json")).unwrap();
    assert_eq!(
        built, probed,
        "the probe of the set gives the build's ranges"
    );
    // The tables are not replaced.
    pool.cmd()
        .args(["probe", "--recipe", "recipe.toml", "--tables", "tables"])
        .assert()
        .code(2)
        .stderr(contains("tables/ranges.json"));
    pool.cmd()
        .args(["probe", "--recipe", "recipe.toml", "--out", "elsewhere"])
        .assert()
        .code(2)
        .stderr(contains("not a calibset set's lock manifest"));
    let text = pool
        .cmd()
        .args(["probe", "--recipe", "recipe.toml"])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("tensors over 8 images")
            && text.contains("stability halves of 4 and 4 images"),
        "{text}"
    );
}

#[test]
fn coverage_names_the_tensors_the_set_would_clip_and_where_the_pool_goes_beyond_it() {
    let pool = pool_with("path = \"tiny.onnx\"\nmethod = \"minmax\"", true);
    // The white frame is a hard image the set takes none of.
    let text = std::fs::read_to_string(pool.join("recipe.toml"))
        .unwrap()
        .replace("total = 8\n", "total = 7\n")
        .replace("count = 8\n", "count = 7\n[buckets.hard]\ncount = 0\n")
        .replace(
            "[tensor]",
            "[[rules]]\nmatch = \"stills/s0.png\"\nbucket = \"hard\"\ntags = [\"glare\"]\n[tensor]",
        );
    pool.write("recipe.toml", text.as_bytes());
    let report = dry_run(&pool);
    let c = &report["model"]["coverage"];
    assert_eq!(
        c["sample"],
        serde_json::json!({"hard": 1, "normal": 7}),
        "{c}"
    );
    let mean = c["worst"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["tensor"] == "mean")
        .unwrap_or_else(|| panic!("the white frame's mean is beyond the set's: {c}"));
    assert_eq!(
        mean["from"],
        serde_json::json!([["bucket:hard", 1], ["tag:glare", 1]])
    );
    assert!(mean["excess"].as_f64().unwrap() > 0.1, "{mean}");
    // model.coverage = 0 turns it off.
    let off = text.replace("method = \"minmax\"", "method = \"minmax\"\ncoverage = 0");
    pool.write("recipe.toml", off.as_bytes());
    let report = dry_run(&pool);
    assert!(
        report["model"].get("coverage").is_none(),
        "{}",
        report["model"]
    );
}
