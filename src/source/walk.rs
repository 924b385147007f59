//! Listing the pool: walks the recipe's roots and lists every image and video
//! file, sorted, with the [`Version`] the cache keys on.
//!
//! Hidden files and folders (names starting with `.`) are skipped, and only
//! known image and video extensions are kept (any case). Symlinks are counted
//! but not followed unless asked ([`Walk::follow_symlinks`]); followed, a loop
//! is a reported issue and a link leading outside every root is refused unless
//! [`Walk::allow_outside`]. What is in a file is not looked at here; see
//! [`crate::features`].

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use walkdir::WalkDir;

use crate::paths;
use crate::pattern::PathPattern;

/// Extensions treated as images (compared case-insensitively).
pub(super) const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "bmp", "webp", "tif", "tiff"];

/// The video a frame was extracted from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FrameOf {
    /// The video file (absolute, normalised).
    pub video: PathBuf,
    /// The video's path relative to the recipe directory, `/`-separated.
    pub video_rel: String,
    /// The frame's presentation time in seconds.
    pub time: f64,
}

/// One image file found on disk (or a frame extracted from a video).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FileEntry {
    /// Absolute, normalised path.
    pub path: PathBuf,
    /// Path relative to the recipe directory (in a root outside it: the root's
    /// name, then the path inside it), `/`-separated: what patterns match.
    pub rel: String,
    /// Size and modification time: what the feature cache keys on.
    pub version: Version,
    /// For a video frame: where it came from. Its `rel` is then
    /// `VIDEO_REL/NNNNNN.jpg`, as if the video were a folder of frames.
    pub frame_of: Option<FrameOf>,
}

/// A problem met while walking that does not stop the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WalkIssue {
    /// The path that could not be read.
    pub path: PathBuf,
    /// The error.
    pub message: String,
}

/// Why a scan could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// A root folder does not exist.
    #[error("source root {} does not exist; check `roots` under [sources]", path.display())]
    MissingRoot {
        /// The root as resolved against the recipe directory.
        path: PathBuf,
    },
    /// A root exists but is not a folder.
    #[error("source root {} is not a folder", path.display())]
    RootNotAFolder {
        /// The root as resolved against the recipe directory.
        path: PathBuf,
    },
    /// An object-store prefix holds no object at all (a misspelt bucket or
    /// prefix looks like this).
    #[error("source root {} holds no object; check the bucket and prefix under `roots` in [sources]", path.display())]
    EmptyPrefix {
        /// The root.
        path: PathBuf,
    },
    /// An object-store root could not be listed (credentials, endpoint,
    /// bucket).
    #[error(transparent)]
    Remote(#[from] super::remote::RemoteError),
    /// Interrupted while walking.
    #[error("interrupted")]
    Interrupted,
}

/// The result of walking every root.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Image files, sorted by path, each listed once.
    pub files: Vec<FileEntry>,
    /// Video files, sorted by path.
    pub videos: Vec<FileEntry>,
    /// Entries that could not be read.
    pub issues: Vec<WalkIssue>,
    /// Files skipped because an `exclude` pattern matched.
    pub excluded: usize,
    /// Symlinks with an image or video name that were not followed.
    pub symlinks_skipped: usize,
}

/// How to walk the roots.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Walk {
    /// Follow symlinks to images and folders.
    pub follow_symlinks: bool,
    /// Let a followed symlink lead outside every root.
    pub allow_outside: bool,
}

/// Video file extensions treated as videos (case-insensitive).
pub(super) const VIDEO_EXTENSIONS: &[&str] =
    &["mp4", "mkv", "avi", "mov", "h264", "264", "webm", "m4v"];

/// Whether `path` has one of the [`VIDEO_EXTENSIONS`] (case-insensitive).
pub(crate) fn is_video_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| VIDEO_EXTENSIONS.iter().any(|v| v.eq_ignore_ascii_case(e)))
}

/// Whether `path` has an image extension.
pub(super) fn is_image_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// Walks `roots` (absolute, normalised) and lists their images; `base` is the
/// recipe directory that relative paths are taken against (an image in a root
/// outside it goes by [`paths::RootNames`]). Looks at `cancel`
/// for every entry.
pub(crate) fn scan(
    roots: &[PathBuf],
    base: &Path,
    exclude: &[PathPattern],
    walk: Walk,
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<Scan, ScanError> {
    let mut out = Scan::default();
    let names = paths::RootNames::new(roots, base);
    let real_roots: Vec<PathBuf> = roots
        .iter()
        .map(|r| std::fs::canonicalize(r).unwrap_or_else(|_| r.clone()))
        .collect();
    for root in roots {
        if paths::is_object_url(root) {
            list_objects(root, &names, exclude, &mut out, cancel)?;
            continue;
        }
        match std::fs::metadata(root) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(ScanError::RootNotAFolder { path: root.clone() }),
            Err(_) => return Err(ScanError::MissingRoot { path: root.clone() }),
        }
        walk_folder(root, &names, exclude, walk, &real_roots, &mut out, cancel)?;
    }
    for list in [&mut out.files, &mut out.videos] {
        list.sort_by(|a, b| a.path.cmp(&b.path));
        list.dedup_by(|a, b| a.path == b.path);
    }
    Ok(out)
}

/// What one directory entry of a local root became.
enum Found {
    Image(FileEntry),
    Video(FileEntry),
    Issue(WalkIssue),
    Excluded,
}

/// Walks the folder `root` into `out`. The directories are read in order on
/// this thread; the per-file work (symlink checks, names, `exclude`, the
/// `stat` behind [`Version`]) runs on the rayon pool, in blocks, and is merged
/// back in walk order: at 100,000 files the `stat`s alone took 0.3 s.
fn walk_folder(
    root: &Path,
    names: &paths::RootNames,
    exclude: &[PathPattern],
    walk: Walk,
    real_roots: &[PathBuf],
    out: &mut Scan,
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<(), ScanError> {
    use rayon::prelude::*;
    /// Entries handed to the pool at once.
    const BLOCK: usize = 8192;
    let walker = WalkDir::new(root)
        .follow_links(walk.follow_symlinks)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !is_hidden(e.file_name()));
    // Hands the pending entries to the pool and merges what they became into
    // `out`, in walk order.
    let settle = |pending: &mut Vec<Pending>, out: &mut Scan| {
        let found: Vec<Found> = pending
            .par_drain(..)
            .map(|step| match step {
                Err(issue) => Found::Issue(issue),
                Ok((entry, video)) => look_at(&entry, video, names, exclude, walk, real_roots),
            })
            .collect();
        for f in found {
            match f {
                Found::Image(file) => out.files.push(file),
                Found::Video(file) => out.videos.push(file),
                Found::Issue(issue) => out.issues.push(issue),
                Found::Excluded => out.excluded += 1,
            }
        }
    };
    let mut pending = Vec::new();
    for entry in walker {
        if crate::cancel::check(cancel).is_err() {
            return Err(ScanError::Interrupted);
        }
        let Some(step) = classify(entry, root, out) else {
            continue;
        };
        pending.push(step);
        if pending.len() == BLOCK {
            settle(&mut pending, out);
        }
    }
    settle(&mut pending, out);
    Ok(())
}

/// A directory entry for the pool to look at: an image or video file (and
/// whether it is a video), or what is wrong with it.
type Pending = Result<(walkdir::DirEntry, bool), WalkIssue>;

/// What walking under `root` makes of `entry`, on the walking thread: `None`
/// for one that is neither an image nor a video file, or a symlink (counted in
/// `out`).
fn classify(
    entry: walkdir::Result<walkdir::DirEntry>,
    root: &Path,
    out: &mut Scan,
) -> Option<Pending> {
    let entry = match entry {
        Ok(e) => e,
        Err(e) => {
            // Named as files are (normalised), the cause without
            // walkdir's repetition of the path.
            return Some(Err(WalkIssue {
                path: paths::normalize(e.path().unwrap_or(root)),
                message: walk_message(&e),
            }));
        }
    };
    let video = is_video_path(entry.path());
    if !(video || is_image_path(entry.path())) {
        return None;
    }
    if entry.file_type().is_symlink() {
        // Not followed (a followed link reports its target's type).
        out.symlinks_skipped += 1;
        return None;
    }
    if entry.file_type().is_dir() {
        return None;
    }
    if !entry.file_type().is_file() {
        // A FIFO, socket or device named like an image is never read
        // (reading could block or never end), but it is reported.
        return Some(Err(WalkIssue {
            path: paths::normalize(entry.path()),
            message: format!(
                "not a regular file (it is a {}): not read",
                super::read::type_name(entry.file_type())
            ),
        }));
    }
    Some(Ok((entry, video)))
}

/// Why walking failed at an entry: a symlink loop, or the operating system's
/// error (`Permission denied (os error 13)`), without the path.
fn walk_message(e: &walkdir::Error) -> String {
    if let Some(ancestor) = e.loop_ancestor() {
        return format!(
            "a symlink loop: it leads back to {}",
            paths::normalize(ancestor).display()
        );
    }
    match e.io_error() {
        Some(io) if io.raw_os_error() == Some(libc::ELOOP) => {
            format!("a symlink that loops (it points to itself, or a chain back to itself): {io}")
        }
        Some(io) => io.to_string(),
        None => e.to_string(),
    }
}

/// The per-file half of [`walk_folder`].
fn look_at(
    entry: &walkdir::DirEntry,
    video: bool,
    names: &paths::RootNames,
    exclude: &[PathPattern],
    walk: Walk,
    real_roots: &[PathBuf],
) -> Found {
    if entry.path_is_symlink() && !walk.allow_outside {
        let target = std::fs::canonicalize(entry.path());
        if !target
            .as_ref()
            .is_ok_and(|t| real_roots.iter().any(|r| t.starts_with(r)))
        {
            return Found::Issue(WalkIssue {
                path: entry.path().to_owned(),
                message: format!(
                    "symlink leads outside the roots (to {}); set sources.allow_outside = true to read it",
                    target.map_or_else(|e| e.to_string(), |t| t.display().to_string())
                ),
            });
        }
    }
    let path = paths::normalize(entry.path());
    let rel = paths::slash(&names.rel(&path));
    if exclude.iter().any(|p| p.is_match(&rel)) {
        return Found::Excluded;
    }
    match entry.metadata() {
        Ok(meta) => {
            let file = FileEntry {
                path,
                rel,
                version: Version::of(&meta),
                frame_of: None,
            };
            if video {
                Found::Video(file)
            } else {
                Found::Image(file)
            }
        }
        Err(e) => Found::Issue(WalkIssue {
            path,
            message: e.to_string(),
        }),
    }
}

/// Lists the images under the object-store prefix `root` into `out`, as
/// [`scan`] does for a folder: hidden names and other extensions skipped,
/// `exclude` applied to the image's name. Videos are reported, not listed:
/// frames are extracted from local files only.
fn list_objects(
    root: &Path,
    names: &paths::RootNames,
    exclude: &[PathPattern],
    out: &mut Scan,
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<(), ScanError> {
    let keep = |inner: &str| {
        !inner.split('/').any(|s| s.starts_with('.'))
            && (is_image_path(Path::new(inner)) || is_video_path(Path::new(inner)))
    };
    let listed = super::remote::list(root, &keep, cancel)?;
    crate::cancel::check(cancel).map_err(|_| ScanError::Interrupted)?;
    if listed.seen == 0 {
        return Err(ScanError::EmptyPrefix {
            path: root.to_owned(),
        });
    }
    for (path, version) in listed.objects {
        let rel = paths::slash(&names.rel(&path));
        if exclude.iter().any(|p| p.is_match(&rel)) {
            out.excluded += 1;
        } else if is_video_path(&path) {
            out.issues.push(WalkIssue {
                path,
                message: "a video in an object store is not read: extract its frames into the store, or copy it to a local root".to_owned(),
            });
        } else {
            out.files.push(FileEntry {
                path,
                rel,
                version,
                frame_of: None,
            });
        }
    }
    Ok(())
}

/// One version of a file's content, as far as the listing can tell without
/// reading it: its size and modification time. The feature cache reuses what
/// it measured when the version is the same, and checks the content hash when
/// only the time moved. An object in an object store adds a hash of its ETag
/// and version id ([`Version::tag`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Version {
    /// Size in bytes.
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch (0 when unknown).
    pub modified_ns: i128,
    /// For an object: the first 8 bytes of the blake3 of its ETag and version
    /// id, which change whenever the object is written. 0 for a local file.
    pub tag: u64,
}

impl Version {
    /// The version of a file with metadata `meta`.
    pub(crate) fn of(meta: &std::fs::Metadata) -> Self {
        Version {
            size: meta.len(),
            modified_ns: meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i128),
            tag: 0,
        }
    }
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_images_sorted_skipping_hidden_and_excluded() {
        let dir = tempfile::tempdir().unwrap();
        let base = paths::normalize(dir.path());
        for p in [
            "r/b/2.JPG",
            "r/a/1.png",
            "r/a/notes.txt",
            "r/.hidden/3.jpg",
            "r/a/.4.jpg",
            "r/tmp/5.jpeg",
            "r/b/clip.MP4",
        ] {
            let p = base.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        let exclude = [PathPattern::new("**/tmp/**").unwrap()];
        let roots = [base.join("r"), base.join("r/a")];
        let scan = scan(
            &roots,
            &base,
            &exclude,
            Walk::default(),
            &crate::cancel::NEVER,
        )
        .unwrap();
        let rels: Vec<_> = scan.files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(rels, ["r/a/1.png", "r/b/2.JPG"]);
        assert_eq!(scan.excluded, 1);
        assert_eq!(scan.videos.len(), 1);
        assert_eq!(scan.videos[0].rel, "r/b/clip.MP4");
        assert_eq!(scan.files[0].version.size, 1);
    }

    #[test]
    fn an_interrupted_walk_stops() {
        let dir = tempfile::tempdir().unwrap();
        let set = std::sync::atomic::AtomicBool::new(true);
        let scanned = scan(
            &[dir.path().to_owned()],
            dir.path(),
            &[],
            Walk::default(),
            &set,
        );
        assert!(matches!(scanned, Err(ScanError::Interrupted)));
    }

    #[test]
    fn missing_root_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = scan(
            &[dir.path().join("nope")],
            dir.path(),
            &[],
            Walk::default(),
            &crate::cancel::NEVER,
        )
        .unwrap_err();
        assert!(err.to_string().contains("nope"));
    }
}
