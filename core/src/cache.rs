//! The result cache: a static scene costs one inference, and concurrent identical requests
//! share one computation.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use xxhash_rust::xxh3::xxh3_64;

use crate::emotion::Scores;
use crate::error::Result;

/// Which model saw which exact input: (hash of the model id, 128-bit hash of the prepared input).
type CacheKey = (u64, u128);

/// A TTL cache of scores keyed by model and prepared input. Capacity 0 turns it off.
#[derive(Debug)]
pub struct ResultCache {
    entries: Option<moka::future::Cache<CacheKey, Scores>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// Counters for `/api/status` and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CacheStats {
    pub entries: u64,
    pub hits: u64,
    pub misses: u64,
}

impl ResultCache {
    pub fn new(max_entries: u64, ttl: Duration) -> ResultCache {
        let entries = (max_entries > 0 && !ttl.is_zero()).then(|| {
            moka::future::Cache::builder()
                .max_capacity(max_entries)
                .time_to_live(ttl)
                .build()
        });
        ResultCache {
            entries,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The scores of `model` for the input with `fingerprint`: from the cache, from a computation
    /// already under way for the same key, or from `compute`. The flag says whether this call
    /// reused a result instead of computing it. Errors are not cached.
    pub async fn get_or_compute<F>(
        &self,
        model: &str,
        fingerprint: u128,
        compute: F,
    ) -> Result<(Scores, bool)>
    where
        F: Future<Output = Result<Scores>>,
    {
        let Some(entries) = &self.entries else {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return compute.await.map(|s| (s, false));
        };
        let entry = entries
            .entry((xxh3_64(model.as_bytes()), fingerprint))
            .or_try_insert_with(compute)
            .await
            .map_err(|e| (*e).clone())?;
        let reused = !entry.is_fresh();
        let counter = if reused { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        Ok((entry.into_value(), reused))
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            entries: self.entries.as_ref().map_or(0, |c| c.entry_count()),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use futures::executor::block_on;

    use super::*;
    use crate::error::Error;

    fn scores() -> Scores {
        Scores::from_weights([0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]).unwrap()
    }

    #[test]
    fn second_lookup_is_a_hit_and_models_do_not_share_entries() {
        let cache = ResultCache::new(16, Duration::from_secs(60));
        let calls = AtomicUsize::new(0);
        let compute = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(scores())
        };
        assert_eq!(
            block_on(cache.get_or_compute("a", 1, compute())),
            Ok((scores(), false))
        );
        assert_eq!(
            block_on(cache.get_or_compute("a", 1, compute())),
            Ok((scores(), true))
        );
        assert_eq!(
            block_on(cache.get_or_compute("b", 1, compute())),
            Ok((scores(), false))
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses), (1, 2));
    }

    #[test]
    fn concurrent_identical_requests_share_one_computation() {
        let cache = ResultCache::new(16, Duration::from_secs(60));
        let calls = AtomicUsize::new(0);
        let slow = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            futures_timer_yield().await;
            Ok(scores())
        };
        let results = block_on(futures::future::join_all(
            (0..8).map(|_| cache.get_or_compute("m", 7, slow())),
        ));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(
            results
                .iter()
                .filter(|r| matches!(r, Ok((_, false))))
                .count(),
            1
        );
        assert_eq!(
            results
                .iter()
                .filter(|r| matches!(r, Ok((_, true))))
                .count(),
            7
        );
    }

    #[test]
    fn errors_are_returned_and_not_cached() {
        let cache = ResultCache::new(16, Duration::from_secs(60));
        let fail = async { Err(Error::Internal("down".into())) };
        assert_eq!(
            block_on(cache.get_or_compute("m", 3, fail)),
            Err(Error::Internal("down".into()))
        );
        assert_eq!(
            block_on(cache.get_or_compute("m", 3, async { Ok(scores()) })),
            Ok((scores(), false))
        );
    }

    #[test]
    fn zero_capacity_turns_the_cache_off() {
        let cache = ResultCache::new(0, Duration::from_secs(60));
        for _ in 0..2 {
            assert_eq!(
                block_on(cache.get_or_compute("m", 1, async { Ok(scores()) })),
                Ok((scores(), false))
            );
        }
        assert_eq!(cache.stats().entries, 0);
    }

    /// Yields once, so that the other futures of a `join_all` reach the cache while this one waits.
    async fn futures_timer_yield() {
        let mut yielded = false;
        futures::future::poll_fn(|cx| {
            if yielded {
                std::task::Poll::Ready(())
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        })
        .await
    }
}
