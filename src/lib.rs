//! calibset builds the calibration image set for INT8 post-training
//! quantization from a TOML recipe.
//!
//! A build runs these stages, in this order ([`build`], `pipeline`):
//!
//! 1. `recipe` — parse and validate the recipe: every stage's settings.
//! 2. `inventory` — read the pool: list the roots (`source`), turn videos into
//!    frames (`video`), read the manifest and annotations (`manifest`,
//!    `annotations`), label every image (`bucket`), measure it in one decode
//!    (`decode`, `features`) through the feature cache (`cache`).
//! 3. `dedup` — exact copies, sequence sampling and consecutive frames, near
//!    duplicates.
//! 4. `select` — fill the quotas exactly (min-cost flow); `stability` then
//!    checks the chosen set.
//! 5. `report` — what was read, skipped, removed and chosen, and why a quota
//!    could not be met, built once from the complete plan; `html` draws it.
//!
//! `pipeline` resolves the recipe once into each stage's own settings
//! (`inventory::Settings`, `report::Settings`, …): those stages never see the
//! recipe.
//! 6. `handoff` — make what the set holds besides its images' bytes: where
//!    each image goes, the lock manifest and pool.csv, re-saves, the tensors
//!    and each quantizer's files, as outputs for the writer.
//! 7. `export` — the writer: stage every output under a lock, list it in the
//!    marker, swap the finished set into place.
//!
//! [`audit`] runs stages 1–5 without writing a set. Three extension points:
//! `source` (where bytes come from), `decode` (bytes to pixels) and
//! `export::Output` (what a set folder holds, made in `handoff`). Shared types live in leaf
//! modules: `label` (buckets and labels), `paths`, `pattern`, `rng`,
//! `cancel`, `progress`, `schema` (the JSON outputs' version).
//!
//! The library never prints and never imports clap: progress goes through
//! [`Progress`], results come back as a [`Report`] or an [`AuditReport`].

// Every public item is documented, and the public surface is what this file
// re-exports (everything else says `pub(crate)`): the compiler keeps both
// habits (CI denies warnings, with and without the default features).
#![warn(missing_docs, unreachable_pub)]

mod annotations;
mod audit;
mod bucket;
mod cache;
mod cancel;
mod decode;
mod dedup;
mod export;
mod feature_index;
mod features;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzz;
mod handoff;
mod html;
mod inventory;
mod label;
mod manifest;
mod model;
mod paths;
mod pattern;
mod pipeline;
mod pool;
mod progress;
mod recipe;
mod report;
mod rng;
mod schema;
mod select;
mod source;
mod stability;
mod tensor;
mod video;

pub use audit::{AuditOptions, AuditReport, Thresholds, audit};
pub use dedup::HashIndex;
pub use export::LinkMode;
pub use feature_index::{IndexError, Shard};
pub use handoff::{Format as ExportFormat, Layout};
pub use model::ModelReport;
pub use pipeline::{
    BuildError, BuildOptions, IndexOptions, IndexReport, ProbeOptions, build, check_output, index,
    probe,
};
pub use progress::{NoProgress, Progress, Stage};
pub use recipe::{Problem as RecipeProblem, Recipe, RecipeError};
pub use report::write_model;
pub use report::{Report, Status};
pub use schema::SCHEMA_VERSION;
