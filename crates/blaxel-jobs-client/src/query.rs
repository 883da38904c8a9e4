//! A query parameter that is left out when it is not set, for the generated
//! request builders (`cargo xtask codegen` rewrites progenitor's
//! `.query(&QueryParam::new(name, &value))` into
//! [`.query_opt(name, &value)`](OptionalQuery::query_opt); see
//! `xtask/src/patches.rs`).

use progenitor_client::QueryParam;
use serde::Serialize;

/// Adds a query parameter only when it is set.
#[doc(hidden)]
pub trait OptionalQuery {
    /// `self` with `name=value` added to its URL's query when `value` is
    /// set, and untouched otherwise. The same query as progenitor's
    /// `.query(&QueryParam::new(name, value))`, which serializes nothing for
    /// `None` but still rewrites the URL's query to add it.
    fn query_opt<T: Serialize>(self, name: &str, value: &Option<T>) -> Self;
}

impl OptionalQuery for reqwest::RequestBuilder {
    fn query_opt<T: Serialize>(self, name: &str, value: &Option<T>) -> Self {
        match value {
            Some(value) => self.query(&QueryParam::new(name, value)),
            None => self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::OptionalQuery as _;

    fn url(build: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder) -> String {
        let client = crate::tls::http_client_builder().build().unwrap();
        let builder = client.get("http://127.0.0.1:9/jobs?limit=5");
        build(builder).build().unwrap().url().to_string()
    }

    #[test]
    fn an_unset_value_leaves_the_url_as_it_was() {
        assert_eq!(
            url(|b| b.query_opt::<u32>("cursor", &None)),
            "http://127.0.0.1:9/jobs?limit=5"
        );
    }

    #[test]
    fn a_set_value_is_added_as_progenitor_adds_it() {
        let q = Some("eu reports/2026 & co+x".to_owned());
        let ours = url(|b| b.query_opt("q", &q));
        let theirs = url(|b| b.query(&progenitor_client::QueryParam::new("q", &q)));
        assert_eq!(ours, theirs);
        assert!(
            ours.starts_with("http://127.0.0.1:9/jobs?limit=5&q="),
            "{ours}"
        );
    }
}
