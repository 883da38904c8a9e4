//! What every API request must carry: a credential, a workspace and
//! (optionally) an API version.

use crate::auth;
use crate::config::EmulatorConfig;
use crate::error::{ApiError, code};
use crate::urlencoded;
use blaxel_jobs_client::{headers, versions};
use http::{HeaderMap, StatusCode};

/// The `Blaxel-Version` values the emulator knows, oldest first: every
/// version of the API document ([`blaxel_jobs_client::versions`]). A request
/// without the header gets the oldest; one with any other value gets 400
/// `invalid_api_version`.
pub const API_VERSIONS: &[&str] = versions::NAMES;

/// An API version the emulator knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ApiVersion(&'static versions::ApiVersion);

impl ApiVersion {
    /// The version used without a `Blaxel-Version` header.
    fn unversioned() -> Result<ApiVersion, ApiError> {
        versions::find(versions::UNVERSIONED)
            .map(ApiVersion)
            .ok_or_else(|| ApiError::internal("the document lists no API version"))
    }

    /// Reads `Blaxel-Version`; absent or blank means the oldest version.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Result<ApiVersion, ApiError> {
        let Some(value) = headers.get(headers::BLAXEL_VERSION) else {
            return Self::unversioned();
        };
        // A value that is not visible ASCII can only be an unknown version.
        let raw = value.to_str().map(str::trim).unwrap_or("\u{fffd}");
        if raw.is_empty() {
            return Self::unversioned();
        }
        versions::find(raw).map(ApiVersion).ok_or_else(|| {
            let shown: String = raw.chars().take(64).collect();
            ApiError::new(
                StatusCode::BAD_REQUEST,
                code::INVALID_API_VERSION.as_str(),
                format!(
                    "Unknown API version {shown:?}; known versions are {}",
                    API_VERSIONS.join(", ")
                ),
            )
        })
    }

    /// Whether list operations answer with `{data, meta}` pages.
    pub(crate) fn paginated(self) -> bool {
        self.0.paged_lists
    }
}

/// The authenticated caller, workspace and version of a request.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub(crate) workspace: String,
    pub(crate) version: ApiVersion,
    /// The name written into `createdBy` / `updatedBy`.
    pub(crate) principal: String,
    /// Whether the caller has the workspace admin role.
    pub(crate) admin: bool,
}

/// Checks the credential (against `config`'s keys and the access tokens
/// issued), then the version, then the workspace.
pub(crate) fn resolve(
    config: &EmulatorConfig,
    tokens: &auth::TokenStore,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Ctx, ApiError> {
    let principal = auth::authenticate(
        headers,
        &config.api_key,
        config.member_api_key.as_deref(),
        tokens,
    )?;
    let version = ApiVersion::from_headers(headers)?;
    let from_header = headers
        .get(headers::BLAXEL_WORKSPACE)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    let workspace = match from_header {
        Some(w) => w,
        None => {
            let pairs = urlencoded::parse(query.unwrap_or(""))
                .map_err(|e| ApiError::validation(format!("query: {e}")))?;
            pairs
                .into_iter()
                .find(|(k, v)| k == "workspace" && !v.trim().is_empty())
                .map(|(_, v)| v.trim().to_owned())
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "workspace_required",
                        "workspace is required: send the X-Blaxel-Workspace header or the workspace query parameter",
                    )
                })?
        }
    };
    Ok(Ctx {
        workspace,
        version,
        principal: principal.name(),
        admin: principal.is_admin(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with_version(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(headers::BLAXEL_VERSION, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn versions_default_to_the_oldest_and_unknown_ones_fail() {
        let oldest = ApiVersion::from_headers(&HeaderMap::new()).unwrap();
        assert_eq!(oldest.0.name, versions::UNVERSIONED);
        assert!(!oldest.paginated());
        for known in versions::KNOWN {
            let v = ApiVersion::from_headers(&with_version(&format!(" {} ", known.name))).unwrap();
            assert_eq!(v.0, known);
            assert_eq!(v.paginated(), known.paged_lists);
        }
        assert!(
            ApiVersion::from_headers(&with_version(versions::DEFAULT))
                .unwrap()
                .paginated(),
            "the SDK's default version pages"
        );
        let e = ApiVersion::from_headers(&with_version("2030-01-01")).unwrap_err();
        assert_eq!(e.kind, "invalid_api_version");
        assert!(e.message.starts_with("Unknown API version"));
    }
}
