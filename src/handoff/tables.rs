//! The tables a build writes beside the images: the lock manifest (one row per
//! chosen image) and pool.csv (every usable pool image and what became of it).

use std::collections::HashSet;
use std::path::Path;

use rayon::prelude::*;

use super::Resave;
use super::layout::{exact_rel, source_column};
use crate::dedup::Dedup;
use crate::dedup::ImageStatus;
use crate::export::Placement;
use crate::paths;
use crate::pool::PoolImage;
use crate::select::Selection;

/// The lock manifest's fixed columns; metadata columns follow.
pub(super) const LOCK_COLUMNS: [&str; 12] = [
    "file", "source", "time", "bucket", "slot", "tags", "classes", "camera", "width", "height",
    "phash", "blake3",
];

/// The lock manifest: one CSV row per chosen image, sorted by output path;
/// `placements` are in pick order (see [`super::placements`]). `time` is the
/// manifest's as written (else seconds), `classes` `;`-joined, and every
/// metadata field of a chosen image (manifest columns, pattern captures) gets
/// a column after the fixed ones, in name order (`meta.NAME` where the name
/// is a fixed column's).
pub(crate) fn lock_manifest(
    images: &[PoolImage],
    sel: &Selection,
    placements: &[Placement],
    resaves: &[Resave],
    resave_tag: &str,
    base: &Path,
) -> Vec<u8> {
    // (file, pick, the re-save when it is one)
    let mut rows: Vec<(&Path, &crate::select::Pick, Option<&Resave>)> = placements
        .iter()
        .zip(&sel.picks)
        .map(|(p, pick)| (p.dest.as_path(), pick, None))
        .chain(
            resaves
                .iter()
                .map(|r| (r.dest.as_path(), &sel.picks[r.pick], Some(r))),
        )
        .collect();
    rows.sort_by(|a, b| a.0.cmp(b.0));
    // Metadata fields of the chosen images (manifest columns, pattern
    // captures), one column each after the fixed ones, in name order.
    let fields: std::collections::BTreeSet<&str> = rows
        .iter()
        .flat_map(|(_, pick, _)| images[pick.image].labels.meta.keys().map(String::as_str))
        .collect();
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = LOCK_COLUMNS
        .iter()
        .map(|c| (*c).to_owned())
        .chain(fields.iter().map(|f| match LOCK_COLUMNS.contains(f) {
            true => format!("meta.{f}"),
            false => (*f).to_owned(),
        }));
    w.write_record(header).expect("in-memory CSV");
    for (file, pick, resave) in rows {
        let img = &images[pick.image];
        let (slot, tags, features) = match resave {
            None => (pick.slot.label(), img.labels.tags_joined(), &img.features),
            Some(r) => {
                let mut tags = img.labels.tags.clone();
                tags.insert(resave_tag.to_owned());
                let tags = tags.into_iter().collect::<Vec<_>>().join(";");
                ("resave".to_owned(), tags, &r.features)
            }
        };
        let time = match (&img.labels.time_written, img.labels.time) {
            (Some(written), _) => written.clone(),
            (None, Some(t)) => format!("{t:.3}"),
            (None, None) => String::new(),
        };
        let classes = img
            .labels
            .classes
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(";");
        let fixed = [
            paths::escaped(file),
            source_column(img, base),
            time,
            pick.bucket.to_string(),
            slot,
            tags,
            classes,
            img.labels.camera.clone().unwrap_or_default(),
            features.width.to_string(),
            features.height.to_string(),
            features.phash_hex(),
            features.content_hex(),
        ];
        let meta = fields
            .iter()
            .map(|f| img.labels.meta.get(*f).cloned().unwrap_or_default());
        w.write_record(fixed.into_iter().chain(meta))
            .expect("in-memory CSV");
    }
    w.into_inner().expect("in-memory CSV")
}

/// Every usable pool image with what became of it (`chosen`, `not-chosen`,
/// `exact-duplicate`, `near-duplicate`, `not-sampled`, `consecutive-duplicate`),
/// the image its duplicate group kept, and its measured quality.
pub(crate) fn pool_list(images: &[PoolImage], dd: &Dedup, sel: &Selection, base: &Path) -> Vec<u8> {
    let chosen: HashSet<usize> = sel.picks.iter().map(|p| p.image).collect();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "path",
        "bucket",
        "tags",
        "camera",
        "status",
        "kept",
        "phash",
        "width",
        "height",
        "mean",
        "contrast",
        "dark_clip",
        "bright_clip",
        "sharpness",
        "jpeg_quality",
        "colourfulness",
        "entropy",
        "measured",
    ])
    .expect("in-memory CSV");
    let mut out = w.into_inner().expect("in-memory CSV");
    // Rows are formatted in parallel blocks (100,000 rows take 0.3 CPU-s) and
    // joined in order.
    const BLOCK: usize = 4096;
    let blocks: Vec<Vec<u8>> = images
        .par_chunks(BLOCK)
        .enumerate()
        .map(|(b, block)| {
            let mut w = csv::Writer::from_writer(Vec::new());
            for (k, img) in block.iter().enumerate() {
                let i = b * BLOCK + k;
                let status = ImageStatus::of(dd, &chosen, i).as_str();
                let q = &img.features.quality;
                w.write_record([
                    paths::escaped(&exact_rel(img, base)).as_str(),
                    img.labels.bucket.map_or("", |b| b.as_str()),
                    &img.labels.tags_joined(),
                    img.labels.camera.as_deref().unwrap_or(""),
                    status,
                    paths::escaped(&exact_rel(&images[dd.cluster[i]], base)).as_str(),
                    &img.features.phash_hex(),
                    &img.features.width.to_string(),
                    &img.features.height.to_string(),
                    &format!("{:.1}", q.mean),
                    &format!("{:.1}", q.contrast),
                    &format!("{:.3}", q.dark_clip),
                    &format!("{:.3}", q.bright_clip),
                    &format!("{:.1}", q.sharpness),
                    &q.jpeg_quality.map_or(String::new(), |v| v.to_string()),
                    &format!("{:.1}", q.colourfulness),
                    &format!("{:.2}", q.entropy),
                    &img.labels
                        .measured
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(";"),
                ])
                .expect("in-memory CSV");
            }
            w.into_inner().expect("in-memory CSV")
        })
        .collect();
    for block in blocks {
        out.extend(block);
    }
    out
}
