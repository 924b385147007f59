//! Where each chosen image goes in the set folder: by bucket, flat or mirrored,
//! with names that keep the source's bytes and never collide.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::export::Placement;
use crate::paths;
use crate::pool::PoolImage;
use crate::select::Selection;

/// How files are arranged in the output folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// `normal/`, `hard/`, `background/`, with flattened names (default).
    #[default]
    ByBucket,
    /// One folder, flattened names.
    Flat,
    /// The source tree relative to the recipe directory (a root outside it:
    /// the root's tree under its name).
    Mirror,
}

/// A flattened file name, byte for byte: `frames/cam01/day/1.jpg` →
/// `frames__cam01__day__1.jpg` (a `..` becomes `_up_`).
pub(super) fn flat_name(rel: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::new();
    for (i, c) in rel.components().enumerate() {
        if i > 0 {
            name.push("__");
        }
        match c {
            std::path::Component::ParentDir => name.push("_up_"),
            other => name.push(other.as_os_str()),
        }
    }
    PathBuf::from(name)
}

/// The source tree below the recipe folder, byte for byte (a `..` becomes
/// `_up_`).
pub(super) fn mirror_path(rel: &Path) -> PathBuf {
    rel.components()
        .map(|c| match c {
            std::path::Component::ParentDir => "_up_".as_ref(),
            other => other.as_os_str(),
        })
        .collect()
}

/// Assigns output paths, appending `~2`, `~3`, … before the extension where two
/// would collide (compared case-insensitively, for case-insensitive file systems).
pub(super) fn unique_paths(wanted: impl IntoIterator<Item = PathBuf>) -> Vec<PathBuf> {
    let mut taken: HashSet<String> = HashSet::new();
    wanted
        .into_iter()
        .map(|p| {
            let mut candidate = p.clone();
            let mut n = 1;
            while !taken.insert(paths::escaped(&candidate).to_lowercase()) {
                n += 1;
                let stem = p.file_stem().unwrap_or_default().to_string_lossy();
                let name = match p.extension() {
                    Some(ext) => format!("{stem}~{n}.{}", ext.to_string_lossy()),
                    None => format!("{stem}~{n}"),
                };
                candidate = p.with_file_name(name);
            }
            candidate
        })
        .collect()
}

/// The image's path relative to the recipe folder `base`, exactly (its `rel`
/// is the lossy text patterns match): for a video frame, `VIDEO/NNNNNN.jpg`.
pub(super) fn exact_rel(img: &PoolImage, base: &Path) -> PathBuf {
    match &img.file.frame_of {
        Some(f) => {
            let frame = img.file.rel.rsplit('/').next().unwrap_or_default();
            paths::relative(&f.video, base).join(frame)
        }
        None => lock_rel(img, base),
    }
}

/// An image's name in the lock manifest ([`FileEntry::name_in_set`]).
///
/// [`FileEntry::name_in_set`]: crate::source::FileEntry::name_in_set
fn lock_rel(img: &PoolImage, base: &Path) -> PathBuf {
    img.file.name_in_set(base)
}

/// What the lock's `source` and pool.csv's `path` columns say of an image: its
/// exact path relative to `base` (a frame's video), [`paths::escaped`].
pub(crate) fn source_column(img: &PoolImage, base: &Path) -> String {
    match &img.file.frame_of {
        Some(f) => paths::escaped(&paths::relative(&f.video, base)),
        None => paths::escaped(&lock_rel(img, base)),
    }
}

/// The image's name in output layouts, exactly: [`paths::RootNames::rel`] of
/// its path (a video frame: of its video, then `NNNNNN.jpg`).
fn named_rel(img: &PoolImage, names: &paths::RootNames) -> PathBuf {
    match &img.file.frame_of {
        Some(f) => {
            let frame = img.file.rel.rsplit('/').next().unwrap_or_default();
            names.rel(&f.video).join(frame)
        }
        None => names.rel(&img.file.path),
    }
}

/// Where every pick goes, by layout, collision-free, in pick order. Names keep
/// the source's bytes; images in a root outside the recipe folder go by the
/// root's name (`names`), so `mirror` mirrors each root's tree.
pub(crate) fn placements(
    images: &[PoolImage],
    sel: &Selection,
    layout: Layout,
    names: &paths::RootNames,
) -> Vec<Placement> {
    let wanted = sel.picks.iter().map(|p| {
        let rel = named_rel(&images[p.image], names);
        match layout {
            Layout::ByBucket => PathBuf::from(p.bucket.as_str()).join(flat_name(&rel)),
            Layout::Flat => flat_name(&rel),
            Layout::Mirror => mirror_path(&rel),
        }
    });
    unique_paths(wanted)
        .into_iter()
        .zip(&sel.picks)
        .map(|(dest, pick)| {
            let image = &images[pick.image];
            let file = &image.file;
            Placement {
                source: file.path.clone(),
                dest,
                always_copy: file.frame_of.is_some(),
                content_hash: Some(image.features.content_hash),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_flat_and_unique() {
        assert_eq!(
            flat_name(Path::new("frames/cam01/day/1.jpg")),
            Path::new("frames__cam01__day__1.jpg")
        );
        assert_eq!(
            flat_name(Path::new("../data/1.jpg")),
            Path::new("_up___data__1.jpg")
        );
        let got = unique_paths(["a/x.jpg", "a/X.jpg", "a/x.jpg", "b/x.jpg"].map(PathBuf::from));
        assert_eq!(
            got,
            ["a/x.jpg", "a/X~2.jpg", "a/x~3.jpg", "b/x.jpg"].map(PathBuf::from)
        );
    }
}
