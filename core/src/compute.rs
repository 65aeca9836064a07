//! The compute pool: where decoding and inference run, off any async executor's threads.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use futures::channel::oneshot;

use crate::error::{Error, Result};

/// A fixed set of worker threads (one per core by default) for CPU-bound work. Bounded, so a
/// burst of requests queues here instead of oversubscribing the cores or the memory.
#[derive(Clone, Debug)]
pub(crate) struct ComputePool {
    pool: Arc<rayon::ThreadPool>,
}

impl ComputePool {
    pub(crate) fn new(threads: usize) -> Result<ComputePool> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(|i| format!("emotion-compute-{i}"))
            .build()
            .map_err(|e| Error::Internal(format!("cannot start the compute pool: {e}")))?;
        Ok(ComputePool {
            pool: Arc::new(pool),
        })
    }

    pub(crate) fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Runs `work` on a worker and waits for it without blocking the caller's thread. A panic in
    /// `work` becomes [`Error::Internal`] instead of taking the process down.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.pool.spawn(move || {
            let outcome = catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_owned());
                Err(Error::Internal(format!("a compute task panicked: {what}")))
            });
            // The caller may have gone away (a closed connection); its result is not needed then.
            let _ = tx.send(outcome);
        });
        rx.await
            .map_err(|_| Error::Internal("a compute task vanished".into()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_and_panics_come_back() {
        let pool = ComputePool::new(1).unwrap();
        assert_eq!(futures::executor::block_on(pool.run(|| Ok(41 + 1))), Ok(42));
        let err = futures::executor::block_on(pool.run::<(), _>(|| panic!("boom"))).unwrap_err();
        assert_eq!(err, Error::Internal("a compute task panicked: boom".into()));
        // The pool survives the panic.
        assert_eq!(futures::executor::block_on(pool.run(|| Ok(1))), Ok(1));
    }
}
