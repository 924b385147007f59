//! One build at a time per output folder, and the clean-up of what killed
//! builds left beside it.
//!
//! [`OutputLock::acquire`] takes an exclusive lock (`flock` on Unix,
//! `LockFileEx` on Windows) on `.NAME.calibset-lock` beside the output folder
//! `NAME` and holds it for the whole build: a second build into the same output
//! fails at once instead of racing the first to the final rename. The lock file
//! is removed when the lock is dropped; a killed process releases the lock with
//! its file descriptors, and the next build takes it over.
//!
//! Under the lock, [`OutputLock::clean_stale`] removes the staging folders
//! (`.NAME.calibset-XXXXXX`) and moved-aside earlier sets
//! (`.NAME.calibset-old-XXXXXX`) that a build killed with SIGKILL or by the OOM
//! killer could not clean up: no build can be using them while the lock is held.
//! Both carry a marker listing their files, and only listed files are deleted.
//! A build killed between the swap's two renames leaves no output folder and
//! the earlier set only in its `old-` folder: that set is the only copy, so it
//! is renamed back into place first, never deleted.

use std::ffi::OsString;
use std::fs::{File, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::{ExportError, io, marker};

/// Random characters in the staging and old-set folder names.
pub(super) const RAND_CHARS: usize = 6;

/// The folder beside `out` where its lock, staging and old-set folders live.
pub(super) fn parent_of(out: &Path) -> &Path {
    match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// `.NAME.calibset-` for the output folder `out`, the prefix of every file
/// calibset keeps beside it.
pub(super) fn prefix_of(out: &Path) -> OsString {
    let mut prefix = OsString::from(".");
    prefix.push(out.file_name().unwrap_or("calibset".as_ref()));
    prefix.push(".calibset-");
    prefix
}

/// An exclusive lock on an output folder, held until dropped.
#[derive(Debug)]
pub(crate) struct OutputLock {
    file: File,
    path: PathBuf,
    out: PathBuf,
    /// Folders created to hold the lock file, outermost first: removed on drop
    /// when nothing else ended up in them.
    made: Vec<PathBuf>,
}

impl OutputLock {
    /// Locks the output folder `out` (absolute), creating its parent folders as
    /// needed. Fails with [`ExportError::Busy`] when another build holds it.
    pub(crate) fn acquire(out: &Path) -> Result<Self, ExportError> {
        let parent = parent_of(out);
        let made = create_parents(parent)?;
        let mut name = prefix_of(out);
        name.push("lock");
        let path = parent.join(name);
        // A build that just finished removes the lock file after we opened it:
        // then the lock we got is on a file nobody else can see, so open again.
        for _ in 0..100 {
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io("create the lock file", &path))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    return Err(ExportError::Busy {
                        path: out.to_owned(),
                        pid: holder.trim().parse().ok(),
                    });
                }
                Err(TryLockError::Error(e)) => return Err(io("lock", &path)(e)),
            }
            if !same_file(&file, &path) {
                continue;
            }
            // Who holds it, for the message of a build that finds it taken.
            let _ = file.set_len(0);
            let _ = write!(file, "{}", std::process::id());
            return Ok(OutputLock {
                file,
                path,
                out: out.to_owned(),
                made,
            });
        }
        Err(ExportError::Busy {
            path: out.to_owned(),
            pid: None,
        })
    }

    /// The locked output folder.
    pub(crate) fn out(&self) -> &Path {
        &self.out
    }

    /// Removes what killed builds into this output left beside it — staging
    /// folders and earlier sets moved aside — as far as their markers list it.
    /// Returns one message per folder handled, for the report.
    pub(crate) fn clean_stale(&self) -> Result<Vec<String>, ExportError> {
        let parent = parent_of(&self.out);
        let prefix = prefix_of(&self.out);
        let prefix = prefix.as_encoded_bytes();
        let mut messages = Vec::new();
        let entries = std::fs::read_dir(parent).map_err(io("read", parent))?;
        let mut stale: Vec<(PathBuf, bool)> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| {
                let name = e.file_name();
                let rest = name.as_encoded_bytes().strip_prefix(prefix)?;
                let (old, rand) = match rest.strip_prefix(b"old-") {
                    Some(r) => (true, r),
                    None => (false, rest),
                };
                let ours = rand.len() == RAND_CHARS && rand.iter().all(u8::is_ascii_alphanumeric);
                ours.then(|| (e.path(), old))
            })
            .collect();
        stale.sort();
        if let Some(message) = restore_moved_aside(&self.out, &mut stale)? {
            messages.push(message);
        }
        for (dir, old) in stale {
            // A staging folder carries the marker of the set it was building from
            // its first moment; an old set sits in `old/` with its own.
            let set = if old { dir.join("old") } else { dir.clone() };
            let kept = if std::fs::symlink_metadata(&set).is_ok() {
                marker::remove_own(&set)?
            } else {
                0
            };
            let what = if old {
                "an earlier set a killed build had moved aside"
            } else {
                "the staging folder of a killed build"
            };
            if kept == 0 && (!old || std::fs::remove_dir(&dir).is_ok()) {
                messages.push(format!("removed {}, {what}", dir.display()));
            } else {
                messages.push(format!(
                    "left {}, {what}: it holds {kept} entr{} calibset did not write; move them out and delete the folder",
                    dir.display(),
                    if kept == 1 { "y" } else { "ies" }
                ));
            }
        }
        Ok(messages)
    }
}

/// When the output folder `out` is missing and a killed build left an earlier
/// set moved aside among `stale` (the kill fell between the swap's two
/// renames), renames the newest such set back to `out` and takes it off the
/// list: it is the only copy. Returns what it did, for the report.
fn restore_moved_aside(
    out: &Path,
    stale: &mut Vec<(PathBuf, bool)>,
) -> Result<Option<String>, ExportError> {
    match std::fs::symlink_metadata(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("inspect", out)(e)),
        Ok(_) => return Ok(None),
    }
    // The holder folder's modification time is the moment `old` was renamed
    // into it: the newest is the set that sat at `out` last.
    let newest = stale
        .iter()
        .enumerate()
        .filter(|(_, (dir, old))| *old && std::fs::symlink_metadata(dir.join("old")).is_ok())
        .max_by_key(|(_, (dir, _))| {
            std::fs::metadata(dir)
                .and_then(|m| m.modified())
                .unwrap_or(std::time::SystemTime::UNIX_EPOCH)
        })
        .map(|(i, _)| i);
    let Some(i) = newest else {
        return Ok(None);
    };
    let (holder, _) = stale.remove(i);
    let set = holder.join("old");
    std::fs::rename(&set, out).map_err(io("restore the earlier set from", &set))?;
    let _ = std::fs::remove_dir(&holder);
    Ok(Some(format!(
        "restored {} from {}: a killed build had moved the earlier set aside and not put its own in place",
        out.display(),
        holder.display()
    )))
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Removed while still locked (the lock goes with the file descriptor,
        // after this): a build that opened it meanwhile sees it gone and retries.
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
        for dir in self.made.iter().rev() {
            if std::fs::remove_dir(dir).is_err() {
                break;
            }
        }
    }
}

/// Creates `dir` and its missing ancestors; returns those it created,
/// outermost first.
fn create_parents(dir: &Path) -> Result<Vec<PathBuf>, ExportError> {
    let mut missing = Vec::new();
    let mut d = dir;
    while !d.as_os_str().is_empty() && std::fs::symlink_metadata(d).is_err() {
        missing.push(d.to_owned());
        match d.parent() {
            Some(p) => d = p,
            None => break,
        }
    }
    missing.reverse();
    for m in &missing {
        match std::fs::create_dir(m) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io("create", m)(e)),
        }
    }
    Ok(missing)
}

/// Whether the open `file` is still the one at `path`.
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Whether the open `file` is still the one at `path` (Windows does not let an
/// open file be deleted, so it always is).
#[cfg(not(unix))]
fn same_file(_: &File, path: &Path) -> bool {
    path.exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `text` at `rel` under `dir`, creating its folders.
    fn write_under(dir: &Path, rel: &str, text: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn a_second_lock_on_the_same_output_fails_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("new/deeper/out");
        let first = OutputLock::acquire(&out).unwrap();
        assert!(dir.path().join("new/deeper/.out.calibset-lock").is_file());
        match OutputLock::acquire(&out) {
            Err(ExportError::Busy { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("expected Busy, got {other:?}"),
        }
        // Another output beside it is independent.
        let other = OutputLock::acquire(&dir.path().join("new/deeper/out2")).unwrap();
        drop(other);
        drop(first);
        assert!(
            !dir.path().join("new").exists(),
            "folders made for the lock go with it"
        );
        let again = OutputLock::acquire(&out).unwrap();
        drop(again);
    }

    #[test]
    fn stale_staging_and_old_sets_are_removed_but_not_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let write = |rel: &str, text: &str| write_under(dir.path(), rel, text);
        write(".out.calibset-Ab12Cd/normal/a.jpg", "partial");
        write(
            ".out.calibset-Ab12Cd/.calibset",
            &marker::listing([Path::new("normal/a.jpg"), Path::new("normal/z.jpg")]),
        );
        write(".out.calibset-Kk00Jj/user.txt", "no marker: not ours");
        write(".out.calibset-old-Zz99Yy/old/normal/b.jpg", "old set");
        write(
            ".out.calibset-old-Zz99Yy/old/.calibset",
            &marker::listing([Path::new("normal/b.jpg")]),
        );
        write(".out.calibset-old-Qq11Ww/old/notes.txt", "someone's");
        write(
            ".out.calibset-old-Qq11Ww/old/.calibset",
            &marker::listing([Path::new("normal/c.jpg")]),
        );
        // Not ours: another output's staging folder, and odd names.
        write(".out2.calibset-Ab12Cd/x.jpg", "other output");
        write(".out.calibset-notes/x.txt", "user folder");
        // The swap was done: the new set is in place.
        write("out/.calibset", &marker::listing([]));
        let lock = OutputLock::acquire(&out).unwrap();
        let messages = lock.clean_stale().unwrap();
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert!(dir.path().join(".out.calibset-Kk00Jj/user.txt").exists());
        assert!(!dir.path().join(".out.calibset-Ab12Cd").exists());
        assert!(!dir.path().join(".out.calibset-old-Zz99Yy").exists());
        assert!(
            dir.path()
                .join(".out.calibset-old-Qq11Ww/old/notes.txt")
                .exists()
        );
        assert!(messages[0].starts_with("removed"), "{messages:?}");
        assert!(messages.iter().any(|m| m.starts_with("left")));
        assert!(dir.path().join(".out2.calibset-Ab12Cd/x.jpg").exists());
        assert!(dir.path().join(".out.calibset-notes/x.txt").exists());
    }

    #[test]
    fn an_earlier_set_moved_aside_with_no_output_in_place_is_restored() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let write = |rel: &str, text: &str| write_under(dir.path(), rel, text);
        // Killed between the renames: the old set aside, the new one staged.
        let listed = marker::listing([Path::new("normal/a.jpg")]);
        write(".out.calibset-old-Zz99Yy/old/.calibset", &listed);
        write(".out.calibset-old-Zz99Yy/old/normal/a.jpg", "the only copy");
        write(".out.calibset-Ab12Cd/.calibset", &listed);
        write(".out.calibset-Ab12Cd/normal/a.jpg", "the new set");
        let lock = OutputLock::acquire(&out).unwrap();
        let messages = lock.clean_stale().unwrap();
        assert!(messages[0].starts_with("restored"), "{messages:?}");
        assert_eq!(
            std::fs::read_to_string(out.join("normal/a.jpg")).unwrap(),
            "the only copy"
        );
        assert!(!dir.path().join(".out.calibset-old-Zz99Yy").exists());
        assert!(!dir.path().join(".out.calibset-Ab12Cd").exists());
        assert_eq!(messages.len(), 2, "{messages:?}");
    }
}
