//! The range tables each toolchain imports, written from the probe's ranges
//! (one `[lo, hi]` per tensor, for the method the set hands off).
//!
//! | writer | file | for | spec it follows |
//! |---|---|---|---|
//! | [`ort_calibration`] | `ort_calibration.json` | ONNX Runtime `quantize_static(calibration_cache_path=…)` | `onnxruntime.quantization.calibrate.save_tensors_data` (1.32) |
//! | [`ort_overrides`] | `ort_overrides.json` | `quantize_static(extra_options={"TensorQuantOverrides": …})` | `onnxruntime/quantization/tensor_quant_overrides.py` (1.32) |
//! | [`tensorrt_cache`] | `calib.cache` | `trtexec --int8 --calib=…`, ModelOpt `calibration_cache_path` | the caches TensorRT writes; ModelOpt's `import_scales_from_calib_cache` |
//! | [`qnn_encodings`] | `quantization_overrides.json` | `qnn-onnx-converter` / `snpe-onnx-to-dlc --quantization_overrides` | AIMET's legacy (0.6.1) encodings export |
//!
//! Every writer keeps the order of the ranges it is given (the probe's
//! order), so the bytes depend only on the ranges. Every range given is
//! written: tensors kept in float are left out by the caller. The ranges are
//! the probe's contract: finite, `lo <= hi`, one per tensor name.
//!
//! The three JSON files are the bytes Python's `json.dump` writes for the
//! same object (`ensure_ascii`, Python's float spelling), so a file can be
//! compared with one a Python tool wrote: `ort_calibration.json` on one line
//! exactly as `save_tensors_data` writes it, the other two as
//! `json.dump(obj, f, indent=4)` plus a final newline.

use crate::handoff::Calibration;

/// One tensor's calibrated range, keyed by its ONNX tensor name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Range<'a> {
    /// The ONNX tensor name (a node output, or the graph input).
    pub name: &'a str,
    /// Lower bound of the range.
    pub lo: f32,
    /// Upper bound of the range.
    pub hi: f32,
}

/// The file [`ort_calibration`] is written to.
pub(crate) const ORT_CALIBRATION_FILE: &str = "ort_calibration.json";
/// The file [`ort_overrides`] is written to.
pub(crate) const ORT_OVERRIDES_FILE: &str = "ort_overrides.json";
/// The file [`tensorrt_cache`] is written to.
pub(crate) const TENSORRT_CACHE_FILE: &str = "calib.cache";
/// The file [`qnn_encodings`] is written to.
pub(crate) const QNN_ENCODINGS_FILE: &str = "quantization_overrides.json";

/// ONNX Runtime's calibration cache, as `onnxruntime.quantization.calibrate
/// .save_tensors_data` writes it, for `quantize_static(...,
/// calibration_cache_path=...)`.
///
/// `{"CLS": "TensorsData", "data": {name: {"lowest": …, "highest": …, "CLS":
/// "TensorData"}}, "calibration_method": {"CLS": "CalibrationMethod", "value":
/// "CalibrationMethod.Percentile"}, "smooth_quant": false}`, each bound in the
/// `{"data": x, "dtype": "float32", "CLS": "numpy.array"}` form the cache
/// encoder gives a 0-d float32 array, `x` the f32 widened to f64 (so
/// `TensorData.from_dict` gets the f32 back exactly). No histogram is stored:
/// `quantize_static` reads only `lowest`/`highest` for MinMax, Percentile and
/// Entropy. `smooth_quant` is false: `quantize_static` recomputes (and then
/// needs a data reader) when it differs from `extra_options["SmoothQuant"]`,
/// and it raises when `calibrate_method` is not the `method` named here.
pub(crate) fn ort_calibration(method: Calibration, ranges: &[Range<'_>]) -> Vec<u8> {
    let bound = |x: f32| {
        Json::Object(vec![
            ("data", Json::Float(f64::from(x))),
            ("dtype", Json::str("float32")),
            ("CLS", Json::str("numpy.array")),
        ])
    };
    let data = checked(ranges)
        .map(|r| {
            let td = Json::Object(vec![
                ("lowest", bound(r.lo)),
                ("highest", bound(r.hi)),
                ("CLS", Json::str("TensorData")),
            ]);
            (r.name, td)
        })
        .collect();
    let method = format!("CalibrationMethod.{}", method.ort_name());
    let cache = Json::Object(vec![
        ("CLS", Json::str("TensorsData")),
        ("data", Json::Object(data)),
        (
            "calibration_method",
            Json::Object(vec![
                ("CLS", Json::str("CalibrationMethod")),
                ("value", Json::Str(&method)),
            ]),
        ),
        ("smooth_quant", Json::Bool(false)),
    ]);
    let mut out = String::new();
    cache.write(&mut out, Layout::Compact, 0);
    out.into_bytes()
}

/// `TensorQuantOverrides` for `quantize_static(extra_options=...)`.
///
/// `{name: [{"rmin": lo, "rmax": hi}]}`: one per-tensor override each (no
/// `axis`, so not per-channel), `rmin` and `rmax` always together as
/// `TensorQuantOverridesHelper` requires, the f32 bounds widened to f64.
///
/// ONNX Runtime 1.32 needs numpy scalars there (`compute_scale_zp` reads
/// `rmin.dtype`; a plain float from `json.load` raises `AttributeError`), so
/// load it as `{k: [{kk: numpy.float32(vv) for kk, vv in o.items()} for o in v]
/// for k, v in json.load(f).items()}`.
pub(crate) fn ort_overrides(ranges: &[Range<'_>]) -> Vec<u8> {
    let overrides = checked(ranges)
        .map(|r| {
            let o = Json::Object(vec![
                ("rmin", Json::Float(f64::from(r.lo))),
                ("rmax", Json::Float(f64::from(r.hi))),
            ]);
            (r.name, Json::Array(vec![o]))
        })
        .collect();
    indented(&Json::Object(overrides))
}

/// The TensorRT version the cache's header names: `NV_TENSORRT_VERSION`,
/// major·10000 + minor·100 + patch since TensorRT 10 (10.3.0, JetPack 6 and
/// DeepStream 7.1, is `100300`), major·1000 + minor·100 + patch before (8.6.1
/// is `8601`).
const TENSORRT_VERSION: u32 = 100_300;

/// A TensorRT calibration cache (`TRT-…-EntropyCalibration2`).
///
/// The header `TRT-100300-EntropyCalibration2`, then `name: xxxxxxxx` per
/// tensor: the big-endian IEEE bits of the f32 scale `amax / 127`, `amax =
/// max(|lo|, |hi|)`, as 8 lowercase hex digits. That is the text TensorRT
/// writes and `trtexec --calib` reads back.
///
/// - **Version.** TensorRT takes a cache only when the header is exactly its
///   own (`Calibration table does not match calibrator algorithm type`
///   otherwise, then it tries to calibrate with no data); no one header suits
///   both 8.6 and 10. For another TensorRT, rewrite the first line:
///   `sed -i '1s/.*/TRT-8601-EntropyCalibration2/' calib.cache` for 8.6.1.
///   ModelOpt's `import_scales_from_calib_cache` skips the first line.
/// - **Zero amax** (a tensor that is always 0) writes scale 0 as `00000000`.
///   TensorRT itself writes such a scale as `0`, which ModelOpt's
///   `bytes.fromhex` rejects (odd length); `00000000` parses in both.
/// - **Names** are written verbatim, spaces and `:` included, as TensorRT
///   writes them (`input_1:0: 3c010a14`, `(Unnamed Layer* 64) [Shuffle]_output:
///   0`): the scale is what follows the last `": "`. ModelOpt splits a line on
///   `": "` and cannot read a name containing `": "`; ONNX Runtime's TensorRT
///   provider splits on the first `:`. A name with a line break cannot be
///   written in this format and is left out (TensorRT then keeps that tensor
///   out of INT8).
pub(crate) fn tensorrt_cache(ranges: &[Range<'_>]) -> Vec<u8> {
    tensorrt_cache_for(TENSORRT_VERSION, ranges)
}

/// [`tensorrt_cache`] with the header naming `version`.
fn tensorrt_cache_for(version: u32, ranges: &[Range<'_>]) -> Vec<u8> {
    let mut out = format!("TRT-{version}-EntropyCalibration2\n");
    for r in checked(ranges).filter(|r| !r.name.contains(['\n', '\r'])) {
        let bits = tensorrt_scale(r.lo, r.hi).to_bits();
        out.push_str(&format!("{}: {bits:08x}\n", r.name));
    }
    out.into_bytes()
}

/// TensorRT's symmetric INT8 scale for `[lo, hi]`: `max(|lo|, |hi|) / 127`,
/// in f32 as TensorRT computes it.
fn tensorrt_scale(lo: f32, hi: f32) -> f32 {
    lo.abs().max(hi.abs()) / 127.0
}

/// The smallest encoding range QNN's quantizer enforces ("encoding-max is
/// adjusted to max(true max, true min + 0.0001)", QNN SDK, Quantization).
/// AIMET's `recompute_grid_params` and SNPE use 0.01.
const QNN_MIN_RANGE: f64 = 1e-4;

/// QNN/SNPE `--quantization_overrides` (AIMET encodings JSON).
///
/// `{"activation_encodings": {name: [{"bitwidth": 8, "dtype": "int",
/// "is_symmetric": "False", "max": …, "min": …, "offset": …, "scale": …}]},
/// "param_encodings": {}}`, the types and key order AIMET exports (its
/// `is_symmetric` is `str(bool)`, `offset` a negative int), laid out as
/// `json.dump(…, indent=4, sort_keys=True)` except that tensors keep the
/// probe's order. Weights are left to the converter (`param_encodings` empty).
///
/// Each encoding is 8-bit asymmetric, computed in f64 as AIMET's
/// `recompute_grid_params` does: the range widened to hold 0, then to at least
/// [`QNN_MIN_RANGE`]; `scale = (max - min) / 255`; `offset = round(min /
/// scale)` (ties to even, as Python's `round`); then `min = offset · scale`
/// and `max = min + 255 · scale`, which puts 0 exactly on the grid (at integer
/// `-offset`) and moves each bound by at most half a step. A degenerate range
/// (`lo == hi == 0`) becomes `[0, 0.0001]`: scale 0.0001/255, offset 0.
pub(crate) fn qnn_encodings(ranges: &[Range<'_>]) -> Vec<u8> {
    let activations = checked(ranges)
        .map(|r| {
            let e = QnnEncoding::new(r.lo, r.hi);
            let enc = Json::Object(vec![
                ("bitwidth", Json::Int(8)),
                ("dtype", Json::str("int")),
                ("is_symmetric", Json::str("False")),
                ("max", Json::Float(e.max)),
                ("min", Json::Float(e.min)),
                ("offset", Json::Int(e.offset)),
                ("scale", Json::Float(e.scale)),
            ]);
            (r.name, Json::Array(vec![enc]))
        })
        .collect();
    indented(&Json::Object(vec![
        ("activation_encodings", Json::Object(activations)),
        ("param_encodings", Json::Object(Vec::new())),
    ]))
}

/// One 8-bit asymmetric encoding, nudged so that 0 is on the grid.
#[derive(Debug, Clone, Copy, PartialEq)]
struct QnnEncoding {
    /// Lowest representable value (`offset · scale`, ≤ 0).
    min: f64,
    /// Highest representable value (`min + 255 · scale`, ≥ 0).
    max: f64,
    /// Step between two integer levels (> 0).
    scale: f64,
    /// The integer level of `min`, in -255..=0 (0 sits at `-offset`).
    offset: i64,
}

impl QnnEncoding {
    /// The encoding AIMET would give `[lo, hi]` (see [`qnn_encodings`]).
    fn new(lo: f32, hi: f32) -> QnnEncoding {
        const STEPS: f64 = 255.0;
        let min = f64::from(lo).min(0.0);
        let max = f64::from(hi).max(0.0).max(min + QNN_MIN_RANGE);
        let scale = (max - min) / STEPS;
        let offset = (min / scale).round_ties_even();
        // `+ 0.0` turns -0.0 (offset 0) into 0.0.
        let min = offset * scale + 0.0;
        QnnEncoding {
            min,
            max: min + STEPS * scale,
            scale,
            offset: offset as i64,
        }
    }
}

/// The ranges, checked against the probe's contract in debug builds.
fn checked<'r, 'a>(ranges: &'r [Range<'a>]) -> impl Iterator<Item = &'r Range<'a>> {
    debug_assert!(
        ranges
            .iter()
            .all(|r| r.lo.is_finite() && r.hi.is_finite() && r.lo <= r.hi),
        "a range is not finite or has lo > hi"
    );
    debug_assert!(
        {
            let mut names: Vec<&str> = ranges.iter().map(|r| r.name).collect();
            names.sort_unstable();
            names.windows(2).all(|w| w[0] != w[1])
        },
        "a tensor name has two ranges"
    );
    ranges.iter()
}

/// `json.dump(obj, f, indent=4)` and a final newline.
fn indented(json: &Json<'_>) -> Vec<u8> {
    let mut out = String::new();
    json.write(&mut out, Layout::Indented, 0);
    out.push('\n');
    out.into_bytes()
}

/// A JSON value whose objects keep their keys' order.
#[derive(Debug)]
enum Json<'a> {
    Object(Vec<(&'a str, Json<'a>)>),
    Array(Vec<Json<'a>>),
    Str(&'a str),
    Float(f64),
    Int(i64),
    Bool(bool),
}

/// How [`Json::write`] lays a value out, as Python's `json.dump` does.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Layout {
    /// One line, `", "` and `": "` (the default).
    Compact,
    /// `indent=4`: one member per line, `","` and `": "`.
    Indented,
}

impl<'a> Json<'a> {
    fn str(s: &'a str) -> Json<'a> {
        Json::Str(s)
    }

    /// Appends the value as `json.dump` writes it, `level` containers deep.
    fn write(&self, out: &mut String, layout: Layout, level: usize) {
        match self {
            Json::Object(members) => {
                let items = members.iter().map(|(k, v)| (Some(*k), v));
                write_container(out, layout, level, ('{', '}'), items);
            }
            Json::Array(items) => {
                let items = items.iter().map(|v| (None, v));
                write_container(out, layout, level, ('[', ']'), items);
            }
            Json::Str(s) => write_str(out, s),
            Json::Float(x) => out.push_str(&python_float(*x)),
            Json::Int(n) => out.push_str(&n.to_string()),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        }
    }
}

/// An object's members (with keys) or an array's items (without), between
/// `brackets`; an empty one is `{}` / `[]` in both layouts, as in Python.
fn write_container<'j, 'a: 'j>(
    out: &mut String,
    layout: Layout,
    level: usize,
    brackets: (char, char),
    items: impl ExactSizeIterator<Item = (Option<&'a str>, &'j Json<'a>)>,
) {
    out.push(brackets.0);
    let empty = items.len() == 0;
    for (i, (key, value)) in items.enumerate() {
        match (layout, i) {
            (Layout::Compact, 0) => {}
            (Layout::Compact, _) => out.push_str(", "),
            (Layout::Indented, i) => {
                if i > 0 {
                    out.push(',');
                }
                out.push('\n');
                out.push_str(&" ".repeat(4 * (level + 1)));
            }
        }
        if let Some(key) = key {
            write_str(out, key);
            out.push_str(": ");
        }
        value.write(out, layout, level + 1);
    }
    if layout == Layout::Indented && !empty {
        out.push('\n');
        out.push_str(&" ".repeat(4 * level));
    }
    out.push(brackets.1);
}

/// A JSON string as Python's `json.dump` writes it (`ensure_ascii=True`): the
/// printable ASCII characters as they are, `"` and `\` escaped, the usual
/// short escapes, everything else as lowercase `\uXXXX` (UTF-16 pairs above
/// U+FFFF).
fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// `repr(x)` for a Python float, which `json.dump` writes: the shortest
/// digits that round-trip, in positional form for 1e-4 ≤ |x| < 1e16 (with
/// `.0` when whole), otherwise `d.ddde±XX` (at least two exponent digits).
/// Non-finite values get `json.dump`'s `NaN` / `Infinity` / `-Infinity`.
fn python_float(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    // Rust's `{:e}` gives the shortest round-trip digits too (`-1.2345e-7`),
    // but where two of them are as near (x a tie, as f32 values often are)
    // it may pick the other one: Python takes x correctly rounded to that
    // many digits, ties to even, which is what Rust's `{:.N$e}` does.
    let shortest = format!("{x:e}");
    let mantissa = shortest.split('e').next().unwrap_or_default();
    let n_shortest = mantissa.chars().filter(char::is_ascii_digit).count();
    let sci = format!("{x:.*e}", n_shortest.saturating_sub(1));
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` has an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` has an integer exponent");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let mut digits: String = mantissa.chars().filter(|&c| c != '.').collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    let n = digits.len() as i32;
    // The decimal point sits after `point` digits.
    let point = exp + 1;
    let body = if -4 < point && point <= 16 {
        if point <= 0 {
            format!("0.{}{digits}", "0".repeat((-point) as usize))
        } else if point < n {
            format!(
                "{}.{}",
                &digits[..point as usize],
                &digits[point as usize..]
            )
        } else {
            format!("{digits}{}.0", "0".repeat((point - n) as usize))
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{first}{frac}e{exp_sign}{:02}", exp.abs())
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &str, lo: f32, hi: f32) -> Range<'_> {
        Range { name, lo, hi }
    }

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).expect("the tables are UTF-8")
    }

    #[test]
    fn ort_calibration_is_what_save_tensors_data_writes() {
        // The bytes ONNX Runtime 1.32's save_tensors_data wrote for
        // TensorsData(CalibrationMethod.Percentile, {"input": TensorData(
        // lowest=np.array(-1.5, np.float32), highest=np.array(0.1,
        // np.float32)), "conv:0": … (0.0, 6.0)}).
        let want = concat!(
            r#"{"CLS": "TensorsData", "data": {"#,
            r#""input": {"lowest": {"data": -1.5, "dtype": "float32", "CLS": "numpy.array"}, "#,
            r#""highest": {"data": 0.10000000149011612, "dtype": "float32", "CLS": "numpy.array"}, "#,
            r#""CLS": "TensorData"}, "#,
            r#""conv:0": {"lowest": {"data": 0.0, "dtype": "float32", "CLS": "numpy.array"}, "#,
            r#""highest": {"data": 6.0, "dtype": "float32", "CLS": "numpy.array"}, "#,
            r#""CLS": "TensorData"}}, "#,
            r#""calibration_method": {"CLS": "CalibrationMethod", "value": "CalibrationMethod.Percentile"}, "#,
            r#""smooth_quant": false}"#,
        );
        let ranges = [r("input", -1.5, 0.1), r("conv:0", 0.0, 6.0)];
        let got = text(ort_calibration(Calibration::Percentile(99.999), &ranges));
        assert_eq!(got, want);
    }

    #[test]
    fn ort_calibration_names_each_method() {
        for (method, value) in [
            (Calibration::MinMax, "CalibrationMethod.MinMax"),
            (Calibration::Entropy, "CalibrationMethod.Entropy"),
            (
                Calibration::Percentile(99.99),
                "CalibrationMethod.Percentile",
            ),
        ] {
            let json: serde_json::Value =
                serde_json::from_slice(&ort_calibration(method, &[])).unwrap();
            assert_eq!(json["calibration_method"]["value"], value);
            assert_eq!(json["data"], serde_json::json!({}));
        }
    }

    #[test]
    fn ort_calibration_bounds_round_trip_as_f32() {
        let odd = [
            r("a", -3.0e-7, 1.0e20),
            r("b", f32::MIN, f32::MAX),
            r("c", -f32::MIN_POSITIVE, 1.0e-45),
            r("d", -0.333_333_34, 2.718_281_7),
        ];
        let json: serde_json::Value =
            serde_json::from_slice(&ort_calibration(Calibration::MinMax, &odd)).unwrap();
        for range in odd {
            let td = &json["data"][range.name];
            assert_eq!(td["CLS"], "TensorData");
            for (key, want) in [("lowest", range.lo), ("highest", range.hi)] {
                assert_eq!(td[key]["dtype"], "float32");
                assert_eq!(td[key]["CLS"], "numpy.array");
                // serde_json's parser may be one f64 ulp off (no
                // `float_roundtrip`); the f32 is exact.
                let x = td[key]["data"].as_f64().unwrap();
                assert_eq!(x as f32, want, "{}.{key}", range.name);
            }
        }
    }

    #[test]
    fn ort_overrides_exact_bytes() {
        let want = concat!(
            "{\n",
            "    \"input\": [\n",
            "        {\n",
            "            \"rmin\": -1.5,\n",
            "            \"rmax\": 0.10000000149011612\n",
            "        }\n",
            "    ],\n",
            "    \"out put:0\": [\n",
            "        {\n",
            "            \"rmin\": 0.0,\n",
            "            \"rmax\": 6.0\n",
            "        }\n",
            "    ]\n",
            "}\n",
        );
        let ranges = [r("input", -1.5, 0.1), r("out put:0", 0.0, 6.0)];
        assert_eq!(text(ort_overrides(&ranges)), want);
        assert_eq!(text(ort_overrides(&[])), "{}\n");
    }

    #[test]
    fn ort_overrides_round_trip_through_serde_json() {
        let ranges = [r("x", -0.7, 1.3), r("y/z", -4.0e-6, 0.0)];
        let json: serde_json::Value = serde_json::from_slice(&ort_overrides(&ranges)).unwrap();
        let object = json.as_object().unwrap();
        assert_eq!(object.len(), 2);
        for range in ranges {
            let list = json[range.name].as_array().unwrap();
            assert_eq!(list.len(), 1, "one per-tensor override");
            let o = list[0].as_object().unwrap();
            assert_eq!(o.len(), 2, "rmin and rmax only");
            assert_eq!(o["rmin"].as_f64().unwrap() as f32, range.lo);
            assert_eq!(o["rmax"].as_f64().unwrap() as f32, range.hi);
        }
    }

    #[test]
    fn tensorrt_cache_exact_bytes() {
        // 127 / 127 = 1.0 = 0x3f800000; 12.7 / 127 = 0.1f32 = 0x3dcccccd.
        let ranges = [
            r("input", -127.0, 3.0),
            r("conv1/Relu:0", 0.0, 12.7),
            r("(Unnamed Layer* 3) [Shuffle]_output", 0.0, 0.0),
        ];
        let want = concat!(
            "TRT-100300-EntropyCalibration2\n",
            "input: 3f800000\n",
            "conv1/Relu:0: 3dcccccd\n",
            "(Unnamed Layer* 3) [Shuffle]_output: 00000000\n",
        );
        assert_eq!(text(tensorrt_cache(&ranges)), want);
    }

    #[test]
    fn tensorrt_scale_bits() {
        // amax = max(|lo|, |hi|): the negative side counts.
        assert_eq!(tensorrt_scale(-2.54, 1.0).to_bits(), 0x3ca3_d70a); // 0.02
        assert_eq!(tensorrt_scale(-1.0, 2.54).to_bits(), 0x3ca3_d70a);
        assert_eq!(tensorrt_scale(0.0, 6.0), 6.0 / 127.0);
        assert_eq!(tensorrt_scale(-0.0, 0.0).to_bits(), 0, "no -0.0");
        // The bits are big-endian in the text: the first hex digit is the
        // sign and the top of the exponent.
        let line = text(tensorrt_cache(&[r("t", 0.0, 254.0)]));
        assert_eq!(line.lines().nth(1), Some("t: 40000000")); // 2.0
    }

    #[test]
    fn tensorrt_cache_header_names_the_version() {
        let cache = text(tensorrt_cache_for(8601, &[r("a", 0.0, 1.0)]));
        assert_eq!(cache.lines().next(), Some("TRT-8601-EntropyCalibration2"));
    }

    #[test]
    fn tensorrt_cache_leaves_out_names_with_line_breaks() {
        let ranges = [r("a\nb", 0.0, 1.0), r("c\rd", 0.0, 1.0), r("e", 0.0, 1.0)];
        let cache = text(tensorrt_cache(&ranges));
        assert_eq!(cache.lines().collect::<Vec<_>>()[1..], ["e: 3c010204"]);
    }

    #[test]
    fn qnn_encodings_exact_bytes() {
        // [-1, 2]: scale 3/255, min/scale = -85 exactly, nothing to nudge.
        let want = concat!(
            "{\n",
            "    \"activation_encodings\": {\n",
            "        \"input\": [\n",
            "            {\n",
            "                \"bitwidth\": 8,\n",
            "                \"dtype\": \"int\",\n",
            "                \"is_symmetric\": \"False\",\n",
            "                \"max\": 2.0,\n",
            "                \"min\": -1.0,\n",
            "                \"offset\": -85,\n",
            "                \"scale\": 0.011764705882352941\n",
            "            }\n",
            "        ]\n",
            "    },\n",
            "    \"param_encodings\": {}\n",
            "}\n",
        );
        assert_eq!(text(qnn_encodings(&[r("input", -1.0, 2.0)])), want);
    }

    #[test]
    fn qnn_encoding_widens_to_hold_zero() {
        let positive = QnnEncoding::new(2.0, 5.1);
        assert_eq!((positive.min, positive.offset), (0.0, 0));
        assert!((positive.max - 5.1).abs() < 1e-6);
        let negative = QnnEncoding::new(-5.1, -2.0);
        assert_eq!(negative.offset, -255);
        assert!(negative.max.abs() < 1e-12);
        assert!((negative.min + 5.1).abs() < 1e-6);
    }

    #[test]
    fn qnn_encoding_nudges_zero_onto_the_grid() {
        // [-1, 1]: min/scale = -127.5, a tie, rounded to even (-128).
        let e = QnnEncoding::new(-1.0, 1.0);
        assert_eq!(e.offset, -128);
        assert_eq!(e.scale, 2.0 / 255.0);
        assert_eq!(e.min, -128.0 * e.scale);
        assert!(
            e.min < -1.0 && e.max < 1.0,
            "the grid moved down half a step"
        );
        // [-0.3, 1.0]: min/scale = -58.85 → -59.
        let e = QnnEncoding::new(-0.3, 1.0);
        assert_eq!(e.offset, -59);
        for e in [QnnEncoding::new(-0.3, 1.0), QnnEncoding::new(-7.77, 0.123)] {
            // 0 sits exactly on level -offset.
            assert_eq!(e.min + (-e.offset) as f64 * e.scale, 0.0);
            assert_eq!((e.min / e.scale).round(), e.offset as f64);
            let relative = ((e.max - e.min) / 255.0 - e.scale).abs() / e.scale;
            assert!(relative < 1e-12);
        }
    }

    #[test]
    fn qnn_encoding_nudge_stays_within_half_a_step() {
        for (lo, hi) in [(-0.3, 1.0), (-1.0, 1.0), (-7.77, 0.123), (-1e-3, 5e-2)] {
            let e = QnnEncoding::new(lo, hi);
            let (lo, hi) = (f64::from(lo), f64::from(hi));
            assert!((e.min - lo).abs() <= e.scale / 2.0 + 1e-12, "{e:?}");
            assert!((e.max - hi).abs() <= e.scale / 2.0 + 1e-12, "{e:?}");
        }
    }

    #[test]
    fn qnn_encoding_of_a_zero_range_has_a_nonzero_scale() {
        let e = QnnEncoding::new(0.0, 0.0);
        assert_eq!(e.min, 0.0);
        assert_eq!(e.offset, 0);
        assert_eq!(e.scale, QNN_MIN_RANGE / 255.0);
        assert!((e.max - QNN_MIN_RANGE).abs() < 1e-18);
        let e = QnnEncoding::new(-0.0, -0.0);
        assert_eq!(e.min.to_bits(), 0, "no -0.0");
        let json = text(qnn_encodings(&[r("zero", 0.0, 0.0)]));
        assert!(json.contains("\"min\": 0.0,"), "{json}");
        assert!(json.contains("\"offset\": 0,"), "{json}");
    }

    #[test]
    fn qnn_encodings_round_trip_through_serde_json() {
        let ranges = [r("a", -0.3, 1.0), r("b", 0.0, 0.0), r("c", 3.0, 9.0)];
        let json: serde_json::Value = serde_json::from_slice(&qnn_encodings(&ranges)).unwrap();
        assert_eq!(json["param_encodings"], serde_json::json!({}));
        for range in ranges {
            let list = json["activation_encodings"][range.name].as_array().unwrap();
            assert_eq!(list.len(), 1);
            let enc = &list[0];
            assert_eq!(enc["bitwidth"], 8);
            assert_eq!(enc["dtype"], "int");
            assert_eq!(enc["is_symmetric"], "False");
            let e = QnnEncoding::new(range.lo, range.hi);
            // serde_json's parser may be one f64 ulp off (no `float_roundtrip`).
            let close = |key: &str, want: f64| {
                let got = enc[key].as_f64().unwrap();
                assert!(
                    (got - want).abs() <= want.abs() * 1e-15,
                    "{key}: {got} {want}"
                );
            };
            close("min", e.min);
            close("max", e.max);
            close("scale", e.scale);
            assert_eq!(enc["offset"].as_i64().unwrap(), e.offset);
        }
    }

    #[test]
    fn tables_keep_the_given_order() {
        let ranges = [r("z", 0.0, 1.0), r("a", 0.0, 1.0), r("m", 0.0, 1.0)];
        for table in [
            ort_calibration(Calibration::MinMax, &ranges),
            ort_overrides(&ranges),
            tensorrt_cache(&ranges),
            qnn_encodings(&ranges),
        ] {
            let t = text(table);
            let at = |name: &str| {
                t.find(&format!("\"{name}\""))
                    .or(t.find(&format!("\n{name}: ")))
                    .expect("every name is written")
            };
            assert!(at("z") < at("a") && at("a") < at("m"), "{t}");
        }
    }

    #[test]
    fn python_float_spells_floats_as_repr_does() {
        // Each right-hand side is Python 3.11's repr of the left.
        let cases: [(f64, &str); 22] = [
            (0.1, "0.1"),
            (1e-5, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456.789, "123456.789"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (0.0001, "0.0001"),
            (2.0, "2.0"),
            (1e22, "1e+22"),
            (3.4028234663852886e38, "3.4028234663852886e+38"),
            (1.401298464324817e-45, "1.401298464324817e-45"),
            (0.011764705882352941, "0.011764705882352941"),
            (-1.5, "-1.5"),
            (100.0, "100.0"),
            (1234567890123456.0, "1234567890123456.0"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (0.00012345, "0.00012345"),
            (9.999999747378752e-06, "9.999999747378752e-06"),
            (f64::from(0.1f32), "0.10000000149011612"),
            // 722.16827392578125 (an f32) is a tie between ...812 and ...813.
            (f64::from(f32::from_bits(0x4434_8ac5)), "722.1682739257812"),
        ];
        for (x, want) in cases {
            assert_eq!(python_float(x), want, "{x:e}");
        }
        assert_eq!(python_float(f64::NAN), "NaN");
        // And what it writes reads back as the same f64 (Rust's parser is
        // correctly rounded).
        let mut x = 1.234_567_890_123_456_7e-30_f64;
        while x < 1e30 {
            for y in [x, -x, f64::from(x as f32), x.next_up()] {
                assert_eq!(python_float(y).parse::<f64>().unwrap(), y, "{y:e}");
            }
            x *= 3.7;
        }
        assert_eq!(python_float(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn strings_are_escaped_as_python_does() {
        let mut out = String::new();
        write_str(&mut out, "a\"b\\c\nd\te\u{1}é\u{7f}😀 ~");
        assert_eq!(out, r#""a\"b\\c\nd\te\u0001\u00e9\u007f\ud83d\ude00 ~""#);
        let parsed: String = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed, "a\"b\\c\nd\te\u{1}é\u{7f}😀 ~");
    }
}
