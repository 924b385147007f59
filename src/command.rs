//! The commands: each turns its arguments into library options, runs the
//! library, prints the result on stdout and diagnostics on stderr, and says
//! which exit code the run earned. `completions` and `man` print what clap
//! knows of the arguments.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use clap::CommandFactory;

use calibset::{BuildError, Recipe, RecipeError, Status};

use crate::cli::{
    AuditArgs, BuildArgs, CheckArgs, Cli, CompletionsArgs, IndexArgs, ManArgs, ProbeArgs,
};
use crate::exit_code::ExitCode;
use crate::progress_bar::Bar;

/// `calibset build`.
pub fn build(cli: &Cli, args: &BuildArgs, cancel: &AtomicBool) -> anyhow::Result<ExitCode> {
    set_jobs(args.run.jobs)?;
    let mut recipe = load_recipe(args.recipe.path())?;
    if let Some(pixels) = args.run.max_megapixels {
        recipe.set_max_pixels(pixels);
    }
    let bar = Bar::new(cli.quiet, cli.verbose);
    let report = calibset::build(&recipe, &args.options(), &bar, cancel)?;
    warn(cli, report.diagnostics());
    let mut out = std::io::stdout().lock();
    if args.json {
        out.write_all(report.to_json().as_bytes())?;
    } else if !cli.quiet || report.status != Status::Ok {
        report.write_text(&mut out)?;
    }
    out.flush()?;
    if report.status == Status::Shortfall {
        eprintln!("calibset: the pool cannot fill the recipe; nothing was written");
        return Ok(ExitCode::Shortfall);
    }
    Ok(ExitCode::Success)
}

/// `calibset audit`.
pub fn audit(cli: &Cli, args: &AuditArgs, cancel: &AtomicBool) -> anyhow::Result<ExitCode> {
    set_jobs(args.run.jobs)?;
    let mut recipe = match args.recipe() {
        Some(path) => load_recipe(path)?,
        None => {
            if let Some(file) = args.roots.iter().find(|r| r.exists() && !r.is_dir()) {
                anyhow::bail!(
                    "{} is a file, not a folder: audit folders, or a recipe's pool with `calibset audit --recipe {}`",
                    file.display(),
                    file.display()
                );
            }
            Recipe::for_roots(&std::env::current_dir()?, &args.roots)
        }
    };
    if let Some(pixels) = args.run.max_megapixels {
        recipe.set_max_pixels(pixels);
    }
    let cache_dir = args.run.cache();
    let bar = Bar::new(cli.quiet, cli.verbose);
    let audit = calibset::audit(&recipe, &args.options(cache_dir.as_deref()), &bar, cancel)?;
    warn(cli, audit.report.warnings.clone());
    let mut out = std::io::stdout().lock();
    if args.json {
        out.write_all(audit.to_json().as_bytes())?;
    } else if !cli.quiet || !audit.findings.is_empty() {
        audit.write_text(&mut out)?;
    }
    out.flush()?;
    Ok(if audit.findings.is_empty() {
        ExitCode::Success
    } else {
        ExitCode::Shortfall
    })
}

/// `calibset index`.
pub fn index(cli: &Cli, args: &IndexArgs, cancel: &AtomicBool) -> anyhow::Result<ExitCode> {
    set_jobs(args.run.jobs)?;
    let mut recipe = load_recipe(args.recipe.path())?;
    if let Some(pixels) = args.run.max_megapixels {
        recipe.set_max_pixels(pixels);
    }
    let bar = Bar::new(cli.quiet, cli.verbose);
    let report = calibset::index(&recipe, &args.options(), &bar, cancel)?;
    warn(cli, report.warnings.clone());
    let mut out = std::io::stdout().lock();
    if args.json {
        out.write_all(report.to_json().as_bytes())?;
    } else if !cli.quiet {
        report.write_text(&mut out)?;
    }
    out.flush()?;
    Ok(ExitCode::Success)
}

/// `calibset probe`.
pub fn probe(cli: &Cli, args: &ProbeArgs, cancel: &AtomicBool) -> anyhow::Result<ExitCode> {
    set_jobs(args.jobs)?;
    let recipe = load_recipe(args.recipe.path())?;
    let bar = Bar::new(cli.quiet, cli.verbose);
    let options = calibset::ProbeOptions {
        out: args.out.clone(),
        model: args.model.clone(),
        tables: args.tables.clone(),
        seed: args.seed,
    };
    let report = calibset::probe(&recipe, &options, &bar, cancel)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let json = serde_json::json!({
            "schema_version": calibset::SCHEMA_VERSION,
            "model": report,
        });
        let mut text = serde_json::to_string_pretty(&json)?;
        text.push('\n');
        out.write_all(text.as_bytes())?;
    } else if !cli.quiet {
        calibset::write_model(&report, &mut out)?;
    }
    out.flush()?;
    Ok(ExitCode::Success)
}

/// `calibset check`.
pub fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let recipe = load_recipe(args.recipe.path())?;
    let missing = recipe.missing_inputs();
    if !args.syntax_only && !missing.is_empty() {
        anyhow::bail!(
            "recipe {} names inputs that are not there (--syntax-only checks the recipe alone):\n  {}",
            recipe.path.display(),
            missing.join("\n  ")
        );
    }
    if !args.syntax_only {
        calibset::check_output(&recipe)?;
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        out.write_all(recipe.check_json().as_bytes())?;
    } else {
        recipe.write_check(&mut out)?;
    }
    out.flush()?;
    Ok(ExitCode::Success)
}

/// `calibset completions SHELL`: the completion script on stdout.
pub fn completions(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut Cli::command(), "calibset", &mut out);
    out.flush()?;
    Ok(ExitCode::Success)
}

/// `calibset man [COMMAND]`: the roff page on stdout.
pub fn man(args: &ManArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = Cli::command();
    // Building names the subcommands `calibset-build` and so on.
    cmd.build();
    let page = match &args.command {
        None => cmd,
        Some(name) => cmd
            .find_subcommand(name)
            .with_context(|| format!("no command {name}"))?
            .clone(),
    };
    let mut roff = Vec::new();
    clap_mangen::Man::new(page)
        .source(format!("calibset {}", env!("CARGO_PKG_VERSION")))
        .render(&mut roff)?;
    let mut out = std::io::stdout().lock();
    out.write_all(&title_first(roff))?;
    out.flush()?;
    Ok(ExitCode::Success)
}

/// The page with its `.TH` line first, before the string definitions
/// clap_mangen opens with, as man pages conventionally start (and as
/// `file`, `mandb` and `lexgrog` look for them).
fn title_first(roff: Vec<u8>) -> Vec<u8> {
    let Some(start) = roff.windows(5).position(|w| w == b"\n.TH ").map(|i| i + 1) else {
        return roff;
    };
    let end = roff[start..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(roff.len(), |i| start + i + 1);
    let mut page = roff[start..end].to_vec();
    page.extend_from_slice(&roff[..start]);
    page.extend_from_slice(&roff[end..]);
    page
}

/// Name a recipe read from standard input goes by: in errors
/// (`<stdin>:3:9: …`), and as the report's recipe name when it has no `name`.
pub const STDIN_NAME: &str = "<stdin>";

/// Most bytes read as a recipe from standard input, as from a file (4 MiB).
const STDIN_LIMIT: u64 = 4 << 20;

/// Loads the recipe at `path`, or with `-` from standard input: its relative
/// paths are then relative to the current folder, and errors name it
/// [`STDIN_NAME`].
pub fn load_recipe(path: &Path) -> Result<Recipe, RecipeError> {
    if path != Path::new("-") {
        return Recipe::load(path);
    }
    let name = Path::new(STDIN_NAME);
    let read_error = |source| RecipeError::Read {
        path: name.to_owned(),
        source,
    };
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("calibset: reading the recipe from standard input (end it with Ctrl-D)");
    }
    let mut bytes = Vec::new();
    stdin
        .lock()
        .take(STDIN_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > STDIN_LIMIT {
        return Err(read_error(std::io::Error::other(format!(
            "more than {} MiB: not a recipe",
            STDIN_LIMIT >> 20
        ))));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        read_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not UTF-8 text",
        ))
    })?;
    Recipe::parse(name, &text)
}

/// The JSON object `--json` prints on stdout when a run fails, so a script's
/// `json.load` never meets an empty stdout: `status` is `error` (or
/// `interrupted`), `exit_code` the process's, `error.kind` one of `usage`,
/// `recipe`, `output`, `pool`, `store`, `write`, `index`, `interrupted`,
/// `other`, with `error.message` the text stderr shows; an invalid recipe
/// adds `error.file` and `error.problems` (`line`, `column`, `key`,
/// `message`). Documented in the README.
pub fn error_json(err: Option<&anyhow::Error>, message: &str, code: ExitCode) -> String {
    #[derive(serde::Serialize)]
    struct Failure<'a> {
        schema_version: u32,
        version: &'static str,
        status: &'static str,
        exit_code: i32,
        error: Error<'a>,
    }
    #[derive(serde::Serialize)]
    struct Error<'a> {
        kind: &'static str,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        file: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        problems: Option<&'a [calibset::RecipeProblem]>,
    }
    let (kind, file, problems) = match err {
        None => ("usage", None, None),
        Some(err) => classify(err),
    };
    let failure = Failure {
        schema_version: calibset::SCHEMA_VERSION,
        version: env!("CARGO_PKG_VERSION"),
        status: if code == ExitCode::Interrupted {
            "interrupted"
        } else {
            "error"
        },
        exit_code: code as i32,
        error: Error {
            kind,
            message,
            file,
            problems,
        },
    };
    serde_json::to_string_pretty(&failure).expect("the error object serializes") + "\n"
}

/// The `error.kind` of a failed run, with the recipe file and its problems
/// when the recipe is invalid.
fn classify(
    err: &anyhow::Error,
) -> (
    &'static str,
    Option<String>,
    Option<&[calibset::RecipeProblem]>,
) {
    if let Some(e) = err.downcast_ref::<RecipeError>() {
        return match e {
            RecipeError::Invalid { path, problems } => (
                "recipe",
                Some(path.display().to_string()),
                Some(problems.as_slice()),
            ),
            RecipeError::Read { path, .. } => ("recipe", Some(path.display().to_string()), None),
        };
    }
    let kind = match err.downcast_ref::<BuildError>() {
        Some(BuildError::Interrupted) => "interrupted",
        Some(BuildError::Inventory(_) | BuildError::NoCameras { .. }) => "pool",
        Some(BuildError::Store(_)) => "store",
        Some(BuildError::Export(_) | BuildError::Handoff(_) | BuildError::Html(_)) => "write",
        Some(BuildError::Index(_)) => "index",
        Some(BuildError::Model(_) | BuildError::ModelNeedsTensor | BuildError::NoModel) => "model",
        Some(BuildError::NotASet { .. }) => "set",
        Some(_) => "output",
        None if err.downcast_ref::<calibset::IndexError>().is_some() => "index",
        None => "other",
    };
    (kind, None, None)
}

/// Whether the error is the run being interrupted.
pub fn is_interrupted(err: &anyhow::Error) -> bool {
    matches!(
        err.downcast_ref::<BuildError>(),
        Some(BuildError::Interrupted)
    )
}

/// Whether the error is a closed stdout (`calibset … | head`): not an error.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Prints `lines` on stderr as warnings, unless `--quiet`.
fn warn(cli: &Cli, lines: Vec<String>) {
    if !cli.quiet {
        for line in lines {
            eprintln!("calibset: warning: {line}");
        }
    }
}

/// Sizes the worker pool (`--jobs`).
fn set_jobs(jobs: Option<usize>) -> anyhow::Result<()> {
    if let Some(jobs) = jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
            .build_global()
            .context("cannot set up worker threads")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_first_moves_the_th_line_to_the_top() {
        let cases: [(&[u8], &[u8]); 3] = [
            (
                b".ie a\n.el b\n.TH calibset 1\n.SH NAME\n",
                b".TH calibset 1\n.ie a\n.el b\n.SH NAME\n",
            ),
            (b".TH x 1\n.SH NAME\n", b".TH x 1\n.SH NAME\n"),
            (b".ie a\n.SH NAME\n", b".ie a\n.SH NAME\n"),
        ];
        for (page, want) in cases {
            assert_eq!(
                String::from_utf8(title_first(page.to_vec())).unwrap(),
                String::from_utf8(want.to_vec()).unwrap()
            );
        }
    }
}
