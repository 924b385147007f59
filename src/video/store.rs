//! The extraction folders in the cache: naming, the `frames.json` index, reuse and
//! publishing a finished extraction (see the layout in the [module docs](super)).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Frame, VideoError};

/// Layout of an extraction folder and of the ffmpeg command behind it; bumping it
/// invalidates every cached extraction.
const FORMAT_VERSION: u32 = 1;
/// Name of the index file, written last into an extraction folder.
pub(super) const INDEX: &str = "frames.json";

/// The index of an extraction folder.
#[derive(Debug, Serialize, Deserialize)]
struct Index {
    /// [`FORMAT_VERSION`] of the writer.
    format: u32,
    /// Hex blake3 key the folder was extracted for.
    key: String,
    /// The frames in time order.
    frames: Vec<IndexFrame>,
}

#[derive(Debug, Serialize, Deserialize)]
struct IndexFrame {
    /// File name inside the folder.
    file: String,
    /// Presentation time in seconds.
    time: f64,
}

/// Hex blake3 of everything an extraction depends on.
pub(super) fn key(canonical: &Path, size: u64, mtime_ns: i128, every: f64) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"calibset video frames\0");
    h.update(&FORMAT_VERSION.to_le_bytes());
    let path = canonical.as_os_str().as_encoded_bytes();
    h.update(&(path.len() as u64).to_le_bytes());
    h.update(path);
    h.update(&size.to_le_bytes());
    h.update(&mtime_ns.to_le_bytes());
    h.update(&every.to_bits().to_le_bytes());
    h.finalize().to_hex().to_string()
}

/// `{stem}-{key prefix}`, the stem reduced to ASCII letters, digits, `-` and `_`.
pub(super) fn folder_name(canonical: &Path, key: &str) -> String {
    let stem: String = canonical
        .file_stem()
        .map(|s| s.to_string_lossy())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let stem = if stem.is_empty() { "video" } else { &stem };
    format!("{stem}-{}", &key[..16])
}

/// Name of sample `i`'s JPEG, as ffmpeg writes it (`%06d.jpg` from 0).
pub(super) fn frame_file(i: usize) -> String {
    format!("{i:06}.jpg")
}

/// A complete earlier extraction in `dir` for `key`, if there is one.
pub(super) fn load(dir: &Path, key: &str) -> Option<Vec<Frame>> {
    let bytes = crate::source::read_bytes(&dir.join(INDEX), crate::source::LABEL_LIMIT).ok()?;
    let index: Index = serde_json::from_slice(&bytes).ok()?;
    let complete = index.format == FORMAT_VERSION
        && index.key == key
        && !index.frames.is_empty()
        && index.frames.iter().all(|f| dir.join(&f.file).is_file());
    complete.then(|| frames_in(dir, &index))
}

/// Removes `dir` if it is there (an extraction that [`load`] did not accept).
pub(super) fn clear(dir: &Path) -> Result<(), VideoError> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(dir, e)),
        _ => Ok(()),
    }
}

/// Extractions in progress untouched for this long were left by a killed run.
pub(super) const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

/// Prefix of the temporary folders extractions into `name` run in.
pub(super) fn tmp_prefix(name: &str) -> String {
    format!(".{name}.tmp-")
}

/// Removes temporary folders of extractions into `name` not modified for
/// `older_than` (ffmpeg writes frames into a live one all the time), which a
/// killed run left behind. Returns how many were removed; errors are ignored, as
/// a folder that cannot be removed now is no worse than before.
pub(super) fn sweep_abandoned(
    cache_dir: &Path,
    name: &str,
    older_than: std::time::Duration,
) -> usize {
    let prefix = tmp_prefix(name);
    let Ok(entries) = std::fs::read_dir(cache_dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(&prefix))
        })
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age >= older_than)
        })
        .filter(|e| std::fs::remove_dir_all(e.path()).is_ok())
        .count()
}

/// Writes the index of the frames at `times` into `tmp` (after everything else),
/// then renames `tmp` to `dir`.
pub(super) fn publish(
    tmp: tempfile::TempDir,
    dir: &Path,
    key: &str,
    times: &[f64],
) -> Result<Vec<Frame>, VideoError> {
    let index = Index {
        format: FORMAT_VERSION,
        key: key.to_owned(),
        frames: times
            .iter()
            .enumerate()
            .map(|(i, &time)| IndexFrame {
                file: frame_file(i),
                time,
            })
            .collect(),
    };
    let index_path = tmp.path().join(INDEX);
    let bytes = serde_json::to_vec_pretty(&index).map_err(|e| io(&index_path, e.into()))?;
    std::fs::write(&index_path, bytes).map_err(|e| io(&index_path, e))?;
    if let Err(e) = std::fs::rename(tmp.path(), dir) {
        // Another run may have finished the same extraction first.
        if let Some(frames) = load(dir, key) {
            return Ok(frames);
        }
        if !dir.exists() {
            return Err(io(dir, e));
        }
        clear(dir)?;
        std::fs::rename(tmp.path(), dir).map_err(|e| io(dir, e))?;
    }
    // `tmp` now names a path that no longer exists; dropping it removes nothing.
    drop(tmp);
    Ok(frames_in(dir, &index))
}

fn frames_in(dir: &Path, index: &Index) -> Vec<Frame> {
    index
        .frames
        .iter()
        .enumerate()
        .map(|(i, f)| Frame {
            path: dir.join(&f.file),
            index: i,
            time: f.time,
        })
        .collect()
}

fn io(path: &Path, source: std::io::Error) -> VideoError {
    VideoError::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_names() {
        let p = Path::new("/data/cam 1/clip.v2.mp4");
        let k = key(p, 10, 5, 1.0);
        assert_eq!(k.len(), 64);
        assert_eq!(k, key(p, 10, 5, 1.0));
        for other in [
            key(Path::new("/data/cam 1/clip.v3.mp4"), 10, 5, 1.0),
            key(p, 11, 5, 1.0),
            key(p, 10, 6, 1.0),
            key(p, 10, 5, 0.5),
        ] {
            assert_ne!(k, other);
        }
        assert_eq!(folder_name(p, &k), format!("clip_v2-{}", &k[..16]));
        assert_eq!(
            folder_name(Path::new("/"), &k),
            format!("video-{}", &k[..16])
        );
    }

    #[test]
    fn published_folder_loads_and_damage_is_rejected() {
        let cache = tempfile::tempdir().unwrap();
        let dir = cache.path().join("clip-0123456789abcdef");
        let tmp = tempfile::tempdir_in(cache.path()).unwrap();
        for i in 0..2 {
            std::fs::write(tmp.path().join(frame_file(i)), b"\xFF\xD8\xFF").unwrap();
        }
        let frames = publish(tmp, &dir, "k", &[0.0, 1.04]).unwrap();
        assert_eq!(frames[1].path, dir.join("000001.jpg"));
        assert_eq!((frames[1].index, frames[1].time), (1, 1.04));
        assert_eq!(load(&dir, "k"), Some(frames.clone()));
        assert_eq!(load(&dir, "other key"), None);
        std::fs::write(dir.join(INDEX), b"{ truncated").unwrap();
        assert_eq!(load(&dir, "k"), None);
        clear(&dir).unwrap();
        assert!(!dir.exists());
        clear(&dir).unwrap();
    }

    #[test]
    fn abandoned_extractions_are_swept_live_ones_kept() {
        let cache = tempfile::tempdir().unwrap();
        let name = "clip-0123456789abcdef";
        let old = cache.path().join(format!("{}old", tmp_prefix(name)));
        let live = cache.path().join(format!("{}live", tmp_prefix(name)));
        let other = cache
            .path()
            .join(format!("{}old", tmp_prefix("other-0123456789abcdef")));
        for d in [&old, &live, &other] {
            std::fs::create_dir(d).unwrap();
            std::fs::write(d.join(frame_file(0)), b"x").unwrap();
        }
        let two_hours_ago = std::time::SystemTime::now() - 2 * ABANDONED_AFTER;
        for d in [&old, &other] {
            std::fs::File::open(d)
                .unwrap()
                .set_modified(two_hours_ago)
                .unwrap();
        }
        assert_eq!(sweep_abandoned(cache.path(), name, ABANDONED_AFTER), 1);
        assert!(!old.exists());
        assert!(live.exists() && other.exists());
        assert_eq!(
            sweep_abandoned(&cache.path().join("missing"), name, ABANDONED_AFTER),
            0
        );
    }
}
