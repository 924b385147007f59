//! Snapshots of the exact text calibset prints for people: build and audit
//! reports, `check`, and the error messages on stderr.
//!
//! Each snapshot pins the exit code, stdout and stderr of one run of the real
//! binary on a generated pool. What varies between runs is filtered out by
//! plain string replacement (see [`filter`]); builds and audits run with
//! `--no-cache` (the cache statistics of a cold run) and are run twice, with
//! one and with two worker threads, which must print the same text.
//!
//! Update with `INSTA_UPDATE=always cargo test --test cli snapshots` (or
//! `cargo insta review`) and read every changed `.snap` file before committing.

use std::path::Path;

use crate::fixture::{BODY, Pool};

/// Replaces what differs between runs: the pool folder (as given and
/// canonicalized) with `[POOL]`, stage timings (`-v`) with `[TIME]` and the
/// process id of a lock holder with `[PID]`. Line ends are kept as printed.
fn filter(pool: &Path, text: &str) -> String {
    let raw = pool.to_string_lossy().into_owned();
    let canonical = std::fs::canonicalize(pool)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| raw.clone());
    // The longer first, so that neither leaves a piece of the other behind.
    let (first, second) = if canonical.len() >= raw.len() {
        (canonical, raw)
    } else {
        (raw, canonical)
    };
    let text = text.replace(&first, "[POOL]").replace(&second, "[POOL]");
    let filtered: String = text
        .split_inclusive('\n')
        .map(|line| {
            let (body, end) = line.split_at(line.trim_end_matches(['\r', '\n']).len());
            let mut body = body.to_owned();
            if body.starts_with("calibset: ")
                && let Some(i) = body.find(" took ")
            {
                body = format!("{} took [TIME]", &body[..i]);
            }
            if let Some(i) = body.find("(process ") {
                let start = i + "(process ".len();
                let digits = body[start..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .count();
                if digits > 0 {
                    body.replace_range(start..start + digits, "[PID]");
                }
            }
            body + end
        })
        .collect();
    // Nothing of the temporary folder may reach a committed snapshot.
    for tmp in [
        std::env::temp_dir(),
        std::env::temp_dir().canonicalize().unwrap(),
    ] {
        let tmp = tmp.to_string_lossy().into_owned();
        assert!(!filtered.contains(&tmp), "unfiltered {tmp} in:\n{filtered}");
    }
    filtered
}

/// Runs `calibset ARGS` in the pool; returns (exit code, stdout, stderr),
/// filtered.
fn run(pool: &Pool, args: &[&str]) -> (i32, String, String) {
    let out = pool.cmd().args(args).output().unwrap();
    let code = out.status.code().expect("exited, not killed by a signal");
    (
        code,
        filter(pool.path(), &String::from_utf8_lossy(&out.stdout)),
        filter(pool.path(), &String::from_utf8_lossy(&out.stderr)),
    )
}

/// The text a snapshot holds: exit code, stdout and stderr.
fn combined((code, stdout, stderr): &(i32, String, String)) -> String {
    format!("exit: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}")
}

/// `run`, once with `--jobs 1` and once with `--jobs 2` (calling `reset`
/// between the two), asserting both print the same; returns the text.
fn any_jobs(pool: &Pool, args: &[&str], reset: impl Fn()) -> String {
    let with = |jobs: &str| {
        let mut all = args.to_vec();
        all.extend(["--jobs", jobs]);
        combined(&run(pool, &all))
    };
    let one = with("1");
    reset();
    let two = with("2");
    assert_eq!(one, two, "the text depends on the thread count");
    one
}

/// The recipe path as an argument (absolute: it shows the `[POOL]` filter).
fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn build_report() {
    let pool = Pool::standard();
    let recipe = pool.recipe_with_camera_min(BODY, 2);
    let text = any_jobs(
        &pool,
        &["build", "--no-cache", "--recipe", arg(&recipe)],
        || std::fs::remove_dir_all(pool.join("out")).unwrap(),
    );
    insta::assert_snapshot!("build_report", text);
}

#[test]
fn build_shortfall() {
    let pool = Pool::standard();
    let recipe = pool.recipe(
        "total = 100\nsplit = { normal = 6, hard = 2, background = 2 }\n[buckets.hard.quota]\nnight = 13\nrain = 1\n[output]\ndir = \"out\"\n",
    );
    let text = any_jobs(
        &pool,
        &["build", "--no-cache", "--recipe", arg(&recipe)],
        || assert!(!pool.join("out").exists()),
    );
    insta::assert_snapshot!("build_shortfall", text);
}

#[test]
fn audit_recipe() {
    let pool = Pool::standard();
    let recipe = pool.recipe_with_camera_min(BODY, 2);
    let text = any_jobs(
        &pool,
        &["audit", "--no-cache", "--recipe", arg(&recipe)],
        || {},
    );
    insta::assert_snapshot!("audit_recipe", text);
}

#[test]
fn audit_folders() {
    let pool = Pool::standard();
    let text = any_jobs(&pool, &["audit", "--no-cache", "frames", "stills"], || {});
    insta::assert_snapshot!("audit_folders", text);
}

#[test]
fn check_text_and_json() {
    let pool = Pool::standard();
    let recipe = pool.recipe_with_camera_min(BODY, 2);
    let text = combined(&run(&pool, &["check", "--recipe", arg(&recipe)]));
    insta::assert_snapshot!("check_text", text);
    let json = combined(&run(&pool, &["check", "--json", "--recipe", arg(&recipe)]));
    insta::assert_snapshot!("check_json", json);
}

#[test]
fn error_invalid_recipe() {
    let pool = Pool::empty();
    let recipe = pool.recipe_with_camera_min(
        r#"total = 100
split = { normal = 6, hard = 2, background = 2 }

[buckets.hard.quota]
night = 500

[buckets.background.min]
texture = 30

[dedup]
similarity = 0.9
max_distance = 4

[output]
dir = "out"
"#,
        2,
    );
    let text = combined(&run(&pool, &["build", "--recipe", arg(&recipe)]));
    insta::assert_snapshot!("error_invalid_recipe", text);
}

#[test]
fn error_foreign_output() {
    let pool = Pool::standard();
    let recipe = pool.recipe_with_camera_min(BODY, 2);
    pool.write("out/thesis.txt", b"precious");
    let text = combined(&run(
        &pool,
        &["build", "--no-cache", "--recipe", arg(&recipe)],
    ));
    insta::assert_snapshot!("error_foreign_output", text);
}

#[test]
fn error_force_with_a_file_calibset_did_not_write() {
    let pool = Pool::standard();
    let recipe = pool.recipe_with_camera_min(BODY, 2);
    let (code, _, stderr) = run(
        &pool,
        &["build", "-q", "--no-cache", "--recipe", arg(&recipe)],
    );
    assert_eq!(code, 0, "{stderr}");
    pool.write("out/normal/my-notes.txt", b"mine");
    let text = combined(&run(
        &pool,
        &["build", "--force", "--no-cache", "--recipe", arg(&recipe)],
    ));
    insta::assert_snapshot!("error_force_with_a_file_calibset_did_not_write", text);
}

#[test]
fn error_missing_root() {
    let pool = Pool::standard();
    let recipe = pool.recipe_with_camera_min(BODY, 2);
    std::fs::remove_dir_all(pool.join("stills")).unwrap();
    let text = combined(&run(
        &pool,
        &["build", "--no-cache", "--recipe", arg(&recipe)],
    ));
    insta::assert_snapshot!("error_missing_root", text);
}

#[test]
fn error_manifest_row() {
    let pool = Pool::standard();
    let recipe = pool.recipe_with_camera_min(BODY, 2);
    let text = std::fs::read_to_string(&recipe).unwrap().replace(
        "roots = [\"frames\", \"stills\"]",
        "roots = [\"frames\", \"stills\"]\nmanifest = \"labels.csv\"",
    );
    std::fs::write(&recipe, text).unwrap();
    pool.write(
        "labels.csv",
        b"path,bucket,tags\nframes/cam1/day/0000.jpg,normal,person\nframes/cam1/day/0001.jpg,medium,car\n",
    );
    let text = combined(&run(
        &pool,
        &["build", "--no-cache", "--recipe", arg(&recipe)],
    ));
    insta::assert_snapshot!("error_manifest_row", text);
}

#[test]
fn error_html_inside_a_source_root() {
    let pool = Pool::standard();
    let recipe = pool.recipe_with_camera_min(BODY, 2);
    let text = combined(&run(
        &pool,
        &[
            "build",
            "--dry-run",
            "--no-cache",
            "--html",
            "frames/report.html",
            "--recipe",
            arg(&recipe),
        ],
    ));
    insta::assert_snapshot!("error_html_inside_a_source_root", text);
    assert!(!pool.join("frames/report.html").exists());
}
