use std::path::Path;

use super::*;
use crate::bucket::Labeller;
use crate::dedup::{Scope, Threshold};
use crate::features::Quality;
use crate::label::{Origin, PerBucket};
use crate::manifest::Manifest;

fn parse(text: &str) -> Result<Recipe, RecipeError> {
    Recipe::parse(Path::new("pool/r.toml"), text)
}

fn problems(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("recipe should be invalid:\n{text}"),
        Err(e) => e.to_string(),
    }
}

const ISSUE_EXAMPLE: &str = r#"
name = "adas-1000"
seed = 7
total = 1000
split = { normal = 6, hard = 2, background = 2 }   # weights; or per-bucket `count`

[sources]                          # this recipe sits beside the data
roots = ["frames", "stills"]
manifest = "manifest.csv"          # optional: path,bucket,tags,camera (+ more later)

[camera]
from = "frames/{camera}/**"        # path capture that names the camera
min = 15                           # each camera contributes at least this many

[dedup]
similarity = 0.98                  # near-duplicate when pHash similarity >= this

[[rules]]                          # first match wins; manifest rows take precedence
match = "**/night/**"
bucket = "hard"
tags = ["night"]

[[rules]]
match = "**/empty/**"
bucket = "background"

[buckets.hard.quota]               # exact counts per tag inside a bucket
night = 50
lowq = 50

[buckets.background.min]           # minimums per tag inside a bucket
texture = 15

[output]
dir = "../calib/adas-1000"
mode = "copy"
layout = "by-bucket"               # by-bucket | flat | mirror
"#;

#[test]
fn the_documented_example_parses() {
    let r = parse(ISSUE_EXAMPLE).unwrap();
    assert_eq!(r.name, "adas-1000");
    assert_eq!((r.seed, r.total), (7, 1000));
    assert_eq!(
        (
            r.buckets.normal.count,
            r.buckets.hard.count,
            r.buckets.background.count
        ),
        (600, 200, 200)
    );
    assert_eq!(r.buckets.hard.quota["night"], 50);
    assert_eq!(r.buckets.hard.free(), 100);
    assert_eq!(r.buckets.background.min["texture"], 15);
    assert_eq!(r.camera.min, 15);
    assert_eq!(r.dedup.threshold, Threshold::Similarity(0.98));
    assert_eq!(r.dedup.scope, Scope::Tags);
    assert_eq!(r.rules.len(), 2);
    assert_eq!(r.rules[0].bucket, Some(Bucket::Hard));
    assert!(r.base_dir.is_absolute());
    assert!(r.sources.roots[0].ends_with("pool/frames"));
    assert!(r.output.dir.as_ref().unwrap().ends_with("calib/adas-1000"));
    assert_eq!(r.output.layout, Layout::ByBucket);
}

#[test]
fn split_rounds_by_largest_remainder() {
    let cases = [
        (1000, [6.0, 2.0, 2.0], [600, 200, 200]),
        (800, [6.0, 2.0, 2.0], [480, 160, 160]),
        (1200, [65.0, 20.0, 15.0], [780, 240, 180]),
        (10, [1.0, 1.0, 1.0], [4, 3, 3]),
        (7, [0.0, 1.0, 1.0], [0, 4, 3]),
        (301, [6.0, 2.0, 2.0], [181, 60, 60]),
    ];
    for (total, [n, h, b], want) in cases {
        let w = PerBucket {
            normal: n,
            hard: h,
            background: b,
        };
        let got = validate::largest_remainder(total, &w);
        assert_eq!(
            [got.normal, got.hard, got.background],
            want,
            "{total} @ {n}:{h}:{b}"
        );
    }
}

#[test]
fn explicit_counts_need_no_split() {
    let r = parse(
        "[sources]\nroots = ['a']\n[buckets.normal]\ncount = 720\n[buckets.hard]\ncount = 240\n[buckets.background]\ncount = 240\n[buckets.background.min]\nlowq = 80\n",
    )
    .unwrap();
    assert_eq!(r.total, 1200);
    assert_eq!(r.buckets.background.min["lowq"], 80);
}

#[test]
fn syntax_error_names_line_and_column() {
    insta::assert_snapshot!(problems("total = 10\nsplit = { normal = 1 \n"), @r#"
    invalid recipe pool/r.toml (1 problem)
      pool/r.toml:2:21: syntax: unclosed inline table, expected `}`
    "#);
}

#[test]
fn every_syntax_and_type_problem_is_reported_at_once() {
    insta::assert_snapshot!(problems("total = 10\nsplit = { normal = 6 hard = 2 }\n[sources\nroots = ['a']\nx = = 3\n"), @r#"
    invalid recipe pool/r.toml (3 problems)
      pool/r.toml:2:20: syntax: string values must be quoted, expected literal string
      pool/r.toml:3:9: syntax: unclosed table, expected `]`
      pool/r.toml:5:5: syntax: extra `=`, expected nothing
    "#);
    let text = "total = '800'\nseed = 1.5\nsplit = { normal = 6, hard = 'x' }\n[sources]\nroots = ['a', 3]\nfollow = true\n[dedup]\nscope = 'galaxy'\n[[rules]]\nmatch = '**'\nbucket = 'hrad'\n";
    insta::assert_snapshot!(problems(text), @r#"
    invalid recipe pool/r.toml (7 problems)
      pool/r.toml:1:9: total: invalid type: string "800", expected an integer
      pool/r.toml:2:8: seed: invalid type: floating point `1.5`, expected an integer
      pool/r.toml:3:30: split.hard: invalid type: string "x", expected a number
      pool/r.toml:5:15: sources.roots[1]: invalid type: integer `3`, expected a string
      pool/r.toml:6:1: sources.follow: unknown field `follow`, expected one of `roots`, `manifest`, `exclude`, `allow_outside`, `follow_symlinks`
      pool/r.toml:8:9: dedup.scope: unknown variant `galaxy`, expected one of `global`, `bucket`, `tags`, `camera`, `sequence`
      pool/r.toml:11:10: rules[0].bucket: unknown variant `hrad`, expected one of `normal`, `hard`, `background`; did you mean `hard`?
    "#);
}

#[test]
fn unknown_key_is_named_with_its_table() {
    insta::assert_snapshot!(problems("total = 10\nsplit = { normal = 1 }\n[sources]\nroots = ['a']\nmanifets = 'm.csv'\n"), @r#"
    invalid recipe pool/r.toml (1 problem)
      pool/r.toml:5:1: sources.manifets: unknown field `manifets`, expected one of `roots`, `manifest`, `exclude`, `allow_outside`, `follow_symlinks`; did you mean `manifest`?
    "#);
}

#[test]
fn wrong_type_and_unknown_enum_values() {
    insta::assert_snapshot!(problems("total = 'ten'\n[sources]\nroots = ['a']\n"), @r#"
    invalid recipe pool/r.toml (1 problem)
      pool/r.toml:1:9: total: invalid type: string "ten", expected an integer
    "#);
    insta::assert_snapshot!(problems("total = 10\nsplit = { normal = 1 }\n[sources]\nroots = ['a']\n[[rules]]\nmatch = '**'\nbucket = 'hrd'\n"), @r#"
    invalid recipe pool/r.toml (1 problem)
      pool/r.toml:7:10: rules[0].bucket: unknown variant `hrd`, expected one of `normal`, `hard`, `background`; did you mean `hard`?
    "#);
    insta::assert_snapshot!(problems("total = 10\nsplit = { normal = 1, easy = 1 }\n[sources]\nroots = ['a']\n"), @r#"
    invalid recipe pool/r.toml (1 problem)
      pool/r.toml:2:23: split.easy: unknown field `easy`, expected one of `normal`, `hard`, `background`
    "#);
}

#[test]
fn every_validation_problem_is_reported_at_once() {
    let text = r#"total = 100
split = { normal = 6, hard = 2, background = 2 }
seed = -1

[sources]
roots = []
exclude = ["a/[x"]

[camera]
from = "frames/*/**"
min = -3

[dedup]
similarity = 1.5

[[rules]]
match = "**/*{camera}/x"

[[rules]]
match = "**/night/**"
bucket = "hard"

[buckets.hard]
count = 20

[buckets.hard.quota]
night = 30
rain = 15

[buckets.hard.min]
night = 1
blur = 10
"#;
    insta::assert_snapshot!(problems(text), @r#"
    invalid recipe pool/r.toml (12 problems)
      pool/r.toml:3:8: seed: must be 0 or more
      pool/r.toml:6:9: sources.roots: must name at least one folder
      pool/r.toml:7:12: sources.exclude[0]: invalid glob: unclosed character class; missing ']' in `a/[x`
      pool/r.toml:10:8: camera.from: needs a `{camera}` capture, e.g. `frames/{camera}/**`
      pool/r.toml:11:7: camera.min: must be 0 or more, not -3
      pool/r.toml:14:14: dedup.similarity: must be in (0, 1], not 1.5
      pool/r.toml:16:1: rules[0]: does nothing: give it a `bucket`, `tags`, `camera` or `fps`
      pool/r.toml:17:9: rules[0].match: capture `{camera}` shares its segment with a wildcard or another capture; only literal text may surround it in `**/*{camera}/x`
      pool/r.toml:24:9: buckets.hard.count: conflicts with `split`: use either `split` or a `count` per bucket
      pool/r.toml:27:9: buckets.hard.quota.night: quota of 30 is more than the bucket's 20 images
      pool/r.toml:28:8: buckets.hard.quota.rain: quotas and minimums of bucket `hard` add up to 45, more than its 20 images
      pool/r.toml:31:9: buckets.hard.min.night: tag `night` already has an exact quota in this bucket
    "#);
}

#[test]
fn totals_must_agree_and_exist() {
    insta::assert_snapshot!(problems("total = 100\n[sources]\nroots = ['a']\n[buckets.normal]\ncount = 60\n"), @r#"
    invalid recipe pool/r.toml (1 problem)
      pool/r.toml:1:9: total: is 100 but the bucket counts add up to 60
    "#);
    insta::assert_snapshot!(problems("[sources]\nroots = ['a']\n"), @r#"
    invalid recipe pool/r.toml (1 problem)
      pool/r.toml:1:1: total: missing: give `total` with a `split`, or a `count` for each bucket
    "#);
    insta::assert_snapshot!(problems("total = 0\nsplit = { hard = 0 }\n[dedup]\nsimilarity = 0.9\nmax_distance = 8\n"), @r#"
    invalid recipe pool/r.toml (4 problems)
      pool/r.toml:1:1: sources.roots: missing: add `[sources]` with `roots = ["folder", ...]`
      pool/r.toml:1:9: total: must be at least 1, not 0
      pool/r.toml:2:9: split: at least one weight must be above 0
      pool/r.toml:4:14: dedup.similarity: set either `similarity` or `max_distance`, not both
    "#);
}

#[test]
fn a_total_out_of_range_is_one_problem() {
    insta::assert_snapshot!(problems("total = -5\nsplit = { normal = 1 }\n[sources]\nroots = ['a']\n"), @r#"
    invalid recipe pool/r.toml (1 problem)
      pool/r.toml:1:9: total: must be at least 1, not -5
    "#);
    insta::assert_snapshot!(problems("total = 1000000000000000000\nsplit = { normal = 1 }\n[sources]\nroots = ['a']\n"), @r#"
    invalid recipe pool/r.toml (1 problem)
      pool/r.toml:1:9: total: must be at most 10000000, not 1000000000000000000
    "#);
}

#[test]
fn max_distance_is_accepted_in_bits() {
    let r = parse("total = 5\nsplit = { normal = 1 }\n[sources]\nroots = ['a']\n[dedup]\nmax_distance = 6\nscope = 'camera'\n").unwrap();
    assert_eq!(r.dedup.threshold, Threshold::MaxDistance(6));
    assert_eq!(r.dedup.scope, Scope::Camera);
    assert!(
        problems("total = 5\nsplit = { normal = 1 }\n[sources]\nroots = ['a']\n[dedup]\nmax_distance = 65\n")
            .contains("dedup.max_distance: must be 0 to 64 bits")
    );
}

#[test]
fn classes_become_slots_of_their_bucket() {
    let r = parse("total = 100\nsplit = { normal = 6, hard = 2, background = 2 }\n[sources]\nroots = ['a']\n[classes]\nrequire = ['person', 'vehicle']\nmin = 5\n").unwrap();
    assert_eq!(r.buckets.normal.classes["vehicle"], 5);
    assert_eq!(r.buckets.normal.free(), 50);
    let c = r.classes.unwrap();
    assert_eq!((c.min, c.bucket), (5, Bucket::Normal));
    insta::assert_snapshot!(problems("total = 10\nsplit = { normal = 1, hard = 1 }\n[sources]\nroots = ['a']\n[classes]\nrequire = ['a', 'b', 'c']\nmin = 2\nbucket = 'hard'\n"), @r#"
    invalid recipe pool/r.toml (1 problem)
      pool/r.toml:5:1: classes: 3 classes × 2 images plus the bucket's quotas and minimums (0) need 6, more than bucket `hard`'s 5 images
    "#);
    insta::assert_snapshot!(problems("total = 10\nsplit = { normal = 1 }\n[sources]\nroots = ['a']\n[[rules]]\nbucket = 'hard'\n[[rules]]\nwhere = { site = '[' }\nbucket = 'hard'\n"), @r#"
    invalid recipe pool/r.toml (2 problems)
      pool/r.toml:5:1: rules[0]: matches nothing: give it a `match` pattern, `where` or `when` conditions
      pool/r.toml:8:18: rules[1].where.site: invalid glob: unclosed character class; missing ']' in `[`
    "#);
}

#[test]
fn measured_tags_in_rules_and_quality_thresholds() {
    let r = parse("total = 10\nsplit = { hard = 1 }\n[sources]\nroots = ['a']\n[quality]\ndark = 55\n[[rules]]\nwhen = 'auto:dark'\nbucket = 'hard'\ntags = ['night']\n[[rules]]\nmatch = 'x/**'\nwhen = ['auto:blurry', 'auto:lowq']\nbucket = 'hard'\n").unwrap();
    assert_eq!(r.quality.dark, 55.0);
    assert_eq!(r.quality.lowq, 40);
    assert_eq!(r.rules[0].when, ["auto:dark"]);
    assert_eq!(r.rules[1].when.len(), 2);
    insta::assert_snapshot!(problems("total = 10\nsplit = { hard = 1 }\n[sources]\nroots = ['a']\n[quality]\ndrak = 5\n[[rules]]\nwhen = 'auto:dakr'\nbucket = 'hard'\n"), @r#"
    invalid recipe pool/r.toml (1 problem)
      pool/r.toml:6:1: quality.drak: unknown field `drak`, expected one of `dark`, `overexposed`, `backlit`, `low_contrast`, `blurry`, `lowq`, `low_information`, `grayscale`; did you mean `dark`?
    "#);
    insta::assert_snapshot!(problems("total = 10\nsplit = { hard = 1 }\n[sources]\nroots = ['a']\n[[rules]]\nwhen = 'auto:dakr'\nbucket = 'hard'\n"), @r#"
    invalid recipe pool/r.toml (1 problem)
      pool/r.toml:6:8: rules[0].when: unknown measured tag `auto:dakr`, expected one of auto:dark, auto:overexposed, auto:backlit, auto:low-contrast, auto:blurry, auto:lowq, auto:low-information, auto:grayscale
    "#);
}

#[test]
fn sequences_take_durations_rates_and_declaring_patterns() {
    let base = "total = 10\nsplit = { normal = 1 }\n[sources]\nroots = ['a']\n[sequences]\n";
    let r = parse(&format!("{base}every = '500ms'\nfps = 25\n")).unwrap();
    assert_eq!(
        (r.sequences.every, r.sequences.fps),
        (Some(0.5), Some(25.0))
    );
    assert!(r.sequences.consecutive);
    assert!(r.sequences.declared.is_none());
    let r = parse(&format!(
        "{base}every = 2\nmatch = 'frames/{{sequence}}/**'\nconsecutive = false\n"
    ))
    .unwrap();
    assert_eq!(r.sequences.every, Some(2.0));
    assert!(!r.sequences.consecutive);
    let declared = r.sequences.declared.unwrap();
    assert_eq!(declared[0].as_str(), "frames/{sequence}/**");
    let r = parse(&format!("{base}match = []\n")).unwrap();
    assert_eq!(r.sequences.declared.map(|d| d.len()), Some(0));
    insta::assert_snapshot!(problems(&format!("{base}every = '1 fortnight'\nfps = 0\nmatch = ['clips/**', '**/{{sequence}}/*', '{{sequence}}/{{sequence}}']\n")), @r#"
    invalid recipe pool/r.toml (3 problems)
      pool/r.toml:6:9: sequences.every: unknown unit `fortnight` in `1 fortnight` (use ms, s, m or h)
      pool/r.toml:7:7: sequences.fps: must be above 0, not 0
      pool/r.toml:8:9: sequences.match[2]: capture `{sequence}` appears twice in `{sequence}/{sequence}`
    "#);
}

#[test]
fn free_is_not_a_tag_name() {
    assert!(
        problems("total = 10\nsplit = { hard = 1 }\n[sources]\nroots = ['a']\n[buckets.hard.quota]\nfree = 2\n")
            .contains("pool/r.toml:6:8: buckets.hard.quota.free: `free` names the bucket's free share")
    );
}

#[test]
fn out_of_range_numbers_and_empty_keys_are_refused() {
    let cases = [
        (
            "total = 20\nsplit = { normal = 1e308, hard = 1, background = 1 }\n",
            "split.normal: weight must be a number from 0 to 1000000",
        ),
        (
            "total = 20000000000\nsplit = { normal = 1 }\n",
            "total: must be at most 10000000",
        ),
        (
            "total = 10\n[quality]\ndark = nan\n",
            "quality.dark: must be a luma level from 0 to 255, not NaN",
        ),
        (
            "total = 10\n[quality]\ndark = -1\n",
            "quality.dark: must be a luma level",
        ),
        (
            "total = 10\n[quality]\noverexposed = 2\n",
            "quality.overexposed: must be a share from 0 to 1",
        ),
        (
            "total = 10\n[quality]\nlowq = 101\n",
            "quality.lowq: must be a JPEG quality from 0 to 100",
        ),
        (
            "total = 10\n[limits]\nmax_megapixels = inf\n",
            "limits.max_megapixels: must be above 0",
        ),
        (
            "total = 10\n[buckets.normal.quota]\n\"\" = 1\n",
            "an empty key names nothing",
        ),
        (
            "total = 10\n[buckets.normal.quota]\n\"=\" = 1\n",
            "needs both a field and a value",
        ),
        (
            "total = 10\n[buckets.normal.min]\n\"camera=\" = 1\n",
            "needs both a field and a value",
        ),
    ];
    for (body, want) in cases {
        let text = format!("{body}\n[sources]\nroots = [\"pool\"]\n");
        let text = if body.contains("split") || body.contains("buckets") {
            text
        } else {
            format!("split = {{ normal = 1 }}\n{text}")
        };
        let err = Recipe::parse(Path::new("/r.toml"), &text)
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{body}\n→ {err}");
    }
    // Exact arithmetic: huge-but-valid weights still split 20 images exactly.
    let r = Recipe::parse(
        Path::new("/r.toml"),
        "total = 20\nsplit = { normal = 1000000, hard = 0.000001, background = 0 }\n[sources]\nroots = [\"p\"]\n",
    )
    .unwrap();
    assert_eq!(r.total, 20);
    assert_eq!(r.buckets.normal.count, 20);
}

// How a recipe's rules, camera pattern and manifest label images.

#[test]
fn manifest_wins_bucket_and_camera_and_tags_add_up() {
    let recipe = Recipe::parse(
        Path::new("/pool/r.toml"),
        "total = 1\nsplit = { normal = 1 }\ndefault_bucket = 'normal'\n[sources]\nroots = ['f']\n\
         [camera]\nfrom = 'f/{camera}/**'\n\
         [[rules]]\nmatch = 'f/*/night/**'\nbucket = 'hard'\ntags = ['night']\n\
         [[rules]]\nmatch = 'f/*/night/**'\nbucket = 'background'\ntags = ['never']\n\
         [[rules]]\nmatch = 'f/c2/**'\ncamera = 'renamed'\n",
    )
    .unwrap();
    let manifest = Manifest::parse(
        Path::new("/pool/m.csv"),
        "path,bucket,tags,camera\nf/c1/night/1.jpg,background,vehicle,\nf/c1/night/2.jpg,,,cam9\n",
        false,
    )
    .unwrap();
    let l = Labeller::new(recipe.label_rules(), Some(&manifest));
    let label = |rel: &str| l.label(&Path::new("/pool").join(rel), rel, None);

    let a = label("f/c1/night/1.jpg");
    assert_eq!(a.bucket, Some(Bucket::Background));
    assert_eq!(a.origin, Origin::Manifest);
    assert_eq!(a.tags.iter().collect::<Vec<_>>(), ["night", "vehicle"]);
    assert_eq!(a.camera.as_deref(), Some("c1"));

    let b = label("f/c1/night/2.jpg");
    assert_eq!((b.bucket, b.origin), (Some(Bucket::Hard), Origin::Rule(0)));
    assert_eq!(b.camera.as_deref(), Some("cam9"));

    let c = label("f/c2/day/3.jpg");
    assert_eq!(
        (c.bucket, c.origin),
        (Some(Bucket::Normal), Origin::Default)
    );
    assert_eq!(c.camera.as_deref(), Some("renamed"));
    assert!(c.tags.is_empty());
}

#[test]
fn captures_and_where_conditions_label_images() {
    let recipe = Recipe::parse(
        Path::new("/pool/r.toml"),
        "total = 1\nsplit = { normal = 1 }\n[sources]\nroots = ['f']\n\
         [[rules]]\nmatch = 'f/{site}/{camera}/**'\nwhere = { weather = 'rain*' }\nbucket = 'hard'\ntags = ['wet']\n\
         [[rules]]\nwhere = { site = 'north' }\nbucket = 'normal'\n",
    )
    .unwrap();
    let manifest = Manifest::parse(
        Path::new("/pool/m.csv"),
        "path,weather,classes\nf/north/c1/1.jpg,rainy,car;bus\nf/north/c1/2.jpg,sunny,\n",
        false,
    )
    .unwrap();
    let l = Labeller::new(recipe.label_rules(), Some(&manifest));
    let label = |rel: &str| l.label(&Path::new("/pool").join(rel), rel, None);

    let wet = label("f/north/c1/1.jpg");
    assert_eq!(
        (wet.bucket, wet.camera.as_deref()),
        (Some(Bucket::Hard), Some("c1"))
    );
    assert_eq!(wet.meta["site"], "north");
    assert!(wet.has("wet") && wet.has("car") && wet.has("site=north") && wet.has("camera=c1"));
    assert!(!wet.has("site=south") && !wet.has("truck"));
    // The first rule's `where` fails; the second sees no capture of `site`
    // from its own pattern and no `site` field, so nothing buckets it.
    let dry = label("f/north/c1/2.jpg");
    assert_eq!(dry.bucket, None);
    assert_eq!(dry.meta["weather"], "sunny");
}

#[test]
fn when_rules_need_measurements() {
    let recipe = Recipe::parse(
        Path::new("/pool/r.toml"),
        "total = 1\nsplit = { normal = 1 }\n[sources]\nroots = ['f']\n\
         [[rules]]\nwhen = 'auto:dark'\nbucket = 'hard'\ntags = ['night']\n\
         [[rules]]\nbucket = 'normal'\nmatch = '**'\n",
    )
    .unwrap();
    let l = Labeller::new(recipe.label_rules(), None);
    let p = Path::new("/pool/f/a.jpg");
    let dark = Quality {
        mean: 20.0,
        contrast: 30.0,
        sharpness: 900.0,
        entropy: 6.0,
        colourfulness: 20.0,
        ..Quality::default()
    };
    let day = Quality {
        mean: 120.0,
        ..dark
    };
    assert_eq!(l.label(p, "f/a.jpg", None).bucket, Some(Bucket::Normal));
    let night = l.label(p, "f/a.jpg", Some(&dark));
    assert_eq!(
        (night.bucket, night.origin),
        (Some(Bucket::Hard), Origin::Rule(0))
    );
    assert!(night.has("night") && night.has("auto:dark"));
    let lit = l.label(p, "f/a.jpg", Some(&day));
    assert_eq!(lit.bucket, Some(Bucket::Normal));
    assert!(lit.measured.is_empty(), "{:?}", lit.measured);
}

#[test]
fn tensor_mean_and_std_take_one_number_or_three() {
    let base =
        "total = 10\nsplit = { normal = 1 }\n[sources]\nroots = [\"f\"]\n[tensor]\nsize = [8, 8]\n";
    let r = parse(&format!("{base}mean = 0.5\nstd = 0.5\n")).unwrap();
    let t = r.tensor.unwrap();
    assert_eq!((t.mean, t.std), ([0.5; 3], [0.5; 3]));
    let r = parse(&format!("{base}mean = [0.485, 0.456, 0.406]\nstd = 1\n")).unwrap();
    let t = r.tensor.unwrap();
    assert_eq!((t.mean, t.std), ([0.485, 0.456, 0.406], [1.0; 3]));
    let e = problems(&format!("{base}mean = \"x\"\n"));
    assert!(
        e.contains("tensor.mean") && e.contains("a number or a list of numbers"),
        "{e}"
    );
    let e = problems(&format!("{base}std = [0.5, 0.5]\n"));
    assert!(e.contains("must be one number or three"), "{e}");
}

#[test]
fn a_split_may_be_written_as_the_ratio_n_h_b() {
    let base = "total = 1000\n[sources]\nroots = ['a']\n";
    let ratio = parse(&format!("split = \"6:2:2\"\n{base}")).unwrap();
    let table = parse(&format!(
        "split = {{ normal = 6, hard = 2, background = 2 }}\n{base}"
    ))
    .unwrap();
    for (b, plan) in ratio.buckets.iter() {
        assert_eq!(plan.count, table.buckets[b].count, "{b}");
    }
    assert_eq!(ratio.buckets[Bucket::Normal].count, 600);
    insta::assert_snapshot!(problems(&format!("split = \"6:2\"\n{base}")), @r#"
    invalid recipe pool/r.toml (1 problem)
      pool/r.toml:1:9: split: `6:2` is not a ratio normal:hard:background of three numbers of 0 or more, like "6:2:2"
    "#);
    insta::assert_snapshot!(problems(&format!("split = \"0:0:0\"\n{base}")), @r#"
    invalid recipe pool/r.toml (1 problem)
      pool/r.toml:1:9: split: at least one weight must be above 0
    "#);
}

#[test]
fn messages_name_no_rust_types_and_suggest_the_close_key() {
    insta::assert_snapshot!(problems("total = 10\nsed = 3\nsplit = { normal = 1 }\nsources = 5\n"), @r#"
    invalid recipe pool/r.toml (2 problems)
      pool/r.toml:2:1: sed: unknown field `sed`, expected one of `name`, `seed`, `total`, `split`, `shortfall`, `default_bucket`, `sources`, `camera`, `dedup`, `sequences`, `quality`, `limits`, `tensor`, `model`, `export`, `resave`, `stability`, `video`, `annotations`, `rules`, `buckets`, `classes`, `output`; did you mean `seed`?
      pool/r.toml:4:11: sources: invalid type: integer `5`, expected a table
    "#);
}
