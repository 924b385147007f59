//! Faults that once lost a set or stalled a run: a kill between the swap's two
//! renames, progressive JPEGs with thousands of scans, a crop that scaled a
//! thin image to gigabytes, and chosen sources that vanish or change after
//! they were measured.

use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;

use crate::fixture::{Pool, SET_OF_30, jpeg, json_of, paused_before_writing, scene};

/// The shared 30-image recipe, writing to `out`.
fn body() -> String {
    format!("{SET_OF_30}\n[output]\ndir = \"out\"\n")
}

/// What a SIGKILL between the swap's renames leaves: the earlier set moved
/// aside into `.out.calibset-old-*/old`, the finished new set still staged,
/// and no `out`.
fn kill_between_renames(pool: &Pool) {
    let old = pool.join(".out.calibset-old-Zz99Yy");
    std::fs::create_dir(&old).unwrap();
    std::fs::rename(pool.join("out"), old.join("old")).unwrap();
    let staged = pool.join(".out.calibset-Ab12Cd");
    std::fs::create_dir(&staged).unwrap();
    let listing = std::fs::read(old.join("old/.calibset")).unwrap();
    std::fs::write(staged.join(".calibset"), listing).unwrap();
}

#[test]
fn a_build_after_a_kill_between_the_swap_renames_restores_the_earlier_set() {
    let pool = Pool::standard();
    let recipe = pool.recipe(&body());
    pool.cmd()
        .args(["build", "-q", "--recipe"])
        .arg(&recipe)
        .assert()
        .success();
    let before = pool.files("out");
    let manifest = std::fs::read(pool.join("out/manifest.csv")).unwrap();
    kill_between_renames(&pool);
    // The next build asks for more than the pool holds: it writes nothing, and
    // must not delete the only copy of the earlier set on its way.
    let short = pool.recipe(&body().replace("total = 30", "total = 300"));
    pool.cmd()
        .args(["build", "--force", "--recipe"])
        .arg(&short)
        .assert()
        .code(1)
        .stderr(contains("calibset: warning: restored").and(contains(".out.calibset-old-Zz99Yy")));
    assert_eq!(pool.files("out"), before);
    assert_eq!(
        std::fs::read(pool.join("out/manifest.csv")).unwrap(),
        manifest
    );
    assert!(!pool.join(".out.calibset-old-Zz99Yy").exists());
    assert!(!pool.join(".out.calibset-Ab12Cd").exists());
    // Restored, it is an earlier set like any other: replaced only with --force.
    kill_between_renames(&pool);
    let recipe = pool.recipe(&body());
    pool.cmd()
        .args(["build", "-q", "--recipe"])
        .arg(&recipe)
        .assert()
        .code(2)
        .stderr(contains("pass --force"));
    assert_eq!(pool.files("out"), before);
}

/// A progressive JPEG of `w × h` whose smallest scan is repeated `repeats`
/// times: every repeat makes the decoder walk the frame's coefficients again,
/// a few bytes of file for a whole pass of work.
fn scan_bomb(w: usize, h: usize, repeats: usize) -> Vec<u8> {
    let pixels: Vec<u8> = (0..w * h)
        .flat_map(|i| {
            let v = (i % w * 255 / w) as u8;
            [v, v, v / 2]
        })
        .collect();
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    c.set_size(w, h);
    c.set_quality(80.0);
    c.set_progressive_mode();
    let mut started = c.start_compress(Vec::new()).unwrap();
    started.write_scanlines(&pixels).unwrap();
    let bytes = started.finish().unwrap();
    // Every scan: from its SOS marker to the next marker that is not a
    // stuffed byte or a restart.
    let mut scans = Vec::new();
    let mut pos = 2;
    while pos + 4 <= bytes.len() && bytes[pos + 1] != 0xD9 {
        let len = usize::from(u16::from_be_bytes([bytes[pos + 2], bytes[pos + 3]]));
        let mut end = pos + 2 + len;
        if bytes[pos + 1] == 0xDA {
            while bytes[end] != 0xFF || matches!(bytes[end + 1], 0x00 | 0xD0..=0xD7) {
                end += 1;
            }
            scans.push(pos..end);
        }
        pos = end;
    }
    assert!(scans.len() > 2, "a progressive file has several scans");
    let smallest = scans.into_iter().min_by_key(|s| s.len()).unwrap();
    let mut bomb = bytes[..smallest.end].to_vec();
    for _ in 0..repeats {
        bomb.extend_from_slice(&bytes[smallest.clone()]);
    }
    bomb.extend_from_slice(&bytes[smallest.end..]);
    bomb
}

#[test]
fn progressive_jpegs_with_thousands_of_scans_are_refused_before_decoding() {
    let pool = Pool::standard();
    pool.write("stills/bomb.jpg", &scan_bomb(256, 192, 3000));
    // A real progressive file of as many pixels is used.
    pool.write("stills/progressive.jpg", &scan_bomb(256, 192, 0));
    let recipe = pool.recipe(&body());
    let report = json_of(
        pool.cmd()
            .args(["audit", "--json", "--no-cache", "--recipe"])
            .arg(&recipe),
    );
    let issues = report["report"]["pool"]["issues"].as_array().unwrap();
    let bomb = issues
        .iter()
        .find(|i| i["path"] == "stills/bomb.jpg")
        .expect("the scan bomb is skipped");
    assert_eq!(bomb["kind"], "too-complex", "{bomb}");
    assert!(
        bomb["message"]
            .as_str()
            .unwrap()
            .contains("more than 100 scans"),
        "{bomb}"
    );
    assert!(
        !issues.iter().any(|i| i["path"] == "stills/progressive.jpg"),
        "{issues:?}"
    );
}

#[cfg(unix)]
#[test]
fn a_crop_of_a_thin_image_stays_within_a_memory_cap() {
    let pool = Pool::empty();
    pool.write("stills/line.png", &crate::safety::huge_png(65535, 1));
    pool.write("stills/column.png", &crate::safety::huge_png(1, 65535));
    pool.write("stills/photo.jpg", &jpeg(&scene(8, 0.0, 96, 72), 90));
    pool.write(
        "recipe.toml",
        b"total = 3\ndefault_bucket = \"normal\"\n[buckets.normal]\ncount = 3\n\
          [sources]\nroots = [\"stills\"]\n[output]\ndir = \"out\"\n\
          [tensor]\nsize = [320, 320]\nresize = \"crop\"\n[export]\nformats = [\"npy\"]\n",
    );
    // 4 GB of address space: resizing 65535×1 whole before cropping wants 80.
    let out = std::process::Command::new("sh")
        .current_dir(pool.path())
        .arg("-c")
        .arg(r#"ulimit -v 4000000 && exec "$0" "$@""#)
        .arg(assert_cmd::cargo::cargo_bin("calibset"))
        .args(["build", "-q", "--no-cache", "--recipe", "recipe.toml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let npy = std::fs::read(pool.join("out/calib.npy")).unwrap();
    let data = 3 * 3 * 320 * 320 * 4;
    let header = String::from_utf8_lossy(&npy[..npy.len() - data]);
    assert!(header.contains("'shape': (3, 3, 320, 320)"), "{header}");
    let left = pool.leftovers();
    assert!(left.is_empty(), "no staging left: {left:?}");
}

/// The locked rows of `out/manifest.csv`: (file in the set, source, blake3).
fn locked(pool: &Pool) -> Vec<(String, String, String)> {
    crate::fixture::csv_rows(&pool.join("out/manifest.csv"))
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone(), r[11].clone()))
        .collect()
}

/// Every image of `out` holds the bytes its manifest row's blake3 names.
fn assert_set_matches_its_manifest(pool: &Pool) {
    for (file, source, hash) in locked(pool) {
        let bytes = std::fs::read(pool.join("out").join(&file)).unwrap();
        assert_eq!(
            blake3::hash(&bytes).to_hex().as_str(),
            hash,
            "{file} ({source})"
        );
    }
}

/// Builds the 30-image set into `out` and returns the locked sources that
/// `pick` keeps.
fn built_then(pool: &Pool, pick: impl Fn(&str) -> bool) -> (std::path::PathBuf, Vec<String>) {
    let recipe = pool.recipe(&body());
    pool.cmd()
        .args(["build", "-q", "--recipe"])
        .arg(&recipe)
        .assert()
        .success();
    let sources = locked(pool)
        .into_iter()
        .map(|(_, source, _)| source)
        .filter(|s| pick(s))
        .collect();
    (recipe, sources)
}

/// The skipped files a `--json` build reports as `changed`: (path, message).
fn changed(report: &serde_json::Value) -> Vec<(String, String)> {
    report["pool"]["issues"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "changed")
        .map(|i| {
            let field = |k: &str| i[k].as_str().unwrap().to_owned();
            (field("path"), field("message"))
        })
        .collect()
}

#[test]
fn a_chosen_source_rewritten_after_it_was_measured_is_replaced_by_another() {
    let pool = Pool::standard();
    let (recipe, day) = built_then(&pool, |s| s.contains("/day/"));
    let source = &day[0];
    // Rewritten in place, same size and modification time: the cache (keyed
    // by both) still holds the old measurement.
    let path = pool.join(source);
    let meta = std::fs::metadata(&path).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid..mid + 16].reverse();
    bytes[mid] ^= 0x55;
    std::fs::write(&path, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(meta.modified().unwrap())
        .unwrap();
    let report = json_of(
        pool.cmd()
            .args(["build", "--json", "--force", "--recipe"])
            .arg(&recipe),
    );
    assert_eq!(report["status"], "ok", "{report}");
    assert_eq!(
        changed(&report),
        [(source.clone(), "changed after it was measured".to_owned())]
    );
    let rows = locked(&pool);
    assert_eq!(rows.len(), 30);
    assert!(rows.iter().all(|(_, s, _)| s != source), "{rows:?}");
    assert_set_matches_its_manifest(&pool);
}

#[test]
fn a_chosen_source_deleted_after_it_was_measured_leaves_the_set_and_its_slot_is_refilled() {
    let pool = Pool::standard();
    let (recipe, night) = built_then(&pool, |s| s.contains("/night/"));
    let source = night[0].clone();
    let mut cmd = pool.spawnable();
    cmd.args(["build", "--json", "--force", "--export", "list", "--recipe"])
        .arg(&recipe);
    let out = paused_before_writing(cmd, || std::fs::remove_file(pool.join(&source)).unwrap());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        changed(&report),
        [(source.clone(), "deleted after it was measured".to_owned())]
    );
    let rows = locked(&pool);
    assert_eq!(rows.len(), 30);
    assert_eq!(
        rows.iter()
            .filter(|(_, s, _)| s.contains("/night/"))
            .count(),
        night.len(),
        "the night quota is filled from another night frame"
    );
    assert!(rows.iter().all(|(_, s, _)| s != &source));
    assert_set_matches_its_manifest(&pool);
}

#[test]
fn chosen_sources_deleted_beyond_what_the_pool_can_refill_end_in_a_shortfall_that_keeps_the_set() {
    let pool = Pool::standard();
    let (recipe, _) = built_then(&pool, |_| true);
    let before = std::fs::read(pool.join("out/manifest.csv")).unwrap();
    // The set takes 6 of the 12 empty frames; with 7 gone, 5 are left.
    let empty: Vec<String> = (1..=3)
        .flat_map(|c| (0..4).map(move |k| format!("frames/cam{c}/empty/{k:04}.jpg")))
        .collect();
    let mut cmd = pool.spawnable();
    cmd.args(["build", "--json", "--force", "--recipe"])
        .arg(&recipe);
    let out = paused_before_writing(cmd, || {
        for source in &empty[..7] {
            std::fs::remove_file(pool.join(source)).unwrap();
        }
    });
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "shortfall", "{report}");
    // Decided anew on the changed pool: the shortfall's largest total and the
    // stability check are the final choice's, not the first plan's.
    assert!(report["max_total"].is_object(), "{report}");
    let gone = changed(&report);
    assert!(!gone.is_empty(), "{report}");
    assert!(
        gone.iter()
            .all(|(p, m)| empty[..7].contains(p) && m == "deleted after it was measured")
    );
    assert_eq!(
        std::fs::read(pool.join("out/manifest.csv")).unwrap(),
        before
    );
    assert_eq!(pool.leftovers(), Vec::<String>::new());
}

#[cfg(unix)]
#[test]
fn fifos_and_symlink_loops_named_like_images_are_reported_not_read() {
    let pool = Pool::standard();
    crate::fixture::mkfifo(&pool.join("frames/cam1/day/pipe.jpg"));
    std::os::unix::fs::symlink("loop.jpg", pool.join("frames/cam2/day/loop.jpg")).unwrap();
    let recipe = pool.recipe_with_sources(&body(), "follow_symlinks = true");
    let report = json_of(
        pool.cmd()
            .args(["build", "--dry-run", "--json", "--recipe"])
            .arg(&recipe),
    );
    let issues = &report["pool"]["issues"];
    let find = |path: &str| {
        issues
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["path"] == path)
            .unwrap_or_else(|| panic!("{path} not reported: {issues}"))
            .clone()
    };
    let pipe = find("frames/cam1/day/pipe.jpg");
    assert_eq!(pipe["kind"], "walk");
    assert_eq!(
        pipe["message"],
        "not a regular file (it is a FIFO): not read"
    );
    let looped = find("frames/cam2/day/loop.jpg");
    let message = looped["message"].as_str().unwrap();
    assert!(message.starts_with("a symlink that loops"), "{message}");
    assert!(
        !message.contains(pool.path().to_str().unwrap()),
        "{message}"
    );
}

#[test]
fn a_manifest_path_with_control_bytes_is_printed_escaped() {
    let pool = Pool::standard();
    pool.write(
        "m.csv",
        b"path,bucket\nframes/cam1/day/x\0y.jpg,normal\nframes/cam1/day/bell\x07.jpg,normal\n",
    );
    let recipe = pool.recipe_with_sources(&body(), "manifest = \"m.csv\"");
    let out = pool
        .cmd()
        .args(["build", "--dry-run", "--recipe"])
        .arg(&recipe)
        .output()
        .unwrap();
    let all = [out.stdout, out.stderr].concat();
    assert!(
        !all.contains(&0) && !all.contains(&7),
        "a control byte printed raw"
    );
    let text = String::from_utf8(all).unwrap();
    assert!(text.contains("frames/cam1/day/x%00y.jpg"), "{text}");
    assert!(text.contains("frames/cam1/day/bell%07.jpg"), "{text}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_cache_write_past_the_file_size_limit_names_the_cause() {
    let pool = Pool::standard();
    let recipe = pool.recipe(&body());
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -f 8 && exec '{}' build --dry-run --recipe '{}'",
            env!("CARGO_BIN_EXE_calibset"),
            recipe.display()
        ))
        .current_dir(pool.path())
        .env("CALIBSET_CACHE_DIR", pool.join(".cache"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("cannot write: File too large"),
        "the cache warning names EFBIG: {stderr}"
    );
    assert!(!stderr.contains("serialize buffer"), "{stderr}");
}

#[test]
fn check_refuses_an_output_folder_that_build_refuses() {
    let pool = Pool::standard();
    for out in ["frames", "frames/cam1/day/0001.jpg", "stills/sets"] {
        let recipe = pool.recipe(&format!("{SET_OF_30}\n[output]\ndir = \"{out}\"\n"));
        for command in ["check", "build"] {
            pool.cmd()
                .args([command, "--recipe"])
                .arg(&recipe)
                .assert()
                .code(2)
                .stderr(contains("overlaps source root"));
        }
    }
    assert!(!pool.join("stills/sets").exists());
}
