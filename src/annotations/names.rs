//! YOLO class names: an Ultralytics data YAML or a text file with one name per line.
//!
//! A file ending in `.yaml` or `.yml` (any case) is read as a data YAML whose
//! `names:` is a list (`[person, car]` or a block list), or a map from class id to
//! name (`{0: person, 1: car}` or a block map; ids may be sparse). A data YAML that
//! has a `kpt_shape:` key marks a pose dataset, whose label lines carry keypoints
//! after the box. Any other file is text: line `n` (1-based) names class `n - 1`;
//! surrounding blanks are trimmed and trailing blank lines ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use super::{AnnotationError, read_text};

/// Class names by id, and where they came from.
#[derive(Debug)]
pub(super) struct ClassNames {
    /// The names file.
    pub path: PathBuf,
    /// Whether the data YAML declares keypoints (`kpt_shape`).
    pub pose: bool,
    /// The data YAML's `path:` (the dataset root), as written.
    pub root: Option<String>,
    /// Its `train:`, `val:` and `test:` entries (folders or list files,
    /// relative to the root), as written, in that order.
    pub splits: Vec<String>,
    names: BTreeMap<u64, String>,
}

impl ClassNames {
    /// Reads the names file at `path`.
    pub(super) fn load(path: &Path) -> Result<Self, AnnotationError> {
        Self::parse(path, &read_text(path, crate::source::LABEL_LIMIT)?)
    }

    /// Parses names `text` as if read from `path` (YAML for `.yaml`/`.yml`).
    pub(super) fn parse(path: &Path, text: &str) -> Result<Self, AnnotationError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let yaml = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
        if yaml {
            from_yaml(path, text)
        } else {
            from_lines(path, text)
        }
    }

    /// The name of class `id`.
    pub(super) fn name(&self, id: u64) -> Option<&str> {
        self.names.get(&id).map(String::as_str)
    }
}

fn from_lines(path: &Path, text: &str) -> Result<ClassNames, AnnotationError> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let used = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(0, |i| i + 1);
    let mut names = BTreeMap::new();
    for (i, name) in lines[..used].iter().enumerate() {
        if name.is_empty() {
            return Err(AnnotationError::Names {
                path: path.to_owned(),
                line: Some(i + 1),
                message: "empty class name (line n names class n - 1)".into(),
            });
        }
        names.insert(i as u64, (*name).to_owned());
    }
    if names.is_empty() {
        return Err(bad(path, "no class names".into()));
    }
    Ok(ClassNames {
        path: path.to_owned(),
        pose: false,
        root: None,
        splits: Vec::new(),
        names,
    })
}

fn from_yaml(path: &Path, text: &str) -> Result<ClassNames, AnnotationError> {
    let docs = YamlLoader::load_from_str(text).map_err(|source| AnnotationError::NamesYaml {
        path: path.to_owned(),
        source,
    })?;
    let Some(doc @ Yaml::Hash(_)) = docs.first() else {
        return Err(bad(path, "expected a mapping with a `names:` key".into()));
    };
    let mut names = BTreeMap::new();
    match &doc["names"] {
        Yaml::Array(list) => {
            for (i, v) in list.iter().enumerate() {
                let name = scalar(v)
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| bad(path, format!("`names[{i}]` is not a class name")))?;
                names.insert(i as u64, name);
            }
        }
        Yaml::Hash(map) => {
            for (k, v) in map {
                let key = scalar(k).unwrap_or_else(|| "?".into());
                let id = match k {
                    Yaml::Integer(i) => u64::try_from(*i).ok(),
                    Yaml::String(s) => s.trim().parse::<u64>().ok(),
                    _ => None,
                }
                .ok_or_else(|| {
                    bad(
                        path,
                        format!("`names` key `{key}` is not a class id (0, 1, ...)"),
                    )
                })?;
                let name = scalar(v)
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| bad(path, format!("`names.{key}` is not a class name")))?;
                names.insert(id, name);
            }
        }
        Yaml::BadValue => return Err(bad(path, "no `names:` key".into())),
        _ => {
            return Err(bad(
                path,
                "`names:` must be a list of names or a map from class id to name".into(),
            ));
        }
    }
    if names.is_empty() {
        return Err(bad(path, "`names:` is empty".into()));
    }
    let pose = !matches!(doc["kpt_shape"], Yaml::BadValue | Yaml::Null);
    let mut splits = Vec::new();
    for key in ["train", "val", "test"] {
        match &doc[key] {
            Yaml::Array(items) => splits.extend(items.iter().filter_map(scalar)),
            other => splits.extend(scalar(other)),
        }
    }
    splits.retain(|s| !s.is_empty());
    Ok(ClassNames {
        path: path.to_owned(),
        pose,
        root: scalar(&doc["path"]).filter(|p| !p.is_empty()),
        splits,
        names,
    })
}

/// A YAML scalar as text.
fn scalar(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) | Yaml::Real(s) => Some(s.trim().to_owned()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn bad(path: &Path, message: String) -> AnnotationError {
    AnnotationError::Names {
        path: path.to_owned(),
        line: None,
        message,
    }
}
