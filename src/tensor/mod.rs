//! The model's preprocessing, declared in the recipe (`[tensor]`), applied to
//! the chosen images for the quantizer: resize (stretch, letterbox or
//! shorter-side and centre crop), channel order, scale, mean and std, layout
//! and dtype.
//!
//! One image goes through [`Spec::apply`]: decoded at full resolution with its
//! EXIF orientation ([`crate::decode`]), resampled with the recipe's
//! [`Filter`] (each one a library's 8-bit arithmetic reproduced: OpenCV's
//! `cv2.resize` or Pillow's `Image.resize`, see [`resize`]), placed on the
//! `size` canvas, then turned into values: `(v × scale − mean[c]) / std[c]`
//! for float dtypes (computed in `f32`), `v` for `uint8`, `v − 128` for
//! `int8`, where `v` is the resampled 8-bit pixel. Rounding follows Python
//! (half to even) where Ultralytics and torchvision round, so the geometry
//! matches theirs pixel for pixel.

mod npy;
mod resize;
mod source;

use serde::{Deserialize, Serialize};

pub(crate) use npy::header as npy_header;
pub(crate) use source::{Source, preprocess};

/// How the image is brought to the model's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fit {
    /// Resize to the size, ignoring the aspect ratio.
    Stretch,
    /// Keep the aspect ratio, fit inside, pad the rest (Ultralytics).
    Letterbox,
    /// Keep the aspect ratio, cover the size, crop the centre (torchvision
    /// `Resize` + `CenterCrop`).
    Crop,
}

/// Where a letterboxed image sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PadPosition {
    /// Centred, padding split between both sides (Ultralytics).
    Center,
    /// At the top left, padding on the right and bottom.
    TopLeft,
}

/// The resampling filter: which library's resize the tensors reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Filter {
    /// `cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)`: half-pixel
    /// bilinear from the 2×2 neighbours, not antialiased when shrinking
    /// (Ultralytics' `LetterBox`, `cv2.dnn.blobFromImage`, `cv::resize`'s default).
    Linear,
    /// `cv2.resize(img, size, interpolation=cv2.INTER_AREA)`: the mean of the
    /// covered pixels when shrinking.
    Area,
    /// `PIL.Image.resize(size, Image.BILINEAR)`: the triangle filter widened
    /// by the shrink factor (antialiased), as torchvision's
    /// `Resize(antialias=True)`.
    BilinearAa,
    /// `cv2.resize(img, size, interpolation=cv2.INTER_NEAREST)`.
    Nearest,
    /// `cv2.resize(img, size, interpolation=cv2.INTER_CUBIC)` (OpenCV's own
    /// code; opencv-python's IPP build is within a level of it).
    Cubic,
}

impl Filter {
    /// Every filter.
    pub const ALL: [Filter; 5] = [
        Filter::Linear,
        Filter::Area,
        Filter::BilinearAa,
        Filter::Nearest,
        Filter::Cubic,
    ];

    /// The default for a resize mode, from what its ecosystem does: OpenCV
    /// `INTER_LINEAR` for stretch and letterbox (Ultralytics), the
    /// antialiased bilinear for crop (torchvision `Resize` + `CenterCrop`).
    pub fn default_for(fit: Fit) -> Filter {
        match fit {
            Fit::Stretch | Fit::Letterbox => Filter::Linear,
            Fit::Crop => Filter::BilinearAa,
        }
    }

    /// The recipe's name (`linear`, `area`, `bilinear-aa`, `nearest`, `cubic`).
    pub fn as_str(self) -> &'static str {
        match self {
            Filter::Linear => "linear",
            Filter::Area => "area",
            Filter::BilinearAa => "bilinear-aa",
            Filter::Nearest => "nearest",
            Filter::Cubic => "cubic",
        }
    }

    /// The library call it reproduces, for reports.
    pub fn library_call(self) -> &'static str {
        match self {
            Filter::Linear => "cv2.INTER_LINEAR",
            Filter::Area => "cv2.INTER_AREA",
            Filter::BilinearAa => "PIL BILINEAR",
            Filter::Nearest => "cv2.INTER_NEAREST",
            Filter::Cubic => "cv2.INTER_CUBIC",
        }
    }
}

/// Output channel order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channels {
    /// Red, green, blue.
    Rgb,
    /// Blue, green, red (OpenCV, Caffe models).
    Bgr,
}

/// Axis order of one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TensorLayout {
    /// Channels, height, width (ONNX Runtime, TensorRT).
    Nchw,
    /// Height, width, channels (TFLite, Hailo, SNPE).
    Nhwc,
}

/// Element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// IEEE 754 single precision.
    Float32,
    /// IEEE 754 half precision.
    Float16,
    /// The 8-bit pixel value.
    Uint8,
    /// The 8-bit pixel value minus 128.
    Int8,
}

impl Dtype {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::Float32 => 4,
            Dtype::Float16 => 2,
            Dtype::Uint8 | Dtype::Int8 => 1,
        }
    }

    /// The NumPy type string (`<f4`, `<f2`, `|u1`, `|i1`).
    pub fn numpy(self) -> &'static str {
        match self {
            Dtype::Float32 => "<f4",
            Dtype::Float16 => "<f2",
            Dtype::Uint8 => "|u1",
            Dtype::Int8 => "|i1",
        }
    }

    /// Whether values are floats (and scale, mean and std apply).
    pub fn is_float(self) -> bool {
        matches!(self, Dtype::Float32 | Dtype::Float16)
    }
}

/// `[tensor]`: the model's input and its preprocessing. Every field's default
/// is the recipe reference's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    /// `size`: the model input's `[width, height]` in pixels.
    pub size: [u32; 2],
    /// `resize`: stretch, letterbox or crop. Default letterbox.
    pub resize: Fit,
    /// `filter`: the resampling filter. Default [`Filter::default_for`] the
    /// resize mode (`linear` for stretch and letterbox, `bilinear-aa` for crop).
    pub filter: Filter,
    /// `pad`: the letterbox padding value, 0–255. Default 114 (Ultralytics).
    pub pad: u8,
    /// `pad_position`: centre or top-left. Default centre.
    pub pad_position: PadPosition,
    /// `channels`: rgb or bgr. Default rgb.
    pub channels: Channels,
    /// `scale`: multiplies the 8-bit value (float dtypes). Default 1/255.
    /// (Kept as written; the arithmetic is in `f32`.)
    pub scale: f64,
    /// `mean`: subtracted after scaling, per output channel. Default 0.
    pub mean: [f64; 3],
    /// `std`: divides after the mean, per output channel. Default 1.
    pub std: [f64; 3],
    /// `layout`: nchw or nhwc. Default nchw.
    pub layout: TensorLayout,
    /// `dtype`: float32, float16, uint8 or int8. Default float32.
    pub dtype: Dtype,
    /// `input`: the model input's name (npz key, SNPE input list, ONNX Runtime
    /// reader). Default none (`images` where a name is needed).
    pub input: Option<String>,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            size: [640, 640],
            resize: Fit::Letterbox,
            filter: Filter::Linear,
            pad: 114,
            pad_position: PadPosition::Center,
            channels: Channels::Rgb,
            scale: 1.0 / 255.0,
            mean: [0.0; 3],
            std: [1.0; 3],
            layout: TensorLayout::Nchw,
            dtype: Dtype::Float32,
            input: None,
        }
    }
}

/// The input name used where one is needed and the recipe gives none.
pub(crate) const DEFAULT_INPUT: &str = "images";

impl Spec {
    /// The input name: the recipe's, else [`DEFAULT_INPUT`].
    pub fn input_name(&self) -> &str {
        self.input.as_deref().unwrap_or(DEFAULT_INPUT)
    }

    /// The effective preprocessing in one line, to hold against deployment
    /// code: size, resize mode (and letterbox padding), filter with the
    /// library call it reproduces, channel order, layout, dtype, scale, mean,
    /// std and input name.
    pub fn describe(&self) -> String {
        let pad = match self.resize {
            Fit::Letterbox => format!(" (pad {} {})", self.pad, name(&self.pad_position)),
            Fit::Stretch | Fit::Crop => String::new(),
        };
        format!(
            "{}×{} {}{pad} filter {} ({}), {} {} {}, scale {} mean {:?} std {:?}, input {}",
            self.size[0],
            self.size[1],
            name(&self.resize),
            self.filter.as_str(),
            self.filter.library_call(),
            name(&self.channels),
            name(&self.layout),
            name(&self.dtype),
            self.scale,
            self.mean,
            self.std,
            self.input_name()
        )
    }

    /// The shape of one image: `[3, H, W]` or `[H, W, 3]`.
    pub fn shape(&self) -> [usize; 3] {
        let [w, h] = self.size.map(|v| v as usize);
        match self.layout {
            TensorLayout::Nchw => [3, h, w],
            TensorLayout::Nhwc => [h, w, 3],
        }
    }

    /// Bytes of one image's tensor.
    pub fn image_bytes(&self) -> usize {
        self.shape().iter().product::<usize>() * self.dtype.size()
    }

    /// One image's tensor, little-endian, from its upright 8-bit RGB pixels
    /// (`w × h`, interleaved).
    pub fn apply(&self, rgb: &[u8], w: usize, h: usize) -> Vec<u8> {
        let canvas = self.place(rgb, w, h);
        self.values(&canvas)
    }

    /// The `size` canvas of 8-bit RGB: the image resized and placed as `resize`
    /// says.
    pub fn place(&self, rgb: &[u8], w: usize, h: usize) -> Vec<u8> {
        let [tw, th] = self.size.map(|v| v as usize);
        match self.resize {
            Fit::Stretch => resize::rgb(rgb, w, h, tw, th, self.filter),
            Fit::Letterbox => {
                let r = (tw as f64 / w as f64).min(th as f64 / h as f64);
                let nw = ((w as f64 * r).round_ties_even() as usize).clamp(1, tw);
                let nh = ((h as f64 * r).round_ties_even() as usize).clamp(1, th);
                let inner = resize::rgb(rgb, w, h, nw, nh, self.filter);
                let (left, top) = match self.pad_position {
                    PadPosition::TopLeft => (0, 0),
                    PadPosition::Center => {
                        let dw = (tw - nw) as f64 / 2.0;
                        let dh = (th - nh) as f64 / 2.0;
                        let l = (dw - 0.1).round_ties_even().max(0.0) as usize;
                        let t = (dh - 0.1).round_ties_even().max(0.0) as usize;
                        (l.min(tw - nw), t.min(th - nh))
                    }
                };
                let mut canvas = vec![self.pad; tw * th * 3];
                for y in 0..nh {
                    let dst = ((top + y) * tw + left) * 3;
                    canvas[dst..dst + nw * 3].copy_from_slice(&inner[y * nw * 3..(y + 1) * nw * 3]);
                }
                canvas
            }
            Fit::Crop => {
                let (nw, nh, left, top) = cover(w, h, tw, th);
                // Only the crop is resampled: the covering size of a thin
                // image can be gigapixels.
                resize::window(rgb, (w, h), (nw, nh), (left, top, tw, th), self.filter)
            }
        }
    }

    /// The canvas (`size`, 8-bit RGB) as tensor bytes.
    fn values(&self, canvas: &[u8]) -> Vec<u8> {
        let [tw, th] = self.size.map(|v| v as usize);
        let order: [usize; 3] = match self.channels {
            Channels::Rgb => [0, 1, 2],
            Channels::Bgr => [2, 1, 0],
        };
        // Every possible 8-bit value per output channel, once.
        let table: Vec<[u8; 4]> = (0..3)
            .flat_map(|c| (0..=255u8).map(move |v| (c, v)))
            .map(|(c, v)| self.value(c, v))
            .collect();
        let size = self.dtype.size();
        let mut out = Vec::with_capacity(tw * th * 3 * size);
        let mut push =
            |c: usize, v: u8| out.extend_from_slice(&table[c * 256 + usize::from(v)][..size]);
        match self.layout {
            TensorLayout::Nchw => {
                for (c, &src) in order.iter().enumerate() {
                    for px in canvas.chunks_exact(3) {
                        push(c, px[src]);
                    }
                }
            }
            TensorLayout::Nhwc => {
                for px in canvas.chunks_exact(3) {
                    for (c, &src) in order.iter().enumerate() {
                        push(c, px[src]);
                    }
                }
            }
        }
        out
    }

    /// The bytes of 8-bit value `v` in output channel `c` (first `dtype.size()`
    /// bytes used).
    fn value(&self, c: usize, v: u8) -> [u8; 4] {
        let mut bytes = [0u8; 4];
        match self.dtype {
            Dtype::Float32 => bytes = self.float(c, v).to_le_bytes(),
            Dtype::Float16 => {
                bytes[..2].copy_from_slice(&half::f16::from_f32(self.float(c, v)).to_le_bytes())
            }
            Dtype::Uint8 => bytes[0] = v,
            Dtype::Int8 => bytes[0] = (i16::from(v) - 128) as i8 as u8,
        }
        bytes
    }

    /// `(v × scale − mean[c]) / std[c]` in `f32`.
    fn float(&self, c: usize, v: u8) -> f32 {
        (f32::from(v) * self.scale as f32 - self.mean[c] as f32) / self.std[c] as f32
    }
}

/// The crop geometry for a `w × h` image and a `tw × th` input: the covering
/// size `nw × nh` and the kept window's top-left corner. torchvision's
/// `Resize(S)` + `CenterCrop(S)`: the side that limits gets its target
/// exactly, the other `int(target · other / side)` (truncated, the quotient in
/// `f64` as Python divides), and the window sits at
/// `round((n − t) / 2)` (half to even) on each axis.
fn cover(w: usize, h: usize, tw: usize, th: usize) -> (usize, usize, usize, usize) {
    let (nw, nh) = if (tw as u64) * (h as u64) >= (th as u64) * (w as u64) {
        (tw, (((tw * h) as f64 / w as f64) as usize).max(th))
    } else {
        ((((th * w) as f64 / h as f64) as usize).max(tw), th)
    };
    let left = ((nw - tw) as f64 / 2.0).round_ties_even() as usize;
    let top = ((nh - th) as f64 / 2.0).round_ties_even() as usize;
    (nw, nh, left, top)
}

/// The serde name of a unit enum value (`letterbox`, `top-left`), for
/// [`Spec::describe`].
fn name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(resize: Fit, size: [u32; 2]) -> Spec {
        Spec {
            size,
            resize,
            filter: Filter::default_for(resize),
            ..Spec::default()
        }
    }

    /// A `w × h` image of one colour.
    fn plain(w: usize, h: usize, rgb: [u8; 3]) -> Vec<u8> {
        rgb.repeat(w * h)
    }

    #[test]
    fn letterbox_centres_like_ultralytics() {
        // 1000 × 500 into 640 × 640: 640 × 320, padded 160 above and below.
        let s = spec(Fit::Letterbox, [640, 640]);
        let canvas = s.place(&plain(1000, 500, [200, 10, 10]), 1000, 500);
        let at = |x: usize, y: usize| &canvas[(y * 640 + x) * 3..(y * 640 + x) * 3 + 3];
        assert_eq!(at(0, 159), [114, 114, 114]);
        assert_eq!(at(0, 160), [200, 10, 10]);
        assert_eq!(at(639, 479), [200, 10, 10]);
        assert_eq!(at(0, 480), [114, 114, 114]);
        // An odd gap of 3: Python's round(1.4) = 1 above, round(1.6) = 2 below.
        let s = spec(Fit::Letterbox, [10, 13]);
        let canvas = s.place(&plain(10, 10, [0, 0, 0]), 10, 10);
        let row = |y: usize| canvas[y * 30];
        assert_eq!((row(0), row(1), row(10), row(11)), (114, 0, 0, 114));
        let s = Spec {
            pad_position: PadPosition::TopLeft,
            ..spec(Fit::Letterbox, [10, 13])
        };
        let canvas = s.place(&plain(10, 10, [0, 0, 0]), 10, 10);
        assert_eq!((canvas[0], canvas[9 * 30], canvas[10 * 30]), (0, 0, 114));
    }

    #[test]
    fn crop_takes_the_centre_of_the_covering_size() {
        // 500 × 1000 to 224 × 224: 224 × 448, rows 112..336 kept.
        let mut img = plain(500, 1000, [0, 0, 0]);
        for y in 250..750 {
            for x in 0..500 {
                img[(y * 500 + x) * 3] = 255;
            }
        }
        // Area averaging reads no pixel outside the kept rows' sources.
        let s = Spec {
            filter: Filter::Area,
            ..spec(Fit::Crop, [224, 224])
        };
        let canvas = s.place(&img, 500, 1000);
        assert_eq!(canvas.len(), 224 * 224 * 3);
        assert!(canvas.chunks_exact(3).all(|p| p[0] == 255));
        // The antialiased default widens the triangle past the band's edge
        // (support 500/224 source rows): the first and last rows blend in black.
        let canvas = spec(Fit::Crop, [224, 224]).place(&img, 500, 1000);
        assert!(canvas[..224 * 3].chunks_exact(3).all(|p| p[0] < 255));
        assert!(
            canvas[100 * 224 * 3..101 * 224 * 3]
                .chunks_exact(3)
                .all(|p| p[0] == 255)
        );
    }

    #[test]
    fn each_resize_mode_has_its_ecosystems_filter_by_default() {
        assert_eq!(Spec::default().filter, Filter::Linear);
        assert_eq!(Filter::default_for(Fit::Letterbox), Filter::Linear);
        assert_eq!(Filter::default_for(Fit::Stretch), Filter::Linear);
        assert_eq!(Filter::default_for(Fit::Crop), Filter::BilinearAa);
        let names: Vec<String> = Filter::ALL.iter().map(name).collect();
        let str_names: Vec<&str> = Filter::ALL.iter().map(|f| f.as_str()).collect();
        assert_eq!(names, str_names);
        assert_eq!(
            str_names,
            ["linear", "area", "bilinear-aa", "nearest", "cubic"]
        );
    }

    #[test]
    fn describe_is_one_line_with_every_setting() {
        let s = spec(Fit::Letterbox, [640, 480]);
        assert_eq!(
            s.describe(),
            "640×480 letterbox (pad 114 center) filter linear (cv2.INTER_LINEAR), rgb nchw float32, \
             scale 0.00392156862745098 mean [0.0, 0.0, 0.0] std [1.0, 1.0, 1.0], input images"
        );
        let s = Spec {
            channels: Channels::Bgr,
            dtype: Dtype::Uint8,
            input: Some("x".into()),
            ..spec(Fit::Crop, [224, 224])
        };
        assert_eq!(
            s.describe(),
            "224×224 crop filter bilinear-aa (PIL BILINEAR), bgr nchw uint8, \
             scale 0.00392156862745098 mean [0.0, 0.0, 0.0] std [1.0, 1.0, 1.0], input x"
        );
    }

    #[test]
    fn crop_sizes_truncate_the_longer_side_like_torchvision() {
        // torchvision Resize(224) on 300 × 451: 224 × int(224 · 451 / 300 =
        // 336.75) = 336, not 337; CenterCrop(224) offset round(112 / 2) = 56.
        assert_eq!(cover(300, 451, 224, 224), (224, 336, 0, 56));
        assert_eq!(cover(451, 300, 224, 224), (336, 224, 56, 0));
        // An odd spare: round(3 / 2) = 2 (half to even), as Python rounds.
        assert_eq!(cover(100, 103, 100, 100), (100, 103, 0, 2));
        // Same aspect: the exact size, no crop.
        assert_eq!(cover(640, 480, 320, 240), (320, 240, 0, 0));
        // A non-square input: the limiting axis exact, the other truncated.
        assert_eq!(cover(1000, 1000, 320, 200), (320, 320, 0, 60));
        assert_eq!(cover(65535, 1, 320, 320), (20_971_200, 320, 10_485_440, 0));
    }

    #[test]
    fn a_thin_image_is_cropped_without_resizing_it_whole() {
        // 65535 × 1 covers 320 × 320 at 20,971,200 × 320: 80 GB of rows if
        // resized before cropping.
        let img = plain(65535, 1, [200, 100, 50]);
        let canvas = spec(Fit::Crop, [320, 320]).place(&img, 65535, 1);
        assert_eq!(canvas.len(), 320 * 320 * 3);
        assert!(canvas.chunks_exact(3).all(|p| p == [200, 100, 50]));
        let tall = plain(1, 65535, [1, 2, 3]);
        let canvas = spec(Fit::Crop, [320, 320]).place(&tall, 1, 65535);
        assert!(canvas.chunks_exact(3).all(|p| p == [1, 2, 3]));
    }

    #[test]
    fn values_follow_dtype_layout_and_channels() {
        let img = [10u8, 20, 30].repeat(4);
        let mut s = Spec {
            size: [2, 2],
            resize: Fit::Stretch,
            channels: Channels::Bgr,
            layout: TensorLayout::Nchw,
            dtype: Dtype::Uint8,
            ..Spec::default()
        };
        assert_eq!(
            s.apply(&img, 2, 2),
            [30, 30, 30, 30, 20, 20, 20, 20, 10, 10, 10, 10]
        );
        s.layout = TensorLayout::Nhwc;
        assert_eq!(&s.apply(&img, 2, 2)[..3], [30, 20, 10]);
        s.dtype = Dtype::Int8;
        assert_eq!(
            &s.apply(&img, 2, 2)[..3],
            [(30i16 - 128) as i8 as u8, 148, 138]
        );
        s.dtype = Dtype::Float32;
        s.channels = Channels::Rgb;
        s.mean = [0.5, 0.0, 0.0];
        s.std = [0.25, 1.0, 1.0];
        let out = s.apply(&img, 2, 2);
        let first = f32::from_le_bytes(out[..4].try_into().unwrap());
        assert!(
            (first - (10.0 / 255.0 - 0.5) / 0.25).abs() < 1e-6,
            "{first}"
        );
        s.dtype = Dtype::Float16;
        let out = s.apply(&img, 2, 2);
        assert_eq!(out.len(), 2 * 2 * 3 * 2);
        // NCHW: green starts after the four red values.
        let g = half::f16::from_le_bytes([out[8], out[9]]).to_f32();
        assert!((g - 20.0 / 255.0).abs() < 1e-3, "{g}");
    }
}
