//! EXIF orientation: how the stored pixels must be turned to show the picture
//! upright. Read once from the file's metadata (a JPEG's APP1 segment, a PNG's
//! eXIf chunk, the image crate's decoders for the rest) and applied to the
//! decoded raster, so every caller sees the picture as a viewer shows it.

use image::metadata::Orientation;

use super::Pixels;

/// The orientation an EXIF block (a TIFF structure, `II*`/`MM*` first) asks
/// for; none when it has no valid orientation tag.
pub(super) fn from_exif(exif: &[u8]) -> Orientation {
    Orientation::from_exif_chunk(exif).unwrap_or(Orientation::NoTransforms)
}

/// Whether `o` swaps width and height.
pub(super) fn swaps_sides(o: Orientation) -> bool {
    matches!(
        o,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// `pixels` (`w × h`) turned by `o`; returns the new width and height too.
pub(super) fn apply(pixels: Pixels, w: usize, h: usize, o: Orientation) -> (Pixels, usize, usize) {
    if o == Orientation::NoTransforms {
        return (pixels, w, h);
    }
    let c = pixels.channels();
    let (nw, nh) = if swaps_sides(o) { (h, w) } else { (w, h) };
    // For each output pixel (x, y), the stored pixel it shows.
    let from = |x: usize, y: usize| -> (usize, usize) {
        match o {
            Orientation::NoTransforms => (x, y),
            Orientation::FlipHorizontal => (w - 1 - x, y),
            Orientation::Rotate180 => (w - 1 - x, h - 1 - y),
            Orientation::FlipVertical => (x, h - 1 - y),
            Orientation::Rotate90FlipH => (y, x),
            Orientation::Rotate90 => (y, h - 1 - x),
            Orientation::Rotate270FlipH => (w - 1 - y, h - 1 - x),
            Orientation::Rotate270 => (w - 1 - y, x),
        }
    };
    let turn = |data: &[u8]| {
        let mut out = Vec::with_capacity(data.len());
        for y in 0..nh {
            for x in 0..nw {
                let (sx, sy) = from(x, y);
                let at = (sy * w + sx) * c;
                out.extend_from_slice(&data[at..at + c]);
            }
        }
        out
    };
    let turned = match &pixels {
        Pixels::Grey(d) => Pixels::Grey(turn(d)),
        Pixels::Rgb(d) => Pixels::Rgb(turn(d)),
    };
    (turned, nw, nh)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3 × 2 grey image `0 1 2 / 3 4 5` under every orientation, checked
    /// against the image crate's own `apply_orientation`.
    #[test]
    fn turns_like_the_image_crate() {
        let data: Vec<u8> = (0..6).collect();
        for o in [
            Orientation::NoTransforms,
            Orientation::Rotate90,
            Orientation::Rotate180,
            Orientation::Rotate270,
            Orientation::FlipHorizontal,
            Orientation::FlipVertical,
            Orientation::Rotate90FlipH,
            Orientation::Rotate270FlipH,
        ] {
            let mut reference = image::DynamicImage::ImageLuma8(
                image::GrayImage::from_raw(3, 2, data.clone()).unwrap(),
            );
            reference.apply_orientation(o);
            let (got, w, h) = apply(Pixels::Grey(data.clone()), 3, 2, o);
            assert_eq!(
                (w as u32, h as u32),
                (reference.width(), reference.height()),
                "{o:?}"
            );
            assert_eq!(
                got,
                Pixels::Grey(reference.into_luma8().into_raw()),
                "{o:?}"
            );
        }
    }
}
