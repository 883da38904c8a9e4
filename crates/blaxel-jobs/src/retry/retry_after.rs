//! `Retry-After`, read from any value a server sends.

use reqwest::header::HeaderMap;
use std::time::{Duration, SystemTime};

/// Reads `Retry-After` as seconds or as an HTTP date.
///
/// Any value a server sends gives a duration or `None`, never a panic: a
/// number of seconds too large for a [`Duration`] (`1e300`,
/// `18446744073709551616`) saturates to [`Duration::MAX`], which is longer
/// than any wait the SDK accepts, so the call ends with the error that
/// carries it.
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    retry_after_value(value, SystemTime::now())
}

/// [`parse_retry_after`] of one header value, at time `now`.
pub(crate) fn retry_after_value(value: &str, now: SystemTime) -> Option<Duration> {
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if value.bytes().all(|b| b.is_ascii_digit()) && !value.is_empty() {
        // Digits only, yet not a u64: more seconds than a u64 holds.
        return Some(Duration::MAX);
    }
    if let Ok(secs) = value.parse::<f64>() {
        if secs.is_nan() || secs < 0.0 {
            return None;
        }
        return Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_parses_seconds_and_http_dates() {
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, "12".parse().unwrap());
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(12)));
        let later = SystemTime::now() + Duration::from_secs(30);
        h.insert(
            reqwest::header::RETRY_AFTER,
            httpdate::fmt_http_date(later).parse().unwrap(),
        );
        let d = parse_retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        h.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(parse_retry_after(&h), None);
    }

    #[test]
    fn huge_retry_after_values_saturate_instead_of_panicking() {
        let now = SystemTime::now();
        for v in [
            "1e300",
            "18446744073709551616",
            "1e20",
            "inf",
            "999999999999999999999999",
        ] {
            assert_eq!(retry_after_value(v, now), Some(Duration::MAX), "{v}");
        }
        for v in ["-1", "NaN", "-inf", ""] {
            assert_eq!(retry_after_value(v, now), None, "{v}");
        }
        assert_eq!(
            retry_after_value("1.5", now),
            Some(Duration::from_millis(1500))
        );
        // Longer than any wait: the error is returned, not retried.
        let verdict = crate::retry::Verdict::Transient {
            retry_after: Some(Duration::MAX),
        };
        assert_eq!(crate::RetryConfig::default().decide(verdict, 1), None);
    }

    proptest::proptest! {
        #[test]
        fn any_retry_after_header_parses_without_panicking(value in "\\PC*", secs in proptest::num::f64::ANY, n in proptest::num::u128::ANY) {
            let now = SystemTime::now();
            let _ = retry_after_value(&value, now);
            let _ = retry_after_value(&secs.to_string(), now);
            let _ = retry_after_value(&format!("{secs:e}"), now);
            proptest::prop_assert!(retry_after_value(&n.to_string(), now).is_some());
            if let Ok(v) = reqwest::header::HeaderValue::from_str(&value) {
                let mut h = HeaderMap::new();
                h.insert(reqwest::header::RETRY_AFTER, v);
                let _ = parse_retry_after(&h);
            }
        }

    }
}
