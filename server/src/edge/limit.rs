//! Per-address limits (限流): logins, and API requests, per minute per client address
//! (`client`), so that one address can neither try passwords against every account
//! nor flood the sync and the reads. Over a limit: 429 with `Retry-After` and the
//! usual JSON error. The limiter is governor's GCRA, keyed by address; addresses not
//! seen for a while are dropped every minute, so memory stays bounded.
//!
//! The defaults are generous because phones behind a carrier's NAT share one address.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// A per-address limit of so many a minute (with a burst of as many).
#[derive(Debug)]
pub struct Limiter {
    per_minute: u32,
    inner: DefaultKeyedRateLimiter<IpAddr>,
}

impl Limiter {
    /// At most `per_minute` a minute per address; `None` for 0 (no limit).
    pub fn per_minute(per_minute: u32) -> Option<Self> {
        let n = NonZeroU32::new(per_minute)?;
        Some(Self { per_minute, inner: RateLimiter::keyed(Quota::per_minute(n)) })
    }

    /// The limit.
    pub fn limit(&self) -> u32 {
        self.per_minute
    }

    /// Counts one for `ip` (an IPv6 address by its /64, `client::limit_key`):
    /// `Err(seconds to wait)` when over the limit.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        self.inner.check_key(&super::client::limit_key(ip)).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            // Whole seconds, rounded up, at least 1 (`Retry-After` has no fractions).
            (wait.as_millis().div_ceil(1000) as u64).max(1)
        })
    }

    /// Forgets addresses whose allowance is full again.
    pub fn forget_idle(&self) {
        self.inner.retain_recent();
        self.inner.shrink_to_fit();
    }
}

/// How often idle addresses are forgotten.
pub const FORGET_EVERY: Duration = Duration::from_secs(60);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_limit_counts_per_address_and_says_how_long_to_wait() {
        let limiter = Limiter::per_minute(3).unwrap();
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        for _ in 0..3 {
            assert!(limiter.check(a).is_ok());
        }
        let wait = limiter.check(a).unwrap_err();
        assert!((1..=20).contains(&wait), "one of 3 a minute comes back within 20 s: {wait}");
        assert!(limiter.check(b).is_ok(), "another address has its own allowance");
        assert!(Limiter::per_minute(0).is_none());
    }
}
