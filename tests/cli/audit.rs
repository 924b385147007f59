//! `calibset audit`.

use predicates::prelude::*;
use predicates::str::contains;

use crate::fixture::{Pool, jpeg, scene};

fn json(pool: &Pool, args: &[&str]) -> (i32, serde_json::Value) {
    let out = pool
        .cmd()
        .arg("audit")
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    assert!(code != 2, "{}", String::from_utf8_lossy(&out.stderr));
    (code, serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
fn audits_a_recipe_pool_from_the_cache_of_a_build() {
    let pool = Pool::standard();
    let good = jpeg(&scene(77, 0.0, 96, 72), 90);
    pool.write("frames/cam2/day/truncated.jpg", &good[..good.len() / 3]);
    let recipe = pool.recipe_with_camera_min(
        "total = 30\nsplit = { normal = 6, hard = 2, background = 2 }\n[output]\ndir = \"out\"\n",
        2,
    );
    pool.cmd()
        .args(["build", "-q", "--recipe"])
        .arg(&recipe)
        .assert()
        .success();
    let (code, a) = json(&pool, &["--recipe", recipe.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(
        a["report"]["measure"]["decoded"], 0,
        "the build's cache serves the audit"
    );
    assert_eq!(a["tags"]["night"], 12);
    assert_eq!(a["cameras"]["cam3"], 24);
    assert_eq!(a["duplicates"], 5);
    assert_eq!(a["groups"][0]["members"].as_array().unwrap().len(), 4);
    assert_eq!(
        a["report"]["pool"]["issues"][0]["path"],
        "frames/cam2/day/truncated.jpg"
    );
    assert_eq!(a["report"]["status"], "ok");
    assert!(
        a["measured"]["auto:dark"].as_u64().unwrap() >= 12,
        "night frames are dark"
    );
    assert_eq!(a["histograms"][0]["counts"].as_array().unwrap().len(), 16);
    assert!(!pool.join("out2").exists());
}

#[test]
fn thresholds_make_findings_exit_1() {
    let pool = Pool::standard();
    let good = jpeg(&scene(77, 0.0, 96, 72), 90);
    pool.write("frames/cam2/day/truncated.jpg", &good[..good.len() / 3]);
    let recipe = pool.recipe("total = 500\nsplit = { normal = 1 }\n");
    let r = recipe.to_str().unwrap();
    assert_eq!(
        json(&pool, &["--recipe", r]).0,
        0,
        "no thresholds, no failure"
    );
    let (code, a) = json(
        &pool,
        &[
            "--recipe",
            r,
            "--max-issues",
            "0",
            "--max-duplicates",
            "0.01",
            "--require-fill",
        ],
    );
    assert_eq!(code, 1);
    let checks: Vec<&str> = a["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    assert_eq!(
        checks,
        ["max-issues", "max-duplicate-share", "require-fill"]
    );
    pool.cmd()
        .args(["audit", "--max-issues", "0", "--recipe", r])
        .assert()
        .code(1)
        .stdout(contains(
            "FINDING   max-issues: 1 files skipped, more than 0",
        ));
}

#[test]
fn audits_plain_folders() {
    let pool = Pool::standard();
    pool.cmd()
        .args(["audit", "frames", "stills"])
        .assert()
        .success()
        .stdout(contains("unbucketed 79").and(contains("recipe    none (audit of folders)")));
    pool.cmd().args(["audit"]).assert().code(2);
}

#[test]
fn build_and_audit_write_a_self_contained_html_report() {
    let pool = Pool::standard();
    let recipe = pool.recipe(
        "total = 30\nsplit = { normal = 6, hard = 2, background = 2 }\n[output]\ndir = \"out\"\n",
    );
    pool.cmd()
        .args(["build", "-q", "--dry-run", "--html", "set.html", "--recipe"])
        .arg(&recipe)
        .assert()
        .success();
    pool.cmd()
        .args(["audit", "-q", "--html", "pool.html", "--recipe"])
        .arg(&recipe)
        .assert()
        .success();
    for page in ["set.html", "pool.html"] {
        let html = std::fs::read_to_string(pool.join(page)).unwrap();
        assert!(
            html.starts_with("<!DOCTYPE html>") || html.starts_with("<!doctype html>"),
            "{page}"
        );
        assert!(
            html.contains("data:image/jpeg;base64,"),
            "{page} embeds thumbnails"
        );
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{page} needs no network"
        );
        assert!(html.contains("kept"), "{page} marks kept images");
    }
    assert!(!pool.join("out").exists(), "--dry-run still writes no set");
}

#[test]
fn the_audit_page_has_its_own_title_and_counts_tags_like_the_text_audit() {
    let pool = Pool::standard();
    let recipe = pool.recipe("total = 30\nsplit = { normal = 6, hard = 2, background = 2 }\n");
    let a = crate::fixture::json_of(
        pool.cmd()
            .args(["audit", "--json", "--html", "pool.html", "--recipe"])
            .arg(&recipe),
    );
    let html = std::fs::read_to_string(pool.join("pool.html")).unwrap();
    assert!(html.contains("<title>calibset audit — test</title>"));
    assert!(html.contains("calibset · pool audit"));
    assert!(!html.contains("calibration set report"));
    assert!(html.contains("<section id=\"labels\">"));
    for (table, counts) in [("Tags", &a["tags"]), ("Measured tags", &a["measured"])] {
        assert!(
            html.contains(&format!("<h3>{table} <span")),
            "{table} table"
        );
        for (label, n) in counts.as_object().unwrap() {
            let row = format!("<tr><td>{label}</td><td class=\"num\">{n}</td>");
            assert!(html.contains(&row), "{table}: no row {row}");
        }
    }
    // An audit of folders is titled by them.
    pool.cmd()
        .args(["audit", "-q", "--html", "folders.html", "frames", "stills"])
        .assert()
        .success();
    let html = std::fs::read_to_string(pool.join("folders.html")).unwrap();
    assert!(html.contains("<title>calibset audit — frames, stills</title>"));
}

#[test]
fn the_audit_page_folds_duplicate_groups_after_the_first_three() {
    let pool = Pool::empty();
    for g in 0..6u64 {
        for k in 0..3 {
            pool.image(
                &format!("frames/cam1/day/g{g}-{k}.jpg"),
                &scene(100 + g, k as f32 * 0.3, 96, 72),
            );
        }
    }
    pool.cmd()
        .args(["audit", "-q", "--html", "pool.html", "frames"])
        .assert()
        .success();
    let html = std::fs::read_to_string(pool.join("pool.html")).unwrap();
    assert_eq!(
        html.matches("<details class=\"card group\" open>").count(),
        3
    );
    assert_eq!(html.matches("<details class=\"card group\">").count(), 3);
    assert!(html.contains("The first 3 are open"));
    assert!(!html.contains("<script"), "no script needed to open them");
}

#[test]
fn the_page_explains_slot_names() {
    let pool = Pool::standard();
    let recipe = pool.recipe(
        "total = 30\nsplit = { normal = 6, hard = 2, background = 2 }\n[buckets.hard.quota]\nnight = 3\n[buckets.hard.min]\nrain = 1\n",
    );
    pool.cmd()
        .args(["build", "-q", "--dry-run", "--html", "set.html", "--recipe"])
        .arg(&recipe)
        .assert()
        .success();
    let html = std::fs::read_to_string(pool.join("set.html")).unwrap();
    assert!(html.contains("<details class=\"legend\" id=\"slot-legend\" open>"));
    for term in [
        "<dt><code>free</code></dt>",
        "<dt><code>KEY</code>",
        "buckets.NAME.quota.KEY",
        "<dt><code>min:KEY</code></dt>",
    ] {
        assert!(html.contains(term), "legend lacks {term}");
    }
    assert!(
        !html.contains("<dt><code>class:NAME</code></dt>"),
        "no class slot, no class entry"
    );
    assert!(html.contains("<a href=\"#slot-legend\">"));
}
