//! `application/x-www-form-urlencoded` parsing, for query strings and OAuth
//! token request bodies: `form_urlencoded`'s, refusing text that does not
//! decode to UTF-8 (which it would decode lossily).

use percent_encoding::percent_decode_str;

/// Splits `a=1&b=x+y` into decoded pairs. `+` is a space and `%XX` a byte;
/// a `%` not followed by two hex digits is kept as it is. Fails only when the
/// decoded bytes are not UTF-8.
pub(crate) fn parse(input: &str) -> Result<Vec<(String, String)>, String> {
    // The separators are ASCII, so the whole input decodes to UTF-8 exactly
    // when each of its names and values does.
    if percent_decode_str(input).decode_utf8().is_err() {
        let shown: String = input.chars().take(100).collect();
        return Err(format!("{shown:?} does not decode to UTF-8 text"));
    }
    Ok(form_urlencoded::parse(input.as_bytes())
        .into_owned()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pairs() {
        let p = parse("a=1&b=x+y&c=%2Fz%3D&&d&e=").unwrap();
        let want: Vec<(String, String)> =
            [("a", "1"), ("b", "x y"), ("c", "/z="), ("d", ""), ("e", "")]
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
        assert_eq!(p, want);
    }

    #[test]
    fn keeps_stray_percent_signs_and_rejects_bad_utf8() {
        assert_eq!(parse("q=100%").unwrap()[0].1, "100%");
        assert_eq!(parse("q=%zz").unwrap()[0].1, "%zz");
        assert_eq!(parse("q=%C3%A9").unwrap()[0].1, "é");
        assert_eq!(parse("q=%C3%A9+%26").unwrap()[0].1, "é &");
        for bad in ["q=%FF", "a=%C3&b=%A9", "a=%C3=%A9", "%FF=1"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
