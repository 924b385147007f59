//! The outputs a build writes into its set folder — the one place to add a
//! new kind of output.
//!
//! Each [`Output`] names the files it will write (they are listed in the set's
//! marker before any is written, and checked for clashes) and writes them into
//! the staging folder. The chosen images are one kind, placed by copy or link;
//! files whose bytes are already made (the lock manifest, pool.csv, the report,
//! the recipe copy, an HTML page) are another; files made while they are
//! written (the tensors, streamed) a third, behind [`Produce`]. The writer
//! knows none of their content: the producers are in [`crate::handoff`].

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{ExportError, LinkMode, Placement, io};
use crate::source::Location;

/// One part of what a build writes into its set folder.
#[derive(Debug, Clone)]
pub(crate) enum Output {
    /// The chosen images, copied or linked to their places (video frames are
    /// always copied).
    Images {
        /// Where each image goes.
        placements: Vec<Placement>,
        /// Copy, hard-link or symlink.
        mode: LinkMode,
    },
    /// Files made as they are written (the tensors: `calib.npy`, `calib.npz`,
    /// `raw/`).
    Stream(Arc<dyn Produce>),
    /// A file whose bytes are already made.
    File {
        /// Path inside the set folder.
        path: PathBuf,
        /// Its content.
        bytes: Vec<u8>,
    },
}

impl Output {
    /// The files this output writes, relative to the set folder.
    pub(crate) fn paths(&self) -> Vec<PathBuf> {
        match self {
            Output::Images { placements, .. } => {
                placements.iter().map(|p| p.dest.clone()).collect()
            }
            Output::Stream(job) => job.paths(),
            Output::File { path, .. } => vec![path.clone()],
        }
    }

    /// Progress steps of writing it: one per image placed or preprocessed.
    pub(crate) fn steps(&self) -> u64 {
        match self {
            Output::Images { placements, .. } => placements.len() as u64,
            Output::Stream(job) => job.steps(),
            Output::File { .. } => 0,
        }
    }

    /// Writes this output into `dir` (the staging folder), calling `progress`
    /// for every image placed and looking at `cancel` before each. An object
    /// in a store whose bytes `previous` (the set being replaced) holds at the
    /// same place is copied from there.
    pub(super) fn write(
        &self,
        dir: &Path,
        previous: Option<&Path>,
        cancel: &AtomicBool,
        progress: &mut dyn FnMut(),
    ) -> Result<(), ExportError> {
        match self {
            Output::Images { placements, mode } => {
                let mut made: HashSet<PathBuf> = HashSet::new();
                // Objects in a store are fetched ahead, many at a time, in
                // placement order (copy is their only mode), unless the set
                // being replaced holds their bytes.
                let kept: Vec<Option<PathBuf>> = placements
                    .iter()
                    .map(|p| {
                        let hash = p
                            .content_hash
                            .filter(|_| Location::of(&p.source).read_ahead())?;
                        let old = previous?.join(&p.dest);
                        holds(&old, &hash).then_some(old)
                    })
                    .collect();
                let objects: Vec<PathBuf> = placements
                    .iter()
                    .zip(&kept)
                    .filter(|(p, k)| Location::of(&p.source).read_ahead() && k.is_none())
                    .map(|(p, _)| p.source.clone())
                    .collect();
                let fetched = (!objects.is_empty())
                    .then(|| crate::source::remote::fetch_all(objects, u64::MAX, None));
                for (p, kept) in placements.iter().zip(&kept) {
                    if cancel.load(Ordering::Relaxed) {
                        return Err(ExportError::Interrupted);
                    }
                    let dest = dir.join(&p.dest);
                    if let Some(parent) = dest.parent()
                        && made.insert(parent.to_owned())
                    {
                        std::fs::create_dir_all(parent).map_err(io("create", parent))?;
                    }
                    match (kept, &fetched) {
                        (Some(old), _) => {
                            crate::source::copy(old, &dest)
                                .map_err(|e| io("copy", old)(e.into_io()))?;
                        }
                        (None, Some(fetched)) if Location::of(&p.source).read_ahead() => {
                            let (_, read) = fetched.next(cancel).ok_or(ExportError::Interrupted)?;
                            let bytes = read.map_err(|e| io("download", &p.source)(e.into_io()))?;
                            p.check_measured(blake3::hash(&bytes).as_bytes())?;
                            write_new(&dest, &bytes).map_err(io("write", &dest))?;
                        }
                        _ => {
                            let mode = if p.always_copy { LinkMode::Copy } else { *mode };
                            if let Some(copied) = place(&p.source, &dest, mode)? {
                                p.check_measured(&copied)?;
                            }
                        }
                    }
                    progress();
                }
                Ok(())
            }
            Output::Stream(job) => {
                job.write(dir, cancel, progress)
                    .map_err(|e| match cancel.load(Ordering::Relaxed) {
                        true => ExportError::Interrupted,
                        false => ExportError::Produce(e),
                    })
            }
            Output::File { path, bytes } => {
                let path = dir.join(path);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(io("create", parent))?;
                }
                write_new(&path, bytes).map_err(io("write", &path))
            }
        }
    }
}

/// Why a [`Produce`] could not make its files: the producer's own error.
pub(crate) type ProduceError = Box<dyn std::error::Error + Send + Sync>;

/// Files made while they are written, into the staging folder: what the
/// writer needs of a producer whose content is too large to hold (the
/// tensors).
pub(crate) trait Produce: std::fmt::Debug + Send + Sync {
    /// The files it writes, relative to the set folder (listed in the marker
    /// before any is written).
    fn paths(&self) -> Vec<PathBuf>;
    /// Progress steps of writing them.
    fn steps(&self) -> u64;
    /// Writes them into `dir`, calling `progress` per step and stopping with
    /// an error soon after `cancel` is set.
    fn write(
        &self,
        dir: &Path,
        cancel: &AtomicBool,
        progress: &mut dyn FnMut(),
    ) -> Result<(), ProduceError>;
}

/// Whether `path` is a regular file (not a link) holding the bytes whose
/// blake3 is `hash`.
fn holds(path: &Path, hash: &[u8; 32]) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
        && crate::source::read_bytes(path, crate::source::LIST_LIMIT)
            .is_ok_and(|bytes| blake3::hash(&bytes).as_bytes() == hash)
}

/// Writes `bytes` to the new file `path`. `create_new`: a name that clashes
/// with a placed image (maybe a hard link to a source) fails instead of
/// writing through it.
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
}

/// Places `source` at `dest` by `mode`; for a copy, returns the blake3 of the
/// bytes copied.
fn place(source: &Path, dest: &Path, mode: LinkMode) -> Result<Option<[u8; 32]>, ExportError> {
    match mode {
        LinkMode::Copy => crate::source::copy(source, dest)
            .map(Some)
            .map_err(|e| io("copy", source)(e.into_io())),
        LinkMode::Hardlink => std::fs::hard_link(source, dest)
            .map(|()| None)
            .map_err(io("hard-link", source)),
        LinkMode::Symlink => {
            let target = std::fs::canonicalize(source).map_err(io("resolve", source))?;
            symlink(&target, dest)
                .map(|()| None)
                .map_err(io("symlink", source))
        }
    }
}

impl Placement {
    /// What was written for this placement must be what was measured: a
    /// source rewritten since would make the lock manifest lie about the set.
    fn check_measured(&self, written: &[u8; 32]) -> Result<(), ExportError> {
        match self.content_hash {
            Some(measured) if &measured != written => Err(ExportError::Changed {
                path: self.source.clone(),
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(windows)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::windows::fs::symlink_file(target, link)
}
