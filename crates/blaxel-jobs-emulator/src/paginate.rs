//! Cursor pagination: sorting, filtering and opaque cursors.
//!
//! A cursor is the base64url encoding of a small JSON object holding the
//! sort key of the last item of the page it ends (keyset pagination, so that
//! items created or deleted between two pages neither repeat nor go
//! missing), a fingerprint of the query it belongs to (workspace, operation,
//! path ids, sort, `q` and `status`), and the simulated time it was issued.
//! A cursor sent with another query, or older than 24 simulated hours, is
//! rejected with 400 `invalid_cursor`.
//!
//! Orderings are total. Each item has a creation rank: jobs and executions
//! are ranked by creation order (finer than `createdAt`, which can tie under
//! a manual clock), while the tasks of an execution, created together, share
//! one rank. Ties, in either direction of any sort, are broken by creation
//! order (for tasks, the order they were submitted in).

use crate::clock::{Micros, SECOND};
use crate::error::ApiError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use blaxel_jobs_client::types::{ListAnchor, ListSort, PaginationMeta};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// How long a cursor stays valid, in simulated time.
const CURSOR_TTL: Micros = 24 * 3600 * SECOND;

/// What a listing request asks for.
#[derive(Debug, Clone)]
pub(crate) struct PageRequest {
    pub(crate) limit: usize,
    pub(crate) sort: ListSort,
    pub(crate) anchor_end: bool,
    pub(crate) cursor: Option<String>,
    /// Binds cursors to the query: see [`fingerprint`].
    pub(crate) fingerprint: String,
    pub(crate) now: Micros,
}

/// An item to page through, with its sort keys.
#[derive(Debug, Clone)]
pub(crate) struct Entry<T> {
    /// Creation rank, for `createdAt` sorts.
    pub(crate) created: u64,
    /// Creation order, unique in the listing: the tie-breaker.
    pub(crate) seq: u64,
    pub(crate) name: String,
    pub(crate) item: T,
}

/// One page.
#[derive(Debug, Clone)]
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    pub(crate) has_more: bool,
    pub(crate) next_cursor: String,
}

impl<T> Page<T> {
    /// The page's `meta`, given the total number of items and the bound on
    /// counting (see `EmulatorConfig::count_limit`): past the bound, `total`
    /// is the bound and `totalIsPartial` is true.
    pub(crate) fn meta(&self, total: usize, count_limit: Option<usize>) -> PaginationMeta {
        let partial = count_limit.is_some_and(|limit| total > limit);
        let counted = if partial {
            count_limit.unwrap_or(total)
        } else {
            total
        };
        PaginationMeta {
            has_more: Some(self.has_more),
            next_cursor: Some(self.next_cursor.clone()),
            total: Some(i64::try_from(counted).unwrap_or(i64::MAX)),
            total_is_partial: Some(partial),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    /// Format version.
    v: u8,
    /// Creation rank of the last item of the previous page.
    c: u64,
    /// Creation order of that item.
    s: u64,
    /// Name of that item (name sorts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    n: Option<String>,
    /// Fingerprint of the query.
    f: String,
    /// Simulated time of issue.
    t: Micros,
}

/// Identifies a query: the parts are hashed (FNV-1a, 64 bits).
pub(crate) fn fingerprint(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// Normalizes `q`: trimmed and lowercased; fewer than 2 characters means no filter.
pub(crate) fn normalize_q(q: Option<&str>) -> Option<String> {
    let q = q?.trim().to_lowercase();
    (q.chars().count() >= 2).then_some(q)
}

fn invalid_cursor(message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_cursor", message)
}

/// The sort key of an item: creation rank, creation order, name.
type Key<'a> = (u64, u64, &'a str);

fn key<T>(e: &Entry<T>) -> Key<'_> {
    (e.created, e.seq, &e.name)
}

fn compare(sort: ListSort, a: Key<'_>, b: Key<'_>) -> Ordering {
    let primary = match sort {
        ListSort::CreatedAtAsc => a.0.cmp(&b.0),
        ListSort::CreatedAtDesc => b.0.cmp(&a.0),
        ListSort::NameAsc => a.2.cmp(b.2),
        ListSort::NameDesc => b.2.cmp(a.2),
    };
    primary.then(a.1.cmp(&b.1))
}

/// Sorts (already filtered) entries and cuts the page `req` asks for.
pub(crate) fn paginate<T>(
    mut entries: Vec<Entry<T>>,
    req: &PageRequest,
) -> Result<Page<T>, ApiError> {
    let sort = req.sort;
    let is_created = matches!(sort, ListSort::CreatedAtAsc | ListSort::CreatedAtDesc);
    if req.anchor_end && !is_created {
        return Err(ApiError::validation(format!(
            "query anchor: {} is only supported with {} or {}",
            ListAnchor::End,
            ListSort::CreatedAtAsc,
            ListSort::CreatedAtDesc
        )));
    }
    if req.anchor_end && req.cursor.is_some() {
        return Err(ApiError::validation(
            "query anchor: cannot be combined with cursor",
        ));
    }
    entries.sort_by(|a, b| compare(sort, key(a), key(b)));
    let limit = req.limit.max(1);

    if req.anchor_end {
        let start = entries.len().saturating_sub(limit);
        let items = entries.into_iter().skip(start).map(|e| e.item).collect();
        return Ok(Page {
            items,
            has_more: false,
            next_cursor: String::new(),
        });
    }

    let start = match &req.cursor {
        None => 0,
        Some(raw) => {
            let c = decode(raw)?;
            if c.f != req.fingerprint {
                return Err(invalid_cursor(
                    "the cursor belongs to a different query (workspace, filters or sort changed)",
                ));
            }
            if req.now.saturating_sub(c.t) > CURSOR_TTL {
                return Err(invalid_cursor(
                    "the cursor has expired (cursors last 24 hours)",
                ));
            }
            if !is_created && c.n.is_none() {
                return Err(invalid_cursor("the cursor is malformed"));
            }
            let key_name = c.n.clone().unwrap_or_default();
            entries
                .iter()
                .position(|e| compare(sort, key(e), (c.c, c.s, &key_name)) == Ordering::Greater)
                .unwrap_or(entries.len())
        }
    };
    let end = start.saturating_add(limit).min(entries.len());
    let has_more = end < entries.len();
    let next_cursor = if has_more {
        let last = &entries[end - 1];
        encode(&Cursor {
            v: 1,
            c: last.created,
            s: last.seq,
            n: (!is_created).then(|| last.name.clone()),
            f: req.fingerprint.clone(),
            t: req.now,
        })
    } else {
        String::new()
    };
    let items = entries
        .into_iter()
        .skip(start)
        .take(end - start)
        .map(|e| e.item)
        .collect();
    Ok(Page {
        items,
        has_more,
        next_cursor,
    })
}

fn encode(c: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(c).unwrap_or_default())
}

fn decode(raw: &str) -> Result<Cursor, ApiError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(raw.trim_end_matches('='))
        .map_err(|_| invalid_cursor("the cursor is malformed"))?;
    let c: Cursor =
        serde_json::from_slice(&bytes).map_err(|_| invalid_cursor("the cursor is malformed"))?;
    if c.v != 1 {
        return Err(invalid_cursor("the cursor is malformed"));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(names: &[&str]) -> Vec<Entry<String>> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| Entry {
                created: i as u64 + 1,
                seq: i as u64 + 1,
                name: (*n).to_owned(),
                item: (*n).to_owned(),
            })
            .collect()
    }

    fn req(limit: usize, sort: ListSort, cursor: Option<String>) -> PageRequest {
        PageRequest {
            limit,
            sort,
            anchor_end: false,
            cursor,
            fingerprint: fingerprint(&["w", "ListJobs"]),
            now: 0,
        }
    }

    fn all_pages(names: &[&str], limit: usize, sort: ListSort) -> Vec<Vec<String>> {
        let mut pages = Vec::new();
        let mut cursor = None;
        loop {
            let p = paginate(entries(names), &req(limit, sort, cursor)).unwrap();
            pages.push(p.items);
            if !p.has_more {
                assert!(p.next_cursor.is_empty());
                return pages;
            }
            cursor = Some(p.next_cursor);
        }
    }

    #[test]
    fn pages_cover_everything_once_in_order() {
        let names = ["c", "a", "e", "b", "d"];
        assert_eq!(
            all_pages(&names, 2, ListSort::CreatedAtDesc),
            vec![vec!["d", "b"], vec!["e", "a"], vec!["c"]]
        );
        assert_eq!(
            all_pages(&names, 2, ListSort::NameAsc),
            vec![vec!["a", "b"], vec!["c", "d"], vec!["e"]]
        );
        assert_eq!(
            all_pages(&names, 3, ListSort::NameDesc),
            vec![vec!["e", "d", "c"], vec!["b", "a"]]
        );
        assert_eq!(all_pages(&names, 5, ListSort::CreatedAtAsc).len(), 1);
        assert_eq!(
            all_pages(&[], 5, ListSort::CreatedAtAsc),
            vec![Vec::<String>::new()]
        );
    }

    #[test]
    fn ties_in_names_are_broken_by_creation_order() {
        let names = ["x", "x", "x"];
        let e = entries(&names);
        let seqs: Vec<u64> = {
            let mut e = e;
            e.sort_by(|a, b| compare(ListSort::NameDesc, key(a), key(b)));
            e.iter().map(|x| x.seq).collect()
        };
        assert_eq!(seqs, vec![1, 2, 3]);
        let pages = all_pages(&names, 1, ListSort::NameAsc);
        assert_eq!(pages.len(), 3);
    }

    #[test]
    fn cursors_are_bound_to_their_query_and_expire() {
        let p = paginate(
            entries(&["a", "b", "c"]),
            &req(1, ListSort::CreatedAtAsc, None),
        )
        .unwrap();
        let mut other = req(1, ListSort::CreatedAtAsc, Some(p.next_cursor.clone()));
        other.fingerprint = fingerprint(&["w", "ListJobs", "q=x"]);
        let e = paginate(entries(&["a", "b", "c"]), &other).unwrap_err();
        assert_eq!(e.kind, "invalid_cursor");
        let mut late = req(1, ListSort::CreatedAtAsc, Some(p.next_cursor));
        late.now = CURSOR_TTL + 1;
        assert_eq!(
            paginate(entries(&["a"]), &late).unwrap_err().kind,
            "invalid_cursor"
        );
        for junk in ["%%%", "e30", "bm90IGpzb24"] {
            let e = paginate(
                entries(&["a"]),
                &req(1, ListSort::CreatedAtAsc, Some(junk.into())),
            )
            .unwrap_err();
            assert_eq!(e.kind, "invalid_cursor", "{junk}");
        }
    }

    #[test]
    fn anchor_end_gives_the_last_page_of_created_at_sorts_only() {
        let mut r = req(2, ListSort::CreatedAtAsc, None);
        r.anchor_end = true;
        let p = paginate(entries(&["a", "b", "c"]), &r).unwrap();
        assert_eq!(p.items, vec!["b", "c"]);
        assert!(!p.has_more);
        r.sort = ListSort::NameAsc;
        assert_eq!(
            paginate(entries(&["a"]), &r).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn equal_creation_ranks_keep_creation_order_both_ways() {
        let tasks = || -> Vec<Entry<String>> {
            (0..5)
                .map(|i| Entry {
                    created: 7,
                    seq: i,
                    name: format!("task-{i}"),
                    item: format!("task-{i}"),
                })
                .collect()
        };
        for sort in [ListSort::CreatedAtDesc, ListSort::CreatedAtAsc] {
            let p = paginate(tasks(), &req(2, sort, None)).unwrap();
            assert_eq!(p.items, vec!["task-0", "task-1"]);
            let p2 = paginate(tasks(), &req(2, sort, Some(p.next_cursor))).unwrap();
            assert_eq!(p2.items, vec!["task-2", "task-3"]);
        }
    }

    #[test]
    fn keyset_cursors_survive_insertions() {
        let p = paginate(
            entries(&["a", "b", "c"]),
            &req(2, ListSort::CreatedAtAsc, None),
        )
        .unwrap();
        // Something created between the two pages shows up at the end, nothing repeats.
        let p2 = paginate(
            entries(&["a", "b", "c", "d"]),
            &req(2, ListSort::CreatedAtAsc, Some(p.next_cursor)),
        )
        .unwrap();
        assert_eq!(p2.items, vec!["c", "d"]);
    }

    #[test]
    fn q_is_trimmed_lowercased_and_ignored_when_short() {
        assert_eq!(normalize_q(Some("  ReP ")), Some("rep".to_owned()));
        assert_eq!(normalize_q(Some(" a ")), None);
        assert_eq!(normalize_q(None), None);
    }
}
