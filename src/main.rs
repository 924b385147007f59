//! The `calibset` binary: parses arguments, wires progress and signals, calls
//! the library and maps the outcome to an exit code.

mod cli;
mod exit_code;
mod progress_bar;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use clap::Parser;

use calibset::pipeline::BuildOptions;
use calibset::{BuildError, Recipe, Status};
use cli::{AuditArgs, BuildArgs, CheckArgs, Cli, Command};
use exit_code::ExitCode;

fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e)
            if e.use_stderr()
                && e.kind() != clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            // Usage errors carry the same prefix as every other diagnostic.
            eprint!("calibset: {e}");
            return ExitCode::Error.into();
        }
        // --help and --version on stdout; bare `calibset` prints help on stderr.
        Err(e) => e.exit(),
    };
    ignore_file_size_signal();
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(ExitCode::Interrupted as i32);
        }
    });
    let result = match &cli.command {
        Command::Build(args) => build(&cli, args, &cancel),
        Command::Check(args) => check(args),
        Command::Audit(args) => audit(&cli, args, &cancel),
    };
    match result {
        Ok(code) => code.into(),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::Success.into();
            }
            if matches!(
                err.downcast_ref::<BuildError>(),
                Some(BuildError::Interrupted)
            ) {
                eprintln!("calibset: interrupted; nothing was written");
                return ExitCode::Interrupted.into();
            }
            eprintln!("calibset: error: {err:#}");
            ExitCode::Error.into()
        }
    }
}

fn build(cli: &Cli, args: &BuildArgs, cancel: &AtomicBool) -> anyhow::Result<ExitCode> {
    set_jobs(args.run.jobs)?;
    let mut recipe = Recipe::load(&args.recipe)?;
    if let Some(max) = args.run.max_megapixels {
        recipe.limits.max_pixels = max;
    }
    let opts = BuildOptions {
        out: args.out.clone(),
        mode: args.mode.map(Into::into),
        layout: args.layout.map(Into::into),
        seed: args.seed,
        dry_run: args.dry_run,
        force: args.force,
        cache_dir: args.run.cache(),
        html: args.html.clone(),
    };
    let bar = progress_bar::Bar::new(cli.quiet, cli.verbose);
    let report = calibset::build(&recipe, &opts, &bar, cancel)?;
    if !cli.quiet {
        for w in &report.warnings {
            eprintln!("calibset: warning: {w}");
        }
        if let Some(st) = &report.stability {
            for f in &st.flagged {
                eprintln!("calibset: warning: stability: {f}");
            }
        }
        if report.pool.skipped() > 0 {
            eprintln!(
                "calibset: warning: {} file(s) skipped (see the report)",
                report.pool.skipped()
            );
        }
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        out.write_all(report.to_json().as_bytes())?;
    } else if !cli.quiet || report.status != Status::Ok {
        report.write_text(&mut out)?;
    }
    out.flush()?;
    Ok(match report.status {
        Status::Ok => ExitCode::Success,
        Status::Shortfall => {
            eprintln!("calibset: the pool cannot fill the recipe; nothing was written");
            ExitCode::Shortfall
        }
    })
}

fn audit(cli: &Cli, args: &AuditArgs, cancel: &AtomicBool) -> anyhow::Result<ExitCode> {
    set_jobs(args.run.jobs)?;
    let mut recipe = match &args.recipe {
        Some(path) => Recipe::load(path)?,
        None => Recipe::for_roots(&std::env::current_dir()?, &args.roots),
    };
    if let Some(max) = args.run.max_megapixels {
        recipe.limits.max_pixels = max;
    }
    if let Some(path) = &args.html {
        calibset::pipeline::check_html(path, &recipe, None)?;
    }
    let cache_dir = args.run.cache();
    let opts = calibset::pipeline::PlanOptions {
        cache_dir: cache_dir.as_deref(),
        save_cache: true,
        seed: recipe.seed,
        keep_unbucketed: true,
    };
    let thresholds = calibset::audit::Thresholds {
        max_issues: args.max_issues,
        max_duplicate_share: args.max_duplicates,
        require_fill: args.require_fill,
    };
    let bar = progress_bar::Bar::new(cli.quiet, cli.verbose);
    let (audit, planned) =
        calibset::audit::audit(&recipe, &opts, args.groups, &thresholds, &bar, cancel)?;
    if let Some(path) = &args.html {
        let title = format!("{} pool audit", recipe.name);
        calibset::pipeline::write_html(path, title, &audit.report, &planned)?;
    }
    if !cli.quiet {
        for w in &audit.report.warnings {
            eprintln!("calibset: warning: {w}");
        }
    }
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

fn set_jobs(jobs: Option<usize>) -> anyhow::Result<()> {
    if let Some(jobs) = jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
            .build_global()
            .context("cannot set up worker threads")?;
    }
    Ok(())
}

fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let recipe = Recipe::load(&args.recipe)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let json = serde_json::json!({
            "name": recipe.name,
            "seed": recipe.seed,
            "total": recipe.total,
            "buckets": recipe.buckets,
            "camera_min": recipe.camera.min,
            "dedup": recipe.dedup,
            "rules": recipe.rules.len(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
    } else {
        writeln!(
            out,
            "recipe {} is valid: {} images",
            recipe.name, recipe.total
        )?;
        for (bucket, plan) in recipe.buckets.iter() {
            write!(out, "  {bucket:<11} {:>6}", plan.count)?;
            for (tag, n) in &plan.quota {
                write!(out, "  {tag}={n}")?;
            }
            for (tag, n) in &plan.min {
                write!(out, "  {tag}>={n}")?;
            }
            writeln!(out)?;
        }
        if recipe.camera.min > 0 {
            writeln!(out, "  each camera at least {}", recipe.camera.min)?;
        }
    }
    Ok(ExitCode::Success)
}

/// Past `ulimit -f`, a write fails with EFBIG instead of SIGXFSZ killing the
/// process, so the build cleans up its staging folder like any failed write.
fn ignore_file_size_signal() {
    #[cfg(unix)]
    // SAFETY: installing SIG_IGN for SIGXFSZ before any thread starts; no handler
    // code runs.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
