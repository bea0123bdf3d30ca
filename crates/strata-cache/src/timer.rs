//! A small per-cache timer: futures that become ready at a deadline, driven by one thread.
//!
//! Why not `tokio::time::sleep`: it panics on a tokio runtime built without `enable_time`, and a
//! cache read may be polled by any executor. The timer is only used on the slow path (every slot
//! pinned), so a thread that sleeps on a [`Condvar`] is cheap enough and works everywhere.
//!
//! Invariants:
//! * The thread is started lazily, by the first [`Timer::delay`], and holds only the shared timer
//!   state, never the cache: it ends soon after [`Timer`] is dropped.
//! * Wakers are woken after the state lock is released (a waker's drop may run arbitrary code,
//!   including dropping the cache and so this timer).
//! * If the thread cannot be spawned, delays complete at once: callers see their deadline pass
//!   (a bounded wait becomes a spin of bounded length), never a hang.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// Owner of the timer thread (if started).
#[derive(Debug, Default)]
pub(crate) struct Timer {
    shared: OnceLock<Option<Arc<Shared>>>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    cond: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Pending wake-ups; a future may appear more than once (one entry per pending poll).
    wakers: Vec<(Instant, Waker)>,
    shutdown: bool,
}

/// A future that completes at `deadline` (see [`Timer::delay`]).
#[derive(Debug)]
pub(crate) struct Delay {
    shared: Option<Arc<Shared>>,
    deadline: Instant,
}

impl Timer {
    /// A future that is ready at `deadline` (at once if the timer thread cannot run).
    pub(crate) fn delay(&self, deadline: Instant) -> Delay {
        let shared = self.shared.get_or_init(start_thread).clone();
        Delay { shared, deadline }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let Some(Some(shared)) = self.shared.get() {
            lock(&shared.state).shutdown = true;
            shared.cond.notify_all();
        }
    }
}

impl Future for Delay {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            return Poll::Ready(());
        }
        let Some(shared) = &self.shared else {
            return Poll::Ready(());
        };
        lock(&shared.state)
            .wakers
            .push((self.deadline, cx.waker().clone()));
        shared.cond.notify_one();
        Poll::Pending
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // No code panics while holding this lock; if it ever did, the state is still consistent
    // (a vector of wake-ups and a flag), so the poison is ignored.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

fn start_thread() -> Option<Arc<Shared>> {
    let shared = Arc::new(Shared::default());
    let thread_shared = Arc::clone(&shared);
    std::thread::Builder::new()
        .name("strata-cache-timer".to_owned())
        .spawn(move || run(&thread_shared))
        .ok()?;
    Some(shared)
}

fn run(shared: &Shared) {
    let mut state = lock(&shared.state);
    loop {
        if state.shutdown {
            return;
        }
        let now = Instant::now();
        let mut due = Vec::new();
        let mut idx = 0;
        while idx < state.wakers.len() {
            if state.wakers[idx].0 <= now {
                due.push(state.wakers.swap_remove(idx).1);
            } else {
                idx += 1;
            }
        }
        if !due.is_empty() {
            drop(state);
            due.into_iter().for_each(Waker::wake);
            state = lock(&shared.state);
            continue;
        }
        let next = state.wakers.iter().map(|(deadline, _)| *deadline).min();
        state = match next {
            Some(deadline) => {
                let timeout = deadline.saturating_duration_since(now);
                shared
                    .cond
                    .wait_timeout(state, timeout)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
            None => shared
                .cond
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner),
        };
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn delay_completes_after_its_deadline() {
        let timer = Timer::default();
        let deadline = Instant::now() + Duration::from_millis(20);
        timer.delay(deadline).await;
        assert!(Instant::now() >= deadline);
        // A past deadline is ready at once.
        timer.delay(Instant::now()).await;
    }

    #[test]
    fn delay_works_without_a_tokio_timer() {
        // A runtime without `enable_time`: tokio::time::sleep would panic here.
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let timer = Timer::default();
        let deadline = Instant::now() + Duration::from_millis(5);
        rt.block_on(timer.delay(deadline));
        assert!(Instant::now() >= deadline);
    }
}
