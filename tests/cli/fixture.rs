//! Generated test pools: real JPEG/PNG files in a temporary folder.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use image::{ImageEncoder, Rgb, RgbImage};

/// A temporary folder holding a pool, a recipe and (later) outputs.
pub struct Pool {
    dir: tempfile::TempDir,
}

/// A scene: a few soft blobs whose layout comes from `seed`; `shift` moves them
/// slightly (for near-duplicate frames).
pub fn scene(seed: u64, shift: f32, w: u32, h: u32) -> RgbImage {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f32 / (1u64 << 53) as f32
    };
    let blobs: Vec<(f32, f32, f32, f32)> = (0..5)
        .map(|_| (next(), next(), 0.05 + 0.1 * next(), next() * 2.0 - 1.0))
        .collect();
    let tilt = next();
    RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
        let mut v = 90.0 + 60.0 * (fy - 0.5) * (tilt * 2.0 - 1.0);
        for &(cx, cy, r, a) in &blobs {
            let d = (fx - cx - shift / w as f32).powi(2) + (fy - cy).powi(2);
            v += 110.0 * a * (-d / (r * r)).exp();
        }
        let v = v.clamp(0.0, 255.0) as u8;
        Rgb([v, v.saturating_add(20), 255 - v / 2])
    })
}

/// JPEG bytes of `img` at `quality`.
pub fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .write_image(
            img,
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

/// PNG bytes of `img`.
pub fn png(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            img,
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

/// The text of [`SET_OF_30`], as a literal that `concat!` can extend.
macro_rules! set_of_30 {
    () => {
        r#"
total = 30
split = { normal = 6, hard = 2, background = 2 }

[buckets.hard.quota]
night = 3
rain = 3
"#
    };
}

/// A recipe body for [`Pool::recipe`]: a 30-image 6:2:2 set with exact
/// night and rain quotas of 3, which the standard pool fills.
pub const SET_OF_30: &str = set_of_30!();

/// [`SET_OF_30`] written to `out`: the recipe body of the build, safety and
/// snapshot tests.
pub const BODY: &str = concat!(set_of_30!(), "\n[output]\ndir = \"out\"\n");

impl Pool {
    /// An empty pool folder.
    pub fn empty() -> Self {
        Pool {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The standard pool: cameras `cam1`–`cam3`, each with 12 distinct day
    /// frames, 4 night, 4 rain (night+rain on two), 4 empty; `cam1/day` also has
    /// a 5-frame burst of near duplicates; `stills/` has a PNG and a byte copy.
    pub fn standard() -> Self {
        let pool = Pool::empty();
        let mut seed = 1u64;
        for cam in ["cam1", "cam2", "cam3"] {
            for k in 0..12 {
                seed += 1;
                pool.image(
                    &format!("frames/{cam}/day/{k:04}.jpg"),
                    &scene(seed, 0.0, 96, 72),
                );
            }
            for (cond, n) in [("night", 4), ("rain", 4), ("empty", 4)] {
                for k in 0..n {
                    seed += 1;
                    let img = scene(seed, 0.0, 96, 72);
                    let img = match cond {
                        "night" => darken(&img),
                        _ => img,
                    };
                    pool.image(&format!("frames/{cam}/{cond}/{k:04}.jpg"), &img);
                }
            }
        }
        for k in 0..5 {
            pool.image(
                &format!("frames/cam1/day/burst{k}.jpg"),
                &scene(999, k as f32 * 0.3, 96, 72),
            );
        }
        pool.write("stills/one.png", &png(&scene(500, 0.0, 80, 60)));
        pool.write("stills/one (1).png", &png(&scene(500, 0.0, 80, 60)));
        pool
    }

    /// The pool folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `rel` inside the pool.
    pub fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes raw bytes at `rel`.
    pub fn write(&self, rel: &str, bytes: &[u8]) {
        let p = self.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    /// Writes `img` as a JPEG at `rel`.
    pub fn image(&self, rel: &str, img: &RgbImage) {
        self.write(rel, &jpeg(img, 90));
    }

    /// Writes `recipe.toml`: standard sources, camera pattern and rules around
    /// `body`, whose top-level keys (before its first `[table]`) go first.
    pub fn recipe(&self, body: &str) -> PathBuf {
        self.recipe_with_camera_min(body, 0)
    }

    /// Like [`Pool::recipe`], with `camera.min` set.
    pub fn recipe_with_camera_min(&self, body: &str, camera_min: usize) -> PathBuf {
        let split = body.find("\n[").map_or(body.len(), |i| i + 1);
        let (top, tables) = body.split_at(split);
        let text = format!(
            r#"name = "test"
seed = 3
{top}

[sources]
roots = ["frames", "stills"]

[camera]
from = "frames/{{camera}}/**"
min = {camera_min}

[[rules]]
match = "frames/*/night/**"
bucket = "hard"
tags = ["night"]

[[rules]]
match = "frames/*/rain/**"
bucket = "hard"
tags = ["rain"]

[[rules]]
match = "frames/*/empty/**"
bucket = "background"

[[rules]]
match = "**"
bucket = "normal"

{tables}
"#
        );
        let path = self.join("recipe.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `calibset` with a private cache folder, run inside the pool folder.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("calibset").unwrap();
        cmd.current_dir(self.path())
            .env("CALIBSET_CACHE_DIR", self.join(".cache"))
            .env_remove("XDG_CACHE_HOME")
            .env("NO_COLOR", "1");
        cmd
    }

    /// [`Pool::recipe`] of `body`, with `extra` added under `[sources]`.
    pub fn recipe_with_sources(&self, body: &str, extra: &str) -> PathBuf {
        let recipe = self.recipe(body);
        let text = std::fs::read_to_string(&recipe).unwrap().replace(
            "roots = [\"frames\", \"stills\"]",
            &format!("roots = [\"frames\", \"stills\"]\n{extra}"),
        );
        std::fs::write(&recipe, text).unwrap();
        recipe
    }

    /// [`Pool::cmd`] as a [`std::process::Command`], for tests that spawn it.
    pub fn spawnable(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_calibset"));
        cmd.current_dir(self.path())
            .env("CALIBSET_CACHE_DIR", self.join(".cache"))
            .env_remove("XDG_CACHE_HOME")
            .env("NO_COLOR", "1");
        cmd
    }

    /// Names in the pool folder of what calibset keeps beside an output
    /// (lock, staging and moved-aside folders), which a finished build leaves
    /// none of.
    pub fn leftovers(&self) -> Vec<String> {
        std::fs::read_dir(self.path())
            .unwrap()
            .filter_map(|e| e.unwrap().file_name().into_string().ok())
            .filter(|n| n.contains(".calibset-"))
            .collect()
    }

    /// Relative paths of all files under `rel`, sorted.
    pub fn files(&self, rel: &str) -> Vec<String> {
        let root = self.join(rel);
        let mut v: Vec<String> = walkdir::WalkDir::new(&root)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| !e.file_type().is_dir())
            .map(|e| {
                e.path()
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect();
        v.sort();
        v
    }
}

/// Runs `cmd` (which must print JSON), asserts it succeeded, returns the JSON.
pub fn json_of(cmd: &mut assert_cmd::Command) -> serde_json::Value {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A night version: gamma-crushed and dim.
pub fn darken(img: &RgbImage) -> RgbImage {
    let mut out = img.clone();
    for p in out.pixels_mut() {
        for c in &mut p.0 {
            *c = ((f32::from(*c) / 255.0).powf(2.5) * 60.0) as u8;
        }
    }
    out
}

/// The rows of a CSV file (header excluded), each split on commas.
pub fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

/// Says that a test skips part or all of what it checks because `why`: on
/// the real stderr, so `cargo test` shows it even for a passing test (the
/// harness captures only `eprintln!`). With `CALIBSET_NO_SKIP=1` in the
/// environment (CI sets it) a skip is a failure instead: what CI installs for
/// a test must be there.
pub fn skip(why: &str) {
    use std::io::Write;
    if std::env::var_os("CALIBSET_NO_SKIP").is_some_and(|v| v == "1") {
        panic!("skipped, which CALIBSET_NO_SKIP=1 forbids: {why}");
    }
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED ({}): {why}",
        std::thread::current().name().unwrap_or("?")
    );
}

/// Whether ffmpeg runs here (video tests skip without it; CI installs it).
pub fn ffmpeg_available() -> bool {
    let ok = std::process::Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip("ffmpeg not found (CI installs it)");
    }
    ok
}

/// Writes a 2-second 10 fps test video at `rel` in `pool`.
pub fn video(pool: &Pool, rel: &str, source: &str) {
    let path = pool.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let status = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-f", "lavfi", "-i"])
        .arg(format!("{source}=size=96x72:rate=10"))
        .args(["-t", "2", "-pix_fmt", "yuv420p"])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// A `calibset … -v` run in the background, to be interrupted.
#[cfg(unix)]
pub struct Running {
    child: std::process::Child,
    stderr: std::io::BufReader<std::process::ChildStderr>,
}

#[cfg(unix)]
impl Running {
    /// Spawns `cmd` (which passes `-v`) with stdout discarded and stderr
    /// piped, and waits until it reports the end of its scan: measuring has
    /// begun.
    pub fn past_scan(cmd: &mut std::process::Command) -> Self {
        use std::io::BufRead;
        let mut child = cmd
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        let mut line = String::new();
        while stderr.read_line(&mut line).unwrap() > 0 && !line.contains("scanning took") {
            seen.push_str(&line);
            line.clear();
        }
        assert!(line.contains("scanning took"), "{seen}");
        Running { child, stderr }
    }

    /// Sends SIGINT; returns the exit code and the rest of stderr.
    pub fn interrupt(mut self) -> (Option<i32>, String) {
        let kill = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.stderr, &mut rest).unwrap();
        (self.child.wait().unwrap().code(), rest)
    }
}

/// Runs `cmd` (a build) until it is about to write, runs `meanwhile`, lets the
/// build go on, and returns its output. The pause is a hook of debug builds
/// (`CALIBSET_TEST_PAUSE`), which `cargo test` runs.
pub fn paused_before_writing(
    mut cmd: std::process::Command,
    meanwhile: impl FnOnce(),
) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("paused");
    cmd.env("CALIBSET_TEST_PAUSE", format!("recheck:{}", flag.display()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let started = std::time::Instant::now();
    while !flag.exists() {
        assert!(started.elapsed().as_secs() < 120, "the build never paused");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    meanwhile();
    std::fs::remove_file(&flag).unwrap();
    child.wait_with_output().unwrap()
}

/// Makes a FIFO at `path`.
#[cfg(unix)]
pub fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
}
