//! Where a build may write, decided before anything runs: the output folder
//! (not overlapping a source root), the cache (not inside the output), the
//! `--html` page (never over input, and never over the set's own files), and
//! the lock that keeps other builds out of the output until the end.

use std::path::{Path, PathBuf};

use super::{BuildError, BuildOptions, LOCK_FILE, POOL_FILE, RECIPE_FILE, REPORT_FILE};
use crate::export::{self, ExportError, OutputLock, Placement};
use crate::paths;
use crate::recipe::Recipe;
use crate::source::Location;

/// The places a build writes to, checked.
#[derive(Debug)]
pub(crate) struct Target {
    /// The output folder (absolute, normalised); `None` for a dry run without one.
    out: Option<PathBuf>,
    /// The `--html` path as given.
    html: Option<PathBuf>,
    /// Where the `--html` page lies inside the output folder, when it does.
    html_in_out: Option<PathBuf>,
}

impl Target {
    /// Resolves and checks the output folder, the cache folder and the `--html`
    /// path of a build of `recipe` with `opts`.
    pub(crate) fn resolve(recipe: &Recipe, opts: &BuildOptions) -> Result<Self, BuildError> {
        let out = match opts.out.as_ref().or(recipe.output.dir.as_ref()) {
            Some(o) if !Location::of(o).is_local() => {
                return Err(BuildError::RemoteOutput { out: o.clone() });
            }
            Some(o) => Some(absolute(o)),
            None if opts.dry_run => None,
            None => return Err(BuildError::NoOutput),
        };
        if let Some(out) = &out {
            let mode = opts.mode.unwrap_or(recipe.output.mode);
            if mode != export::LinkMode::Copy
                && let Some(root) = recipe
                    .sources
                    .roots
                    .iter()
                    .find(|r| !Location::of(r).can_link())
            {
                return Err(BuildError::LinkToObjectStore {
                    mode,
                    root: root.clone(),
                });
            }
            check_roots(out, &recipe.sources.roots)?;
            if let Some(cache) = &opts.cache_dir {
                let cache = absolute(cache);
                if paths::inside(&cache, out).is_some() {
                    return Err(BuildError::CacheInOutput {
                        cache,
                        out: out.clone(),
                    });
                }
            }
        }
        if let Some(html) = &opts.html {
            crate::html::check(
                html,
                &recipe.sources.roots,
                &recipe.inputs(),
                out.as_deref(),
            )?;
        }
        let html_in_out = opts
            .html
            .as_deref()
            .zip(out.as_deref())
            .and_then(|(h, o)| paths::inside(h, o));
        let target = Target {
            out,
            html: opts.html.clone(),
            html_in_out,
        };
        let reserved = [
            LOCK_FILE,
            POOL_FILE,
            REPORT_FILE,
            RECIPE_FILE,
            export::MARKER,
        ];
        target.check_html_against(reserved.map(str::to_owned))?;
        Ok(target)
    }

    /// The output folder, when there is one.
    pub(crate) fn out(&self) -> Option<&Path> {
        self.out.as_deref()
    }

    /// Where the `--html` page lies inside the output folder, when it does.
    pub(crate) fn html_in_output(&self) -> Option<&Path> {
        self.html_in_out.as_deref()
    }

    /// Takes the output folder's lock for the rest of the build (nothing for a
    /// dry run), clears what killed builds left beside it, and checks that the
    /// folder may be written. Returns the lock, one message per folder
    /// cleared, and the refusal of an earlier calibset set without `--force`:
    /// that one waits until the plan is known, so a recipe the pool cannot
    /// fill says so (exit 1) rather than only "pass --force" (a CI re-run
    /// always finds its earlier set).
    pub(crate) fn lock(&self, opts: &BuildOptions) -> Result<Locked, BuildError> {
        let Some(out) = self.out.as_deref().filter(|_| !opts.dry_run) else {
            return Ok(Locked::default());
        };
        let lock = OutputLock::acquire(out)?;
        let cleaned = lock.clean_stale()?;
        let earlier = match export::check_output(out, opts.force) {
            Err(e @ ExportError::Exists { .. }) => Some(e),
            checked => {
                checked?;
                None
            }
        };
        Ok(Locked {
            lock: Some(lock),
            cleaned,
            earlier,
        })
    }

    /// Refuses an `--html` page inside the output folder that would replace, sit
    /// in or hold one of the set's images.
    pub(crate) fn check_clashes(&self, placements: &[Placement]) -> Result<(), BuildError> {
        self.check_html_against(placements.iter().map(|p| paths::slash(&p.dest)))
    }

    fn check_html_against(
        &self,
        taken: impl IntoIterator<Item = String>,
    ) -> Result<(), BuildError> {
        match &self.html_in_out {
            Some(rel) if clashes(rel, taken) => Err(BuildError::HtmlClash {
                path: self.html.clone().unwrap_or_default(),
            }),
            _ => Ok(()),
        }
    }
}

/// What [`Target::lock`] found.
#[derive(Debug, Default)]
pub(crate) struct Locked {
    /// The output folder's lock (none for a dry run).
    pub lock: Option<OutputLock>,
    /// One message per folder a killed build left that was cleared.
    pub cleaned: Vec<String>,
    /// The output holds an earlier set and `--force` was not given.
    pub earlier: Option<ExportError>,
}

/// `path` made absolute and normalised.
fn absolute(path: &Path) -> PathBuf {
    paths::normalize(&std::path::absolute(path).unwrap_or_else(|_| path.to_owned()))
}

/// Refuses an output folder that overlaps one of the `roots`, as written or
/// with symlinks resolved.
fn check_roots(out: &Path, roots: &[PathBuf]) -> Result<(), BuildError> {
    let real_out = paths::resolved(out);
    for root in roots {
        let real_root = paths::resolved(root);
        if out.starts_with(root)
            || root.starts_with(out)
            || real_out.starts_with(&real_root)
            || real_root.starts_with(&real_out)
        {
            return Err(BuildError::OutputOverlapsRoot {
                out: out.to_owned(),
                root: root.clone(),
            });
        }
    }
    Ok(())
}

/// Whether the output path `rel` is the folder itself, or is, sits inside or
/// holds one of the `taken` paths (`/`-separated), ignoring case for
/// case-insensitive file systems.
fn clashes(rel: &Path, taken: impl IntoIterator<Item = String>) -> bool {
    let rel = paths::slash(rel).to_lowercase();
    let inside = |a: &str, b: &str| a.strip_prefix(b).is_some_and(|r| r.starts_with('/'));
    rel.is_empty()
        || taken.into_iter().any(|t| {
            let t = t.to_lowercase();
            t == rel || inside(&t, &rel) || inside(&rel, &t)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_clashes_with_files_folders_and_their_contents() {
        let taken = || ["manifest.csv", "normal/a.jpg"].map(str::to_owned);
        for bad in [
            "",
            "Manifest.CSV",
            "normal",
            "normal/a.jpg",
            "manifest.csv/x.html",
            "normal/a.jpg/x",
        ] {
            assert!(clashes(Path::new(bad), taken()), "{bad}");
        }
        for good in [
            "report.html",
            "normal/b.html",
            "normalx/a.jpg",
            "reports/manifest.csv",
        ] {
            assert!(!clashes(Path::new(good), taken()), "{good}");
        }
    }
}
