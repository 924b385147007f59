//! Duplicate removal: exact copies by content hash, near duplicates by
//! perceptual hash and thumbnail similarity.
//!
//! 1. **Exact** ([`exact_copies`], before sequence sampling): files with the same
//!    blake3 are one image, whatever their bucket; the best-labelled copy is kept
//!    (`exact_keep_order`), and if sampling drops it later, the copies went first.
//! 2. **Near**: candidate pairs are images within [`CANDIDATE_RADIUS`] bits of pHash
//!    (found with a multi-index hash table, [`HashIndex`], never all pairs) plus neighbouring frames of one folder;
//!    a candidate pair is a duplicate when its [`similarity`] reaches the threshold
//!    (or, with `max_distance`, when its pHashes are that close). Only images in
//!    the same [`Scope`] are compared: by default the same bucket and tag set, so a
//!    night frame is never a duplicate of its daytime twin.
//! 3. Duplicates are grouped ([`Grouping`]): by default the most central image
//!    (highest summed similarity to its duplicates, then more pixels, then higher
//!    JPEG quality, then path: [`keep_order`]) is kept and drops its own near
//!    duplicates, then the next most central undecided image, and so on; so every
//!    dropped image has a kept twin above the threshold and no two kept images are
//!    above it. `chain` instead drops whole connected components but one.

mod index;
pub(crate) mod sequence;
mod status;

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::label::{Origin, PerBucket};
use crate::pool::PoolImage;

pub(crate) use crate::features::{Signature, Signatures, similarity};
pub use index::HashIndex;
pub(crate) use sequence::{SequencePlan, SequenceSummary};
pub(crate) use status::ImageStatus;

/// pHash distance within which pairs are candidates for the similarity test.
///
/// On make-pool medium, 9 % of the pairs the similarity test accepts lie more
/// than 12 bits apart (up to 20); 14 finds 97 % of them and costs the same as
/// 12 in [`HashIndex`] (2 bits per 13-bit chunk). The median pHash sets exactly
/// 32 bits, so distances are even and 14 is 15. Wider radii added no fewer
/// leaks and, with all pairs tested, 6 cross-scene merges.
pub(crate) const CANDIDATE_RADIUS: u32 = 14;

/// When two images are near duplicates. Serialised as `{"similarity": 0.98}`
/// or `{"max_distance": 12}`, the similarity as the decimal the recipe wrote
/// (not its `f32` approximation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// Thumbnail similarity at or above this value (0–1).
    Similarity(f32),
    /// pHash Hamming distance at or below this many bits (0–64).
    MaxDistance(u32),
}

impl Default for Threshold {
    fn default() -> Self {
        Threshold::Similarity(0.98)
    }
}

impl Serialize for Threshold {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(1))?;
        match *self {
            Threshold::Similarity(v) => {
                // The shortest decimal that reads back as this f32 (0.98, not
                // 0.9800000190734863).
                let decimal: f64 = v.to_string().parse().unwrap_or(f64::from(v));
                map.serialize_entry("similarity", &decimal)?;
            }
            Threshold::MaxDistance(d) => map.serialize_entry("max_distance", &d)?,
        }
        map.end()
    }
}

impl Threshold {
    /// Whether two images whose signatures are `similarity` alike and whose
    /// pHashes are `distance` bits apart are near duplicates: the one test
    /// every pass (near duplicates, consecutive frames) applies.
    pub fn accepts(self, similarity: f32, distance: u32) -> bool {
        match self {
            Threshold::Similarity(t) => similarity >= t,
            Threshold::MaxDistance(d) => distance <= d,
        }
    }

    /// pHash distance within which pairs are tested at all.
    fn radius(self) -> u32 {
        match self {
            Threshold::Similarity(_) => CANDIDATE_RADIUS,
            Threshold::MaxDistance(d) => d,
        }
    }
}

/// Which images are compared with each other.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Any two images.
    Global,
    /// Images of the same bucket.
    Bucket,
    /// Images of the same bucket and the same tag set (default).
    #[default]
    Tags,
    /// Images of the same bucket, tag set and camera.
    Camera,
    /// Images of the same bucket and tag set in the same folder (frame sequence).
    Sequence,
}

/// How near-duplicate pairs become groups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Grouping {
    /// Each kept image takes its own near duplicates (default). Every dropped
    /// image is within the threshold of the image kept for it, and no two kept
    /// images are within the threshold of each other.
    #[default]
    Star,
    /// Connected components: a chain of pairwise near duplicates is one group,
    /// however far its ends drift apart. Removes the most.
    Chain,
}

/// `[dedup]` settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DedupSettings {
    /// `similarity` or `max_distance`. Default similarity 0.98.
    pub threshold: Threshold,
    /// `scope`. Default `tags`.
    pub scope: Scope,
    /// `exact`: drop byte-identical copies. Default true.
    pub exact: bool,
    /// `grouping`: star or chain. Default star.
    pub grouping: Grouping,
}

impl Default for DedupSettings {
    fn default() -> Self {
        DedupSettings {
            threshold: Threshold::default(),
            scope: Scope::default(),
            exact: true,
            grouping: Grouping::default(),
        }
    }
}

/// Why an image was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Removal {
    /// Byte-identical to the kept image.
    Exact {
        /// Index of the kept image.
        kept: usize,
    },
    /// In the same near-duplicate cluster as the kept image.
    Near {
        /// Index of the kept image.
        kept: usize,
    },
    /// A frame of a sequence outside the `every` sampling.
    NotSampled,
    /// A frame as alike as the threshold to the frame kept just before it.
    Consecutive {
        /// Index of the kept frame.
        kept: usize,
    },
}

/// The outcome of de-duplication over a pool.
#[derive(Debug, Clone, Default)]
pub struct Dedup {
    /// For each image, `None` when kept, or why it was dropped.
    pub removed: Vec<Option<Removal>>,
    /// For each image, the index of its cluster's kept image (itself when kept).
    pub cluster: Vec<usize>,
    /// Near-duplicate pairs accepted (edges of the clusters).
    pub near_pairs: usize,
    /// Candidate pairs tested.
    pub candidate_pairs: usize,
}

impl Dedup {
    /// Whether image `i` survives.
    pub fn is_kept(&self, i: usize) -> bool {
        self.removed[i].is_none()
    }

    /// The distinct images left per bucket (of `images`, the pool this
    /// de-duplicated).
    pub(crate) fn kept_per_bucket(&self, images: &[PoolImage]) -> PerBucket<usize> {
        let mut kept = PerBucket::<usize>::default();
        for (i, img) in images.iter().enumerate() {
            if self.is_kept(i)
                && let Some(b) = img.labels.bucket
            {
                kept[b] += 1;
            }
        }
        kept
    }

    /// Number of images dropped as exact copies.
    pub fn exact_removed(&self) -> usize {
        self.removed
            .iter()
            .filter(|r| matches!(r, Some(Removal::Exact { .. })))
            .count()
    }

    /// Number of images dropped as near duplicates.
    pub fn near_removed(&self) -> usize {
        self.removed
            .iter()
            .filter(|r| matches!(r, Some(Removal::Near { .. })))
            .count()
    }

    /// Clusters with more than one member, largest first: `(kept, members)`.
    pub fn groups(&self) -> Vec<(usize, Vec<usize>)> {
        let mut by_rep: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, &rep) in self.cluster.iter().enumerate() {
            by_rep.entry(rep).or_default().push(i);
        }
        let mut groups: Vec<_> = by_rep.into_iter().filter(|(_, m)| m.len() > 1).collect();
        groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
        groups
    }
}

/// The key two images must share to be compared under `scope`.
fn scope_key(img: &PoolImage, scope: Scope) -> String {
    let bucket = img.labels.bucket.map_or("", |b| b.as_str());
    let tags = || img.labels.tags_joined();
    match scope {
        Scope::Global => String::new(),
        Scope::Bucket => bucket.to_owned(),
        Scope::Tags => format!("{bucket}|{}", tags()),
        Scope::Camera => format!(
            "{bucket}|{}|{}",
            tags(),
            img.labels.camera.as_deref().unwrap_or("")
        ),
        Scope::Sequence => format!("{bucket}|{}|{}", tags(), img.folder().display()),
    }
}

/// Names people give copies: `x (1).jpg`, `x - Copy.jpg`, `x-copy.jpg`, `x_copy.jpg`.
fn looks_like_a_copy(img: &PoolImage) -> bool {
    let stem = img
        .file
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let numbered = stem
        .strip_suffix(')')
        .and_then(|s| s.rsplit_once(" ("))
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    numbered
        || ["copy", " - copy", "-copy", "_copy", " copy"]
            .iter()
            .any(|s| stem.ends_with(s))
}

/// Which of two byte-identical files to keep: the better-labelled one (manifest,
/// then annotations, rule, default), then a name that does not look like a copy,
/// then the shorter path, then path order.
fn exact_keep_order(a: &PoolImage, b: &PoolImage) -> std::cmp::Ordering {
    let rank = |o: Origin| match o {
        Origin::Manifest => 0,
        Origin::Annotation => 1,
        Origin::Rule(_) => 2,
        Origin::Default => 3,
        Origin::None => 4,
    };
    rank(a.labels.origin)
        .cmp(&rank(b.labels.origin))
        .then(looks_like_a_copy(a).cmp(&looks_like_a_copy(b)))
        .then(
            a.file
                .path
                .as_os_str()
                .len()
                .cmp(&b.file.path.as_os_str().len()),
        )
        .then(a.file.path.cmp(&b.file.path))
}

/// Which cluster member to keep: highest centrality, then more pixels, then
/// higher JPEG quality, then path order. `Less` means "keep `a`".
pub(crate) fn keep_order(a: (&PoolImage, f64), b: (&PoolImage, f64)) -> std::cmp::Ordering {
    let q = |i: &PoolImage| i.features.quality.jpeg_quality.unwrap_or(101);
    b.1.total_cmp(&a.1)
        .then(b.0.features.pixels().cmp(&a.0.features.pixels()))
        .then(q(b.0).cmp(&q(a.0)))
        .then(a.0.file.path.cmp(&b.0.file.path))
}

/// The three passes over `images` (in path order): exact copies, then sequence
/// sampling under `sequences` (one frame per window, consecutive duplicates),
/// then near duplicates; looks at `cancel` as it goes.
pub(crate) fn run(
    images: &[PoolImage],
    settings: &DedupSettings,
    sequences: &SequencePlan,
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<(Dedup, SequenceSummary), crate::cancel::Interrupted> {
    let exact = exact_copies(images, settings.exact);
    let (sampled, summary) = sequence::sample(images, sequences, settings.threshold, exact);
    crate::cancel::check(cancel)?;
    let dd = dedup_after(images, settings, sampled, cancel)?;
    Ok((dd, summary))
}

/// De-duplicates `images` (in path order) under `settings`, uninterruptibly.
#[cfg(test)]
pub(crate) fn dedup(images: &[PoolImage], settings: &DedupSettings) -> Dedup {
    let removed = exact_copies(images, settings.exact);
    dedup_after(images, settings, removed, &crate::cancel::NEVER).expect("never interrupted")
}

/// The first pass, before sequence sampling: every file byte-identical to a
/// better copy (`exact_keep_order`) is removed in its favour. All `None` when
/// `enabled` is false. The copies kept are never removed by this pass, so
/// removals point at an image that survives it.
pub(crate) fn exact_copies(images: &[PoolImage], enabled: bool) -> Vec<Option<Removal>> {
    let mut removed = vec![None; images.len()];
    if !enabled {
        return removed;
    }
    let mut by_hash: HashMap<[u8; 32], Vec<usize>> = HashMap::new();
    for (i, img) in images.iter().enumerate() {
        by_hash
            .entry(img.features.content_hash)
            .or_default()
            .push(i);
    }
    for members in by_hash.values().filter(|m| m.len() > 1) {
        let keep = *members
            .iter()
            .min_by(|&&a, &&b| exact_keep_order(&images[a], &images[b]))
            .expect("non-empty group");
        for &m in members.iter().filter(|&&m| m != keep) {
            removed[m] = Some(Removal::Exact { kept: keep });
        }
    }
    removed
}

/// De-duplicates the images that `removed` still keeps: exact copies
/// ([`exact_copies`]) and sequence sampling have already run; this is the near
/// pass. Looks at `cancel` for every image it queries.
pub(crate) fn dedup_after(
    images: &[PoolImage],
    settings: &DedupSettings,
    mut removed: Vec<Option<Removal>>,
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<Dedup, crate::cancel::Interrupted> {
    let n = images.len();
    let mut cluster: Vec<usize> = (0..n).collect();
    for (i, r) in removed.iter().enumerate() {
        if let Some(Removal::Exact { kept } | Removal::Consecutive { kept }) = r {
            cluster[i] = *kept;
        }
    }
    let alive: Vec<usize> = (0..n).filter(|&i| removed[i].is_none()).collect();
    let (edges, candidate_pairs) = near_pairs(images, &alive, settings, cancel)?;
    let mut centrality = vec![0f64; alive.len()];
    let mut neighbours: Vec<Vec<usize>> = vec![Vec::new(); alive.len()];
    for &(a, b, sim) in &edges {
        centrality[a] += f64::from(sim);
        centrality[b] += f64::from(sim);
        neighbours[a].push(b);
        neighbours[b].push(a);
    }
    let better = |a: usize, b: usize| {
        keep_order(
            (&images[alive[a]], centrality[a]),
            (&images[alive[b]], centrality[b]),
        )
    };
    let kept_for = match settings.grouping {
        Grouping::Star => group_star(&neighbours, better),
        Grouping::Chain => group_chain(alive.len(), &edges, better),
    };
    for (k, keep) in kept_for.into_iter().enumerate() {
        if let Some(keep) = keep {
            cluster[alive[k]] = alive[keep];
            if keep != k {
                removed[alive[k]] = Some(Removal::Near { kept: alive[keep] });
            }
        }
    }
    follow_links(&removed, &mut cluster);
    Ok(Dedup {
        removed,
        cluster,
        near_pairs: edges.len(),
        candidate_pairs,
    })
}

/// The near-duplicate pairs among the survivors `alive` (indices into
/// `images`), within scope: candidates within the pHash radius ([`HashIndex`]) plus
/// each image's next frame in its folder, kept when the threshold accepts
/// them. Returns the pairs (indices into `alive`) and the candidates tested.
fn near_pairs(
    images: &[PoolImage],
    alive: &[usize],
    settings: &DedupSettings,
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<(Vec<Edge>, usize), crate::cancel::Interrupted> {
    let signatures = Signatures::new(alive.iter().map(|&i| &images[i].features.signature));
    let mut scopes: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (k, &i) in alive.iter().enumerate() {
        scopes
            .entry(scope_key(&images[i], settings.scope))
            .or_default()
            .push(k);
    }
    let radius = settings.threshold.radius();
    let mut edges: Vec<Edge> = Vec::new();
    let mut candidate_pairs = 0;
    for members in scopes.values() {
        crate::cancel::check(cancel)?;
        let index = HashIndex::new(
            members
                .iter()
                .map(|&k| images[alive[k]].features.phash.0)
                .collect(),
        );
        let close = index.pairs(radius, cancel);
        crate::cancel::check(cancel)?;
        // Each member's later candidates, from the sorted pairs.
        let mut later: Vec<&[(u32, u32)]> = vec![&[]; members.len()];
        for run in close.chunk_by(|a, b| a.0 == b.0) {
            later[run[0].0 as usize] = run;
        }
        let found: Vec<(Vec<Edge>, usize)> = members
            .par_iter()
            .enumerate()
            .map(|(pos, &k)| {
                if crate::cancel::check(cancel).is_err() {
                    return (Vec::new(), 0);
                }
                let img = &images[alive[k]];
                let mut cands: Vec<usize> = later[pos]
                    .iter()
                    .map(|&(_, j)| members[j as usize])
                    .collect();
                // The next frame of the same folder is always a candidate.
                if let Some(&next) = members.get(pos + 1)
                    && images[alive[next]].folder() == img.folder()
                    && !cands.contains(&next)
                {
                    cands.push(next);
                }
                cands.sort_unstable();
                let tested = cands.len();
                let accepted = cands
                    .into_iter()
                    .filter_map(|other| {
                        let sim = signatures.similarity(k, other);
                        let dist = img
                            .features
                            .phash
                            .distance(images[alive[other]].features.phash);
                        settings
                            .threshold
                            .accepts(sim, dist)
                            .then_some((k, other, sim))
                    })
                    .collect();
                (accepted, tested)
            })
            .collect();
        crate::cancel::check(cancel)?;
        for (accepted, tested) in found {
            candidate_pairs += tested;
            edges.extend(accepted);
        }
    }
    Ok((edges, candidate_pairs))
}

/// Star grouping: a greedy maximal independent set, best (most central)
/// first; a kept image absorbs its undecided neighbours, so every dropped
/// image is within the threshold of the image that kept it, and no two kept
/// images are. Returns, per survivor, the survivor kept for it (itself when
/// kept; `None` when it has no near duplicate).
fn group_star(
    neighbours: &[Vec<usize>],
    better: impl Fn(usize, usize) -> std::cmp::Ordering,
) -> Vec<Option<usize>> {
    let mut kept_for = vec![None; neighbours.len()];
    let mut order: Vec<usize> = (0..neighbours.len())
        .filter(|&k| !neighbours[k].is_empty())
        .collect();
    order.sort_by(|&a, &b| better(a, b));
    for k in order {
        if kept_for[k].is_some() {
            continue;
        }
        kept_for[k] = Some(k);
        for &m in &neighbours[k] {
            if kept_for[m].is_none() {
                kept_for[m] = Some(k);
            }
        }
    }
    // A kept image's cluster is itself only when it kept nothing.
    kept_for
}

/// Chain grouping: connected components (duplicates of duplicates are
/// duplicates); each keeps its best member. Same result shape as
/// [`group_star`].
fn group_chain(
    survivors: usize,
    edges: &[Edge],
    better: impl Fn(usize, usize) -> std::cmp::Ordering,
) -> Vec<Option<usize>> {
    let mut uf = UnionFind::new(survivors);
    for &(a, b, _) in edges {
        uf.union(a, b);
    }
    let mut components: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for k in 0..survivors {
        components.entry(uf.find(k)).or_default().push(k);
    }
    let mut kept_for = vec![None; survivors];
    for members in components.values().filter(|m| m.len() > 1) {
        let keep = *members
            .iter()
            .min_by(|&&a, &&b| better(a, b))
            .expect("non-empty component");
        for &m in members {
            kept_for[m] = Some(keep);
        }
    }
    kept_for
}

/// Exact copies and consecutive frames follow their kept image into its
/// cluster. The links form no cycle (an exact copy points at a copy the exact
/// pass kept, a consecutive frame at a frame sampling kept), so each chain is
/// short; the step bound only turns a broken invariant into a wrong cluster,
/// not a hang.
fn follow_links(removed: &[Option<Removal>], cluster: &mut [usize]) {
    let n = removed.len();
    for i in 0..n {
        if let Some(Removal::Exact { kept } | Removal::Consecutive { kept }) = removed[i] {
            let mut k = kept;
            for _ in 0..n {
                match removed[k] {
                    Some(Removal::Exact { kept: next } | Removal::Consecutive { kept: next }) => {
                        k = next
                    }
                    _ => break,
                }
            }
            debug_assert!(
                !matches!(
                    removed[k],
                    Some(Removal::Exact { .. } | Removal::Consecutive { .. })
                ),
                "cycle of exact/consecutive removals through {k}"
            );
            cluster[i] = cluster[k];
        }
    }
}

/// An accepted near-duplicate pair `(a, b, similarity)`, indices into the survivors.
type Edge = (usize, usize, f32);

struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n).collect(),
        }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi] = lo;
        }
    }
}

#[cfg(test)]
mod tests;
