//! The recipe exactly as written: serde structs that mirror the TOML file, with
//! spans kept on every value a validation message may point at.
//!
//! Nothing here is checked beyond what serde checks (types, unknown keys, enum
//! names); [`super::validate`] turns a [`RawRecipe`] into a [`super::Recipe`].

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::dedup::{Grouping, Scope};
use crate::export::LinkMode;
use crate::handoff::Layout;
use crate::label::Bucket;
use crate::select::ShortfallPolicy;

/// The top level of a recipe file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRecipe {
    pub name: Option<Spanned<String>>,
    pub seed: Option<Spanned<i64>>,
    pub total: Option<Spanned<i64>>,
    pub split: Option<Spanned<RawSplit>>,
    pub shortfall: Option<ShortfallPolicy>,
    pub default_bucket: Option<Bucket>,
    #[serde(default)]
    pub sources: RawSources,
    #[serde(default)]
    pub camera: RawCamera,
    #[serde(default)]
    pub dedup: RawDedup,
    #[serde(default)]
    pub sequences: RawSequences,
    #[serde(default)]
    pub quality: RawQuality,
    #[serde(default)]
    pub limits: RawLimits,
    pub tensor: Option<Spanned<RawTensor>>,
    pub model: Option<Spanned<RawModel>>,
    #[serde(default)]
    pub export: RawExport,
    pub resave: Option<Spanned<RawResave>>,
    #[serde(default)]
    pub stability: RawStability,
    #[serde(default)]
    pub video: RawVideo,
    pub annotations: Option<Spanned<RawAnnotations>>,
    #[serde(default)]
    pub rules: Vec<Spanned<RawRule>>,
    #[serde(default)]
    pub buckets: RawBuckets,
    pub classes: Option<Spanned<RawClasses>>,
    #[serde(default)]
    pub output: RawOutput,
}

/// `[classes]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClasses {
    #[serde(default)]
    pub require: Vec<String>,
    pub min: Option<Spanned<i64>>,
    pub bucket: Option<Bucket>,
}

/// `split = { normal = 6, hard = 2, background = 2 }`, or the same as the
/// ratio `"6:2:2"` (normal:hard:background), as the domain rules write it.
#[derive(Debug, Default)]
pub(crate) struct RawSplit {
    pub normal: Option<Spanned<f64>>,
    pub hard: Option<Spanned<f64>>,
    pub background: Option<Spanned<f64>>,
    /// Written as a ratio string: its weights have no spans of their own.
    pub ratio: bool,
}

/// The table form of [`RawSplit`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SplitTable {
    normal: Option<Spanned<f64>>,
    hard: Option<Spanned<f64>>,
    background: Option<Spanned<f64>>,
}

impl<'de> Deserialize<'de> for RawSplit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Split;
        impl<'de> serde::de::Visitor<'de> for Split {
            type Value = RawSplit;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a table `{ normal = 6, hard = 2, background = 2 }` or a ratio \"6:2:2\" (normal:hard:background)",
                )
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<RawSplit, E> {
                let parts: Vec<&str> = text.split(':').map(str::trim).collect();
                let weights: Option<Vec<f64>> = parts
                    .iter()
                    .map(|p| p.parse::<f64>().ok().filter(|w| w.is_finite() && *w >= 0.0))
                    .collect();
                match weights.as_deref() {
                    Some(&[normal, hard, background]) => {
                        let at = |w| Some(Spanned::new(0..0, w));
                        Ok(RawSplit {
                            normal: at(normal),
                            hard: at(hard),
                            background: at(background),
                            ratio: true,
                        })
                    }
                    _ => Err(E::custom(format!(
                        "`{text}` is not a ratio normal:hard:background of three numbers of 0 or more, like \"6:2:2\""
                    ))),
                }
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<RawSplit, A::Error> {
                let t = SplitTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(RawSplit {
                    normal: t.normal,
                    hard: t.hard,
                    background: t.background,
                    ratio: false,
                })
            }
        }
        d.deserialize_any(Split)
    }
}

/// `[sources]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSources {
    pub roots: Option<Spanned<Vec<Spanned<String>>>>,
    pub manifest: Option<Spanned<String>>,
    #[serde(default)]
    pub exclude: Vec<Spanned<String>>,
    pub allow_outside: Option<bool>,
    pub follow_symlinks: Option<bool>,
}

/// `[camera]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCamera {
    pub from: Option<Spanned<String>>,
    pub min: Option<Spanned<i64>>,
    pub balance: Option<Spanned<String>>,
    pub weights: Option<Spanned<BTreeMap<String, Spanned<f64>>>>,
}

/// `[dedup]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDedup {
    pub similarity: Option<Spanned<f64>>,
    pub max_distance: Option<Spanned<i64>>,
    pub scope: Option<Scope>,
    pub exact: Option<bool>,
    pub grouping: Option<Grouping>,
}

/// One `[[rules]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    #[serde(rename = "match")]
    pub pattern: Option<Spanned<String>>,
    #[serde(rename = "where", default)]
    pub conditions: BTreeMap<String, Spanned<String>>,
    pub when: Option<Spanned<OneOrMany>>,
    pub fps: Option<Spanned<f64>>,
    pub bucket: Option<Bucket>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub camera: Option<String>,
}

/// `[buckets.*]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBuckets {
    pub normal: Option<RawBucket>,
    pub hard: Option<RawBucket>,
    pub background: Option<RawBucket>,
}

/// `[buckets.NAME]`, with its `quota` and `min` sub-tables.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBucket {
    pub count: Option<Spanned<i64>>,
    pub free: Option<crate::select::FreeShare>,
    #[serde(default)]
    pub quota: BTreeMap<String, Spanned<i64>>,
    #[serde(default)]
    pub min: BTreeMap<String, Spanned<i64>>,
}

/// `[output]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOutput {
    pub dir: Option<Spanned<String>>,
    pub mode: Option<LinkMode>,
    pub layout: Option<Layout>,
}

/// A duration: seconds as a number, or text such as `"500ms"`, `"1s"`, `"2m"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawDuration {
    Seconds(f64),
    Text(String),
}

/// `[sequences]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSequences {
    #[serde(rename = "match")]
    pub pattern: Option<Spanned<OneOrMany>>,
    pub every: Option<Spanned<RawDuration>>,
    pub fps: Option<Spanned<f64>>,
    pub consecutive: Option<bool>,
}

/// `[video]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVideo {
    pub ffmpeg: Option<Spanned<String>>,
}

/// A string or a list of strings.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    /// The strings, one or many.
    pub(super) fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// A number or a list of numbers (`mean = 0.5`, `mean = [0.485, 0.456, 0.406]`).
#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "a number or a list of numbers")]
pub(crate) enum NumberOrList {
    One(f64),
    Many(Vec<f64>),
}

impl NumberOrList {
    /// The numbers, one or many.
    pub(super) fn to_vec(&self) -> Vec<f64> {
        match self {
            NumberOrList::One(x) => vec![*x],
            NumberOrList::Many(v) => v.clone(),
        }
    }
}

/// `[annotations]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAnnotations {
    pub format: crate::annotations::Format,
    pub path: Spanned<String>,
    pub images: Option<String>,
    pub names: Option<String>,
    pub deploy_size: Option<Spanned<Vec<i64>>>,
    pub small_box: Option<Spanned<f64>>,
}

/// `[quality]`: thresholds of the measured tags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawQuality {
    pub dark: Option<Spanned<f64>>,
    pub overexposed: Option<Spanned<f64>>,
    pub backlit: Option<Spanned<f64>>,
    pub low_contrast: Option<Spanned<f64>>,
    pub blurry: Option<Spanned<f64>>,
    pub lowq: Option<Spanned<i64>>,
    pub low_information: Option<Spanned<f64>>,
    pub grayscale: Option<Spanned<f64>>,
}

/// `[tensor]`: the model input's preprocessing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTensor {
    pub size: Option<Spanned<Vec<i64>>>,
    pub resize: Option<crate::tensor::Fit>,
    pub filter: Option<crate::tensor::Filter>,
    pub pad: Option<Spanned<i64>>,
    pub pad_position: Option<crate::tensor::PadPosition>,
    pub channels: Option<crate::tensor::Channels>,
    pub scale: Option<Spanned<f64>>,
    pub mean: Option<Spanned<NumberOrList>>,
    pub std: Option<Spanned<NumberOrList>>,
    pub layout: Option<crate::tensor::TensorLayout>,
    pub dtype: Option<crate::tensor::Dtype>,
    pub input: Option<Spanned<String>>,
}

/// `[model]`: the FP32 model the set calibrates.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawModel {
    pub path: Option<Spanned<String>>,
    pub method: Option<Spanned<String>>,
    pub percentile: Option<Spanned<f64>>,
    pub coverage: Option<Spanned<i64>>,
}

/// `[export]`: the hand-off files.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExport {
    pub formats: Option<Spanned<Vec<Spanned<String>>>>,
    pub paths: Option<Spanned<String>>,
}

/// `[resave]`: low-bitrate re-saves.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawResave {
    pub share: Option<Spanned<f64>>,
    pub quality: Option<Spanned<i64>>,
    pub buckets: Option<Spanned<Vec<Bucket>>>,
}

/// `[limits]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLimits {
    pub max_megapixels: Option<Spanned<f64>>,
}

/// `[stability]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStability {
    pub threshold: Option<Spanned<f64>>,
}

/// Reads `text` into a [`RawRecipe`], reporting every problem serde and the
/// TOML parser find, not only the first: all syntax errors the parser recovers
/// from at once; then, key by key, each value of the wrong type, unknown key
/// or unknown name, by deserializing again without the offending entry until
/// the rest reads. Problems come back in file order.
pub(crate) fn read_all(
    text: &str,
    source: &super::span::SourceMap,
) -> Result<RawRecipe, Vec<super::Problem>> {
    use serde::Deserialize as _;
    let problem = |e: &toml::de::Error| {
        let at = e.span().map_or(0, |s| s.start);
        source.problem(at, plain(e.message()))
    };
    let (mut doc, errors) = toml::de::DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        // The parser's recovery follows a mistake with echoes of it on the
        // same line: the first per line is the one to fix.
        // Keys found by a broken parse mislead: a syntax error names none.
        let mut problems: Vec<super::Problem> = errors
            .iter()
            .map(|e| {
                let at = e.span().map_or(0, |s| s.start);
                let message = e.message().trim_end().to_owned();
                source.problem_with_key(at, "syntax".to_owned(), message)
            })
            .collect();
        problems.sort_by_key(|p| (p.line, p.column));
        problems.dedup_by_key(|p| p.line);
        return Err(problems);
    }
    let mut problems = Vec::new();
    // Each round removes one entry; a recipe has far fewer.
    for _ in 0..256 {
        match RawRecipe::deserialize(toml::de::Deserializer::from(doc.clone())) {
            Ok(raw) if problems.is_empty() => return Ok(raw),
            Ok(_) => break,
            Err(e) => {
                problems.push(problem(&e));
                let removed = e.span().is_some_and(|span| remove_at(doc.get_mut(), &span));
                if !removed {
                    break;
                }
            }
        }
    }
    problems.sort_by_key(|p| (p.line, p.column));
    problems.dedup();
    Err(problems)
}

/// serde's message in the recipe's words: no Rust type names (`i64`, `struct
/// RawSources`), and an unknown key followed by the one valid key it is
/// close to, when there is one.
fn plain(message: &str) -> String {
    let mut out = message
        .trim_end()
        .replace("expected i64", "expected an integer")
        .replace("expected f64", "expected a number");
    while let Some(at) = out.find("expected struct Raw") {
        let name_end = out[at + "expected struct ".len()..]
            .find(|c: char| !c.is_alphanumeric())
            .map_or(out.len(), |n| at + "expected struct ".len() + n);
        out.replace_range(at..name_end, "expected a table");
    }
    if let Some(close) = did_you_mean(&out) {
        out.push_str(&format!("; did you mean `{close}`?"));
    }
    out
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" (or "unknown
/// variant"): the one listed name within a small edit distance of `x`.
fn did_you_mean(message: &str) -> Option<&str> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))?;
    let (unknown, rest) = rest.split_once('`')?;
    let listed = rest.split_once("expected ")?.1;
    let names = listed.split('`').skip(1).step_by(2);
    let reach = (unknown.chars().count() / 3).clamp(1, 3);
    let mut close = names.filter(|n| edit_distance(unknown, n) <= reach);
    match (close.next(), close.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

/// Edit distance in characters, counting a swap of two neighbours as one
/// edit (`hrad` is one from `hard`): optimal string alignment.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// Removes the innermost entry of `table` whose key or value spans `span`;
/// whether one was found. (A `[section]`'s span is its header, so every table
/// is searched, not only those whose span covers `span`.)
fn remove_at(table: &mut toml::de::DeTable<'_>, span: &std::ops::Range<usize>) -> bool {
    let covers = |s: std::ops::Range<usize>| s.start <= span.start && span.end <= s.end;
    let keys: Vec<_> = table.keys().cloned().collect();
    for key in &keys {
        let inner = match table.get_mut(key).map(|v| v.get_mut()) {
            Some(toml::de::DeValue::Table(t)) => remove_at(t, span),
            Some(toml::de::DeValue::Array(items)) => remove_in(items, span),
            _ => false,
        };
        if inner {
            return true;
        }
    }
    let hit = table
        .iter()
        .find(|(k, v)| covers(k.span()) || covers(v.span()))
        .map(|(k, _)| k.clone());
    hit.is_some_and(|key| table.remove(&key).is_some())
}

/// [`remove_at`] for the items of an array.
fn remove_in(items: &mut toml::de::DeArray<'_>, span: &std::ops::Range<usize>) -> bool {
    let covers = |s: std::ops::Range<usize>| s.start <= span.start && span.end <= s.end;
    for item in items.as_mut() {
        let inner = match item.get_mut() {
            toml::de::DeValue::Table(t) => remove_at(t, span),
            toml::de::DeValue::Array(inner) => remove_in(inner, span),
            _ => false,
        };
        if inner {
            return true;
        }
    }
    let Some(i) = items.iter().position(|v| covers(v.span())) else {
        return false;
    };
    let kept = std::mem::replace(items, toml::de::DeArray::new());
    *items = kept
        .into_iter()
        .enumerate()
        .filter_map(|(j, v)| (j != i).then_some(v))
        .collect();
    true
}
