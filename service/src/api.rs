//! The HTTP API (`/v1`), its OpenAPI document (generated from these
//! handlers' annotations), health, readiness and metrics.
//!
//! Every error is JSON, `{"error": "...", "field": "..."}`, with the status
//! that says whose fault it is: 400 a malformed request (naming the field),
//! 401 no or a wrong token, 404 no such job (or another key's), 409 a
//! conflict (an idempotency key reused for a different request, a result of
//! a job that has none), 413 a body past the limit, 429 a limit (with
//! `Retry-After`), 503 the store unreachable or the server shutting down.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use proofmint_circuits::field::parse_address;
use proofmint_circuits::EpochBundle;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::config::ServeConfig;
use crate::store::{
    ApiKey, AttemptRecord, Job, JobFilter, JobState, NewJob, StoreError, SubmitLimits,
    SubmitOutcome,
};
use crate::worker::Pool;

/// The service as the handlers see it.
pub struct App {
    pub pool: Arc<Pool>,
    pub config: ServeConfig,
    /// False once a shutdown begins: new submissions get 503.
    pub accepting: AtomicBool,
    /// The bundle a submission named last, decoded.
    pub last_bundle: std::sync::Mutex<Option<(String, Arc<EpochBundle>)>>,
}

/// An error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiError {
    #[serde(skip)]
    status: StatusCode,
    /// What went wrong.
    pub error: String,
    /// The request field at fault, where there is one (`node`, `bundle`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip)]
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, error: impl Into<String>) -> Self {
        Self {
            status,
            error: error.into(),
            field: None,
            retry_after: None,
        }
    }

    fn bad(field: &str, error: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_string()),
            ..Self::new(StatusCode::BAD_REQUEST, error)
        }
    }

    fn limit(error: impl Into<String>, retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, error)
        }
    }

    fn not_found(id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("no job {id}"))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::warn!("{e}");
        Self {
            retry_after: Some(1),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(&self)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// A claim job.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// The epoch bundle (`epoch.bin`), base64. Give this or `bundle_digest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
    /// A bundle the service already holds (from `POST /v1/bundles` or an
    /// earlier job): the SHA-256 of its `epoch.bin`, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-fA-F]{64}$")]
    pub bundle_digest: Option<String>,
    /// The node whose receipts the claim covers (0x address; EIP-55
    /// checksummed if mixed case).
    #[schema(pattern = "^0x[0-9a-fA-F]{40}$")]
    pub node: String,
    /// The first leaf of the claim (0 for a node's first claim in the epoch).
    #[serde(default)]
    #[schema(maximum = 4294967295_u64)]
    pub from_index: u64,
    /// The key preset: receipt slots per claim (the depth is the bundle's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 4096)]
    pub slots: Option<usize>,
    /// Or the exact key, by its digest (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_digest: Option<String>,
    /// Higher runs first (-1000 to 1000).
    #[serde(default)]
    #[schema(minimum = -1000, maximum = 1000)]
    pub priority: i64,
    /// Seconds from now after which the job is not worth proving.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 2592000)]
    pub deadline_secs: Option<u64>,
    /// The backend the job needs: `cpu` or `icicle` (default: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(cpu|icicle)$")]
    pub backend: Option<String>,
    /// Where to POST the job's status when it ends (signed; see the docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
}

/// A job accepted.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Submitted {
    pub id: String,
    pub state: JobState,
    /// True when an earlier request with the same idempotency key made it.
    pub existing: bool,
}

/// A bundle stored.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BundleStored {
    pub digest: String,
    pub epoch: u64,
    pub receipts: u64,
    pub depth: usize,
}

/// A succeeded job's proof, in the three forms `proofmint prove claim` writes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobProof {
    /// `claim.proof`, base64.
    pub claim_proof: String,
    /// `proof.json` (snarkjs).
    #[schema(value_type = Object)]
    pub proof: serde_json::Value,
    /// `public.json` (snarkjs).
    #[schema(value_type = Vec<String>)]
    pub public: serde_json::Value,
}

/// A page of jobs, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobPage {
    pub jobs: Vec<Job>,
    /// The offset of the next page, if there may be one.
    pub next_offset: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatusParams {
    /// Seconds to wait for the job to end before answering (long poll; at
    /// most the server's `max_wait_secs`).
    #[param(maximum = 3600)]
    pub wait: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    #[param(pattern = "^(queued|running|succeeded|failed|cancelled|expired)$")]
    pub state: Option<String>,
    /// Only this node's jobs (0x address; EIP-55 checksummed if mixed case).
    #[param(pattern = "^0x[0-9a-fA-F]{40}$")]
    pub node: Option<String>,
    /// At most 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(minimum = 0, maximum = 1000000000)]
    pub offset: Option<i64>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "proofmint prover service", version = "1"),
    paths(submit, status, result, cancel, list, upload_bundle, healthz, readyz),
    components(schemas(
        SubmitRequest,
        Submitted,
        BundleStored,
        JobProof,
        JobPage,
        Job,
        JobState,
        AttemptRecord,
        ApiError
    )),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document as JSON.
pub fn openapi_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .expect("the document serializes")
}

/// The router over `app`.
pub fn router(app: Arc<App>) -> Router {
    let limit = app.config.max_body_bytes;
    Router::new()
        .route("/v1/jobs", post(submit).get(list))
        .route("/v1/jobs/{id}", get(status))
        .route("/v1/jobs/{id}/result", get(result))
        .route("/v1/jobs/{id}/cancel", post(cancel))
        .route("/v1/bundles", post(upload_bundle))
        .route("/v1/openapi.json", get(|| async { openapi_json() }))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such route") })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(app)
}

async fn authenticate(app: &App, headers: &HeaderMap) -> ApiResult<ApiKey> {
    let unauthorized = |why: &str| {
        let mut e = ApiError::new(StatusCode::UNAUTHORIZED, why);
        e.field = Some("Authorization".into());
        e
    };
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("missing Authorization: Bearer TOKEN"))?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
        .ok_or_else(|| unauthorized("Authorization must be Bearer TOKEN"))?;
    app.pool
        .store
        .authenticate(token)
        .await?
        .ok_or_else(|| unauthorized("unknown or revoked token"))
}

/// A job of this key, else 404 (another key's job is not told apart from none).
async fn owned_job(app: &App, key: &ApiKey, id: &str) -> ApiResult<Job> {
    if id.len() > 64 {
        return Err(ApiError::not_found(id));
    }
    match app.pool.store.job(id).await? {
        Some(job) if job.api_key == key.id => Ok(job),
        _ => Err(ApiError::not_found(id)),
    }
}

/// A JSON object body as `T`; errors name the field (`node`, `slots`, ...).
fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(ApiError::bad("body", "expected a JSON object"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "body".into() } else { path };
        ApiError::bad(&field, format!("invalid JSON: {}", e.inner()))
    })
}

/// A bundle's digest as the service names it: SHA-256 of its `epoch.bin`, hex.
pub fn bundle_digest(bytes: &[u8]) -> String {
    digest_hex(bytes)
}

fn digest_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn decode_bundle(bytes: Vec<u8>) -> ApiResult<EpochBundle> {
    EpochBundle::from_bytes(&bytes).map_err(|e| ApiError::bad("bundle", e.to_string()))
}

async fn decode_bundle_blocking(bytes: Vec<u8>) -> ApiResult<EpochBundle> {
    tokio::task::spawn_blocking(move || decode_bundle(bytes))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
}

#[utoipa::path(post, path = "/v1/bundles", tag = "bundles",
    request_body(content = String, content_type = "application/octet-stream",
        description = "epoch.bin, as `proofmint epoch build` writes it"),
    responses((status = 201, body = BundleStored),
        (status = 400, body = ApiError, description = "not an epoch bundle"),
        (status = 401, body = ApiError), (status = 413, body = ApiError),
        (status = 503, body = ApiError)),
    security(("bearer" = [])))]
async fn upload_bundle(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<BundleStored>)> {
    authenticate(&app, &headers).await?;
    let digest = digest_hex(&body);
    let bundle = decode_bundle_blocking(body.to_vec()).await?;
    app.pool.store.put_bundle(&digest, &body).await?;
    Ok((
        StatusCode::CREATED,
        Json(BundleStored {
            digest,
            epoch: bundle.summary.epoch,
            receipts: bundle.summary.count,
            depth: bundle.summary.depth,
        }),
    ))
}

/// Submit a claim job.
#[utoipa::path(post, path = "/v1/jobs", tag = "jobs", request_body = SubmitRequest,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Makes a retried submission return the same job (up to 128 characters)")),
    responses((status = 202, body = Submitted), (status = 400, body = ApiError),
        (status = 401, body = ApiError), (status = 409, body = ApiError),
        (status = 413, body = ApiError), (status = 429, body = ApiError),
        (status = 503, body = ApiError)),
    security(("bearer" = [])))]
async fn submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let key = authenticate(&app, &headers).await?;
    if !app.accepting.load(Ordering::SeqCst) {
        return Err(ApiError {
            retry_after: Some(5),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting down")
        });
    }
    let idempotency_key = match headers.get("idempotency-key") {
        None => None,
        Some(value) => {
            let text = value
                .to_str()
                .ok()
                .filter(|t| !t.is_empty() && t.len() <= 128)
                .ok_or_else(|| {
                    ApiError::bad(
                        "Idempotency-Key",
                        "expected 1 to 128 visible ASCII characters",
                    )
                })?;
            Some(text.to_string())
        }
    };
    let request: SubmitRequest = parse_json(&body)?;
    let job = validate(&app, &key, request, idempotency_key).await?;
    let limits = SubmitLimits {
        max_queued: app.config.max_queue,
        key_in_flight: key.max_in_flight,
        key_per_minute: key.per_minute,
    };
    let (id, existing) = match app.pool.store.submit(job, limits).await? {
        SubmitOutcome::Created(id) => (id, false),
        SubmitOutcome::Existing(id) => (id, true),
        SubmitOutcome::Conflict(id) => {
            return Err(ApiError {
                field: Some("Idempotency-Key".into()),
                ..ApiError::new(
                    StatusCode::CONFLICT,
                    format!("this idempotency key made job {id} from a different request"),
                )
            })
        }
        SubmitOutcome::QueueFull => {
            return Err(ApiError::limit(
                format!("the queue is full ({} jobs)", app.config.max_queue),
                5,
            ))
        }
        SubmitOutcome::KeyInFlight => {
            return Err(ApiError::limit(
                format!(
                    "this key has {} jobs queued or running, its limit",
                    key.max_in_flight
                ),
                5,
            ))
        }
        SubmitOutcome::KeyRate(seconds) => {
            return Err(ApiError::limit(
                format!("this key may submit {} jobs a minute", key.per_minute),
                seconds,
            ))
        }
    };
    if !existing {
        app.pool.wake.notify_one();
    }
    let state = app
        .pool
        .store
        .job(&id)
        .await?
        .map_or(JobState::Queued, |j| j.state);
    let mut response = (
        StatusCode::ACCEPTED,
        Json(Submitted {
            id: id.clone(),
            state,
            existing,
        }),
    )
        .into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/jobs/{id}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Checks a submission against the bundle and the keys, naming the field at
/// fault, and turns it into the store's record.
async fn validate(
    app: &App,
    key: &ApiKey,
    request: SubmitRequest,
    idempotency_key: Option<String>,
) -> ApiResult<NewJob> {
    let node = parse_address(&request.node).map_err(|e| ApiError::bad("node", e.to_string()))?;
    if !(-1000..=1000).contains(&request.priority) {
        return Err(ApiError::bad("priority", "expected -1000 to 1000"));
    }
    if request.from_index > u32::MAX as u64 {
        return Err(ApiError::bad("from_index", "past the largest epoch tree"));
    }
    let deadline_ms = match request.deadline_secs {
        None => None,
        Some(secs) if (1..=30 * 24 * 3600).contains(&secs) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
            Some(now.as_millis() as i64 + secs as i64 * 1000)
        }
        Some(_) => {
            return Err(ApiError::bad(
                "deadline_secs",
                "expected 1 to 2592000 (30 days)",
            ))
        }
    };
    if let Some(backend) = &request.backend {
        if backend != "cpu" && backend != "icicle" {
            return Err(ApiError::bad("backend", "expected cpu or icicle"));
        }
    }
    if let Some(url) = &request.webhook_url {
        if !app.pool.webhooks.enabled() {
            return Err(ApiError::bad(
                "webhook_url",
                "this server has no webhook secret configured",
            ));
        }
        let valid = (url.starts_with("http://") || url.starts_with("https://"))
            && url.len() <= 2048
            && reqwest::Url::parse(url).is_ok();
        if !valid {
            return Err(ApiError::bad("webhook_url", "expected an http(s) URL"));
        }
    }
    let (digest, bundle) = match (&request.bundle, &request.bundle_digest) {
        (Some(encoded), None) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| ApiError::bad("bundle", format!("not base64: {e}")))?;
            let digest = digest_hex(&bytes);
            let bundle = Arc::new(decode_bundle_blocking(bytes.clone()).await?);
            app.pool.store.put_bundle(&digest, &bytes).await?;
            (digest, bundle)
        }
        (None, Some(digest)) => {
            let valid = digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit());
            if !valid {
                return Err(ApiError::bad("bundle_digest", "expected 64 hex digits"));
            }
            let digest = digest.to_ascii_lowercase();
            let cached = app.last_bundle.lock().expect("bundle cache").clone();
            match cached {
                // Many nodes' claims name one epoch: decoded once.
                Some((held, bundle)) if held == digest => (digest, bundle),
                _ => {
                    let bytes = app.pool.store.get_bundle(&digest).await?.ok_or_else(|| {
                        ApiError::bad("bundle_digest", "the service holds no such bundle")
                    })?;
                    let bundle = Arc::new(decode_bundle_blocking(bytes).await?);
                    *app.last_bundle.lock().expect("bundle cache") =
                        Some((digest.clone(), bundle.clone()));
                    (digest, bundle)
                }
            }
        }
        _ => {
            return Err(ApiError::bad(
                "bundle",
                "give exactly one of bundle and bundle_digest",
            ))
        }
    };
    let depth = bundle.summary.depth;
    let keys = &app.pool.keys;
    let chosen = match (&request.key_digest, request.slots) {
        (Some(digest), _) => keys.by_digest(digest).ok_or_else(|| {
            ApiError::bad(
                "key_digest",
                format!("no such key here; loaded: {}", keys.describe()),
            )
        })?,
        (None, Some(slots)) => keys.by_shape(slots, depth).ok_or_else(|| {
            ApiError::bad(
                "slots",
                format!(
                    "no key for {slots} slots at depth {depth}; loaded: {}",
                    keys.describe()
                ),
            )
        })?,
        (None, None) => {
            let mut fitting = keys.iter().filter(|k| k.shape().depth == depth);
            match (fitting.next(), fitting.next()) {
                (Some(only), None) => only,
                _ => {
                    return Err(ApiError::bad(
                        "slots",
                        format!(
                            "give slots or key_digest (depth {depth}); loaded: {}",
                            keys.describe()
                        ),
                    ))
                }
            }
        }
    };
    if chosen.shape().depth != depth {
        return Err(ApiError::bad(
            "key_digest",
            format!(
                "the key is for depth {}, the bundle's tree has depth {depth}",
                chosen.shape().depth
            ),
        ));
    }
    let has_receipts = bundle
        .receipts
        .iter()
        .skip(request.from_index as usize)
        .any(|r| r.receipt.node == node && r.receipt.epoch == bundle.summary.epoch);
    if !has_receipts {
        return Err(ApiError::bad(
            "node",
            format!(
                "node {node} has no receipts in epoch {} from leaf {}",
                bundle.summary.epoch, request.from_index
            ),
        ));
    }
    // The request as the store compares it: the bundle by digest, so that
    // a retry that sends the bundle inline and one that names it agree.
    let canonical = serde_json::json!({
        "bundle_digest": digest,
        "node": node.to_string(),
        "from_index": request.from_index,
        "key_digest": chosen.digest,
        "priority": request.priority,
        "deadline_secs": request.deadline_secs,
        "backend": request.backend,
        "webhook_url": request.webhook_url,
    });
    Ok(NewJob {
        api_key: key.id.clone(),
        idempotency_key,
        request_digest: digest_hex(canonical.to_string().as_bytes()),
        priority: request.priority,
        deadline_ms,
        bundle_digest: digest,
        node: node.to_string(),
        from_index: request.from_index as i64,
        slots: chosen.shape().slots as i64,
        depth: depth as i64,
        key_digest: chosen.digest.clone(),
        backend: request.backend,
        max_attempts: app.config.max_attempts,
        webhook_url: request.webhook_url,
    })
}

/// A job's state; `?wait=N` holds the answer up to N seconds until it ends.
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "jobs", params(("id" = String, Path), StatusParams),
    responses((status = 200, body = Job), (status = 400, body = ApiError), (status = 401, body = ApiError),
        (status = 404, body = ApiError), (status = 503, body = ApiError)),
    security(("bearer" = [])))]
async fn status(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    params: Result<Query<StatusParams>, QueryRejection>,
) -> ApiResult<Json<Job>> {
    let key = authenticate(&app, &headers).await?;
    let Path(id) = id.map_err(|e| ApiError::bad("id", e.body_text()))?;
    let Query(params) = params.map_err(|e| ApiError::bad("query", e.body_text()))?;
    let wait = params.wait.unwrap_or(0);
    if wait > 3600 {
        return Err(ApiError::bad("wait", "expected 0 to 3600 seconds"));
    }
    let wait = Duration::from_secs(wait.min(app.config.max_wait_secs));
    let start = Instant::now();
    loop {
        // Registered before the look, so an ending in between still wakes it.
        let ended = app.pool.ended.notified();
        let job = owned_job(&app, &key, &id).await?;
        if job.state.is_terminal() || start.elapsed() >= wait {
            return Ok(Json(job));
        }
        // A job proven by another server sharing the store is seen at the
        // next look.
        let left = wait.saturating_sub(start.elapsed());
        tokio::select! {
            _ = ended => {}
            _ = tokio::time::sleep(left.min(Duration::from_millis(250))) => {}
        }
    }
}

/// A succeeded job's proof.
#[utoipa::path(get, path = "/v1/jobs/{id}/result", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, body = JobProof), (status = 400, body = ApiError),
        (status = 401, body = ApiError), (status = 404, body = ApiError),
        (status = 409, body = ApiError, description = "the job has not succeeded"),
        (status = 503, body = ApiError)),
    security(("bearer" = [])))]
async fn result(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<JobProof>> {
    let key = authenticate(&app, &headers).await?;
    let Path(id) = id.map_err(|e| ApiError::bad("id", e.body_text()))?;
    let job = owned_job(&app, &key, &id).await?;
    if job.state != JobState::Succeeded {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("job {id} is {}: no proof", job.state.as_str()),
        ));
    }
    let bytes = app
        .pool
        .store
        .proof(&id)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::CONFLICT, "the proof was pruned"))?;
    let claim = proofmint_verifier::ClaimProof::from_bytes(&bytes)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(JobProof {
        claim_proof: base64::engine::general_purpose::STANDARD.encode(&bytes),
        proof: proofmint_verifier::snarkjs::proof_json(&claim.proof),
        public: proofmint_verifier::snarkjs::public_json(&claim.public),
    }))
}

/// Cancels a job: a queued one at once, a running one at its proof's next step.
#[utoipa::path(post, path = "/v1/jobs/{id}/cancel", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, body = Job), (status = 400, body = ApiError),
        (status = 401, body = ApiError), (status = 404, body = ApiError),
        (status = 409, body = ApiError, description = "the job had already ended"),
        (status = 503, body = ApiError)),
    security(("bearer" = [])))]
async fn cancel(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<Job>> {
    let key = authenticate(&app, &headers).await?;
    let Path(id) = id.map_err(|e| ApiError::bad("id", e.body_text()))?;
    let job = owned_job(&app, &key, &id).await?;
    if job.state.is_terminal() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("job {id} already ended: {}", job.state.as_str()),
        ));
    }
    let job = app
        .pool
        .store
        .cancel(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(&id))?;
    if job.state == JobState::Cancelled {
        app.pool
            .job_ended(&job.id, job.state, job.webhook_url.as_deref());
    }
    Ok(Json(job))
}

/// This key's jobs, newest first.
#[utoipa::path(get, path = "/v1/jobs", tag = "jobs", params(ListParams),
    responses((status = 200, body = JobPage), (status = 400, body = ApiError),
        (status = 401, body = ApiError), (status = 503, body = ApiError)),
    security(("bearer" = [])))]
async fn list(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    params: Result<Query<ListParams>, QueryRejection>,
) -> ApiResult<Json<JobPage>> {
    let key = authenticate(&app, &headers).await?;
    let Query(params) = params.map_err(|e| ApiError::bad("query", e.body_text()))?;
    let state = match &params.state {
        None => None,
        Some(text) => Some(JobState::parse(text).ok_or_else(|| {
            ApiError::bad(
                "state",
                "expected queued, running, succeeded, failed, cancelled or expired",
            )
        })?),
    };
    let node = match &params.node {
        None => None,
        Some(text) => Some(
            parse_address(text)
                .map_err(|e| ApiError::bad("node", e.to_string()))?
                .to_string(),
        ),
    };
    let limit = params.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad("limit", "expected 1 to 100"));
    }
    let offset = params.offset.unwrap_or(0);
    if !(0..=1_000_000_000).contains(&offset) {
        return Err(ApiError::bad("offset", "expected 0 or more"));
    }
    let filter = JobFilter {
        api_key: Some(key.id.clone()),
        state,
        node,
        limit,
        offset,
    };
    let jobs = app.pool.store.list(&filter).await?;
    let next_offset = (jobs.len() as i64 == limit).then_some(offset + limit);
    Ok(Json(JobPage { jobs, next_offset }))
}

#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "the process answers")))]
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// Ready: keys loaded and the store reachable.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, description = "ready"), (status = 503, body = ApiError)))]
async fn readyz(State(app): State<Arc<App>>) -> ApiResult<Json<serde_json::Value>> {
    if app.pool.keys.is_empty() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no keys loaded",
        ));
    }
    app.pool.store.ping().await?;
    Ok(Json(serde_json::json!({
        "status": "ready",
        "store": app.pool.store.kind(),
        "backend": app.pool.backend.name(),
        "keys": app.pool.keys.iter().map(|k| serde_json::json!({
            "preset": k.preset(), "digest": k.digest, "slots": k.shape().slots, "depth": k.shape().depth,
        })).collect::<Vec<_>>(),
    })))
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let counts = match app.pool.store.counts().await {
        Ok(counts) => counts,
        Err(e) => return ApiError::from(e).into_response(),
    };
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.pool.metrics.render(&counts),
    )
        .into_response()
}
