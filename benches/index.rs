//! The near-duplicate index ([`calibset::HashIndex`]) on synthetic 64-bit
//! hashes: clusters of near copies (2–7 members, each a few bits from its
//! cluster's first hash) among uniform noise, as a pool of bursts and stills
//! hashes. For 10k, 100k and 1M hashes it prints the time to build the index and
//! to find every pair within the radius (all cores, as a build does), the pairs
//! found, and the index's bytes per hash.
//!
//! `cargo bench --bench index [-- RADIUS...]` (default radii 8 and 14, the
//! near-duplicate candidate radius).

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use calibset::HashIndex;

/// A deterministic xorshift stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `n` hashes: half of them in clusters of near copies (up to 10 bits flipped
/// from the cluster's first hash), half uniform noise.
fn synthetic(n: usize) -> Vec<u64> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let base = rng.next();
        out.push(base);
        if rng.next().is_multiple_of(2) {
            for _ in 0..1 + rng.next() % 6 {
                let mut h = base;
                for _ in 0..rng.next() % 11 {
                    h ^= 1 << (rng.next() % 64);
                }
                out.push(h);
            }
        }
    }
    out.truncate(n);
    out
}

fn main() {
    let radii: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let radii = if radii.is_empty() { vec![8, 14] } else { radii };
    println!(
        "{:>9} {:>6} {:>9} {:>9} {:>11} {:>8}",
        "hashes", "radius", "build s", "pairs s", "pairs", "B/hash"
    );
    for n in [10_000, 100_000, 1_000_000] {
        let hashes = synthetic(n);
        for &radius in &radii {
            let t = Instant::now();
            let index = HashIndex::new(hashes.clone());
            let built = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let pairs = index.pairs(radius, &AtomicBool::new(false)).len();
            let searched = t.elapsed().as_secs_f64();
            println!(
                "{n:>9} {radius:>6} {built:>9.3} {searched:>9.3} {pairs:>11} {:>8.1}",
                index.heap_bytes() as f64 / n as f64
            );
        }
    }
}
