//! Independent runs on every core: what-if runs, estimates, self-tests. Each run stays on
//! one thread and deterministic, and results come back in the order they were asked for, so
//! nothing a run prints or scores depends on the threads. One budget of threads serves the
//! whole process: a run that itself asks for runs (a self-test's what-if runs) gets the cores
//! left over, and always its own thread.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How many threads may run at once (0: one per core).
static JOBS: AtomicUsize = AtomicUsize::new(0);
/// Threads started by [`map`] and running now, besides the callers' own.
static HELPERS: AtomicUsize = AtomicUsize::new(0);

/// At most `jobs` threads run at once from now on (1: everything in the caller's thread;
/// 0: one per core).
pub fn set_jobs(jobs: usize) {
    JOBS.store(jobs, Ordering::Relaxed);
}

/// How many threads may run at once.
pub fn jobs() -> usize {
    match JOBS.load(Ordering::Relaxed) {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        jobs => jobs,
    }
}

/// Takes up to `wanted` helper threads from what the budget has left.
fn claim_helpers(wanted: usize) -> usize {
    let limit = jobs().saturating_sub(1);
    let mut busy = HELPERS.load(Ordering::Relaxed);
    loop {
        let take = wanted.min(limit.saturating_sub(busy));
        if take == 0 {
            return 0;
        }
        match HELPERS.compare_exchange_weak(busy, busy + take, Ordering::AcqRel, Ordering::Relaxed)
        {
            Ok(_) => return take,
            Err(now) => busy = now,
        }
    }
}

/// A helper thread's place in the budget, given back when the helper ends (or panics).
struct HelperClaim;

impl Drop for HelperClaim {
    fn drop(&mut self) {
        HELPERS.fetch_sub(1, Ordering::AcqRel);
    }
}

/// `run` over every item, on the caller's thread and as many helpers as the budget allows;
/// the results in the items' order. A panic in any run is raised again here, after the
/// others stop taking work.
pub fn map<T: Sync, R: Send>(items: &[T], run: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let helpers = claim_helpers(items.len().saturating_sub(1));
    if helpers == 0 {
        return items.iter().map(run).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let work = || {
        catch_unwind(AssertUnwindSafe(|| {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else {
                    return;
                };
                let result = run(item);
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
            }
        }))
        .inspect_err(|_| {
            // The others finish the run they hold and take no more.
            next.store(items.len(), Ordering::Relaxed);
        })
    };
    let outcomes: Vec<_> = std::thread::scope(|scope| {
        let started: Vec<_> = (0..helpers)
            .map(|_| {
                scope.spawn(|| {
                    // Out of work, a helper gives its thread back at once: runs still going
                    // (and the runs they ask for) may use it.
                    let _release = HelperClaim;
                    work()
                })
            })
            .collect();
        let mut outcomes = vec![work()];
        outcomes.extend(
            started
                .into_iter()
                .map(|helper| helper.join().unwrap_or_else(Err)),
        );
        outcomes
    });
    for outcome in outcomes {
        if let Err(payload) = outcome {
            resume_unwind(payload);
        }
    }
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every item was run"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_order_with_nested_runs() {
        let items: Vec<u64> = (0..40).collect();
        let squares = map(&items, |&i| {
            let inner: Vec<u64> = (0..5).collect();
            map(&inner, |&j| i * i + j).into_iter().sum::<u64>()
        });
        let expected: Vec<u64> = items.iter().map(|i| 5 * i * i + 10).collect();
        assert_eq!(squares, expected);
    }

    #[test]
    fn a_panicking_run_is_raised_in_the_caller() {
        let items: Vec<u32> = (0..8).collect();
        let caught = catch_unwind(|| {
            map(&items, |&i| {
                assert!(i != 5, "run 5 failed");
                i
            })
        });
        let payload = caught.expect_err("the panic reaches the caller");
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        assert!(message.contains("run 5 failed"), "{message}");
    }
}
