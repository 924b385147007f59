//! The ownership marker: the `.calibset` file that lists every file a build
//! wrote, and the two questions it answers — may this folder be replaced, and
//! which of its files may be deleted.
//!
//! Nothing is ever deleted on the strength of a folder's name alone: a file goes
//! only when the marker beside it lists it, and a folder only when it is empty.

use std::collections::HashSet;
use std::path::Path;

use super::{ExportError, io};

/// File whose presence marks a folder as calibset's output.
pub(crate) const MARKER: &str = ".calibset";

/// Head of the [`MARKER`] file; the files written follow, one [`entry`] per line.
pub(super) const MARKER_HEAD: &str = "This folder was written by calibset. `calibset build --force` may replace it.\n\
     Files it wrote, %-escaped (anything else here stops --force):\n";

/// How a file `rel` (relative to the output folder) is listed in the marker:
/// [`crate::paths::escaped`], so distinct paths never share a line and no name
/// can split into two lines.
pub(super) fn entry(rel: &Path) -> String {
    crate::paths::escaped(rel)
}

/// The marker's text for a build that wrote `files`.
pub(super) fn listing<'a>(files: impl IntoIterator<Item = &'a Path>) -> String {
    let mut text = String::from(MARKER_HEAD);
    for rel in files {
        text.push_str(&entry(rel));
        text.push('\n');
    }
    text
}

/// The entries `dir`'s marker lists; `Ok(None)` when `dir` has no marker.
fn listed(dir: &Path, out: &Path) -> Result<Option<HashSet<String>>, ExportError> {
    let marker = dir.join(MARKER);
    if !marker.is_file() {
        return Ok(None);
    }
    let text = crate::source::read_text(&marker, crate::source::MARKER_LIMIT)
        .map_err(|e| io("read", &marker)(e.into_io()))?;
    let Some(list) = text.strip_prefix(MARKER_HEAD) else {
        return Err(ExportError::Unlisted {
            path: out.to_owned(),
        });
    };
    Ok(Some(list.lines().map(str::to_owned).collect()))
}

/// What a folder at the output path is, as far as replacing it goes.
#[derive(Debug)]
pub(super) enum Occupant {
    /// An empty folder: nothing to lose.
    Empty,
    /// calibset's output, every file listed in its marker.
    Ours,
}

/// Judges the folder `dir` that sits (or sat) at the output path `out`: empty,
/// or calibset's own with nothing unlisted (and then only with `force`).
/// Anything else is an error naming `out`.
pub(super) fn judge(dir: &Path, out: &Path, force: bool) -> Result<Occupant, ExportError> {
    match listed(dir, out)? {
        Some(listed) => {
            if !force {
                return Err(ExportError::Exists {
                    path: out.to_owned(),
                });
            }
            let foreign = unlisted(dir, &listed)?;
            match foreign.first() {
                None => Ok(Occupant::Ours),
                Some(first) => Err(ExportError::NotOnlyOurs {
                    path: out.to_owned(),
                    count: foreign.len(),
                    first: first.clone(),
                }),
            }
        }
        None => {
            let empty = std::fs::read_dir(dir)
                .map_err(io("read", dir))?
                .next()
                .is_none();
            if empty {
                Ok(Occupant::Empty)
            } else {
                Err(ExportError::Foreign {
                    path: out.to_owned(),
                })
            }
        }
    }
}

/// Entries under `dir` (relative, as [`entry`] writes them) that `listed` does
/// not name: files it does not list, and empty folders no listed file is in.
fn unlisted(dir: &Path, listed: &HashSet<String>) -> Result<Vec<String>, ExportError> {
    let mut foreign = Vec::new();
    for e in walkdir::WalkDir::new(dir).min_depth(1).sort_by_file_name() {
        let e = e.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_owned();
            io("read", &path)(e.into())
        })?;
        let rel = entry(e.path().strip_prefix(dir).unwrap_or(e.path()));
        let ours = if e.file_type().is_dir() {
            // A folder is judged by its files; only an empty one on its own.
            let prefix = format!("{rel}/");
            listed.iter().any(|f| f.starts_with(&prefix))
                || std::fs::read_dir(e.path()).is_ok_and(|mut d| d.next().is_some())
        } else {
            rel == MARKER || listed.contains(&rel)
        };
        if !ours {
            foreign.push(rel);
        }
    }
    Ok(foreign)
}

/// Deletes what calibset wrote in `dir` — the files its marker lists, then the
/// folders left empty, then the marker and `dir` itself — and nothing else.
/// Returns how many entries had to stay (files someone else put there, and the
/// folders holding them); `dir` is gone only when that is 0.
pub(super) fn remove_own(dir: &Path) -> Result<usize, ExportError> {
    let Some(listed) = listed(dir, dir)? else {
        // Without a marker nothing here is known to be calibset's, unless empty.
        return Ok(usize::from(std::fs::remove_dir(dir).is_err()));
    };
    let mut kept = 0;
    let walk = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .contents_first(true)
        .sort_by_file_name();
    for e in walk {
        let e = e.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_owned();
            io("read", &path)(e.into())
        })?;
        let rel = entry(e.path().strip_prefix(dir).unwrap_or(e.path()));
        if rel == MARKER {
            continue;
        }
        let gone = if e.file_type().is_dir() {
            std::fs::remove_dir(e.path()).is_ok()
        } else {
            listed.contains(&rel) && std::fs::remove_file(e.path()).is_ok()
        };
        kept += usize::from(!gone);
    }
    if kept == 0 {
        std::fs::remove_file(dir.join(MARKER)).map_err(io("remove", &dir.join(MARKER)))?;
        std::fs::remove_dir(dir).map_err(io("remove", dir))?;
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_one_line_and_distinct() {
        assert_eq!(entry(Path::new("normal/a b.jpg")), "normal/a b.jpg");
        assert_eq!(entry(Path::new("n/odd\nname%.jpg")), "n/odd%0Aname%25.jpg");
        assert_eq!(entry(Path::new("夜间.jpg")), "夜间.jpg");
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let raw = std::ffi::OsStr::from_bytes(b"x\xFF\xE5.jpg");
            assert_eq!(entry(Path::new(raw)), "x%FF%E5.jpg");
            let lossy = std::ffi::OsStr::from_bytes(b"x\xFE\xE5.jpg");
            assert_ne!(entry(Path::new(raw)), entry(Path::new(lossy)));
        }
    }

    #[test]
    fn removes_listed_files_and_keeps_everything_else() {
        let dir = tempfile::tempdir().unwrap();
        let set = dir.path().join("set");
        for f in ["normal/a.jpg", "hard/b.jpg", "manifest.csv"] {
            let p = set.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        let files = ["normal/a.jpg", "hard/b.jpg", "manifest.csv"].map(Path::new);
        std::fs::write(set.join(MARKER), listing(files)).unwrap();
        std::fs::write(set.join("hard/mine.txt"), b"precious").unwrap();
        assert_eq!(remove_own(&set).unwrap(), 2, "mine.txt and hard/ stay");
        assert_eq!(
            std::fs::read(set.join("hard/mine.txt")).unwrap(),
            b"precious"
        );
        assert!(!set.join("normal").exists());
        assert!(!set.join("hard/b.jpg").exists());
        assert!(set.join(MARKER).exists(), "the marker stays while files do");
        std::fs::remove_file(set.join("hard/mine.txt")).unwrap();
        assert_eq!(remove_own(&set).unwrap(), 0);
        assert!(!set.exists());
    }

    #[test]
    fn a_folder_without_marker_is_removed_only_when_empty() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("d");
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("x"), b"x").unwrap();
        assert_eq!(remove_own(&d).unwrap(), 1);
        assert!(d.join("x").exists());
        std::fs::remove_file(d.join("x")).unwrap();
        assert_eq!(remove_own(&d).unwrap(), 0);
        assert!(!d.exists());
    }
}
