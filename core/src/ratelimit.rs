//! A keyed rate limiter (GCRA) for servers: one budget per client, with the wait to report.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{Quota, RateLimiter as Gcra};

/// `per_minute` requests a minute per key, in bursts of up to `per_minute`.
#[derive(Debug)]
pub struct RateLimiter<K: Hash + Eq + Clone> {
    limiter: Gcra<K, governor::state::keyed::DefaultKeyedStateStore<K>, DefaultClock>,
    clock: DefaultClock,
    per_minute: NonZeroU32,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub fn per_minute(per_minute: NonZeroU32) -> RateLimiter<K> {
        let clock = DefaultClock::default();
        RateLimiter {
            limiter: Gcra::dashmap_with_clock(Quota::per_minute(per_minute), clock.clone()),
            clock,
            per_minute,
        }
    }

    pub fn limit_per_minute(&self) -> NonZeroU32 {
        self.per_minute
    }

    /// Takes one request from `key`'s budget, or says how long until one is available.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets keys whose budget is full again, so that memory follows active clients only.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// Keys currently remembered.
    pub fn tracked_keys(&self) -> usize {
        self.limiter.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_has_its_own_budget_and_a_wait_when_spent() {
        let limiter = RateLimiter::per_minute(NonZeroU32::new(3).unwrap());
        for _ in 0..3 {
            assert!(limiter.check(&"a").is_ok());
        }
        let wait = limiter.check(&"a").unwrap_err();
        assert!(
            wait > Duration::from_secs(1) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(limiter.check(&"b").is_ok());
        assert_eq!(limiter.tracked_keys(), 2);
    }
}
