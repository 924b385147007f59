//! Extraction tests on tiny clips made by ffmpeg itself; each skips (with a note
//! on stderr) when ffmpeg is not installed.

use std::process::Command;

use super::*;
use crate::source::is_video_path;

/// ffmpeg, or `None` (with a note on stderr) so the caller can skip.
fn ffmpeg_or_skip(test: &str) -> Option<PathBuf> {
    match find_ffmpeg(None) {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("skipping {test}: ffmpeg is not available ({e})");
            None
        }
    }
}

/// A 64×48 test pattern at 10 fps lasting `seconds`, made by ffmpeg itself.
fn clip(ffmpeg: &Path, dir: &Path, name: &str, seconds: f64) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new(ffmpeg)
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10"])
        .args(["-t", &seconds.to_string(), "-pix_fmt", "yuv420p"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success(), "could not make the test clip");
    path
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn video_extensions() {
    assert!(is_video_path(Path::new("a/b.mp4")));
    assert!(is_video_path(Path::new("a/B.MKV")));
    assert!(is_video_path(Path::new("cam.264")));
    assert!(!is_video_path(Path::new("a/b.jpg")));
    assert!(!is_video_path(Path::new("mp4")));
    assert!(!is_video_path(Path::new("a.mp4/frame")));
}

#[test]
fn configured_ffmpeg_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-ffmpeg");
    let err = find_ffmpeg(Some(&missing)).unwrap_err();
    assert!(
        matches!(&err, VideoError::NoFfmpeg { tried, .. } if *tried == missing),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains(INSTALL_HINT), "{text}");
    assert!(text.contains("no-such-ffmpeg"), "{text}");
    assert!(!err.is_video_fault());
}

#[test]
fn bad_intervals() {
    let dir = tempfile::tempdir().unwrap();
    for every in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let err = extract(Path::new("ffmpeg"), Path::new("x.mp4"), every, dir.path());
        assert!(matches!(err, Err(VideoError::BadInterval(_))), "{every}");
    }
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn missing_video_is_a_video_fault() {
    let dir = tempfile::tempdir().unwrap();
    let err = extract(
        Path::new("ffmpeg"),
        &dir.path().join("gone.mp4"),
        1.0,
        dir.path(),
    )
    .unwrap_err();
    assert!(matches!(err, VideoError::Unreadable { .. }), "{err:?}");
    assert!(err.is_video_fault());
}

#[test]
fn extracts_caches_and_reextracts() {
    let Some(ffmpeg) = ffmpeg_or_skip("extracts_caches_and_reextracts") else {
        return;
    };
    let src = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let video = clip(&ffmpeg, src.path(), "clip.mp4", 3.2);

    let frames = extract(&ffmpeg, &video, 1.0, cache.path()).unwrap();
    assert_eq!(frames.len(), 4, "{frames:?}");
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f.index, i);
        assert!((f.time - i as f64).abs() <= 0.1, "{frames:?}");
        assert!(f.path.starts_with(cache.path()));
        let bytes = std::fs::read(&f.path).unwrap();
        assert_eq!(&bytes[..3], &[0xFF, 0xD8, 0xFF], "{}", f.path.display());
    }
    // One finished folder, no temporary folders, no stray files.
    let names = entries(cache.path());
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].starts_with("clip-"), "{names:?}");
    let dir = cache.path().join(&names[0]);
    assert_eq!(
        entries(&dir),
        [
            "000000.jpg",
            "000001.jpg",
            "000002.jpg",
            "000003.jpg",
            store::INDEX
        ]
    );

    // Reused without running ffmpeg: a bogus executable would fail.
    let index_mtime = std::fs::metadata(dir.join(store::INDEX))
        .unwrap()
        .modified()
        .unwrap();
    let bogus = src.path().join("no-ffmpeg-here");
    assert_eq!(extract(&bogus, &video, 1.0, cache.path()).unwrap(), frames);
    let again = std::fs::metadata(dir.join(store::INDEX))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(index_mtime, again);

    // Another interval is another extraction.
    let halves = extract(&ffmpeg, &video, 1.5, cache.path()).unwrap();
    let times: Vec<f64> = halves.iter().map(|f| f.time).collect();
    assert_eq!(times.len(), 3, "{times:?}");
    for (t, want) in times.iter().zip([0.0, 1.5, 3.0]) {
        assert!((t - want).abs() <= 0.1, "{times:?}");
    }
    assert_eq!(entries(cache.path()).len(), 2);

    // A lost frame makes the folder incomplete: it is extracted again.
    std::fs::remove_file(&frames[2].path).unwrap();
    assert!(extract(&bogus, &video, 1.0, cache.path()).is_err());
    assert_eq!(extract(&ffmpeg, &video, 1.0, cache.path()).unwrap(), frames);
}

/// ffmpeg before 5.1 rejects `-fps_mode`; extraction falls back to `-vsync`.
#[cfg(unix)]
#[test]
fn falls_back_to_vsync_on_old_ffmpeg() {
    use std::os::unix::fs::PermissionsExt;
    let Some(ffmpeg) = ffmpeg_or_skip("falls_back_to_vsync_on_old_ffmpeg") else {
        return;
    };
    let src = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let video = clip(&ffmpeg, src.path(), "clip.mp4", 2.2);
    let old = src.path().join("old-ffmpeg");
    let script = format!(
        "#!/bin/sh\nfor a in \"$@\"; do\n  if [ \"$a\" = -fps_mode ]; then\n    \
         echo \"Unrecognized option 'fps_mode'.\" >&2; exit 1\n  fi\ndone\nexec '{}' \"$@\"\n",
        ffmpeg.display()
    );
    std::fs::write(&old, script).unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).unwrap();
    let frames = extract(&old, &video, 1.0, cache.path()).unwrap();
    let times: Vec<f64> = frames.iter().map(|f| f.time).collect();
    assert_eq!(times, [0.0, 1.0, 2.0]);
    assert_eq!(
        entries(cache.path()).len(),
        1,
        "{:?}",
        entries(cache.path())
    );
}

#[test]
fn short_video_gives_one_frame_at_zero() {
    let Some(ffmpeg) = ffmpeg_or_skip("short_video_gives_one_frame_at_zero") else {
        return;
    };
    let src = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let video = clip(&ffmpeg, src.path(), "short clip.mkv", 0.5);
    let frames = extract(&ffmpeg, &video, 2.0, cache.path()).unwrap();
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0].time, 0.0);
    assert_eq!(frames[0].index, 0);
}

#[test]
fn non_video_is_an_ffmpeg_error() {
    let Some(ffmpeg) = ffmpeg_or_skip("non_video_is_an_ffmpeg_error") else {
        return;
    };
    let src = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let fake = src.path().join("notes.mp4");
    std::fs::write(&fake, "not a video at all\n").unwrap();
    let err = extract(&ffmpeg, &fake, 1.0, cache.path()).unwrap_err();
    match &err {
        VideoError::Ffmpeg { video, stderr, .. } => {
            assert_eq!(video, &fake);
            assert!(!stderr.is_empty());
        }
        other => panic!("expected an ffmpeg error, got {other:?}"),
    }
    assert!(err.is_video_fault());
    assert!(err.to_string().contains("notes.mp4"), "{err}");
    // Nothing half-done is left behind.
    assert!(
        entries(cache.path()).is_empty(),
        "{:?}",
        entries(cache.path())
    );
}
