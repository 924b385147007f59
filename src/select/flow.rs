//! Minimum-cost maximum flow (successive shortest paths with Dijkstra and
//! Johnson potentials; each Dijkstra stops once the sink is settled). Costs
//! must be non-negative. Deterministic: ties are broken by node and edge order.
//!
//! Besides plain edges, a network takes convex edges ([`Network::add_convex_edge`]):
//! one edge whose `k`-th unit costs the `k`-th of a non-decreasing list, as `n`
//! parallel unit edges would, but relaxed once per search instead of `n` times.
//! Selection uses one per group of interchangeable images, so a search costs the
//! groups, not the images.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::AtomicBool;

use crate::cancel::{self, Interrupted};

/// Index of an edge, as returned by [`Network::add_edge`].
pub(super) type EdgeId = usize;

#[derive(Debug, Clone)]
struct Edge {
    to: usize,
    cap: i64,
    cost: i64,
    /// For both halves of a convex edge: its index in `Network::steps`.
    steps: Option<usize>,
}

/// A flow network.
#[derive(Debug, Default)]
pub(super) struct Network {
    /// Edges in pairs: `2k` forward, `2k + 1` its residual twin.
    edges: Vec<Edge>,
    adjacency: Vec<Vec<usize>>,
    /// Per convex edge, the cost of each unit in order.
    steps: Vec<Vec<i64>>,
}

impl Network {
    /// A network with `nodes` nodes.
    pub(super) fn new(nodes: usize) -> Self {
        Network {
            edges: Vec::new(),
            adjacency: vec![Vec::new(); nodes],
            steps: Vec::new(),
        }
    }

    /// Adds a node and returns its index.
    pub(super) fn add_node(&mut self) -> usize {
        self.adjacency.push(Vec::new());
        self.adjacency.len() - 1
    }

    /// Adds an edge `from → to` with capacity `cap` and per-unit `cost` (≥ 0).
    pub(super) fn add_edge(&mut self, from: usize, to: usize, cap: i64, cost: i64) -> EdgeId {
        debug_assert!(cost >= 0 && cap >= 0);
        self.push_edge(from, to, cap, cost, None)
    }

    /// Adds a convex edge `from → to`: one unit per entry of `steps`, the `k`-th
    /// unit costing `steps[k]`. `steps` must be non-decreasing and non-negative
    /// (the successive-shortest-path invariants need convex costs); flow on it
    /// always uses the cheapest units.
    pub(super) fn add_convex_edge(&mut self, from: usize, to: usize, steps: Vec<i64>) -> EdgeId {
        debug_assert!(steps.first().is_none_or(|&c| c >= 0));
        debug_assert!(steps.windows(2).all(|w| w[0] <= w[1]));
        let first = steps.first().copied().unwrap_or(0);
        let id = self.steps.len();
        self.steps.push(steps);
        let cap = self.steps[id].len() as i64;
        self.push_edge(from, to, cap, first, Some(id))
    }

    fn push_edge(
        &mut self,
        from: usize,
        to: usize,
        cap: i64,
        cost: i64,
        steps: Option<usize>,
    ) -> EdgeId {
        let id = self.edges.len();
        self.edges.push(Edge {
            to,
            cap,
            cost,
            steps,
        });
        self.edges.push(Edge {
            to: from,
            cap: 0,
            cost: -cost,
            steps,
        });
        self.adjacency[from].push(id);
        self.adjacency[to].push(id + 1);
        id
    }

    /// After the flow on convex edge `id` changed: the forward half costs the
    /// next unit, the residual half refunds the last unit used.
    fn reprice(&mut self, id: EdgeId, steps: usize) {
        let used = self.edges[id + 1].cap as usize;
        let costs = &self.steps[steps];
        if let Some(&next) = costs.get(used) {
            self.edges[id].cost = next;
        }
        if let Some(&last) = used.checked_sub(1).and_then(|k| costs.get(k)) {
            self.edges[id + 1].cost = -last;
        }
    }

    /// Flow on edge `id` (after [`Network::min_cost_max_flow`]).
    pub(super) fn flow(&self, id: EdgeId) -> i64 {
        self.edges[id + 1].cap
    }

    /// Pushes as much flow as possible from `source` to `sink` at minimum total
    /// cost; returns `(flow, cost)`. Looks at `cancel` before each augmenting
    /// path.
    pub(super) fn min_cost_max_flow(
        &mut self,
        source: usize,
        sink: usize,
        cancel: &AtomicBool,
    ) -> Result<(i64, i64), Interrupted> {
        let n = self.adjacency.len();
        let mut potential = vec![0i64; n];
        let (mut flow, mut cost) = (0i64, 0i64);
        let mut dist = vec![i64::MAX; n];
        let mut via = vec![usize::MAX; n];
        loop {
            cancel::check(cancel)?;
            dist.iter_mut().for_each(|d| *d = i64::MAX);
            via.iter_mut().for_each(|v| *v = usize::MAX);
            dist[source] = 0;
            let mut heap = BinaryHeap::new();
            heap.push(Reverse((0i64, source)));
            while let Some(Reverse((d, u))) = heap.pop() {
                if d > dist[u] {
                    continue;
                }
                if u == sink {
                    // The path to the sink is final; the rest of the graph
                    // need not be settled (see the potential update below).
                    break;
                }
                for &e in &self.adjacency[u] {
                    let edge = &self.edges[e];
                    if edge.cap <= 0 {
                        continue;
                    }
                    let nd = d + edge.cost + potential[u] - potential[edge.to];
                    if nd < dist[edge.to] {
                        dist[edge.to] = nd;
                        via[edge.to] = e;
                        heap.push(Reverse((nd, edge.to)));
                    }
                }
            }
            let reach = dist[sink];
            if reach == i64::MAX {
                break;
            }
            // Nodes settled before the sink move by their distance, all others
            // by the sink's: every residual edge keeps a non-negative reduced
            // cost, and those of the augmenting path become zero.
            for (p, &d) in potential.iter_mut().zip(&dist) {
                *p += d.min(reach);
            }
            let mut push = i64::MAX;
            let mut v = sink;
            while v != source {
                let e = via[v];
                // A convex edge's price changes with every unit.
                let most = if self.edges[e].steps.is_some() {
                    1
                } else {
                    i64::MAX
                };
                push = push.min(self.edges[e].cap).min(most);
                v = self.edges[e ^ 1].to;
            }
            let mut v = sink;
            while v != source {
                let e = via[v];
                self.edges[e].cap -= push;
                self.edges[e ^ 1].cap += push;
                cost += push * self.edges[e].cost;
                if let Some(steps) = self.edges[e].steps {
                    self.reprice(e & !1, steps);
                }
                v = self.edges[e ^ 1].to;
            }
            flow += push;
        }
        Ok((flow, cost))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_max_flow_at_min_cost() {
        // s → a, b; a → t cheap but narrow; b → t dear.
        let mut g = Network::new(4);
        let (s, a, b, t) = (0, 1, 2, 3);
        let sa = g.add_edge(s, a, 2, 0);
        let sb = g.add_edge(s, b, 2, 0);
        let at = g.add_edge(a, t, 1, 1);
        let ab = g.add_edge(a, b, 1, 1);
        let bt = g.add_edge(b, t, 3, 5);
        assert_eq!(
            g.min_cost_max_flow(s, t, &cancel::NEVER),
            Ok((4, 1 + 6 + 10))
        );
        assert_eq!(
            (g.flow(sa), g.flow(sb), g.flow(at), g.flow(ab), g.flow(bt)),
            (2, 2, 1, 1, 3)
        );
    }

    #[test]
    fn reroutes_through_residual_edges() {
        // Classic case where the first cheapest path must be undone.
        let mut g = Network::new(6);
        let (s, x, y, p, q, t) = (0, 1, 2, 3, 4, 5);
        g.add_edge(s, x, 1, 0);
        g.add_edge(s, y, 1, 0);
        g.add_edge(x, p, 1, 0);
        g.add_edge(x, q, 1, 0);
        g.add_edge(y, p, 1, 0);
        g.add_edge(p, t, 1, 0);
        g.add_edge(q, t, 1, 0);
        assert_eq!(g.min_cost_max_flow(s, t, &cancel::NEVER).unwrap().0, 2);
    }

    /// Reference: successive shortest paths found by Bellman–Ford on the
    /// residual graph, one unit at a time.
    fn reference(n: usize, edges: &[(usize, usize, i64, i64)], s: usize, t: usize) -> (i64, i64) {
        let mut res: Vec<(usize, usize, i64, i64)> = Vec::new();
        for &(u, v, cap, cost) in edges {
            res.push((u, v, cap, cost));
            res.push((v, u, 0, -cost));
        }
        let (mut flow, mut total) = (0, 0);
        loop {
            let mut dist = vec![i64::MAX; n];
            let mut via = vec![usize::MAX; n];
            dist[s] = 0;
            for _ in 0..n {
                for (k, &(u, v, cap, cost)) in res.iter().enumerate() {
                    if cap > 0 && dist[u] != i64::MAX && dist[u] + cost < dist[v] {
                        dist[v] = dist[u] + cost;
                        via[v] = k;
                    }
                }
            }
            if dist[t] == i64::MAX {
                return (flow, total);
            }
            let mut v = t;
            while v != s {
                let k = via[v];
                res[k].2 -= 1;
                res[k ^ 1].2 += 1;
                v = res[k].0;
            }
            flow += 1;
            total += dist[t];
        }
    }

    /// Runs `g` from node 0 to node `n - 1` and compares it with [`reference`]
    /// on `edges` (the same network as unit and plain edges).
    fn agrees_with_reference(
        g: &mut Network,
        n: usize,
        edges: &[(usize, usize, i64, i64)],
        case: usize,
    ) {
        let got = g.min_cost_max_flow(0, n - 1, &cancel::NEVER).unwrap();
        assert_eq!(got, reference(n, edges, 0, n - 1), "case {case}: {edges:?}");
    }

    #[test]
    fn matches_a_bellman_ford_reference_on_random_networks() {
        let mut rng = crate::rng::SplitMix64::new(5, 0);
        for case in 0..2000 {
            let n = 3 + (rng.next_u64() % 12) as usize;
            let m = (rng.next_u64() % 50) as usize;
            let edges: Vec<(usize, usize, i64, i64)> = (0..m)
                .map(|_| {
                    let u = (rng.next_u64() % n as u64) as usize;
                    let v = (rng.next_u64() % n as u64) as usize;
                    (
                        u,
                        v,
                        (rng.next_u64() % 4) as i64,
                        (rng.next_u64() % 10) as i64,
                    )
                })
                .filter(|&(u, v, _, _)| u != v)
                .collect();
            let mut g = Network::new(n);
            for &(u, v, cap, cost) in &edges {
                g.add_edge(u, v, cap, cost);
            }
            agrees_with_reference(&mut g, n, &edges, case);
        }
    }

    #[test]
    fn a_convex_edge_is_its_parallel_unit_edges() {
        let mut rng = crate::rng::SplitMix64::new(9, 0);
        let mut convex_used = 0;
        for case in 0..2000 {
            let n = 3 + (rng.next_u64() % 10) as usize;
            let m = (rng.next_u64() % 30) as usize;
            let mut g = Network::new(n);
            let mut units: Vec<(usize, usize, i64, i64)> = Vec::new();
            let mut convex: Vec<(EdgeId, usize)> = Vec::new();
            for _ in 0..m {
                let u = (rng.next_u64() % n as u64) as usize;
                let v = (rng.next_u64() % n as u64) as usize;
                if u == v {
                    continue;
                }
                if rng.next_u64().is_multiple_of(3) {
                    let mut steps: Vec<i64> = (0..rng.next_u64() % 5)
                        .map(|_| (rng.next_u64() % 10) as i64)
                        .collect();
                    steps.sort_unstable();
                    units.extend(steps.iter().map(|&c| (u, v, 1, c)));
                    convex.push((g.add_convex_edge(u, v, steps.clone()), steps.len()));
                } else {
                    let (cap, cost) = ((rng.next_u64() % 4) as i64, (rng.next_u64() % 10) as i64);
                    units.push((u, v, cap, cost));
                    g.add_edge(u, v, cap, cost);
                }
            }
            agrees_with_reference(&mut g, n, &units, case);
            for (e, len) in convex {
                assert!((0..=len as i64).contains(&g.flow(e)));
                convex_used += usize::from(g.flow(e) > 0);
            }
        }
        assert!(convex_used > 100, "the cases exercise convex edges");
    }

    #[test]
    fn an_interrupted_flow_stops() {
        let mut g = Network::new(2);
        g.add_edge(0, 1, 1, 0);
        let set = AtomicBool::new(true);
        assert_eq!(g.min_cost_max_flow(0, 1, &set), Err(Interrupted));
    }
}
