//! The decode memory budget: decodes that need much memory take turns.
//!
//! Each decode estimates, from the image header, what it will hold at its peak
//! and reserves that much of [`TOTAL`] before it starts; it waits while the
//! decodes already running hold too much. Small decodes (under [`SMALL`])
//! never wait, and one decode larger than the whole budget runs alone. So peak
//! memory stays near the budget however many worker threads run, and large
//! images are decoded one or two at a time instead of once per thread.

use std::sync::{Condvar, Mutex};

/// Bytes all running large decodes may hold together.
pub(super) const TOTAL: u64 = 1 << 30;

/// Below this estimate a decode does not wait for the budget.
pub(super) const SMALL: u64 = 16 << 20;

static USED: Mutex<u64> = Mutex::new(0);
static FREED: Condvar = Condvar::new();

/// A share of the budget, returned when dropped.
#[derive(Debug)]
#[must_use = "the reservation ends when the permit is dropped"]
pub(super) struct Permit(u64);

/// Reserves `bytes` of the budget, waiting until they fit.
pub(super) fn reserve(bytes: u64) -> Permit {
    if bytes < SMALL {
        return Permit(0);
    }
    let want = bytes.min(TOTAL);
    let mut used = USED.lock().unwrap_or_else(|e| e.into_inner());
    while *used + want > TOTAL {
        used = FREED.wait(used).unwrap_or_else(|e| e.into_inner());
    }
    *used += want;
    Permit(want)
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.0 > 0 {
            let mut used = USED.lock().unwrap_or_else(|e| e.into_inner());
            *used -= self.0;
            FREED.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn large_reservations_never_exceed_the_budget_together() {
        static PEAK: AtomicU64 = AtomicU64::new(0);
        static NOW: AtomicU64 = AtomicU64::new(0);
        std::thread::scope(|s| {
            for _ in 0..6 {
                s.spawn(|| {
                    for _ in 0..20 {
                        let permit = reserve(TOTAL / 3 + 1);
                        let now = NOW.fetch_add(permit.0, Ordering::SeqCst) + permit.0;
                        PEAK.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        NOW.fetch_sub(permit.0, Ordering::SeqCst);
                    }
                    // Larger than everything: runs alone, does not deadlock.
                    drop(reserve(TOTAL * 4));
                });
            }
        });
        assert!(PEAK.load(Ordering::SeqCst) <= TOTAL);
        assert!(PEAK.load(Ordering::SeqCst) > TOTAL / 3);
        assert_eq!(reserve(SMALL - 1).0, 0);
    }
}
