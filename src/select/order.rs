//! Preference order inside a bucket: spread across cameras and across time.
//!
//! Images are grouped by camera (or by folder when no camera is known) and each
//! group is kept in path order (time order for frame sequences). A group is
//! visited in bit-reversal order with a seeded rotation, so its first picks are
//! far apart in time (½, ¼, ¾, …) rather than the first N frames. Groups are
//! interleaved round-robin in a seeded order, so every camera is reached early.

use std::collections::BTreeMap;

use crate::pool::PoolImage;
use crate::rng::SplitMix64;

/// Positions `0..n` in bit-reversal order rotated by `offset`: a low-discrepancy
/// visit of a sequence.
pub fn spread(n: usize, offset: u64) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let m = n.next_power_of_two();
    let bits = m.trailing_zeros();
    let offset = (offset % m as u64) as usize;
    (0..m)
        .map(|k| {
            let r = if bits == 0 {
                0
            } else {
                k.reverse_bits() >> (usize::BITS - bits)
            };
            (r + offset) % m
        })
        .filter(|&i| i < n)
        .collect()
}

/// Orders `members` (indices into `images`, in path order) for picking; the
/// result's position is each image's preference rank.
pub fn preference(images: &[PoolImage], members: &[usize], rng: &mut SplitMix64) -> Vec<usize> {
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for &i in members {
        let img = &images[i];
        let key = match &img.labels.camera {
            Some(c) => format!("camera:{c}"),
            None => format!("folder:{}", img.folder().display()),
        };
        groups.entry(key).or_default().push(i);
    }
    let mut queues: Vec<Vec<usize>> = groups
        .into_values()
        .map(|g| {
            let offset = rng.next_u64();
            spread(g.len(), offset).into_iter().map(|k| g[k]).collect()
        })
        .collect();
    rng.shuffle(&mut queues);
    let mut out = Vec::with_capacity(members.len());
    let mut cursors = vec![0usize; queues.len()];
    while out.len() < members.len() {
        for (q, cursor) in queues.iter().zip(cursors.iter_mut()) {
            if let Some(&i) = q.get(*cursor) {
                out.push(i);
                *cursor += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_a_permutation_that_starts_far_apart() {
        for n in [1, 2, 5, 8, 13, 100] {
            for offset in [0, 3, 77] {
                let mut s = spread(n, offset);
                assert_eq!(s.len(), n);
                if n >= 8 {
                    let mut quarters: Vec<usize> = s[..4].iter().map(|&i| i * 4 / n).collect();
                    quarters.dedup();
                    quarters.sort_unstable();
                    quarters.dedup();
                    assert!(quarters.len() >= 3, "n={n} first four {:?}", &s[..4]);
                }
                s.sort_unstable();
                assert_eq!(s, (0..n).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn prng_is_stable() {
        let mut a = SplitMix64::new(7, 1);
        let mut b = SplitMix64::new(7, 1);
        let mut c = SplitMix64::new(7, 2);
        let (x, y, z) = (a.next_u64(), b.next_u64(), c.next_u64());
        assert_eq!(x, y);
        assert_ne!(x, z);
        let mut v: Vec<u32> = (0..10).collect();
        SplitMix64::new(1, 0).shuffle(&mut v);
        let mut w: Vec<u32> = (0..10).collect();
        SplitMix64::new(1, 0).shuffle(&mut w);
        assert_eq!(v, w);
        assert_ne!(v, (0..10).collect::<Vec<_>>());
    }
}
