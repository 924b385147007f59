//! The three commands: each turns its arguments into library options, runs
//! the library, prints the result on stdout and diagnostics on stderr, and
//! says which exit code the run earned.

use std::io::Write;
use std::sync::atomic::AtomicBool;

use anyhow::Context;

use calibset::{BuildError, Recipe, Status};

use crate::cli::{AuditArgs, BuildArgs, CheckArgs, Cli};
use crate::exit_code::ExitCode;
use crate::progress_bar::Bar;

/// `calibset build`.
pub fn build(cli: &Cli, args: &BuildArgs, cancel: &AtomicBool) -> anyhow::Result<ExitCode> {
    set_jobs(args.run.jobs)?;
    let mut recipe = Recipe::load(&args.recipe)?;
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
    let mut recipe = match &args.recipe {
        Some(path) => Recipe::load(path)?,
        None => Recipe::for_roots(&std::env::current_dir()?, &args.roots),
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

/// `calibset check`.
pub fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let recipe = Recipe::load(&args.recipe)?;
    let missing = recipe.missing_inputs();
    if !args.syntax_only && !missing.is_empty() {
        anyhow::bail!(
            "recipe {} names inputs that are not there (--syntax-only checks the recipe alone):\n  {}",
            args.recipe.display(),
            missing.join("\n  ")
        );
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
