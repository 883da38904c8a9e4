//! The simulated clock and RFC 3339 timestamps.
//!
//! Simulated time is a count of microseconds since the emulator started
//! ([`Micros`]). It is shown to clients as wall-clock timestamps: the real
//! time at which the emulator started plus the simulated time elapsed,
//! formatted by `chrono`.

use crate::config::Clock;
use chrono::{DateTime, SecondsFormat, Utc};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Simulated microseconds since the emulator started.
pub(crate) type Micros = u64;

/// Microseconds in one second.
pub(crate) const SECOND: Micros = 1_000_000;

/// Converts a duration to microseconds, saturating.
pub(crate) fn micros(d: Duration) -> Micros {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The emulator's clock: scaled real time or manual, plus manual advances.
#[derive(Debug)]
pub(crate) struct SimClock {
    mode: Clock,
    started: Instant,
    /// Real Unix time, in milliseconds, at which simulated time 0 happened.
    wall_epoch_ms: u64,
    /// What [`SimClock::advance`] added.
    offset: AtomicU64,
}

impl SimClock {
    /// A clock starting now. `mode` must have been checked by
    /// [`SimClock::check_mode`].
    pub(crate) fn new(mode: Clock) -> Self {
        SimClock {
            mode,
            started: Instant::now(),
            wall_epoch_ms: unix_ms(SystemTime::now()),
            offset: AtomicU64::new(0),
        }
    }

    /// Rejects speeds that make no sense.
    pub(crate) fn check_mode(mode: Clock) -> Result<(), String> {
        match mode {
            Clock::Scaled(s) if !s.is_finite() || s < 0.0 => Err(format!(
                "Clock::Scaled needs a finite, non-negative speed, not {s}"
            )),
            _ => Ok(()),
        }
    }

    /// Simulated time now.
    pub(crate) fn now(&self) -> Micros {
        let base = match self.mode {
            // `as` saturates on overflow, so this never panics.
            Clock::Scaled(speed) => (self.started.elapsed().as_secs_f64() * speed * 1e6) as u64,
            Clock::Manual => 0,
        };
        base.saturating_add(self.offset.load(Ordering::SeqCst))
    }

    /// Moves simulated time forward by `d`.
    pub(crate) fn advance(&self, d: Duration) {
        let add = micros(d);
        let _ = self
            .offset
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| {
                Some(o.saturating_add(add))
            });
    }

    /// The simulated instant `t` as an RFC 3339 UTC timestamp with milliseconds.
    pub(crate) fn timestamp(&self, t: Micros) -> String {
        rfc3339_ms(self.wall_epoch_ms.saturating_add(t / 1000))
    }

    /// The simulated instant `t` as Unix microseconds (saturating).
    pub(crate) fn wall_micros(&self, t: Micros) -> i64 {
        let us = self.wall_epoch_ms.saturating_mul(1000).saturating_add(t);
        i64::try_from(us).unwrap_or(i64::MAX)
    }
}

/// Unix microseconds as an RFC 3339 UTC timestamp with nanoseconds, as log
/// lines carry them (an instant past the calendar's end as its last one).
pub(crate) fn rfc3339_nanos(unix_us: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(unix_us)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
        .to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Formats Unix milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ` (an instant
/// past the calendar's end, which only an absurd advance of the clock
/// reaches, as its last millisecond).
pub(crate) fn rfc3339_ms(unix_ms: u64) -> String {
    let at = i64::try_from(unix_ms)
        .ok()
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Now, in real time, as [`rfc3339_ms`] formats it.
pub(crate) fn wall_clock_timestamp() -> String {
    rfc3339_ms(unix_ms(SystemTime::now()))
}

/// Milliseconds since the Unix epoch (0 before it).
fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_log_timestamps_with_nanoseconds() {
        assert_eq!(rfc3339_nanos(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            rfc3339_nanos(1_793_607_300_123_456),
            "2026-11-02T08:15:00.123456000Z"
        );
        assert!(rfc3339_nanos(i64::MAX).starts_with('+'));
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_793_607_300_123), "2026-11-02T08:15:00.123Z");
        assert_eq!(rfc3339_ms(4_102_444_799_999), "2099-12-31T23:59:59.999Z");
        // Past the calendar's end: its last instant, never a panic.
        assert!(rfc3339_ms(u64::MAX).ends_with("-12-31T23:59:59.999Z"));
    }

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let c = SimClock::new(Clock::Manual);
        assert_eq!(c.now(), 0);
        c.advance(Duration::from_millis(1500));
        assert_eq!(c.now(), 1_500_000);
        c.advance(Duration::MAX);
        assert_eq!(c.now(), u64::MAX);
    }

    #[test]
    fn scaled_clock_rejects_bad_speeds() {
        assert!(SimClock::check_mode(Clock::Scaled(-1.0)).is_err());
        assert!(SimClock::check_mode(Clock::Scaled(f64::NAN)).is_err());
        assert!(SimClock::check_mode(Clock::Scaled(f64::INFINITY)).is_err());
        assert!(SimClock::check_mode(Clock::Scaled(0.0)).is_ok());
        assert!(SimClock::check_mode(Clock::Manual).is_ok());
    }

    #[test]
    fn timestamps_follow_simulated_time() {
        let c = SimClock::new(Clock::Manual);
        let a = c.timestamp(0);
        let b = c.timestamp(2 * SECOND);
        assert!(a < b, "{a} < {b}");
    }
}
