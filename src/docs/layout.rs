//! The lineage graph's layout, computed once here so the browser never lays out the project: each
//! node's layer (the longest path from a node without parents) and its order within the layer
//! (barycenter sweeps, the Sugiyama heuristic), which the site uses to place any neighbourhood
//! it draws.

/// The layer and the order within its layer of each node; `parents[i]` lists the indexes of node
/// `i`'s parents. A cycle (which the graph stage rejects before this runs) cannot loop: nodes on
/// one are put after their other parents.
pub fn layers_and_order(parents: &[Vec<usize>], group: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let n = parents.len();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut indegree = vec![0usize; n];
    for (i, ps) in parents.iter().enumerate() {
        for &p in ps {
            if p < n && p != i {
                children[p].push(i);
                indegree[i] += 1;
            }
        }
    }
    // Kahn's order: a node's layer is one more than its deepest parent's.
    let mut layer = vec![0u32; n];
    let mut queue: std::collections::VecDeque<usize> =
        (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut seen = 0;
    while let Some(i) = queue.pop_front() {
        seen += 1;
        for &c in &children[i] {
            layer[c] = layer[c].max(layer[i] + 1);
            indegree[c] -= 1;
            if indegree[c] == 0 {
                queue.push_back(c);
            }
        }
    }
    if seen < n {
        // Nodes on a cycle: below every parent that has a layer.
        for i in 0..n {
            if indegree[i] > 0 {
                layer[i] = parents[i].iter().map(|&p| layer[p] + 1).max().unwrap_or(0);
            }
        }
    }
    let depth = layer.iter().copied().max().map_or(0, |d| d as usize + 1);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); depth];
    // First order: by group (folder), then by index (the caller sorts nodes by id).
    for i in 0..n {
        rows[layer[i] as usize].push(i);
    }
    for row in &mut rows {
        row.sort_by_key(|&i| (group[i], i));
    }
    let mut pos = vec![0f64; n];
    let place = |rows: &Vec<Vec<usize>>, pos: &mut Vec<f64>| {
        for row in rows {
            for (k, &i) in row.iter().enumerate() {
                pos[i] = k as f64;
            }
        }
    };
    place(&rows, &mut pos);
    // Barycenter sweeps, down (by parents) then up (by children); a node without neighbours on
    // the side swept keeps its position.
    for sweep in 0..4 {
        let down = sweep % 2 == 0;
        let order: Vec<usize> = if down {
            (1..depth).collect()
        } else {
            (0..depth.saturating_sub(1)).rev().collect()
        };
        for l in order {
            let mut keyed: Vec<(f64, usize)> = rows[l]
                .iter()
                .map(|&i| {
                    let nbrs: &[usize] = if down { &parents[i] } else { &children[i] };
                    let nbrs: Vec<f64> = nbrs.iter().filter(|&&j| j < n).map(|&j| pos[j]).collect();
                    let key = if nbrs.is_empty() {
                        pos[i]
                    } else {
                        nbrs.iter().sum::<f64>() / nbrs.len() as f64
                    };
                    (key, i)
                })
                .collect();
            keyed.sort_by(|a, b| {
                a.0.total_cmp(&b.0)
                    .then(group[a.1].cmp(&group[b.1]))
                    .then(a.1.cmp(&b.1))
            });
            rows[l] = keyed.into_iter().map(|(_, i)| i).collect();
            for (k, &i) in rows[l].iter().enumerate() {
                pos[i] = k as f64;
            }
        }
    }
    let order = pos.iter().map(|&p| p as u32).collect();
    (layer, order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_follow_the_longest_path() {
        // 0 -> 1 -> 2, and 0 -> 2 directly: 2 sits below 1, not beside it.
        let parents = vec![vec![], vec![0], vec![0, 1], vec![]];
        let (layer, order) = layers_and_order(&parents, &[0, 0, 0, 0]);
        assert_eq!(layer, vec![0, 1, 2, 0]);
        assert_eq!(order[0], 0);
        assert_eq!(order[3], 1);
    }

    #[test]
    fn barycenter_puts_children_under_their_parents() {
        // Two roots; each child sits on the side of its own parent after the sweeps.
        let parents = vec![vec![], vec![], vec![1], vec![0]];
        let (layer, order) = layers_and_order(&parents, &[0, 0, 0, 0]);
        assert_eq!(layer, vec![0, 0, 1, 1]);
        assert!(order[3] < order[2], "{order:?}");
    }

    #[test]
    fn a_cycle_does_not_loop() {
        let parents = vec![vec![1], vec![0]];
        let (layer, _) = layers_and_order(&parents, &[0, 0]);
        assert_eq!(layer.len(), 2);
    }
}
