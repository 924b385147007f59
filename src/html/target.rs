//! Where a report page may be written: never over input or over a file
//! calibset did not write, and always through a temporary file and a rename.

use std::path::{Path, PathBuf};

use crate::paths;

/// Start of every page calibset writes (see [`super::render`]).
const REPORT_MARK: &[u8] = b"<meta name=\"generator\" content=\"calibset ";

/// Why a page was not written.
#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    /// The path could overwrite input or a file calibset did not write.
    #[error("--html {}: {why}; choose another file", path.display())]
    Refused {
        /// The path given.
        path: PathBuf,
        /// Why it is refused.
        why: String,
    },
    /// The page could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Refuses a page path that could overwrite input — a path inside one of the
/// `roots`, or at or inside one of the `inputs` (recipe, manifest, annotation
/// files and folders) — or a file that is not an earlier calibset report. A
/// path inside the output folder `out` is written with the set, under its
/// ownership rules, so only the first two checks apply to it.
pub(crate) fn check(
    path: &Path,
    roots: &[PathBuf],
    inputs: &[&Path],
    out: Option<&Path>,
) -> Result<(), HtmlError> {
    let refuse = |why: String| {
        Err(HtmlError::Refused {
            path: path.to_owned(),
            why,
        })
    };
    if !crate::source::Location::of(path).is_local() {
        return refuse("the report is written to a local file".into());
    }
    let abs = paths::normalize(&std::path::absolute(path).unwrap_or_else(|_| path.to_owned()));
    let real = paths::resolved(&abs);
    let inside = |p: &Path| abs.starts_with(p) || real.starts_with(paths::resolved(p));
    if let Some(root) = roots.iter().find(|r| inside(r)) {
        return refuse(format!("it is inside source root {}", root.display()));
    }
    if let Some(input) = inputs.iter().find(|i| inside(i)) {
        return refuse(format!("it is or lies in the input {}", input.display()));
    }
    if out.is_some_and(|o| paths::inside(path, o).is_some()) {
        return Ok(());
    }
    replaceable(path).or_else(refuse)
}

/// `Ok` when nothing is at `path` or an earlier calibset report is.
fn replaceable(path: &Path) -> Result<(), String> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot inspect it ({e})")),
        Ok(m) if !m.is_file() => Err("it exists and is not a file".into()),
        Ok(_) => {
            let head = crate::source::read_head(path, 4096).unwrap_or_default();
            if head.windows(REPORT_MARK.len()).any(|w| w == REPORT_MARK) {
                Ok(())
            } else {
                Err("it exists and is not a calibset report".into())
            }
        }
    }
}

/// Writes `page` to `path`: a temporary file beside it, then a rename; what is
/// at `path` is checked again just before it is replaced.
pub(crate) fn write(path: &Path, page: &str) -> Result<(), HtmlError> {
    let fail = |source| HtmlError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    std::io::Write::write_all(&mut tmp, page.as_bytes()).map_err(fail)?;
    #[cfg(unix)]
    {
        // A report is for reading: not the temporary file's private 0600.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::Permissions::from_mode(0o644);
        tmp.as_file().set_permissions(mode).map_err(fail)?;
    }
    replaceable(path).map_err(|why| HtmlError::Refused {
        path: path.to_owned(),
        why,
    })?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}
