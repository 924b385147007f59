//! Writing the set: copies, hard links or symlinks in a staging folder beside the
//! output, renamed into place only when complete.
//!
//! The output folder is calibset's when it holds the [`MARKER`] file, which lists
//! every file the build wrote ([`marker`]). calibset refuses to write into a
//! non-empty folder without it, replaces its own earlier output only when asked
//! (`--force`) and only when the folder holds nothing but what the marker lists
//! (a file someone added stops it), and never writes outside the output folder
//! except beside it: its lock file and staging folder ([`lock`]).
//!
//! A build holds the [`OutputLock`] from before it checks the output until the
//! set is in place. The swap itself re-checks what it replaces at the moment it
//! moves it aside, and deletes the earlier set file by listed file, so a file
//! added during the build is never lost: the build fails instead.

mod lock;
mod marker;
mod output;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

pub(crate) use lock::OutputLock;
pub(crate) use marker::MARKER;
pub(crate) use output::{Output, Produce, ProduceError, write_new};

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

/// One file to place.
#[derive(Debug, Clone)]
pub(crate) struct Placement {
    /// The source image.
    pub source: PathBuf,
    /// Path inside the output folder.
    pub dest: PathBuf,
    /// Copy whatever the mode (the source is calibset's own, e.g. a video frame
    /// in a cache that may be rebuilt or a temporary folder).
    pub always_copy: bool,
    /// blake3 of the source's bytes, as measured: an object in a store whose
    /// bytes the set being replaced already holds at `dest` is copied from
    /// there instead of downloaded again.
    pub content_hash: Option<[u8; 32]>,
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
    /// Another build holds the output folder's lock.
    #[error(
        "another calibset build{} holds {}; wait for it to finish or choose another --out",
        pid.map(|p| format!(" (process {p})")).unwrap_or_default(),
        path.display()
    )]
    Busy {
        /// The output folder.
        path: PathBuf,
        /// The process holding the lock, when known.
        pid: Option<u32>,
    },
    /// The output path is a symbolic link.
    #[error("output path {} is a symbolic link; give the folder it points to as --out", path.display())]
    Symlink {
        /// The output path.
        path: PathBuf,
    },
    /// A file made while it was written could not be made (the producer's
    /// own error: [`crate::handoff::HandoffError`]).
    #[error(transparent)]
    Produce(ProduceError),
    /// A chosen source's bytes are no longer the ones measured: it was
    /// rewritten or truncated after the pool was read.
    #[error(
        "{} changed after it was measured (its blake3 differs from the measured one); nothing was written — run the build again to measure it anew",
        path.display()
    )]
    Changed {
        /// The source.
        path: PathBuf,
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

/// Checks that `out` may be written, before any work is done: absent, an empty
/// folder, or (with `force`) calibset's own output holding nothing unlisted.
pub(crate) fn check_output(out: &Path, force: bool) -> Result<(), ExportError> {
    match std::fs::symlink_metadata(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io("inspect", out)(e)),
        Ok(m) if m.file_type().is_symlink() => Err(ExportError::Symlink {
            path: out.to_owned(),
        }),
        Ok(m) if !m.is_dir() => Err(ExportError::NotAFolder {
            path: out.to_owned(),
        }),
        Ok(_) => marker::judge(out, out, force).map(drop),
    }
}

/// Writes `outputs` into the output folder `lock` holds: in a staging folder
/// beside it, whose marker lists every file the outputs will write before the
/// first is written, then renamed into place. Returns warnings for the report
/// (an earlier set that could not be removed completely).
pub(crate) fn export(
    lock: &OutputLock,
    outputs: &[Output],
    force: bool,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(),
) -> Result<Vec<String>, ExportError> {
    let out = lock.out();
    check_output(out, force)?;
    let parent = lock::parent_of(out);
    let staging = tempfile::Builder::new()
        .prefix(&lock::prefix_of(out))
        .rand_bytes(lock::RAND_CHARS)
        .tempdir_in(parent)
        .map_err(io("create a staging folder in", parent))?;
    // The marker goes first: a killed build's staging folder is then known to
    // be calibset's, file by file, and the next build can clear it.
    let paths: Vec<PathBuf> = outputs.iter().flat_map(Output::paths).collect();
    let listing = marker::listing(paths.iter().map(PathBuf::as_path));
    let marker_path = staging.path().join(MARKER);
    std::fs::write(&marker_path, listing).map_err(io("write", &marker_path))?;
    // The set being replaced (with --force) may hold bytes worth reusing.
    let previous = out.is_dir().then_some(out);
    for output in outputs {
        output.write(staging.path(), previous, cancel, progress)?;
    }
    if cancel.load(Ordering::Relaxed) {
        return Err(ExportError::Interrupted);
    }
    swap_into_place(staging, out, force)
}

/// Renames the finished staging folder to `out`. Whatever sits at `out` is
/// first moved aside and judged there, where nobody else writes any more: an
/// empty folder or (with `force`) calibset's own output is replaced and then
/// deleted file by listed file; anything else is moved back and the build fails.
fn swap_into_place(
    staging: tempfile::TempDir,
    out: &Path,
    force: bool,
) -> Result<Vec<String>, ExportError> {
    let parent = lock::parent_of(out);
    let mut warnings = Vec::new();
    let aside = match std::fs::symlink_metadata(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io("inspect", out)(e)),
        Ok(m) if m.file_type().is_symlink() => {
            return Err(ExportError::Symlink {
                path: out.to_owned(),
            });
        }
        Ok(_) => {
            let mut prefix = lock::prefix_of(out);
            prefix.push("old-");
            let holder = tempfile::Builder::new()
                .prefix(&prefix)
                .rand_bytes(lock::RAND_CHARS)
                .tempdir_in(parent)
                .map_err(io("create a folder in", parent))?
                .keep();
            let old = holder.join("old");
            if let Err(e) = std::fs::rename(out, &old) {
                let _ = std::fs::remove_dir(&holder);
                return Err(io("move aside", out)(e));
            }
            let verdict = if std::fs::symlink_metadata(&old).is_ok_and(|m| m.is_dir()) {
                marker::judge(&old, out, force).map(drop)
            } else {
                Err(ExportError::NotAFolder {
                    path: out.to_owned(),
                })
            };
            if let Err(e) = verdict {
                move_back(&old, &holder, out);
                return Err(e);
            }
            Some((holder, old))
        }
    };
    let staged = staging.keep();
    if let Err(e) = std::fs::rename(&staged, out) {
        let _ = marker::remove_own(&staged);
        if let Some((holder, old)) = &aside {
            move_back(old, holder, out);
        }
        return Err(io("move into place", out)(e));
    }
    if let Some((holder, old)) = aside {
        let kept = marker::remove_own(&old).unwrap_or(1);
        if kept > 0 || std::fs::remove_dir(&holder).is_err() {
            warnings.push(format!(
                "the earlier set in {} holds {kept} entr{} calibset did not write (added during the build); they were kept in {}",
                out.display(),
                if kept == 1 { "y" } else { "ies" },
                holder.display()
            ));
        }
    }
    Ok(warnings)
}

/// Puts what was moved aside from `out` back; if `out` has been taken
/// meanwhile, leaves it in `holder` (nothing is deleted either way).
fn move_back(old: &Path, holder: &Path, out: &Path) {
    if std::fs::rename(old, out).is_ok() {
        let _ = std::fs::remove_dir(holder);
    }
}

#[cfg(test)]
mod tests {
    use super::marker::{MARKER_HEAD, listing};
    use super::*;

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
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&out, &link).unwrap();
            assert!(matches!(
                check_output(&link, true),
                Err(ExportError::Symlink { .. })
            ));
        }
    }

    /// A source image and one placement of it at `dest`.
    fn one_image(dir: &Path, dest: &str) -> Vec<Placement> {
        let src = dir.join("a.jpg");
        std::fs::write(&src, b"img").unwrap();
        vec![Placement {
            source: src,
            dest: dest.into(),
            always_copy: false,
            content_hash: None,
        }]
    }

    /// The images as one output, then each file as its own.
    fn outputs(
        placements: &[Placement],
        files: &[(&Path, Vec<u8>)],
        mode: LinkMode,
    ) -> Vec<Output> {
        let images = Output::Images {
            placements: placements.to_vec(),
            mode,
        };
        let files = files.iter().map(|(path, bytes)| Output::File {
            path: path.to_path_buf(),
            bytes: bytes.clone(),
        });
        std::iter::once(images).chain(files).collect()
    }

    fn run(
        out: &Path,
        placements: &[Placement],
        files: &[(&Path, Vec<u8>)],
        mode: LinkMode,
        force: bool,
        mut during: impl FnMut(),
    ) -> Result<Vec<String>, ExportError> {
        let lock = OutputLock::acquire(out).unwrap();
        let outputs = outputs(placements, files, mode);
        export(&lock, &outputs, force, &AtomicBool::new(false), &mut during)
    }

    #[test]
    fn interrupted_export_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let placements = one_image(dir.path(), "a.jpg");
        let out = dir.path().join("out");
        let lock = OutputLock::acquire(&out).unwrap();
        let cancel = AtomicBool::new(true);
        let outputs = outputs(&placements, &[], LinkMode::Copy);
        let e = export(&lock, &outputs, false, &cancel, &mut || {});
        assert!(matches!(e, Err(ExportError::Interrupted)));
        drop(lock);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only the source remains");
    }

    #[test]
    fn replaces_own_output_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let placements = one_image(dir.path(), "normal/a.jpg");
        let out = dir.path().join("out");
        let files = [(Path::new("manifest.csv"), b"x\n".to_vec())];
        run(&out, &placements, &files, LinkMode::Copy, false, || {}).unwrap();
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
        let mut placements = placements;
        placements[0].dest = "flat.jpg".into();
        let warnings = run(&out, &placements, &files, LinkMode::Symlink, true, || {}).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
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
        assert_eq!(names.len(), 2, "no staging, old or lock left: {names:?}");
    }

    #[test]
    fn a_file_added_to_the_old_set_during_a_forced_rebuild_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let placements = one_image(dir.path(), "normal/a.jpg");
        let out = dir.path().join("out");
        run(&out, &placements, &[], LinkMode::Copy, false, || {}).unwrap();
        // Checked clean at the start; the user adds a file while images are copied.
        let added = out.join("normal/notes.txt");
        let e = run(&out, &placements, &[], LinkMode::Copy, true, || {
            std::fs::write(&added, b"precious").unwrap();
        });
        assert!(
            matches!(e, Err(ExportError::NotOnlyOurs { count: 1, ref first, .. }) if first == "normal/notes.txt"),
            "{e:?}"
        );
        assert_eq!(std::fs::read(&added).unwrap(), b"precious");
        assert_eq!(std::fs::read(out.join("normal/a.jpg")).unwrap(), b"img");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(
            names.len(),
            2,
            "the source and the earlier set, nothing else"
        );
    }

    #[test]
    fn a_folder_made_at_the_output_path_during_a_first_build_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let placements = one_image(dir.path(), "normal/a.jpg");
        let out = dir.path().join("out");
        let e = run(&out, &placements, &[], LinkMode::Copy, false, || {
            std::fs::create_dir(&out).unwrap();
            std::fs::write(out.join("mine.txt"), b"precious").unwrap();
        });
        assert!(matches!(e, Err(ExportError::Foreign { .. })), "{e:?}");
        assert_eq!(std::fs::read(out.join("mine.txt")).unwrap(), b"precious");
        assert_eq!(
            std::fs::read_dir(&out).unwrap().count(),
            1,
            "nothing of the set went in"
        );
    }

    #[test]
    fn a_set_made_by_someone_else_meanwhile_is_not_replaced_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let placements = one_image(dir.path(), "normal/a.jpg");
        let out = dir.path().join("out");
        let e = run(&out, &placements, &[], LinkMode::Copy, false, || {
            std::fs::create_dir(&out).unwrap();
            std::fs::write(out.join(MARKER), listing([Path::new("x.jpg")])).unwrap();
            std::fs::write(out.join("x.jpg"), b"theirs").unwrap();
        });
        assert!(matches!(e, Err(ExportError::Exists { .. })), "{e:?}");
        assert_eq!(std::fs::read(out.join("x.jpg")).unwrap(), b"theirs");
    }

    #[test]
    fn an_extra_file_never_writes_through_a_placed_one() {
        let dir = tempfile::tempdir().unwrap();
        let placements = one_image(dir.path(), "normal/a.jpg");
        let src = placements[0].source.clone();
        let files = [(Path::new("normal/a.jpg"), b"<html>".to_vec())];
        let out = dir.path().join("out");
        let e = run(&out, &placements, &files, LinkMode::Hardlink, false, || {});
        assert!(matches!(e, Err(ExportError::Io { .. })));
        assert_eq!(std::fs::read(&src).unwrap(), b"img");
        assert!(!out.exists());
    }
}
