//! A per-client rate limit: a token bucket per client address.

use std::collections::HashMap;
use std::sync::Mutex;

/// Allows each client `per_window` requests per `window_seconds`, refilled continuously, with
/// bursts up to `per_window`.
#[derive(Debug)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, (f64, f64)>>,
    capacity: f64,
    per_second: f64,
}

/// How many clients are remembered before idle ones are forgotten.
const MAX_CLIENTS: usize = 100_000;

impl RateLimiter {
    /// `per_window` requests per `window_seconds`; 0 turns the limit off.
    pub fn new(per_window: u32, window_seconds: u32) -> Self {
        let capacity = f64::from(per_window);
        RateLimiter { buckets: Mutex::default(), capacity, per_second: capacity / f64::from(window_seconds.max(1)) }
    }

    /// Takes one request of `client` at `now` (seconds, fractional); `Err` holds the seconds to
    /// wait before the next one is allowed.
    pub fn take(&self, client: &str, now: f64) -> Result<(), u64> {
        if self.capacity <= 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(client) {
            // Forget clients whose buckets have refilled: they lose nothing.
            let (capacity, rate) = (self.capacity, self.per_second);
            buckets.retain(|_, (tokens, at)| *tokens + (now - *at) * rate < capacity);
            if buckets.len() >= MAX_CLIENTS {
                // Still full (a flood of addresses): memory stays bounded; everyone starts over.
                tracing::warn!(clients = buckets.len(), "the rate limiter forgot every client");
                buckets.clear();
            }
        }
        let (tokens, at) = buckets.entry(client.to_owned()).or_insert((self.capacity, now));
        *tokens = (*tokens + (now - *at).max(0.0) * self.per_second).min(self.capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.per_second).ceil() as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RateLimiter;

    #[test]
    fn a_client_gets_its_burst_then_waits_while_another_client_is_unaffected() {
        let limiter = RateLimiter::new(3, 60);
        for _ in 0..3 {
            assert_eq!(limiter.take("a", 100.0), Ok(()));
        }
        assert_eq!(limiter.take("a", 100.0), Err(20));
        assert_eq!(limiter.take("b", 100.0), Ok(()));
        assert_eq!(limiter.take("a", 120.0), Ok(()));
    }

    #[test]
    fn a_limit_of_zero_allows_everything() {
        let limiter = RateLimiter::new(0, 60);
        for _ in 0..1000 {
            assert_eq!(limiter.take("a", 1.0), Ok(()));
        }
    }
}
