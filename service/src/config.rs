//! `proofmint serve`'s configuration: one TOML file, each setting overridable
//! by an environment variable (`PROOFMINT_` and the setting's name in
//! capitals) and then by a command-line flag.
//!
//! The data directory holds `jobs.db` (the SQLite job store, with its `-wal`
//! and `-shm` files) unless `database` names a PostgreSQL server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use proofmint_gpu::BackendChoice;
use serde::Deserialize;

/// Every setting, with its default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    /// Address the HTTP API listens on.
    pub listen: SocketAddr,
    /// The data directory (SQLite store).
    pub data_dir: PathBuf,
    /// Key directories, one per claim shape.
    pub keys: Vec<PathBuf>,
    /// `postgres://...` to share one queue between many servers; default:
    /// SQLite in the data directory.
    pub database: Option<String>,
    /// Proving workers in this process (CPU: one, as a proof uses every
    /// core; one per GPU where there are GPUs).
    pub workers: usize,
    /// The MSM/NTT backend: auto, cpu or icicle.
    pub backend: String,
    /// ICICLE's install directory.
    pub icicle_dir: Option<PathBuf>,
    /// Seconds a lease lasts without a heartbeat (heartbeats come every third of it).
    pub lease_secs: u64,
    /// Attempts (leases) a job gets before it fails.
    pub max_attempts: i64,
    /// Jobs that may wait in the queue; past it, submissions get 429.
    pub max_queue: i64,
    /// Largest request body in bytes; past it, 413.
    pub max_body_bytes: usize,
    /// Memory the workers may use for proofs, in MiB (default: 80% of the
    /// memory available at start, less the keys).
    pub memory_budget_mib: Option<u64>,
    /// Hours a finished job and its proof are kept.
    pub retention_hours: u64,
    /// Seconds a shutdown waits for running proofs before handing them back.
    pub shutdown_grace_secs: u64,
    /// Default limits of a new API key.
    pub key_max_in_flight: i64,
    pub key_per_minute: i64,
    /// Longest long-poll (`?wait=`), in seconds.
    pub max_wait_secs: u64,
    /// Secret for the HMAC-SHA256 signature of webhook calls; jobs may name
    /// a webhook only when it is set.
    pub webhook_secret: Option<String>,
    /// Milliseconds an idle worker waits before looking at the queue again
    /// (a submission to this process wakes it at once).
    pub poll_ms: u64,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            data_dir: PathBuf::from("proofmint-data"),
            keys: Vec::new(),
            database: None,
            workers: 1,
            backend: "auto".into(),
            icicle_dir: None,
            lease_secs: 30,
            max_attempts: 3,
            max_queue: 10_000,
            max_body_bytes: 64 << 20,
            memory_budget_mib: None,
            retention_hours: 24 * 7,
            shutdown_grace_secs: 30,
            key_max_in_flight: 64,
            key_per_minute: 600,
            max_wait_secs: 60,
            webhook_secret: None,
            poll_ms: 500,
        }
    }
}

impl ServeConfig {
    /// The file's settings (or the defaults), then the environment's.
    pub fn load(file: Option<&Path>) -> Result<Self> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                toml::from_str(&text).with_context(|| path.display().to_string())?
            }
            None => Self::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        Ok(config)
    }

    /// Overrides from `PROOFMINT_<SETTING>` variables.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<()> {
        fn parse<T: std::str::FromStr>(name: &str, text: &str) -> Result<T>
        where
            T::Err: std::fmt::Display,
        {
            text.parse()
                .map_err(|e| anyhow::anyhow!("{name}={text:?}: {e}"))
        }
        macro_rules! env {
            ($field:ident, $name:literal) => {
                if let Some(text) = var($name) {
                    self.$field = parse($name, &text)?;
                }
            };
            (opt $field:ident, $name:literal) => {
                if let Some(text) = var($name) {
                    self.$field = Some(parse($name, &text)?);
                }
            };
        }
        env!(listen, "PROOFMINT_LISTEN");
        env!(data_dir, "PROOFMINT_DATA_DIR");
        env!(opt database, "PROOFMINT_DATABASE");
        env!(workers, "PROOFMINT_WORKERS");
        env!(backend, "PROOFMINT_BACKEND");
        env!(opt icicle_dir, "PROOFMINT_ICICLE_DIR");
        env!(lease_secs, "PROOFMINT_LEASE_SECS");
        env!(max_attempts, "PROOFMINT_MAX_ATTEMPTS");
        env!(max_queue, "PROOFMINT_MAX_QUEUE");
        env!(max_body_bytes, "PROOFMINT_MAX_BODY_BYTES");
        env!(opt memory_budget_mib, "PROOFMINT_MEMORY_BUDGET_MIB");
        env!(retention_hours, "PROOFMINT_RETENTION_HOURS");
        env!(shutdown_grace_secs, "PROOFMINT_SHUTDOWN_GRACE_SECS");
        env!(key_max_in_flight, "PROOFMINT_KEY_MAX_IN_FLIGHT");
        env!(key_per_minute, "PROOFMINT_KEY_PER_MINUTE");
        env!(max_wait_secs, "PROOFMINT_MAX_WAIT_SECS");
        env!(opt webhook_secret, "PROOFMINT_WEBHOOK_SECRET");
        env!(poll_ms, "PROOFMINT_POLL_MS");
        if let Some(text) = var("PROOFMINT_KEYS") {
            self.keys = std::env::split_paths(&text).collect();
        }
        Ok(())
    }

    /// Refuses settings that cannot work.
    pub fn validate(&self) -> Result<()> {
        self.backend_choice()?;
        if self.keys.is_empty() {
            bail!("no keys: give --keys DIR (as `proofmint setup` writes) at least once");
        }
        if self.workers == 0 || self.workers > 64 {
            bail!("workers = {}: expected 1 to 64", self.workers);
        }
        if self.lease_secs < 2 {
            bail!(
                "lease_secs = {}: at least 2 (heartbeats come every third)",
                self.lease_secs
            );
        }
        if self.max_attempts < 1 {
            bail!("max_attempts = {}: at least 1", self.max_attempts);
        }
        if self.max_queue < 1 || self.max_body_bytes < 1024 {
            bail!("max_queue and max_body_bytes must allow at least one job");
        }
        Ok(())
    }

    pub fn backend_choice(&self) -> Result<BackendChoice> {
        self.backend
            .parse()
            .map_err(|e: String| anyhow::anyhow!("backend: {e}"))
    }

    /// The job store's URL.
    pub fn database_url(&self) -> String {
        match &self.database {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("jobs.db").display()),
        }
    }

    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment_then_validation() {
        let text = r#"
            listen = "0.0.0.0:9000"
            keys = ["keys16", "keys64"]
            database = "postgres://prover@db/proofmint"
            lease_secs = 10
            memory_budget_mib = 4096
        "#;
        let mut config: ServeConfig = toml::from_str(text).unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.keys.len(), 2);
        assert_eq!(config.max_attempts, 3, "unset settings keep their defaults");
        assert_eq!(config.database_url(), "postgres://prover@db/proofmint");
        config
            .apply_env(|name| match name {
                "PROOFMINT_LEASE_SECS" => Some("12".into()),
                "PROOFMINT_WEBHOOK_SECRET" => Some("s".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(config.lease(), Duration::from_secs(12));
        assert_eq!(config.webhook_secret.as_deref(), Some("s"));
        config.validate().unwrap();

        let error = config
            .apply_env(|name| (name == "PROOFMINT_WORKERS").then(|| "many".into()))
            .unwrap_err();
        assert!(error.to_string().contains("PROOFMINT_WORKERS"), "{error}");
        let unknown = toml::from_str::<ServeConfig>("lease = 3").unwrap_err();
        assert!(unknown.to_string().contains("lease"), "{unknown}");
    }

    #[test]
    fn settings_that_cannot_work_are_refused() {
        let base = ServeConfig {
            keys: vec!["k".into()],
            ..ServeConfig::default()
        };
        base.validate().unwrap();
        assert_eq!(
            base.database_url(),
            format!("sqlite://{}", Path::new("proofmint-data/jobs.db").display())
        );
        let broken = [
            ServeConfig {
                keys: vec![],
                ..base.clone()
            },
            ServeConfig {
                backend: "tpu".into(),
                ..base.clone()
            },
            ServeConfig {
                workers: 0,
                ..base.clone()
            },
            ServeConfig {
                lease_secs: 1,
                ..base.clone()
            },
            ServeConfig {
                max_attempts: 0,
                ..base.clone()
            },
        ];
        for config in broken {
            assert!(config.validate().is_err(), "{config:?}");
        }
    }
}
