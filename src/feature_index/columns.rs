//! The index's Parquet layout: one row per file, one plain column per feature,
//! so DuckDB, pandas, Polars and Spark read it as it is. Writing turns rows into
//! columns with their definition and repetition levels; reading turns them back,
//! bit for bit (floats are stored as the same `f32`s the pipeline compares).

use std::collections::HashMap;
use std::fs::File;
use std::sync::Arc;

use parquet::basic::Compression;
use parquet::column::reader::{ColumnReader, get_typed_column_reader};
use parquet::data_type::{
    BoolType, ByteArray, ByteArrayType, DataType, FixedLenByteArray, FixedLenByteArrayType,
    FloatType, Int32Type, Int64Type,
};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, RowGroupReader, SerializedFileReader};
use parquet::file::writer::{SerializedFileWriter, SerializedRowGroupWriter};
use parquet::schema::parser::parse_message_type;

use super::{Row, mtime};
use crate::cache::Measured;
use crate::features::{Features, Format, ImageIssue, PHash, Quality, Signature, THUMB_SIDE};
use crate::source::Version;

/// The index's columns, in file order: the one description of the layout,
/// from which the schema ([`schema`]), the writer ([`write_group`]) and the
/// reader ([`Columns::rows`]) are derived. Per-image columns are null for a
/// file that could not be measured (`status` says why).
const COLUMNS: &[Column] = &[
    Column::required(
        "key",
        Logical::Utf8,
        Values::Bytes(
            |r| Some(text(&r.key)),
            |d, v| try_set(&mut d.key, utf8(v.unwrap_or_default())),
        ),
    ),
    Column::required(
        "size",
        Logical::Plain,
        Values::Int64(
            |r| Some(r.version.size as i64),
            |d, v| set(&mut d.version.size, v.unwrap_or_default() as u64),
        ),
    ),
    Column::required(
        "mtime_ns",
        Logical::Plain,
        Values::Int64(
            |r| Some(mtime(r.version.modified_ns)),
            |d, v| {
                set(
                    &mut d.version.modified_ns,
                    i128::from(v.unwrap_or_default()),
                )
            },
        ),
    ),
    Column::required(
        "status",
        Logical::Utf8,
        Values::Bytes(
            |r| Some(text(status(&r.measured).0)),
            |d, v| try_set(&mut d.status, utf8(v.unwrap_or_default())),
        ),
    ),
    Column::optional(
        "problem",
        Logical::Utf8,
        Values::Bytes(
            |r| status(&r.measured).1.map(text),
            |d, v| match d.status.as_str() {
                OK => Ok(()),
                _ => try_set(&mut d.problem, v.map(utf8).transpose()),
            },
        ),
    ),
    Column::required(
        "mislabelled",
        Logical::Plain,
        Values::Bool(
            |r| Some(r.measured.mislabelled),
            |d, v| set(&mut d.mislabelled, v.unwrap_or_default()),
        ),
    ),
    Column::image(
        "format",
        Logical::Utf8,
        Values::Bytes(
            |r| Some(text(image(r)?.format.as_str())),
            |d, v| {
                let format = v.and_then(|f| format_of(&String::from_utf8_lossy(f)));
                try_set(&mut d.features.format, format.ok_or("unknown format"))
            },
        ),
    ),
    Column::image(
        "width",
        Logical::Unsigned(32),
        Values::Int32(
            |r| Some(image(r)?.width as i32),
            |d, v| try_set(&mut d.features.width, v.map(|x| x as u32).ok_or("no width")),
        ),
    ),
    Column::image(
        "height",
        Logical::Unsigned(32),
        Values::Int32(
            |r| Some(image(r)?.height as i32),
            |d, v| {
                try_set(
                    &mut d.features.height,
                    v.map(|x| x as u32).ok_or("no height"),
                )
            },
        ),
    ),
    Column::image(
        "blake3",
        Logical::Plain,
        Values::Fixed(
            32,
            |r| Some(image(r)?.content_hash.to_vec()),
            |d, v| {
                let hash = v.and_then(|h| <[u8; 32]>::try_from(h).ok());
                try_set(&mut d.features.content_hash, hash.ok_or("no blake3"))
            },
        ),
    ),
    Column::image(
        "phash",
        Logical::Unsigned(64),
        Values::Int64(
            |r| Some(image(r)?.phash.0 as i64),
            |d, v| {
                try_set(
                    &mut d.features.phash,
                    v.map(|x| PHash(x as u64)).ok_or("no phash"),
                )
            },
        ),
    ),
    Column::image(
        "signature",
        Logical::Plain,
        Values::Floats(
            |r| Some(image(r)?.signature.values().to_vec()),
            |d, v| {
                let values = v.ok_or("no signature")?.to_vec();
                let signature = Signature::from_values(values);
                try_set(
                    &mut d.features.signature,
                    signature.ok_or("a signature of the wrong length"),
                )
            },
        ),
    ),
    Column::image(
        "mean",
        Logical::Plain,
        Values::Float(
            |r| Some(image(r)?.quality.mean),
            |d, v| try_set(&mut d.features.quality.mean, need(v, "mean")),
        ),
    ),
    Column::image(
        "p01",
        Logical::Unsigned(8),
        Values::Int32(
            |r| Some(i32::from(image(r)?.quality.p01)),
            |d, v| try_set(&mut d.features.quality.p01, u8_of(v, "p01")),
        ),
    ),
    Column::image(
        "p99",
        Logical::Unsigned(8),
        Values::Int32(
            |r| Some(i32::from(image(r)?.quality.p99)),
            |d, v| try_set(&mut d.features.quality.p99, u8_of(v, "p99")),
        ),
    ),
    Column::image(
        "contrast",
        Logical::Plain,
        Values::Float(
            |r| Some(image(r)?.quality.contrast),
            |d, v| try_set(&mut d.features.quality.contrast, need(v, "contrast")),
        ),
    ),
    Column::image(
        "dark_clip",
        Logical::Plain,
        Values::Float(
            |r| Some(image(r)?.quality.dark_clip),
            |d, v| try_set(&mut d.features.quality.dark_clip, need(v, "dark_clip")),
        ),
    ),
    Column::image(
        "bright_clip",
        Logical::Plain,
        Values::Float(
            |r| Some(image(r)?.quality.bright_clip),
            |d, v| try_set(&mut d.features.quality.bright_clip, need(v, "bright_clip")),
        ),
    ),
    Column::image(
        "sharpness",
        Logical::Plain,
        Values::Float(
            |r| Some(image(r)?.quality.sharpness),
            |d, v| try_set(&mut d.features.quality.sharpness, need(v, "sharpness")),
        ),
    ),
    Column::image(
        "jpeg_quality",
        Logical::Unsigned(8),
        Values::Int32(
            |r| image(r)?.quality.jpeg_quality.map(i32::from),
            |d, v| {
                let quality = v.map(|q| u8_of(Some(q), "jpeg_quality")).transpose();
                try_set(&mut d.features.quality.jpeg_quality, quality)
            },
        ),
    ),
    Column::image(
        "colourfulness",
        Logical::Plain,
        Values::Float(
            |r| Some(image(r)?.quality.colourfulness),
            |d, v| {
                try_set(
                    &mut d.features.quality.colourfulness,
                    need(v, "colourfulness"),
                )
            },
        ),
    ),
    Column::image(
        "entropy",
        Logical::Plain,
        Values::Float(
            |r| Some(image(r)?.quality.entropy),
            |d, v| try_set(&mut d.features.quality.entropy, need(v, "entropy")),
        ),
    ),
    Column::image(
        "histogram",
        Logical::Unsigned(16),
        Values::Int32s(
            |r| Some(image(r)?.histogram.iter().map(|&c| i32::from(c)).collect()),
            |d, v| {
                let counts = v.ok_or("no histogram")?.iter().map(|&c| u16::try_from(c));
                let counts: Result<Vec<u16>, _> = counts.collect();
                let counts = counts.map_err(|_| "a histogram count out of range");
                try_set(&mut d.features.histogram, counts.map(Arc::from))
            },
        ),
    ),
];

/// One column of the index: its name and type, and how a row's value is
/// written to it and read back.
struct Column {
    /// Its name.
    name: &'static str,
    /// Whether every row has a value (`REQUIRED`); else it is `OPTIONAL`.
    /// A list is always optional, its elements required.
    required: bool,
    /// Whether only a measured image has a value: the column is null for
    /// other files and read only for measured ones, and what is wrong with a
    /// value read names the row.
    image: bool,
    /// The values' logical type (a list's, its elements').
    logical: Logical,
    /// The values' physical type, and how they move between rows and file.
    values: Values,
}

impl Column {
    /// A `REQUIRED` column of every file.
    const fn required(name: &'static str, logical: Logical, values: Values) -> Column {
        Column {
            name,
            required: true,
            image: false,
            logical,
            values,
        }
    }

    /// An `OPTIONAL` column of every file.
    const fn optional(name: &'static str, logical: Logical, values: Values) -> Column {
        Column {
            required: false,
            ..Column::required(name, logical, values)
        }
    }

    /// An `OPTIONAL` column of a measured image.
    const fn image(name: &'static str, logical: Logical, values: Values) -> Column {
        Column {
            image: true,
            ..Column::optional(name, logical, values)
        }
    }

    /// The column's declaration in the schema's message syntax.
    fn declaration(&self) -> String {
        let (physical, list) = self.values.physical();
        let logical = self.logical.annotation();
        if list {
            format!(
                "  OPTIONAL group {} (LIST) {{\n    REPEATED group list {{\n      \
                 REQUIRED {physical} element{logical};\n    }}\n  }}\n",
                self.name
            )
        } else {
            let repetition = if self.required {
                "REQUIRED"
            } else {
                "OPTIONAL"
            };
            format!("  {repetition} {physical} {}{logical};\n", self.name)
        }
    }
}

/// A column's logical type.
#[derive(Debug, Clone, Copy)]
enum Logical {
    /// None: the physical type says it all.
    Plain,
    /// `UTF8` text.
    Utf8,
    /// An unsigned integer of this many bits.
    Unsigned(u8),
}

impl Logical {
    /// Its annotation after the column's name (with the space before it).
    fn annotation(self) -> String {
        match self {
            Logical::Plain => String::new(),
            Logical::Utf8 => " (UTF8)".to_owned(),
            Logical::Unsigned(bits) => format!(" (INTEGER({bits}, false))"),
        }
    }
}

/// A column's physical type, with how a row's value is written (`None` is
/// null) and how a value read back (`None`: null) goes into the row being
/// read, or what is wrong with it.
#[derive(Clone, Copy)]
enum Values {
    /// `BYTE_ARRAY`.
    Bytes(
        fn(&Row) -> Option<Vec<u8>>,
        fn(&mut Draft, Option<&[u8]>) -> Result<(), String>,
    ),
    /// `FIXED_LEN_BYTE_ARRAY` of this many bytes.
    Fixed(
        usize,
        fn(&Row) -> Option<Vec<u8>>,
        fn(&mut Draft, Option<&[u8]>) -> Result<(), String>,
    ),
    /// `BOOLEAN`.
    Bool(
        fn(&Row) -> Option<bool>,
        fn(&mut Draft, Option<bool>) -> Result<(), String>,
    ),
    /// `INT32`.
    Int32(
        fn(&Row) -> Option<i32>,
        fn(&mut Draft, Option<i32>) -> Result<(), String>,
    ),
    /// `INT64`.
    Int64(
        fn(&Row) -> Option<i64>,
        fn(&mut Draft, Option<i64>) -> Result<(), String>,
    ),
    /// `FLOAT`.
    Float(
        fn(&Row) -> Option<f32>,
        fn(&mut Draft, Option<f32>) -> Result<(), String>,
    ),
    /// A list of `FLOAT`s.
    Floats(
        fn(&Row) -> Option<Vec<f32>>,
        fn(&mut Draft, Option<&[f32]>) -> Result<(), String>,
    ),
    /// A list of `INT32`s.
    Int32s(
        fn(&Row) -> Option<Vec<i32>>,
        fn(&mut Draft, Option<&[i32]>) -> Result<(), String>,
    ),
}

impl Values {
    /// The physical type in the schema's syntax (a list's, its elements'),
    /// and whether the values are lists.
    fn physical(&self) -> (String, bool) {
        match self {
            Values::Bytes(..) => ("BYTE_ARRAY".to_owned(), false),
            Values::Fixed(len, ..) => (format!("FIXED_LEN_BYTE_ARRAY ({len})"), false),
            Values::Bool(..) => ("BOOLEAN".to_owned(), false),
            Values::Int32(..) => ("INT32".to_owned(), false),
            Values::Int64(..) => ("INT64".to_owned(), false),
            Values::Float(..) => ("FLOAT".to_owned(), false),
            Values::Floats(..) => ("FLOAT".to_owned(), true),
            Values::Int32s(..) => ("INT32".to_owned(), true),
        }
    }
}

/// The schema, in Parquet's message syntax: [`COLUMNS`] declared in order.
fn schema() -> String {
    let columns: String = COLUMNS.iter().map(Column::declaration).collect();
    format!("\nmessage calibset_index {{\n{columns}}}\n")
}

/// A row being read, column by column.
struct Draft {
    /// `key`.
    key: String,
    /// `size` and `mtime_ns`.
    version: Version,
    /// `status`.
    status: String,
    /// `problem`, read only when `status` is not [`OK`].
    problem: Option<String>,
    /// `mislabelled`.
    mislabelled: bool,
    /// The per-image columns, read only when `status` is [`OK`]: every field
    /// is set by one (it starts [`blank`]).
    features: Features,
}

impl Draft {
    /// A row to read, from `features` to overwrite.
    fn new(features: Features) -> Draft {
        Draft {
            key: String::new(),
            version: Version::default(),
            status: String::new(),
            problem: None,
            mislabelled: false,
            features,
        }
    }

    /// The row read, or what is wrong with it.
    fn finish(self) -> Result<Row, String> {
        let result = if self.status == OK {
            Ok(self.features)
        } else {
            Err(issue(&self.status, self.problem).map_err(|e| bad(&self.key, &e))?)
        };
        Ok(Row {
            key: self.key,
            version: self.version,
            measured: Measured {
                result,
                mislabelled: self.mislabelled,
            },
        })
    }
}

/// Features for a [`Draft`] to start from, each field of which a per-image
/// column overwrites.
fn blank() -> Features {
    Features {
        format: Format::Jpeg,
        width: 0,
        height: 0,
        content_hash: [0; 32],
        phash: PHash(0),
        signature: Signature::new(&[0; THUMB_SIDE * THUMB_SIDE]),
        quality: Quality::default(),
        histogram: Arc::from([]),
    }
}

/// The measured image's features, if it was measured.
fn image(row: &Row) -> Option<&Features> {
    row.measured.result.as_ref().ok()
}

/// A text column's value.
fn text(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

/// A text column's value read back.
fn utf8(b: &[u8]) -> Result<String, String> {
    std::str::from_utf8(b)
        .map(str::to_owned)
        .map_err(|_| "a text column holds bytes that are not UTF-8".to_owned())
}

/// A float column `name`'s value, which must not be null.
fn need(v: Option<f32>, name: &str) -> Result<f32, String> {
    v.ok_or_else(|| format!("no {name}"))
}

/// A byte column `name`'s value, which must be a byte.
fn u8_of(v: Option<i32>, name: &str) -> Result<u8, String> {
    v.and_then(|x| u8::try_from(x).ok())
        .ok_or_else(|| format!("bad {name}"))
}

/// Sets a field of a [`Draft`] to `value`.
fn set<T>(field: &mut T, value: T) -> Result<(), String> {
    *field = value;
    Ok(())
}

/// Sets a field of a [`Draft`] to `value`, or says what is wrong with it.
fn try_set<T, E: Into<String>>(field: &mut T, value: Result<T, E>) -> Result<(), String> {
    *field = value.map_err(Into::into)?;
    Ok(())
}

/// What is wrong with the row `key`.
fn bad(key: &str, what: &str) -> String {
    format!("row `{key}`: {what}")
}

/// Rows per row group: large enough for good compression, small enough that
/// a reader holds little of a large shard at once.
const ROW_GROUP: usize = 65_536;

/// `status` of a measured image.
const OK: &str = "ok";

/// Whether this calibset reads and writes indexes (it does: it was built
/// with the Cargo feature `parquet`).
pub(crate) fn available(_path: &std::path::Path) -> Result<(), super::IndexError> {
    Ok(())
}

/// Writes `rows` to `file` with `(key, value)` as the file's key-value metadata.
pub(super) fn write(file: File, rows: &[Row], meta: (&str, String)) -> Result<(), String> {
    write_file(file, rows, vec![KeyValue::new(meta.0.to_owned(), meta.1)])
        .map_err(|e| e.to_string())
}

fn write_file(file: File, rows: &[Row], meta: Vec<KeyValue>) -> Result<(), ParquetError> {
    let schema = Arc::new(parse_message_type(&schema())?);
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_key_value_metadata(Some(meta))
        .set_created_by(format!("calibset {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut writer = SerializedFileWriter::new(file, schema, Arc::new(props))?;
    for group in rows.chunks(ROW_GROUP) {
        let mut rg = writer.next_row_group()?;
        write_group(&mut rg, group)?;
        rg.close()?;
    }
    writer.close()?;
    Ok(())
}

/// Writes one row group: each of [`COLUMNS`] in turn.
fn write_group(
    rg: &mut SerializedRowGroupWriter<'_, File>,
    rows: &[Row],
) -> Result<(), ParquetError> {
    for column in COLUMNS {
        let required = column.required;
        match column.values {
            Values::Bytes(get, _) => {
                leaf::<ByteArrayType>(rg, required, rows, |r| get(r).map(ByteArray::from))?
            }
            Values::Fixed(_, get, _) => leaf::<FixedLenByteArrayType>(rg, required, rows, |r| {
                get(r).map(FixedLenByteArray::from)
            })?,
            Values::Bool(get, _) => leaf::<BoolType>(rg, required, rows, get)?,
            Values::Int32(get, _) => leaf::<Int32Type>(rg, required, rows, get)?,
            Values::Int64(get, _) => leaf::<Int64Type>(rg, required, rows, get)?,
            Values::Float(get, _) => leaf::<FloatType>(rg, required, rows, get)?,
            Values::Floats(get, _) => list::<FloatType>(rg, rows.iter().map(get).collect())?,
            Values::Int32s(get, _) => list::<Int32Type>(rg, rows.iter().map(get).collect())?,
        }
    }
    Ok(())
}

/// Writes the next column, not a list: each row's value from `get`, a
/// [`required`] column or an [`optional`] one.
fn leaf<T: DataType>(
    rg: &mut SerializedRowGroupWriter<'_, File>,
    required: bool,
    rows: &[Row],
    get: impl Fn(&Row) -> Option<T::T>,
) -> Result<(), ParquetError> {
    let values: Vec<Option<T::T>> = rows.iter().map(get).collect();
    if required {
        self::required::<T>(rg, values.into_iter().flatten().collect())
    } else {
        optional::<T>(rg, values)
    }
}

/// Writes the next column, a required one.
fn required<T: DataType>(
    rg: &mut SerializedRowGroupWriter<'_, File>,
    values: Vec<T::T>,
) -> Result<(), ParquetError> {
    let mut col = next(rg)?;
    col.typed::<T>().write_batch(&values, None, None)?;
    col.close()
}

/// Writes the next column, an optional one (`None` is null).
fn optional<T: DataType>(
    rg: &mut SerializedRowGroupWriter<'_, File>,
    values: Vec<Option<T::T>>,
) -> Result<(), ParquetError> {
    let def: Vec<i16> = values.iter().map(|v| i16::from(v.is_some())).collect();
    let present: Vec<T::T> = values.into_iter().flatten().collect();
    let mut col = next(rg)?;
    col.typed::<T>().write_batch(&present, Some(&def), None)?;
    col.close()
}

/// Writes the next column, an optional list of required values: levels are
/// (0, 0) for null, (1, 0) for an empty list, and (2, 0) then (2, 1)… for the
/// elements of one.
fn list<T: DataType>(
    rg: &mut SerializedRowGroupWriter<'_, File>,
    values: Vec<Option<Vec<T::T>>>,
) -> Result<(), ParquetError> {
    let (mut def, mut rep, mut flat) = (Vec::new(), Vec::new(), Vec::new());
    for v in values {
        match v {
            None => {
                def.push(0);
                rep.push(0);
            }
            Some(items) if items.is_empty() => {
                def.push(1);
                rep.push(0);
            }
            Some(items) => {
                for (i, x) in items.into_iter().enumerate() {
                    def.push(2);
                    rep.push(i16::from(i > 0));
                    flat.push(x);
                }
            }
        }
    }
    let mut col = next(rg)?;
    col.typed::<T>()
        .write_batch(&flat, Some(&def), Some(&rep))?;
    col.close()
}

fn next<'a, 'b>(
    rg: &'a mut SerializedRowGroupWriter<'b, File>,
) -> Result<parquet::file::writer::SerializedColumnWriter<'a>, ParquetError> {
    rg.next_column()?
        .ok_or_else(|| ParquetError::General("more columns written than the schema has".into()))
}

/// The `status` and `problem` columns of a measurement.
fn status(m: &Measured) -> (&'static str, Option<&str>) {
    match &m.result {
        Ok(_) => (OK, None),
        Err(ImageIssue::Empty) => ("empty", None),
        Err(ImageIssue::NotAnImage) => ("not-an-image", None),
        Err(ImageIssue::Truncated(s)) => ("truncated", Some(s)),
        Err(ImageIssue::Corrupt(s)) => ("corrupt", Some(s)),
        Err(ImageIssue::TooComplex(s)) => ("too-complex", Some(s)),
        Err(ImageIssue::TooLarge(s)) => ("too-large", Some(s)),
        Err(ImageIssue::Io(s)) => ("io", Some(s)),
    }
}

/// The measurement's error from its `status` and `problem`.
fn issue(status: &str, problem: Option<String>) -> Result<ImageIssue, String> {
    let p = || problem.clone().unwrap_or_default();
    Ok(match status {
        "empty" => ImageIssue::Empty,
        "not-an-image" => ImageIssue::NotAnImage,
        "truncated" => ImageIssue::Truncated(p()),
        "corrupt" => ImageIssue::Corrupt(p()),
        "too-complex" => ImageIssue::TooComplex(p()),
        "too-large" => ImageIssue::TooLarge(p()),
        "io" => ImageIssue::Io(p()),
        other => return Err(format!("unknown status `{other}`")),
    })
}

fn format_of(name: &str) -> Option<Format> {
    [
        Format::Jpeg,
        Format::Png,
        Format::Bmp,
        Format::Webp,
        Format::Tiff,
    ]
    .into_iter()
    .find(|f| f.as_str() == name)
}

/// An index file's bytes, opened.
pub(super) struct Reader(SerializedFileReader<bytes::Bytes>);

impl Reader {
    /// Opens a whole file's bytes: its footer and metadata.
    pub(super) fn open(bytes: Vec<u8>) -> Result<Reader, String> {
        SerializedFileReader::new(bytes::Bytes::from(bytes))
            .map(Reader)
            .map_err(|e| e.to_string())
    }

    /// The file's key-value metadata under `key`.
    pub(super) fn meta(&self, key: &str) -> Option<&str> {
        self.0
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|k| k.key == key))
            .and_then(|k| k.value.as_deref())
    }

    /// Reads every row.
    pub(super) fn rows(&self) -> Result<Vec<Row>, String> {
        read(&self.0)
    }
}

/// Reads every row of an index file.
fn read(reader: &SerializedFileReader<bytes::Bytes>) -> Result<Vec<Row>, String> {
    let leaves: HashMap<String, usize> = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .enumerate()
        .map(|(i, c)| (c.path().string(), i))
        .collect();
    let mut rows = Vec::with_capacity(reader.metadata().file_metadata().num_rows().max(0) as usize);
    for g in 0..reader.num_row_groups() {
        let rg = reader.get_row_group(g).map_err(|e| e.to_string())?;
        let columns = Columns {
            rg: rg.as_ref(),
            leaves: &leaves,
            rows: rg.metadata().num_rows() as usize,
        };
        rows.extend(columns.rows()?);
    }
    Ok(rows)
}

/// One row group being read, column by column.
struct Columns<'a> {
    rg: &'a dyn RowGroupReader,
    leaves: &'a HashMap<String, usize>,
    rows: usize,
}

/// A column as read: values of the non-null entries, with their levels.
struct Read<T> {
    values: Vec<T>,
    def: Vec<i16>,
    rep: Vec<i16>,
}

impl Columns<'_> {
    fn column<T: DataType>(&self, name: &str) -> Result<Read<T::T>, String> {
        let &i = self
            .leaves
            .get(name)
            .ok_or_else(|| format!("no column `{name}`"))?;
        let reader: ColumnReader = self.rg.get_column_reader(i).map_err(|e| e.to_string())?;
        let mut reader = get_typed_column_reader::<T>(reader);
        let mut out = Read {
            values: Vec::new(),
            def: Vec::new(),
            rep: Vec::new(),
        };
        let (records, _, _) = reader
            .read_records(
                self.rows,
                Some(&mut out.def),
                Some(&mut out.rep),
                &mut out.values,
            )
            .map_err(|e| format!("column `{name}`: {e}"))?;
        if records != self.rows {
            return Err(format!(
                "column `{name}` holds {records} rows, not {}",
                self.rows
            ));
        }
        Ok(out)
    }

    fn required<T: DataType>(&self, name: &str) -> Result<Vec<T::T>, String> {
        let c = self.column::<T>(name)?;
        if c.values.len() != self.rows {
            return Err(format!("column `{name}` has nulls"));
        }
        Ok(c.values)
    }

    fn optional<T: DataType>(&self, name: &str) -> Result<Vec<Option<T::T>>, String>
    where
        T::T: Clone,
    {
        let c = self.column::<T>(name)?;
        let mut values = c.values.into_iter();
        if c.def.len() != self.rows {
            return Err(format!("column `{name}` is not a plain optional column"));
        }
        c.def
            .iter()
            .map(|&d| match d {
                0 => Ok(None),
                _ => values
                    .next()
                    .map(Some)
                    .ok_or_else(|| format!("column `{name}` ends early")),
            })
            .collect()
    }

    fn list<T: DataType>(&self, name: &str) -> Result<Vec<Option<Vec<T::T>>>, String> {
        let c = self.column::<T>(&format!("{name}.list.element"))?;
        let mut values = c.values.into_iter();
        let mut out: Vec<Option<Vec<T::T>>> = Vec::with_capacity(self.rows);
        for (&d, &r) in c.def.iter().zip(&c.rep) {
            if r == 0 {
                out.push(match d {
                    0 => None,
                    _ => Some(Vec::new()),
                });
            }
            if d == 2 {
                let v = values
                    .next()
                    .ok_or_else(|| format!("column `{name}` ends early"))?;
                out.last_mut()
                    .and_then(Option::as_mut)
                    .ok_or_else(|| format!("column `{name}` has an element outside a list"))?
                    .push(v);
            }
        }
        if out.len() != self.rows {
            return Err(format!(
                "column `{name}` holds {} rows, not {}",
                out.len(),
                self.rows
            ));
        }
        Ok(out)
    }

    /// Reads `column`, and returns what puts a row's value of it into a
    /// [`Draft`] (given the row's number).
    fn cells(&self, column: &Column) -> Result<Cells, String> {
        let (name, required) = (column.name, column.required);
        Ok(match column.values {
            Values::Bytes(_, set) => {
                let v = self.leaf::<ByteArrayType>(name, required)?;
                Box::new(move |i, d| set(d, v[i].as_ref().map(ByteArray::data)))
            }
            Values::Fixed(_, _, set) => {
                let v = self.leaf::<FixedLenByteArrayType>(name, required)?;
                Box::new(move |i, d| set(d, v[i].as_ref().map(|b| b.data())))
            }
            Values::Bool(_, set) => {
                let v = self.leaf::<BoolType>(name, required)?;
                Box::new(move |i, d| set(d, v[i]))
            }
            Values::Int32(_, set) => {
                let v = self.leaf::<Int32Type>(name, required)?;
                Box::new(move |i, d| set(d, v[i]))
            }
            Values::Int64(_, set) => {
                let v = self.leaf::<Int64Type>(name, required)?;
                Box::new(move |i, d| set(d, v[i]))
            }
            Values::Float(_, set) => {
                let v = self.leaf::<FloatType>(name, required)?;
                Box::new(move |i, d| set(d, v[i]))
            }
            Values::Floats(_, set) => {
                let v = self.list::<FloatType>(name)?;
                Box::new(move |i, d| set(d, v[i].as_deref()))
            }
            Values::Int32s(_, set) => {
                let v = self.list::<Int32Type>(name)?;
                Box::new(move |i, d| set(d, v[i].as_deref()))
            }
        })
    }

    /// A column that is not a list, [`Columns::required`] or
    /// [`Columns::optional`].
    fn leaf<T: DataType>(&self, name: &str, required: bool) -> Result<Vec<Option<T::T>>, String>
    where
        T::T: Clone,
    {
        if required {
            Ok(self.required::<T>(name)?.into_iter().map(Some).collect())
        } else {
            self.optional::<T>(name)
        }
    }

    /// Reads every row: all of [`COLUMNS`], then each row from them in
    /// column order (a measured image's per-image columns only).
    fn rows(&self) -> Result<Vec<Row>, String> {
        let cells = COLUMNS
            .iter()
            .map(|c| self.cells(c))
            .collect::<Result<Vec<_>, _>>()?;
        let blank = blank();
        let mut rows = Vec::with_capacity(self.rows);
        for i in 0..self.rows {
            let mut draft = Draft::new(blank.clone());
            for (column, cell) in COLUMNS.iter().zip(&cells) {
                if column.image && draft.status != OK {
                    continue;
                }
                cell(i, &mut draft).map_err(
                    |e| {
                        if column.image { bad(&draft.key, &e) } else { e }
                    },
                )?;
            }
            rows.push(draft.finish()?);
        }
        Ok(rows)
    }
}

/// Puts a row's value of one column (given the row's number) into a [`Draft`].
type Cells = Box<dyn Fn(usize, &mut Draft) -> Result<(), String>>;
