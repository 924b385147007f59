//! A BK-tree over perceptual hashes under Hamming distance: finds every hash
//! within a radius without comparing all pairs.

use crate::features::PHash;

/// A BK-tree of `(hash, id)` items.
#[derive(Debug, Default)]
pub struct BkTree {
    nodes: Vec<Node>,
}

#[derive(Debug)]
struct Node {
    hash: PHash,
    id: usize,
    children: Vec<(u32, usize)>,
}

impl BkTree {
    /// Adds `hash` under `id`.
    pub fn insert(&mut self, hash: PHash, id: usize) {
        let new = self.nodes.len();
        self.nodes.push(Node {
            hash,
            id,
            children: Vec::new(),
        });
        if new == 0 {
            return;
        }
        let mut at = 0;
        loop {
            let d = self.nodes[at].hash.distance(hash);
            match self.nodes[at].children.iter().find(|(cd, _)| *cd == d) {
                Some(&(_, child)) => at = child,
                None => {
                    self.nodes[at].children.push((d, new));
                    return;
                }
            }
        }
    }

    /// Calls `found(id, distance)` for every item within `radius` of `hash`.
    pub fn within(&self, hash: PHash, radius: u32, mut found: impl FnMut(usize, u32)) {
        if self.nodes.is_empty() {
            return;
        }
        let mut stack = vec![0usize];
        while let Some(at) = stack.pop() {
            let node = &self.nodes[at];
            let d = node.hash.distance(hash);
            if d <= radius {
                found(node.id, d);
            }
            let (lo, hi) = (d.saturating_sub(radius), d + radius);
            stack.extend(
                node.children
                    .iter()
                    .filter(|(cd, _)| (lo..=hi).contains(cd))
                    .map(|&(_, c)| c),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exactly_the_items_within_radius() {
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        let hashes: Vec<u64> = (0..500)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                if i % 5 == 0 {
                    s
                } else {
                    s & 0xFFFF_0000_FFFF_FFFF
                }
            })
            .collect();
        let mut tree = BkTree::default();
        for (i, &h) in hashes.iter().enumerate() {
            tree.insert(PHash(h), i);
        }
        for radius in [0, 3, 10, 20] {
            for (q, &hq) in hashes.iter().enumerate().step_by(37) {
                let mut got = Vec::new();
                tree.within(PHash(hq), radius, |id, _| got.push(id));
                got.sort_unstable();
                let want: Vec<usize> = (0..hashes.len())
                    .filter(|&i| (hashes[i] ^ hq).count_ones() <= radius)
                    .collect();
                assert_eq!(got, want, "query {q} radius {radius}");
            }
        }
    }
}
