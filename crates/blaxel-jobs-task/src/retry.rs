//! When to try the data URL again, and how long to wait first.

use std::time::Duration;

/// Retries of the execution data request.
///
/// The delay before retry `n` (from 0) is `base * 2^n`, scaled by a random
/// factor between 0.5 and 1 so that the tasks of a large execution do not
/// retry in step, then raised to the server's `Retry-After` if it asked
/// for longer, and capped at `max_delay`. With the defaults (3 retries,
/// 1 s base) the waits are at most 1, 2 and 4 s, as the official
/// TypeScript helper waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The delay before the first retry, before jitter.
    pub base: Duration,
    /// The longest wait, whatever `Retry-After` says.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            base: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry `retry` (0 for the first), with `jitter` in
    /// `[0, 1]` choosing within the jitter range, and the server's
    /// `Retry-After` if any.
    pub fn delay(&self, retry: u32, jitter: f64, retry_after: Option<Duration>) -> Duration {
        let backoff = 2u32
            .checked_pow(retry)
            .and_then(|factor| self.base.checked_mul(factor))
            .unwrap_or(Duration::MAX);
        let scale = 0.5 + 0.5 * jitter.clamp(0.0, 1.0);
        let backoff =
            Duration::try_from_secs_f64(backoff.as_secs_f64() * scale).unwrap_or(Duration::MAX);
        backoff
            .max(retry_after.unwrap_or(Duration::ZERO))
            .min(self.max_delay)
    }
}

/// A `Retry-After` value in seconds (`Retry-After: 7`). The HTTP-date form
/// and anything else give `None`: the backoff applies.
pub(crate) fn parse_retry_after(value: &[u8]) -> Option<Duration> {
    let text = std::str::from_utf8(value).ok()?.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Too many digits for u64 is "very long": the cap applies.
    Some(Duration::from_secs(text.parse().unwrap_or(u64::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn backoff_doubles_within_the_jitter_range() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(0, 1.0, None), Duration::from_secs(1));
        assert_eq!(p.delay(0, 0.0, None), Duration::from_millis(500));
        assert_eq!(p.delay(2, 1.0, None), Duration::from_secs(4));
        assert_eq!(p.delay(40, 1.0, None), Duration::from_secs(30));
    }

    #[test]
    fn retry_after_raises_the_delay_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(0, 0.0, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            p.delay(2, 1.0, Some(Duration::from_secs(1))),
            Duration::from_secs(4)
        );
        assert_eq!(
            p.delay(0, 0.0, Some(Duration::from_secs(3600))),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn retry_after_is_whole_seconds_only() {
        assert_eq!(parse_retry_after(b" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after(b"99999999999999999999999"),
            Some(Duration::from_secs(u64::MAX))
        );
        for bad in [
            &b""[..],
            b"-1",
            b"1.5",
            b"Wed, 21 Oct 2015 07:28:00 GMT",
            b"\xff",
        ] {
            assert_eq!(parse_retry_after(bad), None);
        }
    }

    proptest! {
        #[test]
        fn delays_never_exceed_the_cap_or_panic(
            retry in any::<u32>(),
            jitter in any::<f64>(),
            after in proptest::option::of(any::<u64>()),
            base_ms in any::<u64>(),
            cap_ms in any::<u64>(),
        ) {
            let p = RetryPolicy {
                max_retries: 3,
                base: Duration::from_millis(base_ms),
                max_delay: Duration::from_millis(cap_ms),
            };
            let d = p.delay(retry, jitter, after.map(Duration::from_secs));
            prop_assert!(d <= p.max_delay);
        }

        #[test]
        fn any_header_bytes_parse_without_panic(value in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse_retry_after(&value);
        }
    }
}
