//! PNG: the header, and a row-by-row decode into a box average, so a tall or
//! wide image costs one row of memory rather than the whole picture.

use std::io::Cursor;

use super::{Header, Pixels, Problem, Raster};

/// Size from the IHDR chunk, which must come first.
pub(super) fn header(bytes: &[u8]) -> Result<Header, Problem> {
    if bytes.len() < 29 {
        return Err(Problem::Truncated("the file ends inside the header".into()));
    }
    if &bytes[12..16] != b"IHDR" {
        return Err(Problem::Corrupt("no IHDR chunk first".into()));
    }
    let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    Ok(Header {
        width: be(16),
        height: be(20),
    })
}

/// Whether the image is Adam7-interlaced (its rows then arrive in passes).
pub(super) fn interlaced(bytes: &[u8]) -> bool {
    bytes.get(28).is_some_and(|&i| i != 0)
}

/// Averages blocks of `k × k` RGB pixels, `k` rows at a time.
pub(super) struct RowReducer {
    width: usize,
    k: usize,
    rows: usize,
    acc: Vec<u32>,
}

impl RowReducer {
    /// For rows `width` pixels wide, reduced by `k`.
    pub(super) fn new(width: usize, k: usize) -> Self {
        RowReducer {
            width,
            k,
            rows: 0,
            acc: vec![0; (width / k) * 3],
        }
    }

    /// Adds one row of RGB; every `k`-th row appends a reduced row to `out`
    /// (the partial block at the right edge is dropped).
    pub(super) fn push(&mut self, row: &[u8], out: &mut Vec<u8>) {
        let ow = self.width / self.k;
        for (x, px) in row[..ow * self.k * 3].chunks_exact(3).enumerate() {
            let o = (x / self.k) * 3;
            self.acc[o] += u32::from(px[0]);
            self.acc[o + 1] += u32::from(px[1]);
            self.acc[o + 2] += u32::from(px[2]);
        }
        self.rows += 1;
        if self.rows == self.k {
            let n = (self.k * self.k) as u32;
            out.extend(self.acc.iter().map(|a| ((a + n / 2) / n) as u8));
            self.acc.iter_mut().for_each(|a| *a = 0);
            self.rows = 0;
        }
    }
}

/// Decodes a non-interlaced PNG row by row, box-averaged by `k`. Every row is
/// read (so damaged data anywhere is found), but only `k` of them are held.
pub(super) fn decode_reduced(bytes: &[u8], header: Header, k: usize) -> Result<Raster, Problem> {
    let fail = |e: ::png::DecodingError| match e {
        ::png::DecodingError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Problem::Truncated("the image data ends early".into())
        }
        other => Problem::Corrupt(other.to_string()),
    };
    let mut decoder = ::png::Decoder::new(Cursor::new(bytes));
    // As the image crate does: palettes and low bit depths become 8-bit.
    decoder.set_transformations(::png::Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(fail)?;
    let orientation = reader.info().exif_metadata.as_deref().map_or(
        image::metadata::Orientation::NoTransforms,
        super::orient::from_exif,
    );
    let (colour, depth) = reader.output_color_type();
    let channels = colour.samples();
    let wide = depth == ::png::BitDepth::Sixteen;
    let (w, h) = (header.width as usize, header.height as usize);
    let mut rgb = vec![0u8; w * 3];
    let mut reducer = RowReducer::new(w, k);
    let mut out = Vec::with_capacity((w / k) * (h / k) * 3);
    for y in 0..h {
        let row = reader
            .next_row()
            .map_err(fail)?
            .ok_or_else(|| Problem::Truncated(format!("{y} of {h} rows")))?;
        let data = row.data();
        if data.len() < w * channels * (1 + usize::from(wide)) {
            return Err(Problem::Corrupt("short row".into()));
        }
        for (x, px) in rgb.chunks_exact_mut(3).enumerate() {
            // The image crate's 16 → 8 bit conversion: (v + 128) / 257.
            let sample = |c: usize| {
                let i = x * channels + c;
                if wide {
                    let v = u32::from(u16::from_be_bytes([data[2 * i], data[2 * i + 1]]));
                    ((v + 128) / 257) as u8
                } else {
                    data[i]
                }
            };
            // Grey (with or without alpha) is replicated; alpha is dropped.
            let (r, g, b) = if channels < 3 {
                let v = sample(0);
                (v, v, v)
            } else {
                (sample(0), sample(1), sample(2))
            };
            px.copy_from_slice(&[r, g, b]);
        }
        if y < h / k * k {
            reducer.push(&rgb, &mut out);
        }
    }
    Ok(Raster::new(
        header,
        w / k,
        h / k,
        Pixels::Rgb(out),
        orientation,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::ImageEncoder;

    fn png_of(img: &image::DynamicImage) -> Vec<u8> {
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(
                img.as_bytes(),
                img.width(),
                img.height(),
                img.color().into(),
            )
            .unwrap();
        out
    }

    /// The streaming decode gives exactly what a full decode, `into_rgb8` and
    /// a box average give, for every colour type and bit depth.
    #[test]
    fn row_by_row_matches_a_full_decode() {
        let rgb = image::RgbImage::from_fn(203, 101, |x, y| {
            image::Rgb([(x * 5) as u8, (y * 7) as u8, ((x * y) % 251) as u8])
        });
        let base = image::DynamicImage::ImageRgb8(rgb);
        for img in [
            base.clone(),
            image::DynamicImage::ImageRgba8(base.to_rgba8()),
            image::DynamicImage::ImageLuma8(base.to_luma8()),
            image::DynamicImage::ImageLumaA8(base.to_luma_alpha8()),
            image::DynamicImage::ImageRgb16(base.to_rgb16()),
            image::DynamicImage::ImageLuma16(base.to_luma16()),
        ] {
            let bytes = png_of(&img);
            let h = header(&bytes).unwrap();
            assert_eq!((h.width, h.height), (203, 101));
            for k in [1, 3, 8] {
                let got = decode_reduced(&bytes, h, k).unwrap();
                let full = image::load_from_memory(&bytes).unwrap().into_rgb8();
                let (w, hh, want) = super::super::box_reduce(full.as_raw(), 203, 101, k);
                assert_eq!((got.width, got.height), (w, hh));
                assert_eq!(
                    got.rgb.as_deref(),
                    Some(&want[..]),
                    "{:?} k={k}",
                    img.color()
                );
            }
        }
    }

    #[test]
    fn a_cut_png_is_truncated_or_corrupt() {
        let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(64, 64, |x, y| {
            image::Rgb([(x * 3) as u8, (y * 5) as u8, (x ^ y) as u8])
        }));
        let bytes = png_of(&img);
        let cut = &bytes[..bytes.len() / 2];
        let h = header(cut).unwrap();
        assert!(decode_reduced(cut, h, 1).is_err());
    }
}
