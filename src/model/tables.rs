//! The range tables each toolchain imports, written from the probe's ranges
//! (one `[lo, hi]` per tensor, for the method the set hands off).
//!
//! Being written by a helper session; see the interface below.

use crate::export::Calibration;

/// One tensor's calibrated range, keyed by its ONNX tensor name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Range<'a> {
    /// The ONNX tensor name (a node output, or the graph input).
    pub name: &'a str,
    /// Lower bound of the range.
    pub lo: f32,
    /// Upper bound of the range.
    pub hi: f32,
}

/// ONNX Runtime's calibration cache, as `onnxruntime.quantization.calibrate
/// .save_tensors_data` writes it, for `quantize_static(...,
/// calibration_cache_path=...)`.
pub(crate) fn ort_calibration(_method: Calibration, _ranges: &[Range<'_>]) -> Vec<u8> {
    todo!()
}

/// `TensorQuantOverrides` for `quantize_static(extra_options=...)`.
pub(crate) fn ort_overrides(_ranges: &[Range<'_>]) -> Vec<u8> {
    todo!()
}

/// A TensorRT calibration cache (`TRT-…-EntropyCalibration2`).
pub(crate) fn tensorrt_cache(_ranges: &[Range<'_>]) -> Vec<u8> {
    todo!()
}

/// QNN/SNPE `--quantization_overrides` (AIMET encodings JSON).
pub(crate) fn qnn_encodings(_ranges: &[Range<'_>]) -> Vec<u8> {
    todo!()
}
