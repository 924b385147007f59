//! `[tensor]` and `[export]`: the model's preprocessing and the hand-off files.
//! Sizes must be positive, `pad` a byte, `scale`/`mean`/`std` finite (and `std`
//! non-zero) and given only for float dtypes, and every tensor format needs a
//! `[tensor]` table.

use toml::Spanned;

use super::Checker;
use crate::handoff::{Exports, Format, ResavePlan};
use crate::label::Bucket;
use crate::recipe::raw::{RawModel, RawRecipe, RawTensor};
use crate::tensor::{Filter, Spec};

/// Largest model input side accepted, in pixels.
const MAX_SIDE: i64 = 16_384;

/// `[tensor]`, defaults applied; `None` when the recipe has none.
pub(super) fn tensor(c: &mut Checker<'_, '_>, raw: &RawRecipe) -> Option<Spec> {
    let spanned = raw.tensor.as_ref()?;
    let t = spanned.get_ref();
    let mut spec = Spec::default();
    match &t.size {
        None => c.at_key(
            spanned,
            "tensor.size",
            "missing: the model input's [width, height], e.g. [640, 640]",
        ),
        Some(size) => match size.get_ref().as_slice() {
            &[w, h] if (1..=MAX_SIDE).contains(&w) && (1..=MAX_SIDE).contains(&h) => {
                spec.size = [w as u32, h as u32];
            }
            _ => c.at_key(
                size,
                "tensor.size",
                format!("must be [width, height] in pixels, 1 to {MAX_SIDE}, e.g. [640, 640]"),
            ),
        },
    }
    spec.resize = t.resize.unwrap_or(spec.resize);
    spec.filter = t.filter.unwrap_or(Filter::default_for(spec.resize));
    spec.pad_position = t.pad_position.unwrap_or(spec.pad_position);
    spec.channels = t.channels.unwrap_or(spec.channels);
    spec.layout = t.layout.unwrap_or(spec.layout);
    spec.dtype = t.dtype.unwrap_or(spec.dtype);
    if let Some(pad) = &t.pad {
        match u8::try_from(*pad.get_ref()) {
            Ok(v) => spec.pad = v,
            Err(_) => c.at_key(
                pad,
                "tensor.pad",
                format!("must be 0 to 255, not {}", pad.get_ref()),
            ),
        }
    }
    values(c, t, &mut spec);
    if let Some(input) = &t.input {
        let name = input.get_ref();
        if name.trim().is_empty() || name.chars().any(char::is_control) || name.contains(":=") {
            c.at_key(
                input,
                "tensor.input",
                "must be the model input's name, e.g. \"images\"",
            );
        } else {
            spec.input = Some(name.clone());
        }
    }
    Some(spec)
}

/// `scale`, `mean` and `std`: float dtypes only.
fn values(c: &mut Checker<'_, '_>, t: &RawTensor, spec: &mut Spec) {
    if !spec.dtype.is_float() {
        let dtype = spec.dtype;
        for (value, key) in [
            (t.scale.as_ref().map(Spanned::span), "scale"),
            (t.mean.as_ref().map(Spanned::span), "mean"),
            (t.std.as_ref().map(Spanned::span), "std"),
        ] {
            if let Some(span) = value {
                let at = Spanned::new(span, ());
                c.at_key(
                    &at,
                    &format!("tensor.{key}"),
                    format!("applies to float dtypes only; {dtype:?} values are the 8-bit pixels")
                        .to_lowercase(),
                );
            }
        }
        return;
    }
    if let Some(scale) = &t.scale {
        let v = *scale.get_ref();
        if v.is_finite() && v != 0.0 {
            spec.scale = v;
        } else {
            c.at_key(
                scale,
                "tensor.scale",
                format!("must be a finite number other than 0, not {v}"),
            );
        }
    }
    for (value, key, nonzero) in [(&t.mean, "mean", false), (&t.std, "std", true)] {
        let Some(value) = value else {
            continue;
        };
        let v = value.get_ref().to_vec();
        let ok =
            matches!(v.len(), 1 | 3) && v.iter().all(|x| x.is_finite() && !(nonzero && *x == 0.0));
        if !ok {
            let what = if nonzero {
                "finite and not 0"
            } else {
                "finite"
            };
            c.at_key(
                value,
                &format!("tensor.{key}"),
                format!("must be one number or three (per channel), {what}"),
            );
            continue;
        }
        let three = [0, 1, 2].map(|i| v[i.min(v.len() - 1)]);
        match key {
            "mean" => spec.mean = three,
            _ => spec.std = three,
        }
    }
}

/// `[export]`: known format names, tensor formats only with `[tensor]`.
pub(super) fn exports(c: &mut Checker<'_, '_>, raw: &RawRecipe, has_tensor: bool) -> Exports {
    let e = &raw.export;
    let mut exports = Exports::default();
    if let Some(formats) = &e.formats {
        for name in formats.get_ref() {
            match Format::parse(name.get_ref()) {
                Some(f) if f.needs_tensor() && !has_tensor => c.at_key(
                    name,
                    "export.formats",
                    format!("`{}` writes tensors: add a [tensor] table with the model's input size and preprocessing", f.as_str()),
                ),
                Some(f) => {
                    exports.formats.insert(f);
                }
                None => c.at_key(
                    name,
                    "export.formats",
                    format!(
                        "unknown format `{}`, expected one of {}",
                        name.get_ref(),
                        Format::ALL.map(Format::as_str).join(", ")
                    ),
                ),
            }
        }
    }
    if let Some(paths) = &e.paths {
        match paths.get_ref().as_str() {
            "relative" => {}
            "absolute" => exports.absolute_paths = true,
            other => c.at_key(
                paths,
                "export.paths",
                format!("must be \"relative\" or \"absolute\", not `{other}`"),
            ),
        }
    }
    exports
}

/// `[resave]`: `share` in (0, 1], `quality` 1–100 (default 40), `buckets` not
/// empty (default all three).
pub(super) fn resave(c: &mut Checker<'_, '_>, raw: &RawRecipe) -> Option<ResavePlan> {
    let spanned = raw.resave.as_ref()?;
    let r = spanned.get_ref();
    let share = match &r.share {
        None => {
            c.at_key(
                spanned,
                "resave.share",
                "missing: the share of the chosen images to re-save, e.g. 0.15",
            );
            return None;
        }
        Some(s) if s.get_ref().is_finite() && *s.get_ref() > 0.0 && *s.get_ref() <= 1.0 => {
            *s.get_ref()
        }
        Some(s) => {
            c.at_key(
                s,
                "resave.share",
                format!("must be above 0 and at most 1, not {}", s.get_ref()),
            );
            return None;
        }
    };
    let quality = match &r.quality {
        None => 40,
        Some(q) => match u8::try_from(*q.get_ref()) {
            Ok(v) if (1..=100).contains(&v) => v,
            _ => {
                c.at_key(
                    q,
                    "resave.quality",
                    format!("must be a JPEG quality from 1 to 100, not {}", q.get_ref()),
                );
                return None;
            }
        },
    };
    let buckets = match &r.buckets {
        None => Bucket::ALL.into_iter().collect(),
        Some(b) if b.get_ref().is_empty() => {
            c.at_key(b, "resave.buckets", "list at least one bucket");
            return None;
        }
        Some(b) => b.get_ref().iter().copied().collect(),
    };
    Some(ResavePlan {
        share,
        quality,
        buckets,
    })
}

/// `[model]`: a `path` (needs `[tensor]`, which makes its input), and
/// optionally the range tables' `method` (`minmax` or `percentile`, with
/// `percentile` in (0, 100], default 99.999).
pub(super) fn model(
    c: &mut Checker<'_, '_>,
    raw: &RawRecipe,
    base: &std::path::Path,
    has_tensor: bool,
) -> Option<crate::model::ModelPlan> {
    use crate::handoff::Calibration;
    let spanned = raw.model.as_ref()?;
    let m = spanned.get_ref();
    let Some(path) = &m.path else {
        c.at_key(
            spanned,
            "model.path",
            "missing: the FP32 ONNX model, e.g. path = \"yolov8n.onnx\"",
        );
        return None;
    };
    if path.get_ref().trim().is_empty() {
        c.at_key(path, "model.path", "must name the ONNX model file");
        return None;
    }
    if !has_tensor {
        c.at_key(
            spanned,
            "model",
            "the model is run on the set's tensors: add a [tensor] table with its input size and preprocessing",
        );
        return None;
    }
    let percentile = percentile(c, m)?;
    let method = match m.method.as_ref().map(|s| (s, s.get_ref().as_str())) {
        None => None,
        Some((_, "percentile")) => Some(Calibration::Percentile(percentile)),
        Some((_, "minmax")) => Some(Calibration::MinMax),
        Some((s, other)) => {
            c.at_key(
                s,
                "model.method",
                format!("must be \"percentile\" or \"minmax\", not `{other}`"),
            );
            return None;
        }
    };
    if let Some(p) = &m.percentile
        && method == Some(Calibration::MinMax)
    {
        c.at_key(
            p,
            "model.percentile",
            "applies to method = \"percentile\" only",
        );
    }
    let coverage = coverage(c, m)?;
    Some(crate::model::ModelPlan {
        path: crate::paths::resolve(base, path.get_ref()),
        method,
        coverage,
    })
}

/// `model.percentile`, default 99.999; `None` after reporting a value outside
/// (0, 100].
fn percentile(c: &mut Checker<'_, '_>, m: &RawModel) -> Option<f64> {
    match &m.percentile {
        None => Some(99.999),
        Some(p) if p.get_ref().is_finite() && *p.get_ref() > 0.0 && *p.get_ref() <= 100.0 => {
            Some(*p.get_ref())
        }
        Some(p) => {
            c.at_key(
                p,
                "model.percentile",
                format!(
                    "must be above 0 and at most 100, e.g. 99.999, not {}",
                    p.get_ref()
                ),
            );
            None
        }
    }
}

/// `model.coverage`, default [`crate::model::DEFAULT_COVERAGE`]; `None` after
/// reporting a count outside 0 to 1,000,000.
fn coverage(c: &mut Checker<'_, '_>, m: &RawModel) -> Option<usize> {
    match &m.coverage {
        None => Some(crate::model::DEFAULT_COVERAGE),
        Some(n) => match usize::try_from(*n.get_ref()) {
            Ok(n) if n <= 1_000_000 => Some(n),
            _ => {
                c.at_key(
                    n,
                    "model.coverage",
                    format!(
                        "must be 0 (no coverage check) to 1,000,000 pool images, not {}",
                        n.get_ref()
                    ),
                );
                None
            }
        },
    }
}
