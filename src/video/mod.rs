//! Videos as frame sequences, extracted with the `ffmpeg` executable.
//!
//! This module owns finding ffmpeg ([`find_ffmpeg`]), telling videos by their
//! extension ([`crate::source::is_video_path`]) and turning one video into JPEG frames sampled at a
//! fixed interval ([`extract`]), cached between runs.
//!
//! # Sampling and timestamps
//!
//! ffmpeg decodes the first video stream that is not cover art (`-map 0:V:0`) and runs
//! it through `setpts=PTS-STARTPTS` (so `t = 0` is the first decoded frame), a
//! `select` that keeps the first frame at or after each multiple of `every`
//! (0, `every`, 2·`every`, …; 1 ms of tolerance absorbs rounding in the stream's
//! time base), and `settb=AVTB` (timestamps in microseconds). A `metadata=print`
//! filter writes each kept frame's timestamp to a file, and [`Frame::time`] is read
//! from there: it is the true presentation time of the frame that was saved, not
//! the nominal sampling instant. A gap in a variable-frame-rate stream therefore
//! shows as a later time, never as a duplicated frame. Frames go through unchanged
//! (`-fps_mode passthrough`, or `-vsync passthrough` on ffmpeg older than 5.1) and
//! are encoded as JPEG with `-q:v 2`.
//!
//! # Cache layout
//!
//! ```text
//! CACHE_DIR/
//!   clip-3fa2c91b0d5e6a47/   {file stem}-{16 hex digits of the key}
//!     000000.jpg             sample 0 (t = 0)
//!     000001.jpg             sample 1
//!     frames.json            the index, written last: format, key, file + time of each frame
//!   .clip-3fa2c91b0d5e6a47.tmp-XXXXXX/   an extraction in progress
//! ```
//!
//! The key is a blake3 hash of the video's canonical path (its bytes, not a lossy
//! string), size, mtime in nanoseconds, `every` and the extraction format version.
//! Extraction runs in a temporary folder beside the final one, writes `frames.json`
//! last and renames the folder into place, so an interrupted run never leaves a
//! half-extraction that would be reused. A folder whose index is missing, damaged,
//! from another version or whose frames are gone is deleted and extracted again,
//! and so are temporary folders of the same extraction untouched for an hour (a
//! killed run's).
//! Nothing is written outside the cache folder.
//!
//! Inside: `ffmpeg` runs the executable, `store` owns the cache folders, `duration`
//! parses recipe durations.

use std::path::{Path, PathBuf};
use std::process::ExitStatus;

mod duration;
mod ffmpeg;
mod store;
#[cfg(test)]
mod tests;

pub(crate) use duration::parse_duration;
pub(crate) use ffmpeg::find_ffmpeg;

use ffmpeg::{INSTALL_HINT, one_line, with_colon};

/// One extracted frame.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Frame {
    /// The extracted JPEG (inside the cache folder).
    pub path: PathBuf,
    /// 0-based index of the sample.
    pub index: usize,
    /// Presentation time in seconds from the first frame of the video.
    pub time: f64,
}

/// Why a video could not be turned into frames.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// ffmpeg was not found or does not run.
    #[error("cannot run ffmpeg ({}): {reason}; {INSTALL_HINT}", tried.display())]
    NoFfmpeg {
        /// The executable tried (`ffmpeg` when nothing was found on `PATH`).
        tried: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The video itself cannot be read (missing, no permission).
    #[error("cannot read video {}", video.display())]
    Unreadable {
        /// The video.
        video: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// ffmpeg failed on this video (not a video, damaged, no video stream).
    #[error("ffmpeg failed on {} ({status}): {}", video.display(), one_line(stderr))]
    Ffmpeg {
        /// The video.
        video: PathBuf,
        /// ffmpeg's exit status.
        status: ExitStatus,
        /// The last lines of ffmpeg's stderr.
        stderr: String,
    },
    /// ffmpeg succeeded but decoded no frame.
    #[error("no frames could be decoded from {}{}", video.display(), with_colon(stderr))]
    NoFrames {
        /// The video.
        video: PathBuf,
        /// The last lines of ffmpeg's stderr, if it said anything.
        stderr: String,
    },
    /// ffmpeg's output is not what the command asked for (a bug or an unusual build).
    #[error("unexpected ffmpeg output for {}: {message}", video.display())]
    Output {
        /// The video.
        video: PathBuf,
        /// What did not match.
        message: String,
    },
    /// I/O on the cache folder.
    #[error("cannot write video frames in {}", path.display())]
    Io {
        /// The file or folder in the cache.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The sampling interval is not a positive finite number of seconds.
    #[error("the frame interval must be a positive number of seconds, not {0}")]
    BadInterval(f64),
}

impl VideoError {
    /// Whether the error is about this one video (report it and go on with the
    /// others) rather than about ffmpeg, the cache or the settings (stop the run).
    pub fn is_video_fault(&self) -> bool {
        matches!(
            self,
            VideoError::Unreadable { .. }
                | VideoError::Ffmpeg { .. }
                | VideoError::NoFrames { .. }
                | VideoError::Output { .. }
        )
    }
}

/// Extracts one frame every `every` seconds from `video` (at t = 0, `every`,
/// 2·`every`, …) as JPEG into a folder under `cache_dir`, or returns an earlier
/// complete extraction of the same file with the same interval without running
/// ffmpeg.
///
/// Each frame is the first one at or after its sampling instant; its
/// [`Frame::time`] is that frame's true presentation time (see the module docs). A
/// video shorter than `every` yields one frame, at t = 0. The frames come back in
/// time order with `index` 0, 1, 2, …
pub(crate) fn extract(
    ffmpeg: &Path,
    video: &Path,
    every: f64,
    cache_dir: &Path,
) -> Result<Vec<Frame>, VideoError> {
    if !(every.is_finite() && every > 0.0) {
        return Err(VideoError::BadInterval(every));
    }
    let unreadable = |source| VideoError::Unreadable {
        video: video.to_owned(),
        source,
    };
    let canonical = std::fs::canonicalize(video).map_err(unreadable)?;
    let version = crate::source::stat(&canonical).map_err(unreadable)?;
    let key = store::key(&canonical, version.size, version.modified_ns, every);
    let name = store::folder_name(&canonical, &key);
    let dir = cache_dir.join(&name);

    if let Some(frames) = store::load(&dir, &key) {
        return Ok(frames);
    }
    // Stale, damaged or incomplete: start over, and clear what killed runs left.
    store::clear(&dir)?;
    store::sweep_abandoned(cache_dir, &name, store::ABANDONED_AFTER);
    std::fs::create_dir_all(cache_dir).map_err(|source| VideoError::Io {
        path: cache_dir.to_owned(),
        source,
    })?;
    let (tmp, times) = ffmpeg::extract_into(ffmpeg, &canonical, video, every, cache_dir, &name)?;
    store::publish(tmp, &dir, &key, &times)
}
