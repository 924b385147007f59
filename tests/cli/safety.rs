//! Never lose a file, never die on one image: concurrent builds, killed builds,
//! hostile inputs.

use std::process::{Command, Stdio};

use predicates::prelude::*;
use predicates::str::contains;

#[cfg(unix)]
use crate::fixture::mkfifo;
use crate::fixture::{BODY, Pool, jpeg, scene};

fn binary() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("calibset")
}

#[test]
fn two_builds_into_one_output_never_both_write() {
    let pool = Pool::standard();
    let recipe = pool.recipe(BODY);
    for round in 0..12 {
        let out = pool.join(&format!("out{round}"));
        let start = || {
            Command::new(binary())
                .current_dir(pool.path())
                .args(["build", "-q", "--no-cache", "--recipe"])
                .arg(&recipe)
                .arg("--out")
                .arg(&out)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (start(), start());
        let results = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
        let ok = results.iter().filter(|r| r.status.success()).count();
        assert_eq!(ok, 1, "round {round}: exactly one build writes the set");
        let failed = results.iter().find(|r| !r.status.success()).unwrap();
        let stderr = String::from_utf8_lossy(&failed.stderr);
        assert_eq!(failed.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("another calibset build") || stderr.contains("pass --force"),
            "{stderr}"
        );
        let files = pool.files(&format!("out{round}"));
        assert_eq!(files.len(), 30 + 5, "{files:?}");
        let beside = pool.leftovers();
        assert!(
            beside.is_empty(),
            "nothing left beside the output: {beside:?}"
        );
    }
}

#[test]
fn a_build_clears_what_a_killed_build_left_beside_its_output() {
    let pool = Pool::standard();
    let recipe = pool.recipe(BODY);
    pool.cmd()
        .args(["build", "-q", "--recipe"])
        .arg(&recipe)
        .assert()
        .success();
    // What SIGKILL during export, and during the removal of the old set, leave.
    let listing = std::fs::read_to_string(pool.join("out/.calibset")).unwrap();
    let first = listing.lines().nth(2).unwrap();
    pool.write(".out.calibset-Ab12Cd/.calibset", listing.as_bytes());
    pool.write(&format!(".out.calibset-Ab12Cd/{first}"), b"half a copy");
    pool.write(".out.calibset-old-Zz99Yy/old/.calibset", listing.as_bytes());
    pool.write(&format!(".out.calibset-old-Zz99Yy/old/{first}"), b"old");
    pool.write(".out.calibset-old-Zz99Yy/old/mine.txt", b"someone's");
    pool.cmd()
        .args(["build", "--force", "--recipe"])
        .arg(&recipe)
        .assert()
        .success()
        .stderr(contains("calibset: warning: removed").and(contains(".out.calibset-Ab12Cd")))
        .stderr(contains("calibset: warning: left").and(contains(".out.calibset-old-Zz99Yy")));
    assert!(!pool.join(".out.calibset-Ab12Cd").exists());
    assert!(
        !pool
            .join(&format!(".out.calibset-old-Zz99Yy/old/{first}"))
            .exists()
    );
    assert_eq!(
        std::fs::read(pool.join(".out.calibset-old-Zz99Yy/old/mine.txt")).unwrap(),
        b"someone's"
    );
}

/// A pool of one large, noisy still (~200 KB) and a recipe choosing it.
fn one_big_image() -> (Pool, std::path::PathBuf) {
    let pool = Pool::empty();
    let mut big = scene(77, 0.0, 640, 480);
    let mut s = 1u32;
    for p in big.pixels_mut() {
        s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
        p.0[0] = (s >> 24) as u8;
    }
    pool.write("stills/big.jpg", &jpeg(&big, 98));
    pool.write(
        "recipe.toml",
        b"total = 1\ndefault_bucket = \"normal\"\n[buckets.normal]\ncount = 1\n[sources]\nroots = [\"stills\"]\n[output]\ndir = \"out\"\n",
    );
    let recipe = pool.join("recipe.toml");
    (pool, recipe)
}

#[cfg(unix)]
#[test]
fn a_file_size_limit_fails_the_write_and_leaves_nothing() {
    let (pool, recipe) = one_big_image();
    assert!(
        std::fs::metadata(pool.join("stills/big.jpg"))
            .unwrap()
            .len()
            > 150_000
    );
    let out = Command::new("sh")
        .current_dir(pool.path())
        .arg("-c")
        // 100 blocks: 50 KiB (POSIX sh) or 100 KiB (bash) per file.
        .arg(r#"ulimit -f 100 && exec "$0" "$@""#)
        .arg(binary())
        .args(["build", "--no-cache", "--recipe"])
        .arg(&recipe)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("File too large"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(pool.path())
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter(|n| n.starts_with(".out") || n == "out")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A small JPEG whose frame header claims `w × h`; `progressive` relabels it
/// SOF2 (a progressive decoder allocates coefficients for the claimed frame).
fn patched_jpeg(w: u16, h: u16, progressive: bool) -> Vec<u8> {
    let mut bytes = jpeg(&scene(5, 0.0, 64, 48), 90);
    let at = bytes.windows(2).position(|m| m == [0xFF, 0xC0]).unwrap();
    if progressive {
        bytes[at + 1] = 0xC2;
    }
    bytes[at + 5..at + 7].copy_from_slice(&h.to_be_bytes());
    bytes[at + 7..at + 9].copy_from_slice(&w.to_be_bytes());
    bytes
}

/// A valid 1-bit grey PNG of `w × h`, all black but a stripe: a few hundred
/// KB on disk, `w × h × 3` bytes as RGB.
pub(crate) fn huge_png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::One);
        let mut writer = enc.write_header().unwrap();
        let mut stream = writer.stream_writer().unwrap();
        let row_bytes = w.div_ceil(8) as usize;
        let mut row = vec![0u8; row_bytes];
        for y in 0..h {
            row.fill(if (y / 64) % 2 == 0 { 0x00 } else { 0xF0 });
            std::io::Write::write_all(&mut stream, &row).unwrap();
        }
        stream.finish().unwrap();
        writer.finish().unwrap();
    }
    out
}

#[cfg(unix)]
#[test]
fn decompression_bombs_are_reported_under_a_memory_cap() {
    let pool = Pool::standard();
    pool.write(
        "stills/bomb-progressive.jpg",
        &patched_jpeg(65535, 65535, true),
    );
    pool.write("stills/bomb-baseline.jpg", &patched_jpeg(9000, 9000, false));
    pool.write("stills/bomb-line.jpg", &patched_jpeg(65535, 1, false));
    pool.write("stills/bomb.png", &huge_png(20000, 20000));
    // Large but within the limit, and valid: decoded (row by row).
    pool.write("stills/tall.png", &huge_png(400, 20_000));
    assert!(
        std::fs::metadata(pool.join("stills/bomb.png"))
            .unwrap()
            .len()
            < 2 << 20
    );
    let recipe = pool.recipe(BODY);
    let out = Command::new("sh")
        .current_dir(pool.path())
        .arg("-c")
        // 1.5 GiB of address space for the whole process, both workers included.
        .arg(r#"ulimit -v 1572864 && exec "$0" "$@""#)
        .arg(binary())
        .args(["audit", "--json", "--no-cache", "--jobs", "2", "--recipe"])
        .arg(&recipe)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?} {stderr}", out.status);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kind = |name: &str| {
        report["report"]["pool"]["issues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["path"] == format!("stills/{name}"))
            .map(|i| i["kind"].as_str().unwrap().to_owned())
    };
    assert_eq!(kind("bomb-progressive.jpg").as_deref(), Some("too-large"));
    assert_eq!(kind("bomb.png").as_deref(), Some("too-large"));
    assert_eq!(kind("bomb-baseline.jpg").as_deref(), Some("truncated"));
    assert_eq!(kind("bomb-line.jpg").as_deref(), Some("truncated"));
    assert_eq!(
        kind("tall.png"),
        None,
        "a valid image within the limit is used"
    );
}

#[cfg(unix)]
#[test]
fn fifos_and_devices_as_inputs_fail_at_once_instead_of_hanging() {
    let pool = Pool::standard();
    let ten = std::time::Duration::from_secs(10);
    mkfifo(&pool.join("fifo.toml"));
    pool.cmd()
        .args(["check", "--recipe", "fifo.toml"])
        .timeout(ten)
        .assert()
        .code(2)
        .stderr(contains("fifo.toml").and(contains("not a regular file (it is a FIFO)")));

    std::os::unix::fs::symlink("/dev/zero", pool.join("zero.csv")).unwrap();
    let recipe = pool.recipe_with_sources(BODY, "manifest = \"zero.csv\"");
    pool.cmd()
        .args(["build", "--recipe"])
        .arg(&recipe)
        .timeout(ten)
        .assert()
        .code(2)
        .stderr(contains("zero.csv").and(contains("character device")));

    mkfifo(&pool.join("fifo.csv"));
    let recipe = pool.recipe_with_sources(BODY, "manifest = \"fifo.csv\"");
    pool.cmd()
        .args(["build", "--recipe"])
        .arg(&recipe)
        .timeout(ten)
        .assert()
        .code(2)
        .stderr(contains("fifo.csv").and(contains("FIFO")));
}

#[cfg(unix)]
#[test]
fn a_fifo_as_label_file_is_an_error_and_as_cache_a_warning() {
    let pool = Pool::empty();
    for k in 0..4u64 {
        pool.image(
            &format!("ds/images/train/img_{k}.jpg"),
            &scene(300 + k, 0.0, 96, 72),
        );
    }
    pool.write("ds/labels/train/img_0.txt", b"0 0.5 0.5 0.2 0.2\n");
    mkfifo(&pool.join("ds/labels/train/img_1.txt"));
    pool.write(
        "recipe.toml",
        b"[sources]\nroots = [\"ds/images\"]\n[annotations]\nformat = \"yolo\"\npath = \"ds\"\n\
          [buckets.normal]\ncount = 1\n[buckets.background]\ncount = 1\n[output]\ndir = \"out\"\n",
    );
    let ten = std::time::Duration::from_secs(10);
    pool.cmd()
        .args(["build", "--recipe", "recipe.toml"])
        .timeout(ten)
        .assert()
        .code(2)
        .stderr(contains("img_1.txt").and(contains("FIFO")));

    std::fs::remove_file(pool.join("ds/labels/train/img_1.txt")).unwrap();
    let cache = pool.join("cache");
    pool.cmd()
        .args(["build", "-q", "--recipe", "recipe.toml", "--cache-dir"])
        .arg(&cache)
        .assert()
        .success();
    let file = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "cache"))
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    mkfifo(&file);
    pool.cmd()
        .args(["build", "--force", "--recipe", "recipe.toml", "--cache-dir"])
        .arg(&cache)
        .timeout(ten)
        .assert()
        .success()
        .stderr(contains("calibset: warning: cache").and(contains("FIFO")));
}

#[test]
fn a_json_lines_manifest_may_start_with_a_byte_order_mark() {
    let pool = Pool::standard();
    pool.write(
        "m.jsonl",
        "\u{FEFF}{\"path\": \"frames/cam1/day/0000.jpg\", \"tags\": [\"bom\"]}\n".as_bytes(),
    );
    let recipe = pool.recipe_with_sources(BODY, "manifest = \"m.jsonl\"");
    pool.cmd()
        .args(["build", "-q", "--dry-run", "--recipe"])
        .arg(&recipe)
        .assert()
        .success();
}

#[test]
fn html_never_overwrites_an_input_or_a_file_it_did_not_write() {
    let pool = Pool::standard();
    let recipe = pool.recipe_with_sources(BODY, "");
    pool.write("notes.html", b"my notes");
    let png = std::fs::read(pool.join("stills/one.png")).unwrap();
    let text = std::fs::read(&recipe).unwrap();
    for (target, why) in [
        ("stills/one.png", "inside source root"),
        ("frames/report.html", "inside source root"),
        ("recipe.toml", "input"),
        ("notes.html", "not a calibset report"),
    ] {
        for cmd in [&["build", "--dry-run"][..], &["audit"][..]] {
            pool.cmd()
                .args(cmd)
                .arg("--recipe")
                .arg(&recipe)
                .args(["--html", target])
                .assert()
                .code(2)
                .stderr(contains(format!("--html {target}")).and(contains(why)));
        }
    }
    assert_eq!(std::fs::read(pool.join("stills/one.png")).unwrap(), png);
    assert_eq!(std::fs::read(&recipe).unwrap(), text);
    assert_eq!(std::fs::read(pool.join("notes.html")).unwrap(), b"my notes");
    assert!(!pool.join("frames/report.html").exists());
    // An earlier report is replaced.
    for _ in 0..2 {
        pool.cmd()
            .args(["audit", "-q", "--recipe"])
            .arg(&recipe)
            .args(["--html", "report.html"])
            .assert()
            .success();
    }
}

#[test]
fn a_cache_inside_the_output_is_refused_up_front() {
    let pool = Pool::standard();
    let recipe = pool.recipe(BODY);
    pool.cmd()
        .args(["build", "--recipe"])
        .arg(&recipe)
        .args(["--cache-dir", "out/.cache"])
        .assert()
        .code(2)
        .stderr(contains("cache folder").and(contains("is inside the output folder")));
    assert!(!pool.join("out").exists());
}

#[cfg(target_os = "linux")]
#[test]
fn names_that_are_not_utf8_stay_exact_in_the_lock_and_the_mirror() {
    use std::os::unix::ffi::OsStrExt;
    let pool = Pool::empty();
    let names: [&[u8]; 3] = [b"x\xFF.jpg", b"x\xFE.jpg", b"100%.jpg"];
    for (k, name) in names.iter().enumerate() {
        let path = pool.join("stills").join(std::ffi::OsStr::from_bytes(name));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, jpeg(&scene(40 + k as u64, 0.0, 96, 72), 90)).unwrap();
    }
    pool.write(
        "recipe.toml",
        b"total = 3\ndefault_bucket = \"normal\"\n[buckets.normal]\ncount = 3\n\
          [sources]\nroots = [\"stills\"]\n[output]\ndir = \"out\"\nlayout = \"mirror\"\n",
    );
    pool.cmd()
        .args(["build", "-q", "--recipe", "recipe.toml"])
        .assert()
        .success();
    for name in names {
        let placed = pool
            .join("out/stills")
            .join(std::ffi::OsStr::from_bytes(name));
        assert!(placed.is_file(), "{placed:?}");
    }
    let lock = std::fs::read_to_string(pool.join("out/manifest.csv")).unwrap();
    let sources: Vec<&str> = lock
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    assert_eq!(
        sources,
        ["stills/100%25.jpg", "stills/x%FE.jpg", "stills/x%FF.jpg"]
    );
}

#[cfg(unix)]
#[test]
fn symlinked_images_are_reported_and_followed_when_asked() {
    use std::os::unix::fs::symlink;
    let pool = Pool::empty();
    for k in 0..3u64 {
        pool.image(&format!("annex/obj{k}.jpg"), &scene(70 + k, 0.0, 96, 72));
        std::fs::create_dir_all(pool.join("data")).unwrap();
        symlink(
            pool.join(&format!("annex/obj{k}.jpg")),
            pool.join(&format!("data/img{k}.jpg")),
        )
        .unwrap();
    }
    pool.image("elsewhere/far.jpg", &scene(99, 0.0, 96, 72));
    symlink(pool.join("elsewhere/far.jpg"), pool.join("data/far.jpg")).unwrap();
    // A folder link back up: a loop when followed.
    symlink(pool.join("data"), pool.join("data/again")).unwrap();
    let recipe = |extra: &str| {
        pool.write(
            "recipe.toml",
            format!(
                "total = 3\ndefault_bucket = \"normal\"\n[buckets.normal]\ncount = 3\n\
                 [sources]\nroots = [\"data\", \"annex\"]\n{extra}\n[output]\ndir = \"out\"\n"
            )
            .as_bytes(),
        );
    };
    recipe("");
    let report =
        crate::fixture::json_of(
            pool.cmd()
                .args(["audit", "--json", "--recipe", "recipe.toml"]),
        );
    assert_eq!(report["report"]["pool"]["symlinks_skipped"], 4);
    pool.cmd()
        .args(["audit", "--recipe", "recipe.toml"])
        .assert()
        .stderr(contains("4 symlinked image(s) or video(s) were not read"));

    recipe("follow_symlinks = true");
    let report =
        crate::fixture::json_of(
            pool.cmd()
                .args(["audit", "--json", "--recipe", "recipe.toml"]),
        );
    let pool_json = &report["report"]["pool"];
    assert_eq!(pool_json["symlinks_skipped"], 0);
    let issues = pool_json["issues"].as_array().unwrap();
    let message = |name: &str| {
        issues
            .iter()
            .find(|i| i["path"].as_str().unwrap().ends_with(name))
            .map(|i| i["message"].as_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert!(
        message("far.jpg").contains("leads outside the roots"),
        "{issues:?}"
    );
    assert!(message("again").contains("loop"), "{issues:?}");
    // data/img*.jpg and annex/obj*.jpg: 6 files, 3 distinct (exact copies).
    assert_eq!(pool_json["scanned"], 6, "{pool_json}");
}

#[test]
fn a_manifest_of_missing_files_is_summarised_not_listed() {
    let pool = Pool::standard();
    let mut csv = String::from("path,bucket\nframes/cam1/day/0000.jpg,normal\n");
    for k in 0..50_000 {
        csv.push_str(&format!("frames/gone/{k:06}.jpg,hard\n"));
    }
    pool.write("m.csv", csv.as_bytes());
    let recipe = pool.recipe_with_sources(BODY, "manifest = \"m.csv\"");
    let out = pool
        .cmd()
        .args(["build", "--dry-run", "--recipe"])
        .arg(&recipe)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.len() < 20_000, "{} bytes of report", text.len());
    assert!(
        text.contains("and 49980 more manifest rows whose files were not found"),
        "{text}"
    );
    let report = crate::fixture::json_of(
        pool.cmd()
            .args(["build", "--dry-run", "--json", "--recipe"])
            .arg(&recipe),
    );
    assert_eq!(report["pool"]["missing"], 50_000);
    let listed = report["pool"]["issues"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "missing")
        .count();
    assert_eq!(listed, 20);
}
