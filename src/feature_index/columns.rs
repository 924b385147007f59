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
use crate::features::{Features, Format, ImageIssue, PHash, Quality, Signature};
use crate::source::Version;

/// The schema, in Parquet's message syntax. Per-image columns are null for a
/// file that could not be measured (`status` says why).
const SCHEMA: &str = "
message calibset_index {
  REQUIRED BYTE_ARRAY key (UTF8);
  REQUIRED INT64 size;
  REQUIRED INT64 mtime_ns;
  REQUIRED BYTE_ARRAY status (UTF8);
  OPTIONAL BYTE_ARRAY problem (UTF8);
  REQUIRED BOOLEAN mislabelled;
  OPTIONAL BYTE_ARRAY format (UTF8);
  OPTIONAL INT32 width (INTEGER(32, false));
  OPTIONAL INT32 height (INTEGER(32, false));
  OPTIONAL FIXED_LEN_BYTE_ARRAY (32) blake3;
  OPTIONAL INT64 phash (INTEGER(64, false));
  OPTIONAL group signature (LIST) {
    REPEATED group list {
      REQUIRED FLOAT element;
    }
  }
  OPTIONAL FLOAT mean;
  OPTIONAL INT32 p01 (INTEGER(8, false));
  OPTIONAL INT32 p99 (INTEGER(8, false));
  OPTIONAL FLOAT contrast;
  OPTIONAL FLOAT dark_clip;
  OPTIONAL FLOAT bright_clip;
  OPTIONAL FLOAT sharpness;
  OPTIONAL INT32 jpeg_quality (INTEGER(8, false));
  OPTIONAL FLOAT colourfulness;
  OPTIONAL FLOAT entropy;
  OPTIONAL group histogram (LIST) {
    REPEATED group list {
      REQUIRED INT32 element (INTEGER(16, false));
    }
  }
}
";

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
    let schema = Arc::new(parse_message_type(SCHEMA)?);
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

fn write_group(
    rg: &mut SerializedRowGroupWriter<'_, File>,
    rows: &[Row],
) -> Result<(), ParquetError> {
    let ok: Vec<Option<&Features>> = rows
        .iter()
        .map(|r| r.measured.result.as_ref().ok())
        .collect();
    let text = |s: &str| ByteArray::from(s.as_bytes().to_vec());
    required::<ByteArrayType>(rg, rows.iter().map(|r| text(&r.key)).collect())?;
    required::<Int64Type>(rg, rows.iter().map(|r| r.version.size as i64).collect())?;
    required::<Int64Type>(
        rg,
        rows.iter().map(|r| mtime(r.version.modified_ns)).collect(),
    )?;
    let (status, problem): (Vec<_>, Vec<_>) = rows.iter().map(|r| status(&r.measured)).unzip();
    required::<ByteArrayType>(rg, status.iter().map(|s| text(s)).collect())?;
    optional::<ByteArrayType>(rg, problem.iter().map(|p| p.map(text)).collect())?;
    required::<BoolType>(rg, rows.iter().map(|r| r.measured.mislabelled).collect())?;
    let each = |f: &dyn Fn(&Features) -> _| ok.iter().map(|o| o.map(f)).collect::<Vec<_>>();
    optional::<ByteArrayType>(
        rg,
        ok.iter()
            .map(|o| o.map(|f| text(f.format.as_str())))
            .collect(),
    )?;
    optional::<Int32Type>(rg, each(&|f| f.width as i32))?;
    optional::<Int32Type>(rg, each(&|f| f.height as i32))?;
    optional::<FixedLenByteArrayType>(
        rg,
        ok.iter()
            .map(|o| o.map(|f| FixedLenByteArray::from(f.content_hash.to_vec())))
            .collect(),
    )?;
    optional::<Int64Type>(rg, ok.iter().map(|o| o.map(|f| f.phash.0 as i64)).collect())?;
    list::<FloatType>(
        rg,
        ok.iter()
            .map(|o| o.map(|f| f.signature.values().to_vec()))
            .collect(),
    )?;
    let q = |g: fn(&Quality) -> f32| ok.iter().map(|o| o.map(|f| g(&f.quality))).collect();
    let q8 = |g: fn(&Quality) -> u8| {
        ok.iter()
            .map(|o| o.map(|f| i32::from(g(&f.quality))))
            .collect()
    };
    optional::<FloatType>(rg, q(|q| q.mean))?;
    optional::<Int32Type>(rg, q8(|q| q.p01))?;
    optional::<Int32Type>(rg, q8(|q| q.p99))?;
    optional::<FloatType>(rg, q(|q| q.contrast))?;
    optional::<FloatType>(rg, q(|q| q.dark_clip))?;
    optional::<FloatType>(rg, q(|q| q.bright_clip))?;
    optional::<FloatType>(rg, q(|q| q.sharpness))?;
    optional::<Int32Type>(
        rg,
        ok.iter()
            .map(|o| o.and_then(|f| f.quality.jpeg_quality).map(i32::from))
            .collect(),
    )?;
    optional::<FloatType>(rg, q(|q| q.colourfulness))?;
    optional::<FloatType>(rg, q(|q| q.entropy))?;
    list::<Int32Type>(
        rg,
        ok.iter()
            .map(|o| o.map(|f| f.histogram.iter().map(|&c| i32::from(c)).collect()))
            .collect(),
    )?;
    Ok(())
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

    fn rows(&self) -> Result<Vec<Row>, String> {
        let key = self.required::<ByteArrayType>("key")?;
        let size = self.required::<Int64Type>("size")?;
        let mtime = self.required::<Int64Type>("mtime_ns")?;
        let status = self.required::<ByteArrayType>("status")?;
        let problem = self.optional::<ByteArrayType>("problem")?;
        let mislabelled = self.required::<BoolType>("mislabelled")?;
        let format = self.optional::<ByteArrayType>("format")?;
        let width = self.optional::<Int32Type>("width")?;
        let height = self.optional::<Int32Type>("height")?;
        let blake3 = self.optional::<FixedLenByteArrayType>("blake3")?;
        let phash = self.optional::<Int64Type>("phash")?;
        let signature = self.list::<FloatType>("signature")?;
        let float = |n| self.optional::<FloatType>(n);
        let byte = |n| self.optional::<Int32Type>(n);
        let (mean, p01, p99, contrast) = (
            float("mean")?,
            byte("p01")?,
            byte("p99")?,
            float("contrast")?,
        );
        let (dark, bright, sharp) = (
            float("dark_clip")?,
            float("bright_clip")?,
            float("sharpness")?,
        );
        let (jpeg_q, colour, entropy) = (
            byte("jpeg_quality")?,
            float("colourfulness")?,
            float("entropy")?,
        );
        let histogram = self.list::<Int32Type>("histogram")?;
        let utf8 = |b: &ByteArray| {
            std::str::from_utf8(b.data())
                .map(str::to_owned)
                .map_err(|_| "a text column holds bytes that are not UTF-8".to_owned())
        };
        let mut rows = Vec::with_capacity(self.rows);
        for i in 0..self.rows {
            let key = utf8(&key[i])?;
            let status = utf8(&status[i])?;
            let bad = |what: &str| format!("row `{key}`: {what}");
            let result = if status == OK {
                let need = |v: Option<f32>, n: &str| v.ok_or_else(|| bad(&format!("no {n}")));
                let u8_of = |v: Option<i32>, n: &str| {
                    v.and_then(|x| u8::try_from(x).ok())
                        .ok_or_else(|| bad(&format!("bad {n}")))
                };
                let features = Features {
                    format: format[i]
                        .as_ref()
                        .and_then(|f| format_of(&String::from_utf8_lossy(f.data())))
                        .ok_or_else(|| bad("unknown format"))?,
                    width: width[i].ok_or_else(|| bad("no width"))? as u32,
                    height: height[i].ok_or_else(|| bad("no height"))? as u32,
                    content_hash: blake3[i]
                        .as_ref()
                        .and_then(|h| <[u8; 32]>::try_from(h.data()).ok())
                        .ok_or_else(|| bad("no blake3"))?,
                    phash: PHash(phash[i].ok_or_else(|| bad("no phash"))? as u64),
                    signature: Signature::from_values(
                        signature[i].clone().ok_or_else(|| bad("no signature"))?,
                    )
                    .ok_or_else(|| bad("a signature of the wrong length"))?,
                    quality: Quality {
                        mean: need(mean[i], "mean")?,
                        p01: u8_of(p01[i], "p01")?,
                        p99: u8_of(p99[i], "p99")?,
                        contrast: need(contrast[i], "contrast")?,
                        dark_clip: need(dark[i], "dark_clip")?,
                        bright_clip: need(bright[i], "bright_clip")?,
                        sharpness: need(sharp[i], "sharpness")?,
                        jpeg_quality: jpeg_q[i]
                            .map(|q| u8_of(Some(q), "jpeg_quality"))
                            .transpose()?,
                        colourfulness: need(colour[i], "colourfulness")?,
                        entropy: need(entropy[i], "entropy")?,
                    },
                    histogram: histogram[i]
                        .as_ref()
                        .ok_or_else(|| bad("no histogram"))?
                        .iter()
                        .map(|&c| {
                            u16::try_from(c).map_err(|_| bad("a histogram count out of range"))
                        })
                        .collect::<Result<Vec<u16>, _>>()?
                        .into(),
                };
                Ok(features)
            } else {
                let problem = problem[i].as_ref().map(utf8).transpose()?;
                Err(issue(&status, problem).map_err(|e| bad(&e))?)
            };
            rows.push(Row {
                key,
                version: Version {
                    size: size[i] as u64,
                    modified_ns: i128::from(mtime[i]),
                    tag: 0,
                },
                measured: Measured {
                    result,
                    mislabelled: mislabelled[i],
                },
            });
        }
        Ok(rows)
    }
}
