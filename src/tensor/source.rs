//! Where the tensors' images come from, and one image's tensor: its bytes
//! decoded once at full resolution, upright, then [`Spec::apply`].

use std::path::PathBuf;

use super::Spec;
use crate::decode::{self, Format, Limits, Request};

/// Where one image of the set comes from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A file (the chosen image's source).
    File(PathBuf),
    /// Bytes made by the build (a low-bitrate re-save).
    Bytes(std::sync::Arc<Vec<u8>>),
}

impl Source {
    /// A name for messages.
    pub(crate) fn name(&self) -> PathBuf {
        match self {
            Source::File(p) => p.clone(),
            Source::Bytes(_) => PathBuf::from("(re-save)"),
        }
    }
}

/// One image's tensor as `spec` makes it, from its bytes decoded once; the
/// error says why in words.
pub(crate) fn preprocess(source: &Source, spec: &Spec, limits: &Limits) -> Result<Vec<u8>, String> {
    let read;
    let bytes: &[u8] = match source {
        Source::File(path) => {
            read = crate::features::read(path, limits).map_err(|e| e.to_string())?;
            &read
        }
        Source::Bytes(bytes) => bytes,
    };
    let format = Format::sniff(bytes).ok_or_else(|| "not an image".to_owned())?;
    let raster = decode::decode(bytes, format, Request::Full, limits).map_err(|e| e.to_string())?;
    let rgb = match raster.rgb {
        Some(rgb) => rgb,
        None => raster.grey.iter().flat_map(|&v| [v, v, v]).collect(),
    };
    Ok(spec.apply(&rgb, raster.width, raster.height))
}
