//! The source layer: where the pool's bytes come from. Every listing of the
//! roots ([`scan`]), every stat ([`Version`]) and every read of input ([`read_bytes`],
//! [`read_text`]) goes through this module, so the stages never touch the file
//! system for input and do not know where their bytes come from.
//!
//! Two kinds of source exist: the local file system, and object stores
//! (`s3://bucket/prefix/` roots, [`remote`]). An object's path is its URL; its
//! listing yields the same [`FileEntry`] values (with the ETag in its
//! [`Version`]), its reads the same bytes, and nothing downstream changes.
//! What does differ by kind (linking, reading ahead, the name in a set, how a
//! missing root is told) is asked of [`Location`], never of a path's text.
//! Another kind of root (an archive, another store) is added the same way: a
//! variant of [`Location`] and its reads here.

mod location;
mod read;
pub(crate) mod remote;
mod verify;
mod walk;

pub(crate) use location::Location;
pub(crate) use read::{
    CACHE_LIMIT, LABEL_LIMIT, LIST_LIMIT, MARKER_LIMIT, RECIPE_LIMIT, ReadError, copy, files_in,
    read_all, read_bytes, read_head, read_text, read_texts, stat,
};
pub(crate) use verify::{Drift, VerifyError, drift};
pub(crate) use walk::is_video_path;
pub(crate) use walk::{FileEntry, FrameOf, Scan, ScanError, Version, Walk, scan};

use std::path::PathBuf;

use crate::pattern::PathPattern;

/// Where images come from.
#[derive(Debug, Clone)]
pub struct Sources {
    /// `roots`: folders walked for images, resolved against the recipe directory.
    pub roots: Vec<PathBuf>,
    /// `manifest`: optional CSV whose rows bucket, tag and name the camera of images.
    pub manifest: Option<PathBuf>,
    /// `exclude`: patterns of paths to skip.
    pub exclude: Vec<PathPattern>,
    /// `allow_outside`: let manifest rows name files outside the manifest's
    /// folder, and followed symlinks lead outside the roots. Default false.
    pub allow_outside: bool,
    /// `follow_symlinks`: read symlinked images and folders (git-annex, DVC).
    /// Default false: they are counted and reported, not read.
    pub follow_symlinks: bool,
}

impl Sources {
    /// How the walk treats symlinks.
    pub(crate) fn walk(&self) -> Walk {
        Walk {
            follow_symlinks: self.follow_symlinks,
            allow_outside: self.allow_outside,
        }
    }
}
