//! Hand-written job models in the shape openapi-generator's `rust`
//! generator gives them, for comparing decoding costs with the generated
//! (typify) types in the serde benchmark.
//!
//! The shape: nested objects boxed (`Box<Metadata>`, `Option<Box<JobSpec>>`),
//! closed enums derived with `#[serde(rename)]` (they borrow when decoding),
//! free-form maps as `HashMap`. [`hash_maps`] is exactly that. The other
//! models change one thing at a time, to isolate what each costs:
//!
//! | model | maps (labels, task parameters) | nested objects |
//! |---|---|---|
//! | [`hash_maps`] | `HashMap` | boxed |
//! | [`btree_maps`] | `BTreeMap` | boxed |
//! | [`btree_boxed_job`] | `BTreeMap` | inline, but a job's `metadata` and `spec` boxed |
//! | [`btree_inline`] | `BTreeMap` | inline, as the generated types |
//!
//! Only the fields of the benchmark's fixtures matter; unknown fields are
//! ignored, as in both generators' output.

macro_rules! model {
    (
        $(#[$doc:meta])* $module:ident,
        map: $map:path,
        free_form: $free:ty,
        nested: $nest:ident,
        job_members: $top:ident $(,)?
    ) => {
        $(#[$doc])*
        pub mod $module {
            use serde::{Deserialize, Serialize};
            use $map as Map;
            #[allow(unused_imports)]
            use super::Inline;
            /// A free-form JSON object.
            type FreeForm = $free;

            /// A page of jobs.
            #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
            pub struct JobList {
                /// The jobs.
                #[serde(rename = "data", skip_serializing_if = "Option::is_none")]
                pub data: Option<Vec<Job>>,
                /// Paging.
                #[serde(rename = "meta", skip_serializing_if = "Option::is_none")]
                pub meta: Option<$nest<PaginationMeta>>,
            }

            /// Paging metadata.
            #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
            pub struct PaginationMeta {
                /// More pages follow.
                #[serde(rename = "hasMore", skip_serializing_if = "Option::is_none")]
                pub has_more: Option<bool>,
                /// The next cursor.
                #[serde(rename = "nextCursor", skip_serializing_if = "Option::is_none")]
                pub next_cursor: Option<String>,
                /// The total.
                #[serde(rename = "total", skip_serializing_if = "Option::is_none")]
                pub total: Option<i64>,
            }

            /// A job.
            #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
            pub struct Job {
                /// Identity.
                #[serde(rename = "metadata")]
                pub metadata: $top<Metadata>,
                /// Definition.
                #[serde(rename = "spec")]
                pub spec: $top<JobSpec>,
                /// Deployment status.
                #[serde(rename = "status", skip_serializing_if = "Option::is_none")]
                pub status: Option<Status>,
            }

            /// A deployment status.
            #[allow(missing_docs)]
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
            pub enum Status {
                #[serde(rename = "DELETING")] Deleting,
                #[serde(rename = "TERMINATED")] Terminated,
                #[serde(rename = "FAILED")] Failed,
                #[serde(rename = "DEACTIVATED")] Deactivated,
                #[serde(rename = "DEACTIVATING")] Deactivating,
                #[serde(rename = "UPLOADING")] Uploading,
                #[serde(rename = "BUILDING")] Building,
                #[serde(rename = "DEPLOYING")] Deploying,
                #[serde(rename = "DEPLOYED")] Deployed,
                #[serde(rename = "BUILT")] Built,
            }

            /// Identity and bookkeeping.
            #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
            #[allow(missing_docs)]
            pub struct Metadata {
                #[serde(rename = "createdAt", skip_serializing_if = "Option::is_none")]
                pub created_at: Option<String>,
                #[serde(rename = "createdBy", skip_serializing_if = "Option::is_none")]
                pub created_by: Option<String>,
                #[serde(rename = "displayName", skip_serializing_if = "Option::is_none")]
                pub display_name: Option<String>,
                #[serde(rename = "externalId", skip_serializing_if = "Option::is_none")]
                pub external_id: Option<String>,
                #[serde(rename = "labels", skip_serializing_if = "Option::is_none")]
                pub labels: Option<Map<String, String>>,
                #[serde(rename = "name")]
                pub name: String,
                #[serde(rename = "plan", skip_serializing_if = "Option::is_none")]
                pub plan: Option<String>,
                #[serde(rename = "updatedAt", skip_serializing_if = "Option::is_none")]
                pub updated_at: Option<String>,
                #[serde(rename = "updatedBy", skip_serializing_if = "Option::is_none")]
                pub updated_by: Option<String>,
                #[serde(rename = "url", skip_serializing_if = "Option::is_none")]
                pub url: Option<String>,
                #[serde(rename = "workspace", skip_serializing_if = "Option::is_none")]
                pub workspace: Option<String>,
            }

            /// A job's definition.
            #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
            #[allow(missing_docs)]
            pub struct JobSpec {
                #[serde(rename = "enabled", skip_serializing_if = "Option::is_none")]
                pub enabled: Option<bool>,
                #[serde(rename = "policies", skip_serializing_if = "Option::is_none")]
                pub policies: Option<Vec<String>>,
                #[serde(rename = "region", skip_serializing_if = "Option::is_none")]
                pub region: Option<String>,
                #[serde(rename = "revision", skip_serializing_if = "Option::is_none")]
                pub revision: Option<$nest<RevisionConfiguration>>,
                #[serde(rename = "runtime", skip_serializing_if = "Option::is_none")]
                pub runtime: Option<$nest<JobRuntime>>,
                #[serde(rename = "triggers", skip_serializing_if = "Option::is_none")]
                pub triggers: Option<Vec<Trigger>>,
                #[serde(rename = "volumes", skip_serializing_if = "Option::is_none")]
                pub volumes: Option<Vec<JobVolume>>,
            }

            /// Revisions.
            #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
            #[allow(missing_docs)]
            pub struct RevisionConfiguration {
                #[serde(rename = "active", skip_serializing_if = "Option::is_none")]
                pub active: Option<String>,
                #[serde(rename = "canary", skip_serializing_if = "Option::is_none")]
                pub canary: Option<String>,
                #[serde(rename = "canaryPercent", skip_serializing_if = "Option::is_none")]
                pub canary_percent: Option<i64>,
                #[serde(rename = "stickySessionTtl", skip_serializing_if = "Option::is_none")]
                pub sticky_session_ttl: Option<i64>,
                #[serde(rename = "traffic", skip_serializing_if = "Option::is_none")]
                pub traffic: Option<i64>,
            }

            /// The runtime.
            #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
            #[allow(missing_docs)]
            pub struct JobRuntime {
                #[serde(rename = "envs", skip_serializing_if = "Option::is_none")]
                pub envs: Option<Vec<Env>>,
                #[serde(rename = "generation", skip_serializing_if = "Option::is_none")]
                pub generation: Option<Generation>,
                #[serde(rename = "image", skip_serializing_if = "Option::is_none")]
                pub image: Option<String>,
                #[serde(rename = "maxRetries", skip_serializing_if = "Option::is_none")]
                pub max_retries: Option<i64>,
                #[serde(rename = "memory", skip_serializing_if = "Option::is_none")]
                pub memory: Option<i64>,
                #[serde(rename = "ports", skip_serializing_if = "Option::is_none")]
                pub ports: Option<Vec<Port>>,
                #[serde(rename = "timeout", skip_serializing_if = "Option::is_none")]
                pub timeout: Option<i64>,
            }

            /// An infrastructure generation.
            #[allow(missing_docs)]
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
            pub enum Generation {
                #[serde(rename = "mk2")] Mk2,
                #[serde(rename = "mk3")] Mk3,
            }

            /// An environment variable.
            #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
            #[allow(missing_docs)]
            pub struct Env {
                #[serde(rename = "name", skip_serializing_if = "Option::is_none")]
                pub name: Option<String>,
                #[serde(rename = "secret", skip_serializing_if = "Option::is_none")]
                pub secret: Option<bool>,
                #[serde(rename = "value", skip_serializing_if = "Option::is_none")]
                pub value: Option<String>,
            }

            /// A port.
            #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
            #[allow(missing_docs)]
            pub struct Port {
                #[serde(rename = "name", skip_serializing_if = "Option::is_none")]
                pub name: Option<String>,
                #[serde(rename = "protocol", skip_serializing_if = "Option::is_none")]
                pub protocol: Option<Protocol>,
                #[serde(rename = "target")]
                pub target: i64,
            }

            /// A port protocol.
            #[allow(missing_docs)]
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
            pub enum Protocol {
                #[serde(rename = "HTTP")] Http,
                #[serde(rename = "TCP")] Tcp,
                #[serde(rename = "UDP")] Udp,
                #[serde(rename = "TLS")] Tls,
            }

            /// A trigger.
            #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
            #[allow(missing_docs)]
            pub struct Trigger {
                #[serde(rename = "configuration", skip_serializing_if = "Option::is_none")]
                pub configuration: Option<$nest<TriggerConfiguration>>,
                #[serde(rename = "enabled", skip_serializing_if = "Option::is_none")]
                pub enabled: Option<bool>,
                #[serde(rename = "id", skip_serializing_if = "Option::is_none")]
                pub id: Option<String>,
                #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
                pub r#type: Option<TriggerType>,
            }

            /// A trigger type.
            #[allow(missing_docs)]
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
            pub enum TriggerType {
                #[serde(rename = "http")] Http,
                #[serde(rename = "http-async")] HttpAsync,
                #[serde(rename = "cron")] Cron,
            }

            /// A trigger's settings.
            #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
            #[allow(missing_docs)]
            pub struct TriggerConfiguration {
                #[serde(rename = "authenticationType", skip_serializing_if = "Option::is_none")]
                pub authentication_type: Option<String>,
                #[serde(rename = "path", skip_serializing_if = "Option::is_none")]
                pub path: Option<String>,
                #[serde(rename = "retry", skip_serializing_if = "Option::is_none")]
                pub retry: Option<i64>,
                #[serde(rename = "schedule", skip_serializing_if = "Option::is_none")]
                pub schedule: Option<String>,
                #[serde(rename = "tasks", skip_serializing_if = "Option::is_none")]
                pub tasks: Option<Vec<FreeForm>>,
            }

            /// A volume.
            #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
            #[allow(missing_docs)]
            pub struct JobVolume {
                #[serde(rename = "mountPath")]
                pub mount_path: String,
                #[serde(rename = "name")]
                pub name: String,
                #[serde(rename = "readOnly", skip_serializing_if = "Option::is_none")]
                pub read_only: Option<bool>,
                #[serde(rename = "sizeMb")]
                pub size_mb: i64,
                #[serde(rename = "type")]
                pub r#type: VolumeType,
            }

            /// A volume type.
            #[allow(missing_docs)]
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
            pub enum VolumeType {
                #[serde(rename = "ephemeral")] Ephemeral,
            }
        }
    };
}

/// A nested object held inline, as the generated (typify) types hold them.
pub type Inline<T> = T;

model!(
    /// openapi-generator's shape: boxed nested objects, derived enums, `HashMap`s.
    hash_maps,
    map: std::collections::HashMap,
    free_form: std::collections::HashMap<String, serde_json::Value>,
    nested: Box,
    job_members: Box,
);
model!(
    /// The same shape with `BTreeMap`s.
    btree_maps,
    map: std::collections::BTreeMap,
    free_form: std::collections::BTreeMap<String, serde_json::Value>,
    nested: Box,
    job_members: Box,
);
model!(
    /// `BTreeMap`s and nested objects held inline: the generated types'
    /// layout and maps, with derived (closed) enums.
    btree_inline,
    map: std::collections::BTreeMap,
    free_form: std::collections::BTreeMap<String, serde_json::Value>,
    nested: Inline,
    job_members: Inline,
);
model!(
    /// `BTreeMap`s, nested objects inline except a job's `metadata` and
    /// `spec`.
    btree_boxed_job,
    map: std::collections::BTreeMap,
    free_form: std::collections::BTreeMap<String, serde_json::Value>,
    nested: Inline,
    job_members: Box,
);

#[cfg(test)]
mod tests {
    use crate::fixtures;

    #[test]
    fn the_models_decode_the_fixtures() {
        let page = fixtures::to_bytes(&fixtures::job_list_json(0, 3, None));
        let h: super::hash_maps::JobList = serde_json::from_slice(&page).unwrap();
        let b: super::btree_maps::JobList = serde_json::from_slice(&page).unwrap();
        let s: super::btree_boxed_job::JobList = serde_json::from_slice(&page).unwrap();
        let (h, b, s) = (h.data.unwrap(), b.data.unwrap(), s.data.unwrap());
        assert_eq!(h[2].metadata.name, "job-000002");
        assert_eq!(b[0].metadata.labels.as_ref().map(|l| l.len()), Some(3));
        assert_eq!(
            s[1].metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("team"))
                .map(String::as_str),
            Some("analytics")
        );
        let tasks = |t: &Option<Vec<super::hash_maps::Trigger>>| {
            t.as_ref().unwrap()[0]
                .configuration
                .as_ref()
                .unwrap()
                .tasks
                .as_ref()
                .map(|t| t.len())
        };
        assert_eq!(tasks(&h[0].spec.triggers), Some(2));
    }
}
