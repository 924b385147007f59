//! The reference recipes in `recipes/` parse, hold their documented numbers and
//! are self-contained.

use crate::fixture::Pool;

/// `(bucket count, quotas, minimums)` for normal, hard, background.
type Plan<'a> = [(u64, &'a [(&'a str, u64)], &'a [(&'a str, u64)]); 3];

fn plan_of(recipe: &str) -> (u64, u64, serde_json::Value) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("recipes")
        .join(recipe);
    let out = Pool::empty()
        .cmd()
        .args(["check", "--syntax-only", "--json", "--recipe"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{recipe}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        v["total"].as_u64().unwrap(),
        v["camera_min"].as_u64().unwrap(),
        v["buckets"].clone(),
    )
}

fn assert_plan(recipe: &str, total: u64, camera_min: u64, want: Plan<'_>) {
    let (t, cmin, buckets) = plan_of(recipe);
    assert_eq!((t, cmin), (total, camera_min), "{recipe}");
    for (name, (count, quota, min)) in ["normal", "hard", "background"].into_iter().zip(want) {
        let b = &buckets[name];
        assert_eq!(b["count"], count, "{recipe} {name}.count");
        let map = |pairs: &[(&str, u64)]| {
            serde_json::Value::Object(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), (*v).into()))
                    .collect(),
            )
        };
        assert_eq!(b["quota"], map(quota), "{recipe} {name}.quota");
        assert_eq!(b["min"], map(min), "{recipe} {name}.min");
    }
}

#[test]
fn detection_a_800() {
    let hard_min = [
        ("blur", 20),
        ("far-small", 20),
        ("lowq", 20),
        ("night", 20),
        ("rain-fog", 20),
    ];
    let bg_min = [
        ("glass", 15),
        ("road", 15),
        ("screen", 15),
        ("sky", 15),
        ("texture", 15),
        ("wall", 15),
    ];
    assert_plan(
        "detection-a-800.toml",
        800,
        1,
        [(520, &[], &[]), (160, &[], &hard_min), (120, &[], &bg_min)],
    );
}

#[test]
fn detection_b_1200() {
    assert_plan(
        "detection-b-1200.toml",
        1200,
        1,
        [
            (720, &[], &[]),
            (240, &[], &[]),
            (240, &[], &[("lowq", 80)]),
        ],
    );
}

#[test]
fn adas_1000() {
    let normal = [
        ("pedestrian", 150),
        ("rider", 50),
        ("traffic-light", 100),
        ("vehicle", 300),
    ];
    let hard = [
        ("blur-lowq", 50),
        ("far-small", 50),
        ("night-backlight", 50),
        ("rain-fog-reflection", 50),
    ];
    let bg = [
        ("empty-highway-day", 50),
        ("empty-highway-night", 50),
        ("screen", 20),
        ("sky-wall-texture", 30),
        ("tunnel", 50),
    ];
    assert_plan(
        "adas-1000.toml",
        1000,
        1,
        [(600, &normal, &[]), (200, &hard, &[]), (200, &bg, &[])],
    );
}

#[test]
fn factory_600_and_1000() {
    let normal = [
        ("crowd", 60),
        ("forklift", 60),
        ("gate", 30),
        ("helmet-vest", 150),
        ("no-ppe", 60),
    ];
    let hard = [
        ("backlight", 30),
        ("far-small-blur-lowq", 20),
        ("glare", 20),
        ("night", 30),
        ("reflection", 20),
    ];
    let bg = [
        ("empty-line", 50),
        ("equipment", 40),
        ("screen-mirror", 10),
        ("texture", 20),
    ];
    assert_plan(
        "factory-600.toml",
        600,
        15,
        [(360, &normal, &[]), (120, &hard, &[]), (120, &bg, &[])],
    );
    let normal = [
        ("crowd", 100),
        ("forklift", 100),
        ("gate", 40),
        ("helmet-vest", 260),
        ("no-ppe", 100),
    ];
    let hard = [
        ("backlight", 50),
        ("far-small-blur-lowq", 40),
        ("glare", 30),
        ("night", 50),
        ("reflection", 30),
    ];
    let bg = [
        ("empty-line", 90),
        ("equipment", 70),
        ("screen-mirror", 10),
        ("texture", 30),
    ];
    assert_plan(
        "factory-1000.toml",
        1000,
        15,
        [(600, &normal, &[]), (200, &hard, &[]), (200, &bg, &[])],
    );
}

#[test]
fn templates_stay_within_the_seed_shares() {
    let (total, _, b) = plan_of("classification.toml");
    let bg = b["background"]["count"].as_u64().unwrap();
    assert!(
        bg * 100 <= total * 5,
        "closed-set classification: background 0–5%"
    );
    assert_eq!(b["hard"]["count"], 0);
    let (total, _, b) = plan_of("segmentation.toml");
    let bg = b["background"]["count"].as_u64().unwrap();
    assert!(
        (10 * total..=15 * total).contains(&(bg * 100)),
        "segmentation: background 10–15%"
    );
}

#[test]
fn reference_recipes_are_self_contained() {
    // Users get the recipes without the project's notes or bench pools: a
    // comment states its rule instead of citing a file, and says what
    // calibset does today (it reads labels: manifest classes, annotations).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("recipes");
    let mut recipes: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    recipes.sort();
    assert!(recipes.len() >= 7, "{recipes:?}");
    let banned = [
        "shared/",
        "seed-notes",
        "seed notes",
        "labels yet",
        "does not read labels",
        "bench/",
    ];
    let mut found = Vec::new();
    for path in &recipes {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy();
        for (i, line) in text.lines().enumerate() {
            let Some(at) = line.find('#') else { continue };
            let comment = line[at..].to_lowercase();
            for b in banned.iter().filter(|b| comment.contains(*b)) {
                found.push(format!("{name}:{}: `{b}` in {line:?}", i + 1));
            }
        }
        let out = Pool::empty()
            .cmd()
            .args(["check", "--syntax-only", "--recipe"])
            .arg(path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}
