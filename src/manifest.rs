//! Input manifests: a CSV listing images with their bucket, tags and camera.
//!
//! Columns (header row required, any order, names case-insensitive): `path`
//! (required, relative to the manifest's folder), `bucket`
//! (`normal|hard|background`), `tags` (`;`-separated), `camera`. Other columns
//! are ignored. Empty fields leave that label to the recipe's rules.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::bucket::Bucket;
use crate::paths;

/// The labels one manifest row gives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    /// The row's bucket, when the field is not empty.
    pub bucket: Option<Bucket>,
    /// The row's tags.
    pub tags: BTreeSet<String>,
    /// The row's camera, when the field is not empty.
    pub camera: Option<String>,
    /// 1-based line of the row in the file.
    pub line: u64,
}

/// A parsed manifest, keyed by normalised absolute image path.
#[derive(Debug, Default)]
pub struct Manifest {
    path: PathBuf,
    rows: HashMap<PathBuf, Row>,
}

/// Why a manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be opened or read.
    #[error("cannot read manifest {}", path.display())]
    Read {
        /// The manifest path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A row or the header is malformed.
    #[error("{}:{line}: {message}", path.display())]
    Row {
        /// The manifest path.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
}

impl Manifest {
    /// Reads the CSV manifest at `path` (absolute, normalised).
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let file = std::fs::File::open(path).map_err(|source| ManifestError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_reader(path, file)
    }

    /// Parses manifest CSV from `reader`, resolving rows against `path`'s folder.
    pub fn from_reader(path: &Path, reader: impl std::io::Read) -> Result<Self, ManifestError> {
        let row_err = |line: u64, message: String| ManifestError::Row {
            path: path.to_owned(),
            line,
            message,
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut csv = csv::ReaderBuilder::new()
            .flexible(false)
            .from_reader(reader);
        let headers = csv
            .headers()
            .map_err(|e| row_err(1, format!("bad header: {e}")))?
            .clone();
        let column = |name: &str| {
            headers
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(name))
        };
        let Some(path_col) = column("path") else {
            return Err(row_err(1, "no `path` column in the header".into()));
        };
        let (bucket_col, tags_col, camera_col) =
            (column("bucket"), column("tags"), column("camera"));
        let mut rows = HashMap::new();
        for record in csv.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                row_err(line, e.to_string())
            })?;
            let line = record.position().map_or(0, |p| p.line());
            let field = |col: Option<usize>| {
                col.and_then(|c| record.get(c))
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
            };
            let Some(rel) = field(Some(path_col)) else {
                return Err(row_err(line, "empty `path`".into()));
            };
            let bucket = match field(bucket_col) {
                None => None,
                Some(b) => Some(Bucket::parse(b).ok_or_else(|| {
                    row_err(
                        line,
                        format!("unknown bucket `{b}` (expected normal, hard or background)"),
                    )
                })?),
            };
            let tags = field(tags_col)
                .map(|t| {
                    t.split(';')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            let row = Row {
                bucket,
                tags,
                camera: field(camera_col).map(str::to_owned),
                line,
            };
            let key = paths::normalize(&dir.join(rel));
            if let Some(previous) = rows.insert(key, row) {
                return Err(row_err(
                    line,
                    format!("`{rel}` is listed twice (first on line {})", previous.line),
                ));
            }
        }
        Ok(Self {
            path: path.to_owned(),
            rows,
        })
    }

    /// The manifest file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The row for the image at `path` (absolute, normalised).
    pub fn row(&self, path: &Path) -> Option<&Row> {
        self.rows.get(path)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the manifest lists no image.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Listed paths that are not in `found`, sorted.
    pub fn missing<'a>(&'a self, found: &std::collections::HashSet<&Path>) -> Vec<&'a Path> {
        let mut v: Vec<&Path> = self
            .rows
            .keys()
            .map(PathBuf::as_path)
            .filter(|p| !found.contains(p))
            .collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, ManifestError> {
        Manifest::from_reader(Path::new("/pool/manifest.csv"), text.as_bytes())
    }

    #[test]
    fn reads_rows() {
        let m = parse("path,bucket,tags,camera\nframes/a.jpg,hard,night;lowq,cam01\nb.png,,,\n")
            .unwrap();
        let a = m.row(Path::new("/pool/frames/a.jpg")).unwrap();
        assert_eq!(a.bucket, Some(Bucket::Hard));
        assert_eq!(a.tags.iter().collect::<Vec<_>>(), ["lowq", "night"]);
        assert_eq!(a.camera.as_deref(), Some("cam01"));
        assert_eq!(a.line, 2);
        let b = m.row(Path::new("/pool/b.png")).unwrap();
        assert_eq!(
            *b,
            Row {
                line: 3,
                ..Row::default()
            }
        );
    }

    #[test]
    fn names_the_bad_line() {
        let e = parse("path,bucket\na.jpg,normal\nb.jpg,nromal\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "/pool/manifest.csv:3: unknown bucket `nromal` (expected normal, hard or background)"
        );
        let e = parse("file,bucket\na.jpg,normal\n").unwrap_err();
        assert!(e.to_string().contains("no `path` column"), "{e}");
        let e = parse("path,bucket\na.jpg,normal,extra\n").unwrap_err();
        assert!(e.to_string().starts_with("/pool/manifest.csv:2:"), "{e}");
        let e = parse("path\na.jpg\n./a.jpg\n").unwrap_err();
        assert!(e.to_string().contains("listed twice"), "{e}");
    }
}
