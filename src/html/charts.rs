//! Section 4: histograms of mean luma, relative sharpness and JPEG quality, pool
//! against chosen set, as inline SVG (bars normalised to each set's size).

use std::fmt::{self, Write};

use super::encode::Esc;
use super::{HtmlImage, Page};

/// Chart size in SVG user units (the SVG scales to its card's width).
const W: f64 = 360.0;
const H: f64 = 170.0;
/// Plot margins: left (y labels), right, top, bottom (x labels).
const ML: f64 = 34.0;
const MR: f64 = 12.0;
const MT: f64 = 10.0;
const MB: f64 = 26.0;

/// One histogram: `bins` equal bins over `lo..hi` on the drawn axis.
struct Hist {
    title: &'static str,
    unit: &'static str,
    lo: f64,
    hi: f64,
    pool: Vec<usize>,
    chosen: Vec<usize>,
    /// Axis position and label of each tick.
    ticks: Vec<(f64, String)>,
    /// Label of an axis position (for bar tooltips).
    label: fn(f64) -> String,
    /// Images without a value, pool and chosen.
    missing: (usize, usize),
    missing_note: &'static str,
}

impl Hist {
    fn new(
        title: &'static str,
        unit: &'static str,
        lo: f64,
        hi: f64,
        bins: usize,
        label: fn(f64) -> String,
    ) -> Self {
        Hist {
            title,
            unit,
            lo,
            hi,
            pool: vec![0; bins],
            chosen: vec![0; bins],
            ticks: Vec::new(),
            label,
            missing: (0, 0),
            missing_note: "",
        }
    }

    /// Counts `value` (on the axis) for the pool, and the chosen set if `chosen`.
    fn add(&mut self, value: Option<f64>, chosen: bool) {
        let Some(v) = value.filter(|v| v.is_finite()) else {
            self.missing.0 += 1;
            self.missing.1 += usize::from(chosen);
            return;
        };
        let n = self.pool.len();
        let bin = ((v - self.lo) / (self.hi - self.lo) * n as f64)
            .floor()
            .clamp(0.0, (n - 1) as f64) as usize;
        self.pool[bin] += 1;
        if chosen {
            self.chosen[bin] += 1;
        }
    }
}

/// A number with two significant digits, no trailing zeros: `0.031`, `0.25`, `3.2`, `120`.
pub(super) fn short_number(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let digits = (1 - v.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

fn luma(images: &[HtmlImage]) -> Hist {
    let mut h = Hist::new("Mean luma", "0–255", 0.0, 256.0, 16, |v| {
        format!("{v:.0}")
    });
    h.ticks = [0.0_f64, 64.0, 128.0, 192.0, 256.0]
        .map(|v| (v, format!("{}", v.min(255.0))))
        .to_vec();
    for img in images {
        h.add(Some(f64::from(img.quality.mean)), img.is_chosen());
    }
    h
}

fn sharpness(images: &[HtmlImage]) -> Hist {
    let logs: Vec<f64> = images
        .iter()
        .filter_map(|i| log_sharpness(&i.quality))
        .collect();
    let min = logs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (mut lo, mut hi) = if logs.is_empty() {
        (-2.0, 1.0)
    } else {
        ((min * 2.0).floor() / 2.0, (max * 2.0).ceil() / 2.0)
    };
    while hi - lo < 1.0 {
        (lo, hi) = (lo - 0.25, hi + 0.25);
    }
    let mut step = 0.25;
    while (hi - lo) / step > 24.0 {
        step *= 2.0;
    }
    let bins = ((hi - lo) / step).round() as usize;
    hi = lo + step * bins as f64;
    let mut h = Hist::new("Relative sharpness", "log scale", lo, hi, bins, |v| {
        short_number(10f64.powf(v))
    });
    // Whole decades, and half decades too when the range is narrow.
    let per = if hi - lo < 3.0 { 2.0 } else { 1.0 };
    h.ticks = ((lo * per).ceil() as i32..=(hi * per).floor() as i32)
        .map(|k| f64::from(k) / per)
        .map(|d| (d, short_number(10f64.powf(d))))
        .collect();
    h.missing_note = "flat (no detail to measure)";
    for img in images {
        h.add(log_sharpness(&img.quality), img.is_chosen());
    }
    h
}

/// log10 of the relative sharpness; `None` for flat images (zero sharpness).
fn log_sharpness(q: &crate::features::Quality) -> Option<f64> {
    let v = f64::from(q.relative_sharpness());
    (v > 0.0 && v.is_finite()).then(|| v.log10())
}

fn jpeg_quality(images: &[HtmlImage]) -> Hist {
    let mut h = Hist::new("JPEG quality", "1–100", 0.0, 100.0, 20, |v| {
        format!("{v:.0}")
    });
    h.ticks = [0.0, 25.0, 50.0, 75.0, 100.0]
        .map(|v| (v, format!("{v:.0}")))
        .to_vec();
    h.missing_note = "not JPEG or no table";
    for img in images {
        // Quality q falls in bin (q - 1) / 5: 1–5, 6–10, …, 96–100.
        h.add(
            img.quality.jpeg_quality.map(|q| f64::from(q) - 0.5),
            img.is_chosen(),
        );
    }
    h
}

impl Page<'_> {
    /// Section 4: the three histograms.
    pub(super) fn histograms(&self, out: &mut String) -> fmt::Result {
        let images = self.images();
        let chosen = images.iter().filter(|i| i.is_chosen()).count();
        out.push_str("<section id=\"distributions\">\n<h2>Distributions</h2>\n");
        write!(
            out,
            "<p class=\"hint\">Share of each set per bin. <span class=\"key pool\"></span>pool ({} images) \
             <span class=\"key chosen\"></span>chosen ({chosen} images). Hover a bar for its numbers.</p>\n\
             <div class=\"charts\">\n",
            images.len()
        )?;
        for h in [luma(images), sharpness(images), jpeg_quality(images)] {
            chart(out, &h)?;
        }
        out.push_str("</div></section>\n");
        Ok(())
    }
}

/// One histogram card.
fn chart(out: &mut String, h: &Hist) -> fmt::Result {
    let plot = Plot::of(h);
    writeln!(
        out,
        "<figure class=\"card chart\"><figcaption><b>{}</b> <span>{}</span></figcaption>\
         <svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\">",
        h.title, h.unit, h.title
    )?;
    plot.grid(out)?;
    plot.bars(out)?;
    plot.x_axis(out)?;
    out.push_str("</svg>");
    if h.missing.0 > 0 {
        write!(
            out,
            "<div class=\"chart-note\">{} pool, {} chosen: {}</div>",
            h.missing.0, h.missing.1, h.missing_note
        )?;
    }
    out.push_str("</figure>\n");
    Ok(())
}

/// `n` as a share of `of` (0 of nothing).
fn share(n: usize, of: usize) -> f64 {
    if of == 0 { 0.0 } else { n as f64 / of as f64 }
}

/// A histogram laid out on its chart: the plot area and the scales.
struct Plot<'a> {
    /// The histogram drawn.
    h: &'a Hist,
    /// Images counted in the pool and in the chosen set.
    np: usize,
    nc: usize,
    /// The share between grid lines, and how many lines there are above zero.
    step: f64,
    lines: u32,
    /// The share at the top of the plot.
    ymax: f64,
    /// The plot area's width and height.
    pw: f64,
    ph: f64,
}

impl<'a> Plot<'a> {
    /// The layout of `h`: the y axis reaches a round grid step above the
    /// largest share in either set.
    fn of(h: &'a Hist) -> Self {
        let (np, nc) = (h.pool.iter().sum::<usize>(), h.chosen.iter().sum::<usize>());
        let top = h
            .pool
            .iter()
            .map(|&n| share(n, np))
            .chain(h.chosen.iter().map(|&n| share(n, nc)))
            .fold(0.0, f64::max)
            .max(0.01);
        // Grid step: the first round share that draws at most four lines above zero.
        let step = [0.01, 0.02, 0.025, 0.05, 0.1, 0.2, 0.25]
            .into_iter()
            .find(|&s| top <= 4.0 * s)
            .unwrap_or(0.25);
        let lines = (top / step - 1e-9).ceil().max(1.0) as u32;
        Plot {
            h,
            np,
            nc,
            step,
            lines,
            ymax: step * f64::from(lines),
            pw: W - ML - MR,
            ph: H - MT - MB,
        }
    }

    /// The x coordinate of axis position `v`.
    fn x(&self, v: f64) -> f64 {
        ML + (v - self.h.lo) / (self.h.hi - self.h.lo) * self.pw
    }

    /// The y coordinate of share `s`.
    fn y(&self, s: f64) -> f64 {
        MT + self.ph - s / self.ymax * self.ph
    }

    /// The horizontal grid lines, with their percentages.
    fn grid(&self, out: &mut String) -> fmt::Result {
        for k in 0..=self.lines {
            let s = self.step * f64::from(k);
            writeln!(
                out,
                "<line class=\"gl\" x1=\"{ML}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>\
                 <text class=\"yl\" x=\"{:.1}\" y=\"{:.1}\">{}%</text>",
                W - MR,
                self.y(s),
                self.y(s),
                ML - 4.0,
                self.y(s) + 3.0,
                short_number(s * 100.0)
            )?;
        }
        Ok(())
    }

    /// A pair of bars per bin, pool then chosen (none for an empty count),
    /// each with a tooltip.
    fn bars(&self, out: &mut String) -> fmt::Result {
        let h = self.h;
        let n = h.pool.len();
        let bw = self.pw / n as f64;
        let bar = (bw * 0.42).max(0.6);
        for i in 0..n {
            let (a, b) = (
                h.lo + (h.hi - h.lo) * i as f64 / n as f64,
                h.lo + (h.hi - h.lo) * (i + 1) as f64 / n as f64,
            );
            let x0 = ML + bw * i as f64 + bw * 0.08;
            let range = format!("{}–{}", (h.label)(a), (h.label)(b));
            let sets = [
                ("pool", h.pool[i], self.np),
                ("chosen", h.chosen[i], self.nc),
            ];
            for (k, (class, count, of)) in sets.into_iter().enumerate() {
                let s = share(count, of);
                if count == 0 {
                    continue;
                }
                writeln!(
                    out,
                    "<rect class=\"{class}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{:.1}\">\
                     <title>{}: {class} {:.1}% ({count})</title></rect>",
                    x0 + bar * k as f64,
                    self.y(s),
                    (self.y(0.0) - self.y(s)).max(0.5),
                    Esc(&range),
                    s * 100.0
                )?;
            }
        }
        Ok(())
    }

    /// The x axis, with its ticks and their labels.
    fn x_axis(&self, out: &mut String) -> fmt::Result {
        writeln!(
            out,
            "<line class=\"axis\" x1=\"{ML}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>",
            W - MR,
            self.y(0.0),
            self.y(0.0)
        )?;
        for (v, label) in &self.h.ticks {
            writeln!(
                out,
                "<line class=\"axis\" x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>\
                 <text class=\"xl\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                self.x(*v),
                self.x(*v),
                self.y(0.0),
                self.y(0.0) + 3.0,
                self.x(*v),
                H - MB + 15.0,
                Esc(label)
            )?;
        }
        Ok(())
    }
}
