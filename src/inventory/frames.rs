//! Videos into frames: each video under the roots becomes a folder of JPEG
//! frames (one every `sequences.every`) that the rest of the pipeline treats
//! like any other images.

use std::path::Path;

use rayon::prelude::*;

use super::{InventoryError, Issue, IssueKind, Settings};
use crate::progress::{Progress, Stage};
use crate::source::{self, FileEntry, FrameOf};
use crate::video::{self, VideoError};

/// Extracts frames from `videos` (one every `settings.frame_every` seconds)
/// into `dir`; returns them as files, plus an issue per unreadable video.
pub(super) fn extract(
    settings: &Settings<'_>,
    videos: &[FileEntry],
    dir: &Path,
    progress: &dyn Progress,
) -> Result<(Vec<FileEntry>, Vec<Issue>), InventoryError> {
    let ffmpeg = video::find_ffmpeg(settings.ffmpeg)?;
    let every = settings.frame_every;
    progress.start(Stage::Extract, Some(videos.len() as u64));
    let results: Vec<_> = videos
        .par_iter()
        .map(|v| {
            let r = video::extract(&ffmpeg, &v.path, every, dir);
            progress.advance(1);
            (v, r)
        })
        .collect();
    progress.finish();
    let mut frames = Vec::new();
    let mut issues = Vec::new();
    for (v, result) in results {
        match result {
            Ok(list) => {
                for f in list {
                    let version = source::stat(&f.path).map_err(|e| VideoError::Io {
                        path: f.path.clone(),
                        source: e,
                    })?;
                    frames.push(FileEntry {
                        rel: format!("{}/{:06}.jpg", v.rel, f.index),
                        path: f.path,
                        version,
                        frame_of: Some(FrameOf {
                            video: v.path.clone(),
                            video_rel: v.rel.clone(),
                            time: f.time,
                        }),
                    });
                }
            }
            Err(e) if e.is_video_fault() => issues.push(Issue {
                path: v.rel.clone(),
                kind: IssueKind::Video,
                message: format!("{e:#}"),
            }),
            Err(e) => return Err(e.into()),
        }
    }
    Ok((frames, issues))
}
