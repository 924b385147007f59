//! The model in the loop: the FP32 model run on the set's tensors, the
//! activation ranges a quantizer would calibrate, and the tables each
//! toolchain imports them from.

#[allow(dead_code)]
pub(crate) mod tables;
