//! How every wait grows: the SDK's one backoff.

use std::time::Duration;

/// An exponential backoff: the `n`-th wait (from 0) is at most
/// `min(max, initial × factor^n)`. The transport's retries take a random
/// wait under that ceiling (full jitter); waiters and a batch's pacing
/// take the ceiling itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Backoff {
    /// The first ceiling.
    pub(crate) initial: Duration,
    /// The largest ceiling.
    pub(crate) max: Duration,
    /// How much each ceiling grows; below 1 (or NaN) counts as 1.
    pub(crate) factor: f64,
}

impl Backoff {
    /// The ceiling of the `n`-th wait. Any settings work: a product too
    /// large for a `Duration` is `max`.
    pub(crate) fn ceiling(&self, n: u32) -> Duration {
        let factor = if self.factor >= 1.0 { self.factor } else { 1.0 };
        let exponent = i32::try_from(n).unwrap_or(i32::MAX);
        Duration::try_from_secs_f64(self.initial.as_secs_f64() * factor.powi(exponent))
            .unwrap_or(Duration::MAX)
            .min(self.max)
    }

    /// A random wait between 0 and the `n`-th ceiling (full jitter).
    pub(crate) fn jittered(&self, n: u32) -> Duration {
        let ceiling = self.ceiling(n);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ceilings_grow_by_the_factor_up_to_the_maximum() {
        let b = Backoff {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(20),
            factor: 2.0,
        };
        let ms: Vec<u128> = (0..9).map(|n| b.ceiling(n).as_millis()).collect();
        assert_eq!(ms, [250, 500, 1000, 2000, 4000, 8000, 16000, 20000, 20000]);
        let polls = Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(10),
            factor: 1.5,
        };
        let ms: Vec<u128> = (0..7).map(|n| polls.ceiling(n).as_millis()).collect();
        assert_eq!(ms, [1000, 1500, 2250, 3375, 5062, 7593, 10000]);
    }

    #[test]
    fn full_jitter_stays_under_the_ceiling_and_spreads() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(350),
            factor: 2.0,
        };
        for _ in 0..200 {
            assert!(b.jittered(0) <= Duration::from_millis(100));
            assert!(b.jittered(1) <= Duration::from_millis(200));
            assert!(b.jittered(9) <= Duration::from_millis(350));
        }
        let samples: Vec<_> = (0..50).map(|_| b.jittered(2)).collect();
        assert!(samples.iter().any(|d| *d != samples[0]));
    }

    fn duration() -> impl Strategy<Value = Duration> {
        prop_oneof![
            Just(Duration::MAX),
            Just(Duration::ZERO),
            (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
            (0u64..10_000).prop_map(Duration::from_millis),
        ]
    }

    proptest! {
        /// Any settings a caller gives: every wait is computed without
        /// panicking and stays within the maximum.
        #[test]
        fn any_backoff_stays_within_its_maximum(
            initial in duration(), max in duration(), factor in any::<f64>(), n in any::<u32>(),
        ) {
            let b = Backoff { initial, max, factor };
            prop_assert!(b.ceiling(n) <= max);
            prop_assert!(b.jittered(n) <= max);
        }
    }
}
