//! `calibset probe`: the check against the model of a set already built,
//! from its lock manifest, without rebuilding it.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use super::{BuildError, LOCK_FILE, load_model};
use crate::export::ExportError;
use crate::label::Bucket;
use crate::model::{ModelReport, ProbeImage};
use crate::progress::{Progress, Stage};
use crate::recipe::Recipe;
use crate::tensor::Source;

/// Switches for [`probe`].
#[derive(Debug, Clone, Default)]
pub struct ProbeOptions {
    /// The set's folder (overrides `output.dir`).
    pub out: Option<PathBuf>,
    /// The model (overrides `[model] path`).
    pub model: Option<PathBuf>,
    /// Write `ranges.json` and the range tables into this folder (created;
    /// files already there are not replaced).
    pub tables: Option<PathBuf>,
    /// Seed of the halves (overrides `seed`).
    pub seed: Option<u64>,
}

/// Probes the set in `opts.out` (else the recipe's output folder) with the
/// recipe's model.
pub fn probe(
    recipe: &Recipe,
    opts: &ProbeOptions,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<ModelReport, BuildError> {
    let build = super::BuildOptions {
        model: opts.model.clone(),
        ..Default::default()
    };
    let (model, method, _) = load_model(recipe, &build)?.ok_or(BuildError::NoModel)?;
    let out = opts
        .out
        .clone()
        .or_else(|| recipe.output.dir.clone())
        .ok_or(BuildError::NoOutput)?;
    let images = set_images(&out)?;
    let spec = recipe.tensor.as_ref().expect("load_model checked [tensor]");
    progress.start(Stage::Probe, Some(images.len() as u64));
    let analysis = crate::model::check(
        &model,
        spec,
        &images,
        &recipe.limits,
        opts.seed.unwrap_or(recipe.seed),
        method.unwrap_or_default(),
        method.is_some(),
        cancel,
        &|| progress.advance(1),
    );
    progress.finish();
    let analysis = analysis?;
    if let Some(dir) = &opts.tables {
        write_tables(dir, &crate::model::files(&analysis))?;
    }
    Ok(analysis.report)
}

/// The set's images from its lock manifest, in its order.
fn set_images(out: &Path) -> Result<Vec<ProbeImage>, BuildError> {
    let lock = out.join(LOCK_FILE);
    let bad = |message: String| BuildError::NotASet {
        lock: lock.clone(),
        message,
    };
    let mut reader = csv::Reader::from_path(&lock).map_err(|e| bad(e.to_string()))?;
    let headers = reader.headers().map_err(|e| bad(e.to_string()))?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| bad(format!("no `{name}` column")))
    };
    let (file, bucket, tags) = (column("file")?, column("bucket")?, column("tags")?);
    let mut images = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| bad(e.to_string()))?;
        let name = PathBuf::from(&row[file]);
        if name.is_absolute() || name.components().any(|c| c.as_os_str() == "..") {
            return Err(bad(format!(
                "row {}: not a path inside the set",
                name.display()
            )));
        }
        images.push(ProbeImage {
            source: Source::File(out.join(&name)),
            bucket: Bucket::parse(&row[bucket]),
            tags: row[tags]
                .split(';')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            name,
        });
    }
    if images.is_empty() {
        return Err(bad("no images".into()));
    }
    Ok(images)
}

/// Writes `files` into `dir`, creating it; a file already there stops it.
fn write_tables(dir: &Path, files: &[(PathBuf, Vec<u8>)]) -> Result<(), BuildError> {
    let io = |action: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source| {
            BuildError::Export(ExportError::Io {
                action,
                path,
                source,
            })
        }
    };
    std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    for (name, bytes) in files {
        let path = dir.join(name);
        crate::export::write_new(&path, bytes).map_err(io("write", &path))?;
    }
    Ok(())
}
