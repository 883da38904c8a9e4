//! `application/x-www-form-urlencoded` parsing, for query strings and OAuth
//! token request bodies.

/// Splits `a=1&b=x+y` into decoded pairs. `+` is a space and `%XX` a byte;
/// a `%` not followed by two hex digits is kept as it is. Fails only when the
/// decoded bytes are not UTF-8.
pub(crate) fn parse(input: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for part in input.split('&') {
        if part.is_empty() {
            continue;
        }
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        out.push((decode(k)?, decode(v)?));
    }
    Ok(out)
}

/// Percent-decodes one component.
fn decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => match (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| format!("{s:?} does not decode to UTF-8 text"))
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
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
        assert!(parse("q=%FF").is_err());
    }
}
