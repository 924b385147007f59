//! `calibset index` and `build --index` / `audit --index`: the feature index
//! as shards, merged, against a direct build.

use predicates::str::contains;

use crate::fixture::{Pool, SET_OF_30, ffmpeg_available, json_of, video};

/// The standard pool with a damaged file and a video, and its `recipe.toml`.
fn pool() -> Pool {
    let pool = Pool::standard();
    pool.write("frames/cam2/day/cut.jpg", &[0xFF, 0xD8, 0xFF, 0xE0, 0, 16]);
    pool.write("frames/cam3/day/empty.jpg", b"");
    if ffmpeg_available() {
        video(&pool, "frames/cam4/day/clip.mp4", "testsrc");
    }
    pool.recipe(SET_OF_30);
    pool
}

/// Indexes shard `shard` into `idx` (no cache: every file is decoded).
fn index(pool: &Pool, shard: &str) -> serde_json::Value {
    json_of(
        pool.cmd()
            .args([
                "index",
                "recipe.toml",
                "--out",
                "idx",
                "--no-cache",
                "--json",
                "--shard",
            ])
            .arg(shard),
    )
}

/// Builds into `out` (no cache), with `extra` arguments; the report's JSON.
fn build(pool: &Pool, out: &str, extra: &[&str]) -> serde_json::Value {
    json_of(
        pool.cmd()
            .args(["build", "recipe.toml", "--no-cache", "--json", "--out", out])
            .args(extra),
    )
}

#[test]
fn a_build_from_merged_shards_decodes_nothing_and_equals_a_direct_build() {
    let pool = pool();
    let shards: Vec<serde_json::Value> = (0..3).map(|i| index(&pool, &format!("{i}/3"))).collect();
    let rows: u64 = shards.iter().map(|s| s["rows"].as_u64().unwrap()).sum();
    let decoded: u64 = shards
        .iter()
        .map(|s| s["measure"]["decoded"].as_u64().unwrap())
        .sum();
    // Every file in exactly one shard: the shards together are the whole pool.
    let whole = json_of(pool.cmd().args([
        "index",
        "recipe.toml",
        "--out",
        "whole",
        "--no-cache",
        "--json",
    ]));
    assert_eq!(rows, whole["rows"].as_u64().unwrap());
    assert_eq!(decoded, rows);
    assert!(
        shards.iter().all(|s| s["rows"].as_u64().unwrap() > 0),
        "{shards:?}"
    );
    let frames = whole["video_frames"].as_u64().unwrap();
    assert_eq!(frames > 0, ffmpeg_available());
    assert_eq!(rows, 79 + 2 + frames);
    assert_eq!(whole["issues"].as_array().unwrap().len(), 2);
    assert_eq!(pool.files("idx").len(), 3);

    let direct = build(&pool, "direct", &[]);
    let indexed = build(&pool, "indexed", &["--index", "idx"]);
    assert_eq!(indexed["measure"]["decoded"], 0, "{indexed}");
    assert_eq!(
        indexed["measure"]["from_index"],
        direct["measure"]["decoded"]
    );
    for file in ["manifest.csv", "pool.csv"] {
        let a = std::fs::read(pool.join("direct").join(file)).unwrap();
        let b = std::fs::read(pool.join("indexed").join(file)).unwrap();
        assert!(a == b, "{file} differs");
    }
    // The reports differ only in the output folder they name.
    let report = |out: &str| {
        let text = std::fs::read_to_string(pool.join(out).join("report.json")).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v.as_object_mut().unwrap().remove("output");
        v
    };
    assert_eq!(report("direct"), report("indexed"));
    // The skipped files are reported from the index, as a direct build does.
    assert_eq!(indexed["pool"]["issues"], direct["pool"]["issues"]);

    let audit = json_of(pool.cmd().args([
        "audit",
        "--recipe",
        "recipe.toml",
        "--no-cache",
        "--json",
        "--index",
        "idx",
    ]));
    assert_eq!(audit["report"]["measure"]["decoded"], 0, "{audit}");
}

#[test]
fn files_changed_since_indexing_are_decoded_with_a_warning() {
    let pool = pool();
    index(&pool, "0/1");
    // Same bytes, new mtime (a copy of the pool): verified by content hash.
    let touched = pool.join("frames/cam1/day/0001.jpg");
    let bytes = std::fs::read(&touched).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&touched, &bytes).unwrap();
    let r = build(&pool, "a", &["--index", "idx"]);
    assert_eq!(r["measure"]["decoded"], 0, "{r}");
    // New content, and a new file: decoded, and said so.
    let changed = std::fs::read(pool.join("frames/cam2/day/0003.jpg")).unwrap();
    std::fs::write(&touched, &changed).unwrap();
    pool.write("frames/cam1/day/new.jpg", &changed);
    let out = pool
        .cmd()
        .args([
            "build",
            "recipe.toml",
            "--no-cache",
            "--json",
            "--out",
            "b",
            "--index",
            "idx",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["measure"]["decoded"], 2, "{r}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("2 file(s) are not in the feature index idx"),
        "{stderr}"
    );
}

#[test]
fn an_incomplete_or_foreign_index_is_an_error_and_nothing_is_written() {
    let pool = pool();
    index(&pool, "0/2");
    build_fails(&pool, "idx", "shard(s) 1/2 missing");
    build_fails(&pool, "nowhere", "nowhere");
    // A file in the way of a shard is not replaced.
    pool.write("idx/part-00001-of-00002.parquet", b"mine");
    index_fails(&pool, "1/2", "is not a calibset feature index");
    assert_eq!(
        std::fs::read(pool.join("idx/part-00001-of-00002.parquet")).unwrap(),
        b"mine"
    );
}

/// `calibset build --index INDEX` fails with exit 2 and `message`, writing
/// no output folder.
fn build_fails(pool: &Pool, index: &str, message: &str) {
    pool.cmd()
        .args([
            "build",
            "recipe.toml",
            "--no-cache",
            "--out",
            "out",
            "--index",
            index,
        ])
        .assert()
        .code(2)
        .stderr(contains(message));
    assert!(!pool.join("out").exists());
}

/// `calibset index --shard SHARD` fails with exit 2 and `message`.
fn index_fails(pool: &Pool, shard: &str, message: &str) {
    pool.cmd()
        .args([
            "index",
            "recipe.toml",
            "--out",
            "idx",
            "--no-cache",
            "--shard",
            shard,
        ])
        .assert()
        .code(2)
        .stderr(contains(message));
}

#[test]
fn bad_shards_and_an_index_inside_the_pool_are_refused() {
    let pool = pool();
    for bad in ["2/2", "1", "a/b", "0/0"] {
        index_fails(&pool, bad, "expected a shard as i/n");
    }
    pool.cmd()
        .args(["index", "recipe.toml", "--out", "frames/idx", "--no-cache"])
        .assert()
        .code(2)
        .stderr(contains("overlaps source root"));
    assert!(!pool.join("frames/idx").exists());
}

#[test]
fn a_warm_index_run_reads_the_cache_and_keeps_other_shards_entries() {
    let pool = pool();
    let run = |shard: &str| {
        json_of(
            pool.cmd()
                .args(["index", "recipe.toml", "--out", "idx", "--json", "--shard"])
                .arg(shard),
        )
    };
    let a = run("0/2");
    let b = run("1/2");
    assert!(a["measure"]["decoded"].as_u64().unwrap() > 0);
    assert_eq!(run("0/2")["measure"]["decoded"], 0);
    assert_eq!(run("1/2")["measure"]["decoded"], 0);
    // A build after both shards reads everything from the cache.
    let built =
        json_of(
            pool.cmd()
                .args(["build", "recipe.toml", "--json", "--dry-run", "--out", "o"]),
        );
    assert_eq!(built["measure"]["decoded"], 0, "{built}");
    assert!(b["rows"].as_u64().unwrap() > 0);
}
