//! Cutting the task source into chunks: read lazily, each chunk's memory
//! following the tasks actually read, and serialized only when it is to
//! be created.

use crate::error::InvalidInput;
use futures_core::Stream;
use futures_util::StreamExt as _;
use serde::Serialize;
use serde_json::{Map, Value};

/// The largest chunk size accepted: 100,000 tasks.
///
/// A chunk is one execution, sent as one request body. At the smallest a
/// task can be (`{}` and a comma: 3 bytes) a chunk of this size is a body
/// of about 300 KB, within the 1 MiB the emulator accepts by default (the
/// only request limit known; Blaxel documents none), so any accepted size
/// can be sent; ten times more could not, whatever the tasks. Memory does
/// not depend on the setting: a chunk holds the tasks actually read.
pub const MAX_CHUNK_SIZE: usize = 100_000;

/// Checks a chunk size (from the builder, or given to
/// [`BatchRun::new`](super::BatchRun::new)).
pub(super) fn check_size(size: usize) -> Result<(), InvalidInput> {
    if size <= MAX_CHUNK_SIZE {
        Ok(())
    } else {
        Err(InvalidInput::at_field(
            "chunk_size",
            format!(
                "a chunk is one execution sent in one request, of at most {MAX_CHUNK_SIZE} tasks \
                 (got {size})"
            ),
        ))
    }
}

/// The tasks of `tasks`, `size` at a time (the last chunk may be shorter).
///
/// Unlike `StreamExt::chunks`, which reserves room for `size` items up
/// front, a chunk grows with the tasks read: a large setting with few
/// tasks costs what the tasks cost.
pub(super) fn read<S>(tasks: S, size: usize) -> impl Stream<Item = Vec<S::Item>>
where
    S: Stream,
{
    let size = size.max(1);
    futures_util::stream::unfold(Some(Box::pin(tasks)), move |state| async move {
        let mut tasks = state?;
        let mut chunk = Vec::new();
        while chunk.len() < size {
            match tasks.next().await {
                Some(task) => chunk.push(task),
                None => return (!chunk.is_empty()).then_some((chunk, None)),
            }
        }
        Some((chunk, Some(tasks)))
    })
}

/// A chunk read from the task source.
#[derive(Debug)]
pub(super) enum Chunk {
    /// To be created: its tasks, serialized.
    New {
        index: u64,
        first_task: u64,
        tasks: Vec<Map<String, Value>>,
    },
    /// Found already created: only counted.
    Existing { index: u64, tasks: u64 },
}

/// Chunk `index` of `size` tasks, from its tasks `items`: serialized when
/// it is to be created, only counted when it exists already.
pub(super) fn cut<T: Serialize>(
    index: u64,
    items: Vec<T>,
    size: usize,
    existing: &[u64],
) -> Result<Chunk, InvalidInput> {
    if has_bit(existing, index) {
        return Ok(Chunk::Existing {
            index,
            tasks: items.len() as u64,
        });
    }
    let first_task = index.saturating_mul(size as u64);
    let mut tasks = Vec::with_capacity(items.len());
    for (i, task) in items.into_iter().enumerate() {
        // Each task is dropped once serialized: a chunk is held once.
        let map =
            crate::json::to_object(&task, crate::json::EXECUTION_TASK_DEPTH).map_err(|why| {
                InvalidInput::at_field(
                    format!("tasks[{}]", first_task.saturating_add(i as u64)),
                    why,
                )
            })?;
        tasks.push(map);
    }
    Ok(Chunk::New {
        index,
        first_task,
        tasks,
    })
}

/// Sets bit `i`, growing the set; indices beyond 2^32 chunks (4 × 10^12
/// tasks at the smallest chunk size) are not recorded and get created again
/// idempotently.
pub(super) fn set_bit(bits: &mut Vec<u64>, i: u64) {
    if i >= 1 << 32 {
        return;
    }
    let (word, bit) = ((i / 64) as usize, i % 64);
    if bits.len() <= word {
        bits.resize(word + 1, 0);
    }
    bits[word] |= 1 << bit;
}

pub(super) fn has_bit(bits: &[u64], i: u64) -> bool {
    usize::try_from(i / 64)
        .ok()
        .and_then(|w| bits.get(w))
        .is_some_and(|w| w & (1 << (i % 64)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_record_chunks() {
        let mut bits = Vec::new();
        for i in [0, 63, 64, 1000] {
            set_bit(&mut bits, i);
        }
        set_bit(&mut bits, u64::MAX);
        for i in 0..1100 {
            assert_eq!(has_bit(&bits, i), [0, 63, 64, 1000].contains(&i), "{i}");
        }
        assert!(!has_bit(&bits, u64::MAX));
        assert_eq!(bits.len(), 1000 / 64 + 1);
    }

    #[test]
    fn chunks_are_serialized_or_only_counted_when_they_exist() {
        let mut existing = Vec::new();
        set_bit(&mut existing, 1);
        let tasks = || vec![serde_json::json!({"i": 0}); 3];
        let summary = |c: Chunk| match c {
            Chunk::New {
                index,
                first_task,
                tasks,
            } => (index, first_task, tasks.len() as u64, true),
            Chunk::Existing { index, tasks } => (index, 0, tasks, false),
        };
        assert_eq!(
            summary(cut(0, tasks(), 3, &existing).unwrap()),
            (0, 0, 3, true)
        );
        assert_eq!(
            summary(cut(1, tasks(), 3, &existing).unwrap()),
            (1, 0, 3, false)
        );
        assert_eq!(
            summary(cut(2, vec![serde_json::json!({})], 3, &existing).unwrap()),
            (2, 6, 1, true)
        );
    }

    #[test]
    fn a_task_that_is_not_an_object_is_named_by_its_index_in_the_batch() {
        let items = vec![serde_json::json!({}), serde_json::json!(3)];
        let e = cut(2, items, 10, &[]).err().unwrap();
        assert!(e.to_string().contains("tasks[21]"), "{e}");
    }

    #[tokio::test]
    async fn a_chunk_holds_the_tasks_read_not_the_setting() {
        let of = |n: u32, size: usize| read(futures_util::stream::iter(0..n), size).collect();
        let chunks: Vec<Vec<u32>> = of(5, MAX_CHUNK_SIZE).await;
        assert_eq!(chunks, [vec![0, 1, 2, 3, 4]]);
        // `StreamExt::chunks` would have reserved room for the setting.
        assert!(chunks[0].capacity() < 64, "{}", chunks[0].capacity());
        let chunks: Vec<Vec<u32>> = of(5, 2).await;
        assert_eq!(chunks, [vec![0, 1], vec![2, 3], vec![4]]);
        let none: Vec<Vec<u32>> = of(0, 2).await;
        assert!(none.is_empty());
        // Even `usize::MAX` (refused by `submit`) reserves nothing here.
        let chunks: Vec<Vec<u32>> = of(3, usize::MAX).await;
        assert_eq!(chunks, [vec![0, 1, 2]]);
    }

    #[test]
    fn sizes_beyond_the_largest_are_refused() {
        assert!(check_size(MAX_CHUNK_SIZE).is_ok());
        for size in [MAX_CHUNK_SIZE + 1, 1_000_000_000, usize::MAX] {
            let e = check_size(size).unwrap_err();
            assert_eq!(e.field(), Some("chunk_size"));
            assert!(e.message().contains("100000"), "{e}");
        }
    }
}
