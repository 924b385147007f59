//! `tensor.filter`: the resampling filter through the binary — the recipe
//! error for a bad name, the effective filter in `check`, the report and the
//! hand-off files, and each filter's own tensor (the values themselves are
//! checked against OpenCV and Pillow by `tests/tensor/filters_check.py`).

use predicates::str::contains;

use crate::fixture::{Pool, json_of, png, scene};

/// The five filter names, as the recipe spells them.
const FILTERS: [&str; 5] = ["linear", "area", "bilinear-aa", "nearest", "cubic"];

/// A pool of `images` (path, PNG bytes) and a recipe choosing all of them with
/// this `[tensor]` body and `formats`.
fn pool(images: &[(&str, Vec<u8>)], tensor: &str, formats: &str) -> Pool {
    let pool = Pool::empty();
    for (path, bytes) in images {
        pool.write(path, bytes);
    }
    pool.write(
        "recipe.toml",
        format!(
            "total = {n}\ndefault_bucket = \"normal\"\n[buckets.normal]\ncount = {n}\n\
             [sources]\nroots = [\"stills\"]\n[output]\ndir = \"out\"\n\
             [tensor]\n{tensor}\n[export]\nformats = {formats}\n",
            n = images.len()
        )
        .as_bytes(),
    );
    pool
}

/// The data of `out/calib.npy` (after its header) and the header.
fn calib(pool: &Pool) -> (String, Vec<u8>) {
    let bytes = std::fs::read(pool.join("out/calib.npy")).unwrap();
    let len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let header = String::from_utf8_lossy(&bytes[10..10 + len]).into_owned();
    (header, bytes[10 + len..].to_vec())
}

#[test]
fn a_bad_filter_names_file_line_and_key() {
    let p = pool(
        &[("stills/a.png", png(&scene(1, 0.0, 40, 30)))],
        "size = [16, 16]\nfilter = \"bilinear\"",
        "[\"npy\"]",
    );
    p.cmd()
        .args(["check", "--recipe", "recipe.toml"])
        .assert()
        .code(2)
        .stderr(contains(
            "recipe.toml:11:10: tensor.filter: unknown variant `bilinear`, expected one of \
             `linear`, `area`, `bilinear-aa`, `nearest`, `cubic`",
        ));
    let p = pool(
        &[("stills/a.png", png(&scene(1, 0.0, 40, 30)))],
        "size = [16, 16]\nfilter = 3",
        "[\"npy\"]",
    );
    p.cmd()
        .args(["check", "--recipe", "recipe.toml"])
        .assert()
        .code(2)
        .stderr(contains(
            "recipe.toml:11:10: tensor.filter: wanted string or table",
        ));
}

#[test]
fn the_effective_filter_is_in_check_the_report_and_the_reader() {
    let images = [("stills/a.png", png(&scene(2, 0.0, 48, 36)))];
    for (tensor, filter, line) in [
        (
            "size = [32, 24]",
            "linear",
            "tensor    32×24 letterbox (pad 114 center) filter linear (cv2.INTER_LINEAR), rgb nchw float32, \
             scale 0.00392156862745098 mean [0.0, 0.0, 0.0] std [1.0, 1.0, 1.0], input images\n",
        ),
        (
            "size = [32, 24]\nresize = \"crop\"",
            "bilinear-aa",
            "tensor    32×24 crop filter bilinear-aa (PIL BILINEAR), rgb nchw float32, \
             scale 0.00392156862745098 mean [0.0, 0.0, 0.0] std [1.0, 1.0, 1.0], input images\n",
        ),
        (
            "size = [32, 24]\nresize = \"stretch\"\nfilter = \"area\"\ndtype = \"uint8\"",
            "area",
            "tensor    32×24 stretch filter area (cv2.INTER_AREA), rgb nchw uint8, \
             scale 0.00392156862745098 mean [0.0, 0.0, 0.0] std [1.0, 1.0, 1.0], input images\n",
        ),
    ] {
        let p = pool(&images, tensor, "[\"npy\", \"ort\"]");
        p.cmd()
            .args(["check", "--recipe", "recipe.toml"])
            .assert()
            .success()
            .stdout(contains(line));
        p.cmd()
            .args(["build", "--recipe", "recipe.toml"])
            .assert()
            .success()
            .stdout(contains(format!(" filter {filter}, rgb nchw")));
        let on_disk: serde_json::Value =
            serde_json::from_slice(&std::fs::read(p.join("out/report.json")).unwrap()).unwrap();
        assert_eq!(on_disk["tensor"]["filter"], filter, "{tensor}");
        let reader = std::fs::read_to_string(p.join("out/calib_reader.py")).unwrap();
        let described = line.trim_start_matches("tensor    ").trim_end();
        assert!(
            reader.contains(&format!("\n    {described}\n")),
            "calib_reader.py describes the preprocessing in one line:\n{reader}"
        );
        assert!(
            reader.contains(&format!(r#"\"filter\":\"{filter}\""#)),
            "calib_reader.py names the filter {filter}:\n{reader}"
        );
        let report =
            json_of(
                p.cmd()
                    .args(["build", "--json", "--force", "--recipe", "recipe.toml"]),
            );
        assert_eq!(report["tensor"]["filter"], filter, "{tensor}");
    }
}

#[test]
fn each_filter_gives_its_own_tensor() {
    // Shrinking by a non-integer factor and enlarging: every filter differs.
    let images = [
        ("stills/big.png", png(&scene(3, 0.0, 101, 77))),
        ("stills/small.png", png(&scene(4, 0.0, 13, 11))),
    ];
    let mut tensors = Vec::new();
    for filter in FILTERS {
        let p = pool(
            &images,
            &format!(
                "size = [40, 30]\nresize = \"stretch\"\ndtype = \"uint8\"\nfilter = \"{filter}\""
            ),
            "[\"npy\"]",
        );
        p.cmd()
            .args(["build", "-q", "--recipe", "recipe.toml"])
            .assert()
            .success();
        let (header, data) = calib(&p);
        assert!(header.contains("'shape': (2, 3, 30, 40)"), "{header}");
        assert_eq!(data.len(), 2 * 3 * 30 * 40);
        tensors.push((filter, data));
    }
    for (i, (a, ta)) in tensors.iter().enumerate() {
        for (b, tb) in &tensors[i + 1..] {
            assert_ne!(ta, tb, "{a} and {b} give the same tensor");
        }
    }
}

#[cfg(unix)]
#[test]
fn a_thin_crop_stays_small_with_every_filter() {
    // 65535 × 1 covers 320 × 320 at 20,971,200 × 320 (80 GB resized whole):
    // each filter resamples the kept window only, within 4 GB of address space.
    let images = [("stills/line.png", crate::safety::huge_png(65535, 1))];
    for filter in FILTERS {
        let p = pool(
            &images,
            &format!(
                "size = [320, 320]\nresize = \"crop\"\ndtype = \"uint8\"\nfilter = \"{filter}\""
            ),
            "[\"npy\"]",
        );
        let out = std::process::Command::new("sh")
            .current_dir(p.path())
            .arg("-c")
            .arg(r#"ulimit -v 4000000 && exec "$0" "$@""#)
            .arg(assert_cmd::cargo::cargo_bin("calibset"))
            .args(["build", "-q", "--no-cache", "--recipe", "recipe.toml"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{filter}: {stderr}");
        let (header, data) = calib(&p);
        assert!(
            header.contains("'shape': (1, 3, 320, 320)"),
            "{filter}: {header}"
        );
        // Every row of the crop samples the same (only) source row.
        let plane = 320 * 320;
        for c in 0..3 {
            let first = &data[c * plane..c * plane + 320];
            for y in 1..320 {
                assert_eq!(
                    &data[c * plane + y * 320..c * plane + (y + 1) * 320],
                    first,
                    "{filter}"
                );
            }
        }
    }
}
