//! What a set holds besides its images' bytes, made for the writer
//! ([`crate::export`]): where each image goes ([`layout`]), the lock manifest
//! and pool list ([`tables`]), low-bitrate re-saves ([`resave`]), the
//! preprocessed tensors ([`tensors`]) and the files each quantizer reads
//! ([`formats`]).
//!
//! Every producer returns [`Output`]s (or the placements and bytes they are
//! made of) and writes nothing itself; the writer stages, lists and swaps
//! them in. A new output format is a function here returning its outputs,
//! and a recipe key that asks for it.
//!
//! [`Output`]: crate::export::Output

mod formats;
mod layout;
mod resave;
mod tables;
mod tensors;

use std::path::PathBuf;

pub use formats::Format;
pub(crate) use formats::{Calibration, Chosen, Exports, outputs};
pub use layout::Layout;
pub(crate) use layout::{placements, source_column};
pub(crate) use resave::{Resave, ResavePlan, picks as resave_picks, resaves};
pub(crate) use tables::{lock_manifest, pool_list};

/// Why a file of the set could not be made.
#[derive(Debug, thiserror::Error)]
pub enum HandoffError {
    /// A chosen image could not be preprocessed for the tensor exports.
    #[error("cannot preprocess {} for the tensor export: {message}", path.display())]
    Tensor {
        /// The image.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A chosen image could not be re-saved as a low-bitrate JPEG.
    #[error("cannot re-save {} as a JPEG of quality {quality}: {message}", path.display())]
    Resave {
        /// The image.
        path: PathBuf,
        /// The JPEG quality asked for.
        quality: u8,
        /// Why.
        message: String,
    },
    /// A tensor file could not be written.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Interrupted before completion.
    #[error("interrupted")]
    Interrupted,
}

/// Maps an I/O error on `path` to [`HandoffError::Io`].
fn io<'a>(
    action: &'static str,
    path: &'a std::path::Path,
) -> impl FnOnce(std::io::Error) -> HandoffError + 'a {
    move |source| HandoffError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}
