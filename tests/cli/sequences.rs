//! Frame sequences and videos through the binary.

use predicates::prelude::*;
use predicates::str::contains;

use crate::fixture::{Pool, csv_rows, ffmpeg_available, json_of, scene, video};

/// Source paths of the chosen images (`out/manifest.csv`), sorted.
fn chosen_sources(pool: &Pool) -> Vec<String> {
    let mut chosen: Vec<String> = csv_rows(&pool.join("out/manifest.csv"))
        .into_iter()
        .map(|r| r[1].clone())
        .collect();
    chosen.sort();
    chosen
}

const BASE: &str = r#"
[sources]
roots = ["frames"]
[camera]
from = "frames/{camera}/**"
[[rules]]
match = "**"
bucket = "normal"
[output]
dir = "out"
"#;

#[test]
fn samples_one_frame_per_second_at_the_given_fps() {
    let pool = Pool::empty();
    // 30 frames at 10 fps of a slowly panning scene (distinct to the last byte).
    for k in 0..30 {
        pool.image(
            &format!("frames/cam1/{k:06}.jpg"),
            &scene(42, k as f32 * 1.5, 96, 72),
        );
    }
    let recipe = format!(
        "total = 3\nsplit = {{ normal = 1 }}\n[sequences]\nevery = \"1s\"\nfps = 10\nconsecutive = false\n{BASE}"
    );
    std::fs::write(pool.join("r.toml"), recipe).unwrap();
    let report = json_of(pool.cmd().args(["build", "--json", "--recipe", "r.toml"]));
    assert_eq!(report["sequences"]["frames"], 30);
    assert_eq!(report["sequences"]["not_sampled"], 27);
    let chosen = chosen_sources(&pool);
    assert_eq!(
        chosen,
        [
            "frames/cam1/000000.jpg",
            "frames/cam1/000010.jpg",
            "frames/cam1/000020.jpg"
        ]
    );
}

#[test]
fn a_recipe_declares_sequences_whose_files_carry_no_number() {
    let pool = Pool::empty();
    // 30 frames at 10 fps named in frame order without numbers (`ka.jpg`, `kb.jpg`…),
    // beside three numbered stills the recipe does not declare a sequence.
    let name = |k: u8| format!("{}{}", (b'k' + k / 26) as char, (b'a' + k % 26) as char);
    for k in 0..30u8 {
        pool.image(
            &format!("frames/cam1/{}.jpg", name(k)),
            &scene(42, f32::from(k) * 1.5, 96, 72),
        );
    }
    for k in 0..3 {
        pool.image(&format!("frames/stills/{k:06}.jpg"), &scene(k, 0.0, 96, 72));
    }
    let recipe = format!(
        "total = 6\nsplit = {{ normal = 1 }}\n[sequences]\nmatch = \"frames/cam*/**\"\nevery = \"1s\"\nfps = 10\nconsecutive = false\n{BASE}"
    );
    std::fs::write(pool.join("r.toml"), recipe).unwrap();
    let report = json_of(pool.cmd().args(["build", "--json", "--recipe", "r.toml"]));
    assert_eq!(report["sequences"]["sequences"], 1);
    assert_eq!(report["sequences"]["frames"], 30);
    assert_eq!(report["sequences"]["not_sampled"], 27);
    let chosen = chosen_sources(&pool);
    let mut expected: Vec<String> = [0, 10, 20]
        .iter()
        .map(|&k| format!("frames/cam1/{}.jpg", name(k)))
        .chain((0..3).map(|k| format!("frames/stills/{k:06}.jpg")))
        .collect();
    expected.sort();
    assert_eq!(chosen, expected);
}

#[test]
fn videos_become_timed_frame_sequences_extracted_once() {
    if !ffmpeg_available() {
        return;
    }
    let pool = Pool::empty();
    std::fs::create_dir_all(pool.join("frames/camv")).unwrap();
    let status = std::process::Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=96x72:rate=10",
            "-t",
            "4.2",
        ])
        .args(["-pix_fmt", "yuv420p"])
        .arg(pool.join("frames/camv/clip.mp4"))
        .status()
        .unwrap();
    assert!(status.success());
    let recipe = format!(
        "total = 5\nsplit = {{ normal = 1 }}\n[sequences]\nevery = \"1s\"\n[dedup]\nmax_distance = 0\n{BASE}"
    );
    std::fs::write(pool.join("r.toml"), recipe).unwrap();
    let run = |extra: &[&str]| {
        let out = pool
            .cmd()
            .args(["build", "--json", "--force", "--recipe", "r.toml"])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let first = run(&[]);
    assert_eq!(first["pool"]["videos"], 1);
    assert_eq!(first["pool"]["video_frames"], 5);
    let rows = csv_rows(&pool.join("out/manifest.csv"));
    let mut times: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (r[1].clone(), r[2].clone(), r[7].clone()))
        .collect();
    times.sort();
    let want: Vec<(String, String, String)> = (0..5)
        .map(|t| {
            (
                "frames/camv/clip.mp4".into(),
                format!("{t}.000"),
                "camv".into(),
            )
        })
        .collect();
    assert_eq!(times, want);
    let file = pool.join("out").join(&rows[0][0]);
    assert!(!file.symlink_metadata().unwrap().file_type().is_symlink());
    // Second run: frames come from the frame cache and their features from the cache.
    let second = run(&["--mode", "symlink"]);
    assert_eq!(second["measure"]["decoded"], 0);
    let file = pool.join("out").join(&rows[0][0]);
    assert!(
        !file.symlink_metadata().unwrap().file_type().is_symlink(),
        "video frames are always copied"
    );
}

#[test]
fn a_missing_ffmpeg_says_how_to_install_it() {
    let pool = Pool::empty();
    pool.write("frames/camv/clip.mp4", b"not really a video");
    let recipe = format!(
        "total = 1\nsplit = {{ normal = 1 }}\n[video]\nffmpeg = \"/nonexistent/ffmpeg\"\n{BASE}"
    );
    std::fs::write(pool.join("r.toml"), recipe).unwrap();
    pool.cmd()
        .args(["build", "--recipe", "r.toml"])
        .assert()
        .code(2)
        .stderr(contains("calibset: error:").and(contains("install ffmpeg")));
}

#[test]
fn a_broken_video_is_a_reported_issue_not_a_failure() {
    if !ffmpeg_available() {
        return;
    }
    let pool = Pool::empty();
    pool.write("frames/camv/broken.mp4", b"not really a video");
    pool.image("frames/camv/still.jpg", &scene(3, 0.0, 96, 72));
    let recipe = format!("total = 1\nsplit = {{ normal = 1 }}\n{BASE}");
    std::fs::write(pool.join("r.toml"), recipe).unwrap();
    let report = json_of(pool.cmd().args(["build", "--json", "--recipe", "r.toml"]));
    assert_eq!(
        report["pool"]["issues"][0]["path"],
        "frames/camv/broken.mp4"
    );
    assert_eq!(report["pool"]["issues"][0]["kind"], "video");
}

#[test]
fn numbered_dataset_photos_are_stills_and_the_report_says_why() {
    // A COCO-like folder: 28 photos of two sizes with unrelated ids, and a VOC-like
    // folder of one size whose neighbours are unrelated pictures. With 10 fps and one frame a
    // second, the old heuristic sampled them as video and dropped 25 of 28.
    let pool = Pool::empty();
    let ids = [
        139u64, 285, 632, 724, 776, 785, 802, 872, 885, 1000, 1268, 1296, 1353, 1425, 1490, 1503,
        1532, 1584, 1675, 1761, 1818, 1993, 2006, 2149, 2153, 2157, 2261, 2299,
    ];
    for (k, id) in ids.iter().enumerate() {
        let (w, h) = if k % 3 == 0 { (72, 96) } else { (96, 72) };
        pool.image(&format!("frames/coco/{id:012}.jpg"), &scene(*id, 0.0, w, h));
    }
    for id in [8u64, 15, 19, 21, 28, 33, 42, 43, 53, 61] {
        pool.image(
            &format!("frames/voc/2008_{id:06}.jpg"),
            &scene(id + 7, 0.0, 96, 72),
        );
    }
    let recipe = format!(
        "total = 38\nsplit = {{ normal = 1 }}\n[sequences]\nevery = \"1s\"\nfps = 10\n{BASE}"
    );
    std::fs::write(pool.join("r.toml"), recipe).unwrap();
    let report = json_of(pool.cmd().args(["build", "--json", "--recipe", "r.toml"]));
    assert_eq!(
        report["sequences"]["sequences"], 0,
        "{}",
        report["sequences"]
    );
    assert_eq!(report["sequences"]["not_sampled"], 0);
    let stills = &report["sequences"]["stills"];
    assert_eq!(stills[0]["folder"], "frames/coco");
    assert_eq!(stills[0]["reason"], "sizes");
    assert_eq!(stills[1]["folder"], "frames/voc");
    assert_eq!(stills[1]["reason"], "unalike");
    assert_eq!(chosen_sources(&pool).len(), 38);
    pool.cmd()
        .args(["build", "--dry-run", "--recipe", "r.toml"])
        .assert()
        .success()
        .stdout(contains("2 folders of numbered images taken as stills"))
        .stdout(contains("frames/coco (sizes differ)"));
}

#[test]
fn frames_saved_at_a_step_with_gaps_are_still_a_sequence() {
    // Every fifth frame of a 10 fps panning clip, two of them deleted, and one
    // resized copy among them: nine in ten of one size, neighbours alike.
    let pool = Pool::empty();
    for k in (0..150).step_by(5).filter(|k| ![35, 90].contains(k)) {
        pool.image(
            &format!("frames/cam1/{k:06}.jpg"),
            &scene(42, k as f32 * 0.3, 96, 72),
        );
    }
    pool.image("frames/cam1/000036.jpg", &scene(42, 10.8, 48, 36));
    let recipe = format!(
        "total = 5\nsplit = {{ normal = 1 }}\n[sequences]\nevery = \"3s\"\nfps = 10\nconsecutive = false\n{BASE}"
    );
    std::fs::write(pool.join("r.toml"), recipe).unwrap();
    let report = json_of(pool.cmd().args(["build", "--json", "--recipe", "r.toml"]));
    let found = &report["sequences"]["found"][0];
    assert_eq!(found["key"], "frames/cam1");
    assert_eq!(found["basis"]["kind"], "numbered");
    assert_eq!(found["basis"]["width"], 96);
    assert!(found["basis"]["alike_percent"].as_u64().unwrap() >= 25);
    assert_eq!(
        report["sequences"]["frames"], 28,
        "the resized copy is no frame"
    );
    // 15 s at one frame per 3 s: 5 of the 28 frames kept.
    assert_eq!(report["sequences"]["not_sampled"], 23);
}

#[test]
fn a_camera_captured_from_a_video_name_drops_the_extension_and_build_and_audit_count_alike() {
    if !ffmpeg_available() {
        return;
    }
    let pool = Pool::empty();
    video(&pool, "cams/site3_front_left.mp4", "testsrc");
    video(&pool, "cams/site3_front_right.mp4", "testsrc2");
    pool.image("cams/still.jpg", &scene(5, 0.0, 96, 72));
    pool.write(
        "r.toml",
        br#"
total = 4
split = { normal = 1 }
[sources]
roots = ["cams"]
[sequences]
every = "1s"
[camera]
from = "cams/{camera}.mp4/**"
[[rules]]
match = "**"
bucket = "normal"
[output]
dir = "out"
"#,
    );
    let out = pool
        .cmd()
        .args(["build", "--recipe", "r.toml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("1 images and 4 video frames (from 2 videos) found"),
        "{text}"
    );
    // Full camera names, not `site3…` twice.
    assert!(
        text.contains("site3_front_left") && text.contains("site3_front_right"),
        "{text}"
    );
    assert!(!text.contains(".mp4 "), "{text}");
    let cameras: std::collections::BTreeSet<String> = csv_rows(&pool.join("out/manifest.csv"))
        .iter()
        .map(|r| r[7].clone())
        .collect();
    assert!(cameras.contains("site3_front_left"), "{cameras:?}");
    pool.cmd()
        .args(["audit", "--recipe", "r.toml"])
        .assert()
        .success()
        .stdout(contains(
            "1 images and 4 video frames (from 2 videos) found",
        ));
}

#[test]
fn numbered_frames_no_every_samples_are_counted_and_warned_about() {
    let pool = Pool::empty();
    for k in 0..30 {
        pool.image(
            &format!("frames/cam1/{k:06}.jpg"),
            &scene(42, k as f32 * 1.5, 96, 72),
        );
    }
    let run = |sequences: &str| {
        std::fs::write(
            pool.join("r.toml"),
            format!("total = 3\nsplit = {{ normal = 1 }}\n{sequences}\n{BASE}"),
        )
        .unwrap();
        let out = pool
            .cmd()
            .args(["build", "--dry-run", "--json", "--recipe", "r.toml"])
            .output()
            .unwrap();
        assert!(out.status.success());
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (report, String::from_utf8(out.stderr).unwrap())
    };
    let (report, stderr) = run("");
    assert_eq!(report["sequences"]["unsampled_sequences"], 1);
    assert_eq!(report["sequences"]["unsampled_frames"], 30);
    assert!(
        stderr.contains("1 frame sequence(s) of 30 frames were not sampled by time")
            && stderr.contains("sequences.every"),
        "{stderr}"
    );
    let (report, stderr) = run("[sequences]\nevery = \"1s\"\nfps = 10");
    assert_eq!(report["sequences"]["unsampled_frames"], 0);
    assert!(!stderr.contains("not sampled by time"), "{stderr}");
}
