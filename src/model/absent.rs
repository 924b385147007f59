//! The model runtime in a calibset built without the Cargo feature `model`:
//! no model loads, so none runs.

use std::path::Path;

use super::load::{Model, ModelError};
use crate::tensor::Spec;

/// An optimised graph, which this calibset cannot have.
#[derive(Debug)]
pub(super) enum Plan {}

impl Plan {
    pub(super) fn run(
        &self,
        _shape: &[usize],
        _input: Vec<f32>,
        _each: &mut dyn FnMut(usize, &[f32]),
    ) -> Result<(), String> {
        match *self {}
    }
}

/// Refuses every model: there is no runtime to run it.
pub(super) fn load(path: &Path, _spec: &Spec) -> Result<Model, ModelError> {
    Err(ModelError::NotBuilt {
        path: path.to_owned(),
    })
}
