//! Cancellation: the flag the front end sets on Ctrl-C or SIGTERM, looked at
//! inside the loops of every stage, so an interrupted run stops within about a
//! second wherever it is.

use std::sync::atomic::{AtomicBool, Ordering};

/// A flag that is never set, for callers that cannot be interrupted (tests,
/// and reads too short to need it).
pub(crate) static NEVER: AtomicBool = AtomicBool::new(false);

/// The run was interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted")]
pub(crate) struct Interrupted;

/// `Err(Interrupted)` once `flag` is set.
pub(crate) fn check(flag: &AtomicBool) -> Result<(), Interrupted> {
    if flag.load(Ordering::Relaxed) {
        Err(Interrupted)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_follows_the_flag() {
        assert_eq!(check(&AtomicBool::new(true)), Err(Interrupted));
        assert_eq!(check(&NEVER), Ok(()));
    }
}
