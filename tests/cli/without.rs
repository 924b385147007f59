//! A calibset built without a default Cargo feature (`cargo test
//! --no-default-features`, which CI runs): what needs the feature is refused
//! before any work, exit 2, with an error that names the feature and how to get
//! it, and nothing is written. With every feature on, this module is not built.

// With only some features off, some helpers go unused.
#![allow(dead_code, unused_imports)]

use predicates::str::contains;

use crate::fixture::{Pool, SET_OF_30};

/// The `--json` error object of a run that must exit 2.
fn refused(cmd: &mut assert_cmd::Command) -> serde_json::Value {
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["exit_code"], 2, "{json}");
    json
}

/// The `--json` error object of `build recipe.toml --out out` with `extra`,
/// which must exit 2.
fn build_refused(pool: &Pool, extra: &[&str]) -> serde_json::Value {
    refused(
        pool.cmd()
            .args([
                "build",
                "recipe.toml",
                "--out",
                "out",
                "--no-cache",
                "--json",
            ])
            .args(extra),
    )
}

const INSTALL: &str = "cargo install --locked --path . (default features)";

#[cfg(not(feature = "s3"))]
#[test]
fn an_object_store_root_names_the_missing_s3_feature() {
    let pool = Pool::standard();
    let recipe = pool.recipe(SET_OF_30);
    let text = std::fs::read_to_string(&recipe).unwrap();
    let text = text.replace(
        r#"roots = ["frames", "stills"]"#,
        r#"roots = ["s3://pool/frames"]"#,
    );
    assert!(text.contains("s3://pool/frames"), "{text}");
    std::fs::write(&recipe, text).unwrap();
    pool.cmd()
        .args(["build", "recipe.toml", "--out", "out", "--no-cache"])
        .assert()
        .code(2)
        .stderr(contains(
            "s3://pool/frames: this calibset was built without object-store support (Cargo feature `s3`)",
        ))
        .stderr(contains(INSTALL));
    assert!(!pool.join("out").exists());
}

#[cfg(not(feature = "parquet"))]
#[test]
fn an_index_names_the_missing_parquet_feature() {
    let pool = Pool::standard();
    pool.recipe(SET_OF_30);
    let missing = "this calibset was built without Parquet support (Cargo feature `parquet`)";
    pool.cmd()
        .args(["index", "recipe.toml", "--out", "idx", "--no-cache"])
        .assert()
        .code(2)
        .stderr(contains(missing))
        .stderr(contains(INSTALL));
    assert!(!pool.join("idx").exists());
    std::fs::create_dir(pool.join("idx")).unwrap();
    let e = build_refused(&pool, &["--index", "idx"]);
    assert!(
        e["error"]["message"].as_str().unwrap().contains(missing),
        "{e}"
    );
    assert!(!pool.join("out").exists());
}

#[cfg(not(feature = "model"))]
#[test]
fn a_model_names_the_missing_model_feature() {
    let pool = Pool::standard();
    pool.recipe(&format!(
        "{SET_OF_30}\n[tensor]\nsize = [32, 32]\ndtype = \"float32\"\n"
    ));
    pool.write("m.onnx", b"any bytes: no runtime reads them");
    let e = build_refused(&pool, &["--model", "m.onnx"]);
    assert_eq!(e["error"]["kind"], "model", "{e}");
    let message = e["error"]["message"].as_str().unwrap();
    assert!(
        message
            .contains("this calibset was built without the model runtime (Cargo feature `model`)"),
        "{message}"
    );
    assert!(message.contains(INSTALL), "{message}");
    assert!(!pool.join("out").exists());
}
