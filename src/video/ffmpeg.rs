//! Running the `ffmpeg` executable: finding it, and one extraction run into a
//! temporary folder (the filter chain is described in the [module docs](super)).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::VideoError;
use super::store::frame_file;

/// How to get ffmpeg, appended to every [`VideoError::NoFfmpeg`] message.
pub(super) const INSTALL_HINT: &str = "install ffmpeg (e.g. `apt-get install ffmpeg`, \
     `brew install ffmpeg`) or set `ffmpeg` under `[video]` in the recipe";
/// File, inside the temporary folder, where the `metadata` filter writes times.
const TIMES: &str = "times.txt";
/// JPEG quality passed as `-q:v` (2 is near the best; 31 the worst).
const JPEG_QUALITY: u32 = 2;
/// Slack, in seconds, when deciding whether a frame reached the next sampling instant.
const TOLERANCE: f64 = 0.001;
/// How many of ffmpeg's last stderr lines an error keeps.
const STDERR_LINES: usize = 8;

/// Where the ffmpeg executable is.
///
/// `configured` is the recipe's `[video] ffmpeg = "..."`, used as is; without it,
/// the first `ffmpeg` on `PATH`. Either way the executable is run once with
/// `-version` to check that it works.
pub(crate) fn find_ffmpeg(configured: Option<&Path>) -> Result<PathBuf, VideoError> {
    let no_ffmpeg = |tried: &Path, reason: String| VideoError::NoFfmpeg {
        tried: tried.to_owned(),
        reason,
    };
    let path = match configured {
        Some(p) => p.to_owned(),
        None => {
            let name = format!("ffmpeg{}", std::env::consts::EXE_SUFFIX);
            let found = std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(&name))
                    .find(|candidate| candidate.is_file())
            });
            match found {
                Some(p) => p,
                None => return Err(no_ffmpeg(Path::new(&name), "not found on PATH".into())),
            }
        }
    };
    let output = Command::new(&path)
        .arg("-version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| no_ffmpeg(&path, e.to_string()))?;
    if !output.status.success() {
        let stderr = tail(&output.stderr);
        let reason = if stderr.is_empty() {
            format!("`-version` ended with {}", output.status)
        } else {
            format!(
                "`-version` ended with {}: {}",
                output.status,
                one_line(&stderr)
            )
        };
        return Err(no_ffmpeg(&path, reason));
    }
    Ok(path)
}

/// Extracts the frames of `canonical` into a new temporary folder in `cache_dir`
/// (named after `name`) and returns it with the frames' times. `video` is the path
/// errors name.
pub(super) fn extract_into(
    ffmpeg: &Path,
    canonical: &Path,
    video: &Path,
    every: f64,
    cache_dir: &Path,
    name: &str,
) -> Result<(tempfile::TempDir, Vec<f64>), VideoError> {
    let (tmp, result) = run(
        ffmpeg,
        canonical,
        video,
        every,
        cache_dir,
        name,
        "-fps_mode",
    )?;
    match result {
        Ok(times) => Ok((tmp, times)),
        Err(VideoError::Ffmpeg { stderr, .. }) if stderr.contains("fps_mode") => {
            // ffmpeg before 5.1 only knows the older spelling.
            drop(tmp);
            let (tmp, result) = run(ffmpeg, canonical, video, every, cache_dir, name, "-vsync")?;
            result.map(|times| (tmp, times))
        }
        Err(e) => Err(e),
    }
}

/// One ffmpeg run with `sync_option` (`-fps_mode` or `-vsync`) set to passthrough.
/// The outer error is about the cache folder; the inner result is ffmpeg's.
fn run(
    ffmpeg: &Path,
    canonical: &Path,
    video: &Path,
    every: f64,
    cache_dir: &Path,
    name: &str,
    sync_option: &str,
) -> Result<(tempfile::TempDir, Result<Vec<f64>, VideoError>), VideoError> {
    let tmp = tempfile::Builder::new()
        .prefix(&super::store::tmp_prefix(name))
        .tempdir_in(cache_dir)
        .map_err(|source| VideoError::Io {
            path: cache_dir.to_owned(),
            source,
        })?;
    // `file:` keeps a `:` in the path from being read as a protocol name.
    let mut input = OsString::from("file:");
    input.push(canonical);
    // Paths inside the filter and the output pattern are relative to the
    // temporary folder (the working directory), so they need no escaping.
    let filter = format!(
        "setpts=PTS-STARTPTS,\
         select='isnan(prev_selected_t)+gt(floor((t+{TOLERANCE})/{every}),floor((prev_selected_t+{TOLERANCE})/{every}))',\
         settb=AVTB,\
         metadata=mode=add:key=calibset:value=1,\
         metadata=mode=print:file={TIMES}"
    );
    let output = Command::new(ffmpeg)
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-n", "-i"])
        .arg(&input)
        .args(["-map", "0:V:0", "-vf", &filter, sync_option, "passthrough"])
        .args(["-c:v", "mjpeg", "-q:v", &JPEG_QUALITY.to_string()])
        .args(["-f", "image2", "-start_number", "0", "%06d.jpg"])
        .current_dir(tmp.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let output = match output {
        Ok(o) => o,
        Err(e) => {
            let err = VideoError::NoFfmpeg {
                tried: ffmpeg.to_owned(),
                reason: e.to_string(),
            };
            return Ok((tmp, Err(err)));
        }
    };
    let stderr = tail(&output.stderr);
    if !output.status.success() {
        let err = VideoError::Ffmpeg {
            video: video.to_owned(),
            status: output.status,
            stderr,
        };
        return Ok((tmp, Err(err)));
    }
    let result = read_times(tmp.path(), video, stderr);
    Ok((tmp, result))
}

/// Reads the times the `metadata` filter printed, checks that the JPEGs match and
/// removes the times file.
fn read_times(dir: &Path, video: &Path, stderr: String) -> Result<Vec<f64>, VideoError> {
    let unexpected = |message: String| VideoError::Output {
        video: video.to_owned(),
        message,
    };
    let io = |path: PathBuf, source| VideoError::Io { path, source };
    let text = match crate::source::read_text(&dir.join(TIMES), crate::source::LIST_LIMIT)
        .map_err(crate::source::ReadError::into_io)
    {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io(dir.join(TIMES), e)),
    };
    let times = parse_times(&text).map_err(unexpected)?;
    if times.is_empty() {
        return Err(VideoError::NoFrames {
            video: video.to_owned(),
            stderr,
        });
    }
    std::fs::remove_file(dir.join(TIMES)).map_err(|e| io(dir.join(TIMES), e))?;
    let files = std::fs::read_dir(dir)
        .map_err(|e| io(dir.to_owned(), e))?
        .count();
    if files != times.len() || !(0..times.len()).all(|i| dir.join(frame_file(i)).is_file()) {
        return Err(unexpected(format!(
            "{files} files for {} frame times",
            times.len()
        )));
    }
    Ok(times)
}

/// Parses the `metadata=print` output: one `frame:N pts:P pts_time:T` line per
/// frame (P in microseconds after `settb=AVTB`), each followed by `key=value` lines.
fn parse_times(text: &str) -> Result<Vec<f64>, String> {
    let mut times = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("frame:")) {
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name)?.strip_prefix(':'))
        };
        let n: Option<usize> = field("frame").and_then(|v| v.parse().ok());
        if n != Some(times.len()) {
            return Err(format!("frame {} out of order in `{line}`", times.len()));
        }
        let time = field("pts")
            .and_then(|v| v.parse::<i64>().ok())
            .map(|us| us as f64 / 1e6)
            .or_else(|| field("pts_time").and_then(|v| v.parse::<f64>().ok()))
            .filter(|t| t.is_finite())
            .ok_or_else(|| format!("no timestamp in `{line}`"))?;
        times.push(time);
    }
    Ok(times)
}

/// The last [`STDERR_LINES`] non-empty lines of `bytes`.
fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(STDERR_LINES)..].join("\n")
}

/// `text`'s lines joined with `; `, for one-line error messages.
pub(super) fn one_line(text: &str) -> String {
    if text.trim().is_empty() {
        "no message".into()
    } else {
        text.lines().collect::<Vec<_>>().join("; ")
    }
}

/// `": " + one_line(text)`, or nothing when `text` is empty.
pub(super) fn with_colon(text: &str) -> String {
    if text.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", one_line(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_from_metadata_print() {
        let text = "frame:0    pts:0       pts_time:0\ncalibset=1\n\
                    frame:1    pts:1033333 pts_time:1.03333\ncalibset=1\n\
                    frame:2    pts:NOPTS   pts_time:2.5\ncalibset=1\n";
        assert_eq!(parse_times(text), Ok(vec![0.0, 1.033333, 2.5]));
        assert_eq!(parse_times(""), Ok(vec![]));
        assert!(parse_times("frame:1 pts:0 pts_time:0\n").is_err());
        assert!(parse_times("frame:0 pts:NOPTS pts_time:NOPTS\n").is_err());
    }

    #[test]
    fn stderr_is_cut_to_its_last_lines() {
        let long: String = (0..20).map(|i| format!("line {i}\n\n")).collect();
        let kept = tail(long.as_bytes());
        assert_eq!(kept.lines().count(), STDERR_LINES);
        assert!(kept.ends_with("line 19"));
        assert_eq!(one_line("a\nb"), "a; b");
        assert_eq!(with_colon(""), "");
    }
}
