//! One selection as a minimum-cost flow: source → slots → images → cameras →
//! sink. Source → slot edges carry the quotas, each image costs its preference
//! rank, camera edges carry the per-camera minimum at no cost and the rest at
//! a price above any rank sum, so a complete fill is found whenever one
//! exists, camera minimums are met whenever they can be, and among equal fills
//! the most preferred images win.
//!
//! Images that serve the same slots at the same price and belong to the same
//! camera are interchangeable but for their rank, so they share one node (a
//! [`Group`]): its edge to the camera is convex, its `k`-th unit costing its
//! `k`-th best rank, and a flow of `k` through it picks its `k` best images.
//! The network has as many nodes as groups (hundreds) where it had one per
//! image (100,000 in a large pool), and every shortest-path search is that
//! much smaller.

use std::collections::BTreeMap;

use super::flow::{EdgeId, Network};
use super::{
    CameraFill, NoCamera, Pick, Plan, Selection, Shortfall, Slot, SlotFill, SlotKind, Spill,
    carries_quota_tag, order, serves,
};
use crate::cancel::Interrupted;
use crate::label::Bucket;
use crate::pool::PoolImage;
use crate::rng::SplitMix64;

/// The flow network of one selection, and what it takes to read it back.
struct Model {
    g: Network,
    /// Per slot: the edge from the source.
    slot_edges: Vec<EdgeId>,
    /// Per slot: images that could fill it.
    available: Vec<usize>,
    /// The groups of interchangeable images.
    groups: Vec<Group>,
}

/// What makes images interchangeable: their camera's node and the slots they
/// serve, each with its surcharge.
type GroupKey = (usize, Vec<(usize, i64)>);

/// Images that serve the same slots at the same price and count for the same
/// camera.
struct Group {
    /// Pool indices, best rank first.
    members: Vec<usize>,
    /// `(slot, edge)` for every slot the group serves, in slot order.
    links: Vec<(usize, EdgeId)>,
}

/// Chooses among `candidates` for `slots`.
pub(super) fn solve(
    images: &[PoolImage],
    candidates: &[usize],
    plan: &Plan<'_>,
    slots: &[Slot],
) -> Result<Selection, Interrupted> {
    let rank = ranks(images, candidates, plan.balance, plan.seed);
    let in_used_bucket =
        |img: &PoolImage| img.labels.bucket.is_some_and(|b| plan.buckets[b].count > 0);
    let used: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&i| in_used_bucket(&images[i]))
        .collect();
    // Every camera of the pool owes its minimum, also one whose images were all
    // removed as duplicates or by sampling; `available` counts candidates only.
    let mut cameras: BTreeMap<&str, usize> = images
        .iter()
        .filter(|img| in_used_bucket(img))
        .filter_map(|img| img.labels.camera.as_deref())
        .map(|c| (c, 0))
        .collect();
    for &i in &used {
        if let Some(c) = &images[i].labels.camera {
            *cameras.entry(c.as_str()).or_default() += 1;
        }
    }
    let mut model = network(images, &used, slots, &cameras, &rank, plan);
    model.g.min_cost_max_flow(0, 1, plan.cancel)?;
    // A group's flow takes its best members; they fill its slots in slot order
    // (any order costs the same).
    let mut picks: Vec<Pick> = Vec::new();
    for group in &model.groups {
        let mut members = group.members.iter();
        for &(s, e) in &group.links {
            for &i in members.by_ref().take(model.g.flow(e) as usize) {
                picks.push(Pick {
                    image: i,
                    bucket: slots[s].bucket,
                    slot: slots[s].kind.clone(),
                    rank: rank[&i],
                });
            }
        }
    }
    picks.sort_by(|a, b| (a.bucket, &a.slot, a.image).cmp(&(b.bucket, &b.slot, b.image)));
    let mut sel = Selection::default();
    slot_fills(&mut sel, slots, &model, |slot| {
        tagged_left_out(images, &used, slot, plan)
    });
    sel.spill = spill(images, &picks, plan);
    camera_fills(&mut sel, images, &picks, &cameras, plan.camera_min, &used);
    sel.picks = picks;
    Ok(sel)
}

/// Each candidate's preference rank inside its bucket (0 = first choice):
/// spread across cameras and time, from the seed.
fn ranks(
    images: &[PoolImage],
    candidates: &[usize],
    balance: &super::Balance,
    seed: u64,
) -> BTreeMap<usize, usize> {
    let mut rank = BTreeMap::new();
    for (b, bucket) in Bucket::ALL.into_iter().enumerate() {
        let members: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| images[i].labels.bucket == Some(bucket))
            .collect();
        let mut rng = SplitMix64::new(seed, b as u64 + 1);
        for (r, i) in order::preference(images, &members, balance, &mut rng)
            .into_iter()
            .enumerate()
        {
            rank.insert(i, r);
        }
    }
    rank
}

/// The network of one selection (node 0 is the source, node 1 the sink).
fn network(
    images: &[PoolImage],
    used: &[usize],
    slots: &[Slot],
    cameras: &BTreeMap<&str, usize>,
    rank: &BTreeMap<usize, usize>,
    plan: &Plan<'_>,
) -> Model {
    let n_img = used.len() as i64;
    let total: i64 = slots.iter().map(|s| s.cap as i64).sum();
    let big = (n_img + 1) * (total + 1);
    let mut g = Network::new(2);
    let (source, sink) = (0, 1);
    let slot_nodes: Vec<usize> = slots.iter().map(|_| g.add_node()).collect();
    let slot_edges: Vec<_> = slots
        .iter()
        .zip(&slot_nodes)
        .map(|(s, &node)| g.add_edge(source, node, s.cap as i64, 0))
        .collect();
    let none_camera = g.add_node();
    g.add_edge(none_camera, sink, n_img, big);
    let mut camera_nodes: BTreeMap<&str, usize> = BTreeMap::new();
    for &c in cameras.keys() {
        let node = g.add_node();
        g.add_edge(node, sink, plan.camera_min as i64, 0);
        g.add_edge(node, sink, n_img, big);
        camera_nodes.insert(c, node);
    }
    let mut available = vec![0usize; slots.len()];
    // Per (camera node, slots served with their surcharge): the members.
    let mut kinds: BTreeMap<GroupKey, Vec<usize>> = BTreeMap::new();
    for &i in used {
        let img = &images[i];
        let mut served = Vec::new();
        for (s, slot) in slots.iter().enumerate() {
            let bucket = &plan.buckets[slot.bucket];
            if serves(img, slot, bucket) {
                available[s] += 1;
                // A free share takes an image carrying a quota tag only when
                // untagged images run out: its edge costs more than any rank.
                let tagged = slot.kind == SlotKind::Free && carries_quota_tag(img, bucket);
                served.push((s, if tagged { n_img + 1 } else { 0 }));
            }
        }
        if served.is_empty() {
            continue;
        }
        let camera = img
            .labels
            .camera
            .as_deref()
            .map_or(none_camera, |c| camera_nodes[c]);
        kinds.entry((camera, served)).or_default().push(i);
    }
    let mut groups = Vec::with_capacity(kinds.len());
    for ((camera, served), mut members) in kinds {
        members.sort_by_key(|i| rank[i]);
        let node = g.add_node();
        let links = served
            .into_iter()
            .map(|(s, surcharge)| {
                let e = g.add_edge(slot_nodes[s], node, members.len() as i64, surcharge);
                (s, e)
            })
            .collect();
        let steps = members.iter().map(|i| rank[i] as i64).collect();
        g.add_convex_edge(node, camera, steps);
        groups.push(Group { members, links });
    }
    Model {
        g,
        slot_edges,
        available,
        groups,
    }
}

/// For the free share of a bucket that takes only untagged images: its
/// distinct images that carry a quota tag; 0 otherwise.
fn tagged_left_out(images: &[PoolImage], used: &[usize], slot: &Slot, plan: &Plan<'_>) -> usize {
    let bucket = &plan.buckets[slot.bucket];
    if slot.kind != SlotKind::Free || bucket.free != super::FreeShare::Untagged {
        return 0;
    }
    used.iter()
        .filter(|&&i| {
            images[i].labels.bucket == Some(slot.bucket) && carries_quota_tag(&images[i], bucket)
        })
        .count()
}

/// Every slot's fill, and a shortfall for each slot not full (`tagged` says
/// how many images a strict free share leaves out).
fn slot_fills(sel: &mut Selection, slots: &[Slot], model: &Model, tagged: impl Fn(&Slot) -> usize) {
    for (s, slot) in slots.iter().enumerate() {
        let filled = model.g.flow(model.slot_edges[s]) as usize;
        let available = model.available[s];
        sel.slots.push(SlotFill {
            bucket: slot.bucket,
            slot: slot.kind.clone(),
            wanted: slot.cap,
            filled,
            available,
        });
        if filled < slot.cap {
            sel.shortfalls.push(Shortfall::Slot {
                bucket: slot.bucket,
                slot: slot.kind.clone(),
                wanted: slot.cap,
                filled,
                available,
                tagged: tagged(slot),
            });
        }
    }
}

/// Per bucket and quota key: free-share picks carrying it.
fn spill(images: &[PoolImage], picks: &[Pick], plan: &Plan<'_>) -> Vec<Spill> {
    let mut counts: BTreeMap<(crate::label::Bucket, &str), usize> = BTreeMap::new();
    for p in picks.iter().filter(|p| p.slot == SlotKind::Free) {
        for key in plan.buckets[p.bucket].quota.keys() {
            if images[p.image].labels.has(key) {
                *counts.entry((p.bucket, key.as_str())).or_default() += 1;
            }
        }
    }
    counts
        .into_iter()
        .map(|((bucket, key), images)| Spill {
            bucket,
            key: key.to_owned(),
            images,
        })
        .collect()
}

/// Every camera's contribution, and a shortfall for each below the minimum.
fn camera_fills(
    sel: &mut Selection,
    images: &[PoolImage],
    picks: &[Pick],
    cameras: &BTreeMap<&str, usize>,
    min: usize,
    used: &[usize],
) {
    let mut chosen_per_camera: BTreeMap<&str, usize> = BTreeMap::new();
    let mut no_camera = (0, 0);
    for p in picks {
        match &images[p.image].labels.camera {
            Some(c) => *chosen_per_camera.entry(c.as_str()).or_default() += 1,
            None => no_camera.0 += 1,
        }
    }
    no_camera.1 = used
        .iter()
        .filter(|&&i| images[i].labels.camera.is_none())
        .count();
    let share = |n: usize, of: usize| if of == 0 { 0.0 } else { n as f64 / of as f64 };
    if no_camera.1 > 0 {
        sel.no_camera = Some(NoCamera {
            chosen: no_camera.0,
            available: no_camera.1,
            set_share: share(no_camera.0, picks.len()),
            pool_share: share(no_camera.1, used.len()),
        });
    }
    for (&camera, &available) in cameras {
        let chosen = chosen_per_camera.get(camera).copied().unwrap_or(0);
        sel.cameras.push(CameraFill {
            camera: camera.to_owned(),
            min,
            chosen,
            available,
            set_share: share(chosen, picks.len()),
            pool_share: share(available, used.len()),
        });
        if chosen < min {
            sel.shortfalls.push(Shortfall::Camera {
                camera: camera.to_owned(),
                wanted: min,
                chosen,
                available,
            });
        }
    }
}
