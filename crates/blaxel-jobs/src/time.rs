//! Reading the API's timestamps (RFC 3339 strings such as
//! `2026-11-02T08:15:00.123Z`), to compare two of them.

/// A point in time: seconds since the Unix epoch, then nanoseconds.
pub(crate) type Timestamp = (i64, u32);

/// Parses an RFC 3339 date-time (`T` or a space between date and time,
/// optional fraction, `Z` or a `±hh:mm` offset). Anything else, including
/// an impossible date, is `None`; no input panics.
pub(crate) fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    if b.len() < 20 || !b.is_ascii() {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        digits
            .iter()
            .try_fold(0i64, |n, d| Some(n * 10 + i64::from(d - b'0')))
    };
    let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut nanos: u32 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..9 {
            nanos = nanos.saturating_mul(10);
        }
    }
    let offset = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: u8, c: u8| -> Option<i64> {
                (a.is_ascii_digit() && c.is_ascii_digit())
                    .then(|| i64::from(a - b'0') * 10 + i64::from(c - b'0'))
            };
            let (h, m) = (two(*h1, *h2)?, two(*m1, *m2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = h * 60 + m;
            if *sign == b'+' { minutes } else { -minutes }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset * 60;
    Some((secs, nanos))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`). Years are 0 to 9999 here, so nothing overflows.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_api_s_timestamps() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00.000Z"), Some((0, 0)));
        assert_eq!(
            parse_rfc3339("2026-11-02T08:15:00.123Z"),
            Some((1_793_607_300, 123_000_000))
        );
        assert_eq!(
            parse_rfc3339("2000-02-29T00:00:00Z"),
            Some((951_782_400, 0))
        );
        assert_eq!(
            parse_rfc3339("2026-11-02T10:15:00+02:00"),
            parse_rfc3339("2026-11-02T08:15:00Z")
        );
        assert_eq!(
            parse_rfc3339("2026-11-02 08:15:00.5z"),
            Some((1_793_607_300, 500_000_000))
        );
        for bad in [
            "",
            "2026-11-02",
            "2026-13-02T08:15:00Z",
            "2026-02-30T08:15:00Z",
            "2026-11-02T08:15:00",
            "2026-11-02T08:15:00.Z",
            "2026-11-02T08:15:00+2:00",
            "２０２６-11-02T08:15:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_or_not_without_panicking(text in "\\PC*") {
            let _ = parse_rfc3339(&text);
        }

        #[test]
        fn order_follows_the_instant(a in 0i64..253_402_300_799, b in 0i64..253_402_300_799) {
            let show = |s: i64| {
                let days = s.div_euclid(86_400);
                // Back from days to a civil date, by search over the year.
                let mut year = 1970 + days / 366;
                while days_from_civil(year + 1, 1, 1) <= days { year += 1; }
                let mut month = 1;
                while month < 12 && days_from_civil(year, month + 1, 1) <= days { month += 1; }
                let day = days - days_from_civil(year, month, 1) + 1;
                let t = s.rem_euclid(86_400);
                format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", t / 3600, t / 60 % 60, t % 60)
            };
            let (pa, pb) = (parse_rfc3339(&show(a)), parse_rfc3339(&show(b)));
            proptest::prop_assert_eq!(pa, Some((a, 0)));
            proptest::prop_assert_eq!(pa.cmp(&pb), a.cmp(&b));
        }
    }
}
