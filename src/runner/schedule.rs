//! The DAG scheduler: `threads` workers; a node starts once all its parents are done; a node
//! that fails in a way that blocks (a model error, an error-severity test failure) marks every
//! node downstream of it skipped; a stop request (`--fail-fast`, Ctrl-C) ends scheduling.
//!
//! It knows nothing of SQL: nodes are indexes, and the caller's closure executes one and says
//! whether its dependants may run.

use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};

/// The nodes to run and the edges between them (parent → child), by index.
#[derive(Debug, Clone, Default)]
pub struct Dag {
    pub parents: Vec<Vec<usize>>,
    pub children: Vec<Vec<usize>>,
}

impl Dag {
    pub fn new(n: usize, edges: impl IntoIterator<Item = (usize, usize)>) -> Self {
        let mut parents = vec![BTreeSet::new(); n];
        let mut children = vec![BTreeSet::new(); n];
        for (p, c) in edges {
            if p != c && p < n && c < n {
                parents[c].insert(p);
                children[p].insert(c);
            }
        }
        Dag {
            parents: parents
                .into_iter()
                .map(|s| s.into_iter().collect())
                .collect(),
            children: children
                .into_iter()
                .map(|s| s.into_iter().collect())
                .collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.parents.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parents.is_empty()
    }
}

/// What the executor says of a node it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// Dependants may run.
    Ok,
    /// Dependants must be skipped.
    Blocking,
}

/// How each node ended, from the scheduler's point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    Ran(Done),
    /// Not run because this upstream node blocked.
    Skipped {
        cause: usize,
    },
    /// Not run because scheduling stopped.
    NotRun,
}

struct State {
    ready: VecDeque<usize>,
    waiting_on: Vec<usize>,
    fate: Vec<Option<Fate>>,
    running: usize,
    settled: usize,
}

/// Runs the DAG. `exec(node, worker)` runs one node on worker `worker` (0-based); `on_skip` is
/// told of each node skipped because of an upstream failure, as it happens. Nodes start in
/// `priority` order among those ready (lower first).
pub fn run<E, S>(
    dag: &Dag,
    threads: usize,
    priority: &[usize],
    stop: &AtomicBool,
    exec: E,
    on_skip: S,
) -> Vec<Fate>
where
    E: Fn(usize, usize) -> Done + Sync,
    S: Fn(usize, usize) + Sync,
{
    let n = dag.len();
    let mut ready: Vec<usize> = (0..n).filter(|&i| dag.parents[i].is_empty()).collect();
    ready.sort_by_key(|&i| (priority.get(i).copied().unwrap_or(usize::MAX), i));
    let state = Mutex::new(State {
        ready: ready.into(),
        waiting_on: dag.parents.iter().map(Vec::len).collect(),
        fate: vec![None; n],
        running: 0,
        settled: 0,
    });
    let wake = Condvar::new();
    let threads = threads.clamp(1, n.max(1));
    std::thread::scope(|scope| {
        for worker in 0..threads {
            let state = &state;
            let wake = &wake;
            let exec = &exec;
            let on_skip = &on_skip;
            scope.spawn(move || {
                loop {
                    let node = {
                        let Ok(mut st) = state.lock() else { return };
                        loop {
                            if stop.load(Ordering::SeqCst) || st.settled == n {
                                wake.notify_all();
                                return;
                            }
                            if let Some(i) = st.ready.pop_front() {
                                st.running += 1;
                                break i;
                            }
                            if st.running == 0 {
                                // Nothing running and nothing ready: everything left is settled
                                // (skipped), or the graph had a cycle the caller missed.
                                wake.notify_all();
                                return;
                            }
                            st = match wake.wait(st) {
                                Ok(s) => s,
                                Err(_) => return,
                            };
                        }
                    };
                    let done = exec(node, worker);
                    let Ok(mut st) = state.lock() else { return };
                    st.running -= 1;
                    st.fate[node] = Some(Fate::Ran(done));
                    st.settled += 1;
                    match done {
                        Done::Ok => {
                            let mut newly = vec![];
                            for &c in &dag.children[node] {
                                st.waiting_on[c] -= 1;
                                if st.waiting_on[c] == 0 && st.fate[c].is_none() {
                                    newly.push(c);
                                }
                            }
                            newly.sort_by_key(|&i| {
                                (priority.get(i).copied().unwrap_or(usize::MAX), i)
                            });
                            st.ready.extend(newly);
                        }
                        Done::Blocking => {
                            // Everything downstream is skipped, breadth first.
                            let mut queue: VecDeque<usize> =
                                dag.children[node].iter().copied().collect();
                            while let Some(c) = queue.pop_front() {
                                if st.fate[c].is_some() {
                                    continue;
                                }
                                st.fate[c] = Some(Fate::Skipped { cause: node });
                                st.settled += 1;
                                on_skip(c, node);
                                queue.extend(dag.children[c].iter().copied());
                            }
                        }
                    }
                    wake.notify_all();
                }
            });
        }
    });
    state
        .into_inner()
        .map(|s| {
            s.fate
                .into_iter()
                .map(|f| f.unwrap_or(Fate::NotRun))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn parents_finish_before_children_and_failures_skip_downstream() {
        // 0 → 1 → 3, 0 → 2, 4 alone; 1 fails.
        let dag = Dag::new(5, [(0, 1), (1, 3), (0, 2)]);
        let order = Mutex::new(vec![]);
        let skipped = Mutex::new(vec![]);
        let fates = run(
            &dag,
            3,
            &[],
            &AtomicBool::new(false),
            |i, _| {
                order.lock().unwrap().push(i);
                if i == 1 { Done::Blocking } else { Done::Ok }
            },
            |i, cause| skipped.lock().unwrap().push((i, cause)),
        );
        let order = order.into_inner().unwrap();
        let pos = |i| order.iter().position(|&x| x == i);
        assert!(pos(0) < pos(1) && pos(0) < pos(2));
        assert_eq!(pos(3), None);
        assert_eq!(fates[3], Fate::Skipped { cause: 1 });
        assert_eq!(fates[4], Fate::Ran(Done::Ok));
        assert_eq!(skipped.into_inner().unwrap(), vec![(3, 1)]);
    }

    #[test]
    fn independent_branches_run_in_parallel() {
        // Two independent nodes each wait until the other has started: only parallel workers
        // can finish this.
        let dag = Dag::new(2, []);
        let started = (Mutex::new(0), Condvar::new());
        let fates = run(
            &dag,
            2,
            &[],
            &AtomicBool::new(false),
            |_, _| {
                let (m, cv) = &started;
                let mut n = m.lock().unwrap();
                *n += 1;
                cv.notify_all();
                let (n, timeout) = cv
                    .wait_timeout_while(n, std::time::Duration::from_secs(10), |n| *n < 2)
                    .unwrap();
                drop(n);
                if timeout.timed_out() {
                    Done::Blocking
                } else {
                    Done::Ok
                }
            },
            |_, _| {},
        );
        assert_eq!(fates, vec![Fate::Ran(Done::Ok), Fate::Ran(Done::Ok)]);
    }

    #[test]
    fn a_stop_request_ends_scheduling() {
        let dag = Dag::new(3, [(0, 1), (1, 2)]);
        let stop = AtomicBool::new(false);
        let fates = run(
            &dag,
            1,
            &[],
            &stop,
            |i, _| {
                if i == 0 {
                    stop.store(true, Ordering::SeqCst);
                }
                Done::Ok
            },
            |_, _| {},
        );
        assert_eq!(fates, vec![Fate::Ran(Done::Ok), Fate::NotRun, Fate::NotRun]);
    }
}
