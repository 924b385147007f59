//! Hand-off to the quantizer: `[tensor]` and `[export]` through the binary.

use predicates::prelude::*;
use predicates::str::contains;

use crate::fixture::{Pool, png, scene};

/// A pool of six PNG stills (lossless: the tensor values are exact) of three
/// sizes, and a recipe choosing all of them.
fn stills(tensor: &str, formats: &str) -> Pool {
    let pool = Pool::empty();
    for (k, (w, h)) in [
        (120, 80),
        (80, 120),
        (64, 64),
        (200, 50),
        (90, 90),
        (33, 71),
    ]
    .into_iter()
    .enumerate()
    {
        pool.write(
            &format!("stills/s{k}.png"),
            &png(&scene(60 + k as u64, 0.0, w, h)),
        );
    }
    pool.write(
        "recipe.toml",
        format!(
            "total = 6\ndefault_bucket = \"normal\"\n[buckets.normal]\ncount = 6\n\
             [sources]\nroots = [\"stills\"]\n[output]\ndir = \"out\"\n\
             [tensor]\n{tensor}\n[export]\nformats = {formats}\n"
        )
        .as_bytes(),
    );
    pool
}

/// Reads a `.npy` file: (dtype, shape, data).
fn npy(path: &std::path::Path) -> (String, Vec<usize>, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes.starts_with(b"\x93NUMPY\x01\x00"));
    let len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
    let field = |key: &str| {
        let at = header.find(key).unwrap() + key.len();
        header[at..].trim_start().to_owned()
    };
    let dtype = field("'descr':").split('\'').nth(1).unwrap().to_owned();
    let shape_text = field("'shape':");
    let shape = shape_text[1..shape_text.find(')').unwrap()]
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect();
    (dtype, shape, bytes[10 + len..].to_vec())
}

#[test]
fn every_format_is_written_in_manifest_order() {
    let pool = stills(
        "size = [32, 24]\nresize = \"stretch\"\ndtype = \"uint8\"\nlayout = \"nhwc\"\ninput = \"data\"",
        "[\"list\", \"npy\", \"npz\", \"raw\", \"yolo\", \"ort\"]",
    );
    pool.cmd()
        .args(["build", "--recipe", "recipe.toml"])
        .assert()
        .success()
        .stdout(contains("hand-off  list, npy, npz, raw, yolo, ort (tensors 32×24 stretch filter linear, rgb nhwc uint8, input data)"))
        .stdout(contains("calibrate with percentile 99.999"));
    let out = pool.join("out");
    let manifest = std::fs::read_to_string(out.join("manifest.csv")).unwrap();
    let files: Vec<&str> = manifest
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    let list = std::fs::read_to_string(out.join("dataset.txt")).unwrap();
    assert_eq!(list.lines().collect::<Vec<_>>(), files);
    for f in &files {
        assert!(out.join(f).is_file());
    }
    let (dtype, shape, data) = npy(&out.join("calib.npy"));
    assert_eq!(
        (dtype.as_str(), shape.as_slice()),
        ("|u1", &[6, 24, 32, 3][..])
    );
    assert_eq!(data.len(), 6 * 24 * 32 * 3);
    // A stretched uniform image stays its colour; here the first raw file
    // equals the first row of the array.
    let raw0 = std::fs::read(out.join("raw/000000.raw")).unwrap();
    assert_eq!(raw0, data[..24 * 32 * 3]);
    let list = std::fs::read_to_string(out.join("input_list.txt")).unwrap();
    assert_eq!(list.lines().next(), Some("data:=raw/000000.raw"));
    assert_eq!(list.lines().count(), 6);
    let npz = std::fs::read(out.join("calib.npz")).unwrap();
    assert!(npz.starts_with(b"PK"));
    assert!(npz.windows(8).any(|w| w == b"data.npy"));
    let yaml = std::fs::read_to_string(out.join("data.yaml")).unwrap();
    assert!(
        yaml.contains("train: .\nval: .\nnames:\n  0: \"object\""),
        "{yaml}"
    );
    let reader = std::fs::read_to_string(out.join("calib_reader.py")).unwrap();
    assert!(reader.contains("INPUT_NAME = \"data\""));
    // The ORT files name the method the report advises.
    let script = std::fs::read_to_string(out.join("quantize_ort.py")).unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let advice = &report["advice"];
    assert_eq!(advice["method"], "percentile");
    let p = advice["percentile"].as_f64().unwrap();
    assert!(
        script.contains(&format!("METHOD = \"Percentile\"\nPERCENTILE = {p}\n")),
        "{script}"
    );
    assert!(
        script.contains("(6 images of shape\n(24, 32, 3), |u1)"),
        "{script}"
    );
    assert!(reader.contains(&format!(
        "calibrates with\nPercentile {p}, the method the set's report advises"
    )));
    assert!(reader.contains(&format!(
        "calibrate_method=CalibrationMethod.Percentile,\n                    extra_options={{\"CalibPercentile\": {p}}})"
    )));
    let marker = std::fs::read_to_string(out.join(".calibset")).unwrap();
    for f in [
        "calib.npy",
        "calib.npz",
        "raw/000005.raw",
        "input_list.txt",
        "data.yaml",
    ] {
        assert!(marker.lines().any(|l| l == f), "{f} listed");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["tensor"]["size"], serde_json::json!([32, 24]));
    assert_eq!(report["tensor"]["dtype"], "uint8");
    assert_eq!(report["exports"].as_array().unwrap().len(), 6);
    assert_eq!(report["advice"]["method"], "percentile");

    // Same inputs, same bytes.
    let first = std::fs::read(out.join("calib.npy")).unwrap();
    let npz_first = std::fs::read(out.join("calib.npz")).unwrap();
    pool.cmd()
        .args([
            "build",
            "-q",
            "--force",
            "--jobs",
            "1",
            "--recipe",
            "recipe.toml",
        ])
        .assert()
        .success();
    assert_eq!(std::fs::read(out.join("calib.npy")).unwrap(), first);
    assert_eq!(std::fs::read(out.join("calib.npz")).unwrap(), npz_first);
}

#[test]
fn float_values_follow_scale_mean_std_and_channel_order() {
    // A uniform image: every value is known.
    let pool = Pool::empty();
    let img = image::RgbImage::from_pixel(50, 40, image::Rgb([200, 100, 50]));
    pool.write("stills/one.png", &png(&img));
    pool.write(
        "recipe.toml",
        b"total = 1\ndefault_bucket = \"normal\"\n[buckets.normal]\ncount = 1\n\
          [sources]\nroots = [\"stills\"]\n[output]\ndir = \"out\"\n\
          [tensor]\nsize = [20, 20]\nchannels = \"bgr\"\nmean = [0.5, 0.25, 0.0]\nstd = [0.5, 0.5, 0.25]\n\
          [export]\nformats = [\"npy\"]\n",
    );
    pool.cmd()
        .args(["build", "-q", "--recipe", "recipe.toml"])
        .assert()
        .success();
    let (dtype, shape, data) = npy(&pool.join("out/calib.npy"));
    assert_eq!(
        (dtype.as_str(), shape.as_slice()),
        ("<f4", &[1, 3, 20, 20][..])
    );
    let value = |i: usize| f32::from_le_bytes(data[i * 4..i * 4 + 4].try_into().unwrap());
    let close = |i: usize, want: f32| (value(i) - want).abs() < 1e-6;
    // Letterbox (the default) of 50 × 40 into 20 × 20: 20 × 16, rows 2..18.
    let plane = 400;
    let blue = (50.0 / 255.0 - 0.5) / 0.5;
    let green = (100.0 / 255.0 - 0.25) / 0.5;
    let red = 200.0 / 255.0 / 0.25;
    assert!(close(10 * 20 + 10, blue), "{}", value(10 * 20 + 10));
    assert!(close(plane + 10 * 20 + 10, green));
    assert!(close(2 * plane + 10 * 20 + 10, red));
    let pad_blue = (114.0 / 255.0 - 0.5) / 0.5;
    assert!(close(0, pad_blue), "row 0 is padding");
    assert!(close(2 * 20, blue), "row 2 is the image");
    assert!(close(18 * 20, pad_blue), "row 18 is padding");
    assert!(close(17 * 20, blue), "row 17 is the image");
}

#[test]
fn tensor_formats_need_a_tensor_table_and_values_their_dtype() {
    let pool = stills(
        "size = [32, 24]\ndtype = \"uint8\"\nmean = [0.5]",
        "[\"npy\", \"tflite\"]",
    );
    pool.cmd()
        .args(["check", "--recipe", "recipe.toml"])
        .assert()
        .code(2)
        .stderr(contains("tensor.mean: applies to float dtypes only"))
        .stderr(contains("export.formats: unknown format `tflite`"));
    let pool = stills("size = [32, 24]", "[\"list\"]");
    pool.cmd()
        .args(["check", "--recipe", "recipe.toml"])
        .assert()
        .success()
        .stdout(contains("cameras   balance proportional\n"))
        .stdout(contains(
            "tensor    32×24 letterbox (pad 114 center) filter linear (cv2.INTER_LINEAR), rgb nchw float32, scale 0.00392156862745098 mean [0.0, 0.0, 0.0] std [1.0, 1.0, 1.0], input images\n",
        ))
        .stdout(contains("export    list\n"));
    let text = std::fs::read_to_string(pool.join("recipe.toml")).unwrap();
    let without = text.replace("[tensor]\nsize = [32, 24]\n", "");
    std::fs::write(pool.join("recipe.toml"), without).unwrap();
    pool.cmd()
        .args(["build", "--recipe", "recipe.toml", "--export", "npy"])
        .assert()
        .code(2)
        .stderr(contains("--export npy writes tensors").and(contains("[tensor]")));
    pool.cmd()
        .args(["build", "-q", "--recipe", "recipe.toml", "--export", "list"])
        .assert()
        .success();
    assert!(pool.join("out/dataset.txt").is_file());
    assert!(!pool.join("out/calib.npy").exists());
}

#[test]
fn low_bitrate_re_saves_are_extra_tagged_files_in_every_export() {
    let pool = stills(
        "size = [16, 16]\nresize = \"stretch\"\ndtype = \"uint8\"",
        "[\"list\", \"npy\"]\n[resave]\nshare = 0.5\nquality = 40",
    );
    pool.cmd()
        .args(["build", "--recipe", "recipe.toml"])
        .assert()
        .success()
        .stdout(contains("re-saves  3 images as JPEG quality 40 (50% of normal, hard, background; extra files, tagged jpeg-q40, not counted in the total)"))
        .stdout(contains("total              6       6"));
    let out = pool.join("out");
    let manifest = std::fs::read_to_string(out.join("manifest.csv")).unwrap();
    let rows: Vec<Vec<&str>> = manifest
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 9);
    let resaves: Vec<&Vec<&str>> = rows.iter().filter(|r| r[4] == "resave").collect();
    assert_eq!(resaves.len(), 3);
    for r in &resaves {
        assert!(r[0].ends_with(".q40.jpg"), "{r:?}");
        assert!(r[5].split(';').any(|t| t == "jpeg-q40"), "{r:?}");
        assert!(
            r[1].starts_with("stills/s") && r[1].ends_with(".png"),
            "source is the original: {r:?}"
        );
        assert!(out.join(r[0]).is_file());
        let bytes = std::fs::read(out.join(r[0])).unwrap();
        assert!(bytes.starts_with(&[0xFF, 0xD8]));
    }
    let list = std::fs::read_to_string(out.join("dataset.txt")).unwrap();
    assert_eq!(list.lines().count(), 9);
    let (_, shape, _) = npy(&out.join("calib.npy"));
    assert_eq!(shape[0], 9);
    // Same seed, same re-saves, byte for byte.
    let first: Vec<Vec<u8>> = resaves
        .iter()
        .map(|r| std::fs::read(out.join(r[0])).unwrap())
        .collect();
    pool.cmd()
        .args(["build", "-q", "--force", "--recipe", "recipe.toml"])
        .assert()
        .success();
    let again: Vec<Vec<u8>> = resaves
        .iter()
        .map(|r| std::fs::read(out.join(r[0])).unwrap())
        .collect();
    assert_eq!(first, again);
}

#[test]
fn the_bundled_hand_off_example_builds() {
    let recipe =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-handoff.toml");
    let pool = Pool::empty();
    pool.cmd()
        .args(["build", "-q", "--no-cache", "--recipe"])
        .arg(&recipe)
        .arg("--out")
        .arg(pool.join("set"))
        .assert()
        .success();
    let (dtype, shape, _) = npy(&pool.join("set/calib.npy"));
    assert_eq!(
        (dtype.as_str(), shape.as_slice()),
        ("<f4", &[60, 3, 320, 320][..])
    );
    for f in [
        "dataset.txt",
        "calib.npz",
        "input_list.txt",
        "raw/000059.raw",
        "data.yaml",
        "calib_reader.py",
    ] {
        assert!(pool.join("set").join(f).is_file(), "{f}");
    }
}
