//! The simulated clock and RFC 3339 timestamps.
//!
//! Simulated time is a count of microseconds since the emulator started
//! ([`Micros`]). It is shown to clients as wall-clock timestamps: the real
//! time at which the emulator started plus the simulated time elapsed.

use crate::config::Clock;
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
        let wall_epoch_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        SimClock {
            mode,
            started: Instant::now(),
            wall_epoch_ms,
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
}

/// Formats Unix milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub(crate) fn rfc3339_ms(unix_ms: u64) -> String {
    let ms = unix_ms % 1000;
    let secs = unix_ms / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let (y, mo, d) = civil_from_days(days);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z")
}

/// Days since 1970-01-01 to a (year, month, day) date, after Howard Hinnant's
/// `civil_from_days`, for non-negative day counts.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_793_607_300_123), "2026-11-02T08:15:00.123Z");
        assert_eq!(rfc3339_ms(4_102_444_799_999), "2099-12-31T23:59:59.999Z");
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
