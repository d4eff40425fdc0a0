//! A per-input time budget (`--max-seconds-per-input`): long loops (a physical memory
//! scan, an MFT enumeration, a list walk, an event log) ask [`Deadline::expired`] every
//! batch of work and stop early, so one huge or hostile input cannot hold a batch up.
//! The caller reports the input `partial` with what was found before the stop
//! ([`Deadline::stopped`] says whether any loop did stop).
//!
//! A deadline is passed explicitly where an API takes one (`*_until` functions), or set
//! for everything one input's analysis runs on the calling thread with
//! [`Deadline::scope`] and read with [`Deadline::current`] at a loop's start. Read it on
//! the thread that called the parser, before fanning out to a thread pool, and move the
//! value into the parallel closures: pool threads do not see the caller's scope.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// When the current input's analysis must stop; [`Deadline::none`] never expires.
/// Cheap to clone and to ask (one `Instant::now()`): check it once per batch of records
/// or pages, not per byte.
#[derive(Debug, Clone, Default)]
pub struct Deadline {
    inner: Option<Arc<Inner>>,
}

#[derive(Debug)]
struct Inner {
    at: Instant,
    /// Some loop saw the deadline pass (and stopped).
    hit: AtomicBool,
}

thread_local! {
    static CURRENT: RefCell<Deadline> = const { RefCell::new(Deadline::none()) };
}

impl Deadline {
    /// No budget: never expires.
    pub const fn none() -> Deadline {
        Deadline { inner: None }
    }

    /// Expires `budget` from now (a budget too large to represent never expires).
    pub fn after(budget: Duration) -> Deadline {
        match Instant::now().checked_add(budget) {
            Some(at) => Deadline::at(at),
            None => Deadline::none(),
        }
    }

    /// Expires `seconds` from now; `None`, a negative or a non-finite value: no budget.
    pub fn after_secs(seconds: Option<f64>) -> Deadline {
        match seconds {
            Some(s) if s.is_finite() && s >= 0.0 => {
                Duration::try_from_secs_f64(s).map_or(Deadline::none(), Deadline::after)
            }
            _ => Deadline::none(),
        }
    }

    /// Expires at `at`.
    pub fn at(at: Instant) -> Deadline {
        Deadline {
            inner: Some(Arc::new(Inner {
                at,
                hit: AtomicBool::new(false),
            })),
        }
    }

    /// Whether a budget is set at all.
    pub fn is_set(&self) -> bool {
        self.inner.is_some()
    }

    /// The budget is spent: stop the loop. Asking records that it was spent
    /// ([`Deadline::stopped`]), so the caller can say the results are partial.
    pub fn expired(&self) -> bool {
        match &self.inner {
            Some(i) if Instant::now() >= i.at => {
                i.hit.store(true, Ordering::Relaxed);
                true
            }
            _ => false,
        }
    }

    /// Some loop asked [`Deadline::expired`] and was told to stop (shared by clones).
    pub fn stopped(&self) -> bool {
        self.inner
            .as_ref()
            .is_some_and(|i| i.hit.load(Ordering::Relaxed))
    }

    /// Time left; `None` without a budget.
    pub fn remaining(&self) -> Option<Duration> {
        self.inner
            .as_ref()
            .map(|i| i.at.saturating_duration_since(Instant::now()))
    }

    /// The deadline set on this thread by [`Deadline::scope`] (none outside one).
    pub fn current() -> Deadline {
        CURRENT.with(|c| c.borrow().clone())
    }

    /// Run `f` with `self` as this thread's [`Deadline::current`]; the previous one is
    /// restored afterwards, also when `f` panics (scopes nest: a pool thread that runs
    /// another input's work while it waits sets and restores its own).
    pub fn scope<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Restore(Option<Deadline>);
        impl Drop for Restore {
            fn drop(&mut self) {
                if let Some(prev) = self.0.take() {
                    CURRENT.with(|c| *c.borrow_mut() = prev);
                }
            }
        }
        let prev = CURRENT.with(|c| std::mem::replace(&mut *c.borrow_mut(), self.clone()));
        let _restore = Restore(Some(prev));
        f()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_never_expires_and_zero_expires_at_once() {
        assert!(!Deadline::none().expired());
        assert!(!Deadline::none().is_set());
        assert!(!Deadline::after_secs(None).expired());
        assert!(!Deadline::after_secs(Some(f64::NAN)).is_set());
        assert!(!Deadline::after_secs(Some(-1.0)).is_set());
        let zero = Deadline::after_secs(Some(0.0));
        assert!(!zero.stopped());
        assert!(zero.clone().expired());
        assert!(zero.stopped(), "clones share the stop");
        assert!(!Deadline::after_secs(Some(3600.0)).expired());
        assert!(!Deadline::after_secs(Some(1e300)).expired());
        let d = Deadline::after(Duration::from_millis(20));
        std::thread::sleep(Duration::from_millis(30));
        assert!(d.expired());
        assert_eq!(d.remaining(), Some(Duration::ZERO));
    }

    #[test]
    fn scopes_nest_and_restore() {
        assert!(!Deadline::current().is_set());
        let outer = Deadline::after_secs(Some(0.0));
        outer.scope(|| {
            assert!(Deadline::current().expired());
            Deadline::none().scope(|| assert!(!Deadline::current().is_set()));
            assert!(Deadline::current().is_set());
            let r = std::panic::catch_unwind(|| {
                Deadline::none().scope(|| panic!("inner"));
            });
            assert!(r.is_err());
            assert!(Deadline::current().is_set(), "restored after a panic");
        });
        assert!(!Deadline::current().is_set());
    }
}
