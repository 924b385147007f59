//! JPEG: the marker walk that reads the frame header and checks that every scan
//! carries enough data for its frame, then the decode at a reduced DCT scale
//! with libjpeg-turbo (vendored by `mozjpeg-sys`, built with the C compiler
//! alone).
//!
//! Decoders zero-fill what a scan lacks, so a JPEG whose entropy-coded data
//! ends early — a truncated download, or a header patched to claim a far larger
//! frame — would decode "successfully" into grey. [`inspect`] walks the markers
//! without decoding anything and refuses such files: a file that ends inside a
//! scan or before the end-of-image marker, or a scan with fewer bits than its
//! blocks need at the very least (every block of a sequential scan needs one DC
//! and one AC Huffman code, each at least as long as the shortest code of its
//! table; every block of a progressive DC scan, one DC code or refinement bit).
//! It also bounds the work: every scan of a progressive JPEG makes the decoder
//! walk the coefficients of its whole frame again, so a file of thousands of
//! tiny scans (a "scan bomb") costs minutes of CPU in a few hundred KB. Real
//! encoders write at most a few dozen; more than [`MAX_SCANS`] is refused
//! before anything is decoded.

use super::{Header, Pixels, Problem, Raster};

/// Most scans a JPEG may have. libjpeg's standard progressive script has 10,
/// mozjpeg's optimised ones about as many, a sequential non-interleaved file one
/// per component; libjpeg-turbo's `djpeg -maxscans` and TurboJPEG's
/// `TJPARAM_SCANLIMIT` exist for the files that have thousands.
pub(super) const MAX_SCANS: usize = 100;

/// One frame component.
#[derive(Debug, Clone, Copy)]
struct Component {
    id: u8,
    h: u32,
    v: u32,
}

/// The start-of-frame header.
#[derive(Debug, Clone)]
struct Frame {
    width: u32,
    height: u32,
    components: Vec<Component>,
    progressive: bool,
    arithmetic: bool,
}

impl Frame {
    fn max_sampling(&self) -> (u32, u32) {
        let h = self.components.iter().map(|c| c.h).max().unwrap_or(1);
        let v = self.components.iter().map(|c| c.v).max().unwrap_or(1);
        (h.max(1), v.max(1))
    }

    /// Blocks of component `c` a scan codes: all its blocks in a non-interleaved
    /// scan, whole MCUs' worth in an interleaved one.
    fn blocks(&self, c: &Component, interleaved: bool) -> u64 {
        let (hmax, vmax) = self.max_sampling();
        let (w, h) = (u64::from(self.width), u64::from(self.height));
        if interleaved {
            let mcux = w.div_ceil(8 * u64::from(hmax));
            let mcuy = h.div_ceil(8 * u64::from(vmax));
            mcux * mcuy * u64::from(c.h) * u64::from(c.v)
        } else {
            let cw = (w * u64::from(c.h)).div_ceil(u64::from(hmax));
            let ch = (h * u64::from(c.v)).div_ceil(u64::from(vmax));
            cw.div_ceil(8) * ch.div_ceil(8)
        }
    }

    /// Estimated bytes a decoder holds while decoding at `scaled` size: full
    /// coefficient planes for a progressive frame, component planes and the
    /// output at the reduced size for a sequential one.
    fn memory(&self, scaled: (u32, u32)) -> u64 {
        let out = u64::from(scaled.0) * u64::from(scaled.1) * 4;
        if self.progressive {
            let blocks: u64 = self.components.iter().map(|c| self.blocks(c, false)).sum();
            blocks * 64 * 2 + out
        } else {
            out * 2
        }
    }
}

/// What [`inspect`] learned of a JPEG.
#[derive(Debug, Clone)]
pub(super) struct Info {
    pub header: Header,
    frame: Frame,
    /// How to turn the stored pixels upright (APP1 EXIF).
    pub orientation: image::metadata::Orientation,
}

impl Info {
    /// See [`Frame::memory`].
    pub(super) fn memory(&self, scaled: (u32, u32)) -> u64 {
        self.frame.memory(scaled)
    }
}

/// Walks the markers of `bytes`: the frame header, and whether every scan holds
/// enough data for its frame and the file reaches its end-of-image marker. A
/// frame of more than `max_pixels` stops the walk at once.
pub(super) fn inspect(bytes: &[u8], max_pixels: u64) -> Result<Info, Problem> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(Problem::Corrupt("no start-of-image marker".into()));
    }
    let mut walk = Walk {
        frame: None,
        shortest: [[None; 4]; 2],
        scans: 0,
        orientation: image::metadata::Orientation::NoTransforms,
    };
    let mut pos = 2;
    loop {
        let (marker, at) = next_marker(bytes, pos)?;
        pos = at;
        match marker {
            0xD9 => break,
            0x01 | 0xD0..=0xD8 => continue,
            _ => {}
        }
        let len = match bytes.get(pos..pos + 2) {
            Some(&[a, b]) => usize::from(u16::from_be_bytes([a, b])),
            _ => {
                return Err(ended_early(
                    bytes,
                    format!("the file ends inside marker FF{marker:02X}"),
                ));
            }
        };
        if len < 2 || pos + len > bytes.len() {
            return Err(ended_early(
                bytes,
                format!("segment FF{marker:02X} runs past the end of the file"),
            ));
        }
        let seg = &bytes[pos + 2..pos + len];
        pos += len;
        if let Some(end) = walk.segment(marker, seg, bytes, pos, max_pixels)? {
            pos = end;
        }
    }
    let Some(frame) = walk.frame else {
        return Err(Problem::Corrupt("no frame header".into()));
    };
    if walk.scans == 0 {
        return Err(Problem::Truncated(
            "no scan before the end-of-image marker".into(),
        ));
    }
    Ok(Info {
        header: Header {
            width: frame.width,
            height: frame.height,
        },
        frame,
        orientation: walk.orientation,
    })
}

/// The marker walk ran off the end of `bytes`: a cut file is
/// [`Problem::Truncated`]; but one that ends with its end-of-image marker was
/// not cut, and the walk was thrown off by damaged bytes inside it:
/// [`Problem::Corrupt`].
fn ended_early(bytes: &[u8], what: String) -> Problem {
    if bytes.ends_with(&[0xFF, 0xD9]) {
        Problem::Corrupt(format!(
            "damaged data: {what}, though the file ends with its end-of-image marker"
        ))
    } else {
        Problem::Truncated(what)
    }
}

/// The next marker at or after `pos` (fill bytes skipped), and where its
/// segment starts.
fn next_marker(bytes: &[u8], mut pos: usize) -> Result<(u8, usize), Problem> {
    while pos < bytes.len() && bytes[pos] != 0xFF {
        pos += 1;
    }
    while pos < bytes.len() && bytes[pos] == 0xFF {
        pos += 1;
    }
    match bytes.get(pos) {
        Some(&marker) => Ok((marker, pos + 1)),
        None => Err(ended_early(
            bytes,
            "the file ends before its end-of-image marker".into(),
        )),
    }
}

/// What the marker walk has seen so far.
struct Walk {
    frame: Option<Frame>,
    /// Shortest code length of each Huffman table: [class][id]; class 0 is DC.
    shortest: [[Option<u32>; 4]; 2],
    scans: usize,
    orientation: image::metadata::Orientation,
}

impl Walk {
    /// Takes in the segment `seg` of `marker`; for a scan, checks its data
    /// (which starts at `pos` in `bytes`) and returns where it ends.
    fn segment(
        &mut self,
        marker: u8,
        seg: &[u8],
        bytes: &[u8],
        pos: usize,
        max_pixels: u64,
    ) -> Result<Option<usize>, Problem> {
        match marker {
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let f = parse_frame(marker, seg)?;
                if u64::from(f.width) * u64::from(f.height) > max_pixels {
                    return Err(Problem::TooLarge {
                        width: f.width,
                        height: f.height,
                        limit: max_pixels,
                    });
                }
                self.frame = Some(f);
            }
            0xC4 => parse_tables(seg, &mut self.shortest)?,
            0xE1 => {
                if let Some(exif) = seg.strip_prefix(b"Exif\0\0") {
                    self.orientation = super::orient::from_exif(exif);
                }
            }
            0xDA => return self.scan(seg, bytes, pos).map(Some),
            _ => {}
        }
        Ok(None)
    }

    /// Checks the scan whose header is `seg` and whose data starts at `pos`:
    /// it must end before the file does and hold the bits its frame needs.
    fn scan(&mut self, seg: &[u8], bytes: &[u8], pos: usize) -> Result<usize, Problem> {
        let Some(f) = &self.frame else {
            return Err(Problem::Corrupt("scan before the frame header".into()));
        };
        let need = scan_bits(f, seg, &self.shortest)?;
        let (data, end) = entropy_data(bytes, pos);
        self.scans += 1;
        if self.scans > MAX_SCANS {
            return Err(Problem::TooComplex(format!(
                "more than {MAX_SCANS} scans (a progressive JPEG has about 10; each scan decodes the whole {}×{} frame again)",
                f.width, f.height
            )));
        }
        let Some(end) = end else {
            return Err(ended_early(
                bytes,
                format!(
                    "the file ends inside scan {} ({data} bytes of entropy-coded data)",
                    self.scans
                ),
            ));
        };
        if data * 8 < need {
            return Err(Problem::Truncated(format!(
                "scan {} holds {data} bytes, but its {}×{} frame needs at least {}",
                self.scans,
                f.width,
                f.height,
                need.div_ceil(8)
            )));
        }
        Ok(end)
    }
}

fn parse_frame(marker: u8, seg: &[u8]) -> Result<Frame, Problem> {
    let bad = || Problem::Corrupt("malformed frame header".into());
    if seg.len() < 6 {
        return Err(bad());
    }
    let height = u32::from(u16::from_be_bytes([seg[1], seg[2]]));
    let width = u32::from(u16::from_be_bytes([seg[3], seg[4]]));
    let n = usize::from(seg[5]);
    if n == 0 || seg.len() < 6 + 3 * n {
        return Err(bad());
    }
    if width == 0 || height == 0 {
        return Err(Problem::Corrupt("zero-sized frame".into()));
    }
    let components = seg[6..6 + 3 * n]
        .chunks_exact(3)
        .map(|c| Component {
            id: c[0],
            h: u32::from(c[1] >> 4).max(1),
            v: u32::from(c[1] & 0x0F).max(1),
        })
        .collect();
    Ok(Frame {
        width,
        height,
        components,
        progressive: matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE),
        arithmetic: marker >= 0xC9,
    })
}

/// Records the shortest code length of each Huffman table in a DHT segment.
fn parse_tables(mut seg: &[u8], shortest: &mut [[Option<u32>; 4]; 2]) -> Result<(), Problem> {
    while !seg.is_empty() {
        if seg.len() < 17 {
            return Err(Problem::Corrupt("malformed Huffman table".into()));
        }
        let (class, id) = (usize::from(seg[0] >> 4), usize::from(seg[0] & 0x0F));
        let counts = &seg[1..17];
        let values: usize = counts.iter().map(|&c| usize::from(c)).sum();
        if class > 1 || id > 3 || seg.len() < 17 + values {
            return Err(Problem::Corrupt("malformed Huffman table".into()));
        }
        shortest[class][id] = counts.iter().position(|&c| c > 0).map(|i| i as u32 + 1);
        seg = &seg[17 + values..];
    }
    Ok(())
}

/// The fewest bits the scan whose header is `seg` can take.
fn scan_bits(f: &Frame, seg: &[u8], shortest: &[[Option<u32>; 4]; 2]) -> Result<u64, Problem> {
    let bad = || Problem::Corrupt("malformed scan header".into());
    let n = usize::from(*seg.first().ok_or_else(bad)?);
    if n == 0 || seg.len() < 1 + 2 * n + 3 {
        return Err(bad());
    }
    let (ss, ah) = (seg[1 + 2 * n], seg[3 + 2 * n] >> 4);
    if f.arithmetic || (f.progressive && ss > 0) {
        // Arithmetic coding and progressive AC scans (end-of-band runs span
        // many blocks) give no useful per-block floor.
        return Ok(0);
    }
    let mut bits = 0u64;
    for sel in seg[1..1 + 2 * n].chunks_exact(2) {
        let Some(c) = f.components.iter().find(|c| c.id == sel[0]) else {
            return Err(Problem::Corrupt(format!(
                "scan names component {} the frame does not have",
                sel[0]
            )));
        };
        let (dc, ac) = (usize::from(sel[1] >> 4) & 3, usize::from(sel[1] & 0x0F) & 3);
        // A table the file does not define is a standard one (Motion JPEG),
        // whose shortest codes are 2 bits; count 1 to stay a floor.
        let per_block = if f.progressive {
            if ah > 0 {
                1
            } else {
                shortest[0][dc].unwrap_or(1)
            }
        } else {
            shortest[0][dc].unwrap_or(1) + shortest[1][ac].unwrap_or(1)
        };
        bits += f.blocks(c, n > 1) * u64::from(per_block);
    }
    Ok(bits)
}

/// Entropy-coded bytes from `pos` up to the next marker (stuffed zero bytes and
/// restart markers not counted), and where that marker starts; `None` when the
/// file ends first.
fn entropy_data(bytes: &[u8], mut pos: usize) -> (u64, Option<usize>) {
    let mut data = 0u64;
    while pos < bytes.len() {
        if bytes[pos] != 0xFF {
            data += 1;
            pos += 1;
            continue;
        }
        match bytes.get(pos + 1) {
            Some(0x00) => {
                data += 1;
                pos += 2;
            }
            Some(0xD0..=0xD7) => pos += 2,
            Some(0xFF) => pos += 1,
            Some(_) => return (data, Some(pos)),
            None => break,
        }
    }
    (data, None)
}

/// Decodes a JPEG at the smallest DCT scale (`n/8`, `n` in 1..=8) whose size
/// reaches `want` (width, height) on both axes, with libjpeg-turbo.
///
/// libjpeg reports a fatal error by unwinding out of the decode (see
/// [`error_exit`]), caught here; it reports damaged entropy-coded data as a
/// warning and goes on with grey blocks, so such a warning makes the file
/// corrupt too ([`emit_message`]).
pub(super) fn decode(bytes: &[u8], info: &Info, want: (u32, u32)) -> Result<Raster, Problem> {
    let numerator = scale_numerator((info.header.width, info.header.height), want);
    DAMAGE.with(|d| d.take());
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        decode_scaled(bytes, numerator)
    }));
    let damage = DAMAGE.with(|d| d.take());
    let (w, h, pixels) = match decoded {
        Ok(Ok(decoded)) => decoded,
        Ok(Err(e)) => return Err(Problem::Corrupt(e.to_string())),
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .map_or("libjpeg error", String::as_str);
            return Err(Problem::Corrupt(message.to_owned()));
        }
    };
    if let Some(warning) = damage {
        return Err(Problem::Corrupt(warning));
    }
    if pixels.len() < w * h * pixels.channels() {
        return Err(Problem::Corrupt("short pixel buffer".to_owned()));
    }
    Ok(Raster::new(info.header, w, h, pixels, info.orientation))
}

/// The smallest `n` in 1..=8 for which libjpeg's `n/8` output size,
/// `ceil(side · n / 8)`, reaches `want` on both axes.
fn scale_numerator(size: (u32, u32), want: (u32, u32)) -> u8 {
    let reaches =
        |side: u32, want: u32, n: u64| (u64::from(side) * n).div_ceil(8) >= u64::from(want);
    (1..=8u8)
        .find(|&n| reaches(size.0, want.0, n.into()) && reaches(size.1, want.1, n.into()))
        .unwrap_or(8)
}

/// The decode proper; libjpeg's fatal errors unwind out of it.
fn decode_scaled(bytes: &[u8], numerator: u8) -> std::io::Result<(usize, usize, Pixels)> {
    let mut d = mozjpeg::Decompress::builder()
        .with_err(error_manager())
        .from_mem(bytes)?;
    d.scale(numerator);
    let (mut started, pixels): (_, fn(Vec<u8>) -> Pixels) = match d.image()? {
        mozjpeg::Format::RGB(s) => (s, Pixels::Rgb),
        mozjpeg::Format::Gray(s) => (s, Pixels::Grey),
        mozjpeg::Format::CMYK(s) => (s, |px| Pixels::Rgb(super::cmyk_to_rgb(&px))),
    };
    let (w, h) = (started.width(), started.height());
    let px = started.read_scanlines::<u8>()?;
    started.finish()?;
    Ok((w, h, pixels(px)))
}

thread_local! {
    /// The first warning of the current decode on this thread that says its
    /// data is damaged.
    static DAMAGE: std::cell::Cell<Option<String>> = const { std::cell::Cell::new(None) };
}

/// libjpeg's standard error manager with calibset's two hooks.
fn error_manager() -> mozjpeg_sys::jpeg_error_mgr {
    // SAFETY: jpeg_error_mgr is a plain C struct (integers, pointers and
    // nullable function pointers), valid all-zero; jpeg_std_error fills it.
    unsafe {
        let mut err: mozjpeg_sys::jpeg_error_mgr = std::mem::zeroed();
        mozjpeg_sys::jpeg_std_error(&mut err);
        err.error_exit = Some(error_exit);
        err.emit_message = Some(emit_message);
        err
    }
}

/// libjpeg's text for its current message.
fn message(cinfo: &mut mozjpeg_sys::jpeg_common_struct) -> String {
    // SAFETY: `err` is the manager set up by `error_manager`, alive for the
    // whole decode; format_message writes at most 80 bytes, NUL-terminated,
    // into the buffer (its binding types the buffer `&[u8; 80]`, hence the
    // cast to the `&mut` it really is).
    unsafe {
        let Some(format) = cinfo.err.as_ref().and_then(|e| e.format_message) else {
            return "libjpeg error".to_owned();
        };
        let format: unsafe extern "C-unwind" fn(
            &mut mozjpeg_sys::jpeg_common_struct,
            &mut [u8; 80],
        ) = std::mem::transmute(format);
        let mut buffer = [0u8; 80];
        format(cinfo, &mut buffer);
        let text = buffer.split(|&c| c == 0).next().unwrap_or_default();
        String::from_utf8_lossy(text).into_owned()
    }
}

/// Fatal errors unwind to [`decode`] (`resume_unwind` skips the panic hook,
/// so nothing is printed).
extern "C-unwind" fn error_exit(cinfo: &mut mozjpeg_sys::jpeg_common_struct) {
    let text = message(cinfo);
    std::panic::resume_unwind(Box::new(text));
}

/// Warnings (level -1) that mean damaged data are remembered; trace messages
/// and harmless warnings (stray bytes between markers, odd JFIF versions) are
/// dropped.
extern "C-unwind" fn emit_message(
    cinfo: &mut mozjpeg_sys::jpeg_common_struct,
    level: std::os::raw::c_int,
) {
    if level >= 0 {
        return;
    }
    let text = message(cinfo);
    let damaged = (text.starts_with("Corrupt JPEG data") && !text.contains("extraneous bytes"))
        || text.starts_with("Premature end");
    if damaged {
        DAMAGE.with(|d| {
            let first = d.take().unwrap_or(text);
            d.set(Some(first));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, RgbImage};

    fn jpeg(w: u32, h: u32, progressive: bool) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([
                (x * 7 % 256) as u8,
                (y * 3 % 256) as u8,
                ((x ^ y) % 256) as u8,
            ])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
            .write_image(&img, w, h, image::ExtendedColorType::Rgb8)
            .unwrap();
        if progressive {
            // image writes baseline only: relabel SOF0 as SOF2 to exercise the
            // progressive floor on the same data (one interleaved DC+AC scan).
            let at = out.windows(2).position(|m| m == [0xFF, 0xC0]).unwrap();
            out[at + 1] = 0xC2;
        }
        out
    }

    /// The same JPEG with its frame header claiming `w × h`.
    fn patched(mut bytes: Vec<u8>, w: u16, h: u16) -> Vec<u8> {
        let at = bytes
            .windows(2)
            .position(|m| m[0] == 0xFF && matches!(m[1], 0xC0 | 0xC2))
            .unwrap();
        bytes[at + 5..at + 7].copy_from_slice(&h.to_be_bytes());
        bytes[at + 7..at + 9].copy_from_slice(&w.to_be_bytes());
        bytes
    }

    #[test]
    fn a_whole_jpeg_passes_with_its_size() {
        let info = inspect(&jpeg(320, 240, false), u64::MAX).unwrap();
        assert_eq!((info.header.width, info.header.height), (320, 240));
        assert!(!info.frame.progressive);
    }

    #[test]
    fn a_cut_jpeg_is_truncated() {
        let full = jpeg(320, 240, false);
        for keep in [full.len() * 4 / 10, full.len() - 2, 400] {
            match inspect(&full[..keep], u64::MAX) {
                Err(Problem::Truncated(_)) => {}
                other => panic!("cut at {keep}: {other:?}"),
            }
        }
    }

    #[test]
    fn garbage_inside_a_whole_jpeg_is_corrupt_not_truncated() {
        let mut bytes = jpeg(320, 240, false);
        assert!(bytes.len() < 0xFFFF);
        // Mid-scan, bytes that read as an APP1 marker longer than the file.
        let mid = bytes.len() / 2;
        bytes.splice(mid..mid + 4, [0xFF, 0xE1, 0xFF, 0xFF]);
        match inspect(&bytes, u64::MAX) {
            Err(Problem::Corrupt(m)) => assert!(m.starts_with("damaged data"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_header_claiming_a_larger_frame_is_truncated() {
        for progressive in [false, true] {
            let bytes = patched(jpeg(64, 48, progressive), 8000, 6000);
            match inspect(&bytes, u64::MAX) {
                Err(Problem::Truncated(m)) => assert!(m.contains("8000×6000"), "{m}"),
                other => panic!("progressive {progressive}: {other:?}"),
            }
        }
    }

    /// `bytes` with an APP1 EXIF segment asking for `orientation` after SOI.
    fn with_orientation(bytes: &[u8], orientation: u16) -> Vec<u8> {
        let mut tiff = b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0".to_vec();
        tiff.extend_from_slice(&orientation.to_le_bytes());
        tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        let mut seg = b"Exif\0\0".to_vec();
        seg.extend(tiff);
        let mut out = bytes[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((seg.len() + 2) as u16).to_be_bytes());
        out.extend(seg);
        out.extend_from_slice(&bytes[2..]);
        out
    }

    #[test]
    fn exif_orientation_turns_the_picture_upright() {
        // Left half dark, right half bright, stored 64 × 32.
        let img = RgbImage::from_fn(64, 32, |x, _| {
            let v = if x < 32 { 20 } else { 230 };
            image::Rgb([v, v, v])
        });
        let mut plain = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 95)
            .write_image(&img, 64, 32, image::ExtendedColorType::Rgb8)
            .unwrap();
        // 6: rotate 90° clockwise to view: the dark half ends up on top.
        let turned = with_orientation(&plain, 6);
        let info = inspect(&turned, u64::MAX).unwrap();
        assert_eq!(info.orientation, image::metadata::Orientation::Rotate90);
        let r = decode(&turned, &info, (64, 32)).unwrap();
        assert_eq!(
            (r.full_width, r.full_height, r.width, r.height),
            (32, 64, 32, 64)
        );
        let top = r.grey[..32 * 8].iter().map(|&v| u32::from(v)).sum::<u32>() / 256;
        let bottom = r.grey[32 * 56..].iter().map(|&v| u32::from(v)).sum::<u32>() / 256;
        assert!(top < 60 && bottom > 200, "top {top}, bottom {bottom}");
        let info = inspect(&plain, u64::MAX).unwrap();
        let r = decode(&plain, &info, (64, 32)).unwrap();
        assert_eq!((r.width, r.height), (64, 32));
    }

    #[test]
    fn the_smallest_eighth_that_covers_the_request() {
        assert_eq!(scale_numerator((640, 480), (160, 120)), 2);
        assert_eq!(scale_numerator((640, 480), (161, 120)), 3);
        assert_eq!(scale_numerator((1920, 1080), (214, 120)), 1);
        assert_eq!(scale_numerator((100, 100), (1, 1)), 1);
        // Odd sizes round up as libjpeg does: ceil(33 · 1/8) = 5.
        assert_eq!(scale_numerator((33, 33), (5, 5)), 1);
        assert_eq!(scale_numerator((640, 480), (640, 480)), 8);
        assert_eq!(scale_numerator((640, 480), (9999, 1)), 8);
        let info = inspect(&jpeg(640, 480, false), u64::MAX).unwrap();
        let r = decode(&jpeg(640, 480, false), &info, (161, 120)).unwrap();
        assert_eq!((r.width, r.height), (240, 180));
        assert!(r.rgb.is_some());
    }

    #[test]
    fn damaged_entropy_data_is_corrupt() {
        let good = jpeg(320, 240, false);
        let sos = good.windows(2).position(|m| m == [0xFF, 0xDA]).unwrap();
        let data = sos + 2 + usize::from(u16::from_be_bytes([good[sos + 2], good[sos + 3]]));
        let mut bad = good.clone();
        // A restart marker where none may be, early in the scan: libjpeg warns
        // and fills the rest of the picture.
        bad[data + 40] = 0xFF;
        bad[data + 41] = 0xD3;
        let info = inspect(&bad, u64::MAX).unwrap();
        match decode(&bad, &info, (40, 30)) {
            Err(Problem::Corrupt(m)) => assert!(m.contains("Corrupt JPEG data"), "{m}"),
            other => panic!("{other:?}"),
        }
        // The warning does not leak into the next decode on this thread.
        let info = inspect(&good, u64::MAX).unwrap();
        assert!(decode(&good, &info, (40, 30)).is_ok());
    }

    #[test]
    fn a_fatal_libjpeg_error_is_corrupt_not_a_panic() {
        let mut bad = jpeg(64, 48, false);
        // An unsupported precision in SOF0: libjpeg refuses the frame.
        let sof = bad.windows(2).position(|m| m == [0xFF, 0xC0]).unwrap();
        bad[sof + 4] = 12;
        let info = Info {
            header: Header {
                width: 64,
                height: 48,
            },
            frame: Frame {
                width: 64,
                height: 48,
                components: Vec::new(),
                progressive: false,
                arithmetic: false,
            },
            orientation: image::metadata::Orientation::NoTransforms,
        };
        match decode(&bad, &info, (8, 6)) {
            Err(Problem::Corrupt(m)) => assert!(!m.is_empty()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn grey_and_cmyk_jpegs_decode() {
        let grey = image::GrayImage::from_fn(64, 48, |x, _| image::Luma([(x * 4) as u8]));
        let mut bytes = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 95)
            .write_image(&grey, 64, 48, image::ExtendedColorType::L8)
            .unwrap();
        let info = inspect(&bytes, u64::MAX).unwrap();
        let r = decode(&bytes, &info, (64, 48)).unwrap();
        assert!(r.rgb.is_none());
        assert!(
            r.grey[0] < 10 && r.grey[63] > 240,
            "{} {}",
            r.grey[0],
            r.grey[63]
        );
        // Adobe CMYK as libjpeg writes it (inverted: 255 = no ink): the left
        // half without ink, the right half full black.
        let mut comp = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_CMYK);
        comp.set_size(64, 48);
        comp.set_quality(95.0);
        let mut started = comp.start_compress(Vec::new()).unwrap();
        let px: Vec<u8> = (0..64 * 48)
            .flat_map(|i| {
                if i % 64 < 32 {
                    [255; 4]
                } else {
                    [255, 255, 255, 0]
                }
            })
            .collect();
        started.write_scanlines(&px).unwrap();
        let bytes = started.finish().unwrap();
        let info = inspect(&bytes, u64::MAX).unwrap();
        let r = decode(&bytes, &info, (64, 48)).unwrap();
        let rgb = r.rgb.unwrap();
        let (left, right) = (
            &rgb[3 * (24 * 64 + 4)..][..3],
            &rgb[3 * (24 * 64 + 60)..][..3],
        );
        assert!(left.iter().all(|&v| v > 245), "{left:?}");
        assert!(right.iter().all(|&v| v < 10), "{right:?}");
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        for bytes in [
            &b"\xFF\xD8\xFF\xC0\x00\x02"[..],
            b"\xFF\xD8\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00\xFF\xD9",
            b"\xFF\xD8\xFF\xC4\x00\x05\x00\x01\x02",
            b"\xFF\xD8",
            b"\xFF\xD8\xFF\xD9",
        ] {
            assert!(inspect(bytes, u64::MAX).is_err(), "{bytes:?}");
        }
    }
}
