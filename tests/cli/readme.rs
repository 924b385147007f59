//! The README against the binary: what the quick start promises about the
//! bundled example, and the report terms its glossary must explain.

use predicates::str::contains;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md")
}

#[test]
fn the_quick_start_names_the_example_s_broken_files() {
    let text = readme();
    assert!(
        text.contains("three\nbroken files on purpose")
            || text.contains("three broken files on purpose")
    );
    let out = tempfile::tempdir().unwrap();
    let mut cmd = assert_cmd::Command::cargo_bin("calibset").unwrap();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CALIBSET_CACHE_DIR", out.path().join("cache"))
        .args(["build", "--dry-run", "--recipe", "examples/demo.toml", "-o"])
        .arg(out.path().join("set"))
        .assert()
        .success()
        .stderr(contains("calibset: warning: 3 file(s) skipped"));
    for name in ["empty-file.jpg", "not-an-image.png", "truncated.jpg"] {
        assert!(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("examples/demo/frames/camD/day")
                .join(name)
                .exists()
        );
    }
}

#[test]
fn the_glossary_explains_the_report_s_terms() {
    let text = readme();
    let start = text.find("### Reading the report").expect("a glossary");
    let glossary = &text[start..start + text[start..].find("\n## ").unwrap()];
    for term in [
        "| found |",
        "| usable |",
        "| exact copy |",
        "| near duplicate |",
        "| consecutive duplicate |",
        "| not sampled |",
        "| distinct |",
        "| slot |",
        "| spill |",
        "| topped up |",
        "| set % / pool % |",
        "| shortfall |",
        "| sequence |",
        "`free`",
        "`min:texture`",
        "`class:car`",
        "`(no camera)`",
    ] {
        assert!(
            glossary.contains(term),
            "the glossary does not explain {term}"
        );
    }
}
