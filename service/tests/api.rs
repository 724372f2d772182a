//! The HTTP API in process, over a real socket: proofs through the API,
//! every kind of bad request with its status and named field, cancel of a
//! running proof, graceful hand-back, memory-aware admission, signed
//! webhooks, and a fuzz test over the handlers.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use base64::Engine;
use proofmint_gpu::{Backend, BackendError, CpuBackend, NttDirection};
use proofmint_service::api::{router, SubmitRequest};
use proofmint_service::client::Client;
use proofmint_service::{JobState, JobStore, KeySet, ServeConfig, Service};
use proofmint_verifier::verify::ClaimVerifier;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The CPU backend, slowed down per operation: a proof long enough to act on.
struct Slow {
    delay: Duration,
    ops: AtomicUsize,
}

impl Slow {
    fn new(ms: u64) -> Arc<Self> {
        Arc::new(Self {
            delay: Duration::from_millis(ms),
            ops: AtomicUsize::new(0),
        })
    }

    fn wait(&self) {
        self.ops.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.delay);
    }
}

impl Backend for Slow {
    fn name(&self) -> &str {
        "cpu"
    }
    fn msm_g1(&self, b: &[G1Affine], s: &[Fr]) -> Result<G1Projective, BackendError> {
        self.wait();
        CpuBackend::new().msm_g1(b, s)
    }
    fn msm_g2(&self, b: &[G2Affine], s: &[Fr]) -> Result<G2Projective, BackendError> {
        self.wait();
        CpuBackend::new().msm_g2(b, s)
    }
    fn ntt(&self, v: &mut [Fr], d: NttDirection) -> Result<(), BackendError> {
        self.wait();
        CpuBackend::new().ntt(v, d)
    }
    fn coset_ntt(&self, v: &mut [Fr], o: Fr, d: NttDirection) -> Result<(), BackendError> {
        self.wait();
        CpuBackend::new().coset_ntt(v, o, d)
    }
}

struct Running {
    base: String,
    token: String,
    store: Arc<dyn JobStore>,
    service: Option<Service>,
    background: Vec<tokio::task::JoinHandle<()>>,
    http: reqwest::Client,
    _dir: Option<tempfile::TempDir>,
}

fn config(tweak: impl FnOnce(&mut ServeConfig)) -> ServeConfig {
    let mut config = ServeConfig {
        lease_secs: 3,
        poll_ms: 50,
        backend: "cpu".into(),
        ..ServeConfig::default()
    };
    tweak(&mut config);
    config
}

async fn start_on(
    store: Arc<dyn JobStore>,
    config: ServeConfig,
    backend: Arc<dyn Backend>,
    dir: Option<tempfile::TempDir>,
) -> Running {
    let mut keys = KeySet::default();
    keys.add(common::key().clone(), std::path::Path::new("test-keys"))
        .unwrap();
    let service = Service::with_backend(config, store.clone(), keys, backend).unwrap();
    let background = service.start_background();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = router(service.app.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let (_, token) = store.create_api_key("tests", 64, 1000).await.unwrap();
    Running {
        base,
        token,
        store,
        service: Some(service),
        background,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

async fn start(tweak: impl FnOnce(&mut ServeConfig), backend: Arc<dyn Backend>) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let store = common::sqlite(dir.path()).await;
    start_on(store, config(tweak), backend, Some(dir)).await
}

impl Running {
    fn client(&self) -> Client {
        Client::new(&self.base, &self.token).unwrap()
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        token: Option<&str>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, headers, value)
    }

    async fn post_job(&self, body: &Value) -> (StatusCode, Value) {
        let (status, _, value) = self
            .call(
                "POST",
                "/v1/jobs",
                Some(body.to_string().into_bytes()),
                Some(&self.token),
            )
            .await;
        (status, value)
    }

    async fn wait_for(
        &self,
        id: &str,
        what: impl Fn(&proofmint_service::store::Job) -> bool,
    ) -> proofmint_service::store::Job {
        for _ in 0..600 {
            let job = self.store.job(id).await.unwrap().unwrap();
            if what(&job) {
                return job;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "job {id} never got there: {:?}",
            self.store.job(id).await.unwrap()
        );
    }

    async fn stop(&mut self) {
        if let Some(service) = self.service.take() {
            service.shut_down();
        }
        for task in self.background.drain(..) {
            task.await.unwrap();
        }
    }
}

fn bundle_b64() -> String {
    let (bundle, _) = common::epoch();
    base64::engine::general_purpose::STANDARD.encode(bundle.to_bytes())
}

fn node() -> String {
    common::epoch().1.to_string()
}

fn submit_body() -> Value {
    json!({"bundle": bundle_b64(), "node": node(), "slots": 4})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_are_proven_through_the_api() {
    let mut server = start(|_| {}, Arc::new(CpuBackend::new())).await;
    let client = server.client();
    // An idempotent retry gets the same job.
    let request: SubmitRequest = serde_json::from_value(submit_body()).unwrap();
    let first = client.submit(&request, Some("claim-1")).await.unwrap();
    let again = client.submit(&request, Some("claim-1")).await.unwrap();
    assert_eq!(first.id, again.id);
    assert!(!first.existing && again.existing);
    // The same key with another request is a conflict.
    let mut other = request.clone();
    other.from_index = 3;
    let conflict = client.submit(&other, Some("claim-1")).await.unwrap_err();
    let failure = conflict
        .downcast_ref::<proofmint_service::client::ApiFailure>()
        .unwrap();
    assert_eq!(failure.status, StatusCode::CONFLICT, "{conflict:#}");
    assert_eq!(failure.field.as_deref(), Some("Idempotency-Key"));

    let job = client
        .wait(&first.id, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(job.state, JobState::Succeeded, "{job:?}");
    assert_eq!((job.attempts, job.lost_leases), (1, 0));
    assert_eq!(job.ran_on.as_deref(), Some("cpu"));
    assert!(job.timings.as_ref().unwrap()["prove_and_verify_ms"].is_u64());
    let claim = client.result(&first.id).await.unwrap();
    let key = common::key();
    ClaimVerifier::new(key.key.clone()).verify(&claim).unwrap();
    // And by ark-groth16's own verifier, on the same proof.
    let pvk = ark_groth16::prepare_verifying_key(&key.key.vk);
    assert!(ark_groth16::Groth16::<ark_bn254::Bn254>::verify_proof(
        &pvk,
        &claim.proof,
        &claim.public.to_inputs()
    )
    .unwrap());
    let (bundle, node) = common::epoch();
    assert_eq!(
        claim.public.node,
        proofmint_circuits::field::address_to_fr(&node)
    );
    assert_eq!(claim.public.root, bundle.summary.root);

    // The bundle is now held: a second claim names it by digest.
    let second = server
        .post_job(
            &json!({"bundle_digest": job.bundle_digest, "node": node.to_string(),
            "from_index": claim.public.last_index.to_string().parse::<u64>().unwrap() + 1}),
        )
        .await;
    assert_eq!(second.0, StatusCode::ACCEPTED, "{second:?}");
    let id = second.1["id"].as_str().unwrap();
    let (status, _, body) = server
        .call(
            "GET",
            &format!("/v1/jobs/{id}?wait=30"),
            None,
            Some(&server.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["state"], "succeeded", "{body}");

    let page = client.list(Some("succeeded"), 10, 0).await.unwrap();
    assert_eq!(page.jobs.len(), 2);
    let (_, metrics) = client.raw("/metrics").await.unwrap();
    assert!(
        metrics.contains("proofmint_jobs_finished_total{outcome=\"succeeded\"} 2"),
        "{metrics}"
    );
    assert!(metrics
        .contains("proofmint_proving_seconds_count{preset=\"slots4-depth8\",backend=\"cpu\"} 2"));
    assert!(metrics.contains("proofmint_jobs{state=\"succeeded\"} 2"));
    let (status, ready) = client.raw("/readyz").await.unwrap();
    assert_eq!(status, StatusCode::OK, "{ready}");
    let (_, openapi) = client.raw("/v1/openapi.json").await.unwrap();
    let openapi: Value = serde_json::from_str(&openapi).unwrap();
    for path in [
        "/v1/jobs",
        "/v1/jobs/{id}",
        "/v1/jobs/{id}/result",
        "/v1/jobs/{id}/cancel",
        "/v1/bundles",
    ] {
        assert!(
            openapi["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(openapi["components"]["schemas"]["SubmitRequest"].is_object());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_their_status_and_the_field_at_fault() {
    // No workers take jobs here (memory budget 0), so they stay queued.
    let server = start(
        |c| {
            c.memory_budget_mib = Some(0);
            c.max_queue = 3;
            c.max_body_bytes = 64 << 10;
        },
        Arc::new(CpuBackend::new()),
    )
    .await;
    let token = server.token.clone();

    // Authentication.
    let body = Some(submit_body().to_string().into_bytes());
    let (status, _, e) = server.call("POST", "/v1/jobs", body.clone(), None).await;
    assert_eq!(
        (status, e["field"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("Authorization"))
    );
    let (status, _, _) = server
        .call("POST", "/v1/jobs", body.clone(), Some("pm_forged"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (revoked, revoked_token) = server.store.create_api_key("gone", 5, 5).await.unwrap();
    server.store.revoke_api_key(&revoked.id).await.unwrap();
    let (status, _, _) = server
        .call("GET", "/v1/jobs", None, Some(&revoked_token))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Malformed requests: 400 naming the field.
    let cases: Vec<(Value, &str)> = vec![
        (json!({"bundle": bundle_b64(), "node": 7}), "node"),
        (json!({"bundle": bundle_b64(), "node": "0x12"}), "node"),
        (json!({"bundle": bundle_b64()}), "body"),
        (
            json!({"bundle": bundle_b64(), "node": node(), "colour": "red"}),
            "colour",
        ),
        (json!({"bundle": "!!!", "node": node()}), "bundle"),
        (json!({"bundle": "AAAA", "node": node()}), "bundle"),
        (json!({"node": node()}), "bundle"),
        (
            json!({"bundle": bundle_b64(), "bundle_digest": "00".repeat(32), "node": node()}),
            "bundle",
        ),
        (
            json!({"bundle_digest": "00".repeat(32), "node": node()}),
            "bundle_digest",
        ),
        (
            json!({"bundle_digest": "xyz", "node": node()}),
            "bundle_digest",
        ),
        (
            json!({"bundle": bundle_b64(), "node": node(), "slots": 16}),
            "slots",
        ),
        (
            json!({"bundle": bundle_b64(), "node": node(), "key_digest": "0xabc"}),
            "key_digest",
        ),
        (
            json!({"bundle": bundle_b64(), "node": "0x00000000000000000000000000000000000000aa"}),
            "node",
        ),
        (
            json!({"bundle": bundle_b64(), "node": node(), "from_index": 999}),
            "node",
        ),
        (
            json!({"bundle": bundle_b64(), "node": node(), "priority": 5000}),
            "priority",
        ),
        (
            json!({"bundle": bundle_b64(), "node": node(), "deadline_secs": 0}),
            "deadline_secs",
        ),
        (
            json!({"bundle": bundle_b64(), "node": node(), "backend": "fpga"}),
            "backend",
        ),
        (
            json!({"bundle": bundle_b64(), "node": node(), "webhook_url": "http://x"}),
            "webhook_url",
        ),
        (
            json!({"bundle": bundle_b64(), "node": node(), "from_index": -1}),
            "from_index",
        ),
        (json!([1, 2]), "body"),
    ];
    for (body, field) in cases {
        let (status, e) = server.post_job(&body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {e}");
        assert_eq!(e["field"].as_str(), Some(field), "{body}: {e}");
        assert!(e["error"].is_string());
    }
    let (status, _, e) = server
        .call(
            "POST",
            "/v1/jobs",
            Some(b"{\"node\": ".to_vec()),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    let (status, _, _) = server
        .call("POST", "/v1/jobs", Some(vec![b' '; 65 << 10]), Some(&token))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _, e) = server
        .call("GET", "/v1/jobs?limit=1000", None, Some(&token))
        .await;
    assert_eq!(
        (status, e["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("limit"))
    );
    let (status, _, e) = server
        .call("GET", "/v1/jobs?state=lost", None, Some(&token))
        .await;
    assert_eq!(
        (status, e["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("state"))
    );
    let (status, _, _) = server
        .call("GET", "/v1/jobs?wait=abc&x=1", None, Some(&token))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Jobs: 404 for none and for another key's; 409 for a result not there.
    let (status, job) = server.post_job(&submit_body()).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let id = job["id"].as_str().unwrap().to_string();
    let (status, _, _) = server
        .call("GET", "/v1/jobs/job_nothing", None, Some(&token))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, stranger) = server.store.create_api_key("stranger", 5, 5).await.unwrap();
    for (method, path) in [
        ("GET", format!("/v1/jobs/{id}")),
        ("GET", format!("/v1/jobs/{id}/result")),
        ("POST", format!("/v1/jobs/{id}/cancel")),
    ] {
        let (status, _, _) = server.call(method, &path, None, Some(&stranger)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
    }
    let (status, _, e) = server
        .call("GET", &format!("/v1/jobs/{id}/result"), None, Some(&token))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{e}");

    // The queue holds 3: the fourth submission gets 429 with Retry-After.
    server.post_job(&submit_body()).await;
    server.post_job(&submit_body()).await;
    let (status, headers, e) = server
        .call(
            "POST",
            "/v1/jobs",
            Some(submit_body().to_string().into_bytes()),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{e}");
    assert!(headers.get("retry-after").is_some());
    // A cancelled job leaves room; cancelling it again is a conflict.
    let (status, _, cancelled) = server
        .call("POST", &format!("/v1/jobs/{id}/cancel"), None, Some(&token))
        .await;
    assert_eq!(
        (status, cancelled["state"].as_str()),
        (StatusCode::OK, Some("cancelled"))
    );
    let (status, _, _) = server
        .call("POST", &format!("/v1/jobs/{id}/cancel"), None, Some(&token))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        server.post_job(&submit_body()).await.0,
        StatusCode::ACCEPTED
    );

    // A key's own limits.
    let (_, small) = server.store.create_api_key("small", 1, 100).await.unwrap();
    let (status, _, _) = server
        .call(
            "POST",
            "/v1/jobs",
            Some(submit_body().to_string().into_bytes()),
            Some(&small),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

/// Memory-aware admission: a worker whose budget is below the preset's
/// needs takes no job of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_takes_no_job_that_would_not_fit() {
    let server = start(
        |c| c.memory_budget_mib = Some(0),
        Arc::new(CpuBackend::new()),
    )
    .await;
    let (status, job) = server.post_job(&submit_body()).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let job = server
        .store
        .job(job["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Queued, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_a_running_proof_at_its_next_step() {
    let slow = Slow::new(250);
    let mut server = start(|_| {}, slow.clone()).await;
    let (_, job) = server.post_job(&submit_body()).await;
    let id = job["id"].as_str().unwrap().to_string();
    server
        .wait_for(&id, |j| {
            j.step.as_deref().is_some_and(|s| s.starts_with("proving"))
        })
        .await;
    let (status, _, body) = server
        .call(
            "POST",
            &format!("/v1/jobs/{id}/cancel"),
            None,
            Some(&server.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["cancel_requested"], true);
    let job = server.wait_for(&id, |j| j.state.is_terminal()).await;
    assert_eq!(job.state, JobState::Cancelled, "{job:?}");
    let ops = slow.ops.load(Ordering::SeqCst);
    // A whole proof is 12 operations (7 NTTs, 5 MSMs): it stopped early.
    assert!(ops < 12, "{ops} operations ran");
    assert!(
        job.error
            .as_deref()
            .unwrap()
            .contains("stopped at: proving"),
        "{job:?}"
    );
    assert!(server.store.proof(&id).await.unwrap().is_none());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_hands_running_jobs_back_and_a_restart_finishes_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::sqlite(dir.path()).await;
    let mut first = start_on(
        store.clone(),
        config(|c| c.shutdown_grace_secs = 0),
        Slow::new(250),
        None,
    )
    .await;
    let (_, job) = first.post_job(&submit_body()).await;
    let id = job["id"].as_str().unwrap().to_string();
    first
        .wait_for(&id, |j| {
            j.step.as_deref().is_some_and(|s| s.starts_with("proving"))
        })
        .await;
    first.stop().await;
    let job = store.job(&id).await.unwrap().unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Queued, 0), "{job:?}");
    assert!(job.attempt_log[0].reason.contains("handed back"));
    // A submission while shutting down is refused with 503.
    let (status, _) = first.post_job(&submit_body()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    let mut second = start_on(
        store.clone(),
        config(|_| {}),
        Arc::new(CpuBackend::new()),
        None,
    )
    .await;
    let job = second.wait_for(&id, |j| j.state.is_terminal()).await;
    assert_eq!((job.state, job.attempts), (JobState::Succeeded, 1));
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed() {
    type Calls = Arc<Mutex<Vec<(String, Vec<u8>)>>>;
    let received: Calls = Arc::default();
    let sink = received.clone();
    let hook = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let sink = sink.clone();
                async move {
                    let signature = headers
                        .get(proofmint_service::webhook::SIGNATURE_HEADER)
                        .map(|v| v.to_str().unwrap().to_string())
                        .unwrap_or_default();
                    sink.lock().unwrap().push((signature, body.to_vec()));
                    "ok"
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, hook).await });

    let server = start(
        |c| c.webhook_secret = Some("s3cret".into()),
        Arc::new(CpuBackend::new()),
    )
    .await;
    let mut body = submit_body();
    body["webhook_url"] = json!(hook_url);
    let (status, job) = server.post_job(&body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().unwrap();
    for _ in 0..300 {
        if !received.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let calls = received.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    let (signature, body) = &calls[0];
    assert!(proofmint_service::webhook::verify(
        "s3cret", body, signature
    ));
    assert!(!proofmint_service::webhook::verify(
        "other", body, signature
    ));
    let status: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(
        (status["id"].as_str(), status["state"].as_str()),
        (Some(id), Some("succeeded"))
    );
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn field_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            ".{0,80}".prop_map(Value::from),
            Just(json!("0x0000000000000000000000000000000000000001")),
            Just(json!({"nested": [1, {"a": null}]})),
            Just(json!([[]])),
        ]
    }

    fn body() -> impl Strategy<Value = Vec<u8>> {
        let fields = [
            "bundle",
            "bundle_digest",
            "node",
            "from_index",
            "slots",
            "key_digest",
            "priority",
            "deadline_secs",
            "backend",
            "webhook_url",
            "x",
        ];
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300),
            proptest::collection::vec(
                (proptest::sample::select(fields.to_vec()), field_value()),
                0..6
            )
            .prop_map(|pairs| {
                let mut body = json!({"bundle": bundle_b64(), "node": node()});
                for (k, v) in pairs {
                    body[k] = v;
                }
                body.to_string().into_bytes()
            }),
        ]
    }

    fn path() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("/v1/jobs".to_string()),
            Just("/v1/bundles".to_string()),
            "[a-z0-9_.]{0,20}".prop_map(|id| format!("/v1/jobs/{id}")),
            "[a-z0-9_]{0,20}".prop_map(|id| format!("/v1/jobs/{id}/result")),
            "[a-z0-9_]{0,20}".prop_map(|id| format!("/v1/jobs/{id}/cancel")),
            "[a-z=&0-9]{0,30}".prop_map(|q| format!("/v1/jobs?{q}")),
            "[a-z=&0-9]{0,30}".prop_map(|q| format!("/v1/jobs/job_x?{q}")),
            "/[a-z/]{0,20}".prop_map(|p| p),
        ]
    }

    /// No request makes a handler panic or answer 500.
    #[test]
    fn handlers_never_panic() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime.block_on(start(
            |c| c.memory_budget_mib = Some(0),
            Arc::new(CpuBackend::new()),
        ));
        let methods = ["GET", "POST", "PUT", "DELETE", "PATCH"];
        let mut config = ProptestConfig::with_cases(300);
        config.failure_persistence = None;
        proptest!(config, |(method in proptest::sample::select(methods.to_vec()), path in path(),
                            body in body(), authorized in any::<bool>())| {
            let token = authorized.then_some(server.token.as_str());
            let (status, _, answer) = runtime.block_on(server.call(method, &path, Some(body), token));
            prop_assert!(!status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE,
                "{method} {path}: {status} {answer}");
        });
        // Still healthy afterwards.
        let (status, _, _) = runtime.block_on(server.call("GET", "/healthz", None, None));
        assert_eq!(status, StatusCode::OK);
    }
}

/// The OpenAPI document describes the router as it is: every route with its
/// method, query parameters in the query (optional), and the bounds the
/// handlers enforce (a contract schemathesis checked against the server).
#[test]
fn the_openapi_document_matches_the_routes() {
    let doc: Value = serde_json::from_str(&proofmint_service::api::openapi_json()).unwrap();
    let routes = [
        ("/v1/jobs", "post"),
        ("/v1/jobs", "get"),
        ("/v1/jobs/{id}", "get"),
        ("/v1/jobs/{id}/result", "get"),
        ("/v1/jobs/{id}/cancel", "post"),
        ("/v1/bundles", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    ];
    for (path, method) in routes {
        let operation = &doc["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is not documented");
        if path.starts_with("/v1/") {
            assert!(
                operation["security"].is_array(),
                "{method} {path}: no bearer security"
            );
            assert!(
                operation["responses"]["401"].is_object(),
                "{method} {path}: no 401"
            );
        }
    }
    for (path, names) in [
        ("/v1/jobs", &["state", "node", "limit", "offset"][..]),
        ("/v1/jobs/{id}", &["wait"][..]),
    ] {
        let parameters = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
        for name in names {
            let parameter = parameters.iter().find(|p| p["name"] == *name).unwrap();
            assert_eq!(parameter["in"], "query", "{path} {name}");
            assert_ne!(parameter["required"], true, "{path} {name}");
        }
    }
    let submit = &doc["components"]["schemas"]["SubmitRequest"]["properties"];
    assert_eq!(submit["node"]["pattern"], "^0x[0-9a-fA-F]{40}$");
    assert_eq!(submit["priority"]["minimum"], -1000);
    assert_eq!(submit["slots"]["maximum"], 4096);
}
