//! Progress reporting from the library to whatever front end draws it.
//!
//! The library never prints. Long stages call [`Progress`] methods; the binary
//! draws them with indicatif, tests pass [`NoProgress`].

/// A pipeline stage, for progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Walking the roots.
    Scan,
    /// Extracting video frames.
    Extract,
    /// Reading the feature cache.
    LoadCache,
    /// Decoding and measuring images.
    Measure,
    /// Labelling the measured images into the pool.
    Pool,
    /// Writing the feature cache back.
    SaveCache,
    /// Finding duplicates.
    Dedup,
    /// Choosing images.
    Select,
    /// Checking that the chosen files still hold what was measured.
    Verify,
    /// Running the model on the set's tensors.
    Probe,
    /// Assembling the report (and the visual report).
    Report,
    /// Writing the set.
    Export,
}

impl Stage {
    /// A short verb for display.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Scan => "scanning",
            Stage::Extract => "extracting",
            Stage::LoadCache => "loading the cache",
            Stage::Measure => "measuring",
            Stage::Pool => "pooling",
            Stage::SaveCache => "saving the cache",
            Stage::Dedup => "de-duplicating",
            Stage::Select => "selecting",
            Stage::Verify => "re-checking",
            Stage::Probe => "probing the model",
            Stage::Report => "reporting",
            Stage::Export => "writing",
        }
    }
}

/// Receives progress events. Implementations must be cheap and thread-safe.
pub trait Progress: Sync {
    /// A stage begins; `len` is its number of steps when known.
    fn start(&self, stage: Stage, len: Option<u64>);
    /// `n` more steps of the current stage are done.
    fn advance(&self, n: u64);
    /// The current stage is done.
    fn finish(&self);
}

/// Ignores all progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: Stage, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}
