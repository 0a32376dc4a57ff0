//! A work queue over a list: `threads` workers take the items in order, the caller's thread
//! gets the results back in the items' order, one at a time (so what it writes, to the
//! database or to stdout, is the same and in the same order as with one thread).
//!
//! What this module must never do: hand a result to the caller out of order, hand one twice
//! or skip one before the caller stops, run ahead of the caller by more than its window (a
//! slow first item must not make the others pile up in memory), or run the work on more than
//! one thread when asked for one.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::{Condvar, Mutex};

/// How many threads `[scan] threads = 0` (the default) means: the machine's cores.
pub fn threads_or_cores(threads: usize) -> usize {
    if threads > 0 {
        threads
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

struct Queue {
    /// The next item a worker takes.
    next: usize,
    /// Results handed to the caller so far.
    done: usize,
    /// The caller stopped: workers take nothing more.
    stop: bool,
}

/// `work` over every item on `threads` threads (the caller's thread only gathers), `sink`
/// called on the caller's thread with (index, result) in the items' order; `sink` returning
/// false stops the queue (items not yet handed over are dropped). With `threads <= 1`, a
/// plain loop on the caller's thread. A worker's panic is the caller's panic.
pub fn for_each_ordered<T, R, W, S>(threads: usize, items: &[T], work: W, mut sink: S)
where
    T: Sync,
    R: Send,
    W: Fn(&T) -> R + Sync,
    S: FnMut(usize, R) -> bool,
{
    if threads <= 1 || items.len() <= 1 {
        for (i, it) in items.iter().enumerate() {
            if !sink(i, work(it)) {
                return;
            }
        }
        return;
    }
    let threads = threads.min(items.len());
    // How far the workers may run ahead of the caller.
    let window = threads * 4;
    let queue = Mutex::new(Queue {
        next: 0,
        done: 0,
        stop: false,
    });
    let turn = Condvar::new();
    let lock = || queue.lock().unwrap_or_else(|e| e.into_inner());
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel::<(usize, R)>();
        for _ in 0..threads {
            let tx = tx.clone();
            let (work, turn, lock) = (&work, &turn, &lock);
            s.spawn(move || {
                loop {
                    let i = {
                        let mut q = lock();
                        while !q.stop && q.next < items.len() && q.next >= q.done + window {
                            q = turn.wait(q).unwrap_or_else(|e| e.into_inner());
                        }
                        if q.stop || q.next >= items.len() {
                            return;
                        }
                        q.next += 1;
                        q.next - 1
                    };
                    if tx.send((i, work(&items[i]))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let mut held: BTreeMap<usize, R> = BTreeMap::new();
        let mut want = 0usize;
        // Ends when every worker is gone (all items sent, or a worker panicked: the scope
        // then panics on the caller's thread).
        for (i, r) in rx.iter() {
            held.insert(i, r);
            while let Some(r) = held.remove(&want) {
                let go_on = sink(want, r);
                want += 1;
                let mut q = lock();
                q.done = want;
                q.stop |= !go_on;
                drop(q);
                turn.notify_all();
                if !go_on {
                    return;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_order_whatever_the_threads() {
        let items: Vec<u64> = (0..500).collect();
        // uneven work, so later items often finish first
        let work = |&x: &u64| {
            let mut h = x;
            for _ in 0..((x * 7919) % 2000) {
                h = h.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
            (x, h)
        };
        let run = |threads| {
            let mut got = Vec::new();
            for_each_ordered(threads, &items, work, |i, r| {
                got.push((i, r));
                true
            });
            got
        };
        let one = run(1);
        assert_eq!(one.len(), 500);
        assert!(
            one.iter()
                .enumerate()
                .all(|(k, (i, (x, _)))| k == *i && *x == k as u64)
        );
        assert_eq!(run(2), one);
        assert_eq!(run(7), one);
    }

    #[test]
    fn a_sink_that_stops_gets_nothing_more() {
        let items: Vec<u32> = (0..100).collect();
        for threads in [1, 3] {
            let mut got = Vec::new();
            for_each_ordered(
                threads,
                &items,
                |&x| x * 2,
                |i, r| {
                    got.push((i, r));
                    i < 9
                },
            );
            assert_eq!(
                got,
                (0..10).map(|i| (i as usize, i * 2)).collect::<Vec<_>>()
            );
        }
    }
}
