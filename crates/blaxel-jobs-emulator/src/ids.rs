//! Random ids: execution, revision, trigger and request ids, tokens and
//! generated credentials.

/// A random id such as `exec-3f9a0c2d71be`: `prefix` then `hex_digits`
/// random lowercase hexadecimal digits.
pub(crate) fn random_id(prefix: &str, hex_digits: usize) -> String {
    let mut s = String::with_capacity(prefix.len() + hex_digits);
    s.push_str(prefix);
    for _ in 0..hex_digits {
        let d = fastrand::u8(0..16);
        s.push(char::from_digit(u32::from(d), 16).unwrap_or('0'));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_have_the_asked_shape() {
        let id = random_id("exec-", 12);
        assert_eq!(id.len(), 17);
        assert!(id[5..].chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(random_id("", 16), random_id("", 16));
    }
}
