//! The durable job store: one trait ([`JobStore`]) that the API, the workers
//! and the reaper use, and one SQL implementation ([`SqlStore`]) over two
//! databases: embedded SQLite (WAL, one writer connection) for one machine,
//! PostgreSQL for many `proofmint serve` processes sharing one queue.
//!
//! Every job moves through `queued → running → succeeded | failed | cancelled
//! | expired` and only through guarded updates:
//! - a worker *takes* a queued job, which raises its attempt number; that
//!   number is the lease's fencing token, and every later write of the worker
//!   (heartbeat, completion, failure) names it and changes nothing once the
//!   job has moved on (a reaped lease, a cancel, another worker's result);
//! - completion is a compare-and-set on (state = running, token): the first
//!   valid proof wins, a late duplicate is dropped, and a job never ends with
//!   two results;
//! - lease expiry is judged by the database's clock, never a worker's, so
//!   machines with skewed clocks agree on who holds a job.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};
use utoipa::ToSchema;

/// Why the store could not answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("job store: {0}")]
    Database(#[from] sqlx::Error),
    #[error(
        "job store: unsupported database URL {0:?} (expected sqlite://PATH or postgres://...)"
    )]
    Url(String),
    #[error("job store: corrupt row: {0}")]
    Corrupt(String),
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    Expired,
}

impl JobState {
    pub const ALL: [JobState; 6] = [
        JobState::Queued,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Cancelled,
        JobState::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
            JobState::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn is_terminal(self) -> bool {
        !matches!(self, JobState::Queued | JobState::Running)
    }
}

/// One attempt's end, kept in the job for as long as the job is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AttemptRecord {
    pub attempt: i64,
    pub worker: String,
    pub reason: String,
}

/// A job as the store holds it (the proof apart).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Job {
    pub id: String,
    pub state: JobState,
    /// While running: the step the worker last reported.
    pub step: Option<String>,
    /// Why the job failed, expired or was cancelled.
    pub error: Option<String>,
    pub priority: i64,
    /// Unix milliseconds after which the job is not worth proving.
    pub deadline_ms: Option<i64>,
    pub created_ms: i64,
    pub started_ms: Option<i64>,
    pub finished_ms: Option<i64>,
    pub bundle_digest: String,
    pub node: String,
    pub from_index: i64,
    pub slots: i64,
    pub depth: i64,
    pub key_digest: String,
    /// The backend the job asked for (`cpu`, `icicle`), if any.
    pub backend: Option<String>,
    /// The backend that proved it.
    pub ran_on: Option<String>,
    /// Milliseconds per step of the successful attempt.
    pub timings: Option<serde_json::Value>,
    pub attempts: i64,
    pub max_attempts: i64,
    /// Leases that expired (a worker that died or stalled), apart from failures.
    pub lost_leases: i64,
    pub attempt_log: Vec<AttemptRecord>,
    pub cancel_requested: bool,
    /// The worker holding (or that last held) the job's lease: `host/pid/wN`.
    pub worker: Option<String>,
    #[serde(skip)]
    pub api_key: String,
    #[serde(skip)]
    pub webhook_url: Option<String>,
}

/// What a submission asks for (validated by the API before it gets here).
#[derive(Debug, Clone)]
pub struct NewJob {
    pub api_key: String,
    pub idempotency_key: Option<String>,
    /// SHA-256 of the request, to tell a retry from a different request
    /// under the same idempotency key.
    pub request_digest: String,
    pub priority: i64,
    pub deadline_ms: Option<i64>,
    pub bundle_digest: String,
    pub node: String,
    pub from_index: i64,
    pub slots: i64,
    pub depth: i64,
    pub key_digest: String,
    pub backend: Option<String>,
    pub max_attempts: i64,
    pub webhook_url: Option<String>,
}

/// Admission limits checked inside the submitting transaction.
#[derive(Debug, Clone, Copy)]
pub struct SubmitLimits {
    /// Jobs queued across the whole store.
    pub max_queued: i64,
    /// This key's queued and running jobs.
    pub key_in_flight: i64,
    /// This key's submissions in the last minute.
    pub key_per_minute: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitOutcome {
    Created(String),
    /// The same idempotency key and the same request: the job already made.
    Existing(String),
    /// The same idempotency key with a different request.
    Conflict(String),
    QueueFull,
    KeyInFlight,
    /// Past the per-minute limit; retry after this many seconds.
    KeyRate(u64),
}

/// An API key as listed (never the token).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub created_ms: i64,
    pub revoked_ms: Option<i64>,
    pub max_in_flight: i64,
    pub per_minute: i64,
}

/// What a worker can take: the keys it holds whose jobs fit the memory it
/// has left, and its backend.
#[derive(Debug, Clone)]
pub struct TakeOffer {
    pub key_digests: Vec<String>,
    pub backend: String,
}

/// A held job and its fencing token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub job_id: String,
    pub token: i64,
    pub worker: String,
}

/// A heartbeat's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    Held,
    /// Someone asked to cancel: stop at the next step.
    CancelRequested,
    /// The deadline passed: stop at the next step.
    DeadlinePassed,
    /// The lease is gone (expired and reaped, or the job finished elsewhere).
    Lost,
}

/// How a worker's stop ends the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Cancelled,
    Expired,
    /// Handed back (shutdown): queued again, the attempt not counted.
    HandedBack,
}

/// The proof and what it took.
#[derive(Debug, Clone)]
pub struct JobResult {
    pub proof: Vec<u8>,
    pub ran_on: String,
    pub timings: serde_json::Value,
}

/// What one reaper pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reaped {
    /// Expired leases returned to the queue.
    pub requeued: u64,
    /// Expired leases past the attempt limit: failed.
    pub failed: u64,
    /// Queued or running jobs past their deadline.
    pub expired: u64,
    /// Expired leases of jobs asked to cancel.
    pub cancelled: u64,
    /// Expired leases, whatever became of their jobs.
    pub lost: u64,
    /// The jobs this pass ended (failed, expired, cancelled).
    pub ended: Vec<String>,
}

impl Reaped {
    pub fn lost_leases(&self) -> u64 {
        self.lost
    }
}

/// A page of jobs.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub api_key: Option<String>,
    pub state: Option<JobState>,
    pub node: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// The job store the service runs on.
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn kind(&self) -> &'static str;
    /// A round trip to the database.
    async fn ping(&self) -> Result<(), StoreError>;

    async fn create_api_key(
        &self,
        name: &str,
        max_in_flight: i64,
        per_minute: i64,
    ) -> Result<(ApiKey, String), StoreError>;
    async fn list_api_keys(&self) -> Result<Vec<ApiKey>, StoreError>;
    /// Revokes the key with this id or name; false if none is active.
    async fn revoke_api_key(&self, id_or_name: &str) -> Result<bool, StoreError>;
    /// The active key whose token this is.
    async fn authenticate(&self, token: &str) -> Result<Option<ApiKey>, StoreError>;

    async fn put_bundle(&self, digest: &str, bytes: &[u8]) -> Result<(), StoreError>;
    async fn get_bundle(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn has_bundle(&self, digest: &str) -> Result<bool, StoreError>;

    async fn submit(&self, job: NewJob, limits: SubmitLimits) -> Result<SubmitOutcome, StoreError>;
    async fn job(&self, id: &str) -> Result<Option<Job>, StoreError>;
    async fn list(&self, filter: &JobFilter) -> Result<Vec<Job>, StoreError>;
    /// The proof of a succeeded job.
    async fn proof(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Cancels a queued job at once, or asks a running one's worker to stop.
    /// Returns the job afterwards (None if there is no such job).
    async fn cancel(&self, id: &str) -> Result<Option<Job>, StoreError>;

    /// Takes the most urgent queued job this worker can prove, leased for `lease`.
    async fn take(
        &self,
        worker: &str,
        offer: &TakeOffer,
        lease: Duration,
    ) -> Result<Option<(Lease, Job)>, StoreError>;
    /// Extends the lease and records the step the worker is in.
    async fn renew(
        &self,
        lease: &Lease,
        step: &str,
        extend: Duration,
    ) -> Result<Renewal, StoreError>;
    /// Stores the proof if the lease still holds; false if it was dropped.
    async fn complete(&self, lease: &Lease, result: &JobResult) -> Result<bool, StoreError>;
    /// Ends an attempt with an error: queued again while attempts remain and
    /// `retry` is set, else failed. Returns the state afterwards (None: lease lost).
    async fn fail(
        &self,
        lease: &Lease,
        reason: &str,
        retry: bool,
    ) -> Result<Option<JobState>, StoreError>;
    /// Ends an attempt that stopped early; false if the lease was lost.
    async fn stop(&self, lease: &Lease, stop: Stop, reason: &str) -> Result<bool, StoreError>;

    /// Returns expired leases to the queue (or fails them past the attempt
    /// limit) and expires jobs past their deadline.
    async fn reap(&self) -> Result<Reaped, StoreError>;
    /// Deletes finished jobs (and bundles no job uses) older than `retention`.
    async fn prune(&self, retention: Duration) -> Result<u64, StoreError>;
    /// Jobs per state.
    async fn counts(&self) -> Result<Vec<(JobState, i64)>, StoreError>;
}

/// The token's stored form: SHA-256 (tokens are 256 random bits, so a
/// fast hash suffices; the store never holds a token).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buffer = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buffer);
    hex::encode(buffer)
}

/// A new job id.
pub fn new_job_id() -> String {
    format!("job_{}", random_hex(16))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The database's clock in unix milliseconds.
    fn now(self) -> &'static str {
        match self {
            Dialect::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS BIGINT)",
            Dialect::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
        }
    }

    fn blob(self) -> &'static str {
        match self {
            Dialect::Sqlite => "BLOB",
            Dialect::Postgres => "BYTEA",
        }
    }
}

const JOB_COLUMNS: &str = "id, state, step, error, priority, deadline_ms, created_ms, started_ms, \
     finished_ms, bundle_digest, node, from_index, slots, depth, key_digest, backend, ran_on, \
     timings, attempts, max_attempts, lost_leases, attempt_log, cancel_requested, lease_owner, api_key, webhook_url";

/// The SQL job store over SQLite or PostgreSQL.
pub struct SqlStore {
    pool: AnyPool,
    dialect: Dialect,
}

impl SqlStore {
    /// Opens (creating if needed) the store at `url`: `sqlite://PATH` or
    /// `postgres://...`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (dialect, url) = if let Some(path) = url.strip_prefix("sqlite://") {
            (Dialect::Sqlite, format!("sqlite://{path}?mode=rwc"))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Dialect::Postgres, url.to_string())
        } else {
            return Err(StoreError::Url(url.to_string()));
        };
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        let pool = match dialect {
            // One connection: SQLite has one writer, and a single connection
            // serializes every transaction without SQLITE_BUSY upgrades.
            Dialect::Sqlite => {
                options
                    .max_connections(1)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA synchronous = FULL").await?;
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?
            }
            Dialect::Postgres => options.max_connections(8).connect(&url).await?,
        };
        let store = Self { pool, dialect };
        store.migrate().await?;
        Ok(store)
    }

    /// The SQLite store of a data directory.
    pub async fn open_data_dir(dir: &std::path::Path) -> Result<Self, StoreError> {
        Self::open(&format!("sqlite://{}", dir.join("jobs.db").display())).await
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let blob = self.dialect.blob();
        let statements = [
            "CREATE TABLE IF NOT EXISTS api_keys (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                token_hash TEXT NOT NULL UNIQUE,
                created_ms BIGINT NOT NULL,
                revoked_ms BIGINT,
                max_in_flight BIGINT NOT NULL,
                per_minute BIGINT NOT NULL)"
                .to_string(),
            format!(
                "CREATE TABLE IF NOT EXISTS bundles (
                digest TEXT PRIMARY KEY,
                bytes {blob} NOT NULL,
                created_ms BIGINT NOT NULL)"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS jobs (
                id TEXT PRIMARY KEY,
                api_key TEXT NOT NULL,
                idempotency_key TEXT,
                request_digest TEXT NOT NULL,
                state TEXT NOT NULL,
                step TEXT,
                error TEXT,
                priority BIGINT NOT NULL,
                deadline_ms BIGINT,
                created_ms BIGINT NOT NULL,
                started_ms BIGINT,
                finished_ms BIGINT,
                bundle_digest TEXT NOT NULL,
                node TEXT NOT NULL,
                from_index BIGINT NOT NULL,
                slots BIGINT NOT NULL,
                depth BIGINT NOT NULL,
                key_digest TEXT NOT NULL,
                backend TEXT,
                ran_on TEXT,
                timings TEXT,
                attempts BIGINT NOT NULL,
                max_attempts BIGINT NOT NULL,
                lost_leases BIGINT NOT NULL,
                attempt_log TEXT NOT NULL,
                cancel_requested BIGINT NOT NULL,
                lease_owner TEXT,
                lease_token BIGINT,
                lease_expires_ms BIGINT,
                webhook_url TEXT,
                proof {blob},
                UNIQUE (api_key, idempotency_key))"
            ),
            "CREATE INDEX IF NOT EXISTS jobs_queue ON jobs (state, priority, created_ms)".into(),
            "CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (api_key, state, created_ms)".into(),
        ];
        for statement in statements {
            sqlx::query(&statement).execute(&self.pool).await?;
        }
        Ok(())
    }

    fn now(&self) -> &'static str {
        self.dialect.now()
    }

    fn job_from_row(row: &AnyRow) -> Result<Job, StoreError> {
        let state: String = row.try_get("state")?;
        let state = JobState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown job state {state:?}")))?;
        let timings: Option<String> = row.try_get("timings")?;
        let timings = match timings {
            Some(text) => Some(
                serde_json::from_str(&text)
                    .map_err(|e| StoreError::Corrupt(format!("timings: {e}")))?,
            ),
            None => None,
        };
        let log: String = row.try_get("attempt_log")?;
        let attempt_log = serde_json::from_str(&log)
            .map_err(|e| StoreError::Corrupt(format!("attempt log: {e}")))?;
        let cancel: i64 = row.try_get("cancel_requested")?;
        Ok(Job {
            id: row.try_get("id")?,
            state,
            step: row.try_get("step")?,
            error: row.try_get("error")?,
            priority: row.try_get("priority")?,
            deadline_ms: row.try_get("deadline_ms")?,
            created_ms: row.try_get("created_ms")?,
            started_ms: row.try_get("started_ms")?,
            finished_ms: row.try_get("finished_ms")?,
            bundle_digest: row.try_get("bundle_digest")?,
            node: row.try_get("node")?,
            from_index: row.try_get("from_index")?,
            slots: row.try_get("slots")?,
            depth: row.try_get("depth")?,
            key_digest: row.try_get("key_digest")?,
            backend: row.try_get("backend")?,
            ran_on: row.try_get("ran_on")?,
            timings,
            attempts: row.try_get("attempts")?,
            max_attempts: row.try_get("max_attempts")?,
            lost_leases: row.try_get("lost_leases")?,
            attempt_log,
            cancel_requested: cancel != 0,
            worker: row.try_get("lease_owner")?,
            api_key: row.try_get("api_key")?,
            webhook_url: row.try_get("webhook_url")?,
        })
    }

    fn key_from_row(row: &AnyRow) -> Result<ApiKey, StoreError> {
        Ok(ApiKey {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            created_ms: row.try_get("created_ms")?,
            revoked_ms: row.try_get("revoked_ms")?,
            max_in_flight: row.try_get("max_in_flight")?,
            per_minute: row.try_get("per_minute")?,
        })
    }

    /// The attempt log with one more record, for a guarded update.
    async fn log_with(
        &self,
        lease: &Lease,
        reason: &str,
    ) -> Result<Option<(String, i64, i64)>, StoreError> {
        let row = sqlx::query(
            "SELECT attempt_log, attempts, max_attempts FROM jobs
             WHERE id = $1 AND state = 'running' AND lease_token = $2",
        )
        .bind(&lease.job_id)
        .bind(lease.token)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let log: String = row.try_get("attempt_log")?;
        let attempts: i64 = row.try_get("attempts")?;
        let max: i64 = row.try_get("max_attempts")?;
        Ok(Some((
            append_log(&log, lease.token, &lease.worker, reason)?,
            attempts,
            max,
        )))
    }
}

fn append_log(log: &str, attempt: i64, worker: &str, reason: &str) -> Result<String, StoreError> {
    let mut records: Vec<AttemptRecord> =
        serde_json::from_str(log).map_err(|e| StoreError::Corrupt(format!("attempt log: {e}")))?;
    records.push(AttemptRecord {
        attempt,
        worker: worker.to_string(),
        reason: reason.to_string(),
    });
    Ok(serde_json::to_string(&records).expect("records serialize"))
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(e) => {
            e.is_unique_violation()
                || e.code().as_deref() == Some("23505")
                || e.message().contains("UNIQUE constraint failed")
        }
        _ => false,
    }
}

#[async_trait]
impl JobStore for SqlStore {
    fn kind(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_api_key(
        &self,
        name: &str,
        max_in_flight: i64,
        per_minute: i64,
    ) -> Result<(ApiKey, String), StoreError> {
        let token = format!("pm_{}", random_hex(32));
        let id = format!("key_{}", random_hex(6));
        let sql = format!(
            "INSERT INTO api_keys (id, name, token_hash, created_ms, max_in_flight, per_minute)
             VALUES ($1, $2, $3, {}, $4, $5)",
            self.now()
        );
        sqlx::query(&sql)
            .bind(&id)
            .bind(name)
            .bind(token_hash(&token))
            .bind(max_in_flight)
            .bind(per_minute)
            .execute(&self.pool)
            .await?;
        let row = sqlx::query("SELECT * FROM api_keys WHERE id = $1")
            .bind(&id)
            .fetch_one(&self.pool)
            .await?;
        Ok((Self::key_from_row(&row)?, token))
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let rows = sqlx::query("SELECT * FROM api_keys ORDER BY created_ms, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(Self::key_from_row).collect()
    }

    async fn revoke_api_key(&self, id_or_name: &str) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE api_keys SET revoked_ms = {} WHERE (id = $1 OR name = $1) AND revoked_ms IS NULL",
            self.now()
        );
        let done = sqlx::query(&sql)
            .bind(id_or_name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn authenticate(&self, token: &str) -> Result<Option<ApiKey>, StoreError> {
        let row =
            sqlx::query("SELECT * FROM api_keys WHERE token_hash = $1 AND revoked_ms IS NULL")
                .bind(token_hash(token))
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(Self::key_from_row).transpose()
    }

    async fn put_bundle(&self, digest: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO bundles (digest, bytes, created_ms) VALUES ($1, $2, {})
             ON CONFLICT (digest) DO NOTHING",
            self.now()
        );
        sqlx::query(&sql)
            .bind(digest)
            .bind(bytes.to_vec())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn get_bundle(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT bytes FROM bundles WHERE digest = $1")
            .bind(digest)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("bytes")).transpose()?)
    }

    async fn has_bundle(&self, digest: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM bundles WHERE digest = $1")
            .bind(digest)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    async fn submit(&self, job: NewJob, limits: SubmitLimits) -> Result<SubmitOutcome, StoreError> {
        // Two tries: a concurrent submit with the same idempotency key makes
        // the insert fail on the unique index, and the second try finds it.
        for _ in 0..2 {
            let mut tx = self.pool.begin().await?;
            if let Some(key) = &job.idempotency_key {
                let row = sqlx::query(
                    "SELECT id, request_digest FROM jobs WHERE api_key = $1 AND idempotency_key = $2",
                )
                .bind(&job.api_key)
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(row) = row {
                    let id: String = row.try_get("id")?;
                    let digest: String = row.try_get("request_digest")?;
                    return Ok(if digest == job.request_digest {
                        SubmitOutcome::Existing(id)
                    } else {
                        SubmitOutcome::Conflict(id)
                    });
                }
            }
            let queued: i64 = sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE state = 'queued'")
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            if queued >= limits.max_queued {
                return Ok(SubmitOutcome::QueueFull);
            }
            let in_flight: i64 = sqlx::query(
                "SELECT COUNT(*) AS n FROM jobs WHERE api_key = $1 AND state IN ('queued', 'running')",
            )
            .bind(&job.api_key)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
            if in_flight >= limits.key_in_flight {
                return Ok(SubmitOutcome::KeyInFlight);
            }
            let sql = format!(
                "SELECT COUNT(*) AS n, MIN(created_ms) AS oldest, {} AS now FROM jobs
                 WHERE api_key = $1 AND created_ms > {} - 60000",
                self.now(),
                self.now()
            );
            let row = sqlx::query(&sql)
                .bind(&job.api_key)
                .fetch_one(&mut *tx)
                .await?;
            let recent: i64 = row.try_get("n")?;
            if recent >= limits.key_per_minute {
                let oldest: Option<i64> = row.try_get("oldest")?;
                let now: i64 = row.try_get("now")?;
                let wait_ms = oldest.map_or(60_000, |o| (o + 60_000 - now).max(0));
                return Ok(SubmitOutcome::KeyRate(
                    (wait_ms as u64).div_ceil(1000).max(1),
                ));
            }
            let id = new_job_id();
            let sql = format!(
                "INSERT INTO jobs (id, api_key, idempotency_key, request_digest, state, priority,
                   deadline_ms, created_ms, bundle_digest, node, from_index, slots, depth,
                   key_digest, backend, attempts, max_attempts, lost_leases, attempt_log,
                   cancel_requested, webhook_url)
                 VALUES ($1, $2, $3, $4, 'queued', $5, $6, {}, $7, $8, $9, $10, $11, $12, $13,
                   0, $14, 0, '[]', 0, $15)",
                self.now()
            );
            let inserted = sqlx::query(&sql)
                .bind(&id)
                .bind(&job.api_key)
                .bind(job.idempotency_key.clone())
                .bind(&job.request_digest)
                .bind(job.priority)
                .bind(job.deadline_ms)
                .bind(&job.bundle_digest)
                .bind(&job.node)
                .bind(job.from_index)
                .bind(job.slots)
                .bind(job.depth)
                .bind(&job.key_digest)
                .bind(job.backend.clone())
                .bind(job.max_attempts)
                .bind(job.webhook_url.clone())
                .execute(&mut *tx)
                .await;
            match inserted {
                Ok(_) => {
                    tx.commit().await?;
                    return Ok(SubmitOutcome::Created(id));
                }
                Err(e) if is_unique_violation(&e) && job.idempotency_key.is_some() => {
                    tx.rollback().await?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Corrupt(
            "an idempotency key both exists and does not".into(),
        ))
    }

    async fn job(&self, id: &str) -> Result<Option<Job>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::job_from_row).transpose()
    }

    async fn list(&self, filter: &JobFilter) -> Result<Vec<Job>, StoreError> {
        let mut sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE 1 = 1");
        let mut binds: Vec<String> = Vec::new();
        let mut next = |column: &str, value: String, sql: &mut String| {
            binds.push(value);
            sql.push_str(&format!(" AND {column} = ${}", binds.len()));
        };
        if let Some(key) = &filter.api_key {
            next("api_key", key.clone(), &mut sql);
        }
        if let Some(state) = filter.state {
            next("state", state.as_str().to_string(), &mut sql);
        }
        if let Some(node) = &filter.node {
            next("node", node.clone(), &mut sql);
        }
        let n = binds.len();
        sql.push_str(&format!(
            " ORDER BY created_ms DESC, id DESC LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        ));
        let mut query = sqlx::query(&sql);
        for value in binds {
            query = query.bind(value);
        }
        let rows = query
            .bind(filter.limit)
            .bind(filter.offset)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(Self::job_from_row).collect()
    }

    async fn proof(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT proof FROM jobs WHERE id = $1 AND state = 'succeeded'")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("proof")).transpose()?)
    }

    async fn cancel(&self, id: &str) -> Result<Option<Job>, StoreError> {
        let sql = format!(
            "UPDATE jobs SET state = 'cancelled', error = 'cancelled before it ran',
               finished_ms = {now}, cancel_requested = 1
             WHERE id = $1 AND state = 'queued'",
            now = self.now()
        );
        sqlx::query(&sql).bind(id).execute(&self.pool).await?;
        sqlx::query("UPDATE jobs SET cancel_requested = 1 WHERE id = $1 AND state = 'running'")
            .bind(id)
            .execute(&self.pool)
            .await?;
        self.job(id).await
    }

    async fn take(
        &self,
        worker: &str,
        offer: &TakeOffer,
        lease: Duration,
    ) -> Result<Option<(Lease, Job)>, StoreError> {
        if offer.key_digests.is_empty() {
            return Ok(None);
        }
        let keys: Vec<String> = (0..offer.key_digests.len())
            .map(|i| format!("${}", i + 4))
            .collect();
        let lock = match self.dialect {
            Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1,
               lease_token = attempts + 1, lease_owner = $1, lease_expires_ms = {now} + $2,
               started_ms = COALESCE(started_ms, {now}), step = 'taken'
             WHERE id = (
               SELECT id FROM jobs
               WHERE state = 'queued' AND (backend IS NULL OR backend = $3)
                 AND (deadline_ms IS NULL OR deadline_ms > {now})
                 AND key_digest IN ({keys})
               ORDER BY priority DESC, created_ms, id
               LIMIT 1 {lock})
             RETURNING {JOB_COLUMNS}, lease_token",
            now = self.now(),
            keys = keys.join(", "),
        );
        let mut query = sqlx::query(&sql)
            .bind(worker)
            .bind(lease.as_millis() as i64)
            .bind(&offer.backend);
        for digest in &offer.key_digests {
            query = query.bind(digest);
        }
        let Some(row) = query.fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        let job = Self::job_from_row(&row)?;
        let token: i64 = row.try_get("lease_token")?;
        Ok(Some((
            Lease {
                job_id: job.id.clone(),
                token,
                worker: worker.to_string(),
            },
            job,
        )))
    }

    async fn renew(
        &self,
        lease: &Lease,
        step: &str,
        extend: Duration,
    ) -> Result<Renewal, StoreError> {
        let sql = format!(
            "UPDATE jobs SET lease_expires_ms = {now} + $1, step = $2
             WHERE id = $3 AND state = 'running' AND lease_token = $4
             RETURNING cancel_requested, deadline_ms, {now} AS now",
            now = self.now()
        );
        let row = sqlx::query(&sql)
            .bind(extend.as_millis() as i64)
            .bind(step)
            .bind(&lease.job_id)
            .bind(lease.token)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(Renewal::Lost);
        };
        let cancel: i64 = row.try_get("cancel_requested")?;
        let deadline: Option<i64> = row.try_get("deadline_ms")?;
        let now: i64 = row.try_get("now")?;
        Ok(if cancel != 0 {
            Renewal::CancelRequested
        } else if deadline.is_some_and(|d| d <= now) {
            Renewal::DeadlinePassed
        } else {
            Renewal::Held
        })
    }

    async fn complete(&self, lease: &Lease, result: &JobResult) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE jobs SET state = 'succeeded', proof = $1, ran_on = $2, timings = $3,
               step = NULL, error = NULL, finished_ms = {now}, lease_expires_ms = NULL
             WHERE id = $4 AND state = 'running' AND lease_token = $5",
            now = self.now()
        );
        let done = sqlx::query(&sql)
            .bind(result.proof.clone())
            .bind(&result.ran_on)
            .bind(result.timings.to_string())
            .bind(&lease.job_id)
            .bind(lease.token)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn fail(
        &self,
        lease: &Lease,
        reason: &str,
        retry: bool,
    ) -> Result<Option<JobState>, StoreError> {
        let Some((log, attempts, max)) = self.log_with(lease, reason).await? else {
            return Ok(None);
        };
        let next = if retry && attempts < max {
            JobState::Queued
        } else {
            JobState::Failed
        };
        let sql = format!(
            "UPDATE jobs SET state = $1, attempt_log = $2, error = $3, step = NULL,
               lease_expires_ms = NULL, finished_ms = CASE WHEN $1 = 'failed' THEN {now} ELSE NULL END
             WHERE id = $4 AND state = 'running' AND lease_token = $5",
            now = self.now()
        );
        let done = sqlx::query(&sql)
            .bind(next.as_str())
            .bind(log)
            .bind(reason)
            .bind(&lease.job_id)
            .bind(lease.token)
            .execute(&self.pool)
            .await?;
        Ok((done.rows_affected() == 1).then_some(next))
    }

    async fn stop(&self, lease: &Lease, stop: Stop, reason: &str) -> Result<bool, StoreError> {
        let Some((log, _, _)) = self.log_with(lease, reason).await? else {
            return Ok(false);
        };
        let now = self.now();
        let set = match stop {
            Stop::Cancelled => format!("state = 'cancelled', finished_ms = {now}"),
            Stop::Expired => format!("state = 'expired', finished_ms = {now}"),
            // Not the job's fault: the attempt is given back.
            Stop::HandedBack => "state = 'queued', attempts = attempts - 1".to_string(),
        };
        let sql = format!(
            "UPDATE jobs SET {set}, attempt_log = $1, error = $2, step = NULL, lease_expires_ms = NULL
             WHERE id = $3 AND state = 'running' AND lease_token = $4"
        );
        let done = sqlx::query(&sql)
            .bind(log)
            .bind(reason)
            .bind(&lease.job_id)
            .bind(lease.token)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn reap(&self) -> Result<Reaped, StoreError> {
        let now = self.now();
        let mut reaped = Reaped::default();
        let sql = format!(
            "UPDATE jobs SET state = 'expired', error = 'the deadline passed before it ran',
               finished_ms = {now}
             WHERE state = 'queued' AND deadline_ms IS NOT NULL AND deadline_ms <= {now}
             RETURNING id"
        );
        for row in sqlx::query(&sql).fetch_all(&self.pool).await? {
            reaped.expired += 1;
            reaped.ended.push(row.try_get("id")?);
        }
        let sql = format!(
            "SELECT id, lease_token, lease_owner, attempts, max_attempts, cancel_requested,
               deadline_ms, attempt_log, {now} AS now
             FROM jobs WHERE state = 'running' AND lease_expires_ms < {now}"
        );
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        for row in rows {
            let id: String = row.try_get("id")?;
            let token: i64 = row.try_get("lease_token")?;
            let owner: Option<String> = row.try_get("lease_owner")?;
            let attempts: i64 = row.try_get("attempts")?;
            let max: i64 = row.try_get("max_attempts")?;
            let cancel: i64 = row.try_get("cancel_requested")?;
            let deadline: Option<i64> = row.try_get("deadline_ms")?;
            let now_ms: i64 = row.try_get("now")?;
            let log: String = row.try_get("attempt_log")?;
            let owner = owner.unwrap_or_default();
            let reason = format!("lease expired: worker {owner} stopped renewing it");
            let log = append_log(&log, token, &owner, &reason)?;
            let (state, error) = if cancel != 0 {
                (JobState::Cancelled, "cancelled".to_string())
            } else if deadline.is_some_and(|d| d <= now_ms) {
                (JobState::Expired, "the deadline passed".to_string())
            } else if attempts >= max {
                (
                    JobState::Failed,
                    format!("{attempts} attempts, the last lost: {reason}"),
                )
            } else {
                (JobState::Queued, reason.clone())
            };
            let finished = if state.is_terminal() { now } else { "NULL" };
            // Guarded by the token and the expiry: a heartbeat that landed
            // since the select keeps the job with its worker.
            let sql = format!(
                "UPDATE jobs SET state = $1, error = $2, attempt_log = $3, step = NULL,
                   lost_leases = lost_leases + 1, lease_expires_ms = NULL, finished_ms = {finished}
                 WHERE id = $4 AND state = 'running' AND lease_token = $5 AND lease_expires_ms < {now}"
            );
            let done = sqlx::query(&sql)
                .bind(state.as_str())
                .bind(error)
                .bind(log)
                .bind(&id)
                .bind(token)
                .execute(&self.pool)
                .await?;
            if done.rows_affected() == 1 {
                reaped.lost += 1;
                match state {
                    JobState::Queued => reaped.requeued += 1,
                    JobState::Failed => reaped.failed += 1,
                    JobState::Cancelled => reaped.cancelled += 1,
                    _ => reaped.expired += 1,
                }
                if state.is_terminal() {
                    reaped.ended.push(id);
                }
            }
        }
        Ok(reaped)
    }

    async fn prune(&self, retention: Duration) -> Result<u64, StoreError> {
        let sql = format!(
            "DELETE FROM jobs WHERE state IN ('succeeded', 'failed', 'cancelled', 'expired')
               AND finished_ms < {} - $1",
            self.now()
        );
        let jobs = sqlx::query(&sql)
            .bind(retention.as_millis() as i64)
            .execute(&self.pool)
            .await?
            .rows_affected();
        let sql = format!(
            "DELETE FROM bundles WHERE created_ms < {} - $1
               AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.bundle_digest = bundles.digest)",
            self.now()
        );
        sqlx::query(&sql)
            .bind(retention.as_millis() as i64)
            .execute(&self.pool)
            .await?;
        Ok(jobs)
    }

    async fn counts(&self) -> Result<Vec<(JobState, i64)>, StoreError> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
            .fetch_all(&self.pool)
            .await?;
        let mut counts: Vec<(JobState, i64)> = JobState::ALL.iter().map(|s| (*s, 0)).collect();
        for row in rows {
            let state: String = row.try_get("state")?;
            let n: i64 = row.try_get("n")?;
            if let Some(slot) = counts.iter_mut().find(|(s, _)| s.as_str() == state) {
                slot.1 = n;
            }
        }
        Ok(counts)
    }
}
