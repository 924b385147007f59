//! Where images come from and where they go: `[sources]`, `[camera]`,
//! `[annotations]`, `[video]` and `[output]`, with every path resolved against
//! the recipe's directory.

use std::path::{Path, PathBuf};

use super::Checker;
use crate::annotations::AnnotationSpec;
use crate::paths;
use crate::recipe::raw::RawRecipe;
use crate::recipe::{CameraPlan, OutputPlan, Sources};
use crate::select::Balance;

/// Whether `[annotations]` is YOLO given as a data YAML.
fn yolo_yaml(raw: &RawRecipe) -> bool {
    raw.annotations.as_ref().is_some_and(|a| {
        let a = a.get_ref();
        let path = Path::new(a.path.get_ref());
        a.format == crate::annotations::Format::Yolo
            && path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
    })
}

/// `[sources]`: at least one root (or a YOLO data YAML naming them);
/// `exclude` patterns that parse.
pub(super) fn sources(c: &mut Checker<'_, '_>, raw: &RawRecipe, base: &Path) -> Sources {
    let roots = match &raw.sources.roots {
        Some(r) if r.get_ref().is_empty() => {
            c.at_key(r, "sources.roots", "must name at least one folder");
            Vec::new()
        }
        Some(r) => r
            .get_ref()
            .iter()
            .map(|p| paths::resolve(base, p.get_ref()))
            .collect(),
        // A YOLO data YAML names its image folders. One that is not there yet
        // gives none (`check` names it; `--syntax-only` does not look).
        None if yolo_yaml(raw) => {
            let a = raw.annotations.as_ref().expect("yolo_yaml").get_ref();
            let yaml = paths::resolve(base, a.path.get_ref());
            if yaml.is_file() {
                match crate::annotations::split_folders(&yaml) {
                    Ok(folders) => folders,
                    Err(e) => {
                        c.at_key(&a.path, "annotations.path", e.to_string());
                        Vec::new()
                    }
                }
            } else {
                Vec::new()
            }
        }
        None => {
            c.missing(
                "sources.roots",
                "missing: add `[sources]` with `roots = [\"folder\", ...]`",
            );
            Vec::new()
        }
    };
    let exclude = raw
        .sources
        .exclude
        .iter()
        .enumerate()
        .filter_map(|(i, p)| c.pattern(p, &format!("sources.exclude[{i}]")))
        .collect();
    Sources {
        roots,
        allow_outside: raw.sources.allow_outside.unwrap_or(false),
        follow_symlinks: raw.sources.follow_symlinks.unwrap_or(false),
        manifest: raw
            .sources
            .manifest
            .as_ref()
            .map(|m| paths::resolve(base, m.get_ref())),
        exclude,
    }
}

/// `[camera]`: a `from` pattern with a `{camera}` capture and a `min` count.
pub(super) fn camera(c: &mut Checker<'_, '_>, raw: &RawRecipe) -> CameraPlan {
    CameraPlan {
        from: raw.camera.from.as_ref().and_then(|f| {
            let p = c.pattern(f, "camera.from")?;
            if !p.capture_names().any(|n| n == "camera") {
                c.at_key(
                    f,
                    "camera.from",
                    "needs a `{camera}` capture, e.g. `frames/{camera}/**`",
                );
            }
            Some(p)
        }),
        min: raw
            .camera
            .min
            .as_ref()
            .map_or(0, |m| c.count(m, "camera.min")),
        balance: balance(c, raw),
    }
}

/// `camera.balance` (`proportional` or `equal`) or `camera.weights` (a table
/// of camera → weight ≥ 0, `-` for images without a camera), not both.
fn balance(c: &mut Checker<'_, '_>, raw: &RawRecipe) -> Balance {
    let cam = &raw.camera;
    match (&cam.balance, &cam.weights) {
        (Some(b), Some(_)) => {
            c.at_key(
                b,
                "camera.balance",
                "set either `balance` or `weights`, not both",
            );
            Balance::default()
        }
        (Some(b), None) => {
            match b.get_ref().as_str() {
                "proportional" => Balance::Proportional,
                "equal" => Balance::Equal,
                other => {
                    c.at_key(
                    b,
                    "camera.balance",
                    format!("must be \"proportional\" or \"equal\" (or give `weights`), not `{other}`"),
                );
                    Balance::default()
                }
            }
        }
        (None, Some(w)) => {
            let mut weights = std::collections::BTreeMap::new();
            for (camera, v) in w.get_ref() {
                let x = *v.get_ref();
                if x.is_finite() && x >= 0.0 {
                    weights.insert(camera.clone(), x);
                } else {
                    c.at_key(
                        v,
                        &format!("camera.weights.{camera}"),
                        format!("must be 0 or more, not {x}"),
                    );
                }
            }
            Balance::Weights(weights)
        }
        (None, None) => Balance::default(),
    }
}

/// `[video] ffmpeg`: path of the ffmpeg executable, resolved; nothing to check.
pub(super) fn ffmpeg(raw: &RawRecipe, base: &Path) -> Option<PathBuf> {
    raw.video
        .ffmpeg
        .as_ref()
        .map(|f| paths::resolve(base, f.get_ref()))
}

/// `[output]`: the folder, resolved, and the link mode and layout (defaults when
/// absent); nothing to check.
pub(super) fn output(raw: &RawRecipe, base: &Path) -> OutputPlan {
    OutputPlan {
        dir: raw
            .output
            .dir
            .as_ref()
            .map(|d| paths::resolve(base, d.get_ref())),
        mode: raw.output.mode.unwrap_or_default(),
        layout: raw.output.layout.unwrap_or_default(),
    }
}

/// `[annotations]` with paths resolved. Defaults: deployment size 1280×720,
/// far-small below 32 px.
pub(super) fn annotations(
    c: &mut Checker<'_, '_>,
    raw: &RawRecipe,
    base: &Path,
) -> Option<AnnotationSpec> {
    let a = raw.annotations.as_ref()?.get_ref();
    let resolve = |p: &str| paths::resolve(base, p);
    let deploy_size = match &a.deploy_size {
        None => (1280, 720),
        Some(d) => match d.get_ref().as_slice() {
            &[w, h] if w > 0 && h > 0 && w <= 65_535 && h <= 65_535 => (w as u32, h as u32),
            _ => {
                c.at_key(
                    d,
                    "annotations.deploy_size",
                    "must be [width, height] in pixels, e.g. [1280, 720]",
                );
                (1280, 720)
            }
        },
    };
    let small_box = match &a.small_box {
        None => 32.0,
        Some(v) if v.get_ref().is_finite() && *v.get_ref() >= 0.0 => *v.get_ref() as f32,
        Some(v) => {
            c.at_key(v, "annotations.small_box", "must be 0 or more pixels");
            32.0
        }
    };
    Some(AnnotationSpec {
        format: a.format,
        path: resolve(a.path.get_ref()),
        images: a.images.as_deref().map(resolve),
        names: a.names.as_deref().map(resolve),
        deploy_size,
        small_box,
    })
}
