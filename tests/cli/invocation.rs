//! How calibset is invoked: shell completions and the man page.

use predicates::prelude::*;
use predicates::str::contains;

use crate::fixture::Pool;

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
        eprintln!("SKIPPED: bash is not installed; the completion script was not sourced");
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
