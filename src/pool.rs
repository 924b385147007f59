//! The pool: every usable image with its labels and features, in path order.

use crate::bucket::Labels;
use crate::features::Features;
use crate::scan::FileEntry;

/// One usable image.
#[derive(Debug, Clone)]
pub struct PoolImage {
    /// Where it is.
    pub file: FileEntry,
    /// Bucket, tags, camera.
    pub labels: Labels,
    /// What is in it.
    pub features: Features,
}

impl PoolImage {
    /// The folder holding the image: frames of one sequence share it.
    pub fn folder(&self) -> &std::path::Path {
        self.file.path.parent().unwrap_or(std::path::Path::new(""))
    }
}
