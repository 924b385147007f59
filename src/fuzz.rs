//! Entry points for the fuzz targets in `tests/fuzz` (built only with
//! `--cfg fuzzing`, as `cargo fuzz` does): every parser of untrusted input,
//! called on arbitrary bytes. Each must return, never panic or hang.

use std::path::Path;

/// The recipe parser and validator.
pub fn recipe(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::Recipe::parse(Path::new("/fuzz/recipe.toml"), text);
    }
}

/// The manifest parsers, CSV and JSON Lines.
pub fn manifest(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        for name in ["/fuzz/m.csv", "/fuzz/m.jsonl"] {
            let _ = crate::manifest::Manifest::parse(Path::new(name), text, false);
            let _ = crate::manifest::Manifest::parse(Path::new(name), text, true);
        }
        let _ = crate::manifest::parse_time(text);
    }
}

/// The label parsers: YOLO label files, class names, COCO JSON, VOC XML.
pub fn labels(data: &[u8]) {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match kind % 4 {
        0 => crate::annotations::fuzz::yolo(text),
        1 => crate::annotations::fuzz::names(text),
        2 => crate::annotations::fuzz::coco(text),
        _ => crate::annotations::fuzz::voc(text),
    }
}

/// The image decoders behind the header checks, at analysis and thumbnail
/// scale, under a small pixel limit (so a fuzzer cannot ask for gigabytes).
pub fn image(data: &[u8]) {
    let limits = crate::decode::Limits {
        max_pixels: 4_000_000,
    };
    if let Some(format) = crate::decode::Format::sniff(data) {
        let _ = crate::decode::probe(data, format);
        for request in [
            crate::decode::Request::ShortSide(120),
            crate::decode::Request::LongSide(120),
        ] {
            let _ = crate::decode::decode(data, format, request, &limits);
        }
    }
}
