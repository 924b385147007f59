//! The model in the loop: the FP32 model run on the set's tensors, the
//! activation ranges a quantizer would calibrate from them, how stable they
//! are between the set's halves, which images set them, and the range tables
//! each toolchain imports.
//!
//! [`load`] reads the ONNX file with `tract-onnx` (`runtime.rs`; without the
//! Cargo feature `model`, `absent.rs` refuses every model); [`probe`] runs it on every
//! image of the set; [`analysis`] turns the counts into the report section and
//! `ranges.json`; [`tables`] writes the toolchains' files.

#[cfg(not(feature = "model"))]
mod absent;
mod analysis;
mod coverage;
mod load;
mod probe;
#[cfg(feature = "model")]
mod runtime;
mod stats;
pub(crate) mod tables;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

pub(crate) use analysis::Analysis;
pub use analysis::ModelReport;
pub(crate) use load::{Model, ModelError};
pub(crate) use probe::ProbeImage;

use crate::decode::Limits;
use crate::handoff::Calibration;
use crate::tensor::Spec;

/// Name of calibset's own range file in the set.
pub(crate) const RANGES_FILE: &str = "ranges.json";
/// `[model]`: the FP32 model the set calibrates.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPlan {
    /// `path`, resolved against the recipe's folder.
    pub path: PathBuf,
    /// `method` (with `percentile`): the method the range tables use; `None`
    /// follows the report's advice.
    pub method: Option<Calibration>,
    /// `coverage`: distinct pool images probed to check the set's ranges
    /// against (0: none).
    pub coverage: usize,
}

/// Default `model.coverage`.
pub(crate) const DEFAULT_COVERAGE: usize = 300;

/// Runs `model` on `images` (preprocessed by `spec`) and analyses the
/// activations for `method` (Entropy falls back to the default Percentile,
/// which the tables can express); `method_from_recipe` says who chose it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn check(
    model: &Model,
    spec: &Spec,
    images: &[ProbeImage],
    limits: &Limits,
    seed: u64,
    method: Calibration,
    method_from_recipe: bool,
    cancel: &AtomicBool,
    progress: &(dyn Fn() + Sync),
) -> Result<Analysis, ModelError> {
    let probe = probe::probe(model, images, spec, limits, seed, cancel, progress)?;
    let method = match method {
        Calibration::Entropy => Calibration::default(),
        m => m,
    };
    Ok(analysis::analyse(
        model,
        &probe,
        images,
        method,
        method_from_recipe,
    ))
}

/// The pool images the coverage check probes: a seeded sample of up to `n`
/// of the distinct pool's `candidates`, stratified by bucket.
pub(crate) fn coverage_sample(candidates: Vec<ProbeImage>, n: usize, seed: u64) -> Vec<ProbeImage> {
    coverage::sample(candidates, n, seed)
}

/// Probes the pool's `sample` ([`coverage_sample`]) and adds to `analysis`
/// how the set's ranges cover it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn cover(
    model: &Model,
    spec: &Spec,
    analysis: &mut Analysis,
    sample: &[ProbeImage],
    limits: &Limits,
    seed: u64,
    cancel: &AtomicBool,
    progress: &(dyn Fn() + Sync),
) -> Result<(), ModelError> {
    let pool = probe::probe(model, sample, spec, limits, seed, cancel, progress)?;
    analysis.report.coverage = Some(coverage::compare(&analysis.ranges.tensors, &pool, sample));
    Ok(())
}

/// Loads the model only, to check it before anything else runs.
pub(crate) fn load(plan: &ModelPlan, spec: &Spec) -> Result<Model, ModelError> {
    Model::load(&plan.path, spec)
}

/// The files the analysis hands off, relative to the set folder:
/// `ranges.json` and the toolchains' tables, which leave out the tensors kept
/// in float.
pub(crate) fn files(analysis: &Analysis) -> Vec<(PathBuf, Vec<u8>)> {
    let r = &analysis.ranges;
    let method = match r.method.percentile {
        Some(p) => Calibration::Percentile(p),
        None => Calibration::MinMax,
    };
    let ranges: Vec<tables::Range<'_>> = r
        .tensors
        .iter()
        .filter(|t| !t.float)
        .map(|t| tables::Range {
            name: &t.name,
            lo: t.range[0],
            hi: t.range[1],
        })
        .collect();
    let mut json = serde_json::to_string_pretty(r).expect("the ranges serialise");
    json.push('\n');
    let path = |p: &str| Path::new(p).to_owned();
    vec![
        (path(RANGES_FILE), json.into_bytes()),
        (
            path(tables::ORT_CALIBRATION_FILE),
            tables::ort_calibration(method, &ranges),
        ),
        (
            path(tables::ORT_OVERRIDES_FILE),
            tables::ort_overrides(&ranges),
        ),
        (
            path(tables::TENSORRT_CACHE_FILE),
            tables::tensorrt_cache(&ranges),
        ),
        (
            path(tables::QNN_ENCODINGS_FILE),
            tables::qnn_encodings(&ranges),
        ),
    ]
}
