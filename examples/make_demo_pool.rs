//! Writes the small synthetic image pool that `examples/demo.toml` builds from.
//!
//! A real calibration pool is a few cameras' worth of video frames plus some
//! loose stills, and it is messy: frames come in bursts of near-identical
//! pictures, some conditions (night, rain, blur, heavy compression) are rare,
//! empty scenes sit beside busy ones, people keep copies of files, and a few
//! files are broken. This program draws such a pool procedurally, so the demo
//! recipe has real work to do without shipping anyone's photos:
//!
//! ```text
//! frames/camA..camD/{day,night,rain-fog,blur,lowq,empty}/NNNNNN.jpg
//! stills/background/{texture,sky,wall}/*.{jpg,png}
//! stills/positive/*.jpg                   (with exact copies and near duplicates)
//! frames/camD/day/{empty-file.jpg,truncated.jpg,not-an-image.png}   (hostile)
//! ```
//!
//! Each camera has its own fixed scene (sky, buildings, road with lane marks);
//! cars and people move 1–2 px per frame inside a burst of 4–8 frames, and land
//! somewhere else entirely in the next burst. Everything derives from one fixed
//! seed, so the output is identical on every run.
//!
//! ```sh
//! cargo run --release --example make_demo_pool -- [DIR] [--force]
//! ```
//!
//! `DIR` defaults to `examples/demo` in the crate. A non-empty `DIR` is refused
//! unless `--force` is given, which first deletes its `frames/` and `stills/`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, RgbImage};

/// Frame width and height in pixels (small, to keep the committed pool tiny).
const W: usize = 160;
const H: usize = 120;
/// The seed everything derives from.
const SEED: u64 = 0xCA11_B5E7_0007;
/// JPEG quality of ordinary frames and stills.
const QUALITY: u8 = 80;

/// SplitMix64: a tiny, well-mixed deterministic PRNG.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `[lo, hi)`.
    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32)
    }
    /// Uniform integer in `[lo, hi]`.
    fn int(&mut self, lo: i32, hi: i32) -> i32 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i32
    }
    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f32 {
        let u = self.range(1e-6, 1.0);
        let v = self.range(0.0, std::f32::consts::TAU);
        (-2.0 * u.ln()).sqrt() * v.cos()
    }
    /// A random colour around `base`, each channel within `±spread`.
    fn colour(&mut self, base: [f32; 3], spread: f32) -> [f32; 3] {
        base.map(|c| (c + self.range(-spread, spread)).clamp(0.0, 255.0))
    }
}

/// An RGB picture in floating point, 0–255 per channel.
#[derive(Clone)]
struct Canvas(Vec<[f32; 3]>);

impl Canvas {
    fn new() -> Self {
        Canvas(vec![[0.0; 3]; W * H])
    }
    /// Fills the rectangle `[x0, x1) × [y0, y1)`, clipped, blending with `alpha`.
    fn rect(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, c: [f32; 3], alpha: f32) {
        let clip = |v: f32, max: usize| (v.round().max(0.0) as usize).min(max);
        for y in clip(y0, H)..clip(y1, H) {
            for x in clip(x0, W)..clip(x1, W) {
                let p = &mut self.0[y * W + x];
                *p = std::array::from_fn(|i| p[i] + (c[i] - p[i]) * alpha);
            }
        }
    }
    /// Fills the ellipse centred on `(cx, cy)` with radii `rx`, `ry`.
    fn ellipse(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, c: [f32; 3]) {
        for y in (cy - ry).floor().max(0.0) as usize..((cy + ry).ceil().max(0.0) as usize).min(H) {
            for x in
                (cx - rx).floor().max(0.0) as usize..((cx + rx).ceil().max(0.0) as usize).min(W)
            {
                let (dx, dy) = ((x as f32 + 0.5 - cx) / rx, (y as f32 + 0.5 - cy) / ry);
                if dx * dx + dy * dy <= 1.0 {
                    self.0[y * W + x] = c;
                }
            }
        }
    }
    /// Applies `f(x, y, pixel)` to every pixel.
    fn map(&mut self, mut f: impl FnMut(usize, usize, [f32; 3]) -> [f32; 3]) {
        for (i, p) in self.0.iter_mut().enumerate() {
            *p = f(i % W, i / W, *p);
        }
    }
    /// Adds Gaussian sensor noise of standard deviation `sigma`.
    fn noise(&mut self, rng: &mut Rng, sigma: f32) {
        self.map(|_, _, p| p.map(|c| c + sigma * rng.normal()));
    }
    /// Box blur with radius `rx` horizontally and `ry` vertically.
    fn blur(&mut self, rx: usize, ry: usize) {
        for (r, step, len, lines) in [(rx, 1, W, H), (ry, W, H, W)] {
            let src = self.0.clone();
            for line in 0..lines {
                let start = if step == 1 { line * W } else { line };
                for i in 0..len {
                    let (lo, hi) = (i.saturating_sub(r), (i + r).min(len - 1));
                    let mut sum = [0.0; 3];
                    for j in lo..=hi {
                        let q = src[start + j * step];
                        sum = std::array::from_fn(|k| sum[k] + q[k]);
                    }
                    self.0[start + i * step] = sum.map(|s| s / (hi - lo + 1) as f32);
                }
            }
        }
    }
    fn to_image(&self) -> RgbImage {
        let raw = self
            .0
            .iter()
            .flat_map(|p| p.map(|c| c.round().clamp(0.0, 255.0) as u8));
        RgbImage::from_raw(W as u32, H as u32, raw.collect()).expect("W×H×3 bytes")
    }
}

/// Encodes `img` as a JPEG of the given quality.
fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode(
            img.as_raw(),
            img.width(),
            img.height(),
            ExtendedColorType::Rgb8,
        )
        .expect("encoding to memory cannot fail");
    out
}

/// Writes `bytes` to `path`, creating its folder.
fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    fs::create_dir_all(path.parent().expect("file paths have a parent"))?;
    fs::write(path, bytes)
}

/// A building on the skyline, with a grid of windows.
struct Building {
    x0: f32,
    x1: f32,
    top: f32,
    wall: [f32; 3],
    window: [f32; 3],
}

/// One camera's fixed view: sky, skyline, ground and a road in perspective.
struct Scene {
    horizon: f32,
    sky: [[f32; 3]; 2],
    ground: [f32; 3],
    road: [f32; 3],
    /// Vanishing point x, road centre and half width at the bottom edge.
    vanish: f32,
    road_x: f32,
    road_half: f32,
    buildings: Vec<Building>,
}

impl Scene {
    fn random(rng: &mut Rng) -> Scene {
        let horizon = rng.range(38.0, 60.0);
        let mut buildings = Vec::new();
        let mut x = rng.range(-10.0, 5.0);
        while x < W as f32 {
            let w = rng.range(14.0, 34.0);
            let grey = rng.range(70.0, 170.0);
            buildings.push(Building {
                x0: x,
                x1: x + w,
                top: horizon - rng.range(8.0, horizon - 6.0),
                wall: rng.colour([grey, grey * 0.95, grey * 0.9], 25.0),
                window: rng.colour([60.0, 75.0, 95.0], 20.0),
            });
            x += w + rng.range(-4.0, 10.0);
        }
        Scene {
            horizon,
            sky: [
                rng.colour([95.0, 140.0, 205.0], 30.0),
                rng.colour([190.0, 210.0, 230.0], 20.0),
            ],
            ground: rng.colour([110.0, 120.0, 85.0], 25.0),
            road: rng.colour([85.0, 85.0, 90.0], 12.0),
            vanish: rng.range(50.0, 110.0),
            road_x: rng.range(55.0, 105.0),
            road_half: rng.range(45.0, 75.0),
            buildings,
        }
    }

    /// Depth factor of row `y`: 0 at the horizon, 1 at the bottom edge.
    fn depth(&self, y: f32) -> f32 {
        ((y - self.horizon) / (H as f32 - self.horizon)).clamp(0.0, 1.0)
    }

    /// Road centre and half width at row `y`.
    fn road_at(&self, y: f32) -> (f32, f32) {
        let t = self.depth(y);
        (
            self.vanish + t * (self.road_x - self.vanish),
            1.0 + t * self.road_half,
        )
    }

    /// Paints the scene. `sun` in [-1, 1] moves building shadows (time of day);
    /// `lit` is the share of windows lit (at night).
    fn paint(&self, c: &mut Canvas, sun: f32, lit: f32, rng: &mut Rng) {
        let hz = self.horizon;
        c.map(|x, y, _| {
            let yf = y as f32 + 0.5;
            if yf < hz {
                let t = yf / hz;
                std::array::from_fn(|i| self.sky[0][i] + t * (self.sky[1][i] - self.sky[0][i]))
            } else {
                let (cx, half) = self.road_at(yf);
                let dx = (x as f32 + 0.5 - cx).abs();
                let t = self.depth(yf);
                // Lane marks: a dashed centre line and solid edge lines.
                let dash = ((1.0 / (t + 0.05)) * 6.0) as i32 % 2 == 0;
                if dx < half {
                    if (dx < 0.6 + 1.5 * t && dash) || (half - dx) < 0.6 + 1.5 * t {
                        [225.0, 225.0, 210.0]
                    } else {
                        self.road
                    }
                } else {
                    self.ground.map(|g| g * (0.85 + 0.15 * t))
                }
            }
        });
        for b in &self.buildings {
            // Shadow thrown sideways on the ground, longer when the sun is low.
            let sx = sun * 25.0;
            let (s0, s1) = if sx < 0.0 {
                (b.x0 + sx, b.x0)
            } else {
                (b.x1, b.x1 + sx)
            };
            c.rect(
                s0,
                hz,
                s1,
                hz + 4.0 + 8.0 * sun.abs(),
                [20.0, 20.0, 30.0],
                0.35,
            );
            c.rect(b.x0, b.top, b.x1, hz, b.wall, 1.0);
            let mut y = b.top + 3.0;
            while y + 3.0 < hz {
                let mut x = b.x0 + 2.0;
                while x + 3.0 < b.x1 {
                    let on = rng.range(0.0, 1.0) < lit;
                    let win = if on { [255.0, 215.0, 130.0] } else { b.window };
                    c.rect(x, y, x + 3.0, y + 3.0, win, 1.0);
                    x += 6.0;
                }
                y += 6.0;
            }
        }
    }
}

/// A moving car or person, standing on the ground at `(x, y)`.
#[derive(Clone)]
struct Target {
    car: bool,
    x: f32,
    y: f32,
    vx: f32,
    vy: f32,
    colour: [f32; 3],
}

impl Target {
    /// A target somewhere plausible: cars on the road, people beside it.
    fn random(scene: &Scene, rng: &mut Rng) -> Target {
        let car = rng.range(0.0, 1.0) < 0.6;
        let y = rng.range(scene.horizon + 8.0, H as f32 + 4.0);
        let (cx, half) = scene.road_at(y);
        let x = if car {
            cx + rng.range(-0.7, 0.7) * half
        } else {
            cx + (half + rng.range(3.0, 25.0)) * if rng.range(0.0, 1.0) < 0.5 { -1.0 } else { 1.0 }
        };
        let speed = rng.range(1.0, 2.0) * if rng.range(0.0, 1.0) < 0.5 { -1.0 } else { 1.0 };
        let colour = if car {
            rng.colour([140.0, 120.0, 120.0], 110.0)
        } else {
            rng.colour([120.0, 90.0, 80.0], 80.0)
        };
        Target {
            car,
            x,
            y,
            vx: speed,
            vy: rng.range(-0.5, 0.5),
            colour,
        }
    }

    fn step(&mut self) {
        self.x += self.vx;
        self.y += self.vy;
    }

    /// Paints the target, scaled by its depth; `night` turns headlights on.
    fn paint(&self, c: &mut Canvas, scene: &Scene, night: bool) {
        let s = 0.25 + scene.depth(self.y);
        let (x, y) = (self.x, self.y);
        if self.car {
            let (w, h) = (40.0 * s, 20.0 * s);
            c.rect(
                x - w * 0.55,
                y - 2.0 * s,
                x + w * 0.55,
                y + 2.0 * s,
                [15.0; 3],
                0.5,
            );
            c.rect(x - w / 2.0, y - h * 0.6, x + w / 2.0, y, self.colour, 1.0);
            c.rect(
                x - w * 0.3,
                y - h,
                x + w * 0.3,
                y - h * 0.55,
                self.colour.map(|v| v * 0.8),
                1.0,
            );
            c.rect(
                x - w * 0.25,
                y - h * 0.92,
                x + w * 0.25,
                y - h * 0.62,
                [40.0, 55.0, 70.0],
                1.0,
            );
            for wx in [x - w * 0.32, x + w * 0.32] {
                c.ellipse(wx, y, 4.0 * s, 4.0 * s, [20.0; 3]);
            }
            if night {
                for lx in [x - w * 0.4, x + w * 0.4] {
                    c.ellipse(lx, y - h * 0.35, 3.0 * s, 2.0 * s, [255.0, 250.0, 220.0]);
                }
            }
        } else {
            let h = 34.0 * s;
            c.ellipse(x, y, h * 0.2, h * 0.05, [25.0; 3]);
            c.rect(
                x - h * 0.11,
                y - h * 0.45,
                x + h * 0.11,
                y,
                [45.0, 45.0, 60.0],
                1.0,
            );
            c.rect(
                x - h * 0.15,
                y - h * 0.8,
                x + h * 0.15,
                y - h * 0.42,
                self.colour,
                1.0,
            );
            c.ellipse(x, y - h * 0.9, h * 0.11, h * 0.11, [215.0, 175.0, 145.0]);
        }
    }
}

/// The recording conditions a frame folder holds.
const CONDITIONS: [&str; 6] = ["day", "night", "rain-fog", "blur", "lowq", "empty"];

/// `(bursts, shortest, longest)` frames per burst for a condition, per camera.
fn burst_plan(condition: &str) -> (usize, i32, i32) {
    match condition {
        "day" => (8, 3, 5),
        "empty" => (3, 2, 3),
        _ => (3, 3, 4),
    }
}

/// Renders one frame of `scene` with `targets` under `condition`; returns the
/// JPEG quality to save it at beside the picture.
fn render(
    scene: &Scene,
    targets: &[Target],
    condition: &str,
    sun: f32,
    rng: &mut Rng,
) -> (Canvas, u8) {
    let night = condition == "night";
    let mut c = Canvas::new();
    // The same window pattern in every frame of a burst: reseed from the sun.
    let mut windows = Rng(sun.to_bits() as u64);
    scene.paint(&mut c, sun, if night { 0.35 } else { 0.0 }, &mut windows);
    if condition != "empty" {
        let mut sorted: Vec<&Target> = targets.iter().collect();
        sorted.sort_by(|a, b| a.y.total_cmp(&b.y));
        for t in sorted {
            t.paint(&mut c, scene, night);
        }
    }
    if !night {
        // Cloud shadows drifting over the scene: the same through a burst,
        // elsewhere in the next one, so even empty frames differ over a day.
        for _ in 0..windows.int(1, 3) {
            let (cx, cy) = (
                windows.range(0.0, W as f32),
                windows.range(scene.horizon - 20.0, H as f32),
            );
            let (rx, ry, dark) = (
                windows.range(20.0, 45.0),
                windows.range(10.0, 25.0),
                windows.range(0.45, 0.65),
            );
            c.map(|x, y, p| {
                let d = ((x as f32 - cx) / rx).powi(2) + ((y as f32 - cy) / ry).powi(2);
                let k = 1.0 - (1.0 - dark) * (1.0 - ((d - 0.8) / 0.4).clamp(0.0, 1.0));
                p.map(|v| v * k)
            });
        }
    }
    let mut quality = QUALITY;
    match condition {
        "night" => {
            // Gamma-crushed, blue tint; bright lights survive, shadows sink.
            c.map(|_, _, p| {
                let k = [0.8, 0.9, 1.25];
                std::array::from_fn(|i| 255.0 * (p[i] / 255.0).powf(2.6) * k[i] * 0.55 + 4.0)
            });
            c.noise(rng, 6.0);
        }
        "rain-fog" => {
            // Haze thickening towards the horizon, then falling streaks.
            let hz = scene.horizon;
            c.map(|_, y, p| {
                let fog = 0.75 - 0.35 * ((y as f32 - hz).max(0.0) / (H as f32 - hz));
                p.map(|v| v + (175.0 - v) * fog)
            });
            for _ in 0..60 {
                let (x, y, len) = (
                    rng.range(0.0, W as f32),
                    rng.range(0.0, H as f32),
                    rng.range(4.0, 9.0),
                );
                for k in 0..len as usize {
                    let (px, py) = (x + k as f32 * 0.4, y + k as f32);
                    if px < W as f32 && py < H as f32 {
                        let p = &mut c.0[py as usize * W + px as usize];
                        *p = p.map(|v| v + (225.0 - v) * 0.4);
                    }
                }
            }
            c.noise(rng, 3.0);
        }
        "blur" => {
            // Motion blur (horizontal) or defocus (both axes), fixed per burst.
            if sun < 0.0 {
                c.blur(5, 0)
            } else {
                c.blur(2, 2)
            }
            c.noise(rng, 2.0);
        }
        "lowq" => {
            c.noise(rng, 3.0);
            quality = 20 + (sun.abs() * 15.0) as u8;
        }
        _ => c.noise(rng, 3.0),
    }
    (c, quality)
}

/// Writes every camera's frames; returns how many.
fn write_frames(root: &Path, rng: &mut Rng) -> std::io::Result<usize> {
    let mut written = 0;
    for cam in ["camA", "camB", "camC", "camD"] {
        let scene = Scene::random(rng);
        // Frame numbers count a 2 fps clock; bursts are seconds to minutes apart.
        let mut clock = rng.int(0, 500) as u32;
        for condition in CONDITIONS {
            let (bursts, shortest, longest) = burst_plan(condition);
            for _ in 0..bursts {
                let sun = rng.range(-1.0, 1.0);
                let mut targets: Vec<Target> = (0..rng.int(2, 5))
                    .map(|_| Target::random(&scene, rng))
                    .collect();
                for _ in 0..rng.int(shortest, longest) {
                    let (canvas, q) = render(&scene, &targets, condition, sun, rng);
                    let path = root.join(format!("frames/{cam}/{condition}/{clock:06}.jpg"));
                    write(&path, &jpeg(&canvas.to_image(), q))?;
                    written += 1;
                    clock += 1;
                    targets.iter_mut().for_each(Target::step);
                }
                clock += rng.int(60, 900) as u32;
            }
        }
    }
    Ok(written)
}

/// Draws a background still of `theme`: strong textures, open sky or a wall.
fn background_still(theme: &str, rng: &mut Rng) -> Canvas {
    let mut c = Canvas::new();
    let (a, b) = (rng.colour([110.0; 3], 90.0), rng.colour([150.0; 3], 90.0));
    match theme {
        "texture" => {
            // Grilles, warning stripes or checkers, at a random scale and angle.
            let (period, kind) = (rng.range(6.0, 30.0), rng.int(0, 2));
            let (ux, uy) = (rng.range(-1.0, 1.0), rng.range(-1.0, 1.0));
            c.map(|x, y, _| {
                let (x, y) = (x as f32, y as f32);
                let on = match kind {
                    0 => ((x * ux + y * uy) / period).rem_euclid(2.0) < 1.0,
                    1 => (x / period).rem_euclid(1.0) < 0.25 || (y / period).rem_euclid(1.0) < 0.25,
                    _ => ((x / period) as i32 + (y / period) as i32) % 2 == 0,
                };
                if on { a } else { b }
            });
            // Uneven light across the surface.
            let (lx, ly) = (rng.range(0.0, W as f32), rng.range(0.0, H as f32));
            c.map(|x, y, p| {
                let d = ((x as f32 - lx).powi(2) + (y as f32 - ly).powi(2)).sqrt() / W as f32;
                p.map(|v| v * (1.1 - 0.5 * d))
            });
        }
        "sky" => {
            let (top, bottom) = (
                rng.colour([90.0, 135.0, 210.0], 35.0),
                rng.colour([200.0, 215.0, 235.0], 20.0),
            );
            c.map(|_, y, _| {
                let t = y as f32 / H as f32;
                std::array::from_fn(|i| top[i] + t * (bottom[i] - top[i]))
            });
            for _ in 0..rng.int(3, 9) {
                let (x, y, r) = (
                    rng.range(0.0, W as f32),
                    rng.range(0.0, H as f32),
                    rng.range(6.0, 22.0),
                );
                for k in 0..5 {
                    let dx = rng.range(-r, r);
                    c.ellipse(
                        x + dx,
                        y + k as f32 * 0.5,
                        r * 0.8,
                        r * 0.45,
                        [245.0, 245.0, 250.0],
                    );
                }
            }
        }
        _ => {
            // Brick wall: staggered courses with mortar lines.
            let (bw, bh) = (rng.range(12.0, 28.0), rng.range(6.0, 12.0));
            let brick = rng.colour([150.0, 80.0, 60.0], 40.0);
            c.map(|_, _, _| [200.0, 195.0, 185.0]);
            let mut row = 0;
            let mut y = -rng.range(0.0, bh);
            while y < H as f32 {
                let mut x = -(row % 2) as f32 * bw / 2.0;
                while x < W as f32 {
                    c.rect(
                        x + 1.0,
                        y + 1.0,
                        x + bw,
                        y + bh,
                        rng.colour(brick, 15.0),
                        1.0,
                    );
                    x += bw;
                }
                y += bh;
                row += 1;
            }
        }
    }
    c
}

/// Writes the stills, their copies and near duplicates; returns how many files.
fn write_stills(root: &Path, rng: &mut Rng) -> std::io::Result<usize> {
    let mut written = 0;
    for (theme, n) in [("texture", 8), ("sky", 6), ("wall", 6)] {
        for i in 0..n {
            let mut still = background_still(theme, rng);
            // The last two walls are clean PNG renders; the rest are noisy photos.
            let png = theme == "wall" && i >= n - 2;
            if !png {
                still.noise(rng, 2.0);
            }
            let img = still.to_image();
            let dir = root.join(format!("stills/background/{theme}"));
            if png {
                fs::create_dir_all(&dir)?;
                img.save(dir.join(format!("{theme}-{i:02}.png")))
                    .map_err(std::io::Error::other)?;
            } else {
                write(
                    &dir.join(format!("{theme}-{i:02}.jpg")),
                    &jpeg(&img, QUALITY),
                )?;
            }
            written += 1;
        }
    }
    // Positives: a fresh street view each, with several targets close by.
    let dir = root.join("stills/positive");
    let mut saved = Vec::new();
    for i in 0..10 {
        let scene = Scene::random(rng);
        let targets: Vec<Target> = (0..rng.int(3, 6))
            .map(|_| Target::random(&scene, rng))
            .collect();
        let (canvas, _) = render(&scene, &targets, "day", rng.range(-1.0, 1.0), rng);
        let (img, bytes) = (canvas.to_image(), jpeg(&canvas.to_image(), QUALITY));
        write(&dir.join(format!("street-{i:02}.jpg")), &bytes)?;
        saved.push((img, bytes));
        written += 1;
    }
    // Byte-exact copies, named the way file managers name them.
    for i in [1, 4, 7] {
        write(&dir.join(format!("street-{i:02} (1).jpg")), &saved[i].1)?;
        written += 1;
    }
    // Near duplicates: re-saved at quality 40, and cropped by 1% on each side.
    for i in [2, 5] {
        write(
            &dir.join(format!("street-{i:02}-q40.jpg")),
            &jpeg(&saved[i].0, 40),
        )?;
        written += 1;
    }
    let (dx, dy) = ((W / 100).max(1) as u32, (H / 100).max(1) as u32);
    let crop = image::imageops::crop_imm(&saved[8].0, dx, dy, W as u32 - 2 * dx, H as u32 - 2 * dy)
        .to_image();
    write(&dir.join("street-08-crop.jpg"), &jpeg(&crop, QUALITY))?;
    Ok(written + 1)
}

/// Writes files calibset must skip and report: empty, truncated, not an image.
fn write_hostile(root: &Path) -> std::io::Result<usize> {
    let dir = root.join("frames/camD/day");
    write(&dir.join("empty-file.jpg"), b"")?;
    let donor = fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .min()
        .expect("camD/day has frames");
    let bytes = fs::read(donor)?;
    write(&dir.join("truncated.jpg"), &bytes[..bytes.len() * 2 / 5])?;
    write(
        &dir.join("not-an-image.png"),
        b"This is a text file with a .png name.\n",
    )?;
    Ok(3)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut force = false;
    let mut dir: Option<PathBuf> = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--force" => force = true,
            "-h" | "--help" => {
                println!("usage: make_demo_pool [DIR] [--force]   (DIR defaults to examples/demo)");
                return Ok(());
            }
            _ if dir.is_none() && !arg.starts_with('-') => dir = Some(arg.into()),
            _ => return Err(format!("unexpected argument {arg:?} (try --help)").into()),
        }
    }
    let root = dir.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo"));
    let non_empty = fs::read_dir(&root).is_ok_and(|mut d| d.next().is_some());
    if non_empty {
        if !force {
            return Err(format!(
                "{} is not empty; pass --force to regenerate it",
                root.display()
            )
            .into());
        }
        for sub in ["frames", "stills"] {
            if root.join(sub).exists() {
                fs::remove_dir_all(root.join(sub))?;
            }
        }
    }
    let start = Instant::now();
    let mut rng = Rng(SEED);
    let frames = write_frames(&root, &mut rng)?;
    let stills = write_stills(&root, &mut rng)?;
    let hostile = write_hostile(&root)?;
    println!(
        "wrote {frames} frames, {stills} stills and {hostile} broken files to {} in {:.2?}",
        root.display(),
        start.elapsed()
    );
    Ok(())
}
