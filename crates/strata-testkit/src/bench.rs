//! What the criterion benches of every crate share: the key count a bench run uses
//! ([`bench_keys`], `$STRATA_BENCH_KEYS` or the bench's default) and [`time_runs`], the body
//! of an `iter_custom` that awaits one operation after another inside a single `block_on`, so
//! a runtime's entry cost is not counted per operation.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// `$STRATA_BENCH_KEYS` if it is set to a number, else `default`.
pub fn bench_keys(default: u64) -> u64 {
    std::env::var("STRATA_BENCH_KEYS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(default)
}

/// The time `iters` runs of `op` take, each awaited before the next starts (its result kept
/// from the optimizer).
pub async fn time_runs<T>(iters: u64, mut op: impl AsyncFnMut() -> T) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        black_box(op().await);
    }
    start.elapsed()
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use super::*;

    #[test]
    fn runs_the_operation_iters_times() {
        let mut n = 0u64;
        {
            let fut = pin!(time_runs(5, async || {
                n += 1;
                n
            }));
            let mut cx = Context::from_waker(Waker::noop());
            assert!(matches!(fut.poll(&mut cx), Poll::Ready(_)));
        }
        assert_eq!(n, 5);
    }
}
