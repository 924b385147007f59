//! `calibset build`.

use predicates::prelude::*;
use predicates::str::contains;

use crate::fixture::{BODY, Pool, csv_rows, jpeg, json_of, scene};

fn standard(pool: &Pool) -> std::path::PathBuf {
    pool.recipe_with_camera_min(BODY, 2)
}

#[test]
fn builds_the_set_by_bucket_with_manifest_and_report() {
    let pool = Pool::standard();
    let recipe = standard(&pool);
    pool.cmd()
        .args(["build", "--recipe"])
        .arg(&recipe)
        .assert()
        .success()
        .stdout(contains("wrote 30 images"))
        .stdout(contains("normal            18      18"));
    let files = pool.files("out");
    let count = |prefix: &str| files.iter().filter(|f| f.starts_with(prefix)).count();
    assert_eq!(
        (count("normal/"), count("hard/"), count("background/")),
        (18, 6, 6)
    );
    for f in [
        ".calibset",
        "manifest.csv",
        "pool.csv",
        "recipe.toml",
        "report.json",
    ] {
        assert!(files.contains(&f.to_owned()), "{f} in {files:?}");
    }
    let rows = csv_rows(&pool.join("out/manifest.csv"));
    assert_eq!(rows.len(), 30);
    let slots = |s: &str| rows.iter().filter(|r| r[4] == s).count();
    assert_eq!((slots("night"), slots("rain"), slots("free")), (3, 3, 24));
    for r in &rows {
        assert!(pool.join(&r[1]).is_file(), "source {} exists", r[1]);
        assert_eq!(
            std::fs::read(pool.join("out").join(&r[0])).unwrap(),
            std::fs::read(pool.join(&r[1])).unwrap()
        );
    }
    let per_camera = |c: &str| rows.iter().filter(|r| r[7] == c).count();
    for cam in ["cam1", "cam2", "cam3"] {
        assert!(per_camera(cam) >= 2, "{cam}");
    }
}

#[test]
fn near_duplicates_and_exact_copies_are_chosen_once() {
    let pool = Pool::standard();
    let recipe = standard(&pool);
    let report = json_of(
        pool.cmd()
            .args(["build", "--json", "--recipe"])
            .arg(&recipe),
    );
    assert_eq!(report["status"], "ok");
    assert_eq!(report["dedup"]["exact_removed"], 1);
    // The burst sits in a numbered-frame folder: its frames go as consecutive
    // duplicates of the sequence, before the global near-duplicate pass.
    let near = report["dedup"]["near_removed"].as_u64().unwrap();
    let consecutive = report["sequences"]["consecutive_duplicates"]
        .as_u64()
        .unwrap();
    assert_eq!(near + consecutive, 4, "{near} + {consecutive}");
    assert_eq!(report["dedup"]["kept"]["normal"], 38);
    assert_eq!(report["dedup"]["largest_groups"][0]["size"], 5);
    let rows = csv_rows(&pool.join("out/manifest.csv"));
    let bursts = rows.iter().filter(|r| r[1].contains("burst")).count();
    let copies = rows.iter().filter(|r| r[1].contains("one")).count();
    assert!(bursts <= 1 && copies <= 1, "{bursts} {copies}");
    assert!(
        rows.iter().all(|r| !r[1].contains("(1)")),
        "the copy's name loses"
    );
}

#[test]
fn same_seed_same_manifest_whatever_the_thread_count() {
    let pool = Pool::standard();
    let recipe = standard(&pool);
    let run = |jobs: &str, out: &str, seed: &str| {
        pool.cmd()
            .args([
                "build",
                "-q",
                "--no-cache",
                "--jobs",
                jobs,
                "--seed",
                seed,
                "--out",
                out,
                "--recipe",
            ])
            .arg(&recipe)
            .assert()
            .success();
        std::fs::read(pool.join(out).join("manifest.csv")).unwrap()
    };
    let a = run("1", "a", "3");
    let b = run("2", "b", "3");
    assert_eq!(a, b);
    assert_ne!(a, run("2", "c", "4"), "another seed picks other images");
}

#[test]
fn modes_and_layouts() {
    let pool = Pool::standard();
    let recipe = standard(&pool);
    let build = |args: &[&str]| {
        pool.cmd()
            .args(["build", "-q", "--recipe"])
            .arg(&recipe)
            .args(args)
            .assert()
            .success();
    };
    build(&["--out", "flat", "--layout", "flat", "--mode", "symlink"]);
    let flat = pool.files("flat");
    assert!(flat.iter().all(|f| !f.contains('/')), "{flat:?}");
    let img = flat.iter().find(|f| f.ends_with(".jpg")).unwrap();
    let meta = std::fs::symlink_metadata(pool.join("flat").join(img)).unwrap();
    assert!(meta.file_type().is_symlink());
    assert!(img.starts_with("frames__cam"), "{img}");

    build(&[
        "--out", "mirror", "--layout", "mirror", "--mode", "hardlink",
    ]);
    let mirror = pool.files("mirror");
    let img = mirror.iter().find(|f| f.starts_with("frames/cam")).unwrap();
    assert!(
        pool.join(img).is_file(),
        "mirror path {img} is the source path"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let a = std::fs::metadata(pool.join("mirror").join(img)).unwrap();
        let b = std::fs::metadata(pool.join(img)).unwrap();
        assert_eq!(a.ino(), b.ino(), "hard link shares the inode");
    }
}

#[test]
fn refuses_a_foreign_folder_and_replaces_its_own_only_with_force() {
    let pool = Pool::standard();
    let recipe = standard(&pool);
    pool.write("out/thesis.txt", b"precious");
    pool.cmd()
        .args(["build", "--recipe"])
        .arg(&recipe)
        .assert()
        .code(2)
        .stderr(contains("calibset: error:").and(contains("was not made by calibset")));
    assert_eq!(
        std::fs::read(pool.join("out/thesis.txt")).unwrap(),
        b"precious"
    );
    pool.cmd()
        .args(["build", "--force", "--recipe"])
        .arg(&recipe)
        .assert()
        .code(2);
    assert_eq!(pool.files("out"), ["thesis.txt"]);

    std::fs::remove_file(pool.join("out/thesis.txt")).unwrap();
    pool.cmd()
        .args(["build", "-q", "--recipe"])
        .arg(&recipe)
        .assert()
        .success();
    pool.cmd()
        .args(["build", "--recipe"])
        .arg(&recipe)
        .assert()
        .code(2)
        .stderr(contains("pass --force"));
    pool.cmd()
        .args(["build", "-q", "--force", "--seed", "9", "--recipe"])
        .arg(&recipe)
        .assert()
        .success();
    // A file added to calibset's output is not deleted by --force.
    pool.write("out/normal/my-notes.txt", b"mine");
    pool.cmd()
        .args(["build", "--force", "--recipe"])
        .arg(&recipe)
        .assert()
        .code(2)
        .stderr(contains(
            "calibset did not write (first: normal/my-notes.txt)",
        ));
    assert_eq!(
        std::fs::read(pool.join("out/normal/my-notes.txt")).unwrap(),
        b"mine"
    );
    let leftovers: Vec<_> = std::fs::read_dir(pool.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("calibset"))
        .collect();
    assert!(leftovers.is_empty(), "staging folders left: {leftovers:?}");
}

#[test]
fn dry_run_writes_no_set_but_fills_the_cache() {
    let pool = Pool::standard();
    let recipe = standard(&pool);
    pool.cmd()
        .args(["build", "--dry-run", "--recipe"])
        .arg(&recipe)
        .assert()
        .success()
        .stdout(contains("would write 30 images"));
    assert!(!pool.join("out").exists());
    // The edit-and-retry loop: the next run decodes nothing.
    assert!(pool.join(".cache").is_dir());
    let json = json_of(
        pool.cmd()
            .args(["build", "--dry-run", "--json", "--recipe"])
            .arg(&recipe),
    );
    assert_eq!(json["measure"]["decoded"], 0);
    // A preview report is written when asked for, and nothing else.
    let before = pool.files("");
    pool.cmd()
        .args(["build", "--dry-run", "--html", "plan.html", "--recipe"])
        .arg(&recipe)
        .assert()
        .success();
    let mut after = pool.files("");
    after.retain(|f| !before.contains(f));
    assert_eq!(after, ["plan.html"]);
}

#[test]
fn hostile_files_are_skipped_and_reported() {
    let pool = Pool::standard();
    let good = jpeg(&scene(77, 0.0, 96, 72), 90);
    pool.write("frames/cam2/day/empty.jpg", b"");
    pool.write(
        "frames/cam2/day/truncated.jpg",
        &good[..good.len() * 4 / 10],
    );
    pool.write("frames/cam2/day/text.png", b"this is not a picture\n");
    pool.write("frames/cam2/day/JPEG_AS.PNG", &good);
    let recipe = standard(&pool);
    let out = pool
        .cmd()
        .args(["build", "--json", "--recipe"])
        .arg(&recipe)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("3 file(s) skipped"));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let issues: Vec<(String, String)> = report["pool"]["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["path"].as_str().unwrap().to_owned(),
                i["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        issues,
        [
            ("frames/cam2/day/empty.jpg".into(), "empty".into()),
            ("frames/cam2/day/text.png".into(), "not-an-image".into()),
            ("frames/cam2/day/truncated.jpg".into(), "truncated".into()),
        ]
    );
    assert_eq!(
        report["pool"]["mislabelled"][0],
        "frames/cam2/day/JPEG_AS.PNG"
    );
    let rows = csv_rows(&pool.join("out/manifest.csv"));
    for bad in ["empty.jpg", "truncated.jpg", "text.png"] {
        assert!(rows.iter().all(|r| !r[1].ends_with(bad)));
    }
}

#[test]
fn shortfall_exits_1_names_the_quota_and_writes_nothing() {
    let pool = Pool::standard();
    let recipe = pool.recipe(
        "total = 100\nsplit = { normal = 6, hard = 2, background = 2 }\n[buckets.hard.quota]\nnight = 13\nrain = 1\n[output]\ndir = \"out\"\n",
    );
    pool.cmd()
        .args(["build", "--recipe"])
        .arg(&recipe)
        .assert()
        .code(1)
        .stdout(contains("SHORTFALL"))
        .stdout(contains(
            "bucket hard, tag night: wanted 13, filled 12 (12 distinct images available after dedup)",
        ))
        .stdout(contains("bucket normal, free share: wanted 60, filled 38"))
        // 63 would fit the buckets, but hard's 13 images would not hold its
        // quotas of 14: no total at these shares is valid, so none is offered.
        .stdout(contains("supports at most").not())
        .stdout(contains("a smaller total does not fix the tag, class or camera shortfalls"))
        .stderr(contains("nothing was written"));
    assert!(!pool.join("out").exists());
}

#[test]
fn a_camera_shortfall_does_not_suggest_a_smaller_total() {
    let pool = Pool::standard();
    // 30 images fit the buckets easily; camera cam4 has only 3 images.
    for k in 0..3 {
        pool.image(
            &format!("frames/cam4/day/{k:04}.jpg"),
            &scene(7000 + k, 0.0, 96, 72),
        );
    }
    let recipe = pool.recipe_with_camera_min(
        "total = 30\nsplit = { normal = 6, hard = 2, background = 2 }\n[output]\ndir = \"out\"\n",
        5,
    );
    pool.cmd()
        .args(["build", "--recipe"])
        .arg(&recipe)
        .assert()
        .code(1)
        .stdout(contains("camera cam4: wanted at least 5"))
        .stdout(contains("supports at most").not())
        .stdout(contains("a smaller total does not fix"));
}

#[test]
fn camera_minimums_no_total_can_hold_are_refused_before_decoding() {
    let pool = Pool::standard();
    let recipe = pool.recipe_with_camera_min(
        "total = 38\nsplit = { normal = 6, hard = 2, background = 2 }\n",
        13,
    );
    pool.cmd()
        .args(["build", "--dry-run", "-v", "--recipe"])
        .arg(&recipe)
        .assert()
        .code(2)
        .stderr(contains(
            "camera.min cannot be met: 3 cameras × 13 = 39 images, more than total = 38; lower camera.min to 12 or raise total to 39",
        ))
        .stderr(contains("measuring took").not());
}

#[test]
fn fill_policy_tops_up_short_quotas() {
    let pool = Pool::standard();
    let recipe = pool.recipe(
        "total = 10\nshortfall = \"fill\"\nsplit = { hard = 1 }\n[buckets.hard.quota]\nnight = 2\nsnow = 3\n[output]\ndir = \"out\"\n",
    );
    pool.cmd()
        .args(["build", "--recipe"])
        .arg(&recipe)
        .assert()
        .success()
        .stdout(contains("topped up: bucket hard, snow was 3 short"));
    let rows = csv_rows(&pool.join("out/manifest.csv"));
    assert_eq!(rows.len(), 10);
    assert_eq!(rows.iter().filter(|r| r[4] == "night").count(), 2);
}

#[test]
fn cache_makes_the_second_run_decode_nothing_and_survives_damage() {
    let pool = Pool::standard();
    let recipe = standard(&pool);
    let measure = |extra: &[&str]| -> serde_json::Value {
        let out = pool
            .cmd()
            .args(["build", "--json", "--dry-run", "--recipe"])
            .arg(&recipe)
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success());
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["measure"].clone()
    };
    // A dry run writes no cache; a real build does.
    assert_eq!(measure(&[])["from_cache"], 0);
    pool.cmd()
        .args(["build", "-q", "--recipe"])
        .arg(&recipe)
        .assert()
        .success();
    let warm = measure(&[]);
    assert_eq!(warm["decoded"], 0);
    assert_eq!(warm["from_cache"], 79);
    // Touching a file (new mtime, same bytes) still needs no decode.
    let f = pool.join("frames/cam1/day/0000.jpg");
    let bytes = std::fs::read(&f).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&f, &bytes).unwrap();
    assert_eq!(measure(&[])["decoded"], 0);
    // A damaged cache is a warning, then rebuilt.
    for e in std::fs::read_dir(pool.join(".cache")).unwrap() {
        std::fs::write(e.unwrap().path(), b"garbage").unwrap();
    }
    pool.cmd()
        .args(["build", "--force", "--recipe"])
        .arg(&recipe)
        .assert()
        .success()
        .stderr(contains("calibset: warning: cache").and(contains("rebuilding")));
    assert_eq!(measure(&[])["decoded"], 0);
    assert_eq!(measure(&["--no-cache"])["decoded"], 79);
}

#[test]
fn output_inside_a_root_is_refused() {
    let pool = Pool::standard();
    let recipe = standard(&pool);
    pool.cmd()
        .args(["build", "--out", "frames/calib", "--recipe"])
        .arg(&recipe)
        .assert()
        .code(2)
        .stderr(contains("overlaps source root"));
    // Through a symlink to a root, too.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(pool.join("frames"), pool.join("link")).unwrap();
        pool.cmd()
            .args(["build", "--out", "link/cam1/calib", "--recipe"])
            .arg(&recipe)
            .assert()
            .code(2)
            .stderr(contains("overlaps source root"));
        assert!(!pool.join("frames/cam1/calib").exists());
    }
}

#[test]
fn missing_output_and_missing_root_are_clear_errors() {
    let pool = Pool::standard();
    let recipe = pool.recipe("total = 3\nsplit = { normal = 1 }\n");
    pool.cmd()
        .args(["build", "--recipe"])
        .arg(&recipe)
        .assert()
        .code(2)
        .stderr(contains("no output folder"));
    std::fs::remove_dir_all(pool.join("stills")).unwrap();
    pool.cmd()
        .args(["build", "--out", "o", "--recipe"])
        .arg(&recipe)
        .assert()
        .code(2)
        .stderr(
            contains("source root")
                .and(contains("stills"))
                .and(contains("does not exist")),
        );
}

#[test]
fn stability_check_compares_two_halves_of_the_set() {
    let pool = Pool::standard();
    let recipe =
        pool.recipe_with_camera_min(&format!("{BODY}[stability]\nthreshold = 0.0001\n"), 2);
    let out = pool
        .cmd()
        .args(["build", "--json", "--dry-run", "--recipe"])
        .arg(&recipe)
        .output()
        .unwrap();
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let st = &report["stability"];
    assert_eq!(st["halves"], serde_json::json!([15, 15]));
    assert_eq!(st["rows"].as_array().unwrap().len(), 18);
    assert!(
        !st["flagged"].as_array().unwrap().is_empty(),
        "a tiny threshold flags"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("calibset: warning: stability:"));
}

#[cfg(unix)]
#[test]
fn ctrl_c_exits_130_and_leaves_nothing() {
    let pool = Pool::empty();
    // Enough decoding work to be interrupted in the middle of it.
    let bytes = jpeg(&scene(5, 0.0, 640, 480), 90);
    for k in 0..240 {
        pool.write(&format!("frames/cam1/day/{k:04}.jpg"), &bytes);
    }
    pool.write("stills/one.jpg", &bytes);
    let recipe = pool.recipe("total = 10\nsplit = { normal = 1 }\n[output]\ndir = \"out\"\n");
    let running = crate::fixture::Running::past_scan(
        std::process::Command::new(assert_cmd::cargo::cargo_bin("calibset"))
            .current_dir(pool.path())
            .env("CALIBSET_CACHE_DIR", pool.join(".cache"))
            .args(["build", "-v", "--no-cache", "--jobs", "1", "--recipe"])
            .arg(&recipe),
    );
    let (code, rest) = running.interrupt();
    assert_eq!(code, Some(130), "{rest}");
    assert!(
        rest.contains("calibset: interrupted; nothing was written"),
        "{rest}"
    );
    let left: Vec<String> = std::fs::read_dir(pool.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        left.iter().all(|n| n != "out" && !n.contains("calibset-")),
        "{left:?}"
    );
}

#[test]
fn an_html_report_inside_the_output_is_part_of_the_set() {
    let pool = Pool::standard();
    let recipe = standard(&pool);
    let build = |extra: &[&str]| {
        let mut cmd = pool.cmd();
        cmd.args(["build", "--html", "out/report.html"])
            .args(extra)
            .arg("--recipe")
            .arg(&recipe);
        cmd.assert()
    };
    // A dry run writes no set, so not the page inside it either, and says so.
    build(&["--dry-run"])
        .success()
        .stderr(contains("inside the output folder, which was not written"));
    assert!(!pool.join("out").exists());
    build(&[]).success();
    let page = std::fs::read_to_string(pool.join("out/report.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    // Rendered from the complete report: it says where the set went.
    assert!(page.contains(" · wrote 30 images to <code>"), "{page}");
    // Listed in the marker, so --force may replace it.
    build(&["--force"]).success();
    for clash in [
        "out/manifest.csv",
        "out/Manifest.CSV",
        "out/normal",
        "out/report.json/x.html",
        "out/.calibset/x.html",
    ] {
        pool.cmd()
            .args(["build", "--force", "--html", clash, "--recipe"])
            .arg(&recipe)
            .assert()
            .code(2)
            .stderr(contains(
                "would replace the output folder or a file the set writes",
            ));
    }
    // Nor may it land on a chosen image: with hard links, that would be a source.
    let row = &csv_rows(&pool.join("out/manifest.csv"))[0];
    let (file, source) = (format!("out/{}", row[0]), pool.join(&row[1]));
    let before = std::fs::read(&source).unwrap();
    pool.cmd()
        .args([
            "build", "--force", "--mode", "hardlink", "--html", &file, "--recipe",
        ])
        .arg(&recipe)
        .assert()
        .code(2)
        .stderr(contains(
            "would replace the output folder or a file the set writes",
        ));
    assert_eq!(std::fs::read(&source).unwrap(), before);
    // Through a symlink to the output folder, the page is still part of the set.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(pool.join("out"), pool.join("out-link")).unwrap();
        pool.cmd()
            .args([
                "build",
                "-q",
                "--force",
                "--html",
                "out-link/page.html",
                "--recipe",
            ])
            .arg(&recipe)
            .assert()
            .success();
        assert!(pool.join("out/page.html").is_file());
        build(&["--force"]).success();
        assert!(
            !pool.join("out/page.html").exists(),
            "replaced with the set"
        );
    }
}

#[test]
fn a_free_rest_beside_per_tag_quotas_builds_and_says_what_it_took() {
    let pool = Pool::standard();
    // Every hard image is night or rain: the free share of 2 must take tagged ones.
    let recipe = pool.recipe(
        "total = 30\nsplit = { normal = 6, hard = 2, background = 2 }\n[buckets.hard.quota]\nnight = 2\nrain = 2\n[output]\ndir = \"out\"\n",
    );
    pool.cmd()
        .args(["build", "--recipe"])
        .arg(&recipe)
        .assert()
        .success()
        .stdout(contains("free share of hard also took"));
    let rows = csv_rows(&pool.join("out/manifest.csv"));
    let hard: Vec<_> = rows.iter().filter(|r| r[3] == "hard").collect();
    assert_eq!(hard.len(), 6);
    assert_eq!(hard.iter().filter(|r| r[4] == "night").count(), 2);
    assert_eq!(hard.iter().filter(|r| r[4] == "free").count(), 2);
    // Strict: the free share stays empty and the message says why.
    let strict = pool.recipe(
        "total = 30\nsplit = { normal = 6, hard = 2, background = 2 }\n[buckets.hard]\nfree = \"untagged\"\n[buckets.hard.quota]\nnight = 2\nrain = 2\n[output]\ndir = \"out2\"\n",
    );
    pool.cmd()
        .args(["build", "--recipe"])
        .arg(&strict)
        .assert()
        .code(1)
        .stdout(contains("bucket hard, free share: wanted 2, filled 0 (0 distinct images available after dedup); 24 more carry a quota tag"));
}

#[test]
fn camera_shares_follow_the_pool_or_are_equal_when_asked() {
    let pool = Pool::standard();
    let body = |balance: &str| {
        format!("total = 12\nsplit = {{ normal = 1 }}\n[output]\ndir = \"out-{balance}\"\n")
    };
    let recipe = pool.recipe(&body("p"));
    let json = json_of(
        pool.cmd()
            .args(["build", "-q", "--dry-run", "--json", "--recipe"])
            .arg(&recipe),
    );
    let cameras = json["cameras"].as_array().unwrap();
    for c in cameras {
        assert!(
            c["set_share"].is_number() && c["pool_share"].is_number(),
            "{c}"
        );
    }
    let text = std::fs::read_to_string(&recipe)
        .unwrap()
        .replace("[camera]\n", "[camera]\nbalance = \"equal\"\n");
    std::fs::write(&recipe, &text).unwrap();
    let json = json_of(
        pool.cmd()
            .args(["build", "-q", "--dry-run", "--json", "--recipe"])
            .arg(&recipe),
    );
    let chosen: Vec<u64> = json["cameras"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["chosen"].as_u64().unwrap())
        .collect();
    assert!(chosen.iter().all(|&n| (3..=4).contains(&n)), "{chosen:?}");
    std::fs::write(
        &recipe,
        text.replace("balance = \"equal\"", "balance = \"even\""),
    )
    .unwrap();
    pool.cmd()
        .args(["check", "--recipe"])
        .arg(&recipe)
        .assert()
        .code(2)
        .stderr(contains(
            "camera.balance: must be \"proportional\" or \"equal\"",
        ));
}

#[test]
fn a_root_outside_the_recipe_folder_goes_by_its_own_name() {
    // project/recipes/r.toml reads ../../data: patterns, cameras and the mirror
    // layout see `data/frames/…`, not `../../data/…`.
    let pool = Pool::empty();
    for cam in ["camA", "camB"] {
        for (cond, n) in [("day", 3u64), ("night", 2)] {
            for k in 0..n {
                let seed =
                    k + if cam == "camA" { 10 } else { 20 } + if cond == "night" { 5 } else { 0 };
                pool.image(
                    &format!("data/frames/{cam}/{cond}/{k:04}.jpg"),
                    &crate::fixture::scene(seed, 0.0, 96, 72),
                );
            }
        }
    }
    pool.write(
        "project/recipes/r.toml",
        br#"
total = 10
split = { normal = 6, hard = 4 }
[sources]
roots = ["../../data"]
[camera]
from = "**/frames/{camera}/**"
[[rules]]
match = "data/frames/*/night/**"
bucket = "hard"
[[rules]]
match = "**"
bucket = "normal"
[output]
dir = "../out"
layout = "mirror"
"#,
    );
    let report = crate::fixture::json_of(pool.cmd().args([
        "build",
        "--json",
        "--recipe",
        "project/recipes/r.toml",
    ]));
    assert_eq!(report["pool"]["unbucketed"], 0, "{}", report["pool"]);
    assert_eq!(report["pool"]["usable"]["hard"], 4);
    let files = pool.files("project/out");
    assert!(
        files.contains(&"data/frames/camA/night/0000.jpg".to_owned()),
        "{files:?}"
    );
    assert!(files.iter().all(|f| !f.contains("_up_")), "{files:?}");
    let cameras: Vec<String> = csv_rows(&pool.join("project/out/manifest.csv"))
        .iter()
        .map(|r| r[7].clone())
        .collect();
    assert!(cameras.contains(&"camA".to_owned()) && cameras.contains(&"camB".to_owned()));
    assert!(cameras.iter().all(|c| !c.is_empty()), "{cameras:?}");
}

#[test]
fn the_lock_keeps_classes_extra_columns_and_times_as_written() {
    let pool = Pool::empty();
    for k in 0..3u64 {
        pool.image(
            &format!("shots/site_{k}/a.jpg"),
            &scene(70 + k, 0.0, 96, 72),
        );
    }
    pool.write(
        "m.csv",
        b"path,bucket,classes,time,weather,width\n\
shots/site_0/a.jpg,normal,car;person,2024-05-01T08:30:00Z,rain,1920\n\
shots/site_1/a.jpg,normal,bus,12.50,,\n\
shots/site_2/a.jpg,normal,,,fog,\n",
    );
    pool.write(
        "r.toml",
        br#"
total = 3
split = { normal = 1 }
[sources]
roots = ["shots"]
manifest = "m.csv"
[[rules]]
match = "shots/site_{site}/*"
tags = ["street"]
[output]
dir = "out"
"#,
    );
    pool.cmd()
        .args(["build", "-q", "--recipe", "r.toml"])
        .assert()
        .success();
    let text = std::fs::read_to_string(pool.join("out/manifest.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        [
            "file",
            "source",
            "time",
            "bucket",
            "slot",
            "tags",
            "classes",
            "camera",
            "width",
            "height",
            "phash",
            "blake3",
            "site",
            "weather",
            "meta.width"
        ]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    let row = |source: &str| rows.iter().find(|r| r[1] == source).unwrap().clone();
    let a = row("shots/site_0/a.jpg");
    assert_eq!(a[2], "2024-05-01T08:30:00Z", "the time as written");
    assert_eq!(a[6], "car;person");
    assert_eq!((a[8].as_str(), a[14].as_str()), ("96", "1920"));
    assert_eq!((a[12].as_str(), a[13].as_str()), ("0", "rain"));
    let b = row("shots/site_1/a.jpg");
    assert_eq!(
        (b[2].as_str(), b[6].as_str(), b[13].as_str()),
        ("12.50", "bus", "")
    );
}

#[test]
fn the_summary_accounts_for_every_usable_image() {
    // 20 frames of a still scene (consecutive duplicates), a byte copy, and 6
    // distinct stills: distinct + every kind of removal = usable.
    let pool = Pool::empty();
    for k in 0..20 {
        pool.image(
            &format!("frames/cam1/{k:06}.jpg"),
            &scene(3, k as f32 * 0.05, 96, 72),
        );
    }
    for k in 0..6u64 {
        pool.image(&format!("stills/s{k}.png"), &scene(40 + k, 0.0, 96, 72));
    }
    pool.write(
        "stills/copy.png",
        &std::fs::read(pool.join("stills/s0.png")).unwrap(),
    );
    pool.write(
        "r.toml",
        b"total = 3\nsplit = { normal = 1 }\n[sources]\nroots = ['frames', 'stills']\n[[rules]]\nmatch = '**'\nbucket = 'normal'\n",
    );
    let report = json_of(
        pool.cmd()
            .args(["build", "--dry-run", "--json", "--recipe", "r.toml"]),
    );
    let n = |v: &serde_json::Value| v.as_u64().unwrap();
    let consecutive = n(&report["sequences"]["consecutive_duplicates"]);
    assert!(consecutive >= 15, "{}", report["sequences"]);
    let distinct = n(&report["dedup"]["kept"]["normal"]);
    let removed =
        n(&report["dedup"]["exact_removed"]) + n(&report["dedup"]["near_removed"]) + consecutive;
    assert_eq!(distinct + removed, 27);
    pool.cmd()
        .args(["build", "--dry-run", "--recipe", "r.toml"])
        .assert()
        .success()
        .stdout(contains(format!(
            "distinct  {distinct} of 27 usable; removed 1 exact copy, {} near duplicate",
            n(&report["dedup"]["near_removed"])
        )))
        .stdout(contains(format!(
            "{consecutive} consecutive duplicates, 0 not sampled"
        )));
}

#[test]
fn a_camera_pattern_that_matches_nothing_is_said_and_a_camera_minimum_on_it_is_an_error() {
    let pool = Pool::standard();
    let recipe = pool.recipe_with_camera_min(crate::fixture::SET_OF_30, 2);
    let text = std::fs::read_to_string(&recipe)
        .unwrap()
        .replace("frames/{camera}/**", "cameras/{camera}/**");
    std::fs::write(&recipe, &text).unwrap();
    pool.cmd()
        .args(["build", "--dry-run", "--recipe"])
        .arg(&recipe)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "camera.min = 2 cannot apply: no usable image has a camera (camera.from = \"cameras/{camera}/**\" matched none)",
        ));
    // Without a minimum it is a warning, and the build goes on.
    std::fs::write(&recipe, text.replace("min = 2", "min = 0")).unwrap();
    pool.cmd()
        .args(["build", "--dry-run", "--recipe"])
        .arg(&recipe)
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "warning: camera.from = \"cameras/{camera}/**\" matched none of the",
        ));
}

#[test]
fn the_largest_total_a_shortfall_offers_is_a_recipe_that_builds() {
    let pool = Pool::standard();
    let body = |total: &str| {
        format!(
            "total = {total}\nsplit = {{ normal = 6, hard = 2, background = 2 }}\n[buckets.hard.quota]\nnight = 6\nrain = 4\n[output]\ndir = \"out\"\n"
        )
    };
    let recipe = pool.recipe(&body("100"));
    let out = pool
        .cmd()
        .args(["build", "--recipe"])
        .arg(&recipe)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let offered: usize = stdout
        .split("supports at most ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no total offered: {stdout}"));
    let recipe = pool.recipe(&body(&offered.to_string()));
    pool.cmd()
        .args(["check", "--recipe"])
        .arg(&recipe)
        .assert()
        .success();
    pool.cmd()
        .args(["build", "-q", "--recipe"])
        .arg(&recipe)
        .assert()
        .success();
}
