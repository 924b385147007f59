//! `calibset check` and argument handling.

use predicates::prelude::*;
use predicates::str::contains;

use crate::fixture::Pool;

#[test]
fn check_summarises_a_valid_recipe() {
    let pool = Pool::empty();
    let recipe = pool.recipe("total = 1000\nsplit = { normal = 6, hard = 2, background = 2 }\n[buckets.hard.quota]\nnight = 50\n");
    pool.cmd()
        .args(["check", "--recipe"])
        .arg(&recipe)
        .assert()
        .success()
        .stdout(contains("recipe test is valid: 1000 images"))
        .stdout(contains("hard").and(contains("200  night=50")));
}

#[test]
fn invalid_recipe_names_file_line_and_key() {
    let pool = Pool::empty();
    let recipe = pool.recipe("total = 100\nsplit = { normal = 6, hard = 2, background = 2 }\n[buckets.hard.quota]\nnight = 500\n");
    pool.cmd()
        .args(["build", "--recipe"])
        .arg(&recipe)
        .assert()
        .code(2)
        .stdout("")
        .stderr(contains("calibset: error: invalid recipe"))
        .stderr(contains("recipe.toml:33:9: buckets.hard.quota.night: quota of 500 is more than the bucket's 20 images"));
}

#[test]
fn unreadable_recipe_and_bad_flags_exit_2() {
    let pool = Pool::empty();
    pool.cmd()
        .args(["build", "--recipe", "nope.toml"])
        .assert()
        .code(2)
        .stderr(contains("cannot read recipe nope.toml"));
    pool.cmd()
        .args(["build", "--mode", "move", "--recipe", "x"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "calibset: error: invalid value 'move' for '--mode <MODE>'",
        ))
        .stderr(contains("\u{1b}").not());
    pool.cmd().assert().code(2);
}

#[test]
fn help_documents_exit_codes() {
    Pool::empty()
        .cmd()
        .arg("--help")
        .assert()
        .success()
        .stdout(contains(
            "Exit codes: 0 success, 1 quota shortfall or audit findings, 2 error, 130 interrupted",
        ));
}
