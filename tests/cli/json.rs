//! The `--json` outputs against the README's *JSON output* section: every key
//! the README documents appears in some output, and no output has a key the
//! README does not document.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::fixture::{Pool, json_of};

/// The documented keys of one README table (`| `key` | … |` rows) under the
/// heading `### title`, in order.
fn documented(title: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let start = readme
        .find(&format!("### {title}\n"))
        .unwrap_or_else(|| panic!("README has no `### {title}` section"));
    let section = &readme[start + 4 + title.len()..];
    let end = section.find("\n#").unwrap_or(section.len());
    section[..end]
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`'))
        .map(|(key, _)| key.to_owned())
        .collect()
}

/// Every path in `value`, parents included: `pool`, `pool.usable`,
/// `pool.usable.normal`; array items as `[]` (`slots[].slot.kind`).
fn paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.insert(path.clone());
                paths(v, &path, out);
            }
        }
        Value::Array(items) => {
            let path = format!("{prefix}[]");
            for item in items {
                if item.is_object() || item.is_array() {
                    paths(item, &path, out);
                }
            }
        }
        _ => {}
    }
}

/// Whether the concrete `path` is what the documented `key` describes: equal
/// segments, where `{bucket}` stands for `normal`, `hard` or `background` and
/// any other `{name}` for any map key.
fn describes(key: &str, path: &str) -> bool {
    let (k, p): (Vec<&str>, Vec<&str>) = (key.split('.').collect(), path.split('.').collect());
    k.len() == p.len()
        && k.iter().zip(&p).all(|(k, p)| match *k {
            "{bucket}" => ["normal", "hard", "background"].contains(p),
            k if k.starts_with('{') && k.ends_with('}') => true,
            k if k.starts_with('{') && k.ends_with("}[]") => p.ends_with("[]"),
            k => k == *p,
        })
}

/// Checks outputs against a README table, both ways.
fn check_documented(title: &str, outputs: &[Value]) {
    check_keys(title, outputs, true);
}

/// Checks that outputs hold no key a README table does not document, and
/// with `complete`, that every documented key appears in one of them.
fn check_keys(title: &str, outputs: &[Value], complete: bool) {
    let keys = documented(title);
    assert!(!keys.is_empty(), "`### {title}` documents no key");
    let mut seen = BTreeSet::new();
    for output in outputs {
        paths(output, "", &mut seen);
    }
    let undocumented: Vec<&String> = seen
        .iter()
        .filter(|p| !keys.iter().any(|k| describes(k, p)))
        .collect();
    assert!(
        undocumented.is_empty(),
        "keys the README's `{title}` does not document: {undocumented:#?}"
    );
    if !complete {
        return;
    }
    let unseen: Vec<&String> = keys
        .iter()
        .filter(|k| !seen.iter().any(|p| describes(k, p)))
        .collect();
    assert!(
        unseen.is_empty(),
        "keys the README's `{title}` documents that no output has: {unseen:#?}"
    );
}

/// The standard pool with a manifest giving classes and metadata, a broken
/// file, and a five-frame clip of one slowly moving scene.
fn pool() -> Pool {
    let pool = Pool::standard();
    pool.write(
        "classes.csv",
        b"path,classes,site\nframes/cam1/day/0000.jpg,car;person,north\nframes/cam2/day/0001.jpg,bus,\n",
    );
    pool.write("stills/broken.jpg", b"\xff\xd8\xff not really");
    for k in 0..5 {
        pool.image(
            &format!("frames/cam3/clip/{k:06}.jpg"),
            &crate::fixture::scene(77, k as f32 * 0.2, 96, 72),
        );
    }
    pool
}

/// Report outputs covering every field: a written build with a hand-off,
/// re-saves and an untimed declared sequence; a short one; a topped-up one
/// whose free share spilled into tagged images.
fn build_reports() -> Vec<Value> {
    let pool = pool();
    let mut reports = Vec::new();
    pool.recipe(
        "total = 20\nsplit = { normal = 12, hard = 4, background = 4 }\n\
         [tensor]\nsize = [32, 24]\n[export]\nformats = [\"list\", \"npy\"]\n\
         [resave]\nshare = 0.5\nquality = 40\n\
         [sequences]\nmatch = \"frames/cam1/day/**\"\nevery = \"1s\"\n\
         [stability]\nthreshold = 0.0001\n[classes]\nrequire = [\"car\"]\n\
         [output]\ndir = \"out\"\n",
    );
    let text = std::fs::read_to_string(pool.join("recipe.toml"))
        .unwrap()
        .replace("[sources]\n", "[sources]\nmanifest = \"classes.csv\"\n");
    pool.write("recipe.toml", text.as_bytes());
    reports.push(json_of(pool.cmd().args([
        "build",
        "--json",
        "--recipe",
        "recipe.toml",
    ])));
    // Short: a quota the strict free share cannot help, a class and a camera
    // minimum the pool cannot meet.
    pool.recipe_with_camera_min(
        "total = 60\nsplit = { normal = 40, hard = 10, background = 10 }\n\
         [buckets.hard]\nfree = \"untagged\"\n[buckets.hard.quota]\nnight = 2\nrain = 2\n\
         [classes]\nrequire = [\"tram\"]\n",
        20,
    );
    let out = pool
        .cmd()
        .args(["build", "--dry-run", "--json", "--recipe", "recipe.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    reports.push(serde_json::from_slice(&out.stdout).unwrap());
    // Topped up; the free share then takes quota-tagged images (a spill).
    pool.recipe(
        "total = 24\nsplit = { hard = 1 }\nshortfall = \"fill\"\n\
         [buckets.hard.quota]\nnight = 14\nrain = 6\n[dedup]\nmax_distance = 6\n",
    );
    reports.push(json_of(pool.cmd().args([
        "build",
        "--dry-run",
        "--json",
        "--recipe",
        "recipe.toml",
    ])));
    reports
}

#[test]
fn the_build_report_json_is_what_the_readme_documents() {
    let reports = build_reports();
    for r in &reports {
        assert_eq!(r["schema_version"], 1);
        assert_no_display_strings(r);
    }
    // An untagged row is an empty list; a missing camera (the stills) is null.
    let rows: Vec<&Value> = reports
        .iter()
        .flat_map(|r| r["composition"].as_array().unwrap())
        .collect();
    assert!(rows.iter().any(|row| row["tags"] == serde_json::json!([])));
    assert!(rows.iter().any(|row| {
        row["cameras"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["camera"].is_null())
    }));
    let files = reports[0]["files"].as_array().unwrap();
    assert_eq!(files.len(), 20);
    let car = files
        .iter()
        .find(|f| f["source"] == "frames/cam1/day/0000.jpg")
        .expect("the required class's image is chosen");
    assert_eq!(car["classes"], serde_json::json!(["car", "person"]));
    assert_eq!(
        car["slot"],
        serde_json::json!({"kind": "class", "tag": "car"})
    );
    assert_eq!(car["camera"], "cam1");
    check_documented("Build report", &reports);
}

#[test]
fn the_check_json_is_what_the_readme_documents() {
    let pool = Pool::empty();
    let run = |body: &str| {
        pool.write("r.toml", body.as_bytes());
        json_of(
            pool.cmd()
                .args(["check", "--syntax-only", "--json", "--recipe", "r.toml"]),
        )
    };
    let a = run(
        "total = 100\nsplit = { normal = 6, hard = 2, background = 2 }\n[sources]\nroots = ['a']\n\
         [buckets.hard]\nfree = 'untagged'\n[buckets.hard.quota]\nnight = 5\n[buckets.hard.min]\nrain = 2\n\
         [classes]\nrequire = ['car']\nmin = 3\n[dedup]\nsimilarity = 0.98\n",
    );
    // As the recipe wrote it, not the f32 0.9800000190734863.
    assert_eq!(a["dedup"]["threshold"]["similarity"].to_string(), "0.98");
    assert_eq!(a["schema_version"], 1);
    let b = run(
        "total = 10\nsplit = { normal = 1 }\n[sources]\nroots = ['a']\n[dedup]\nmax_distance = 4\n",
    );
    check_documented("Check", &[a, b]);
}

/// Display stand-ins must not appear as data.
fn assert_no_display_strings(value: &Value) {
    match value {
        Value::String(s) => assert!(
            s != "(untagged)" && s != "-",
            "a display string in the JSON: {s:?}"
        ),
        Value::Array(items) => items.iter().for_each(assert_no_display_strings),
        Value::Object(map) => {
            for (k, v) in map {
                assert!(
                    k != "-" && k != "(untagged)",
                    "a display key in the JSON: {k:?}"
                );
                assert_no_display_strings(v);
            }
        }
        _ => {}
    }
}

#[test]
fn the_audit_json_is_what_the_readme_documents() {
    let pool = pool();
    pool.write(
        "classes.csv",
        b"path,classes\nframes/cam1/day/0000.jpg,car\n",
    );
    pool.recipe("total = 20\nsplit = { normal = 12, hard = 4, background = 4 }\n");
    let text = std::fs::read_to_string(pool.join("recipe.toml"))
        .unwrap()
        .replace("[sources]\n", "[sources]\nmanifest = \"classes.csv\"\n");
    pool.write("recipe.toml", text.as_bytes());
    let out = pool
        .cmd()
        .args([
            "audit",
            "--json",
            "--max-duplicates",
            "0",
            "--recipe",
            "recipe.toml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a finding fails the audit");
    let mut audit: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(audit["schema_version"], 1);
    assert_no_display_strings(&audit);
    assert!(
        audit["no_camera"].as_u64().unwrap() > 0,
        "the stills have no camera"
    );
    let report = audit["report"].take();
    check_keys("Build report", &[report], false);
    audit["report"] = serde_json::json!({});
    check_documented("Audit", &[audit]);
}

#[test]
fn the_index_json_is_what_the_readme_documents() {
    let pool = pool();
    pool.recipe("total = 10\nsplit = { normal = 1 }");
    let report = json_of(pool.cmd().args([
        "index",
        "recipe.toml",
        "--out",
        "idx",
        "--no-cache",
        "--json",
    ]));
    assert_eq!(report["shard"], "0/1");
    assert!(report["bytes"].as_u64().unwrap() > 0);
    assert_eq!(report["issues"][0]["path"], "stills/broken.jpg");
    check_documented("Index", &[report]);
}

#[test]
fn every_failing_exit_prints_the_documented_error_object() {
    let pool = Pool::standard();
    pool.write(
        "bad.toml",
        b"total = -5\nsplit = { normal = 1 }\n[sources]\nroots = ['frames']\n",
    );
    let overlapping = pool.recipe(&format!(
        "{}\n[output]\ndir = \"frames\"\n",
        crate::fixture::SET_OF_30
    ));
    let fail = |args: &[&str]| {
        let out = pool.cmd().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let value: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: stdout is not JSON ({e})"));
        assert_eq!(value["schema_version"], 1);
        assert_eq!(value["status"], "error");
        assert_eq!(value["exit_code"], 2);
        value
    };
    let usage = fail(&["build", "--json", "--no-such-flag"]);
    assert_eq!(usage["error"]["kind"], "usage");
    let missing = fail(&["build", "--json", "--recipe", "nope.toml"]);
    assert_eq!(missing["error"]["kind"], "recipe");
    assert_eq!(missing["error"]["file"], "nope.toml");
    let invalid = fail(&["check", "--json", "--recipe", "bad.toml"]);
    assert_eq!(invalid["error"]["kind"], "recipe");
    assert_eq!(
        invalid["error"]["problems"],
        serde_json::json!([{"line": 1, "column": 9, "key": "total", "message": "must be at least 1, not -5"}])
    );
    let overlap = fail(&["build", "--json", "--recipe", overlapping.to_str().unwrap()]);
    assert_eq!(overlap["error"]["kind"], "output");
    assert!(
        overlap["error"]["message"]
            .as_str()
            .unwrap()
            .contains("overlaps source root")
    );
    let audit = fail(&["audit", "--json", "no-such-folder"]);
    assert_eq!(audit["error"]["kind"], "pool");
    check_documented("Error", &[usage, missing, invalid, overlap, audit]);
}

#[test]
fn a_recipe_the_pool_cannot_fill_says_so_before_asking_for_force() {
    let pool = Pool::standard();
    let recipe = pool.recipe(&format!(
        "{}\n[output]\ndir = \"out\"\n",
        crate::fixture::SET_OF_30
    ));
    pool.cmd()
        .args(["build", "-q", "--recipe"])
        .arg(&recipe)
        .assert()
        .success();
    let before = std::fs::read(pool.join("out/manifest.csv")).unwrap();
    let text = std::fs::read_to_string(&recipe)
        .unwrap()
        .replace("total = 30", "total = 300");
    std::fs::write(&recipe, text).unwrap();
    let out = pool
        .cmd()
        .args(["build", "--json", "--recipe"])
        .arg(&recipe)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "shortfall");
    assert!(
        report["warnings"]
            .to_string()
            .contains("holds an earlier calibset build, which was kept"),
        "{}",
        report["warnings"]
    );
    assert_eq!(
        std::fs::read(pool.join("out/manifest.csv")).unwrap(),
        before
    );
    // A recipe the pool fills still needs --force.
    let text = std::fs::read_to_string(&recipe)
        .unwrap()
        .replace("total = 300", "total = 30");
    std::fs::write(&recipe, text).unwrap();
    pool.cmd()
        .args(["build", "--recipe"])
        .arg(&recipe)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("pass --force"));
}
