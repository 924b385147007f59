//! Running the model on the set: each image decoded and preprocessed as the
//! hand-off tensors are, run FP32 at batch 1, in parallel on the rayon pool
//! (one image in flight per worker), every calibrated tensor summarised and
//! added to its half's histograms. The activations of an image are dropped as
//! soon as they are counted, so memory is the model's working set per worker
//! plus fixed-size histograms.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

use rayon::prelude::*;

use super::load::{Model, ModelError, TensorInfo};
use super::stats::{Histogram, Summary};
use crate::decode::Limits;
use crate::label::Bucket;
use crate::pool::PoolImage;
use crate::rng::SplitMix64;
use crate::tensor::Source;
use crate::tensor::{Dtype, Spec};

/// One image to probe.
#[derive(Debug, Clone)]
pub(crate) struct ProbeImage {
    /// Where its bytes are.
    pub source: Source,
    /// Its path in the set, for the report.
    pub name: PathBuf,
    /// Its bucket, for the halves and the report.
    pub bucket: Option<Bucket>,
    /// Its tags, for the coverage report.
    pub tags: Vec<String>,
}

impl ProbeImage {
    /// The image at `source`, named `name`, in `bucket` (where it was chosen,
    /// or its own), with the tags of the pool image it is (or re-saves).
    pub(crate) fn new(
        source: Source,
        name: PathBuf,
        bucket: Option<Bucket>,
        of: Option<&PoolImage>,
    ) -> Self {
        ProbeImage {
            source,
            name,
            bucket,
            tags: of
                .map(|img| img.labels.tags.iter().cloned().collect())
                .unwrap_or_default(),
        }
    }
}

/// What the probe measured.
#[derive(Debug)]
pub(super) struct Probe {
    /// The calibrated tensors.
    pub tensors: Vec<TensorInfo>,
    /// Per image (in the order given), per tensor.
    pub summaries: Vec<Vec<Summary>>,
    /// Per image: which half (0 or 1) of the seeded split it is in.
    pub half_of: Vec<u8>,
    /// Per half, per tensor.
    pub halves: [Vec<Histogram>; 2],
}

impl Probe {
    /// Per tensor, the whole set's histogram.
    pub(super) fn whole(&self) -> Vec<Histogram> {
        self.halves[0]
            .iter()
            .zip(&self.halves[1])
            .map(|(a, b)| {
                let mut h = a.clone();
                h.merge(b);
                h
            })
            .collect()
    }
}

/// The seeded split of `images` into two halves, balanced per bucket: within
/// each bucket the images are shuffled and dealt alternately.
pub(super) fn halves(images: &[ProbeImage], seed: u64) -> Vec<u8> {
    let mut half_of = vec![0u8; images.len()];
    let mut next = 0u8;
    for bucket in [
        Some(Bucket::Normal),
        Some(Bucket::Hard),
        Some(Bucket::Background),
        None,
    ] {
        let mut members: Vec<usize> = (0..images.len())
            .filter(|&i| images[i].bucket == bucket)
            .collect();
        members.sort_by(|&a, &b| images[a].name.cmp(&images[b].name));
        SplitMix64::new(seed, 0x5052_4f42).shuffle(&mut members);
        for i in members {
            half_of[i] = next;
            next ^= 1;
        }
    }
    half_of
}

/// Runs `model` on `images` preprocessed by `spec`; `progress` is called once
/// per image.
pub(super) fn probe(
    model: &Model,
    images: &[ProbeImage],
    spec: &Spec,
    limits: &Limits,
    seed: u64,
    cancel: &AtomicBool,
    progress: &(dyn Fn() + Sync),
) -> Result<Probe, ModelError> {
    let n = model.tensors.len();
    let half_of = halves(images, seed);
    let spare: Mutex<Vec<[Vec<Histogram>; 2]>> = Mutex::new(Vec::new());
    let summaries: Vec<Result<Vec<Summary>, ModelError>> = images
        .par_iter()
        .with_max_len(1)
        .enumerate()
        .map(|(i, image)| {
            if crate::cancel::check(cancel).is_err() {
                return Err(ModelError::Interrupted);
            }
            let input = input(image, spec, limits)?;
            let mut acc = spare
                .lock()
                .expect("no probe worker panics holding the lock")
                .pop()
                .unwrap_or_else(|| [vec![Histogram::default(); n], vec![Histogram::default(); n]]);
            let half = &mut acc[usize::from(half_of[i])];
            let mut rows = Vec::with_capacity(n);
            let first = Summary::of(&input);
            half[0].add(&input, first.abs_max());
            rows.push(first);
            model
                .run(input, &mut |k, values| {
                    let s = Summary::of(values);
                    half[k + 1].add(values, s.abs_max());
                    rows.push(s);
                })
                .map_err(|message| ModelError::Run {
                    path: model.path.clone(),
                    image: image.name.clone(),
                    message,
                })?;
            spare
                .lock()
                .expect("no probe worker panics holding the lock")
                .push(acc);
            progress();
            Ok(rows)
        })
        .collect();
    let summaries = summaries.into_iter().collect::<Result<Vec<_>, _>>()?;
    let mut halves = [vec![Histogram::default(); n], vec![Histogram::default(); n]];
    for acc in spare.into_inner().expect("the workers are done") {
        for (whole, part) in halves.iter_mut().zip(acc) {
            for (h, p) in whole.iter_mut().zip(&part) {
                h.merge(p);
            }
        }
    }
    Ok(Probe {
        tensors: model.tensors.clone(),
        summaries,
        half_of,
        halves,
    })
}

/// One image's input tensor as float32.
fn input(image: &ProbeImage, spec: &Spec, limits: &Limits) -> Result<Vec<f32>, ModelError> {
    let bytes = crate::tensor::preprocess(&image.source, spec, limits).map_err(|message| {
        ModelError::Image {
            image: image.name.clone(),
            message,
        }
    })?;
    Ok(match spec.dtype {
        Dtype::Float32 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::Float16 => bytes
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::Uint8 => bytes.iter().map(|&b| f32::from(b)).collect(),
        Dtype::Int8 => bytes.iter().map(|&b| f32::from(b as i8)).collect(),
    })
}
