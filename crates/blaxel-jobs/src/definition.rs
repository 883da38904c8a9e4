//! Job definitions: [`JobBuilder`] builds a [`types::Job`] step by step, and
//! [`job_from_file`] loads one from JSON or YAML in the API's own shape.
//! Both check the result (see [`crate::validate`](crate::Error::InvalidInput)).

use crate::error::{Error, InvalidInput};
use crate::validate;
use blaxel_jobs_client::open_enum::{Generation, PortProtocol, TriggerType, VolumeType};
use blaxel_jobs_client::types;
use serde::Serialize;
use std::path::Path;
use std::time::Duration;

/// Builds a job definition.
///
/// ```
/// use blaxel_jobs::JobBuilder;
/// use blaxel_jobs::types::Generation;
/// use std::time::Duration;
///
/// let job = JobBuilder::new("nightly-report")
///     .display_name("Nightly report")
///     .label("team", "data")
///     .image("registry.example.com/report:1.4")
///     .memory(2048)
///     .timeout(Duration::from_secs(900))
///     .max_retries(2)
///     .generation(Generation::Mk3)
///     .env("LOG_LEVEL", "info")
///     .secret_env("DB_PASSWORD", "s3cr3t")
///     .region("eu-lon-1")
///     .cron("0 3 * * *", [serde_json::json!({"day": "yesterday"})])
///     .build()
///     .unwrap();
/// assert_eq!(job.metadata.name, "nightly-report");
/// // Secret values never show in Debug output.
/// assert!(!format!("{job:?}").contains("s3cr3t"));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct JobBuilder {
    job: types::Job,
    invalid: Option<InvalidInput>,
}

impl From<types::Job> for JobBuilder {
    /// Starts from an existing definition, for example to update it.
    fn from(job: types::Job) -> Self {
        JobBuilder { job, invalid: None }
    }
}

impl JobBuilder {
    /// A job named `name` (lowercase letters, digits and hyphens, at most
    /// 49 characters), enabled, with nothing else set.
    pub fn new(name: impl Into<String>) -> Self {
        let metadata = types::Metadata {
            name: name.into(),
            created_at: None,
            created_by: None,
            display_name: None,
            external_id: None,
            labels: Default::default(),
            plan: None,
            updated_at: None,
            updated_by: None,
            url: None,
            workspace: None,
        };
        JobBuilder::from(types::Job {
            events: None,
            metadata,
            spec: types::JobSpec::default(),
            status: None,
        })
    }

    fn runtime(&mut self) -> &mut types::JobRuntime {
        self.job.spec.runtime.get_or_insert_with(Default::default)
    }

    fn fail(mut self, e: InvalidInput) -> Self {
        self.invalid.get_or_insert(e);
        self
    }

    /// A name for people (at most 63 characters).
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.job.metadata.display_name = Some(name.into());
        self
    }

    /// Adds a label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.job
            .metadata
            .labels
            .get_or_insert_with(|| types::MetadataLabels(Default::default()))
            .0
            .insert(key.into(), value.into());
        self
    }

    /// An identifier of your own (letters, digits, hyphens; at most 64).
    pub fn external_id(mut self, id: impl Into<String>) -> Self {
        self.job.metadata.external_id = Some(id.into());
        self
    }

    /// Whether new executions may start (default true).
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.job.spec.enabled = enabled;
        self
    }

    /// The container image.
    pub fn image(mut self, image: impl Into<String>) -> Self {
        self.runtime().image = Some(image.into());
        self
    }

    /// Memory per task, in MB (CPU follows: one core per 2048 MB).
    pub fn memory(mut self, megabytes: u32) -> Self {
        self.runtime().memory = Some(megabytes.into());
        self
    }

    /// How long a task may run before it is stopped (whole seconds).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.runtime().timeout = Some(i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX));
        self
    }

    /// How many times a failed task is tried again.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.runtime().max_retries = Some(retries.into());
        self
    }

    /// How many tasks of one execution may run at once.
    pub fn max_concurrent_tasks(mut self, tasks: u32) -> Self {
        self.runtime().max_concurrent_tasks = Some(tasks.into());
        self
    }

    /// The infrastructure generation.
    pub fn generation(mut self, generation: Generation) -> Self {
        self.runtime().generation = Some(generation);
        self
    }

    /// Share of the VM's memory given to its disk, 10 to 95 (mk3 only).
    pub fn disk_percent(mut self, percent: u8) -> Self {
        self.runtime().disk_percent = Some(percent.into());
        self
    }

    /// Adds an environment variable.
    pub fn env(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.push_env(name.into(), value.into(), false)
    }

    /// Adds a secret environment variable: stored encrypted, masked when
    /// read back, and never shown by `Debug`.
    pub fn secret_env(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.push_env(name.into(), value.into(), true)
    }

    /// Adds an environment variable whose value comes from a reference, in
    /// the shape of a Kubernetes `EnvVar`'s `valueFrom` (a JSON object such
    /// as `{"secretKeyRef": {"name": "db", "key": "password"}}`; which
    /// references Blaxel resolves is the server's to say).
    ///
    /// ```
    /// let job = blaxel_jobs::JobBuilder::new("etl")
    ///     .env_from("DB_PASSWORD", serde_json::json!({"secretKeyRef": {"name": "db", "key": "password"}}))
    ///     .build()
    ///     .unwrap();
    /// let env = &job.spec.runtime.unwrap().envs[0];
    /// assert!(env.value.is_none() && env.value_from.is_some());
    /// ```
    pub fn env_from(mut self, name: impl Into<String>, source: serde_json::Value) -> Self {
        let serde_json::Value::Object(source) = source else {
            let i = self.job.spec.runtime.as_ref().map_or(0, |r| r.envs.len());
            return self.fail(InvalidInput::at_field(
                format!("spec.runtime.envs[{i}].valueFrom"),
                "must be a JSON object",
            ));
        };
        self.runtime().envs.push(types::Env {
            name: Some(name.into()),
            value: None,
            secret: None,
            value_from: Some(source),
        });
        self
    }

    fn push_env(mut self, name: String, value: String, secret: bool) -> Self {
        self.runtime().envs.push(types::Env {
            name: Some(name),
            value: Some(value),
            secret: Some(secret),
            value_from: None,
        });
        self
    }

    /// The region to run in, such as `us-was-1` or `eu-lon-1`.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.job.spec.region = Some(region.into());
        self
    }

    /// Adds a policy by name.
    pub fn policy(mut self, policy: impl Into<String>) -> Self {
        self.job
            .spec
            .policies
            .get_or_insert_with(|| types::PoliciesList(Vec::new()))
            .0
            .push(policy.into());
        self
    }

    /// Adds an ephemeral volume of `size_mb` MB mounted at `mount_path`.
    pub fn volume(
        mut self,
        name: impl Into<String>,
        mount_path: impl Into<String>,
        size_mb: u32,
    ) -> Self {
        self.job
            .spec
            .volumes
            .get_or_insert_with(|| types::JobVolumes(Vec::new()))
            .0
            .push(types::JobVolume {
                name: name.into(),
                mount_path: mount_path.into(),
                size_mb: size_mb.into(),
                type_: VolumeType::Ephemeral,
                read_only: None,
            });
        self
    }

    /// Adds a port the task listens on.
    pub fn port(mut self, name: impl Into<String>, target: u16, protocol: PortProtocol) -> Self {
        self.runtime()
            .ports
            .get_or_insert_with(|| types::Ports(Vec::new()))
            .0
            .push(types::Port {
                name: Some(name.into()),
                protocol: Some(protocol),
                target: target.into(),
            });
        self
    }

    /// Adds a trigger as given.
    pub fn trigger(mut self, trigger: types::Trigger) -> Self {
        self.job
            .spec
            .triggers
            .get_or_insert_with(|| types::Triggers(Vec::new()))
            .0
            .push(trigger);
        self
    }

    /// Adds a cron trigger: `schedule` is a cron expression, such as the
    /// five-field `0 3 * * *` Blaxel documents (another form, such as
    /// `@hourly`, is sent with a warning: the server decides), and each
    /// scheduled execution runs `tasks` (values that serialize to JSON
    /// objects).
    pub fn cron<T: Serialize>(
        self,
        schedule: impl Into<String>,
        tasks: impl IntoIterator<Item = T>,
    ) -> Self {
        let trigger = self.job.spec.triggers.as_ref().map_or(0, |t| t.len());
        let mut list = Vec::new();
        for (i, task) in tasks.into_iter().enumerate() {
            match crate::json::to_object(&task, crate::json::TRIGGER_TASK_DEPTH) {
                Ok(map) => list.push(types::TriggerConfigurationTask(map)),
                Err(why) => {
                    return self.fail(InvalidInput::at_field(
                        format!("spec.triggers[{trigger}].configuration.tasks[{i}]"),
                        why,
                    ));
                }
            }
        }
        let configuration = types::TriggerConfiguration {
            schedule: Some(schedule.into()),
            tasks: list,
            ..empty_configuration()
        };
        self.trigger(types::Trigger {
            id: None,
            type_: Some(TriggerType::Cron),
            enabled: Some(true),
            configuration: Some(configuration),
        })
    }

    /// Adds an HTTP trigger answering on `path`.
    pub fn http_trigger(self, path: impl Into<String>) -> Self {
        self.trigger(types::Trigger {
            id: None,
            type_: Some(TriggerType::Http),
            enabled: Some(true),
            configuration: Some(types::TriggerConfiguration {
                path: Some(path.into()),
                ..empty_configuration()
            }),
        })
    }

    /// Adds an asynchronous HTTP trigger that posts its result to
    /// `callback_url` and waits at most `timeout` (900 s at most).
    pub fn http_async_trigger(
        self,
        path: impl Into<String>,
        callback_url: impl Into<String>,
        timeout: Duration,
    ) -> Self {
        self.trigger(types::Trigger {
            id: None,
            type_: Some(TriggerType::HttpAsync),
            enabled: Some(true),
            configuration: Some(types::TriggerConfiguration {
                path: Some(path.into()),
                callback_url: Some(callback_url.into()),
                timeout: Some(i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX)),
                ..empty_configuration()
            }),
        })
    }

    /// Checks the definition against the limits the document states and
    /// returns it. (Doubtful values the document allows, such as a cron
    /// schedule that is not five fields, are warned about when the job is
    /// sent, not here.)
    pub fn build(self) -> Result<types::Job, Error> {
        if let Some(e) = self.invalid {
            return Err(e.into());
        }
        validate::limits_of_job(&self.job)?;
        Ok(self.job)
    }
}

fn empty_configuration() -> types::TriggerConfiguration {
    types::TriggerConfiguration::default()
}

/// The format of a job definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

/// Parses a job definition in the API's own shape (the body of CreateJob)
/// and checks it. Field errors name the path, such as `spec.runtime.memory`.
pub fn parse_job(text: &str, format: Format) -> Result<types::Job, Error> {
    let value: serde_json::Value = match format {
        Format::Json => serde_json::from_str(text)
            .map_err(|e| InvalidInput::general(format!("not valid JSON: {e}")))?,
        Format::Yaml => serde_yaml_ng::from_str(text).map_err(|e| {
            InvalidInput::general(format!(
                "not valid YAML: {}",
                crate::error::one_line(&e.to_string())
            ))
        })?,
    };
    let job: types::Job = serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        InvalidInput::at_field(field, e.into_inner().to_string())
    })?;
    validate::limits_of_job(&job)?;
    Ok(job)
}

/// Loads a job definition from a `.json`, `.yaml` or `.yml` file (other
/// names are read as YAML, which includes JSON).
pub fn job_from_file(path: impl AsRef<Path>) -> Result<types::Job, Error> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path)
        .map_err(|e| InvalidInput::general(format!("cannot read {}: {e}", path.display())))?;
    let format = match path.extension().and_then(|e| e.to_str()) {
        Some(ext) if ext.eq_ignore_ascii_case("json") => Format::Json,
        _ => Format::Yaml,
    };
    parse_job(&text, format).map_err(|e| match e {
        Error::InvalidInput(mut i) => {
            i.message = format!("{} ({})", i.message, path.display());
            Error::InvalidInput(i)
        }
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_json_definitions_load_the_same_job() {
        let yaml = "metadata:\n  name: etl\n  labels: {team: data}\nspec:\n  runtime:\n    memory: 1024\n    envs:\n      - {name: A, value: '1'}\n";
        let json = r#"{"metadata":{"name":"etl","labels":{"team":"data"}},"spec":{"runtime":{"memory":1024,"envs":[{"name":"A","value":"1"}]}}}"#;
        let a = parse_job(yaml, Format::Yaml).unwrap();
        let b = parse_job(json, Format::Json).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.spec.runtime.unwrap().memory, Some(1024));
    }

    #[test]
    fn definition_errors_name_the_field() {
        let e = parse_job(
            r#"{"metadata":{"name":"etl"},"spec":{"runtime":{"memory":"big"}}}"#,
            Format::Json,
        )
        .unwrap_err();
        match e {
            Error::InvalidInput(i) => assert_eq!(i.field.as_deref(), Some("spec.runtime.memory")),
            other => panic!("{other:?}"),
        }
        let e = parse_job("metadata: {name: Bad_Name}\nspec: {}\n", Format::Yaml).unwrap_err();
        match e {
            Error::InvalidInput(i) => assert_eq!(i.field.as_deref(), Some("metadata.name")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn builder_problems_surface_at_build() {
        let e = JobBuilder::new("ok")
            .cron("0 3 * * *", [1, 2])
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::InvalidInput(_)), "{e}");
        let e = JobBuilder::new("ok").disk_percent(99).build().unwrap_err();
        assert!(e.to_string().contains("diskPercent"), "{e}");
        let e = JobBuilder::new("ok")
            .env("A", "1")
            .env_from("B", serde_json::json!("not an object"))
            .build()
            .unwrap_err();
        assert!(
            e.to_string().contains("spec.runtime.envs[1].valueFrom"),
            "{e}"
        );
        // Schedules are the server's to judge.
        JobBuilder::new("ok")
            .cron("@hourly", Vec::<serde_json::Value>::new())
            .build()
            .unwrap();
    }
}
