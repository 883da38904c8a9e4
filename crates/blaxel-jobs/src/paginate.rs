//! Auto-paging streams over the cursor-paginated list operations.
//!
//! A stream sends the first request, then follows `meta.nextCursor` while
//! `meta.hasMore` is true. It stops after the last page or on an empty
//! page, and ends with [`Error::Pagination`] if the server returns a cursor
//! it already returned (instead of looping forever), or says more pages
//! follow without giving a cursor (instead of passing a truncated listing
//! off as complete). It holds one page at a
//! time, so memory stays bounded by a page whatever the listing's length;
//! to detect cycles it keeps only a 64-bit hash of each cursor seen.
//!
//! Errors are yielded as items; a failed page ends the stream.
//!
//! `meta.total` is never used to decide when to stop, nor to compute a
//! number of pages. When `meta.totalIsPartial` is true it is only a lower
//! bound (Blaxel stops counting on very large workspaces): read it as "at
//! least `total`", and follow the cursors until `hasMore` is false, as
//! these streams do.

use crate::error::Error;
use blaxel_jobs_client::types;
use futures_core::Stream;
use futures_util::{TryStreamExt as _, stream};
use std::collections::HashSet;
use std::future::Future;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

/// A page of a cursor-paginated listing.
pub trait Page {
    /// The items on the page.
    type Item;
    /// The page's items.
    fn items(&self) -> &[Self::Item];
    /// Splits the page into its items and its pagination metadata.
    fn into_parts(self) -> (Vec<Self::Item>, Option<types::PaginationMeta>);
    /// The cursor of the next page, when the server says there is one.
    fn next_cursor(&self) -> Option<&str>;
    /// Whether the server says more pages follow (`meta.hasMore`).
    fn claims_more(&self) -> bool;
}

/// `Page` for a list type with a `data` array of `$item` and a `meta`
/// object: the shape of every paged answer of the document (the generated
/// surface invokes it for each list operation's answer).
macro_rules! page {
    ($list:ty, $item:ty) => {
        impl $crate::paginate::Page for $list {
            type Item = $item;
            fn items(&self) -> &[$item] {
                &self.data
            }
            fn into_parts(
                self,
            ) -> (
                Vec<$item>,
                Option<blaxel_jobs_client::types::PaginationMeta>,
            ) {
                (self.data, self.meta)
            }
            fn next_cursor(&self) -> Option<&str> {
                if !self.claims_more() {
                    return None;
                }
                let meta = self.meta.as_ref()?;
                meta.next_cursor.as_deref().filter(|c| !c.is_empty())
            }
            fn claims_more(&self) -> bool {
                self.meta.as_ref().and_then(|m| m.has_more) == Some(true)
            }
        }
    };
}
pub(crate) use page;

enum State<F> {
    Next {
        fetch: F,
        cursor: Option<String>,
        seen: HashSet<u64>,
    },
    Fail(Error),
    Done,
}

fn cursor_hash(cursor: &str) -> u64 {
    // A fixed-key hasher: deterministic within the process, which is all a
    // cycle check needs.
    BuildHasherDefault::<DefaultHasher>::default().hash_one(cursor)
}

/// A stream of pages: `fetch(cursor)` gets one page, starting from `first`.
pub(crate) fn pages<P, F, Fut>(
    first: Option<String>,
    fetch: F,
) -> impl Stream<Item = Result<P, Error>>
where
    P: Page,
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<P, Error>>,
{
    let mut seen = HashSet::new();
    if let Some(c) = &first {
        seen.insert(cursor_hash(c));
    }
    stream::unfold(
        State::Next {
            fetch,
            cursor: first,
            seen,
        },
        |state| async move {
            match state {
                State::Done => None,
                State::Fail(e) => Some((Err(e), State::Done)),
                State::Next {
                    mut fetch,
                    cursor,
                    mut seen,
                } => match fetch(cursor).await {
                    Err(e) => Some((Err(e), State::Done)),
                    // An empty page ends the listing, whatever its metadata says.
                    Ok(page) if page.items().is_empty() => None,
                    Ok(page) => {
                        let next = match page.next_cursor() {
                            None if page.claims_more() => State::Fail(Error::Pagination(
                                "the server said more pages follow but gave no cursor; \
                                 stopping instead of returning a truncated listing as complete"
                                    .into(),
                            )),
                            None => State::Done,
                            Some(c) if !seen.insert(cursor_hash(c)) => {
                                State::Fail(Error::Pagination(format!(
                                    "the server returned the cursor `{}` a second time; \
                                     stopping instead of looping",
                                    crate::error::Clip(c, crate::error::SHORT_SHOWN)
                                )))
                            }
                            Some(c) => State::Next {
                                cursor: Some(c.to_owned()),
                                fetch,
                                seen,
                            },
                        };
                        Some((Ok(page), next))
                    }
                },
            }
        },
    )
}

/// A list request that can be sent again from a cursor: every builder of a
/// paged list operation (generated).
pub trait Listing: Clone + Send {
    /// One page of the listing.
    type Page: Page + Send;
    /// The same request, starting from `cursor`.
    fn with_cursor(self, cursor: String) -> Self;
    /// Sends the request.
    fn fetch(self) -> impl Future<Output = Result<Self::Page, Error>> + Send;
}

/// Every page of a listing, following the cursors.
pub(crate) fn pages_of<L: Listing>(list: L) -> impl Stream<Item = Result<L::Page, Error>> + Send
where
    <L::Page as Page>::Item: Send,
{
    pages(None, move |cursor: Option<String>| {
        match cursor {
            Some(c) => list.clone().with_cursor(c),
            None => list.clone(),
        }
        .fetch()
    })
}

/// Adds `pages` and `into_stream` to a list builder.
macro_rules! listing {
    ($builder:ident, $page:ty) => {
        impl<'a> $crate::paginate::Listing for $builder<'a> {
            type Page = $page;
            fn with_cursor(self, cursor: String) -> Self {
                self.cursor(cursor)
            }
            fn fetch(self) -> impl std::future::Future<Output = Result<$page, Error>> + Send {
                self.send()
            }
        }

        impl<'a> $builder<'a> {
            /// Every page, following the cursors (see [`crate::paginate`]).
            /// Consumes the builder, as [`into_stream`](Self::into_stream)
            /// does: one page per `send`, or `into_…` for all of them.
            pub fn into_pages(
                self,
            ) -> impl futures_core::Stream<Item = Result<$page, Error>> + Send + 'a {
                $crate::paginate::pages_of(self)
            }

            /// Every item, one at a time, fetching pages as needed.
            pub fn into_stream(
                self,
            ) -> impl futures_core::Stream<
                Item = Result<<$page as $crate::paginate::Page>::Item, Error>,
            > + Send
            + 'a {
                $crate::paginate::items(self.into_pages())
            }
        }
    };
}
pub(crate) use listing;

/// The items of a stream of pages, one at a time.
pub(crate) fn items<P, S>(pages: S) -> impl Stream<Item = Result<P::Item, Error>>
where
    P: Page,
    S: Stream<Item = Result<P, Error>>,
{
    pages
        .map_ok(|page| stream::iter(page.into_parts().0.into_iter().map(Ok)))
        .try_flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt as _;
    use std::sync::{Arc, Mutex};

    fn page(ids: &[&str], next: Option<&str>) -> types::JobList {
        serde_json::from_value(serde_json::json!({
            "data": ids.iter().map(|n| serde_json::json!({"metadata": {"name": n}, "spec": {}})).collect::<Vec<_>>(),
            "meta": {"hasMore": next.is_some(), "nextCursor": next.unwrap_or("")}
        }))
        .unwrap()
    }

    /// The cursors a fake server was asked for.
    type Asked = Arc<Mutex<Vec<Option<String>>>>;

    /// A fake server: cursor -> page, recording the cursors asked for.
    fn server(
        pages: Vec<(Option<&'static str>, types::JobList)>,
    ) -> (
        Asked,
        impl FnMut(Option<String>) -> std::future::Ready<Result<types::JobList, Error>>,
    ) {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&asked);
        let fetch = move |cursor: Option<String>| {
            log.lock().unwrap().push(cursor.clone());
            let found = pages
                .iter()
                .find(|(c, _)| c.map(str::to_owned) == cursor)
                .map(|(_, p)| p.clone())
                .ok_or_else(|| Error::Pagination(format!("unknown cursor {cursor:?}")));
            std::future::ready(found)
        };
        (asked, fetch)
    }

    fn names(items: Vec<Result<types::Job, Error>>) -> Vec<String> {
        items
            .into_iter()
            .map(|j| j.unwrap().metadata.name)
            .collect()
    }

    #[tokio::test]
    async fn follows_cursors_until_has_more_is_false() {
        let (asked, fetch) = server(vec![
            (None, page(&["a", "b"], Some("c1"))),
            (Some("c1"), page(&["c", "d"], Some("c2"))),
            (Some("c2"), page(&["e"], None)),
        ]);
        let all: Vec<_> = items(pages(None, fetch)).collect().await;
        assert_eq!(names(all), ["a", "b", "c", "d", "e"]);
        assert_eq!(
            *asked.lock().unwrap(),
            [None, Some("c1".to_owned()), Some("c2".to_owned())]
        );
    }

    #[tokio::test]
    async fn stops_on_an_empty_page_even_if_it_claims_more() {
        let (asked, fetch) = server(vec![
            (None, page(&["a"], Some("c1"))),
            (Some("c1"), page(&[], Some("c2"))),
        ]);
        let all: Vec<_> = items(pages(None, fetch)).collect().await;
        assert_eq!(names(all), ["a"]);
        assert_eq!(asked.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_repeated_cursor_ends_the_stream_with_an_error() {
        let (asked, fetch) = server(vec![
            (None, page(&["a"], Some("c1"))),
            (Some("c1"), page(&["b"], Some("c2"))),
            (Some("c2"), page(&["c"], Some("c1"))),
        ]);
        let all: Vec<_> = items(pages(None, fetch)).collect().await;
        assert_eq!(all.len(), 4, "three items, then the error");
        assert!(matches!(all.last(), Some(Err(Error::Pagination(_)))));
        assert_eq!(asked.lock().unwrap().len(), 3, "c1 is not fetched twice");
    }

    #[tokio::test]
    async fn more_pages_without_a_cursor_is_an_error_not_a_silent_end() {
        let mut last = page(&["b"], None);
        last.meta.as_mut().unwrap().has_more = Some(true);
        let (_, fetch) = server(vec![(None, page(&["a"], Some("c1"))), (Some("c1"), last)]);
        let all: Vec<_> = items(pages(None, fetch)).collect().await;
        assert_eq!(all.len(), 3);
        assert!(matches!(all.last(), Some(Err(Error::Pagination(_)))));
    }

    proptest::proptest! {
        /// Whatever the metadata says, a listing ends: with its pages, or
        /// with an error, never by looping or panicking, and an error
        /// message quotes at most a short piece of a cursor.
        #[test]
        fn any_paging_metadata_ends_the_listing(
            metas in proptest::collection::vec(
                (proptest::option::of(proptest::bool::ANY),
                 proptest::option::of("[a-c]{0,2}|\\PC{0,400}"),
                 proptest::option::of(proptest::num::i64::ANY),
                 0usize..3),
                1..12,
            ),
        ) {
            let served_pages: Vec<types::JobList> = metas
                .iter()
                .map(|(more, cursor, total, items)| {
                    serde_json::from_value(serde_json::json!({
                        "data": (0..*items).map(|i| serde_json::json!({"metadata": {"name": format!("j{i}")}, "spec": {}})).collect::<Vec<_>>(),
                        "meta": {"hasMore": more, "nextCursor": cursor, "total": total},
                    }))
                    .unwrap()
                })
                .collect();
            let served = served_pages.len();
            let mut n = 0usize;
            let fetch = move |_cursor: Option<String>| {
                // The n-th request gets the n-th page; past the end, an error.
                let page = served_pages.get(n).cloned().ok_or_else(|| Error::Pagination("past the end".into()));
                n += 1;
                std::future::ready(page)
            };
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let all: Vec<_> = rt.block_on(items(pages(None, fetch)).collect());
            // One request per page at most, plus the failing one.
            proptest::prop_assert!(all.len() <= served * 2 + 1);
            for item in &all {
                if let Err(e) = item {
                    proptest::prop_assert!(e.to_string().len() < 1200, "{}", e.to_string().len());
                }
            }
            proptest::prop_assert!(all.iter().filter(|i| i.is_err()).count() <= 1);
        }
    }

    #[tokio::test]
    async fn a_failed_page_ends_the_stream() {
        let (_, fetch) = server(vec![(None, page(&["a"], Some("missing")))]);
        let all: Vec<_> = items(pages(None, fetch)).collect().await;
        assert_eq!(all.len(), 2);
        assert!(all[1].is_err());
    }
}
