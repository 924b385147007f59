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
//! stills/positive/*.jpg        (with byte-exact copies and near duplicates)
//! frames/camD/day/{empty-file.jpg,truncated.jpg,not-an-image.png}   (broken)
//! ```
//!
//! Each camera has its own fixed scene (sky, buildings, a road with lane marks).
//! Frames come in bursts of 3–5: cars and people move 1–2 px per frame, so a
//! burst is one picture as far as de-duplication goes; between bursts the
//! targets and the cloud shadows are somewhere else entirely. Everything
//! derives from one fixed seed, so every run writes the same bytes.
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

use image::RgbImage;
use image::codecs::jpeg::JpegEncoder;

/// Frame width and height in pixels (small, to keep the committed pool tiny).
const W: usize = 160;
const H: usize = 120;
/// The seed everything derives from.
const SEED: u64 = 0xCA11_B5E7_0007;
/// JPEG quality of ordinary frames and stills.
const QUALITY: u8 = 80;
/// The recording conditions a camera's frames are filed under.
const CONDITIONS: [&str; 6] = ["day", "night", "rain-fog", "blur", "lowq", "empty"];

type Rgb = [f32; 3];

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
    fn int(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next_u64() % u64::from(hi - lo + 1)) as u32
    }
    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f32 {
        let (u, v) = (
            self.range(1e-6, 1.0),
            self.range(0.0, std::f32::consts::TAU),
        );
        (-2.0 * u.ln()).sqrt() * v.cos()
    }
    /// A colour around `base`, each channel within `±spread`.
    fn colour(&mut self, base: Rgb, spread: f32) -> Rgb {
        base.map(|c| (c + self.range(-spread, spread)).clamp(0.0, 255.0))
    }
}

/// A W×H RGB picture in floating point, 0–255 per channel.
struct Canvas(Vec<Rgb>);

impl Canvas {
    /// Applies `f(x, y, pixel)` to every pixel.
    fn map(&mut self, mut f: impl FnMut(f32, f32, Rgb) -> Rgb) {
        for (i, p) in self.0.iter_mut().enumerate() {
            *p = f((i % W) as f32 + 0.5, (i / W) as f32 + 0.5, *p);
        }
    }
    /// Applies `f` to the pixels inside the box `[x0, y0, x1, y1]` (clipped).
    fn region(&mut self, [x0, y0, x1, y1]: [f32; 4], mut f: impl FnMut(f32, f32, Rgb) -> Rgb) {
        let clip = |v: f32, max: usize| (v.round().max(0.0) as usize).min(max);
        for y in clip(y0, H)..clip(y1, H) {
            for x in clip(x0, W)..clip(x1, W) {
                self.0[y * W + x] = f(x as f32 + 0.5, y as f32 + 0.5, self.0[y * W + x]);
            }
        }
    }
    /// Blends `c` with weight `alpha` into the box `[x0, y0, x1, y1]`.
    fn rect(&mut self, area: [f32; 4], c: Rgb, alpha: f32) {
        self.region(area, |_, _, p| mix(p, c, alpha));
    }
    /// Fills the ellipse centred on `(cx, cy)` with radii `rx`, `ry`.
    fn ellipse(&mut self, [cx, cy, rx, ry]: [f32; 4], c: Rgb) {
        let inside = |x: f32, y: f32| ((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2) <= 1.0;
        self.region([cx - rx, cy - ry, cx + rx, cy + ry], |x, y, p| {
            if inside(x, y) { c } else { p }
        });
    }
    /// Adds Gaussian sensor noise of standard deviation `sigma`.
    fn noise(&mut self, rng: &mut Rng, sigma: f32) {
        self.map(|_, _, p| p.map(|c| c + sigma * rng.normal()));
    }
    /// Box blur of radius `rx` along rows, then `ry` along columns.
    fn blur(&mut self, rx: usize, ry: usize) {
        for (r, step, len, lines, next) in [(rx, 1, W, H, W), (ry, W, H, W, 1)] {
            let src = self.0.clone();
            for (start, i) in (0..lines).flat_map(|l| (0..len).map(move |i| (l * next, i))) {
                let (lo, hi) = (i.saturating_sub(r), (i + r).min(len - 1));
                let sum = (lo..=hi).fold([0.0; 3], |s, j| {
                    let q = src[start + j * step];
                    [s[0] + q[0], s[1] + q[1], s[2] + q[2]]
                });
                self.0[start + i * step] = sum.map(|s| s / (hi - lo + 1) as f32);
            }
        }
    }
    fn to_image(&self) -> RgbImage {
        let raw = self
            .0
            .iter()
            .flat_map(|p| p.map(|c| c.clamp(0.0, 255.0).round() as u8));
        RgbImage::from_raw(W as u32, H as u32, raw.collect()).expect("W×H×3 bytes")
    }
}

/// `a` moved towards `b` by `t` (0–1).
fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [0, 1, 2].map(|i| a[i] + (b[i] - a[i]) * t)
}

/// Encodes `img` as a JPEG of the given quality.
fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, quality);
    encoder
        .encode_image(img)
        .expect("encoding to memory cannot fail");
    out
}

/// Writes `bytes` to `path`, creating its folder.
fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    fs::create_dir_all(path.parent().expect("file paths have a parent"))?;
    fs::write(path, bytes)
}

/// One camera's fixed view: sky, a skyline of buildings, ground and a road.
struct Scene {
    horizon: f32,
    sky: [Rgb; 2],
    ground: Rgb,
    road: Rgb,
    /// Road centre at the horizon (vanishing point) and at the bottom edge,
    /// and its half width at the bottom edge.
    road_x: [f32; 2],
    road_half: f32,
    /// Building boxes with wall and window colours.
    buildings: Vec<([f32; 4], Rgb, Rgb)>,
}

impl Scene {
    fn random(rng: &mut Rng) -> Scene {
        let horizon = rng.range(38.0, 60.0);
        let mut buildings = Vec::new();
        let mut x = rng.range(-10.0, 5.0);
        while x < W as f32 {
            let (w, grey) = (rng.range(14.0, 34.0), rng.range(70.0, 170.0));
            let top = horizon - rng.range(8.0, horizon - 6.0);
            let wall = rng.colour([grey, grey * 0.95, grey * 0.9], 25.0);
            buildings.push((
                [x, top, x + w, horizon],
                wall,
                rng.colour([60.0, 75.0, 95.0], 20.0),
            ));
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
            road_x: [rng.range(50.0, 110.0), rng.range(55.0, 105.0)],
            road_half: rng.range(45.0, 75.0),
            buildings,
        }
    }

    /// Depth of row `y`: 0 at the horizon, 1 at the bottom edge.
    fn depth(&self, y: f32) -> f32 {
        ((y - self.horizon) / (H as f32 - self.horizon)).clamp(0.0, 1.0)
    }

    /// Road centre and half width at row `y`.
    fn road_at(&self, y: f32) -> (f32, f32) {
        let t = self.depth(y);
        let [far, near] = self.road_x;
        (far + t * (near - far), 1.0 + t * self.road_half)
    }

    /// Paints the scene; `lit` is the share of windows lit (at night), drawn from `rng`.
    fn paint(&self, c: &mut Canvas, lit: f32, rng: &mut Rng) {
        c.map(|x, y, _| {
            let t = self.depth(y);
            let (cx, half) = self.road_at(y);
            let (dx, line) = ((x - cx).abs(), 0.6 + 1.5 * t);
            // Lane marks: a dashed centre line and solid edge lines.
            let dash = (6.0 / (t + 0.05)) as i32 % 2 == 0;
            if y < self.horizon {
                mix(self.sky[0], self.sky[1], y / self.horizon)
            } else if dx >= half {
                self.ground.map(|g| g * (0.85 + 0.15 * t))
            } else if (dx < line && dash) || half - dx < line {
                [225.0, 225.0, 210.0]
            } else {
                self.road
            }
        });
        for &([x0, y0, x1, y1], wall, window) in &self.buildings {
            c.rect([x0, y0, x1, y1], wall, 1.0);
            for wy in (0..)
                .map(|k| y0 + 3.0 + 6.0 * k as f32)
                .take_while(|wy| wy + 3.0 < y1)
            {
                for wx in (0..)
                    .map(|k| x0 + 2.0 + 6.0 * k as f32)
                    .take_while(|wx| wx + 3.0 < x1)
                {
                    let glow = if rng.range(0.0, 1.0) < lit {
                        [255.0, 215.0, 130.0]
                    } else {
                        window
                    };
                    c.rect([wx, wy, wx + 3.0, wy + 3.0], glow, 1.0);
                }
            }
        }
    }
}

/// A car (on the road) or a person (beside it) standing at `(x, y)`, moving by
/// `(vx, vy)` pixels per frame.
struct Target {
    car: bool,
    at: [f32; 2],
    speed: [f32; 2],
    colour: Rgb,
}

impl Target {
    fn random(scene: &Scene, rng: &mut Rng) -> Target {
        let car = rng.range(0.0, 1.0) < 0.6;
        let y = rng.range(scene.horizon + 8.0, H as f32 + 4.0);
        let (cx, half) = scene.road_at(y);
        let x = match car {
            true => cx + rng.range(-0.7, 0.7) * half,
            false => cx + (half + rng.range(3.0, 25.0)) * rng.range(-1.0, 1.0).signum(),
        };
        Target {
            car,
            at: [x, y],
            speed: [
                rng.range(1.0, 2.0) * rng.range(-1.0, 1.0).signum(),
                rng.range(-0.5, 0.5),
            ],
            colour: rng.colour(
                if car {
                    [140.0, 120.0, 120.0]
                } else {
                    [120.0, 90.0, 80.0]
                },
                100.0,
            ),
        }
    }

    /// Paints the target, scaled by its depth; at `night` its headlights are on.
    fn paint(&self, c: &mut Canvas, scene: &Scene, night: bool) {
        let [x, y] = self.at;
        let s = 0.25 + scene.depth(y);
        // Parts as boxes relative to the foot point, in units of the target's size.
        let part = |c: &mut Canvas, k: f32, [a, b, d, e]: [f32; 4], colour: Rgb, alpha: f32| {
            c.rect([x + a * k, y + b * k, x + d * k, y + e * k], colour, alpha)
        };
        if self.car {
            let w = 40.0 * s;
            part(c, w, [-0.55, -0.05, 0.55, 0.05], [15.0; 3], 0.5);
            part(c, w, [-0.5, -0.3, 0.5, 0.0], self.colour, 1.0);
            part(
                c,
                w,
                [-0.3, -0.5, 0.3, -0.27],
                self.colour.map(|v| v * 0.8),
                1.0,
            );
            part(c, w, [-0.25, -0.46, 0.25, -0.31], [40.0, 55.0, 70.0], 1.0);
            for side in [-1.0, 1.0] {
                c.ellipse([x + side * w * 0.32, y, 4.0 * s, 4.0 * s], [20.0; 3]);
                if night {
                    let lamp = [x + side * w * 0.4, y - w * 0.18, 3.0 * s, 2.0 * s];
                    c.ellipse(lamp, [255.0, 250.0, 220.0]);
                }
            }
        } else {
            let h = 34.0 * s;
            c.ellipse([x, y, h * 0.2, h * 0.05], [25.0; 3]);
            part(c, h, [-0.11, -0.45, 0.11, 0.0], [45.0, 45.0, 60.0], 1.0);
            part(c, h, [-0.15, -0.8, 0.15, -0.42], self.colour, 1.0);
            c.ellipse([x, y - h * 0.9, h * 0.11, h * 0.11], [215.0, 175.0, 145.0]);
        }
    }
}

/// `(bursts, shortest, longest)`: per camera, how many bursts of how many
/// frames each condition gets.
fn burst_plan(condition: &str) -> (u32, u32, u32) {
    match condition {
        "day" => (8, 3, 5),
        "empty" => (3, 2, 3),
        _ => (3, 3, 4),
    }
}

/// Renders one frame under `condition` and returns it with the JPEG quality to
/// save it at. `look` seeds what stays fixed through a burst (lit windows, cloud
/// shadows, blur kind); `rng` draws what changes every frame (noise, rain).
fn render(scene: &Scene, targets: &[Target], cond: &str, look: u64, rng: &mut Rng) -> (Canvas, u8) {
    let (night, mut fixed, mut c) = (cond == "night", Rng(look), Canvas(vec![[0.0; 3]; W * H]));
    scene.paint(&mut c, if night { 0.35 } else { 0.0 }, &mut fixed);
    if cond != "empty" {
        let mut order: Vec<&Target> = targets.iter().collect();
        order.sort_by(|a, b| a.at[1].total_cmp(&b.at[1]));
        order.iter().for_each(|t| t.paint(&mut c, scene, night));
    }
    // Cloud shadows: fixed through a burst, elsewhere in the next, so that even
    // empty frames of one camera differ over a day.
    for _ in 0..if night { 0 } else { fixed.int(1, 3) } {
        let [cx, rx] = [fixed.range(0.0, W as f32), fixed.range(20.0, 45.0)];
        let [cy, ry] = [
            fixed.range(scene.horizon - 20.0, H as f32),
            fixed.range(10.0, 25.0),
        ];
        let shade = fixed.range(0.35, 0.55);
        c.map(|x, y, p| {
            let d = ((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2);
            p.map(|v| v * (1.0 - shade * (1.0 - ((d - 0.8) / 0.4).clamp(0.0, 1.0))))
        });
    }
    let mut quality = QUALITY;
    let sigma = match cond {
        "night" => {
            // Gamma-crushed with a blue tint: lights survive, shadows sink.
            let tint = [0.44, 0.5, 0.69];
            c.map(|_, _, p| [0, 1, 2].map(|i| 255.0 * (p[i] / 255.0).powf(2.6) * tint[i] + 4.0));
            6.0
        }
        "rain-fog" => {
            // Haze thickening towards the horizon, then falling streaks.
            c.map(|_, y, p| mix(p, [175.0; 3], 0.75 - 0.35 * scene.depth(y)));
            for _ in 0..60 {
                let (x, y) = (rng.range(0.0, W as f32), rng.range(0.0, H as f32));
                for k in 0..rng.int(4, 9) {
                    let (px, py) = ((x + k as f32 * 0.4) as usize, (y + k as f32) as usize);
                    if px < W && py < H {
                        c.0[py * W + px] = mix(c.0[py * W + px], [225.0; 3], 0.4);
                    }
                }
            }
            3.0
        }
        "blur" => {
            // Motion blur (along rows) or defocus (both ways).
            let (rx, ry) = if fixed.next_u64() % 2 == 0 {
                (5, 0)
            } else {
                (2, 2)
            };
            c.blur(rx, ry);
            2.0
        }
        "lowq" => {
            quality = fixed.int(20, 35) as u8;
            3.0
        }
        _ => 3.0,
    };
    c.noise(rng, sigma);
    (c, quality)
}

/// Writes every camera's frames; returns how many.
fn write_frames(root: &Path, rng: &mut Rng) -> std::io::Result<usize> {
    let mut written = 0;
    for cam in ["camA", "camB", "camC", "camD"] {
        let scene = Scene::random(rng);
        // Frame numbers count a 2 fps clock; bursts are seconds to minutes apart.
        let mut clock = rng.int(0, 500);
        for condition in CONDITIONS {
            let (bursts, shortest, longest) = burst_plan(condition);
            for _ in 0..bursts {
                let look = rng.next_u64();
                let mut targets: Vec<Target> = (0..rng.int(3, 6))
                    .map(|_| Target::random(&scene, rng))
                    .collect();
                for _ in 0..rng.int(shortest, longest) {
                    let (canvas, q) = render(&scene, &targets, condition, look, rng);
                    let path = root.join(format!("frames/{cam}/{condition}/{clock:06}.jpg"));
                    write(&path, &jpeg(&canvas.to_image(), q))?;
                    (written, clock) = (written + 1, clock + 1);
                    for t in &mut targets {
                        t.at = [t.at[0] + t.speed[0], t.at[1] + t.speed[1]];
                    }
                }
                clock += rng.int(60, 900);
            }
        }
    }
    Ok(written)
}

/// Draws a background still of `theme`: a strong texture, open sky or a wall.
fn background_still(theme: &str, rng: &mut Rng) -> Canvas {
    let mut c = Canvas(vec![[0.0; 3]; W * H]);
    let (a, b) = (rng.colour([110.0; 3], 90.0), rng.colour([150.0; 3], 90.0));
    let (period, kind) = (rng.range(6.0, 30.0), rng.int(0, 2));
    let (ux, uy) = (rng.range(-1.0, 1.0), rng.range(-1.0, 1.0));
    let (lx, ly) = (rng.range(0.0, W as f32), rng.range(0.0, H as f32));
    match theme {
        // Stripes, grilles or checkers at a random scale and angle, unevenly lit.
        "texture" => c.map(|x, y, _| {
            let (u, v) = (x / period, y / period);
            let on = match kind {
                0 => ((x * ux + y * uy) / period).rem_euclid(2.0) < 1.0,
                1 => u.fract() < 0.25 || v.fract() < 0.25,
                _ => (u as i32 + v as i32) % 2 == 0,
            };
            let light = 1.1 - 0.5 * ((x - lx).hypot(y - ly) / W as f32);
            (if on { a } else { b }).map(|v| v * light)
        }),
        // A gradient with a few clouds made of overlapping puffs.
        "sky" => {
            let top = rng.colour([90.0, 135.0, 210.0], 35.0);
            let bottom = rng.colour([200.0, 215.0, 235.0], 20.0);
            c.map(|_, y, _| mix(top, bottom, y / H as f32));
            for _ in 0..rng.int(3, 9) {
                let (x, y, r) = (rng.range(0.0, W as f32), rng.range(0.0, H as f32), period);
                for k in 0..5 {
                    let puff = [x + rng.range(-r, r), y + k as f32 * 0.5, r * 0.8, r * 0.45];
                    c.ellipse(puff, [245.0, 245.0, 250.0]);
                }
            }
        }
        // Bricks in staggered courses on mortar, each brick its own shade.
        _ => {
            let (bw, bh) = (period + 6.0, period / 3.0 + 4.0);
            let brick = rng.colour([150.0, 80.0, 60.0], 40.0);
            c.map(|x, y, _| {
                let row = (y / bh).floor();
                let u = x / bw + 0.5 * (row % 2.0);
                if y % bh < 1.0 || u.fract() * bw < 1.0 {
                    return [200.0, 195.0, 185.0];
                }
                let shade =
                    Rng((row as u64) << 32 ^ u.floor() as u64 ^ kind as u64).range(0.8, 1.2);
                brick.map(|v| v * shade)
            });
        }
    }
    c
}

/// Saves `img` as `dir/name`, in the format the extension names.
fn save(dir: &Path, name: &str, img: &RgbImage, quality: u8) -> std::io::Result<()> {
    match name.ends_with(".png") {
        true => img.save(dir.join(name)).map_err(std::io::Error::other),
        false => write(&dir.join(name), &jpeg(img, quality)),
    }
}

/// Writes the stills, their copies and near duplicates; returns how many files.
fn write_stills(root: &Path, rng: &mut Rng) -> std::io::Result<usize> {
    for (theme, n) in [("texture", 8), ("sky", 6), ("wall", 6)] {
        let dir = root.join(format!("stills/background/{theme}"));
        fs::create_dir_all(&dir)?;
        for i in 0..n {
            let mut still = background_still(theme, rng);
            // The last two walls are clean PNG renders; the rest are noisy photos.
            let ext = if theme == "wall" && i >= n - 2 {
                "png"
            } else {
                "jpg"
            };
            if ext == "jpg" {
                still.noise(rng, 2.0);
            }
            save(
                &dir,
                &format!("{theme}-{i:02}.{ext}"),
                &still.to_image(),
                QUALITY,
            )?;
        }
    }
    // Positives: a fresh street view each, with several targets.
    let dir = root.join("stills/positive");
    fs::create_dir_all(&dir)?;
    let mut shots = Vec::new();
    for i in 0..10 {
        let scene = Scene::random(rng);
        let targets: Vec<_> = (0..rng.int(3, 6))
            .map(|_| Target::random(&scene, rng))
            .collect();
        let look = rng.next_u64();
        shots.push(render(&scene, &targets, "day", look, rng).0.to_image());
        save(&dir, &format!("street-{i:02}.jpg"), &shots[i], QUALITY)?;
    }
    // Byte-exact copies, named the way file managers name them.
    for i in [1, 4, 7] {
        fs::copy(
            dir.join(format!("street-{i:02}.jpg")),
            dir.join(format!("street-{i:02} (1).jpg")),
        )?;
    }
    // Near duplicates: two re-saved at quality 40, one cropped by 1% on each side.
    for i in [2, 5] {
        save(&dir, &format!("street-{i:02}-q40.jpg"), &shots[i], 40)?;
    }
    let (dx, dy) = ((W / 100).max(1) as u32, (H / 100).max(1) as u32);
    let crop = image::imageops::crop_imm(&shots[8], dx, dy, W as u32 - 2 * dx, H as u32 - 2 * dy);
    save(&dir, "street-08-crop.jpg", &crop.to_image(), QUALITY)?;
    Ok(20 + shots.len() + 6)
}

/// Writes files calibset must skip and report: empty, truncated, not an image.
fn write_broken(root: &Path) -> std::io::Result<usize> {
    let dir = root.join("frames/camD/day");
    let first = fs::read_dir(&dir)?
        .filter_map(|e| Some(e.ok()?.path()))
        .min();
    let bytes = fs::read(first.expect("camD/day has frames"))?;
    write(&dir.join("truncated.jpg"), &bytes[..bytes.len() * 2 / 5])?;
    write(&dir.join("empty-file.jpg"), b"")?;
    write(
        &dir.join("not-an-image.png"),
        b"A text file with a .png name.\n",
    )?;
    Ok(3)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let force = args.iter().any(|a| a == "--force");
    let dirs: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    if dirs.len() > 1 || args.iter().any(|a| a.starts_with('-') && a != "--force") {
        return Err(
            "usage: make_demo_pool [DIR] [--force]   (DIR defaults to examples/demo)".into(),
        );
    }
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo");
    let root = dirs.first().map_or(default, PathBuf::from);
    if fs::read_dir(&root).is_ok_and(|mut d| d.next().is_some()) {
        if !force {
            let shown = root.display();
            return Err(format!("{shown} is not empty; pass --force to regenerate it").into());
        }
        for sub in [root.join("frames"), root.join("stills")] {
            if sub.exists() {
                fs::remove_dir_all(sub)?;
            }
        }
    }
    let (start, mut rng) = (Instant::now(), Rng(SEED));
    let frames = write_frames(&root, &mut rng)?;
    let stills = write_stills(&root, &mut rng)?;
    let broken = write_broken(&root)?;
    let (took, shown) = (start.elapsed(), root.display());
    println!(
        "wrote {frames} frames, {stills} stills and {broken} broken files to {shown} in {took:.2?}"
    );
    Ok(())
}
