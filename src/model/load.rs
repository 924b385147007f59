//! Loading an ONNX model with `tract-onnx`, a pure-Rust runtime (no native
//! library to download at build time), with every float tensor a quantizer
//! calibrates made an output.
//!
//! Which tensors: like ONNX Runtime's `CalibraterBase.select_tensors_to_calibrate`,
//! every float node output plus the graph input, keyed by its ONNX tensor name,
//! those computed from constants alone (a detection head's anchor grid)
//! included: ONNX Runtime quantizes them too. Initializers are left out. The file's value-info shapes are
//! ignored (exporters write symbolic ones tract cannot always reconcile); the
//! input fact comes from `[tensor]`, which must agree with the input the file
//! declares.

use std::path::{Path, PathBuf};

#[cfg(not(feature = "model"))]
use super::absent as runtime;
#[cfg(feature = "model")]
use super::runtime;
use crate::tensor::Spec;

/// Why a model could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file could not be read or is not an ONNX model.
    #[error("model {}: not an ONNX model ({message})", path.display())]
    NotOnnx {
        /// The model file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// The graph does not have exactly one input.
    #[error(
        "model {}: has {count} inputs ({names}); calibset feeds one image tensor, so the model must have one input",
        path.display()
    )]
    Inputs {
        /// The model file.
        path: PathBuf,
        /// How many.
        count: usize,
        /// Their names.
        names: String,
    },
    /// The input's element type is not float32.
    #[error("model {}: input `{input}` is {dtype}; calibset feeds float32 tensors", path.display())]
    InputType {
        /// The model file.
        path: PathBuf,
        /// The input's name.
        input: String,
        /// Its ONNX element type.
        dtype: String,
    },
    /// The input's declared shape disagrees with `[tensor]`.
    #[error(
        "model {}: input `{input}` is {model_shape}, but [tensor] makes {tensor_shape} ({hint})",
        path.display()
    )]
    InputShape {
        /// The model file.
        path: PathBuf,
        /// The input's name.
        input: String,
        /// The shape the model declares (`?` for a free dimension).
        model_shape: String,
        /// The shape `[tensor]` gives.
        tensor_shape: String,
        /// What to change.
        hint: String,
    },
    /// `[tensor] input` names another input than the model's.
    #[error(
        "model {}: its input is `{model}`, but [tensor] input = \"{tensor}\"; set tensor.input = \"{model}\"",
        path.display()
    )]
    InputName {
        /// The model file.
        path: PathBuf,
        /// The model's input name.
        model: String,
        /// `tensor.input`.
        tensor: String,
    },
    /// An operator tract does not implement.
    #[error(
        "model {}: operator {op} (node `{node}`) is not supported by the model runtime (tract-onnx {TRACT_VERSION})",
        path.display()
    )]
    Operator {
        /// The model file.
        path: PathBuf,
        /// The ONNX op type.
        op: String,
        /// The first node using it.
        node: String,
    },
    /// The runtime could not type or plan the graph.
    #[error("model {}: cannot be run by the model runtime: {message}", path.display())]
    Plan {
        /// The model file.
        path: PathBuf,
        /// The runtime's message (its chain of causes).
        message: String,
    },
    /// Running the model on one image failed.
    #[error("model {} failed on {}: {message}", path.display(), image.display())]
    Run {
        /// The model file.
        path: PathBuf,
        /// The image.
        image: PathBuf,
        /// The runtime's message.
        message: String,
    },
    /// This calibset was built without the Cargo feature `model`.
    #[error(
        "model {}: this calibset was built without the model runtime (Cargo feature `model`); install one with it: cargo install --locked --path . (default features)",
        path.display()
    )]
    NotBuilt {
        /// The model file.
        path: PathBuf,
    },
    /// Ctrl-C or a termination signal.
    #[error("interrupted")]
    Interrupted,
    /// An image of the set could not be read or decoded for the probe.
    #[error("cannot probe {}: {message}", image.display())]
    Image {
        /// The image.
        image: PathBuf,
        /// Why.
        message: String,
    },
}

/// The `tract-onnx` version, for messages.
pub(super) const TRACT_VERSION: &str = "0.23";

/// One calibrated tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TensorInfo {
    /// The ONNX tensor name, as ONNX Runtime and TensorRT name it.
    pub name: String,
    /// The op type of the node that makes it (`Input` for the graph input).
    pub op: String,
    /// That node's name.
    pub node: String,
}

/// One ONNX node, for the graph walks of the float-kept tensors.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// Its op type.
    pub op: String,
    /// Its input tensor names.
    pub inputs: Vec<String>,
    /// Its output tensor names.
    pub outputs: Vec<String>,
}

/// A loaded model, ready to run on one image at a time from any thread.
#[derive(Debug)]
pub(crate) struct Model {
    /// The model file.
    pub path: PathBuf,
    /// blake3 of the file.
    pub hash: [u8; 32],
    /// The input's shape (batch 1).
    pub input_shape: Vec<usize>,
    /// The calibrated tensors: the graph input first, then the plan's outputs
    /// in order.
    pub tensors: Vec<TensorInfo>,
    /// The graph's nodes, in file order.
    pub nodes: Vec<Node>,
    pub(super) plan: runtime::Plan,
}

impl Model {
    /// Loads `path` for tensors made by `spec`.
    pub(crate) fn load(path: &Path, spec: &Spec) -> Result<Model, ModelError> {
        runtime::load(path, spec)
    }

    /// Runs the model on one input tensor (`input_shape`, float32), handing
    /// the calibrated tensors' values to `each` in [`Model::tensors`] order
    /// after the input (which the caller has), with that index less one.
    pub(crate) fn run(
        &self,
        input: Vec<f32>,
        each: &mut dyn FnMut(usize, &[f32]),
    ) -> Result<(), String> {
        self.plan.run(&self.input_shape, input, each)
    }
}
