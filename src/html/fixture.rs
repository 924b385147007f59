//! Test fixture: a synthetic report and pool of generated JPEGs to render.

use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};

use super::{HtmlImage, Quality};
use crate::dedup::DedupSettings;
use crate::dedup::ImageStatus;
use crate::inventory::{Issue, IssueKind};
use crate::label::{Bucket, PerBucket};
use crate::report::{
    CompositionRow, DedupSummary, GroupSummary, MaxTotal, MeasureSummary, PoolSummary, Report,
    Status,
};
use crate::select::{CameraFill, Shortfall, SlotFill, SlotKind};
use crate::stability::{Stability, StatRow};

/// A pool image with no tags, camera or slot, kept by image 0.
pub(super) fn image(
    path: PathBuf,
    rel: &str,
    bucket: Bucket,
    status: &'static str,
    quality: Quality,
) -> HtmlImage {
    HtmlImage {
        path,
        rel: rel.into(),
        bucket: Some(bucket),
        tags: Vec::new(),
        classes: Vec::new(),
        measured: Vec::new(),
        camera: None,
        status: status_named(status),
        slot: None,
        kept: 0,
        quality,
    }
}

/// The status written `name`.
fn status_named(name: &str) -> ImageStatus {
    [
        ImageStatus::Chosen,
        ImageStatus::NotChosen,
        ImageStatus::ExactDuplicate,
        ImageStatus::NearDuplicate,
        ImageStatus::NotSampled,
        ImageStatus::ConsecutiveDuplicate,
    ]
    .into_iter()
    .find(|s| s.as_str() == name)
    .expect("a status name")
}

/// A synthetic street-like scene: sky, ground, a few boxes, noise; `dark` scales
/// brightness, background scenes get a striped texture.
fn scene(seed: u32, bucket: Bucket, dark: f32) -> RgbImage {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
    let mut rnd = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let hue = [rnd() % 120, rnd() % 120, rnd() % 120].map(|v| v as f32);
    let boxes: Vec<[u32; 7]> = (0..(rnd() % 4 + 1))
        .map(|_| {
            [
                rnd() % 260,
                110 + rnd() % 70,
                30 + rnd() % 50,
                20 + rnd() % 40,
                rnd() % 256,
                rnd() % 256,
                rnd() % 256,
            ]
        })
        .collect();
    let horizon = 90 + rnd() % 40;
    RgbImage::from_fn(320, 240, |x, y| {
        let n = (rnd() % 24) as f32 - 12.0;
        let mut c = if y < horizon {
            let t = y as f32 / horizon as f32;
            [
                110.0 + 90.0 * t + hue[0] * 0.2,
                150.0 + 60.0 * t,
                220.0 - 30.0 * t,
            ]
        } else {
            let g = 70.0 + hue[1] * 0.3 + (y - horizon) as f32 * 0.3;
            [g, g + 4.0, g + 8.0]
        };
        if bucket == Bucket::Background && y >= horizon && (x / 8 + y / 8) % 2 == 0 {
            c = [60.0 + hue[2], 120.0 + hue[0] * 0.5, 50.0];
        }
        if bucket != Bucket::Background {
            for b in &boxes {
                if x >= b[0] && x < b[0] + b[2] && y >= b[1] && y < b[1] + b[3] {
                    c = [b[4] as f32, b[5] as f32, b[6] as f32];
                }
            }
        }
        Rgb(c.map(|v| ((v + n) * dark).clamp(0.0, 255.0) as u8))
    })
}

/// A report and ~40 pool images (JPEGs written under `dir`, one missing file,
/// duplicate groups, cameras, tags, a nasty path) for rendering.
pub(super) fn fixture(dir: &Path, status: Status) -> (Report, Vec<HtmlImage>) {
    let cams = ["cam01", "cam02", "cam&1"];
    let mut images = Vec::new();
    let plan: [(Bucket, &[&str], usize, f32); 6] = [
        (Bucket::Normal, &[], 14, 1.0),
        (Bucket::Normal, &["rain"], 5, 0.8),
        (Bucket::Hard, &["night"], 6, 0.25),
        (Bucket::Hard, &["lowq"], 4, 0.9),
        (Bucket::Background, &[], 6, 1.0),
        (Bucket::Background, &["texture"], 4, 1.0),
    ];
    for (bucket, tags, n, dark) in plan {
        for k in 0..n {
            let i = images.len();
            let cam = cams[i % 3];
            let rel = format!("frames/{cam}/{}/{:06}.jpg", bucket.as_str(), i * 17);
            let path = dir.join(format!("img{i:03}.jpg"));
            let q = if tags == ["lowq"] {
                20 + 5 * k as u8
            } else {
                70 + (i % 6) as u8 * 5
            };
            let rgb = scene(i as u32, bucket, dark);
            let mut bytes = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, q)
                .encode_image(&rgb)
                .unwrap();
            std::fs::write(&path, bytes).unwrap();
            let quality = crate::features::measure_file(&path, &crate::decode::Limits::default())
                .map(|(f, _)| f.quality)
                .unwrap_or_default();
            let mut img = image(
                path,
                &rel,
                bucket,
                if k % 4 == 3 { "not-chosen" } else { "chosen" },
                quality,
            );
            img.kept = i;
            img.camera = Some(cam.into());
            img.tags = tags.iter().map(|t| t.to_string()).collect();
            img.slot = img
                .is_chosen()
                .then(|| tags.first().map_or("free".to_owned(), |t| t.to_string()));
            if dark < 0.5 {
                img.measured = vec!["auto:dark".into()];
            }
            images.push(img);
        }
    }
    // Duplicate groups: members copy the kept image's pixels (so they look alike).
    let statuses = [
        "near-duplicate",
        "exact-duplicate",
        "consecutive-duplicate",
        "not-sampled",
    ];
    for (kept, count) in [(0usize, 7usize), (14, 3), (19, 4)] {
        for m in 0..count {
            let mut img = images[kept].clone();
            img.rel = format!("{}-dup{m}.jpg", img.rel.trim_end_matches(".jpg"));
            img.status = status_named(statuses[m % statuses.len()]);
            img.slot = None;
            img.kept = kept;
            images.push(img);
        }
    }
    let weird = images.len();
    let mut img = image(
        dir.join("missing.jpg"),
        "stills/we<ird> & \"q\" été.jpg",
        Bucket::Normal,
        "chosen",
        Quality::default(),
    );
    img.kept = weird;
    img.slot = Some("free".into());
    images.push(img);

    let count = |b: Bucket, all: bool| {
        images
            .iter()
            .filter(|i| i.bucket == Some(b) && (all || i.is_chosen()))
            .count()
    };
    let per = |all: bool| PerBucket {
        normal: count(Bucket::Normal, all),
        hard: count(Bucket::Hard, all),
        background: count(Bucket::Background, all),
    };
    let chosen = per(false);
    let report = Report {
        schema_version: crate::schema::SCHEMA_VERSION,
        version: "0.1.0",
        recipe: "adas-1000".into(),
        seed: 7,
        status,
        total: 40,
        pool: PoolSummary {
            scanned: images.len() + 2,
            usable: per(true),
            issues: vec![
                Issue {
                    path: "frames/cam02/bad<file>.jpg".into(),
                    kind: IssueKind::Corrupt,
                    message: "JPEG ended early".into(),
                },
                Issue {
                    path: "stills/empty.png".into(),
                    kind: IssueKind::Empty,
                    message: "file is empty".into(),
                },
            ],
            ..PoolSummary::default()
        },
        measure: Some(MeasureSummary {
            from_cache: 30,
            from_index: 0,
            decoded: 14,
        }),
        sequences: None,
        dedup: DedupSummary {
            settings: DedupSettings::default(),
            exact_removed: 3,
            near_removed: 11,
            candidate_pairs: 212,
            kept: per(true),
            largest_groups: vec![GroupSummary {
                kept: images[0].rel.clone(),
                size: 8,
            }],
        },
        wanted: PerBucket {
            normal: 18,
            hard: 12,
            background: 10,
        },
        slots: vec![
            SlotFill {
                bucket: Bucket::Hard,
                slot: SlotKind::Quota("night".into()),
                wanted: 5,
                filled: 2,
                available: 2,
            },
            SlotFill {
                bucket: Bucket::Background,
                slot: SlotKind::Min("texture".into()),
                wanted: 3,
                filled: 3,
                available: 4,
            },
            SlotFill {
                bucket: Bucket::Normal,
                slot: SlotKind::Free,
                wanted: 18,
                filled: chosen.normal,
                available: 20,
            },
        ],
        chosen,
        cameras: cams
            .iter()
            .map(|c| CameraFill {
                camera: c.to_string(),
                min: 5,
                chosen: 9,
                available: 13,
                set_share: 0.25,
                pool_share: 0.25,
            })
            .collect(),
        no_camera: None,
        spill: Vec::new(),
        shortfall_policy: crate::select::ShortfallPolicy::Fail,
        composition: vec![CompositionRow {
            bucket: Bucket::Hard,
            tags: vec!["night".into()],
            cameras: vec![crate::report::CameraCount {
                camera: Some("cam01".into()),
                chosen: 2,
            }],
        }],
        files: Vec::new(),
        shortfalls: match status {
            Status::Ok => Vec::new(),
            Status::Shortfall => vec![Shortfall::Slot {
                bucket: Bucket::Hard,
                slot: SlotKind::Quota("night".into()),
                wanted: 5,
                filled: 2,
                available: 2,
                tagged: 0,
            }],
        },
        max_total: (status == Status::Shortfall).then_some(MaxTotal {
            total: 31,
            limited_by: Bucket::Hard,
        }),
        topped_up: Vec::new(),
        advice: None,
        tensor: None,
        model: None,
        exports: Vec::new(),
        resaves: None,
        output: None,
        warnings: Vec::new(),
        stability: Some(Stability {
            halves: (16, 16),
            threshold: 0.10,
            rows: vec![StatRow {
                channel: "R",
                stat: "p99.9",
                half_a: 231.0,
                half_b: 204.0,
                pool: 229.0,
                halves: 0.12,
                vs_pool: 0.1,
            }],
            flagged: vec!["R p99.9".into()],
        }),
    };
    (report, images)
}
