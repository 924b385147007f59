//! Preference order inside a bucket: spread across cameras and across time.
//!
//! Images are grouped by camera (images without one form one group) and each
//! group is kept in path order (time order for frame sequences). A group is
//! visited in bit-reversal order with a seeded rotation, so its first picks are
//! far apart in time (½, ¼, ¾, …) rather than the first N frames. Groups take
//! turns by [`Balance`]: by default in proportion to their distinct images, so
//! the set's camera mix follows the pool's (domain rule 1: match deployment).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::pool::PoolImage;
use crate::rng::SplitMix64;

/// Positions `0..n` in bit-reversal order rotated by `offset`: a low-discrepancy
/// visit of a sequence.
pub(super) fn spread(n: usize, offset: u64) -> Vec<usize> {
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

/// How a bucket's picks are shared among cameras.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Balance {
    /// In proportion to each camera's distinct images in the bucket: the set's
    /// camera mix matches the pool's (default).
    #[default]
    Proportional,
    /// The same for every camera, whatever its size.
    Equal,
    /// In proportion to these weights (cameras not listed weigh 1; images
    /// without a camera weigh as the `-` entry, else 1).
    Weights(BTreeMap<String, f64>),
}

/// The group an image's picks are shared in: its camera, or `-` for none.
pub(super) fn group_of(img: &PoolImage) -> &str {
    img.labels.camera.as_deref().unwrap_or(NO_CAMERA)
}

/// The group of images without a camera.
pub(super) const NO_CAMERA: &str = "-";

/// Orders `members` (indices into `images`, in path order) for picking; the
/// result's position is each image's preference rank.
///
/// Images are grouped by camera (those without one form one group, inside
/// which folders take turns). Each group is visited in bit-reversal order with
/// a seeded rotation, so its first picks are far apart in time. Groups take
/// turns by `balance`: the next pick goes to the group whose share so far is
/// furthest below its weight (Sainte-Laguë: smallest `(taken + ½) / weight`),
/// ties in a seeded order.
pub(super) fn preference(
    images: &[PoolImage],
    members: &[usize],
    balance: &Balance,
    rng: &mut SplitMix64,
) -> Vec<usize> {
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for &i in members {
        groups.entry(group_of(&images[i])).or_default().push(i);
    }
    let mut queues: Vec<(f64, Vec<usize>)> = groups
        .into_iter()
        .map(|(name, g)| {
            let weight = match balance {
                Balance::Proportional => g.len() as f64,
                Balance::Equal => 1.0,
                Balance::Weights(w) => w.get(name).copied().unwrap_or(1.0),
            };
            let order = if name == NO_CAMERA {
                by_folder(images, &g, rng)
            } else {
                spread_group(&g, rng)
            };
            (weight, order)
        })
        .collect();
    rng.shuffle(&mut queues);
    interleave(&queues, members.len())
}

/// A group's members in seeded bit-reversal order.
fn spread_group(g: &[usize], rng: &mut SplitMix64) -> Vec<usize> {
    let offset = rng.next_u64();
    spread(g.len(), offset).into_iter().map(|k| g[k]).collect()
}

/// Images without a camera: each folder spread in time, folders taking turns.
fn by_folder(images: &[PoolImage], g: &[usize], rng: &mut SplitMix64) -> Vec<usize> {
    let mut folders: BTreeMap<&std::path::Path, Vec<usize>> = BTreeMap::new();
    for &i in g {
        folders.entry(images[i].folder()).or_default().push(i);
    }
    let queues: Vec<(f64, Vec<usize>)> = folders
        .into_values()
        .map(|f| (1.0, spread_group(&f, rng)))
        .collect();
    interleave(&queues, g.len())
}

/// Merges weighted queues: each next item comes from the non-empty queue with
/// the smallest `(taken + ½) / weight` (queue order breaks ties); queues of
/// weight 0 come last.
fn interleave(queues: &[(f64, Vec<usize>)], n: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(n);
    let mut taken = vec![0usize; queues.len()];
    while out.len() < n {
        let next = queues
            .iter()
            .enumerate()
            .filter(|(q, (_, items))| taken[*q] < items.len())
            .min_by(|(a, (wa, _)), (b, (wb, _))| {
                let key = |q: usize, w: f64| {
                    if w > 0.0 {
                        (taken[q] as f64 + 0.5) / w
                    } else {
                        f64::INFINITY
                    }
                };
                key(*a, *wa).total_cmp(&key(*b, *wb)).then(a.cmp(b))
            })
            .map(|(q, _)| q);
        let Some(q) = next else { break };
        out.push(queues[q].1[taken[q]]);
        taken[q] += 1;
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
