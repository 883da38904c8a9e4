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
use blaxel_jobs_client::types::{self, ListSort};
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
    pub(super) ctx: Ctx,
    pub(super) params: Params,
}

impl Call {
    pub(super) fn new(
        shared: &Shared,
        ctx: Option<Extension<Ctx>>,
        path: Vec<(String, String)>,
        query: Option<String>,
        operation: &str,
    ) -> Result<Call, ApiError> {
        let Some(Extension(ctx)) = ctx else {
            return Err(ApiError::internal("the request context is missing"));
        };
        let query = urlencoded::parse(query.as_deref().unwrap_or(""))
            .map_err(|e| ApiError::validation(format!("query: {e}")))?;
        let params = shared
            .spec
            .validate_params(operation, &path, &query)
            .map_err(|v| ApiError::validation(describe(&v)))?;
        Ok(Call { ctx, params })
    }

    pub(super) fn path(&self, name: &str) -> Result<String, ApiError> {
        self.params
            .str(name)
            .map(str::to_owned)
            .ok_or_else(|| ApiError::validation(format!("path {name}: is required")))
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

/// Parses and validates a JSON body, returning it without readOnly fields.
pub(super) fn json_body(shared: &Shared, operation: &str, body: &Bytes) -> Result<Value, ApiError> {
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
        .validate_body(operation, value.as_ref())
        .map_err(|v| ApiError::validation(describe(&v)))
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
    let sort_raw = params.str("sort").unwrap_or("createdAt:desc");
    let sort = ListSort::from_str(sort_raw)
        .map_err(|_| ApiError::validation(format!("query sort: unknown sort {sort_raw:?}")))?;
    let limit = params.i64("limit").unwrap_or(50).max(1);
    let mut parts: Vec<&str> = fp_parts.to_vec();
    parts.push(sort_raw);
    Ok(PageRequest {
        limit: usize::try_from(limit).unwrap_or(usize::MAX),
        sort,
        anchor_end: params.str("anchor") == Some("end"),
        cursor: params
            .str("cursor")
            .filter(|c| !c.is_empty())
            .map(str::to_owned),
        fingerprint: fingerprint(&parts),
        now,
    })
}
