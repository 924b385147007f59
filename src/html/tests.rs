//! Tests: encodings, the rendered page's content and, when Chromium is
//! installed, a headless screenshot of it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::encode::Esc;
use super::fixture::{fixture, image};
use super::*;
use crate::report::Status;

#[test]
fn base64_matches_rfc4648_vectors() {
    let cases: [(&[u8], &str); 8] = [
        (b"", ""),
        (b"f", "Zg=="),
        (b"fo", "Zm8="),
        (b"foo", "Zm9v"),
        (b"foob", "Zm9vYg=="),
        (b"fooba", "Zm9vYmE="),
        (b"foobar", "Zm9vYmFy"),
        (&[0xFF, 0xFE, 0xFD, 0x00, 0x3E, 0x3F], "//79AD4/"),
    ];
    for (input, want) in cases {
        assert_eq!(STANDARD.encode(input), want, "base64 of {input:?}");
    }
}

#[test]
fn escape_covers_markup_and_quotes_and_keeps_unicode() {
    let cases = [
        ("plain", "plain"),
        ("a<b>&c", "a&lt;b&gt;&amp;c"),
        ("\"q\" 'a'", "&quot;q&quot; &#39;a&#39;"),
        ("caméra/夜/ü.jpg", "caméra/夜/ü.jpg"),
        ("&amp;", "&amp;amp;"),
        ("", ""),
    ];
    for (input, want) in cases {
        assert_eq!(Esc(input).to_string(), want, "escape of {input:?}");
    }
}

#[test]
fn largest_groups_are_ordered_and_capped() {
    let q = Quality::default();
    let mut images: Vec<HtmlImage> = (0..30)
        .map(|i| HtmlImage {
            kept: i,
            ..image(
                PathBuf::from("/nonexistent"),
                &format!("p{i:02}.jpg"),
                Bucket::Normal,
                "not-chosen",
                q,
            )
        })
        .collect();
    // Group of 3 kept by 0, group of 14 kept by 5, a bad index counts as itself.
    for i in [1, 2] {
        images[i].kept = 0;
    }
    for img in &mut images[6..19] {
        img.kept = 5;
    }
    images[20].kept = 999;
    let groups = largest_groups(&images, 12);
    assert_eq!(groups.len(), 2);
    assert_eq!(
        (groups[0].kept, groups[0].size, groups[0].shown.len()),
        (5, 14, GROUP_MEMBERS_SHOWN)
    );
    assert_eq!(groups[0].shown[0], 5);
    assert_eq!(
        (groups[1].kept, groups[1].size, groups[1].shown.clone()),
        (0, 3, vec![0, 1, 2])
    );
    assert_eq!(largest_groups(&images, 1).len(), 1);
}

#[test]
fn short_numbers_keep_two_significant_digits() {
    let cases = [
        (0.0, "0"),
        (0.031_62, "0.032"),
        (0.25, "0.25"),
        (1.0, "1"),
        (3.162, "3.2"),
        (120.4, "120"),
    ];
    for (v, want) in cases {
        assert_eq!(charts::short_number(v), want);
    }
}

#[test]
fn render_shows_every_section_with_thumbnails_and_escaped_text() {
    let dir = tempfile::tempdir().unwrap();
    let (report, images) = fixture(dir.path(), Status::Shortfall);
    let input = HtmlInput {
        title: "Report <ADAS & co>".into(),
        report: &report,
        images: &images,
        groups: 12,
        limits: crate::decode::Limits::default(),
    };
    let page = render(&input);

    assert!(page.starts_with("<!DOCTYPE html>"), "{}", &page[..80]);
    assert!(page.ends_with("</html>\n"));
    for id in [
        "summary",
        "chosen",
        "duplicates",
        "distributions",
        "labels",
        "cameras",
        "skipped",
    ] {
        assert!(
            page.contains(&format!("<section id=\"{id}\">")),
            "section {id} missing"
        );
    }
    // Status and shortfall lines.
    assert!(page.contains("✕ Shortfall"));
    assert!(page.contains("The pool cannot fill this recipe"));
    assert!(page.contains("bucket hard, tag night: wanted 5, filled 2"));
    // Thumbnails: every chosen image and group member that exists is embedded.
    let uris = page.matches("src=\"data:image/jpeg;base64,/9j/").count();
    let readable = |i: &usize| images[*i].path.exists();
    let in_sheets = (0..images.len())
        .filter(|i| images[*i].is_chosen())
        .filter(readable)
        .count();
    let in_groups: usize = largest_groups(&images, 12)
        .iter()
        .map(|g| g.shown.iter().filter(|i| readable(i)).count())
        .sum();
    assert_eq!(uris, in_sheets + in_groups);
    assert!(uris > 30, "only {uris} thumbnails");
    // The missing file gets a placeholder, never an error.
    assert!(page.contains("<div class=\"ph\">no preview</div>"));
    // The kept marker and the other members' statuses.
    assert!(page.contains("class=\"badge kept\">kept · chosen</span>"));
    assert!(page.contains("class=\"badge near-duplicate\">near-duplicate</span>"));
    assert!(page.contains("class=\"badge exact-duplicate\">exact-duplicate</span>"));
    assert!(page.contains("class=\"tile b-normal kept\""));
    // Escaping of title, paths, tags and issues; nothing raw leaks through.
    assert!(page.contains("<title>Report &lt;ADAS &amp; co&gt;</title>"));
    assert!(page.contains("we&lt;ird&gt; &amp; &quot;q&quot; été.jpg"));
    assert!(page.contains("bad&lt;file&gt;.jpg"));
    assert!(!page.contains("we<ird>"));
    assert!(!page.contains("bad<file>"));
    // Charts, cameras, cache.
    assert_eq!(page.matches("<svg viewBox").count(), 3);
    assert!(page.contains("<rect class=\"chosen\""));
    assert!(page.contains("<td>cam&amp;1</td>"));
    assert!(page.contains("from cache"));
    assert!(
        page.contains("<td class=\"num\">12.0%</td>"),
        "stability difference"
    );
    assert!(page.contains("R p99.9: too few images"));
    // No external resources.
    for bad in ["http://", "https://", "<script src", "<link"] {
        assert!(!page.contains(bad), "page references {bad}");
    }
    // Deterministic.
    assert_eq!(page, render(&input));
}

#[test]
fn label_tables_count_pool_distinct_and_chosen_images() {
    let dir = tempfile::tempdir().unwrap();
    let (report, mut images) = fixture(dir.path(), Status::Ok);
    // Images 0–2 are chosen, 3 is not; a near duplicate carries the class too.
    let dup = (0..images.len())
        .find(|&i| images[i].status == ImageStatus::NearDuplicate)
        .unwrap();
    for i in [0, 1, 2, 3, dup] {
        images[i].classes = vec!["car".into(), "car".into()];
    }
    images[1].classes.push("bus<1>".into());
    let counts = labels::label_counts(&images, |i| &i.classes);
    let count = |pool, distinct, chosen| labels::LabelCount {
        pool,
        distinct,
        chosen,
    };
    assert_eq!(counts["car"], count(5, 4, 3));
    assert_eq!(counts["bus<1>"], count(1, 1, 1));
    assert_eq!(counts.len(), 2);
    let page = render(&HtmlInput {
        title: "labels".into(),
        report: &report,
        images: &images,
        groups: 12,
        limits: crate::decode::Limits::default(),
    });
    let section = &page[page.find("<section id=\"labels\">").unwrap()..];
    let section = &section[..section.find("</section>").unwrap()];
    for table in ["Tags", "Classes", "Measured tags"] {
        assert!(section.contains(&format!("<h3>{table} <span")), "{table}");
    }
    assert!(section.contains(
        "<tr><td>car</td><td class=\"num\">5</td><td class=\"num\">4</td><td class=\"num\">3</td>"
    ));
    assert!(section.contains("<td>bus&lt;1&gt;</td>"));
    assert!(section.contains("<td>auto:dark</td>"));
    // Without classes there is no class table.
    images.iter_mut().for_each(|i| i.classes.clear());
    let page = render(&HtmlInput {
        title: "labels".into(),
        report: &report,
        images: &images,
        groups: 12,
        limits: crate::decode::Limits::default(),
    });
    assert!(!page.contains("<h3>Classes <span"));
}

#[test]
fn build_and_audit_pages_say_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let (report, images) = fixture(dir.path(), Status::Ok);
    let input = HtmlInput {
        title: "calibset audit — adas-1000".into(),
        report: &report,
        images: &images,
        groups: 12,
        limits: crate::decode::Limits::default(),
    };
    let audit = render_audit(&input);
    assert!(audit.contains("<title>calibset audit — adas-1000</title>"));
    assert!(audit.contains("<div class=\"eyebrow\">calibset · pool audit</div>"));
    assert!(!audit.contains("calibration set report"));
    let build = render(&input);
    assert!(build.contains("<div class=\"eyebrow\">calibset · calibration set report</div>"));
}

#[test]
fn duplicate_groups_fold_after_the_first_ones_and_say_why_members_went() {
    let dir = tempfile::tempdir().unwrap();
    let (report, mut images) = fixture(dir.path(), Status::Ok);
    // Three more groups of two: six in all.
    for (kept, member) in [(1, 2), (5, 6), (9, 10)] {
        images[member].kept = kept;
        images[member].status = ImageStatus::NearDuplicate;
    }
    let page = render(&HtmlInput {
        title: "groups".into(),
        report: &report,
        images: &images,
        groups: 12,
        limits: crate::decode::Limits::default(),
    });
    assert_eq!(
        page.matches("<details class=\"card group\" open>").count(),
        GROUPS_OPEN
    );
    assert_eq!(
        page.matches("<details class=\"card group\">").count(),
        6 - GROUPS_OPEN
    );
    // The largest group (kept by image 0, seven others) says why they went.
    assert!(page.contains(
        "<span class=\"why\">2 consecutive-duplicate, 2 exact-duplicate, 2 near-duplicate, 1 not-sampled</span>"
    ));
    assert!(page.contains("The first 3 are open"));
    let few = render(&HtmlInput {
        groups: 2,
        ..HtmlInput {
            title: "groups".into(),
            report: &report,
            images: &images,
            groups: 0,
            limits: crate::decode::Limits::default(),
        }
    });
    assert_eq!(
        few.matches("<details class=\"card group\" open>").count(),
        2
    );
    assert!(!few.contains("The first"));
}

#[test]
fn the_slot_legend_names_the_slot_kinds_the_report_has() {
    let dir = tempfile::tempdir().unwrap();
    let (mut report, images) = fixture(dir.path(), Status::Ok);
    let page = render(&input_for("legend", &report, &images));
    let legend = &page[page.find("id=\"slot-legend\"").unwrap()..];
    let legend = &legend[..legend.find("</details>").unwrap()];
    for term in [
        "<dt><code>free</code></dt>",
        "<dt><code>KEY</code>",
        "<dt><code>min:KEY</code></dt>",
        "<dt>camera minimums</dt>",
    ] {
        assert!(legend.contains(term), "{term} missing from {legend}");
    }
    assert!(!legend.contains("class:NAME"));
    report.slots.push(crate::select::SlotFill {
        bucket: Bucket::Normal,
        slot: crate::select::SlotKind::Class("bus".into()),
        wanted: 2,
        filled: 2,
        available: 3,
    });
    report.cameras.iter_mut().for_each(|c| c.min = 0);
    let page = render(&input_for("legend", &report, &images));
    assert!(page.contains("<dt><code>class:NAME</code></dt>"));
    assert!(!page.contains("<dt>camera minimums</dt>"));
    assert!(page.contains("<a href=\"#slot-legend\">Chosen images</a>"));
    // With nothing chosen there are no contact sheets: the legend goes with
    // the slot table.
    let mut none_chosen = images.clone();
    for img in &mut none_chosen {
        if img.is_chosen() {
            img.status = ImageStatus::NotChosen;
        }
    }
    let page = render(&input_for("legend", &report, &none_chosen));
    let summary = &page[..page.find("<section id=\"chosen\">").unwrap()];
    assert!(summary.contains("id=\"slot-legend\""));
    assert!(!page.contains("href=\"#slot-legend\""));
}

#[test]
fn render_handles_an_empty_pool() {
    let dir = tempfile::tempdir().unwrap();
    let (report, _) = fixture(dir.path(), Status::Ok);
    let input = HtmlInput {
        title: "empty".into(),
        report: &report,
        images: &[],
        groups: DEFAULT_GROUPS,
        limits: crate::decode::Limits::default(),
    };
    let page = render(&input);
    assert!(page.contains("✓ OK"));
    assert!(page.contains("No image was chosen."));
    assert!(page.contains("No duplicate groups."));
    assert!(!page.contains("NaN"));
}

#[test]
#[ignore = "needs Chromium at /usr/bin/chromium: cargo test -- --ignored chromium (CI runs it)"]
fn chromium_screenshot_is_not_blank() {
    let Some(chromium) = chromium() else {
        panic!("/usr/bin/chromium not found: install Debian's chromium to run this test");
    };
    let dir = tempfile::tempdir().unwrap();
    let (report, images) = fixture(dir.path(), Status::Ok);
    let input = HtmlInput {
        title: "screenshot".into(),
        report: &report,
        images: &images,
        groups: 12,
        limits: crate::decode::Limits::default(),
    };
    let png = screenshot(&chromium, &render(&input), dir.path());
    let img = image::open(&png).expect("screenshot decodes").into_rgb8();
    assert!(
        img.width() >= 1000 && img.height() >= 1000,
        "{}x{}",
        img.width(),
        img.height()
    );
    let luma: Vec<f64> = img
        .pixels()
        .map(|p| p.0.iter().map(|&c| f64::from(c)).sum::<f64>() / 3.0)
        .collect();
    let mean = luma.iter().sum::<f64>() / luma.len() as f64;
    let var = luma.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / luma.len() as f64;
    assert!(var > 100.0, "screenshot looks blank (variance {var:.1})");
    for (name, accent) in [
        ("normal", [62, 111, 216]),
        ("hard", [217, 130, 43]),
        ("background", [46, 157, 116]),
    ] {
        let near = img
            .pixels()
            .filter(|p| {
                p.0.iter()
                    .zip(accent)
                    .all(|(&c, a)| (i32::from(c) - a).abs() <= 12)
            })
            .count();
        assert!(near >= 50, "only {near} pixels near the {name} accent");
    }
}

/// Writes a realistic page and its screenshot when `CALIBSET_HTML_DEMO` names an
/// output folder: `CALIBSET_HTML_DEMO=/tmp/demo cargo test --lib html -- --ignored`.
#[test]
#[ignore = "writes a demo page; set CALIBSET_HTML_DEMO"]
fn demo_page() {
    let Some(out) = std::env::var_os("CALIBSET_HTML_DEMO").map(PathBuf::from) else {
        return;
    };
    std::fs::create_dir_all(&out).unwrap();
    let (report, images) = fixture(&out, Status::Shortfall);
    let input = HtmlInput {
        title: "adas-1000 calibration set".into(),
        report: &report,
        images: &images,
        groups: 12,
        limits: crate::decode::Limits::default(),
    };
    let page = render(&input);
    std::fs::write(out.join("report.html"), &page).unwrap();
    if let Some(chromium) = chromium() {
        let png = screenshot(&chromium, &page, &out);
        eprintln!("screenshot: {}", png.display());
    }
}

/// The page input of `report` and `images`, 12 groups, default limits.
fn input_for<'a>(title: &str, report: &'a Report, images: &'a [HtmlImage]) -> HtmlInput<'a> {
    HtmlInput {
        title: title.into(),
        report,
        images,
        groups: 12,
        limits: crate::decode::Limits::default(),
    }
}

fn chromium() -> Option<PathBuf> {
    let path = PathBuf::from("/usr/bin/chromium");
    path.exists().then_some(path)
}

/// Screenshots `page` with headless Chromium (killed after 60 s); returns the PNG.
fn screenshot(chromium: &Path, page: &str, dir: &Path) -> PathBuf {
    let html = dir.join("page.html");
    let png = dir.join("page.png");
    let profile = tempfile::tempdir().unwrap();
    std::fs::write(&html, page).unwrap();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1280,2000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().ok();
            child.wait().ok();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(png.exists(), "chromium wrote no screenshot");
    png
}

#[test]
fn captions_keep_both_ends_of_a_long_name_and_a_frame_names_its_clip() {
    assert_eq!(super::caption("frames/cam1/day/0001.jpg"), "0001.jpg");
    assert_eq!(
        super::caption("frames/front/front_20260501_000123_456.jpg"),
        "front_20260…0123_456.jpg"
    );
    assert_eq!(
        super::caption("frames/cam1/clip.mp4/000004.jpg"),
        "clip.mp4/000004.jpg"
    );
    let long = super::caption("v/dashcam_front_2026-05-01_08-00-00.mp4/000004.jpg");
    assert_eq!(long.chars().count(), 24);
    assert!(
        long.starts_with("dashcam_fro") && long.ends_with("4/000004.jpg"),
        "{long}"
    );
}
