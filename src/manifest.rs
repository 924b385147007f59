//! Input manifests: a CSV or JSON Lines file listing images with their labels.
//!
//! The format is chosen by extension: `.jsonl` / `.ndjson` are JSON Lines, anything
//! else is CSV with a header row. Fields (CSV column names are case-insensitive):
//!
//! | field | CSV | JSONL |
//! |---|---|---|
//! | `path` (required) | relative to the manifest's folder | same |
//! | `bucket` | `normal` \| `hard` \| `background` | same |
//! | `tags` | `;`-separated | array of strings (or a `;`-separated string) |
//! | `camera` | text | string |
//! | `classes` | `;`-separated | array of strings (or a `;`-separated string) |
//! | `time` | seconds, or ISO-8601 date-time | number, or ISO-8601 string |
//!
//! Any other column or key is kept as metadata (`field = value`) that rules can
//! test with `where` and quotas can count with `field=value` keys. Empty fields
//! leave that label to the recipe's rules. A path that leaves the manifest's
//! folder is refused unless the recipe sets `sources.allow_outside = true`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::label::Bucket;
use crate::paths;

/// The labels one manifest row gives.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Row {
    /// The row's bucket, when the field is not empty.
    pub bucket: Option<Bucket>,
    /// The row's tags.
    pub tags: BTreeSet<String>,
    /// The row's camera, when the field is not empty.
    pub camera: Option<String>,
    /// Object classes in the image.
    pub classes: BTreeSet<String>,
    /// Capture time in seconds (epoch seconds for ISO-8601 date-times).
    pub time: Option<f64>,
    /// The time as the manifest wrote it (`12.50`, `2024-05-01T08:30:00Z`).
    pub time_written: Option<String>,
    /// Other fields.
    pub meta: BTreeMap<String, String>,
    /// 1-based line of the row in the file.
    pub line: u64,
}

/// A parsed manifest, keyed by normalised absolute image path.
#[derive(Debug, Default)]
pub(crate) struct Manifest {
    path: PathBuf,
    rows: HashMap<PathBuf, Row>,
    missing: usize,
    missing_examples: Vec<PathBuf>,
}

/// How many rows naming files that do not exist [`Manifest::load_for`] keeps
/// as examples.
pub(crate) const MISSING_EXAMPLES: usize = 20;

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

/// One row's fields before interpretation.
#[derive(Default)]
struct Fields {
    path: Option<String>,
    bucket: Option<String>,
    tags: Vec<String>,
    camera: Option<String>,
    classes: Vec<String>,
    time: Option<TimeField>,
    meta: BTreeMap<String, String>,
}

enum TimeField {
    /// A number, and how it was written.
    Seconds(f64, String),
    Text(String),
}

/// A row's file, from its `path` `rel` (relative to `dir`, the manifest's
/// folder): absolute and normalised, and within `dir` unless `allow_outside`.
fn key_of(dir: &Path, rel: &str, allow_outside: bool) -> Result<PathBuf, String> {
    let key = paths::normalize(&dir.join(rel));
    if !allow_outside && !paths::is_within(&key, dir) {
        return Err(format!(
            "`{rel}` is outside the manifest's folder; set `allow_outside = true` under [sources] to allow it"
        ));
    }
    Ok(key)
}

/// A row's `bucket`, when it has one.
fn bucket_of(bucket: Option<String>) -> Result<Option<Bucket>, String> {
    match bucket {
        None => Ok(None),
        Some(b) => Bucket::parse(&b)
            .map(Some)
            .ok_or_else(|| format!("unknown bucket `{b}` (expected normal, hard or background)")),
    }
}

/// A row's `time` in seconds and as written, when it has one.
fn time_of(time: Option<TimeField>) -> Result<(Option<f64>, Option<String>), String> {
    match time {
        None => Ok((None, None)),
        Some(TimeField::Seconds(s, w)) if s.is_finite() => Ok((Some(s), Some(w))),
        Some(TimeField::Seconds(s, _)) => Err(format!("bad time {s}")),
        Some(TimeField::Text(t)) => {
            let s = parse_time(&t).ok_or_else(|| {
                format!("bad time `{t}` (expected seconds or an ISO-8601 date-time)")
            })?;
            Ok((Some(s), Some(t)))
        }
    }
}

/// A 128-bit hash of a row's file, to find paths listed twice.
fn path_id(key: &Path) -> u128 {
    let hash = blake3::hash(key.as_os_str().as_encoded_bytes());
    u128::from_le_bytes(hash.as_bytes()[..16].try_into().expect("16 bytes"))
}

impl Manifest {
    /// Reads the manifest at `path`, keeping only the rows of files in `found`;
    /// the others are counted (see [`Manifest::missing`]), the first
    /// [`MISSING_EXAMPLES`] kept as examples. Every row is still checked, so
    /// memory follows the rows used while errors are found everywhere.
    pub(crate) fn load_for(
        path: &Path,
        allow_outside: bool,
        found: &HashSet<&Path>,
    ) -> Result<Self, ManifestError> {
        Self::parse_with(path, &read(path)?, allow_outside, |p| found.contains(p))
    }

    /// Parses manifest text as if read from `path` (the extension picks the
    /// format), keeping every row.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn parse(
        path: &Path,
        text: &str,
        allow_outside: bool,
    ) -> Result<Self, ManifestError> {
        Self::parse_with(path, text, allow_outside, |_| true)
    }

    /// Parses manifest text as if read from `path`, keeping the rows of the
    /// files `keep` accepts and counting the others.
    fn parse_with(
        path: &Path,
        text: &str,
        allow_outside: bool,
        keep: impl Fn(&Path) -> bool,
    ) -> Result<Self, ManifestError> {
        let jsonl = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("ndjson"));
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut manifest = Manifest {
            path: path.to_owned(),
            ..Manifest::default()
        };
        // Every path seen, as a 128-bit hash, with its line: duplicates are
        // found among dropped rows too, in 24 bytes a row.
        let mut seen: HashMap<u128, u64> = HashMap::new();
        let mut visit = |line: u64, fields: Fields| {
            let err = |message: String| ManifestError::Row {
                path: path.to_owned(),
                line,
                message,
            };
            let Some(rel) = fields.path else {
                return Err(err("empty `path`".into()));
            };
            let key = key_of(dir, &rel, allow_outside).map_err(err)?;
            let bucket = bucket_of(fields.bucket).map_err(err)?;
            let (time, time_written) = time_of(fields.time).map_err(err)?;
            if let Some(first) = seen.insert(path_id(&key), line) {
                return Err(err(format!(
                    "`{rel}` is listed twice (first on line {first})"
                )));
            }
            if !keep(&key) {
                manifest.missing += 1;
                if manifest.missing_examples.len() < MISSING_EXAMPLES {
                    manifest.missing_examples.push(key);
                }
                return Ok(());
            }
            let row = Row {
                bucket,
                tags: fields.tags.into_iter().collect(),
                camera: fields.camera,
                classes: fields.classes.into_iter().collect(),
                time,
                time_written,
                meta: fields.meta,
                line,
            };
            manifest.rows.insert(key, row);
            Ok(())
        };
        if jsonl {
            jsonl_records(path, text, &mut visit)?;
        } else {
            csv_records(path, text, &mut visit)?;
        }
        Ok(manifest)
    }

    /// The manifest file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The row for the image at `path` (absolute, normalised).
    pub(crate) fn row(&self, path: &Path) -> Option<&Row> {
        self.rows.get(path)
    }

    /// Number of rows kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Rows [`Manifest::load_for`] dropped because their file was not found:
    /// how many, and the first few paths in file order.
    pub(crate) fn missing(&self) -> (usize, &[PathBuf]) {
        (self.missing, &self.missing_examples)
    }
}

/// The manifest's text.
fn read(path: &Path) -> Result<String, ManifestError> {
    crate::source::read_text(path, crate::source::LIST_LIMIT).map_err(|e| ManifestError::Read {
        path: path.to_owned(),
        source: e.into_io(),
    })
}

fn split_list(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// Calls `visit` with every CSV record, in file order.
fn csv_records(
    path: &Path,
    text: &str,
    visit: &mut dyn FnMut(u64, Fields) -> Result<(), ManifestError>,
) -> Result<(), ManifestError> {
    let row_err = |line: u64, message: String| ManifestError::Row {
        path: path.to_owned(),
        line,
        message,
    };
    let mut csv = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = csv
        .headers()
        .map_err(|e| row_err(1, format!("bad header: {e}")))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if !headers.iter().any(|h| h == "path") {
        return Err(row_err(1, "no `path` column in the header".into()));
    }
    for record in csv.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            row_err(line, e.to_string())
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let mut f = Fields::default();
        for (name, value) in headers.iter().zip(record.iter()) {
            match name.as_str() {
                "path" => f.path = non_empty(value),
                "bucket" => f.bucket = non_empty(value),
                "tags" => f.tags = split_list(value),
                "camera" => f.camera = non_empty(value),
                "classes" => f.classes = split_list(value),
                "time" => {
                    f.time = non_empty(value).map(|t| match t.parse::<f64>() {
                        Ok(s) => TimeField::Seconds(s, t),
                        Err(_) => TimeField::Text(t),
                    })
                }
                other => {
                    if let Some(v) = non_empty(value) {
                        f.meta.insert(other.to_owned(), v);
                    }
                }
            }
        }
        visit(line, f)?;
    }
    Ok(())
}

/// Calls `visit` with every JSON Lines record, in file order.
fn jsonl_records(
    path: &Path,
    text: &str,
    visit: &mut dyn FnMut(u64, Fields) -> Result<(), ManifestError>,
) -> Result<(), ManifestError> {
    for (i, raw) in text.lines().enumerate() {
        let line = i as u64 + 1;
        let err = |message: String| ManifestError::Row {
            path: path.to_owned(),
            line,
            message,
        };
        if raw.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(raw).map_err(|e| err(format!("bad JSON: {e}")))?;
        let serde_json::Value::Object(map) = value else {
            return Err(err("expected a JSON object".into()));
        };
        let mut f = Fields::default();
        for (key, value) in map {
            let text = |v: &serde_json::Value| match v {
                serde_json::Value::Null => Ok(None),
                serde_json::Value::String(s) => Ok(non_empty(s)),
                serde_json::Value::Number(n) => Ok(Some(n.to_string())),
                serde_json::Value::Bool(b) => Ok(Some(b.to_string())),
                _ => Err(err(format!("`{key}` must be a string"))),
            };
            let list = |v: &serde_json::Value| match v {
                serde_json::Value::Null => Ok(Vec::new()),
                serde_json::Value::String(s) => Ok(split_list(s)),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|i| match i {
                        serde_json::Value::String(s) => Ok(s.trim().to_owned()),
                        _ => Err(err(format!("`{key}` must be an array of strings"))),
                    })
                    .filter(|r| !matches!(r, Ok(s) if s.is_empty()))
                    .collect(),
                _ => Err(err(format!("`{key}` must be an array of strings"))),
            };
            match key.to_ascii_lowercase().as_str() {
                "path" => f.path = text(&value)?,
                "bucket" => f.bucket = text(&value)?,
                "tags" => f.tags = list(&value)?,
                "camera" => f.camera = text(&value)?,
                "classes" => f.classes = list(&value)?,
                "time" => {
                    f.time = match &value {
                        serde_json::Value::Number(n) => Some(TimeField::Seconds(
                            n.as_f64().unwrap_or(f64::NAN),
                            n.to_string(),
                        )),
                        serde_json::Value::Null => None,
                        other => text(other)?.map(TimeField::Text),
                    }
                }
                _ => {
                    if let Some(v) = text(&value)? {
                        f.meta.insert(key.to_ascii_lowercase(), v);
                    }
                }
            }
        }
        visit(line, f)?;
    }
    Ok(())
}

/// Parses seconds (`12.5`) or an ISO-8601 date-time (`2024-05-01T08:30:00Z`,
/// `2024-05-01 08:30:00.250+02:00`; no zone means UTC) to seconds since the epoch.
pub(crate) fn parse_time(text: &str) -> Option<f64> {
    let t = text.trim();
    if let Ok(s) = t.parse::<f64>() {
        return s.is_finite().then_some(s);
    }
    let (date, rest) = t.split_at_checked(10)?;
    let mut d = date.split('-');
    let (y, m, day): (i64, i64, i64) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(y, m, day);
    let mut secs = days as f64 * 86_400.0;
    let rest = rest.strip_prefix(['T', 't', ' ']).unwrap_or(rest);
    if rest.is_empty() {
        return Some(secs);
    }
    let zone_at = rest
        .char_indices()
        .skip(1)
        .find(|(_, c)| matches!(c, 'Z' | 'z' | '+' | '-'))
        .map_or(rest.len(), |(i, _)| i);
    let (clock, zone) = rest.split_at(zone_at);
    let mut c = clock.split(':');
    let h: f64 = c.next()?.parse().ok()?;
    let min: f64 = c.next()?.parse().ok()?;
    let s: f64 = c.next().map_or(Some(0.0), |s| s.parse().ok())?;
    if c.next().is_some()
        || !(0.0..24.0).contains(&h)
        || !(0.0..60.0).contains(&min)
        || !(0.0..61.0).contains(&s)
    {
        return None;
    }
    secs += h * 3600.0 + min * 60.0 + s;
    match zone {
        "" | "Z" | "z" => {}
        z => {
            let sign = if z.starts_with('-') { -1.0 } else { 1.0 };
            let (zh, zm) = z[1..].split_once(':').unwrap_or((&z[1..], "0"));
            // Whole hours and minutes only: `+nan` or `+inf` is no offset.
            let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            if !digits(zh) || !digits(zm) {
                return None;
            }
            let (zh, zm): (u32, u32) = (zh.parse().ok()?, zm.parse().ok()?);
            if zh > 23 || zm > 59 {
                return None;
            }
            secs -= sign * f64::from(zh * 3600 + zm * 60);
        }
    }
    secs.is_finite().then_some(secs)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str, text: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(&Path::new("/pool").join(name), text, false)
    }

    #[test]
    fn reads_csv_rows_with_classes_time_and_metadata() {
        let m = parse(
            "m.csv",
            "path,bucket,tags,camera,classes,time,Weather\nframes/a.jpg,hard,night;lowq,cam01,car;person,12.5,rain\nb.png,,,,,,\n",
        )
        .unwrap();
        let a = m.row(Path::new("/pool/frames/a.jpg")).unwrap();
        assert_eq!(a.bucket, Some(Bucket::Hard));
        assert_eq!(a.tags.iter().collect::<Vec<_>>(), ["lowq", "night"]);
        assert_eq!(a.classes.iter().collect::<Vec<_>>(), ["car", "person"]);
        assert_eq!(a.camera.as_deref(), Some("cam01"));
        assert_eq!(a.time, Some(12.5));
        assert_eq!(a.meta["weather"], "rain");
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
    fn reads_jsonl() {
        let m = parse(
            "m.jsonl",
            "{\"path\": \"a.jpg\", \"bucket\": \"background\", \"tags\": [\"empty\"], \"time\": \"2024-01-01T00:00:01Z\", \"site\": 4}\n\n{\"path\": \"b.jpg\", \"classes\": \"car;bus\"}\n",
        )
        .unwrap();
        let a = m.row(Path::new("/pool/a.jpg")).unwrap();
        assert_eq!(a.bucket, Some(Bucket::Background));
        assert_eq!(a.time, Some(1_704_067_201.0));
        assert_eq!(a.meta["site"], "4");
        let b = m.row(Path::new("/pool/b.jpg")).unwrap();
        assert_eq!((b.line, b.classes.len()), (3, 2));
    }

    #[test]
    fn names_the_bad_line() {
        let cases = [
            (
                "m.csv",
                "path,bucket\na.jpg,normal\nb.jpg,nromal\n",
                "/pool/m.csv:3: unknown bucket `nromal` (expected normal, hard or background)",
            ),
            (
                "m.csv",
                "file,bucket\na.jpg,normal\n",
                "/pool/m.csv:1: no `path` column in the header",
            ),
            (
                "m.csv",
                "path\na.jpg\n./a.jpg\n",
                "/pool/m.csv:3: `./a.jpg` is listed twice (first on line 2)",
            ),
            (
                "m.csv",
                "path,time\na.jpg,yesterday\n",
                "/pool/m.csv:2: bad time `yesterday` (expected seconds or an ISO-8601 date-time)",
            ),
            (
                "m.jsonl",
                "{\"path\": \"a.jpg\"}\n{\"path\": \"b.jpg\",\n",
                "/pool/m.jsonl:2: bad JSON: EOF while parsing a value at line 1 column 17",
            ),
            (
                "m.jsonl",
                "[1]\n",
                "/pool/m.jsonl:1: expected a JSON object",
            ),
            (
                "m.jsonl",
                "{\"path\": \"a.jpg\", \"tags\": [1]}\n",
                "/pool/m.jsonl:1: `tags` must be an array of strings",
            ),
        ];
        for (name, text, want) in cases {
            assert_eq!(parse(name, text).unwrap_err().to_string(), want);
        }
        let e = parse("m.csv", "path,bucket\na.jpg,normal,extra\n").unwrap_err();
        assert!(e.to_string().starts_with("/pool/m.csv:2:"), "{e}");
    }

    #[test]
    fn refuses_paths_outside_unless_allowed() {
        for p in ["../x.jpg", "a/../../x.jpg", "/etc/x.jpg"] {
            let text = format!("path\n{p}\n");
            let e = parse("m.csv", &text).unwrap_err().to_string();
            assert!(e.contains("outside the manifest's folder"), "{p}: {e}");
            let m = Manifest::parse(Path::new("/pool/m.csv"), &text, true).unwrap();
            assert_eq!(m.len(), 1);
        }
    }

    #[test]
    fn parses_times() {
        assert_eq!(parse_time("0"), Some(0.0));
        assert_eq!(parse_time("1970-01-02"), Some(86_400.0));
        assert_eq!(parse_time("2000-03-01T00:00:00Z"), Some(951_868_800.0));
        assert_eq!(parse_time("2000-03-01 02:00:00+02:00"), Some(951_868_800.0));
        assert_eq!(
            parse_time("2000-03-01T00:00:00.5-00:30"),
            Some(951_870_600.5)
        );
        for bad in [
            "",
            "x",
            "2000-13-01",
            "2000-01-01T25:00:00",
            "2000-01-01T10",
            "2000-01-01T10:00:00+nan",
            "2000-01-01T10:00:00+inf",
            "2000-01-01T10:00:00-inf:00",
            "2000-01-01T10:00:00+1e300",
            "2000-01-01T10:00:00+99",
            "nan",
            "inf",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }
}
