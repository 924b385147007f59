//! Writing the set: copies, hard links or symlinks in a staging folder beside the
//! output, renamed into place only when complete.
//!
//! The output folder is calibset's when it holds the [`MARKER`] file, which lists
//! every file the build wrote. calibset refuses to write into a non-empty folder
//! without it, replaces its own earlier output only when asked (`--force`) and
//! only when the folder holds nothing but what the marker lists (a file someone
//! added stops it), and never writes outside the output folder except for its
//! staging folder beside it (`.NAME.calibset-*`, removed on failure or
//! interruption).

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

/// File whose presence marks a folder as calibset's output.
pub const MARKER: &str = ".calibset";

/// How chosen images get into the output folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkMode {
    /// Copy the bytes (default).
    #[default]
    Copy,
    /// Hard-link (same file system only).
    Hardlink,
    /// Symlink to the absolute source path.
    Symlink,
}

/// How files are arranged in the output folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// `normal/`, `hard/`, `background/`, with flattened names (default).
    #[default]
    ByBucket,
    /// One folder, flattened names.
    Flat,
    /// The source tree relative to the recipe directory.
    Mirror,
}

/// One file to place.
#[derive(Debug, Clone)]
pub struct Placement {
    /// The source image.
    pub source: PathBuf,
    /// Path inside the output folder.
    pub dest: PathBuf,
    /// Copy whatever the mode (the source is calibset's own, e.g. a video frame
    /// in a cache that may be rebuilt or a temporary folder).
    pub always_copy: bool,
}

/// Why the set could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The output exists and is not calibset's.
    #[error(
        "output folder {} is not empty and was not made by calibset (no {MARKER} file); choose another --out or empty it",
        path.display()
    )]
    Foreign {
        /// The output folder.
        path: PathBuf,
    },
    /// calibset's earlier output is there and `--force` was not given.
    #[error("output folder {} holds an earlier calibset build; pass --force to replace it", path.display())]
    Exists {
        /// The output folder.
        path: PathBuf,
    },
    /// calibset's earlier output holds files calibset did not write.
    #[error(
        "output folder {} holds {} file(s) calibset did not write (first: {}); move them out of it or choose another --out",
        path.display(), count, first
    )]
    NotOnlyOurs {
        /// The output folder.
        path: PathBuf,
        /// How many such files.
        count: usize,
        /// The first one, relative to the folder.
        first: String,
    },
    /// calibset's earlier output has a marker without a file list (an older version).
    #[error(
        "output folder {} was written by an older calibset that did not list its files; remove it by hand to rebuild there",
        path.display()
    )]
    Unlisted {
        /// The output folder.
        path: PathBuf,
    },
    /// The output path is a file.
    #[error("output path {} exists and is not a folder", path.display())]
    NotAFolder {
        /// The output path.
        path: PathBuf,
    },
    /// An I/O step failed.
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
    /// Interrupted before completion; nothing was left behind.
    #[error("interrupted")]
    Interrupted,
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> ExportError + 'a {
    move |source| ExportError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// A collision-free, flattened file name: `frames/cam01/day/1.jpg` → `frames__cam01__day__1.jpg`.
pub fn flat_name(rel: &str) -> String {
    rel.split('/')
        .map(|s| if s == ".." { "_up_" } else { s })
        .collect::<Vec<_>>()
        .join("__")
}

/// Assigns output paths, appending `~2`, `~3`, … before the extension where two
/// would collide (compared case-insensitively, for case-insensitive file systems).
pub fn unique_paths(wanted: impl IntoIterator<Item = PathBuf>) -> Vec<PathBuf> {
    let mut taken: HashSet<String> = HashSet::new();
    wanted
        .into_iter()
        .map(|p| {
            let mut candidate = p.clone();
            let mut n = 1;
            while !taken.insert(candidate.to_string_lossy().to_lowercase()) {
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

/// Checks that `out` may be written, before any work is done.
pub fn check_output(out: &Path, force: bool) -> Result<(), ExportError> {
    match std::fs::metadata(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io("inspect", out)(e)),
        Ok(m) if !m.is_dir() => Err(ExportError::NotAFolder {
            path: out.to_owned(),
        }),
        Ok(_) => {
            if out.join(MARKER).is_file() {
                if force {
                    only_ours(out)
                } else {
                    Err(ExportError::Exists {
                        path: out.to_owned(),
                    })
                }
            } else if std::fs::read_dir(out)
                .map_err(io("read", out))?
                .next()
                .is_none()
            {
                Ok(())
            } else {
                Err(ExportError::Foreign {
                    path: out.to_owned(),
                })
            }
        }
    }
}

/// Head of the [`MARKER`] file; the files written follow, one [`marker_entry`]
/// per line.
const MARKER_HEAD: &str = "This folder was written by calibset. `calibset build --force` may replace it.\n\
     Files it wrote, %-escaped (anything else here stops --force):\n";

/// How a file `rel` (relative to the output folder) is listed in the marker: its
/// components joined by `/`, with `%`, control characters and (in a name that is
/// not UTF-8) every non-ASCII byte written `%XX`. Distinct paths never share a
/// line, and no name can split into two lines.
fn marker_entry(rel: &Path) -> String {
    let mut out = String::new();
    for (i, c) in rel.components().enumerate() {
        if i > 0 {
            out.push('/');
        }
        let bytes = c.as_os_str().as_encoded_bytes();
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                for ch in text.chars() {
                    if ch == '%' || ch.is_control() {
                        let mut buf = [0u8; 4];
                        for b in ch.encode_utf8(&mut buf).bytes() {
                            out.push_str(&format!("%{b:02X}"));
                        }
                    } else {
                        out.push(ch);
                    }
                }
            }
            Err(_) => {
                for &b in bytes {
                    if b == b'%' || !(0x20..0x7F).contains(&b) {
                        out.push_str(&format!("%{b:02X}"));
                    } else {
                        out.push(char::from(b));
                    }
                }
            }
        }
    }
    out
}

/// Errors unless every file under `out` is listed in its marker.
fn only_ours(out: &Path) -> Result<(), ExportError> {
    let marker = out.join(MARKER);
    let text = std::fs::read_to_string(&marker).map_err(io("read", &marker))?;
    let Some(list) = text.strip_prefix(MARKER_HEAD) else {
        return Err(ExportError::Unlisted {
            path: out.to_owned(),
        });
    };
    let listed: HashSet<&str> = list.lines().collect();
    let mut foreign = Vec::new();
    for entry in walkdir::WalkDir::new(out).min_depth(1).sort_by_file_name() {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(out).to_owned();
            ExportError::Io {
                action: "read",
                source: e.into(),
                path,
            }
        })?;
        let rel = marker_entry(entry.path().strip_prefix(out).unwrap_or(entry.path()));
        let ours = if entry.file_type().is_dir() {
            // A folder is judged by its files; only an empty one on its own.
            let prefix = format!("{rel}/");
            listed.iter().any(|f| f.starts_with(&prefix))
                || std::fs::read_dir(entry.path()).is_ok_and(|mut d| d.next().is_some())
        } else {
            rel == MARKER || listed.contains(rel.as_str())
        };
        if !ours {
            foreign.push(rel);
        }
    }
    match foreign.first() {
        None => Ok(()),
        Some(first) => Err(ExportError::NotOnlyOurs {
            path: out.to_owned(),
            count: foreign.len(),
            first: first.clone(),
        }),
    }
}

/// Writes `placements` and the extra `files` (path inside `out`, bytes) into `out`.
pub fn export(
    out: &Path,
    placements: &[Placement],
    files: &[(&Path, Vec<u8>)],
    mode: LinkMode,
    force: bool,
    cancel: &AtomicBool,
    mut progress: impl FnMut(),
) -> Result<(), ExportError> {
    check_output(out, force)?;
    let parent = out.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io("create", parent))?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "calibset".into());
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}.calibset-"))
        .tempdir_in(parent)
        .map_err(io("create a staging folder in", parent))?;
    let mut made: HashSet<PathBuf> = HashSet::new();
    for p in placements {
        if cancel.load(Ordering::Relaxed) {
            return Err(ExportError::Interrupted);
        }
        let dest = staging.path().join(&p.dest);
        if let Some(dir) = dest.parent() {
            if made.insert(dir.to_owned()) {
                std::fs::create_dir_all(dir).map_err(io("create", dir))?;
            }
        }
        place(
            &p.source,
            &dest,
            if p.always_copy { LinkMode::Copy } else { mode },
        )?;
        progress();
    }
    for (file, bytes) in files {
        let path = staging.path().join(file);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io("create", dir))?;
        }
        // `create_new`: a name that clashes with a placed image (maybe a hard link
        // to a source) fails instead of writing through it.
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut f| f.write_all(bytes))
            .map_err(io("write", &path))?;
    }
    let mut listing = String::from(MARKER_HEAD);
    let written = placements
        .iter()
        .map(|p| marker_entry(&p.dest))
        .chain(files.iter().map(|(f, _)| marker_entry(f)));
    for rel in written {
        listing.push_str(&rel);
        listing.push('\n');
    }
    let marker = staging.path().join(MARKER);
    let mut m = std::fs::File::create(&marker).map_err(io("write", &marker))?;
    m.write_all(listing.as_bytes())
        .map_err(io("write", &marker))?;
    if cancel.load(Ordering::Relaxed) {
        return Err(ExportError::Interrupted);
    }
    swap_into_place(staging, out)
}

fn place(source: &Path, dest: &Path, mode: LinkMode) -> Result<(), ExportError> {
    match mode {
        LinkMode::Copy => std::fs::copy(source, dest)
            .map(drop)
            .map_err(io("copy", source)),
        LinkMode::Hardlink => std::fs::hard_link(source, dest).map_err(io("hard-link", source)),
        LinkMode::Symlink => {
            let target = std::fs::canonicalize(source).map_err(io("resolve", source))?;
            symlink(&target, dest).map_err(io("symlink", source))
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

/// Renames the finished staging folder to `out`, moving an earlier calibset
/// output (or an empty folder) aside first and deleting it only afterwards.
fn swap_into_place(staging: tempfile::TempDir, out: &Path) -> Result<(), ExportError> {
    let parent = out.parent().unwrap_or(Path::new("."));
    let old = if out.exists() {
        let aside = tempfile::Builder::new()
            .prefix(".calibset-old-")
            .tempdir_in(parent)
            .map_err(io("create a folder in", parent))?;
        let aside_path = aside.path().join("old");
        std::fs::rename(out, &aside_path).map_err(io("move aside", out))?;
        Some((aside, aside_path))
    } else {
        None
    };
    let staged = staging.keep();
    if let Err(e) = std::fs::rename(&staged, out) {
        if let Some((_, aside_path)) = &old {
            let _ = std::fs::rename(aside_path, out);
        }
        let _ = std::fs::remove_dir_all(&staged);
        return Err(io("move into place", out)(e));
    }
    // Dropping the aside folder deletes the earlier output.
    drop(old);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_flat_and_unique() {
        assert_eq!(
            flat_name("frames/cam01/day/1.jpg"),
            "frames__cam01__day__1.jpg"
        );
        assert_eq!(flat_name("../data/1.jpg"), "_up___data__1.jpg");
        let got = unique_paths(["a/x.jpg", "a/X.jpg", "a/x.jpg", "b/x.jpg"].map(PathBuf::from));
        assert_eq!(
            got,
            ["a/x.jpg", "a/X~2.jpg", "a/x~3.jpg", "b/x.jpg"].map(PathBuf::from)
        );
    }

    #[test]
    fn refuses_foreign_and_needs_force_for_own() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        check_output(&out, false).unwrap();
        std::fs::create_dir(&out).unwrap();
        check_output(&out, false).unwrap();
        std::fs::write(out.join("mine.txt"), b"precious").unwrap();
        assert!(matches!(
            check_output(&out, true),
            Err(ExportError::Foreign { .. })
        ));
        std::fs::write(out.join(MARKER), "This folder was written by calibset.\n").unwrap();
        assert!(matches!(
            check_output(&out, true),
            Err(ExportError::Unlisted { .. })
        ));
        std::fs::write(out.join(MARKER), MARKER_HEAD).unwrap();
        assert!(matches!(
            check_output(&out, false),
            Err(ExportError::Exists { .. })
        ));
        // The marker does not list mine.txt: --force must not delete it.
        assert!(matches!(
            check_output(&out, true),
            Err(ExportError::NotOnlyOurs { count: 1, ref first, .. }) if first == "mine.txt"
        ));
        std::fs::write(out.join(MARKER), format!("{MARKER_HEAD}mine.txt\n")).unwrap();
        check_output(&out, true).unwrap();
    }

    #[test]
    fn interrupted_export_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("a.jpg");
        std::fs::write(&src, b"img").unwrap();
        let out = dir.path().join("out");
        let cancel = AtomicBool::new(true);
        let placements = [Placement {
            source: src,
            dest: "a.jpg".into(),
            always_copy: false,
        }];
        let e = export(
            &out,
            &placements,
            &[],
            LinkMode::Copy,
            false,
            &cancel,
            || {},
        );
        assert!(matches!(e, Err(ExportError::Interrupted)));
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only the source remains");
    }

    #[test]
    fn replaces_own_output_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("a.jpg");
        std::fs::write(&src, b"img").unwrap();
        let out = dir.path().join("out");
        let cancel = AtomicBool::new(false);
        let placements = [Placement {
            source: src.clone(),
            dest: "normal/a.jpg".into(),
            always_copy: false,
        }];
        let files = [(Path::new("manifest.csv"), b"x\n".to_vec())];
        export(
            &out,
            &placements,
            &files,
            LinkMode::Copy,
            false,
            &cancel,
            || {},
        )
        .unwrap();
        assert_eq!(std::fs::read(out.join("normal/a.jpg")).unwrap(), b"img");
        assert!(out.join(MARKER).is_file());
        // A file added to the set, or an empty folder, stops --force.
        for added in ["normal/notes.txt", "extra/"] {
            let path = out.join(added);
            if added.ends_with('/') {
                std::fs::create_dir(&path).unwrap();
            } else {
                std::fs::write(&path, b"mine").unwrap();
            }
            assert!(matches!(
                check_output(&out, true),
                Err(ExportError::NotOnlyOurs { .. })
            ));
            if path.is_dir() {
                std::fs::remove_dir(&path).unwrap();
            } else {
                std::fs::remove_file(&path).unwrap();
            }
        }
        let placements = [Placement {
            source: src,
            dest: "flat.jpg".into(),
            always_copy: false,
        }];
        export(
            &out,
            &placements,
            &files,
            LinkMode::Symlink,
            true,
            &cancel,
            || {},
        )
        .unwrap();
        assert!(!out.join("normal").exists());
        assert!(
            out.join("flat.jpg")
                .symlink_metadata()
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "no staging or old folder left: {names:?}");
    }

    #[test]
    fn marker_entries_are_one_line_and_distinct() {
        assert_eq!(marker_entry(Path::new("normal/a b.jpg")), "normal/a b.jpg");
        assert_eq!(
            marker_entry(Path::new("n/odd\nname%.jpg")),
            "n/odd%0Aname%25.jpg"
        );
        assert_eq!(marker_entry(Path::new("夜间.jpg")), "夜间.jpg");
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let raw = std::ffi::OsStr::from_bytes(b"x\xFF\xE5.jpg");
            assert_eq!(marker_entry(Path::new(raw)), "x%FF%E5.jpg");
            let lossy = std::ffi::OsStr::from_bytes(b"x\xFE\xE5.jpg");
            assert_ne!(marker_entry(Path::new(raw)), marker_entry(Path::new(lossy)));
        }
    }

    #[test]
    fn an_extra_file_never_writes_through_a_placed_one() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("a.jpg");
        std::fs::write(&src, b"img").unwrap();
        let placements = [Placement {
            source: src.clone(),
            dest: "normal/a.jpg".into(),
            always_copy: false,
        }];
        let files = [(Path::new("normal/a.jpg"), b"<html>".to_vec())];
        let out = dir.path().join("out");
        let e = export(
            &out,
            &placements,
            &files,
            LinkMode::Hardlink,
            false,
            &AtomicBool::new(false),
            || {},
        );
        assert!(matches!(e, Err(ExportError::Io { .. })));
        assert_eq!(std::fs::read(&src).unwrap(), b"img");
        assert!(!out.exists());
    }
}
