use std::path::Path;

use super::*;
use crate::features::{ImageIssue, Limits};

/// A real measurement: a gradient JPEG with a little texture, decoded and
/// measured as the pipeline does.
fn measured_jpeg(seed: u8) -> Measured {
    let img = image::RgbImage::from_fn(160, 120, |x, y| {
        let v = (x * 3 + y * 2 + u32::from(seed) * 17) as u8;
        image::Rgb([v, v.wrapping_mul(3) ^ seed, (x ^ y) as u8])
    });
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 80)
        .encode_image(&img)
        .unwrap();
    let (f, notes) =
        crate::features::measure(&bytes, Path::new("a.png"), &Limits::default()).unwrap();
    Measured {
        result: Ok(f),
        mislabelled: notes.mislabelled,
    }
}

fn row(key: &str, measured: Measured) -> Row {
    Row {
        key: key.into(),
        version: Version {
            size: 1234,
            modified_ns: 1_700_000_000_123_456_789,
            tag: 0,
        },
        measured,
    }
}

fn entry(rel: &str, size: u64, modified_ns: i128) -> FileEntry {
    FileEntry {
        path: Path::new("/pool").join(rel),
        rel: rel.into(),
        version: Version {
            size,
            modified_ns,
            tag: 0,
        },
        frame_of: None,
    }
}

#[test]
fn shards_parse_and_split_every_key_once() {
    assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 2, count: 4 }));
    for bad in ["4/4", "1/0", "x/2", "3", "-1/2", ""] {
        assert!(Shard::parse(bad).is_err(), "{bad}");
    }
    let keys: Vec<String> = (0..1000)
        .map(|i| format!("cam{:02}/{i:06}.jpg", i % 7))
        .collect();
    let mut sizes = [0usize; 4];
    for k in &keys {
        let owners: Vec<u32> = (0..4)
            .filter(|&i| Shard { index: i, count: 4 }.holds(k))
            .collect();
        assert_eq!(owners.len(), 1, "{k} is in {owners:?}");
        sizes[owners[0] as usize] += 1;
        assert!(Shard::ALL.holds(k));
    }
    assert!(sizes.iter().all(|&n| (200..300).contains(&n)), "{sizes:?}");
}

#[test]
fn rows_round_trip_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let mut lowq = measured_jpeg(9);
    if let Ok(f) = &mut lowq.result {
        f.quality.jpeg_quality = None;
    }
    let rows = vec![
        row("b/ok.jpg", measured_jpeg(1)),
        row("a/mislabelled.png", measured_jpeg(2)),
        row("c/no-quality.png", lowq),
        row(
            "d/empty.jpg",
            Measured {
                result: Err(ImageIssue::Empty),
                mislabelled: false,
            },
        ),
        row(
            "d/cut.jpg",
            Measured {
                result: Err(ImageIssue::Truncated("jpeg: premature end".into())),
                mislabelled: false,
            },
        ),
        row(
            "d/text.jpg",
            Measured {
                result: Err(ImageIssue::NotAnImage),
                mislabelled: false,
            },
        ),
        row(
            "é/ünïcode.jpg",
            Measured {
                result: Err(ImageIssue::Corrupt("jpeg: bad huffman".into())),
                mislabelled: true,
            },
        ),
    ];
    assert!(rows[1].measured.mislabelled);
    let written = write(dir.path(), Shard::ALL, rows.clone()).unwrap();
    assert_eq!(written.path, dir.path().join("part-00000-of-00001.parquet"));
    let index = FeatureIndex::open(dir.path()).unwrap();
    assert_eq!(index.len(), rows.len());
    for r in &rows {
        let (v, m) = &index.rows[&r.key];
        assert_eq!((v, m), (&r.version, &r.measured), "{}", r.key);
    }
    // One file names the same index as its folder does.
    assert_eq!(FeatureIndex::open(&written.path).unwrap().len(), rows.len());
}

#[test]
fn lookup_matches_like_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), Shard::ALL, vec![row("a.jpg", measured_jpeg(1))]).unwrap();
    let index = FeatureIndex::open(dir.path()).unwrap();
    let t = 1_700_000_000_123_456_789;
    assert!(matches!(
        index.lookup(&entry("a.jpg", 1234, t)),
        Lookup::Hit(_)
    ));
    assert!(matches!(
        index.lookup(&entry("a.jpg", 1234, t + 1)),
        Lookup::Verify(_)
    ));
    assert!(matches!(
        index.lookup(&entry("a.jpg", 1235, t)),
        Lookup::Miss
    ));
    assert!(matches!(
        index.lookup(&entry("b.jpg", 1234, t)),
        Lookup::Miss
    ));
}

#[test]
fn shards_merge_and_a_missing_or_foreign_shard_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<String> = (0..40).map(|i| format!("cam/{i:03}.jpg")).collect();
    for index in 0..3 {
        let shard = Shard { index, count: 3 };
        let rows = keys
            .iter()
            .filter(|k| shard.holds(k))
            .map(|k| {
                row(
                    k,
                    Measured {
                        result: Err(ImageIssue::Empty),
                        mislabelled: false,
                    },
                )
            })
            .collect();
        write(dir.path(), shard, rows).unwrap();
    }
    let index = FeatureIndex::open(dir.path()).unwrap();
    assert_eq!((index.len(), index.shards()), (40, 3));

    std::fs::remove_file(dir.path().join("part-00001-of-00003.parquet")).unwrap();
    let e = FeatureIndex::open(dir.path()).unwrap_err().to_string();
    assert!(e.contains("shard(s) 1/3 missing"), "{e}");

    write(dir.path(), Shard { index: 0, count: 2 }, Vec::new()).unwrap();
    let e = FeatureIndex::open(dir.path()).unwrap_err().to_string();
    assert!(e.contains("two splits"), "{e}");

    let empty = tempfile::tempdir().unwrap();
    let e = FeatureIndex::open(empty.path()).unwrap_err();
    assert!(matches!(e, IndexError::Empty { .. }), "{e}");
}

#[test]
fn a_foreign_file_is_neither_read_nor_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join(Shard::ALL.file_name());
    std::fs::write(&part, b"not parquet").unwrap();
    let e = write(dir.path(), Shard::ALL, Vec::new()).unwrap_err();
    assert!(matches!(e, IndexError::NotOurs { .. }), "{e}");
    assert_eq!(std::fs::read(&part).unwrap(), b"not parquet");
    let e = FeatureIndex::open(dir.path()).unwrap_err();
    assert!(matches!(e, IndexError::Damaged { .. }), "{e}");
    // Nothing half-written is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn an_index_of_other_features_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut about = About::current(Shard::ALL, 0);
    about.features_version -= 1;
    let meta = (META_KEY, serde_json::to_string(&about).unwrap());
    let file = std::fs::File::create(dir.path().join(Shard::ALL.file_name())).unwrap();
    columns::write(file, &[], meta).unwrap();
    let e = FeatureIndex::open(dir.path()).unwrap_err();
    assert!(matches!(e, IndexError::OtherVersion { .. }), "{e}");
}
