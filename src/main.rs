//! The `calibset` binary: parses arguments, wires signals, runs the command
//! and maps the outcome to an exit code.

mod cli;
mod command;
mod exit_code;
mod progress_bar;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;

use cli::{Cli, Command};
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
            if std::env::args_os().any(|a| a == "--json") {
                let text = e.to_string();
                let first = text.lines().next().unwrap_or_default();
                let message = first.strip_prefix("error: ").unwrap_or(first).to_owned();
                print!("{}", command::error_json(None, &message, ExitCode::Error));
            }
            return ExitCode::Error.into();
        }
        // --help and --version on stdout; bare `calibset` prints help on stderr.
        Err(e) => e.exit(),
    };
    let cancel = install_signal_handlers();
    let result = match &cli.command {
        Command::Build(args) => command::build(&cli, args, &cancel),
        Command::Check(args) => command::check(args),
        Command::Probe(args) => command::probe(&cli, args, &cancel),
        Command::Audit(args) => command::audit(&cli, args, &cancel),
        Command::Index(args) => command::index(&cli, args, &cancel),
        Command::Completions(args) => command::completions(args),
        Command::Man(args) => command::man(args),
    };
    let json = cli.command.json();
    let (err, message, code) = match result {
        Ok(code) => return code.into(),
        Err(err) if command::is_broken_pipe(&err) => return ExitCode::Success.into(),
        Err(err) if command::is_interrupted(&err) => {
            let message = "interrupted; nothing was written".to_owned();
            eprintln!("calibset: {message}");
            (err, message, ExitCode::Interrupted)
        }
        Err(err) => {
            let message = format!("{err:#}");
            eprintln!("calibset: error: {message}");
            (err, message, ExitCode::Error)
        }
    };
    if json {
        print!("{}", command::error_json(Some(&err), &message, code));
    }
    code.into()
}

/// The first Ctrl-C or SIGTERM sets the returned flag, which every stage looks
/// at; a second one exits at once. Past `ulimit -f` a write fails with EFBIG
/// instead of SIGXFSZ killing the process, so the staging folder is cleaned up
/// like after any failed write.
fn install_signal_handlers() -> Arc<AtomicBool> {
    #[cfg(unix)]
    // SAFETY: installing SIG_IGN for SIGXFSZ before any thread starts; no
    // handler code runs.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(ExitCode::Interrupted as i32);
        }
    });
    cancel
}
