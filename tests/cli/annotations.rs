//! Annotations as a bucketing source, through the binary.

use predicates::str::contains;

use crate::fixture::{Pool, csv_rows, scene};

/// A YOLO dataset: 36 images; 12 empty label files and 4 missing ones
/// (background), 8 with a box 3% of the frame tall (far-small at 720 px), 12
/// with large boxes. Classes alternate car / person.
pub(crate) fn yolo_pool() -> Pool {
    let pool = Pool::empty();
    pool.write("ds/names.txt", b"car\nperson\n");
    for k in 0..36u64 {
        pool.image(
            &format!("ds/images/train/img_{k:02}.jpg"),
            &scene(1000 + k * 7, 0.0, 96, 72),
        );
        let label = match k {
            0..12 => Some(String::new()),
            12..16 => None,
            16..24 => Some(format!("{} 0.5 0.5 0.05 0.03\n", k % 2)),
            _ => Some(format!(
                "{} 0.4 0.5 0.2 0.3\n{} 0.7 0.5 0.2 0.25\n",
                k % 2,
                (k + 1) % 2
            )),
        };
        if let Some(text) = label {
            pool.write(&format!("ds/labels/train/img_{k:02}.txt"), text.as_bytes());
        }
    }
    pool
}

pub(crate) const RECIPE: &str = r#"
name = "yolo"
[sources]
roots = ["ds/images"]
[annotations]
format = "yolo"
path = "ds"
names = "ds/names.txt"
deploy_size = [1280, 720]
small_box = 32
[classes]
require = ["car", "person"]
min = 2
[buckets.normal]
count = 20
[buckets.normal.quota]
far-small = 8
[buckets.background]
count = 16
[output]
dir = "out"
"#;

#[test]
fn empty_labels_are_the_background_and_small_boxes_are_far_small() {
    let pool = yolo_pool();
    std::fs::write(pool.join("yolo.toml"), RECIPE).unwrap();
    pool.cmd()
        .args(["build", "--recipe", "yolo.toml"])
        .assert()
        .success()
        .stdout(contains("class:car"));
    let rows = csv_rows(&pool.join("out/manifest.csv"));
    assert_eq!(rows.len(), 36);
    let number = |r: &Vec<String>| r[1][20..22].parse::<u32>().unwrap();
    let mut background: Vec<u32> = rows
        .iter()
        .filter(|r| r[3] == "background")
        .map(number)
        .collect();
    background.sort_unstable();
    assert_eq!(background, (0..16).collect::<Vec<_>>());
    let mut far: Vec<u32> = rows
        .iter()
        .filter(|r| r[5].contains("far-small"))
        .map(number)
        .collect();
    far.sort_unstable();
    assert_eq!(far, (16..24).collect::<Vec<_>>());
    assert_eq!(rows.iter().filter(|r| r[4] == "far-small").count(), 8);
}

#[test]
fn a_bad_label_line_names_file_and_line() {
    let pool = yolo_pool();
    pool.write(
        "ds/labels/train/img_30.txt",
        b"0 0.5 0.5 0.2 0.3\n1 0.5 oops 0.2 0.3\n",
    );
    std::fs::write(pool.join("yolo.toml"), RECIPE).unwrap();
    pool.cmd()
        .args(["build", "--recipe", "yolo.toml"])
        .assert()
        .code(2)
        .stderr(contains(
            "ds/labels/train/img_30.txt:2: `oops` is not a number",
        ));
}

#[test]
fn manifest_beats_annotations_which_beat_rules() {
    let pool = yolo_pool();
    pool.write(
        "ds/manifest.csv",
        b"path,bucket\nimages/train/img_00.jpg,hard\n",
    );
    let recipe = r#"
[sources]
roots = ["ds/images"]
manifest = "ds/manifest.csv"
[[rules]]
match = "**/img_2*"
bucket = "hard"
[[rules]]
match = "**/img_01.jpg"
bucket = "normal"
[annotations]
format = "yolo"
path = "ds"
[buckets.normal]
count = 10
[buckets.hard]
count = 11
[buckets.background]
count = 15
[output]
dir = "out"
"#;
    std::fs::write(pool.join("yolo.toml"), recipe).unwrap();
    pool.cmd()
        .args(["build", "-q", "--recipe", "yolo.toml"])
        .assert()
        .success();
    let rows = csv_rows(&pool.join("out/pool.csv"));
    let bucket = |name: &str| {
        rows.iter()
            .find(|r| r[0].ends_with(name))
            .map(|r| r[1].clone())
            .unwrap()
    };
    assert_eq!(
        bucket("img_00.jpg"),
        "hard",
        "manifest row wins over an empty label"
    );
    assert_eq!(
        bucket("img_01.jpg"),
        "background",
        "empty label wins over a rule"
    );
    assert_eq!(
        bucket("img_20.jpg"),
        "hard",
        "objects keep the rule's hard bucket"
    );
    assert_eq!(
        bucket("img_30.jpg"),
        "normal",
        "objects without a rule are normal"
    );
}

#[test]
fn rules_can_bucket_by_label_derived_tags() {
    // Domain rule: far-small objects are hard. The tag comes from the labels.
    let pool = yolo_pool();
    let recipe = RECIPE.replace(
        "[classes]",
        "[[rules]]\nwhen = \"far-small\"\nbucket = \"hard\"\ntags = [\"far\"]\n[buckets.hard]\ncount = 8\n[classes]",
    );
    let recipe = recipe.replace(
        "count = 20\n[buckets.normal.quota]\nfar-small = 8",
        "count = 12",
    );
    pool.write("recipe.toml", recipe.as_bytes());
    let json = crate::fixture::json_of(pool.cmd().args([
        "build",
        "--dry-run",
        "--json",
        "--recipe",
        "recipe.toml",
    ]));
    assert_eq!(json["pool"]["usable"]["hard"], 8, "{}", json["pool"]);
    assert_eq!(json["pool"]["usable"]["normal"], 12);
    assert_eq!(json["pool"]["usable"]["background"], 16);
}

#[test]
fn the_data_yaml_can_be_the_path_and_gives_the_names() {
    // Ultralytics users point at data.yaml; its `path:` is the dataset root.
    let pool = yolo_pool();
    pool.write(
        "ds/data.yaml",
        b"path: .\ntrain: images/train\nval: images/train\nnames:\n  0: car\n  1: person\n",
    );
    let recipe = RECIPE.replace(
        "path = \"ds\"\nnames = \"ds/names.txt\"\n",
        "path = \"ds/data.yaml\"\n",
    );
    pool.write("recipe.toml", recipe.as_bytes());
    pool.cmd()
        .args(["build", "-q", "--recipe", "recipe.toml"])
        .assert()
        .success();
    let rows = csv_rows(&pool.join("out/manifest.csv"));
    assert_eq!(rows.len(), 36, "20 normal + 16 background");
}

#[test]
fn names_are_found_beside_the_dataset_without_a_names_key() {
    let pool = yolo_pool();
    pool.write("ds/dataset.yaml", b"names: [car, person]\n");
    let recipe = RECIPE.replace("names = \"ds/names.txt\"\n", "");
    pool.write("recipe.toml", recipe.as_bytes());
    pool.cmd()
        .args(["build", "-q", "--recipe", "recipe.toml"])
        .assert()
        .success();
}

#[test]
fn a_required_class_missing_from_id_labels_says_how_to_name_them() {
    let pool = yolo_pool();
    let recipe = RECIPE.replace("names = \"ds/names.txt\"\n", "");
    pool.write("recipe.toml", recipe.as_bytes());
    pool.cmd()
        .args(["build", "--recipe", "recipe.toml"])
        .assert()
        .code(1)
        .stdout(contains("the pool's classes are ids 0, 1"))
        .stdout(contains("data.yaml"));
}

#[test]
fn annotated_images_are_stills_even_when_numbered_alike() {
    // img_00 … img_35: one size, step 1, the shape of a clip. They are dataset
    // photos: with one frame a second at 10 fps, none may be sampled out.
    let pool = yolo_pool();
    let recipe = format!("{RECIPE}[sequences]\nevery = \"1s\"\nfps = 10\n");
    pool.write("recipe.toml", recipe.as_bytes());
    let json = crate::fixture::json_of(pool.cmd().args([
        "build",
        "--dry-run",
        "--json",
        "--recipe",
        "recipe.toml",
    ]));
    assert_eq!(json["sequences"]["not_sampled"], 0, "{}", json["sequences"]);
    assert_eq!(json["sequences"]["stills"][0]["folder"], "ds/images/train");
    assert_eq!(json["sequences"]["stills"][0]["reason"], "annotated");
}

#[test]
fn the_data_yaml_alone_names_the_image_folders() {
    // No [sources]: the data.yaml's train/val folders are the roots.
    let pool = yolo_pool();
    pool.write(
        "ds/data.yaml",
        b"path: .\ntrain: images/train\nval: images/val\nnames: [car, person]\n",
    );
    let recipe = RECIPE
        .replace("[sources]\nroots = [\"ds/images\"]\n", "")
        .replace(
            "path = \"ds\"\nnames = \"ds/names.txt\"\n",
            "path = \"ds/data.yaml\"\n",
        );
    pool.write("recipe.toml", recipe.as_bytes());
    pool.cmd()
        .args(["build", "-q", "--recipe", "recipe.toml"])
        .assert()
        .success();
    assert_eq!(csv_rows(&pool.join("out/manifest.csv")).len(), 36);
    // A data.yaml whose folders do not exist is a recipe error naming the key.
    pool.write(
        "ds/data.yaml",
        b"train: nowhere/train\nnames: [car, person]\n",
    );
    pool.cmd()
        .args(["check", "--recipe", "recipe.toml"])
        .assert()
        .code(2)
        .stderr(contains("annotations.path"))
        .stderr(contains("give `sources.roots`"));
}
