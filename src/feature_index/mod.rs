//! The feature index: every file's measured features as a data product, in
//! Apache Parquet, one file per shard.
//!
//! `calibset index --shard i/n` measures the files whose key hashes to shard
//! `i` of `n` ([`Shard::holds`]: stable as the pool grows, so n workers split a
//! fleet without coordinating) and writes `part-i-of-n.parquet` ([`write`]).
//! [`FeatureIndex::open`] merges the parts of a folder, checks that they come
//! from this calibset's feature version and that no shard is missing, and then
//! serves measurements the way the feature cache does: by key (the path as
//! reports show it), size and mtime, or, when only the mtime moved (a copy of
//! the pool, another machine), after the file's content hash matches. A build
//! from the index then decodes nothing and decides exactly as a direct build.
//!
//! The columns are plain (`columns.rs`): DuckDB, pandas, Polars and Spark read
//! them as they are. Without the Cargo feature `parquet` (on by default) the
//! Parquet half is left out (`absent.rs`): writing or opening an index fails
//! with [`IndexError::NotBuilt`].

#[cfg(not(feature = "parquet"))]
mod absent;
#[cfg(feature = "parquet")]
mod columns;
#[cfg(not(feature = "parquet"))]
use absent as columns;

/// `Ok` when this calibset reads and writes indexes, else why not, naming `path`.
pub(crate) use columns::available;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cache::{Lookup, Measured};
use crate::features::{ANALYSIS_SHORT_SIDE, FEATURES_VERSION, THUMB_SIDE};
use crate::source::{FileEntry, Version};

/// Key of the index's own metadata in each Parquet file's key-value metadata.
pub(crate) const META_KEY: &str = "calibset.index";

/// Layout of the index files themselves (the columns and [`About`]).
const INDEX_VERSION: u32 = 1;

/// One shard of a pool: the files whose key hashes to `index` modulo `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which shard, from 0.
    pub index: u32,
    /// How many shards the pool is split into (1: the whole pool).
    pub count: u32,
}

impl Shard {
    /// The whole pool as one shard.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses `i/n` (`0 ≤ i < n`), as `--shard` takes it.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("expected a shard as i/n with 0 <= i < n (e.g. 0/4), not `{text}`");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether the file (or video) with this key belongs to the shard: by the
    /// blake3 of the key, so a file keeps its shard as the pool grows and as
    /// other files come and go.
    pub fn holds(&self, key: &str) -> bool {
        if self.count == 1 {
            return true;
        }
        let h = blake3::hash(key.as_bytes());
        let v = u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes"));
        v % u64::from(self.count) == u64::from(self.index)
    }

    /// The shard's file name in an index folder.
    pub fn file_name(&self) -> String {
        format!("part-{:05}-of-{:05}.parquet", self.index, self.count)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// One indexed file: its key, version and measurement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    /// The file's path as reports show it (relative to the recipe folder,
    /// `/`-separated; a video frame's is `VIDEO/NNNNNN.jpg`).
    pub key: String,
    /// Size and mtime when measured.
    pub version: Version,
    /// What measuring it found.
    pub measured: Measured,
}

impl Row {
    /// The row of a measured file.
    pub(crate) fn of(file: &FileEntry, measured: Measured) -> Row {
        Row {
            key: file.rel.clone(),
            version: file.version,
            measured,
        }
    }
}

/// What each index file says about itself (JSON under [`META_KEY`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct About {
    index_version: u32,
    features_version: u32,
    analysis_short_side: u32,
    thumb_side: u32,
    shard: Shard,
    rows: u64,
}

impl About {
    fn current(shard: Shard, rows: u64) -> About {
        About {
            index_version: INDEX_VERSION,
            features_version: FEATURES_VERSION,
            analysis_short_side: ANALYSIS_SHORT_SIDE,
            thumb_side: THUMB_SIDE as u32,
            shard,
            rows,
        }
    }
}

/// Why an index could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// A file or folder could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A file is not a readable calibset index.
    #[error("{}: not a calibset feature index ({message})", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file was written by a calibset that measures differently.
    #[error(
        "{} was written by a calibset with other features (feature version {found}, this one reads {expected}); index the pool again with this calibset",
        path.display()
    )]
    OtherVersion {
        /// The file.
        path: PathBuf,
        /// Its feature version.
        found: u32,
        /// This calibset's.
        expected: u32,
    },
    /// The folder holds no index file.
    #[error("{} holds no feature index (part-*.parquet files written by `calibset index`)", path.display())]
    Empty {
        /// The folder.
        path: PathBuf,
    },
    /// Shards of different splits, or some shards missing.
    #[error("{}: {message}", path.display())]
    Shards {
        /// The folder.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// This calibset was built without the Cargo feature `parquet`.
    #[error(
        "{}: this calibset was built without Parquet support (Cargo feature `parquet`), so it neither writes nor reads feature indexes; install one with it: cargo install --locked --path . (default features)",
        path.display()
    )]
    NotBuilt {
        /// The index asked for.
        path: PathBuf,
    },
    /// A file exists where the index would be written and is not an index.
    #[error("{} exists and is not a calibset feature index; calibset does not replace it", path.display())]
    NotOurs {
        /// The file.
        path: PathBuf,
    },
}

/// What [`write`] wrote.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    /// The Parquet file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Writes `rows` (sorted here by key) as shard `shard` of the index in `dir`:
/// a temporary file renamed over `part-i-of-n.parquet`, so a reader never sees
/// half a shard. An existing file of that name is replaced only when it is a
/// calibset index.
pub(crate) fn write(dir: &Path, shard: Shard, mut rows: Vec<Row>) -> Result<Written, IndexError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| IndexError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(shard.file_name());
    if path.exists() && read_about(&path).is_err() {
        return Err(IndexError::NotOurs { path });
    }
    rows.sort_by(|a, b| a.key.cmp(&b.key));
    let about = About::current(shard, rows.len() as u64);
    let meta = (
        META_KEY,
        serde_json::to_string(&about).expect("plain data serializes"),
    );
    let tmp = tempfile::Builder::new()
        .prefix(".part-")
        .suffix(".parquet.tmp")
        .tempfile_in(dir)
        .map_err(io(dir))?;
    let file = tmp.as_file().try_clone().map_err(io(tmp.path()))?;
    columns::write(file, &rows, meta).map_err(|e| IndexError::Io {
        path: tmp.path().to_owned(),
        source: std::io::Error::other(e),
    })?;
    #[cfg(unix)]
    {
        // A data product other tools and workers read: not the temporary
        // file's private 0600.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::Permissions::from_mode(0o644);
        tmp.as_file()
            .set_permissions(mode)
            .map_err(io(tmp.path()))?;
    }
    tmp.as_file().sync_all().map_err(io(tmp.path()))?;
    tmp.persist(&path).map_err(|e| IndexError::Io {
        path: path.clone(),
        source: e.error,
    })?;
    let bytes = std::fs::metadata(&path).map_err(io(&path))?.len();
    Ok(Written { path, bytes })
}

/// The [`About`] of an index file.
fn read_about(path: &Path) -> Result<About, IndexError> {
    let (_, about) = open_file(path)?;
    Ok(about)
}

/// Opens one index file, local or in an object store (read whole: a shard's
/// columns are all read anyway).
fn open_file(path: &Path) -> Result<(columns::Reader, About), IndexError> {
    let damaged = |message: String| IndexError::Damaged {
        path: path.to_owned(),
        message,
    };
    let bytes =
        crate::source::read_bytes(path, crate::source::LIST_LIMIT).map_err(|e| IndexError::Io {
            path: path.to_owned(),
            source: e.into_io(),
        })?;
    let reader = columns::Reader::open(bytes).map_err(damaged)?;
    let about = reader
        .meta(META_KEY)
        .ok_or_else(|| damaged(format!("no `{META_KEY}` metadata")))?;
    let about: About = serde_json::from_str(about).map_err(|e| damaged(e.to_string()))?;
    Ok((reader, about))
}

/// A merged feature index: every shard of a folder, by key.
#[derive(Debug, Default)]
pub(crate) struct FeatureIndex {
    path: PathBuf,
    rows: HashMap<String, (Version, Measured)>,
    #[cfg_attr(not(all(test, feature = "parquet")), allow(dead_code))]
    shards: u32,
}

impl FeatureIndex {
    /// Opens the index at `path`: a folder (or an object-store prefix,
    /// `s3://bucket/prefix/`) of `part-*.parquet` shards (every shard of one
    /// split must be there), or one such file.
    pub(crate) fn open(path: &Path) -> Result<FeatureIndex, IndexError> {
        columns::available(path)?;
        let is_file = crate::source::Location::of(path).is_one_file("parquet");
        let files = if !is_file {
            let mut files: Vec<PathBuf> = crate::source::files_in(path)
                .map_err(|source| IndexError::Io {
                    path: path.to_owned(),
                    source,
                })?
                .into_iter()
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("part-") && n.ends_with(".parquet"))
                })
                .collect();
            files.sort();
            files
        } else {
            vec![path.to_owned()]
        };
        if files.is_empty() {
            return Err(IndexError::Empty {
                path: path.to_owned(),
            });
        }
        let opened = files
            .iter()
            .map(|f| {
                let (reader, about) = open_file(f)?;
                let expected = About::current(about.shard, about.rows);
                if about.features_version != FEATURES_VERSION || about != expected {
                    return Err(IndexError::OtherVersion {
                        path: f.clone(),
                        found: about.features_version,
                        expected: FEATURES_VERSION,
                    });
                }
                Ok((f, reader, about))
            })
            .collect::<Result<Vec<_>, _>>()?;
        check_shards(path, opened.iter().map(|(f, _, a)| (f.as_path(), a.shard)))?;
        let parts: Vec<Vec<Row>> = {
            use rayon::prelude::*;
            opened
                .par_iter()
                .map(|(f, reader, _)| {
                    reader.rows().map_err(|message| IndexError::Damaged {
                        path: f.to_path_buf(),
                        message,
                    })
                })
                .collect::<Result<_, _>>()?
        };
        let mut index = FeatureIndex {
            path: path.to_owned(),
            rows: HashMap::with_capacity(parts.iter().map(Vec::len).sum()),
            shards: opened[0].2.shard.count,
        };
        for (rows, (f, _, _)) in parts.into_iter().zip(&opened) {
            for row in rows {
                if index.rows.contains_key(&row.key) {
                    return Err(IndexError::Shards {
                        path: f.to_path_buf(),
                        message: format!("`{}` is indexed in more than one shard", row.key),
                    });
                }
                index.rows.insert(row.key, (row.version, row.measured));
            }
        }
        Ok(index)
    }

    /// Where the index was opened from.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Number of indexed files.
    #[cfg(all(test, feature = "parquet"))]
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Number of shards merged.
    #[cfg(all(test, feature = "parquet"))]
    pub(crate) fn shards(&self) -> u32 {
        self.shards
    }

    /// What the index knows of `file`: a hit when key, size and mtime match; to
    /// verify by content hash when only the mtime differs.
    pub(crate) fn lookup(&self, file: &FileEntry) -> Lookup<'_> {
        match self.rows.get(&file.rel) {
            Some((v, m)) if v.size == file.version.size => {
                if i128::from(mtime(file.version.modified_ns)) == v.modified_ns {
                    Lookup::Hit(m)
                } else {
                    Lookup::Verify(m)
                }
            }
            _ => Lookup::Miss,
        }
    }
}

/// The modification time as stored: nanoseconds since the epoch (`i64` holds
/// them until 2262).
fn mtime(ns: i128) -> i64 {
    i64::try_from(ns).unwrap_or(i64::MAX)
}

/// Checks that the shards found form one complete split.
fn check_shards<'a>(
    dir: &Path,
    found: impl Iterator<Item = (&'a Path, Shard)>,
) -> Result<(), IndexError> {
    let found: Vec<(&Path, Shard)> = found.collect();
    let fail = |message: String| IndexError::Shards {
        path: dir.to_owned(),
        message,
    };
    let count = found[0].1.count;
    if let Some((f, s)) = found.iter().find(|(_, s)| s.count != count) {
        return Err(fail(format!(
            "holds shards of two splits ({} says {s}, another */{count}); remove the parts of the old split",
            f.display()
        )));
    }
    let mut seen = vec![false; count as usize];
    for (f, s) in &found {
        if std::mem::replace(&mut seen[s.index as usize], true) {
            return Err(fail(format!("shard {s} appears twice ({})", f.display())));
        }
    }
    let missing: Vec<String> = (0..count)
        .filter(|&i| !seen[i as usize])
        .map(|i| Shard { index: i, count }.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(fail(format!(
            "shard(s) {} missing; run `calibset index --shard` for them",
            missing.join(", ")
        )));
    }
    Ok(())
}

#[cfg(all(test, feature = "parquet"))]
mod tests;
