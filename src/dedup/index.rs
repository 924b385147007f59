//! Every pair of 64-bit perceptual hashes within a Hamming radius, exactly, without
//! comparing all pairs: multi-index hashing (Norouzi, Punjani and Fleet, CVPR 2012).
//!
//! The 64 bits are cut into five chunks (four of 13 bits, one of 12), and each
//! chunk has a table of the hashes sorted by that chunk's value. Two hashes at most
//! `r` bits apart differ in at most `⌊r/5⌋` bits of at least one chunk
//! (pigeonhole), so a query looks only in the buckets whose value is that close to
//! its own chunk — 92 of the 8,192 at the near-duplicate radius 14, 14 at radius 8
//! — and compares the hashes stored there, side by side in memory. A pair is
//! reported by the first chunk in which it is that close, so once; and each chunk
//! looks at a pair from one side only (the member with the lower chunk value, or
//! the earlier one in a shared bucket), which halves the probes and comparisons of
//! a plain query-by-query walk.
//!
//! A BK-tree, the usual answer, prunes almost nothing at such radii on 64 bits (it
//! compared 100,000 hashes in 97–136 CPU-s where a plain scan took 6.4). Here the
//! work per query is the probes plus the hashes in the probed buckets, about
//! `n · 92 / 8,192 / 2` per chunk at radius 14 for spread-out hashes. Five narrow
//! chunks beat the four 16-bit ones multi-index hashing's rule of thumb
//! (`log2 n` bits per chunk) gives at these sizes, because a probe is a random
//! lookup while the hashes of a bucket are tested four to a vector instruction:
//! at radius 14, 4 × 697 probes cost 1.1 s on 100,000 synthetic hashes where
//! 5 × 92 cost 0.22 s (one thread; 14.0 s against 6.9 s on 1,000,000; six
//! chunks of 10–11 bits were slower again). Radii above 19 would probe hundreds
//! of buckets per chunk, and most pairs are that close anyway, so they scan all
//! pairs.
//!
//! Memory: per hash, one 8-byte hash and one 4-byte id per chunk (60 bytes), plus
//! five tables of 8,193 bucket offsets (160 KiB).

use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

/// Bits of every chunk but the last.
const CHUNK_BITS: u32 = 13;
/// Chunks per hash: four of [`CHUNK_BITS`] and a last one of the 12 bits left.
const CHUNKS: usize = 5;
/// Largest radius searched through the chunk tables (at most 3 bits per chunk);
/// beyond it, all pairs.
const MAX_INDEXED_RADIUS: u32 = 4 * CHUNKS as u32 - 1;

/// An index of 64-bit hashes, each known by its position in the slice it was
/// built from, that finds every hash within a Hamming radius of another.
#[derive(Debug, Clone)]
pub struct HashIndex {
    /// One table per chunk (each holds every hash, so no id-ordered copy is kept).
    tables: Vec<Table>,
}

/// The hashes sorted by one chunk's value, with where each value's run starts.
#[derive(Debug, Clone)]
struct Table {
    /// `offsets[v]..offsets[v + 1]` is the run of chunk value `v`.
    offsets: Vec<u32>,
    /// The hashes, in chunk-value order (then id order).
    hashes: Vec<u64>,
    /// The id of each of `hashes`.
    ids: Vec<u32>,
}

/// Bits in chunk `c`.
const fn width(c: usize) -> u32 {
    if c + 1 < CHUNKS {
        CHUNK_BITS
    } else {
        64 - CHUNK_BITS * (CHUNKS as u32 - 1)
    }
}

/// The value of chunk `c` of `hash`.
fn chunk(hash: u64, c: usize) -> usize {
    ((hash >> (c as u32 * CHUNK_BITS)) & ((1 << width(c)) - 1)) as usize
}

/// Every mask of `width` bits with at most `bits` set, fewest bits first.
fn masks(width: u32, bits: u32) -> Vec<u16> {
    let mut m: Vec<u16> = (0..1u32 << width)
        .filter(|v| v.count_ones() <= bits)
        .map(|v| v as u16)
        .collect();
    m.sort_by_key(|v| (v.count_ones(), *v));
    m
}

impl Table {
    fn new(hashes: &[u64], c: usize) -> Self {
        let values = 1usize << width(c);
        let mut offsets = vec![0u32; values + 1];
        for &h in hashes {
            offsets[chunk(h, c) + 1] += 1;
        }
        for v in 0..values {
            offsets[v + 1] += offsets[v];
        }
        let mut next = offsets.clone();
        let mut sorted = vec![0u64; hashes.len()];
        let mut ids = vec![0u32; hashes.len()];
        for (id, &h) in hashes.iter().enumerate() {
            let slot = &mut next[chunk(h, c)];
            sorted[*slot as usize] = h;
            ids[*slot as usize] = id as u32;
            *slot += 1;
        }
        Table {
            offsets,
            hashes: sorted,
            ids,
        }
    }
}

impl HashIndex {
    /// Indexes `hashes`; the id of each is its position.
    ///
    /// # Panics
    /// With more than `u32::MAX` hashes.
    pub fn new(hashes: Vec<u64>) -> Self {
        assert!(
            u32::try_from(hashes.len()).is_ok(),
            "at most u32::MAX hashes"
        );
        let tables = (0..CHUNKS).map(|c| Table::new(&hashes, c)).collect();
        HashIndex { tables }
    }

    /// The number of hashes indexed.
    pub fn len(&self) -> usize {
        self.tables[0].hashes.len()
    }

    /// Bytes the index holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        let table = |t: &Table| t.offsets.len() * 4 + t.hashes.len() * 8 + t.ids.len() * 4;
        self.tables.iter().map(table).sum::<usize>()
    }

    /// Whether no hash is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every pair of ids `(i, j)`, `i < j`, whose hashes are within `radius`
    /// bits, each once, sorted. Runs on the rayon pool; returns early (with the
    /// pairs found so far) once `stop` is set.
    ///
    /// Each chunk's table is walked in its own order, so consecutive queries
    /// probe neighbouring buckets and the bucket offsets stay in cache.
    pub fn pairs(&self, radius: u32, stop: &AtomicBool) -> Vec<(u32, u32)> {
        const BLOCK: usize = 2048;
        let n = self.len();
        let mut pairs: Vec<(u32, u32)> = if radius > MAX_INDEXED_RADIUS {
            let Table { hashes, ids, .. } = &self.tables[0];
            (0..n)
                .into_par_iter()
                .flat_map_iter(|p| {
                    let (q, i) = (hashes[p], ids[p]);
                    let live = !stop.load(Ordering::Relaxed);
                    hashes[p + 1..]
                        .iter()
                        .zip(&ids[p + 1..])
                        .filter(move |(h, _)| live && (q ^ **h).count_ones() <= radius)
                        .map(move |(_, &j)| (i.min(j), i.max(j)))
                })
                .collect()
        } else {
            let per_chunk = radius / CHUNKS as u32;
            let probes: Vec<Vec<u16>> = (0..CHUNKS).map(|c| masks(width(c), per_chunk)).collect();
            let probes = &probes;
            let blocks: Vec<(usize, usize)> = (0..CHUNKS)
                .flat_map(|c| (0..n.div_ceil(BLOCK)).map(move |b| (c, b * BLOCK)))
                .collect();
            blocks
                .into_par_iter()
                .flat_map_iter(|(c, from)| {
                    let mut found = Vec::new();
                    if !stop.load(Ordering::Relaxed) {
                        let block = Block {
                            chunk: c,
                            from,
                            to: (from + BLOCK).min(n),
                            radius,
                            probes: &probes[c],
                        };
                        self.walk_fast(&block, &mut found);
                    }
                    found.into_iter()
                })
                .collect()
        };
        pairs.par_sort_unstable();
        pairs
    }
}

/// One block of queries: the hashes at `from..to` of chunk `chunk`'s table.
struct Block<'a> {
    chunk: usize,
    from: usize,
    to: usize,
    radius: u32,
    /// The chunk values to probe, as masks on the query's own.
    probes: &'a [u16],
}

impl HashIndex {
    /// [`HashIndex::walk`] compiled for the CPU it runs on. The portable build
    /// targets x86-64 v1: without POPCNT, `count_ones` takes a dozen
    /// instructions in the innermost loop, and without AVX2 the bucket test is
    /// not vectorised. On 1,000,000 hashes at radius 14, with four 16-bit
    /// chunks, the search took 58 s portable, 38 s with POPCNT and, with the
    /// halved work of [`HashIndex::walk`], 9.5 s with AVX2.
    fn walk_fast(&self, block: &Block, found: &mut Vec<(u32, u32)>) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("popcnt")
        {
            // SAFETY: the CPU supports all four, checked just above.
            unsafe { self.walk_avx512(block, found) };
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("popcnt")
        {
            // SAFETY: the CPU supports AVX2 and POPCNT, checked just above.
            unsafe { self.walk_avx2(block, found) };
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU supports POPCNT, checked just above.
            unsafe { self.walk_popcnt(block, found) };
            return;
        }
        self.walk(block, found);
    }

    /// With AVX-512's vector population count the bucket test counts eight
    /// hashes' bits per instruction: 1,000,000 hashes at radius 14 in 3.5 s
    /// where AVX2 took 6.5 s (two threads).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512vpopcntdq,avx2,popcnt")]
    fn walk_avx512(&self, block: &Block, found: &mut Vec<(u32, u32)>) {
        self.walk(block, found);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,popcnt")]
    fn walk_avx2(&self, block: &Block, found: &mut Vec<(u32, u32)>) {
        self.walk(block, found);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    fn walk_popcnt(&self, block: &Block, found: &mut Vec<(u32, u32)>) {
        self.walk(block, found);
    }

    /// Pushes every pair within the radius that this chunk is the first to find
    /// and whose earlier member, in this table's order, lies in `block`. Each
    /// pair is looked at once per chunk: from the member with the lower chunk
    /// value, or the earlier one in a shared bucket.
    #[inline(always)]
    fn walk(&self, block: &Block, found: &mut Vec<(u32, u32)>) {
        let c = block.chunk;
        let per_chunk = block.radius / CHUNKS as u32;
        let close = |x: u64, e: usize| (chunk(x, e) as u16).count_ones() <= per_chunk;
        let table = &self.tables[c];
        for pos in block.from..block.to {
            let (q, i) = (table.hashes[pos], table.ids[pos]);
            let value = chunk(q, c);
            for &mask in block.probes {
                let v = value ^ usize::from(mask);
                let lo = match v.cmp(&value) {
                    std::cmp::Ordering::Less => continue,
                    std::cmp::Ordering::Equal => pos + 1,
                    std::cmp::Ordering::Greater => table.offsets[v] as usize,
                };
                let hi = table.offsets[v + 1] as usize;
                // Most buckets hold no hit: one branch-free pass (vectorised
                // with AVX2) rules them out before the loop that reports.
                let bucket = &table.hashes[lo..hi];
                if !bucket.iter().fold(false, |any, &h| {
                    any | ((q ^ h).count_ones() <= block.radius)
                }) {
                    continue;
                }
                for (&h, &j) in bucket.iter().zip(&table.ids[lo..hi]) {
                    let x = q ^ h;
                    // Found here only if no earlier chunk is as close (that
                    // chunk found it already).
                    if x.count_ones() <= block.radius && !(0..c).any(|e| close(x, e)) {
                        found.push((i.min(j), i.max(j)));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Clusters of near copies (a few bits flipped) among uniform noise.
    fn hashes(n: usize) -> Vec<u64> {
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let base = next();
            out.push(base);
            if base % 3 == 0 {
                for _ in 0..(next() % 6) {
                    let mut h = base;
                    for _ in 0..(next() % 14) {
                        h ^= 1 << (next() % 64);
                    }
                    out.push(h);
                }
            }
        }
        out.truncate(n);
        out
    }

    fn brute(hashes: &[u64], radius: u32) -> Vec<(usize, usize, u32)> {
        let mut want = Vec::new();
        for i in 0..hashes.len() {
            for j in i + 1..hashes.len() {
                let d = (hashes[i] ^ hashes[j]).count_ones();
                if d <= radius {
                    want.push((i, j, d));
                }
            }
        }
        want
    }

    /// `pairs` as `(i, j, distance)`, the form [`brute`] gives.
    fn with_distances(hashes: &[u64], pairs: Vec<(u32, u32)>) -> Vec<(usize, usize, u32)> {
        pairs
            .into_iter()
            .map(|(i, j)| {
                let (i, j) = (i as usize, j as usize);
                (i, j, (hashes[i] ^ hashes[j]).count_ones())
            })
            .collect()
    }

    #[test]
    fn finds_every_pair_within_the_radius_once() {
        let hs = hashes(3000);
        let index = HashIndex::new(hs.clone());
        assert_eq!(index.len(), 3000);
        for radius in [0, 3, 4, 5, 7, 8, 12, 14, 15, 16, 19, 20, 24] {
            let got = with_distances(&hs, index.pairs(radius, &AtomicBool::new(false)));
            let want = brute(&hs, radius);
            assert!(radius < 12 || want.len() > 500, "{} pairs", want.len());
            assert_eq!(got, want, "radius {radius}");
        }
    }

    #[test]
    fn the_portable_walk_finds_what_the_dispatched_one_does() {
        let hs = hashes(3000);
        let index = HashIndex::new(hs.clone());
        let radius = 14;
        let (mut portable, mut fast) = (Vec::new(), Vec::new());
        for c in 0..CHUNKS {
            let block = Block {
                chunk: c,
                from: 0,
                to: hs.len(),
                radius,
                probes: &masks(width(c), radius / CHUNKS as u32),
            };
            index.walk(&block, &mut portable);
            index.walk_fast(&block, &mut fast);
        }
        portable.sort_unstable();
        fast.sort_unstable();
        assert_eq!(with_distances(&hs, portable), brute(&hs, radius));
        assert_eq!(with_distances(&hs, fast), brute(&hs, radius));
    }

    #[test]
    fn equal_hashes_and_chunk_boundaries() {
        // Chunks start at bits 0, 13, 26, 39 and 52 (the last has 12 bits).
        let bits = |list: &[u32]| list.iter().fold(0u64, |m, &b| m | 1 << b);
        let base = 0x0123_4567_89AB_CDEFu64;
        // 14 bits: 3 in each of the first four chunks, 2 in the last, so only
        // the last chunk is within ⌊14/5⌋ = 2 bits; found at radius 14.
        let only_last = base ^ bits(&[0, 1, 2, 13, 14, 15, 26, 27, 28, 39, 40, 41, 52, 63]);
        // 15 bits, 3 per chunk: beyond 14.
        let far = only_last ^ bits(&[62]);
        // 10 bits in the 12-bit chunk alone, and 2 bits straddling a boundary.
        let one_chunk = base ^ bits(&[52, 53, 54, 55, 56, 57, 58, 59, 60, 61]);
        let straddle = base ^ bits(&[12, 13]);
        let hs = vec![base, base, only_last, far, one_chunk, straddle];
        let index = HashIndex::new(hs.clone());
        for radius in [2, 10, 13, 14, 15] {
            let got = with_distances(&hs, index.pairs(radius, &AtomicBool::new(false)));
            assert_eq!(got, brute(&hs, radius), "radius {radius}");
        }
        let got = with_distances(&hs, index.pairs(14, &AtomicBool::new(false)));
        assert!(got.contains(&(0, 1, 0)) && got.contains(&(0, 2, 14)) && got.contains(&(1, 5, 2)));
        assert!(
            !got.iter().any(|&(i, j, _)| i < 2 && j == 3),
            "15 bits apart: {got:?}"
        );
    }

    #[test]
    fn empty_and_single() {
        assert!(HashIndex::new(Vec::new()).is_empty());
        let none = AtomicBool::new(false);
        assert!(HashIndex::new(vec![7]).pairs(12, &none).is_empty());
        assert_eq!(HashIndex::new(vec![7, 7]).pairs(0, &none), vec![(0, 1)]);
        let stopped = AtomicBool::new(true);
        assert!(HashIndex::new(vec![7, 7]).pairs(0, &stopped).is_empty());
    }
}
