//! Signed webhooks: when a job that named a webhook ends, its status (the
//! same JSON as `GET /v1/jobs/{id}`) is POSTed there with
//! `X-Proofmint-Signature: sha256=<hex HMAC-SHA256(secret, body)>`, so the
//! receiver can tell the service's calls from anyone else's. Delivery is
//! tried three times (1 s and 4 s apart); a receiver that missed it polls.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::store::JobStore;

pub const SIGNATURE_HEADER: &str = "x-proofmint-signature";

/// `sha256=<hex>` of `body` under `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a signature header in constant time.
pub fn verify(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex_mac) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_mac) else {
        return false;
    };
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

#[derive(Clone)]
pub struct Webhooks {
    secret: Option<String>,
    client: reqwest::Client,
}

impl Webhooks {
    pub fn new(secret: Option<String>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("a plain HTTP client builds");
        Self { secret, client }
    }

    pub fn enabled(&self) -> bool {
        self.secret.is_some()
    }

    /// Sends the job's status to `url` in the background.
    pub fn notify(&self, store: &Arc<dyn JobStore>, url: String, job_id: String) {
        let Some(secret) = self.secret.clone() else {
            return;
        };
        let client = self.client.clone();
        let store = store.clone();
        tokio::spawn(async move {
            let job = match store.job(&job_id).await {
                Ok(Some(job)) => job,
                _ => return,
            };
            let body = serde_json::to_vec(&job).expect("a job serializes");
            let signature = sign(&secret, &body);
            for wait in [0u64, 1, 4] {
                tokio::time::sleep(Duration::from_secs(wait)).await;
                let sent = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header(SIGNATURE_HEADER, &signature)
                    .body(body.clone())
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status().is_success() => return,
                    Ok(response) => {
                        tracing::warn!(job = %job_id, "webhook {url}: {}", response.status())
                    }
                    Err(e) => tracing::warn!(job = %job_id, "webhook {url}: {e}"),
                }
            }
        });
    }
}
