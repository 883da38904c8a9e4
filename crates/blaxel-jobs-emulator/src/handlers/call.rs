//! What every handler does: the common checks of a request (its context,
//! path and query parameters against the document), its JSON body, and the
//! shapes of its answers (a value, a `{data, meta}` page).

use crate::clock::Micros;
use crate::context::Ctx;
use crate::error::{ApiError, json_response};
use crate::paginate::{PageRequest, fingerprint};
use crate::shared::Shared;
use crate::store::Mutation;
use crate::urlencoded;
use crate::validate::{Params, describe};
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{Extension, RawPathParams, State};
use axum::response::Response;
use blaxel_jobs_client::operations::Operation;
use blaxel_jobs_client::types::{self, ListAnchor, ListSort};
use bytes::Bytes;
use http::StatusCode;
use serde::Serialize;
use serde_json::Value;
use std::str::FromStr;
use std::sync::Arc;

pub(super) type Shr = State<Arc<Shared>>;
pub(super) type PathParams = Result<RawPathParams, RawPathParamsRejection>;
pub(super) type Answer = Result<Response, ApiError>;

/// A request after the common checks.
pub(super) struct Call {
    /// The operation the request is for.
    pub(super) operation: Operation,
    pub(super) ctx: Ctx,
    pub(super) params: Params,
}

impl Call {
    pub(super) fn new(
        shared: &Shared,
        ctx: Option<Extension<Ctx>>,
        path: Vec<(String, String)>,
        query: Option<String>,
        operation: Operation,
    ) -> Result<Call, ApiError> {
        let Some(Extension(ctx)) = ctx else {
            return Err(ApiError::internal("the request context is missing"));
        };
        let query = urlencoded::parse(query.as_deref().unwrap_or(""))
            .map_err(|e| ApiError::validation(format!("query: {e}")))?;
        let params = shared
            .spec
            .validate_params(operation.name(), &path, &query)
            .map_err(|v| ApiError::validation(describe(&v)))?;
        Ok(Call {
            operation,
            ctx,
            params,
        })
    }

    pub(super) fn path(&self, name: &str) -> Result<String, ApiError> {
        self.params
            .str(name)
            .map(str::to_owned)
            .ok_or_else(|| ApiError::validation(format!("path {name}: is required")))
    }

    /// Parses and validates the request's JSON body against its
    /// operation, returning it without readOnly fields.
    pub(super) fn json_body(&self, shared: &Shared, body: &Bytes) -> Result<Value, ApiError> {
        let value = if body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            Some(
                serde_json::from_slice::<Value>(body)
                    .map_err(|e| ApiError::bad_request(format!("body: not valid JSON: {e}")))?,
            )
        };
        shared
            .spec
            .validate_body(self.operation.name(), value.as_ref())
            .map_err(|v| ApiError::validation(describe(&v)))
    }
}

pub(super) fn path_params(path: PathParams) -> Result<Vec<(String, String)>, ApiError> {
    match path {
        Ok(p) => Ok(p
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()),
        Err(_) => Err(ApiError::validation(
            "path: a path parameter is not valid UTF-8 once percent-decoded",
        )),
    }
}

pub(super) fn typed<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(|e| ApiError::validation(format!("body: {e}")))
}

pub(super) fn mutation<'a>(shared: &'a Shared, ctx: &'a Ctx, now: Micros) -> Mutation<'a> {
    Mutation {
        now,
        principal: &ctx.principal,
        origin: &shared.origin,
        clock: &shared.clock,
        settings: &shared.settings,
    }
}

pub(super) fn ok<T: Serialize + ?Sized>(value: &T) -> Answer {
    Ok(json_response(StatusCode::OK, value))
}

/// A `{data, meta}` page; `data` is always present, even when empty.
pub(super) fn page_body<T: Serialize>(items: Vec<T>, page_meta: types::PaginationMeta) -> Answer {
    let mut body = serde_json::Map::new();
    let data = serde_json::to_value(items).map_err(|e| ApiError::internal(e.to_string()))?;
    body.insert("data".to_owned(), data);
    let meta = serde_json::to_value(page_meta).map_err(|e| ApiError::internal(e.to_string()))?;
    body.insert("meta".to_owned(), meta);
    ok(&Value::Object(body))
}

/// The page request of a listing, with its cursor fingerprint.
pub(super) fn page_request(
    params: &Params,
    fp_parts: &[&str],
    now: Micros,
) -> Result<PageRequest, ApiError> {
    // The document gives `sort` and `limit` their defaults, which the
    // validation filled in.
    let sort_raw = defaulted_str(params, "sort")?;
    let sort = ListSort::from_str(sort_raw)
        .map_err(|_| ApiError::validation(format!("query sort: unknown sort {sort_raw:?}")))?;
    let limit = count(params, "limit")?.max(1);
    let anchor = params.str("anchor").map(ListAnchor::from_str).transpose();
    let anchor = anchor.map_err(|e| ApiError::validation(format!("query anchor: {e}")))?;
    let mut parts: Vec<&str> = fp_parts.to_vec();
    parts.push(sort_raw);
    Ok(PageRequest {
        limit,
        sort,
        anchor_end: anchor == Some(ListAnchor::End),
        cursor: params
            .str("cursor")
            .filter(|c| !c.is_empty())
            .map(str::to_owned),
        fingerprint: fingerprint(&parts),
        now,
    })
}

/// A query parameter that the document gives a default, which the
/// validation filled in when the request had none.
pub(super) fn defaulted_str<'a>(params: &'a Params, name: &str) -> Result<&'a str, ApiError> {
    params.str(name).ok_or_else(|| no_default(name))
}

/// A count (a page size or an offset) that the document gives a default.
pub(super) fn count(params: &Params, name: &str) -> Result<usize, ApiError> {
    let n = params.i64(name).ok_or_else(|| no_default(name))?;
    usize::try_from(n)
        .map_err(|_| ApiError::validation(format!("query {name}: must not be negative")))
}

fn no_default(name: &str) -> ApiError {
    ApiError::internal(format!(
        "the API document gives the query parameter {name} no default"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use blaxel_jobs_client::operations::Operation;

    #[test]
    fn the_document_gives_every_listing_the_defaults_its_handler_reads() {
        let spec = crate::document::Spec::embedded().unwrap();
        let path = |op: Operation| -> Vec<(String, String)> {
            op.path_params()
                .iter()
                .map(|p| ((*p).to_owned(), "x".to_owned()))
                .collect()
        };
        for op in [
            Operation::ListJobs,
            Operation::ListJobExecutions,
            Operation::ListJobExecutionTasks,
        ] {
            let params = spec.validate_params(op.name(), &path(op), &[]).unwrap();
            let req = page_request(&params, &[], 0).unwrap();
            assert!(req.limit >= 1, "{op}");
            assert_eq!(
                req.sort.to_string(),
                defaulted_str(&params, "sort").unwrap()
            );
        }
        // The legacy listing of executions: an offset and a page size.
        let op = Operation::ListJobExecutions;
        let params = spec.validate_params(op.name(), &path(op), &[]).unwrap();
        assert!(count(&params, "offset").is_ok() && count(&params, "limit").is_ok());
        let none = Params::default();
        let e = page_request(&none, &[], 0).unwrap_err();
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(e.message.contains("no default"), "{}", e.message);
    }
}
