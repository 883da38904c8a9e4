//! Batch ids and the execution ids derived from them.
//!
//! Chunk `i` of batch `b` is the execution `b-i` (decimal, no padding), and
//! retry round `n` of batch `b` is the batch `b-rn`. The mapping is
//! one-to-one: a batch id holds only lowercase letters, digits and `-`, and
//! the part after the last `b-` of a chunk's id is all digits, while a
//! retry round's chunks continue with `r`, so no chunk of one batch or round
//! reads as a chunk of another.

use crate::error::InvalidInput;

/// The longest batch id accepted, in characters, so that derived ids stay
/// short (a chunk index adds at most 21 characters).
pub const MAX_BATCH_ID_LEN: usize = 40;

/// Checks a batch id: 1 to [`MAX_BATCH_ID_LEN`] lowercase ASCII letters,
/// digits and `-`, starting with a letter or digit. Lowercase because
/// listings filter (`q`) without regard to case.
pub(crate) fn check(id: &str) -> Result<(), InvalidInput> {
    let ok = !id.is_empty()
        && id.len() <= MAX_BATCH_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(InvalidInput::at_field(
            "batchId",
            format!(
                "a batch id is 1 to {MAX_BATCH_ID_LEN} lowercase letters, digits and '-', not \
                 starting with '-' (got {:?})",
                crate::error::Clip(id, 64).to_string()
            ),
        ))
    }
}

/// A fresh batch id: `b` and 16 hexadecimal digits.
pub(crate) fn generate() -> String {
    let u = uuid::Uuid::new_v4().as_u128();
    format!("b{:016x}", (u >> 64) as u64 ^ (u as u64))
}

/// The execution id of chunk `index` of batch `batch`.
pub(crate) fn chunk(batch: &str, index: u64) -> String {
    format!("{batch}-{index}")
}

/// The batch id of retry round `round` of batch `batch`.
pub(crate) fn retry_round(batch: &str, round: u32) -> String {
    format!("{batch}-r{round}")
}

/// The chunk index of `execution_id` if it is a chunk of batch `batch`.
pub(crate) fn parse_chunk(batch: &str, execution_id: &str) -> Option<u64> {
    let rest = execution_id.strip_prefix(batch)?.strip_prefix('-')?;
    let canonical = !rest.is_empty()
        && rest.bytes().all(|b| b.is_ascii_digit())
        && (rest == "0" || !rest.starts_with('0'));
    canonical.then(|| rest.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ids_are_checked() {
        assert!(check("nightly-2026").is_ok());
        assert!(check(&generate()).is_ok());
        for bad in ["", "-a", "Upper", "a_b", "a b", &"a".repeat(41)] {
            assert!(check(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn retry_rounds_and_other_batches_are_not_chunks() {
        assert_eq!(parse_chunk("b1", "b1-0"), Some(0));
        assert_eq!(parse_chunk("b1", "b1-42"), Some(42));
        for other in ["b1-r1-0", "b1-042", "b1-", "b1", "b12-3", "b1-3x", "xb1-3"] {
            assert_eq!(parse_chunk("b1", other), None, "{other}");
        }
        assert_eq!(parse_chunk(&retry_round("b1", 1), "b1-r1-7"), Some(7));
    }

    proptest! {
        /// Derived ids are collision-free: each one parses back to its own
        /// chunk of its own batch only.
        #[test]
        fn derived_ids_parse_back_only_to_their_own_chunk(
            batch in "[a-z0-9][a-z0-9-]{0,20}",
            other in "[a-z0-9][a-z0-9-]{0,20}",
            index in any::<u64>(),
            round in 1u32..1000,
        ) {
            let id = chunk(&batch, index);
            prop_assert_eq!(parse_chunk(&batch, &id), Some(index));
            if other != batch {
                // Another batch may only claim it if ids coincide as strings.
                if let Some(i) = parse_chunk(&other, &id) {
                    prop_assert_eq!(chunk(&other, i), id.clone());
                }
            }
            let retry = retry_round(&batch, round);
            prop_assert_eq!(parse_chunk(&batch, &chunk(&retry, index)), None);
        }
    }
}
