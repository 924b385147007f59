//! calibset builds the calibration image set for INT8 post-training
//! quantization from a TOML recipe.
//!
//! The pipeline, one module per step:
//! [`recipe`] → [`scan`] → [`bucket`] (with [`manifest`]) → [`features`] (with
//! [`cache`]) → [`dedup`] → [`select`] → [`export`] → [`report`], driven by
//! [`pipeline::build`]. The library never prints: progress goes through
//! [`progress::Progress`], results come back as a [`report::Report`].

pub mod annotations;
pub mod audit;
pub mod bucket;
pub mod cache;
pub mod cancel;
pub mod decode;
pub mod dedup;
pub mod export;
pub mod features;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzz;
pub mod html;
pub mod label;
pub mod manifest;
pub mod paths;
pub mod pattern;
pub mod pipeline;
pub mod pool;
pub mod progress;
pub mod recipe;
pub mod report;
pub mod rng;
pub mod select;
pub mod sequence;
pub mod source;
pub mod stability;
pub mod video;

pub use pipeline::{BuildError, BuildOptions, build};
pub use recipe::{Recipe, RecipeError};
pub use report::{Report, Status};
