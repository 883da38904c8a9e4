//! The retry settings of a client or a call.

use super::{Backoff, Verdict};
use std::time::Duration;

/// Retry settings. [`RetryConfig::default`] makes 3 attempts in all.
///
/// Build one from the default with the `with_…` methods:
///
/// ```
/// use std::time::Duration;
/// let retry = blaxel_jobs::RetryConfig::default()
///     .with_max_attempts(5)
///     .with_max_backoff(Duration::from_secs(5));
/// assert_eq!(retry.max_attempts(), 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Attempts in all, the first one included; 1 turns retries off.
    pub(crate) max_attempts: u32,
    /// The backoff ceiling of the first retry.
    pub(crate) initial_backoff: Duration,
    /// The largest backoff ceiling.
    pub(crate) max_backoff: Duration,
    /// The longest `Retry-After` the SDK will wait for.
    pub(crate) max_retry_after: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryConfig {
    /// No retries: every call makes exactly one attempt.
    pub fn disabled() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The same settings with another number of attempts (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The same settings with another backoff ceiling for the first retry
    /// (default 250 ms).
    pub fn with_initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The same settings with another largest backoff ceiling (default 20 s).
    pub fn with_max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The same settings with another longest `Retry-After` to wait for
    /// (default 60 s); a longer one ends the call with the server's answer.
    pub fn with_max_retry_after(mut self, wait: Duration) -> Self {
        self.max_retry_after = wait;
        self
    }

    /// Attempts in all, the first one included; 1 means no retries.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff ceiling of the first retry.
    pub fn initial_backoff(&self) -> Duration {
        self.initial_backoff
    }

    /// The largest backoff ceiling.
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// The longest `Retry-After` the SDK will wait for.
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// The backoff of the attempts: from `initial_backoff`, doubling, at
    /// most `max_backoff`.
    pub(crate) fn backoff(&self) -> Backoff {
        Backoff {
            initial: self.initial_backoff,
            max: self.max_backoff,
            factor: 2.0,
        }
    }

    /// Whether to make attempt `attempt + 1` after a failure the classifier
    /// judged `verdict`, and after how long: a full-jitter backoff, or the
    /// server's `Retry-After` when it gave one (not waited for when longer
    /// than [`max_retry_after`](Self::max_retry_after): the call ends with
    /// the answer that carries it).
    pub(crate) fn decide(&self, verdict: Verdict, attempt: u32) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        match verdict {
            Verdict::Final => None,
            Verdict::BackPressure {
                retry_after: Some(wait),
            }
            | Verdict::Transient {
                retry_after: Some(wait),
            } => (wait <= self.max_retry_after).then_some(wait),
            _ => Some(self.backoff().jittered(attempt.saturating_sub(1))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transient(secs: Option<u64>) -> Verdict {
        Verdict::Transient {
            retry_after: secs.map(Duration::from_secs),
        }
    }

    fn pushed_back(secs: Option<u64>) -> Verdict {
        Verdict::BackPressure {
            retry_after: secs.map(Duration::from_secs),
        }
    }

    #[test]
    fn attempts_are_capped_and_retry_after_is_honoured_up_to_the_cap() {
        let cfg = RetryConfig::default();
        assert!(cfg.decide(transient(None), 1).is_some());
        assert!(cfg.decide(transient(None), 3).is_none());
        assert_eq!(
            cfg.decide(pushed_back(Some(7)), 1),
            Some(Duration::from_secs(7))
        );
        assert_eq!(cfg.decide(pushed_back(Some(3600)), 1), None);
        let off = RetryConfig::disabled();
        assert!(off.decide(transient(None), 1).is_none());
    }

    #[test]
    fn a_final_verdict_is_never_retried() {
        assert_eq!(RetryConfig::default().decide(Verdict::Final, 1), None);
    }

    #[test]
    fn a_retry_waits_at_most_the_doubling_ceiling() {
        let cfg = RetryConfig::default()
            .with_initial_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_millis(350));
        for _ in 0..100 {
            assert!(cfg.decide(transient(None), 1).unwrap() <= Duration::from_millis(100));
            assert!(cfg.decide(transient(None), 2).unwrap() <= Duration::from_millis(200));
        }
    }

    proptest::proptest! {
        #[test]
        fn any_retry_settings_and_failures_decide_without_panicking(
            attempts in proptest::num::u32::ANY,
            initial in proptest::num::u64::ANY,
            max in proptest::num::u64::ANY,
            max_after in proptest::num::u64::ANY,
            nanos in proptest::num::u32::ANY,
            after in proptest::option::of(proptest::num::u64::ANY),
            attempt in proptest::num::u32::ANY,
        ) {
            let cfg = RetryConfig {
                max_attempts: attempts,
                initial_backoff: Duration::new(initial, nanos % 1_000_000_000),
                max_backoff: Duration::new(max, nanos % 1_000_000_000),
                max_retry_after: Duration::from_secs(max_after),
            };
            let retry_after = after.map(Duration::from_secs);
            for verdict in [Verdict::Transient { retry_after }, Verdict::BackPressure { retry_after }, Verdict::Transient { retry_after: None }, Verdict::Final] {
                if let Some(d) = cfg.decide(verdict, attempt) {
                    proptest::prop_assert!(d <= cfg.max_retry_after.max(cfg.max_backoff));
                }
            }
        }
    }
}
