//! How calibset is invoked: shell completions, the man page, a recipe on
//! standard input (`--recipe -`) and a recipe given as a positional argument.

use predicates::prelude::*;
use predicates::str::contains;

use crate::fixture::{Pool, json_of};

/// `bash`, if installed (the completion test runs the script in it).
fn bash() -> Option<std::path::PathBuf> {
    ["/bin/bash", "/usr/bin/bash", "/usr/local/bin/bash"]
        .into_iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
}

#[test]
fn bash_completions_source_in_bash_and_complete_commands_and_options() {
    let pool = Pool::empty();
    let out = pool.cmd().args(["completions", "bash"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let script = pool.join("calibset.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let Some(bash) = bash() else {
        crate::fixture::skip("bash is not installed; the completion script was not sourced");
        return;
    };
    // Sourcing registers the completion; calling it the way bash does
    // (words so far, word being completed) offers commands, then options.
    let run = |words: &str, cword: usize, cur: &str, prev: &str| {
        let out = std::process::Command::new(&bash)
            .arg("--norc")
            .arg("-c")
            .arg(format!(
                "source \"$1\" && complete -p calibset && COMP_WORDS=({words}) && COMP_CWORD={cword} \
                 && _calibset calibset \"{cur}\" \"{prev}\" && echo \"${{COMPREPLY[*]}}\""
            ))
            .arg("bash")
            .arg(&script)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let commands = run("calibset ''", 1, "", "calibset");
    assert!(commands.contains("-F _calibset calibset"), "{commands}");
    for cmd in ["build", "check", "audit", "completions", "man"] {
        assert!(commands.contains(cmd), "{cmd} not offered: {commands}");
    }
    let options = run("calibset build --dr", 2, "--dr", "build");
    assert!(options.contains("--dry-run"), "{options}");
}

#[test]
fn completions_for_zsh_fish_and_powershell() {
    let pool = Pool::empty();
    for (shell, mark) in [
        ("zsh", "#compdef calibset"),
        ("fish", "complete -c calibset"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        pool.cmd()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(contains(mark).and(contains("dry-run")))
            .stderr("");
    }
    pool.cmd()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(contains("invalid value 'tcsh'"));
}

#[test]
fn man_prints_roff_pages_for_calibset_and_each_command() {
    let pool = Pool::empty();
    let out = pool.cmd().arg("man").output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.starts_with(".TH"), "{}", &page[..page.len().min(200)]);
    assert!(page.contains(".TH calibset 1"), "{page}");
    for cmd in ["build", "check", "audit", "completions"] {
        assert!(page.contains(cmd), "{cmd} missing from calibset(1)");
    }
    let out = pool.cmd().args(["man", "build"]).output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.starts_with(".TH"));
    assert!(page.contains("calibset\\-build"), "{page}");
    assert!(page.contains("dry\\-run"), "build options are documented");
    pool.cmd().args(["man", "nope"]).assert().code(2);
}

/// The standard pool and its recipe's text (roots `frames` and `stills`, relative).
fn pool_and_recipe_text(body: &str) -> (Pool, String) {
    let pool = Pool::standard();
    let recipe = pool.recipe(body);
    let text = std::fs::read_to_string(&recipe).unwrap();
    std::fs::remove_file(recipe).unwrap();
    (pool, text)
}

#[test]
fn a_recipe_on_stdin_resolves_paths_from_the_current_folder() {
    let (pool, text) = pool_and_recipe_text("total = 12\nsplit = { normal = 1, hard = 1 }\n");
    pool.cmd()
        .args(["check", "--recipe", "-"])
        .write_stdin(text.clone())
        .assert()
        .success()
        .stdout(contains("recipe test is valid: 12 images"));
    // From another folder, the same relative roots are not there.
    pool.cmd()
        .current_dir(pool.join("frames"))
        .args(["check", "--recipe", "-"])
        .write_stdin(text.clone())
        .assert()
        .code(2)
        .stderr(contains("recipe <stdin> names inputs that are not there"))
        .stderr(contains("frames/frames does not exist"));
    // build and audit read it too; the set lands relative to the current folder.
    pool.cmd()
        .args(["build", "-q", "--out", "set", "--recipe", "-"])
        .write_stdin(text.clone())
        .assert()
        .success();
    assert_eq!(pool.files("set/normal").len(), 6);
    assert_eq!(
        std::fs::read_to_string(pool.join("set/recipe.toml")).unwrap(),
        text,
        "the set keeps the recipe it was built from"
    );
    let audit = json_of(
        pool.cmd()
            .args(["audit", "--json", "--recipe", "-"])
            .write_stdin(text),
    );
    assert_eq!(audit["tags"]["night"], 12);
    assert_eq!(audit["report"]["total"], 12);
}

#[test]
fn errors_in_a_recipe_on_stdin_name_stdin_with_line_and_column() {
    let pool = Pool::standard();
    pool.cmd()
        .args(["build", "--dry-run", "--recipe", "-"])
        .write_stdin("name = \"x\"\ntotal = 10\nsplit = { normal = 1 }\n\n[sources]\nroots = [\"frames\"]\n[camera]\nmin = -3\n")
        .assert()
        .code(2)
        .stderr(contains("calibset: error: invalid recipe <stdin>"))
        .stderr(contains("  <stdin>:8:7: camera.min:"));
    pool.cmd()
        .args(["check", "-r", "-"])
        .write_stdin(vec![0xff, 0xfe, b'x'])
        .assert()
        .code(2)
        .stderr(contains("cannot read recipe <stdin>").and(contains("not UTF-8")));
}

#[test]
fn a_positional_recipe_is_the_recipe() {
    let pool = Pool::standard();
    let recipe = pool.recipe("total = 12\nsplit = { normal = 1, hard = 1 }\n");
    pool.cmd()
        .args(["check", "recipe.toml"])
        .assert()
        .success()
        .stdout(contains("recipe test is valid: 12 images"));
    pool.cmd()
        .args(["build", "--dry-run", "--json", "recipe.toml"])
        .assert()
        .success()
        .stdout(contains("\"status\": \"ok\""));
    let audit = json_of(pool.cmd().args(["audit", "--json", "recipe.toml"]));
    assert_eq!(
        audit["report"]["total"], 12,
        "audit FILE.toml audits the recipe"
    );
    // Both forms at once, or neither, is a usage error naming the flag.
    pool.cmd()
        .args(["build", "--recipe"])
        .arg(&recipe)
        .arg("other.toml")
        .assert()
        .code(2)
        .stderr(contains("'--recipe <FILE>' cannot be used with '[RECIPE]'"));
    pool.cmd()
        .args(["build", "--dry-run"])
        .assert()
        .code(2)
        .stderr(contains("--recipe <FILE>"));
}

#[test]
fn auditing_a_file_among_folders_hints_at_recipe() {
    let pool = Pool::standard();
    pool.recipe("total = 12\nsplit = { normal = 1 }\n");
    pool.cmd()
        .args(["audit", "frames", "recipe.toml"])
        .assert()
        .code(2)
        .stderr(contains(
            "recipe.toml is a file, not a folder: audit folders, or a recipe's pool with `calibset audit --recipe recipe.toml`",
        ));
}

#[test]
fn verbose_times_every_phase_of_a_build() {
    let pool = crate::fixture::Pool::standard();
    let recipe = pool.recipe(&format!(
        "{}\n[output]\ndir = \"out\"\n",
        crate::fixture::SET_OF_30
    ));
    let out = pool
        .cmd()
        .args(["build", "-v", "--recipe"])
        .arg(&recipe)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    for phase in [
        "scanning",
        "loading the cache",
        "measuring",
        "pooling",
        "saving the cache",
        "de-duplicating",
        "selecting",
        "re-checking",
        "reporting",
        "writing",
    ] {
        assert!(
            stderr.contains(&format!("calibset: {phase} took ")),
            "no `{phase}` line:\n{stderr}"
        );
    }
}
