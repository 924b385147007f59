//! Cancellation: the flag the front end sets on Ctrl-C or SIGTERM, looked at
//! inside the loops of every stage, so an interrupted run stops within about a
//! second wherever it is.

use std::sync::atomic::{AtomicBool, Ordering};

/// A flag that is never set, for callers that cannot be interrupted (tests).
pub static NEVER: AtomicBool = AtomicBool::new(false);

/// The run was interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// `Err(Interrupted)` once `flag` is set.
pub fn check(flag: &AtomicBool) -> Result<(), Interrupted> {
    if flag.load(Ordering::Relaxed) {
        Err(Interrupted)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::{DedupSettings, dedup_after};
    use crate::pool::fake::{blob, image};

    #[test]
    fn every_long_stage_stops_when_the_flag_is_set() {
        let set = AtomicBool::new(true);
        assert_eq!(check(&set), Err(Interrupted));
        assert_eq!(check(&NEVER), Ok(()));
        let images: Vec<_> = (0..50)
            .map(|i| {
                let b = crate::bucket::Bucket::Normal;
                image(
                    &format!("a/{i:03}.jpg"),
                    b,
                    &[],
                    None,
                    blob(i as f32, 5.0, 1.0),
                )
            })
            .collect();
        let removed = vec![None; images.len()];
        let settings = DedupSettings::default();
        assert_eq!(
            dedup_after(&images, &settings, removed.clone(), &set).unwrap_err(),
            Interrupted
        );
        assert!(dedup_after(&images, &settings, removed, &NEVER).is_ok());
        let dir = tempfile::tempdir().unwrap();
        let scanned = crate::scan::scan(
            &[dir.path().to_owned()],
            dir.path(),
            &[],
            crate::scan::Walk::default(),
            &set,
        );
        assert!(matches!(scanned, Err(crate::scan::ScanError::Interrupted)));
        let mut g = crate::select::flow::Network::new(2);
        g.add_edge(0, 1, 1, 0);
        assert_eq!(g.min_cost_max_flow(0, 1, &set), Err(Interrupted));
    }
}
