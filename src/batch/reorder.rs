//! Run `work(i)` for `i in 0..n` on worker threads and hand the results to `sink` in
//! index order. At most `window` results are started ahead of the last one emitted, so
//! memory is bounded by the inputs in flight, not by the batch.

use std::collections::BTreeMap;
use std::sync::mpsc::sync_channel;
use std::sync::{Condvar, Mutex};

struct State {
    next: usize,
    emitted: usize,
    stop: bool,
}

/// Ordered parallel map. Stops starting new work as soon as `sink` fails, and returns
/// that error.
pub fn for_each_ordered<T, W, S, E>(
    n: usize,
    threads: usize,
    window: usize,
    work: W,
    mut sink: S,
) -> Result<(), E>
where
    T: Send,
    W: Fn(usize) -> T + Sync,
    S: FnMut(usize, T) -> Result<(), E>,
{
    let window = window.max(1);
    let state = Mutex::new(State {
        next: 0,
        emitted: 0,
        stop: false,
    });
    let cv = Condvar::new();
    let (tx, rx) = sync_channel::<(usize, T)>(window);
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, n.max(1)) {
            let tx = tx.clone();
            let (state, cv, work) = (&state, &cv, &work);
            scope.spawn(move || loop {
                let i = {
                    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
                    while !s.stop && s.next < n && s.next >= s.emitted + window {
                        s = cv.wait(s).unwrap_or_else(|e| e.into_inner());
                    }
                    if s.stop || s.next >= n {
                        return;
                    }
                    s.next += 1;
                    s.next - 1
                };
                if tx.send((i, work(i))).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        let mut pending = BTreeMap::new();
        let mut emitted = 0;
        let mut result = Ok(());
        for (i, t) in rx.iter() {
            pending.insert(i, t);
            while let Some(t) = pending.remove(&emitted) {
                if let Err(e) = sink(emitted, t) {
                    result = Err(e);
                    break;
                }
                emitted += 1;
            }
            let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
            s.emitted = emitted;
            if result.is_err() {
                s.stop = true;
            }
            drop(s);
            cv.notify_all();
            if result.is_err() {
                break;
            }
        }
        // Dropping the receiver unblocks senders; the scope joins the workers.
        drop(rx);
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_order_and_the_window_holds() {
        let in_flight = std::sync::atomic::AtomicUsize::new(0);
        let max_seen = std::sync::atomic::AtomicUsize::new(0);
        let mut got = Vec::new();
        for_each_ordered::<_, _, _, ()>(
            200,
            4,
            8,
            |i| {
                use std::sync::atomic::Ordering::SeqCst;
                let now = in_flight.fetch_add(1, SeqCst) + 1;
                max_seen.fetch_max(now, SeqCst);
                // Later items finish first: the reorder buffer must put them back.
                std::thread::sleep(std::time::Duration::from_micros(
                    ((200 - i) % 7) as u64 * 50,
                ));
                in_flight.fetch_sub(1, SeqCst);
                i * 3
            },
            |i, v| {
                got.push((i, v));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(got, (0..200).map(|i| (i, i * 3)).collect::<Vec<_>>());
        assert!(max_seen.into_inner() <= 4);
    }

    #[test]
    fn a_failing_sink_stops_the_work() {
        let started = std::sync::atomic::AtomicUsize::new(0);
        let r = for_each_ordered(
            10_000,
            2,
            4,
            |_| started.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
            |i, _| if i == 10 { Err("full") } else { Ok(()) },
        );
        assert_eq!(r, Err("full"));
        assert!(started.into_inner() < 100);
    }
}
