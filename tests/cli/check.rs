//! `calibset check` and argument handling.

use predicates::prelude::*;
use predicates::str::contains;

use crate::fixture::Pool;

#[test]
fn check_summarises_a_valid_recipe() {
    let pool = Pool::empty();
    let recipe = pool.recipe("total = 1000\nsplit = { normal = 6, hard = 2, background = 2 }\n[buckets.hard.quota]\nnight = 50\n");
    pool.cmd()
        .args(["check", "--syntax-only", "--recipe"])
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

#[test]
fn check_names_inputs_that_are_not_there() {
    let pool = crate::fixture::Pool::standard();
    let recipe = pool.recipe("total = 10\nsplit = { normal = 1 }\n");
    let text = std::fs::read_to_string(&recipe).unwrap().replace(
        "roots = [\"frames\", \"stills\"]",
        "roots = [\"frames\", \"stils\"]\nmanifest = \"labels.csv\"",
    );
    std::fs::write(&recipe, text).unwrap();
    pool.cmd()
        .args(["check", "--recipe"])
        .arg(&recipe)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("names inputs that are not there"))
        .stderr(
            predicates::str::contains("sources.roots:")
                .and(predicates::str::contains("stils does not exist")),
        )
        .stderr(
            predicates::str::contains("sources.manifest:")
                .and(predicates::str::contains("labels.csv does not exist")),
        );
}

#[test]
fn rules_that_match_nothing_and_empty_roots_are_warned_about() {
    let pool = crate::fixture::Pool::standard();
    std::fs::create_dir_all(pool.join("empty")).unwrap();
    let recipe = pool.recipe("total = 10\nsplit = { normal = 1 }\n[[rules]]\nmatch = \"frames/*/fog/**\"\nbucket = \"hard\"\n");
    let text = std::fs::read_to_string(&recipe).unwrap().replace(
        "roots = [\"frames\", \"stills\"]",
        "roots = [\"frames\", \"stills\", \"empty\"]",
    );
    std::fs::write(&recipe, text).unwrap();
    pool.cmd()
        .args(["build", "--dry-run", "--recipe"])
        .arg(&recipe)
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "calibset: warning: rules[4] (match = \"frames/*/fog/**\") matched no image",
        ))
        .stderr(
            predicates::str::contains("calibset: warning: no images found under")
                .and(predicates::str::contains("empty")),
        );
}

#[test]
fn three_syntax_problems_and_three_type_problems_are_each_reported_at_once() {
    let pool = Pool::empty();
    pool.write(
        "syntax.toml",
        b"total = 10\nsplit = { normal = 6 hard = 2 }\n[sources\nroots = ['a']\nx = = 3\n",
    );
    pool.cmd()
        .args(["check", "--recipe", "syntax.toml"])
        .assert()
        .code(2)
        .stderr(contains("(3 problems)"))
        .stderr(contains("syntax.toml:2:20: syntax:"))
        .stderr(contains("syntax.toml:3:9: syntax: unclosed table"))
        .stderr(contains("syntax.toml:5:5: syntax: extra `=`"));
    pool.write(
        "types.toml",
        b"total = '800'\nsplit = { normal = 1 }\n[sources]\nroots = ['a', 3]\n[dedup]\nscope = 'galaxy'\n",
    );
    pool.cmd()
        .args(["check", "--recipe", "types.toml"])
        .assert()
        .code(2)
        .stderr(contains("(3 problems)"))
        .stderr(contains(
            "types.toml:1:9: total: invalid type: string \"800\", expected an integer",
        ))
        .stderr(contains("types.toml:4:15: sources.roots[1]:"))
        .stderr(contains(
            "types.toml:6:9: dedup.scope: unknown variant `galaxy`",
        ));
}

#[test]
fn check_shows_everything_the_build_will_apply() {
    let pool = Pool::empty();
    pool.write(
        "r.toml",
        b"total = 100\nsplit = \"6:2:2\"\n[sources]\nroots = ['frames']\n[camera]\nfrom = 'frames/{camera}/**'\nbalance = 'equal'\n\
          [classes]\nrequire = ['car', 'person']\nmin = 3\n[tensor]\nsize = [640, 640]\n[export]\nformats = ['npy', 'ort']\n",
    );
    let out = pool
        .cmd()
        .args(["check", "--syntax-only", "--recipe", "r.toml"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "cameras   balance equal",
        "tensor    640×640 letterbox",
        "export    npy, ort",
        "classes   require car, person (3 image(s) of each, in bucket normal)",
    ] {
        assert!(text.contains(line), "no `{line}` in:\n{text}");
    }
}
