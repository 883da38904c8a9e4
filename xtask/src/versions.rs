//! Turns the document's list of API versions (`info.x-blaxel-api-versions`)
//! into the client crate's generated `versions` module, so that the SDK, the
//! emulator and the tests all read the known `Blaxel-Version`s, their
//! differences and the default from the document.

use proc_macro2::TokenStream;
use quote::quote;
use serde_json::Value;

/// Where the list sits in the document.
pub const VERSIONS_POINTER: &str = "/info/x-blaxel-api-versions";

/// One version, as the document states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The `Blaxel-Version` value, such as `2026-04-28`.
    pub name: String,
    /// Whether the list operations answer `{data, meta}` pages.
    pub paged_lists: bool,
    /// What the version changes, in the document's words.
    pub changes: String,
}

/// The versions of a document and its default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versions {
    /// Every version, oldest first.
    pub known: Vec<Version>,
    /// The version clients send by default: `info.version`.
    pub default: String,
}

/// Whether `name` has the shape of a `Blaxel-Version`: `YYYY-MM-DD`,
/// optionally followed by `.preview`.
pub fn is_version_name(name: &str) -> bool {
    let date = name.strip_suffix(".preview").unwrap_or(name);
    let b = date.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// Reads and checks the versions of a document: the list must be present
/// and non-empty, each entry must have a well-formed, unique `name`, a
/// boolean `pagedLists` and a `changes` text, names must be in ascending
/// order (oldest first), and `info.version` must be one of them.
pub fn collect(doc: &Value) -> Result<Versions, Vec<String>> {
    let mut problems = Vec::new();
    let Some(list) = doc.pointer(VERSIONS_POINTER).and_then(Value::as_array) else {
        return Err(vec![format!(
            "document: `info.x-blaxel-api-versions` is missing or not a list; \
             it lists every Blaxel-Version the document knows, oldest first"
        )]);
    };
    if list.is_empty() {
        problems.push("document: `info.x-blaxel-api-versions` is empty".to_owned());
    }
    let mut known: Vec<Version> = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let at = format!("info.x-blaxel-api-versions[{i}]");
        let name = entry.get("name").and_then(Value::as_str);
        let paged = entry.get("pagedLists").and_then(Value::as_bool);
        let changes = entry.get("changes").and_then(Value::as_str);
        let Some(name) = name else {
            problems.push(format!("{at}: `name` is missing or not a string"));
            continue;
        };
        if !is_version_name(name) {
            problems.push(format!(
                "{at}: `{name}` is not a Blaxel-Version (YYYY-MM-DD or YYYY-MM-DD.preview)"
            ));
        }
        if paged.is_none() {
            problems.push(format!("{at}: `pagedLists` is missing or not a boolean"));
        }
        if changes.is_none_or(|c| c.trim().is_empty()) {
            problems.push(format!("{at}: `changes` is missing or empty"));
        }
        if let Some(prev) = known.last()
            && prev.name.as_str() >= name
        {
            problems.push(format!(
                "{at}: `{name}` is not newer than `{}`; list versions oldest first, once each",
                prev.name
            ));
        }
        known.push(Version {
            name: name.to_owned(),
            paged_lists: paged.unwrap_or(false),
            changes: changes.unwrap_or_default().trim().to_owned(),
        });
    }
    let default = doc
        .pointer("/info/version")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !known.iter().any(|v| v.name == default) {
        problems.push(format!(
            "document: `info.version` ({default:?}) is the default Blaxel-Version and must be \
             listed in `info.x-blaxel-api-versions`"
        ));
    }
    if problems.is_empty() {
        Ok(Versions { known, default })
    } else {
        Err(problems)
    }
}

/// The generated `versions` module, as a file of its own.
pub fn module(versions: &Versions) -> TokenStream {
    let entries = versions.known.iter().map(|v| {
        let (name, paged, changes) = (&v.name, v.paged_lists, &v.changes);
        quote! {
            ApiVersion {
                name: #name,
                paged_lists: #paged,
                changes: #changes,
            }
        }
    });
    let names = versions.known.iter().map(|v| &v.name);
    let default = &versions.default;
    // `collect` guarantees a non-empty list.
    let oldest = versions
        .known
        .first()
        .map(|v| v.name.as_str())
        .unwrap_or("");
    let newest = versions.known.last().map(|v| v.name.as_str()).unwrap_or("");
    let default_doc = format!(
        " The version clients send by default: `{default}` (`info.version` of the document)."
    );
    let oldest_doc = format!(
        " The version a server uses for a request without a `Blaxel-Version` header: `{oldest}`, the oldest."
    );
    let newest_doc = format!(" The newest version the document knows: `{newest}`.");
    quote! {
        /// One `Blaxel-Version` that the API document knows.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct ApiVersion {
            /// The value of the `Blaxel-Version` header, such as `2026-04-28`.
            pub name: &'static str,
            /// Whether the list operations answer `{data, meta}` pages followed
            /// with cursors (otherwise bare arrays).
            pub paged_lists: bool,
            /// What this version changes, in the document's words.
            pub changes: &'static str,
        }

        /// Every version the document knows, oldest first.
        pub const KNOWN: &[ApiVersion] = &[#(#entries),*];

        /// The names of [`KNOWN`], oldest first.
        pub const NAMES: &[&str] = &[#(#names),*];

        #[doc = #default_doc]
        pub const DEFAULT: &str = #default;

        #[doc = #oldest_doc]
        pub const UNVERSIONED: &str = #oldest;

        #[doc = #newest_doc]
        pub const NEWEST: &str = #newest;

        /// The known version with exactly this name.
        pub fn find(name: &str) -> Option<&'static ApiVersion> {
            KNOWN.iter().find(|v| v.name == name)
        }
    }
}
