//! The source layer: where the pool's bytes come from. Every listing of the
//! roots ([`scan`]), every stat ([`Version`]) and every read of input ([`read_bytes`],
//! [`read_text`]) goes through this module, so the stages never touch the file
//! system for input and do not know where their bytes come from.
//!
//! Today the only source is the local file system. Another kind of root — an
//! object store, an archive, a remote index — is added here: its listing yields
//! the same [`FileEntry`] values (with its own version key), its reads the same
//! bytes, and nothing downstream changes.

mod read;
mod walk;

pub use read::{
    CACHE_LIMIT, LABEL_LIMIT, LIST_LIMIT, MARKER_LIMIT, RECIPE_LIMIT, ReadError, copy, files_in,
    read_bytes, read_head, read_text, stat,
};
#[cfg(test)]
pub(crate) use walk::is_video_path;
pub use walk::{FileEntry, FrameOf, Scan, ScanError, Version, Walk, scan};
