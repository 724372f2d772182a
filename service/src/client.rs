//! A client of the service's API, as `proofmint client` uses it.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use base64::Engine;
use proofmint_verifier::ClaimProof;
use reqwest::StatusCode;

use crate::api::{BundleStored, JobPage, JobProof, SubmitRequest, Submitted};
use crate::store::Job;

/// An error answer of the service: its status, the field at fault, the message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status}: {}{error}", field.as_deref().map(|f| format!("{f}: ")).unwrap_or_default())]
pub struct ApiFailure {
    pub status: StatusCode,
    pub field: Option<String>,
    pub error: String,
}

/// A server and the token to call it with.
#[derive(Clone)]
pub struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(server: &str, token: &str) -> Result<Self> {
        let base = server.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            bail!("--server {server}: expected http://HOST:PORT");
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .build()?;
        Ok(Self {
            base,
            token: token.to_string(),
            http,
        })
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<T> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("{what}: cannot reach {}", self.base))?;
        let status = response.status();
        let body = response.bytes().await?;
        if !status.is_success() {
            let answer = serde_json::from_slice::<serde_json::Value>(&body).ok();
            let text = |name: &str| {
                answer
                    .as_ref()
                    .and_then(|v| v.get(name)?.as_str().map(str::to_string))
            };
            let failure = ApiFailure {
                status,
                field: text("field"),
                error: text("error").unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned()),
            };
            return Err(anyhow::Error::new(failure).context(what.to_string()));
        }
        serde_json::from_slice(&body).with_context(|| format!("{what}: unexpected answer"))
    }

    /// Uploads an `epoch.bin`; returns its digest.
    pub async fn upload_bundle(&self, bytes: Vec<u8>) -> Result<BundleStored> {
        let request = self
            .http
            .post(format!("{}/v1/bundles", self.base))
            .header("content-type", "application/octet-stream")
            .body(bytes);
        self.call(request, "upload bundle").await
    }

    /// Submits a claim over the bundle `epoch_bin`: by digest, uploading the
    /// bundle only if the service does not hold it yet.
    pub async fn submit_bundle(
        &self,
        epoch_bin: Vec<u8>,
        mut job: SubmitRequest,
        idempotency_key: Option<&str>,
    ) -> Result<Submitted> {
        job.bundle = None;
        job.bundle_digest = Some(crate::api::bundle_digest(&epoch_bin));
        match self.submit(&job, idempotency_key).await {
            Err(e)
                if e.downcast_ref::<ApiFailure>().is_some_and(|f| {
                    f.status == StatusCode::BAD_REQUEST
                        && f.field.as_deref() == Some("bundle_digest")
                }) =>
            {
                self.upload_bundle(epoch_bin).await?;
                self.submit(&job, idempotency_key).await
            }
            other => other,
        }
    }

    /// Submits a job, with an idempotency key if given.
    pub async fn submit(
        &self,
        job: &SubmitRequest,
        idempotency_key: Option<&str>,
    ) -> Result<Submitted> {
        let mut request = self.http.post(format!("{}/v1/jobs", self.base)).json(job);
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        self.call(request, "submit").await
    }

    /// A job's state; waits up to `wait` for it to end.
    pub async fn status(&self, id: &str, wait: Duration) -> Result<Job> {
        let request = self
            .http
            .get(format!("{}/v1/jobs/{id}", self.base))
            .query(&[("wait", wait.as_secs())]);
        self.call(request, "status").await
    }

    /// Waits until the job ends (long polls of up to 30 s) or `timeout` passes.
    pub async fn wait(&self, id: &str, timeout: Duration) -> Result<Job> {
        let start = Instant::now();
        loop {
            let left = timeout.saturating_sub(start.elapsed());
            let job = self.status(id, left.min(Duration::from_secs(30))).await?;
            if job.state.is_terminal() {
                return Ok(job);
            }
            if left.is_zero() {
                bail!(
                    "job {id} is still {} after {:?}",
                    job.state.as_str(),
                    timeout
                );
            }
        }
    }

    /// A succeeded job's proof.
    pub async fn result(&self, id: &str) -> Result<ClaimProof> {
        let request = self.http.get(format!("{}/v1/jobs/{id}/result", self.base));
        let proof: JobProof = self.call(request, "result").await?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&proof.claim_proof)
            .context("result: claim_proof is not base64")?;
        ClaimProof::from_bytes(&bytes).context("result: claim_proof")
    }

    pub async fn cancel(&self, id: &str) -> Result<Job> {
        let request = self.http.post(format!("{}/v1/jobs/{id}/cancel", self.base));
        self.call(request, "cancel").await
    }

    pub async fn list(&self, state: Option<&str>, limit: i64, offset: i64) -> Result<JobPage> {
        let mut query = vec![("limit", limit.to_string()), ("offset", offset.to_string())];
        if let Some(state) = state {
            query.push(("state", state.to_string()));
        }
        let request = self
            .http
            .get(format!("{}/v1/jobs", self.base))
            .query(&query);
        self.call(request, "list").await
    }

    /// GET a path and return the status and body (health, metrics).
    pub async fn raw(&self, path: &str) -> Result<(StatusCode, String)> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        Ok((response.status(), response.text().await?))
    }
}
