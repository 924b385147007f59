//! Streaming statistics of one tensor's activations, in fixed memory whatever
//! the number of images, and the same whatever order the images come in.
//!
//! The histogram has [`BINS`] bins of width 2^e over `[-BINS/2·2^e,
//! BINS/2·2^e)`, e the smallest exponent whose range holds every value seen.
//! When a larger value arrives the width doubles, merging bins two by two;
//! since a bin of width 2w is exactly two of width w, the result is the
//! histogram of all values at the final width, however the images were split
//! between threads and in whatever order they were added: counts are
//! integers, so the percentiles are bit-identical at any thread count. (This
//! is the doubling-range histogram; ONNX Runtime's `HistogramCalibrater`
//! instead widens by whole bins of its first batch's width, which depends on
//! the order.) With 4,096 bins a bin is at most 1/1,024 of the largest
//! magnitude, as fine as ONNX Runtime's 2,048 bins over ±max.
//!
//! Sums for the mean and standard deviation are kept per image (in f64, in
//! the image's own order) and added in set order by the caller, for the same
//! reason.

/// Bins per histogram.
pub(super) const BINS: usize = 4096;
const HALF: i64 = (BINS / 2) as i64;
/// The smallest bin-width exponent (2^-126, the smallest normal f32).
const MIN_EXP: i32 = -126;

/// One image's summary of one tensor.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct Summary {
    /// Smallest finite value (`+inf` when there is none).
    pub min: f32,
    /// Largest finite value (`-inf` when there is none).
    pub max: f32,
    /// Sum of the finite values.
    pub sum: f64,
    /// Sum of their squares.
    pub sum_sq: f64,
    /// Finite values.
    pub count: u64,
    /// NaN and infinite values (left out of everything else).
    pub non_finite: u64,
}

impl Summary {
    /// The summary of `values`. Eight lanes of partial sums, added in a
    /// fixed order, keep the f64 additions off one dependency chain; the
    /// result depends only on the values and their order.
    pub(super) fn of(values: &[f32]) -> Summary {
        let mut lanes = Lanes::default();
        let chunks = values.chunks_exact(LANES);
        let rest = chunks.remainder();
        for chunk in chunks {
            let chunk: &[f32; LANES] = chunk.try_into().expect("chunks_exact");
            if chunk.iter().all(|v| v.is_finite()) {
                for (k, &v) in chunk.iter().enumerate() {
                    lanes.add(k, v);
                }
            } else {
                lanes.add_checked(chunk);
            }
        }
        lanes.add_checked(rest);
        Summary {
            min: lanes.lo.into_iter().fold(f32::INFINITY, f32::min),
            max: lanes.hi.into_iter().fold(f32::NEG_INFINITY, f32::max),
            sum: lanes.sum.iter().sum(),
            sum_sq: lanes.sum_sq.iter().sum(),
            count: values.len() as u64 - lanes.non_finite,
            non_finite: lanes.non_finite,
        }
    }

    /// The largest magnitude, 0 without values.
    pub(super) fn abs_max(&self) -> f32 {
        if self.count == 0 {
            0.0
        } else {
            self.min.abs().max(self.max.abs())
        }
    }
}

/// Lanes of partial statistics in [`Summary::of`].
const LANES: usize = 8;

/// [`Summary::of`]'s partial statistics, value `i` going to lane `i % LANES`.
struct Lanes {
    lo: [f32; LANES],
    hi: [f32; LANES],
    sum: [f64; LANES],
    sum_sq: [f64; LANES],
    non_finite: u64,
}

impl Default for Lanes {
    fn default() -> Self {
        Lanes {
            lo: [f32::INFINITY; LANES],
            hi: [f32::NEG_INFINITY; LANES],
            sum: [0.0; LANES],
            sum_sq: [0.0; LANES],
            non_finite: 0,
        }
    }
}

impl Lanes {
    /// Adds the finite value `v` to lane `k`.
    #[inline(always)]
    fn add(&mut self, k: usize, v: f32) {
        self.lo[k] = self.lo[k].min(v);
        self.hi[k] = self.hi[k].max(v);
        let x = f64::from(v);
        self.sum[k] += x;
        self.sum_sq[k] += x * x;
    }

    /// Adds up to `LANES` values, lane by position, counting the non-finite
    /// ones instead.
    fn add_checked(&mut self, values: &[f32]) {
        for (k, &v) in values.iter().enumerate() {
            if v.is_finite() {
                self.add(k, v);
            } else {
                self.non_finite += 1;
            }
        }
    }
}

/// A doubling-range histogram (see the module docs).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Histogram {
    /// Bin width 2^exp; meaningless while `counts` is empty.
    exp: i32,
    /// `BINS` counts, or none before the first value.
    counts: Vec<u64>,
}

/// Below this many values a tensor is counted straight into its histogram.
const LANE_MIN: usize = 4 * BINS;

thread_local! {
    /// Four lanes of counts for [`Histogram::add`].
    static SCRATCH: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The bin of `v` at bin width 1/`inv` (a power of two), `None` for NaN and
/// infinities. v · inv is exact in f64 (a power of two, far from its
/// limits), and so is the floor below: the bin is exactly ⌊v / width⌋,
/// whatever width the bins had before, which is what makes widening exact.
#[inline]
fn bin(v: f32, inv: f64) -> Option<usize> {
    if !v.is_finite() {
        return None;
    }
    let x = f64::from(v) * inv;
    let t = x as i64;
    let k = t - i64::from((t as f64) > x);
    Some((k + HALF).clamp(0, BINS as i64 - 1) as usize)
}

/// The smallest exponent e ≥ [`MIN_EXP`] with `abs_max < HALF · 2^e`.
fn exp_for(abs_max: f64) -> i32 {
    let mut e = MIN_EXP;
    if abs_max > 0.0 {
        e = e.max((abs_max / HALF as f64).log2().floor() as i32);
    }
    while abs_max >= HALF as f64 * 2f64.powi(e) {
        e += 1;
    }
    while e > MIN_EXP && abs_max < HALF as f64 * 2f64.powi(e - 1) {
        e -= 1;
    }
    e
}

impl Histogram {
    /// Values counted.
    pub(super) fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Widens the bins to 2^`exp` (no-op when they are as wide already).
    fn widen(&mut self, exp: i32) {
        if self.counts.is_empty() {
            self.counts = vec![0; BINS];
            self.exp = exp;
            return;
        }
        if exp <= self.exp {
            return;
        }
        let shift = (exp - self.exp).min(62) as u32;
        let mut counts = vec![0; BINS];
        for (i, &c) in self.counts.iter().enumerate() {
            if c > 0 {
                let k = i as i64 - HALF;
                counts[((k >> shift) + HALF) as usize] += c;
            }
        }
        self.counts = counts;
        self.exp = exp;
    }

    /// Adds the finite `values`, whose largest magnitude is `abs_max`.
    pub(super) fn add(&mut self, values: &[f32], abs_max: f32) {
        self.widen(exp_for(f64::from(abs_max)));
        let inv = 2f64.powi(-self.exp);
        if values.len() < LANE_MIN {
            for &v in values {
                if let Some(i) = bin(v, inv) {
                    self.counts[i] += 1;
                }
            }
            return;
        }
        // Most activations fall in a few bins (a ReLU's zeros): four lanes
        // of counts keep the increments of one bin off one dependency chain.
        SCRATCH.with_borrow_mut(|lanes| {
            lanes.clear();
            lanes.resize(4 * BINS, 0);
            let (a, rest) = lanes.split_at_mut(BINS);
            let (b, rest) = rest.split_at_mut(BINS);
            let (c, d) = rest.split_at_mut(BINS);
            for chunk in values.chunks(1 << 20) {
                let quads = chunk.chunks_exact(4);
                for v in quads.remainder() {
                    if let Some(i) = bin(*v, inv) {
                        a[i] += 1;
                    }
                }
                for q in quads {
                    if let Some(i) = bin(q[0], inv) {
                        a[i] += 1;
                    }
                    if let Some(i) = bin(q[1], inv) {
                        b[i] += 1;
                    }
                    if let Some(i) = bin(q[2], inv) {
                        c[i] += 1;
                    }
                    if let Some(i) = bin(q[3], inv) {
                        d[i] += 1;
                    }
                }
                // u32 lanes: a chunk of 2^20 values cannot overflow them.
                for (i, total) in self.counts.iter_mut().enumerate() {
                    *total += u64::from(a[i]) + u64::from(b[i]) + u64::from(c[i]) + u64::from(d[i]);
                    (a[i], b[i], c[i], d[i]) = (0, 0, 0, 0);
                }
            }
        });
    }

    /// Adds every count of `other`.
    pub(super) fn merge(&mut self, other: &Histogram) {
        if other.counts.is_empty() {
            return;
        }
        let mut other = other.clone();
        let exp = self.exp.max(other.exp);
        if self.counts.is_empty() {
            *self = other;
            return;
        }
        self.widen(exp);
        other.widen(exp);
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    /// The value below which a share `q` (0–1) of the values lie, linear
    /// within its bin; 0 without values.
    #[cfg(test)]
    pub(super) fn quantile(&self, q: f64) -> f64 {
        let total = self.total();
        if total == 0 {
            return 0.0;
        }
        let width = 2f64.powi(self.exp);
        let target = q.clamp(0.0, 1.0) * total as f64;
        let mut seen = 0.0;
        for (i, &c) in self.counts.iter().enumerate() {
            if c == 0 {
                continue;
            }
            let next = seen + c as f64;
            if next >= target {
                let left = (i as i64 - HALF) as f64 * width;
                return left + width * ((target - seen) / c as f64).clamp(0.0, 1.0);
            }
            seen = next;
        }
        let last = self.counts.iter().rposition(|&c| c > 0).unwrap_or(0);
        (last as i64 - HALF + 1) as f64 * width
    }

    /// The magnitude below which a share `q` (0–1) of the values' magnitudes
    /// lie, linear within its bin: bins k and −k−1 hold the magnitudes in
    /// [k·w, (k+1)·w).
    pub(super) fn abs_quantile(&self, q: f64) -> f64 {
        let total = self.total();
        if total == 0 {
            return 0.0;
        }
        let width = 2f64.powi(self.exp);
        let target = q.clamp(0.0, 1.0) * total as f64;
        let half = HALF as usize;
        let mut seen = 0.0;
        let mut last = 0;
        for k in 0..half {
            let c = self.counts[half + k] + self.counts[half - 1 - k];
            if c == 0 {
                continue;
            }
            last = k;
            let next = seen + c as f64;
            if next >= target {
                return (k as f64 + ((target - seen) / c as f64).clamp(0.0, 1.0)) * width;
            }
            seen = next;
        }
        (last + 1) as f64 * width
    }

    /// The percentile range as ONNX Runtime's `quantize_static` calibrates
    /// it (`Percentile` is symmetric unless `CalibTensorRangeSymmetric` says
    /// otherwise) and TensorRT's percentile calibrators take their amax: T,
    /// the `p` (e.g. 99.999) percentile of the magnitudes, gives
    /// `[max(−T, min), min(T, max)]`.
    pub(super) fn percentile_range(&self, p: f64, min: f32, max: f32) -> [f32; 2] {
        let t = self.abs_quantile(p / 100.0) as f32;
        [(-t).max(min).min(max), t.min(max).max(min)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, scale: f32) -> Vec<f32> {
        let mut x = 0x1234_5678u32;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x as f32 / u32::MAX as f32 - 0.3) * scale
            })
            .collect()
    }

    fn hist(parts: &[&[f32]]) -> Histogram {
        let mut h = Histogram::default();
        for p in parts {
            h.add(p, Summary::of(p).abs_max());
        }
        h
    }

    #[test]
    fn the_order_and_split_of_the_values_do_not_change_the_histogram() {
        // One part long enough for the lanes, two counted straight.
        let (a, b, c) = (values(50_000, 1.0), values(3000, 40.0), values(200, 0.01));
        let one = hist(&[&a, &b, &c]);
        let other = hist(&[&c, &b, &a]);
        assert_eq!(one, other);
        let mut merged = hist(&[&c]);
        merged.merge(&hist(&[&b]));
        merged.merge(&hist(&[&a]));
        assert_eq!(one, merged);
        assert_eq!(one.total(), 53_200);
        // The same values in short parts (no lanes), all at the final width.
        let mut straight = Histogram::default();
        for part in a.chunks(1000).chain([&b[..], &c[..]]) {
            straight.add(part, Summary::of(&b).abs_max());
        }
        assert_eq!(straight, one);
    }

    #[test]
    fn every_value_lands_inside_the_range() {
        for scale in [1e-30f32, 1e-3, 1.0, 3.0e5, 1e30] {
            let v = values(1000, scale);
            let h = hist(&[&v]);
            assert_eq!(h.total(), 1000);
            let s = Summary::of(&v);
            let width = 2f64.powi(h.exp);
            assert!(f64::from(s.abs_max()) < HALF as f64 * width, "{scale}");
            // Not needlessly coarse: the range is under twice the magnitude.
            assert!(
                f64::from(s.abs_max()) >= HALF as f64 * width / 2.0 || h.exp == MIN_EXP,
                "{scale}"
            );
        }
    }

    #[test]
    fn quantiles_match_the_sorted_values_within_a_bin() {
        let v = values(100_000, 10.0);
        let h = hist(&[&v]);
        let mut sorted = v.clone();
        sorted.sort_by(f32::total_cmp);
        let width = 2f64.powi(h.exp);
        for q in [0.00001, 0.01, 0.5, 0.99, 0.99999] {
            let exact =
                f64::from(sorted[((q * sorted.len() as f64) as usize).min(sorted.len() - 1)]);
            assert!((h.quantile(q) - exact).abs() <= width, "{q}");
        }
        let mut mags: Vec<f64> = v.iter().map(|x| f64::from(x.abs())).collect();
        mags.sort_by(f64::total_cmp);
        for q in [0.5, 0.999, 0.99999] {
            let exact = mags[((q * mags.len() as f64) as usize).min(mags.len() - 1)];
            assert!((h.abs_quantile(q) - exact).abs() <= width, "{q}");
        }
        // Values in [-3, 7]: T = 99.999 % of the magnitudes is near 7, and
        // the range is clamped to the values' own bounds.
        let s = Summary::of(&v);
        let [lo, hi] = h.percentile_range(99.999, s.min, s.max);
        assert_eq!(lo, s.min);
        assert!(
            hi <= s.max && hi > s.max - 2.0 * width as f32,
            "{hi} {}",
            s.max
        );
        let relu: Vec<f32> = v.iter().map(|x| x.max(0.0)).collect();
        let r = hist(&[&relu]).percentile_range(99.0, 0.0, s.max);
        assert_eq!(r[0], 0.0);
    }

    #[test]
    fn bins_are_the_floor_of_the_scaled_value_at_every_edge() {
        let mut h = Histogram::default();
        // abs_max 1 → exp = -10 (1 < 2048 · 2^-10): bins of 1/1024; -1/1024
        // and the tiniest negative are in bin −1, 0 in bin 0.
        let w = 1.0 / 1024.0;
        h.add(&[-w, -1e-30, 0.0, w, 1.0 - w, 1.0, -1.0], 1.0);
        let at = |k: i64| h.counts[(k + HALF) as usize];
        assert_eq!(h.exp, -10);
        assert_eq!(
            (at(-1), at(0), at(1), at(1023), at(1024), at(-1024)),
            (2, 1, 1, 1, 1, 1)
        );
    }

    #[test]
    fn summaries_do_not_depend_on_the_lanes() {
        let v = values(1003, 5.0);
        let s = Summary::of(&v);
        let exact: f64 = v.iter().map(|&x| f64::from(x)).sum();
        assert!((s.sum - exact).abs() < 1e-9, "{} {exact}", s.sum);
        assert_eq!(s.min, v.iter().copied().fold(f32::INFINITY, f32::min));
        assert_eq!(s.max, v.iter().copied().fold(f32::NEG_INFINITY, f32::max));
        let mut with_nan = v.clone();
        with_nan[500] = f32::NAN;
        assert_eq!(Summary::of(&with_nan).count, 1002);
    }

    #[test]
    fn non_finite_values_are_counted_apart() {
        let v = [1.0, f32::NAN, -2.0, f32::INFINITY];
        let s = Summary::of(&v);
        assert_eq!((s.min, s.max, s.count, s.non_finite), (-2.0, 1.0, 2, 2));
        assert_eq!(hist(&[&v]).total(), 2);
        let empty = Summary::of(&[f32::NAN]);
        assert_eq!((empty.count, empty.abs_max()), (0, 0.0));
        assert_eq!(Histogram::default().quantile(0.5), 0.0);
    }
}
