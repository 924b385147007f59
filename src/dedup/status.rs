//! What became of each pool image once duplicates were removed and the set
//! chosen: the one status pool.csv, the audit and the visual report show.

use serde::Serialize;

use super::{Dedup, Removal};

/// What became of one pool image, as pool.csv, the audit and the visual report
/// say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImageStatus {
    /// In the set.
    Chosen,
    /// Distinct and eligible, but not needed.
    NotChosen,
    /// A byte-identical copy of a kept image.
    ExactDuplicate,
    /// A near duplicate of a kept image.
    NearDuplicate,
    /// A sequence frame outside the `every` sampling.
    NotSampled,
    /// A frame as alike as the threshold to the frame kept before it.
    ConsecutiveDuplicate,
}

impl ImageStatus {
    /// What became of image `i`, given the duplicates and the chosen images.
    pub fn of(dd: &Dedup, chosen: &std::collections::HashSet<usize>, i: usize) -> Self {
        match dd.removed[i] {
            Some(Removal::Exact { .. }) => ImageStatus::ExactDuplicate,
            Some(Removal::Near { .. }) => ImageStatus::NearDuplicate,
            Some(Removal::NotSampled) => ImageStatus::NotSampled,
            Some(Removal::Consecutive { .. }) => ImageStatus::ConsecutiveDuplicate,
            None if chosen.contains(&i) => ImageStatus::Chosen,
            None => ImageStatus::NotChosen,
        }
    }

    /// The status as written: `chosen`, `not-chosen`, `exact-duplicate`,
    /// `near-duplicate`, `not-sampled` or `consecutive-duplicate`.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageStatus::Chosen => "chosen",
            ImageStatus::NotChosen => "not-chosen",
            ImageStatus::ExactDuplicate => "exact-duplicate",
            ImageStatus::NearDuplicate => "near-duplicate",
            ImageStatus::NotSampled => "not-sampled",
            ImageStatus::ConsecutiveDuplicate => "consecutive-duplicate",
        }
    }
}
