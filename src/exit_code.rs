//! Process exit codes, documented in the README.

/// How a calibset run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Success: the set was built (or planned) as the recipe asks.
    Success = 0,
    /// The pool cannot fill the recipe (shortfall; nothing was written), or an
    /// audit's findings crossed a threshold given on the command line.
    Shortfall = 1,
    /// Usage error, invalid recipe or manifest, unreadable input, refused output.
    Error = 2,
    /// Interrupted by Ctrl-C or SIGTERM; nothing was left half-written.
    Interrupted = 130,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}
