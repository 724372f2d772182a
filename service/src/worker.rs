//! Proving workers. Each takes a job under a lease, renews the lease from
//! its own heartbeat task while the proof runs, and ends the attempt with
//! one guarded write: the proof (verified first), a failure, or a stop.
//!
//! A proof stops at its next step (every NTT and MSM is one) when its job is
//! cancelled, its deadline passes, its lease is lost, or the service shuts
//! down past its grace period: [`StepBackend`] checks before each operation.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proofmint_circuits::claim::ClaimWitness;
use proofmint_circuits::tree::EpochTree;
use proofmint_circuits::EpochBundle;
use proofmint_gpu::{Backend, BackendError, NttDirection};
use proofmint_prover::groth16::Groth16Error;
use proofmint_prover::{prove_claim, ProveError};
use rand::SeedableRng;
use tokio::sync::{watch, Notify};

use crate::keys::{KeySet, LoadedKey};
use crate::metrics::Metrics;
use crate::store::{Job, JobResult, JobState, JobStore, Lease, Renewal, Stop, TakeOffer};
use crate::webhook::Webhooks;

const RUNNING: u8 = 0;
const CANCEL: u8 = 1;
const DEADLINE: u8 = 2;
const LOST: u8 = 3;
const SHUTDOWN: u8 = 4;

/// What a running proof shares with its heartbeat and the operations it runs.
pub struct Control {
    stop: AtomicU8,
    step: Mutex<String>,
}

impl Control {
    fn new() -> Self {
        Self {
            stop: AtomicU8::new(RUNNING),
            step: Mutex::new("starting".into()),
        }
    }

    fn request(&self, reason: u8) {
        let _ = self
            .stop
            .compare_exchange(RUNNING, reason, Ordering::SeqCst, Ordering::SeqCst);
    }

    fn stopped(&self) -> u8 {
        self.stop.load(Ordering::SeqCst)
    }

    /// Enters a step, or refuses to if the proof was asked to stop.
    fn enter(&self, step: &str) -> Result<(), BackendError> {
        let reason = match self.stopped() {
            RUNNING => {
                *self.step.lock().expect("step lock") = step.to_string();
                return Ok(());
            }
            CANCEL => "the job was cancelled",
            DEADLINE => "the job's deadline passed",
            LOST => "the lease was lost",
            _ => "the service is shutting down",
        };
        Err(BackendError::Stopped(reason.into()))
    }

    fn step(&self) -> String {
        self.step.lock().expect("step lock").clone()
    }

    /// How a proof that was asked to stop ends: why, and the step it was in.
    fn halted(&self) -> Outcome {
        Outcome::Stopped(self.stopped(), self.step())
    }
}

/// A backend that checks the job's [`Control`] before each operation.
pub struct StepBackend<'a> {
    pub inner: &'a dyn Backend,
    pub control: &'a Control,
}

impl Backend for StepBackend<'_> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn msm_g1(
        &self,
        bases: &[ark_bn254::G1Affine],
        scalars: &[ark_bn254::Fr],
    ) -> Result<ark_bn254::G1Projective, BackendError> {
        self.control.enter("proving: G1 MSM")?;
        self.inner.msm_g1(bases, scalars)
    }

    fn msm_g2(
        &self,
        bases: &[ark_bn254::G2Affine],
        scalars: &[ark_bn254::Fr],
    ) -> Result<ark_bn254::G2Projective, BackendError> {
        self.control.enter("proving: G2 MSM")?;
        self.inner.msm_g2(bases, scalars)
    }

    fn ntt(
        &self,
        values: &mut [ark_bn254::Fr],
        direction: NttDirection,
    ) -> Result<(), BackendError> {
        self.control.enter("proving: NTT")?;
        self.inner.ntt(values, direction)
    }

    fn coset_ntt(
        &self,
        values: &mut [ark_bn254::Fr],
        offset: ark_bn254::Fr,
        direction: NttDirection,
    ) -> Result<(), BackendError> {
        self.control.enter("proving: NTT")?;
        self.inner.coset_ntt(values, offset, direction)
    }

    /// The device, unless the job was stopped: a stopped job then takes the
    /// host path, whose first step reports the stop. A proof on the device
    /// (a fraction of a second) is not interrupted once begun.
    fn resident(&self) -> Option<&proofmint_gpu::IcicleBackend> {
        self.control.enter("proving on the device").ok()?;
        self.inner.resident()
    }
}

/// The most recent epoch a worker decoded, with its tree: claims of many
/// nodes in one epoch decode and hash it once.
type EpochCache = Mutex<Option<(String, Arc<(EpochBundle, EpochTree)>)>>;

/// What every worker of a process shares.
pub struct Pool {
    pub store: Arc<dyn JobStore>,
    pub keys: KeySet,
    pub backend: Arc<dyn Backend>,
    pub metrics: Arc<Metrics>,
    pub webhooks: Webhooks,
    /// Woken when this process accepts a job.
    pub wake: Notify,
    /// Notified when a worker of this process ends an attempt (long polls
    /// wake at once rather than at their next look at the store).
    pub ended: Notify,
    pub lease: Duration,
    pub poll: Duration,
    pub grace: Duration,
    /// Bytes the workers may use for proofs, and the bytes they use now.
    pub memory_budget: u64,
    memory_used: Mutex<u64>,
    admission: tokio::sync::Mutex<()>,
    epochs: EpochCache,
}

/// How a job's proof went, seen from the worker.
enum Outcome {
    Proved(JobResult),
    Stopped(u8, String),
    /// A fault of the job itself (its bundle, its witness): no retry helps.
    Refused(String),
    /// A fault of this attempt (a device error, a panic): retried.
    Faulted(String),
}

impl Pool {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<dyn JobStore>,
        keys: KeySet,
        backend: Arc<dyn Backend>,
        metrics: Arc<Metrics>,
        webhooks: Webhooks,
        lease: Duration,
        poll: Duration,
        grace: Duration,
        memory_budget: u64,
    ) -> Self {
        Self {
            store,
            keys,
            backend,
            metrics,
            webhooks,
            wake: Notify::new(),
            ended: Notify::new(),
            lease,
            poll,
            grace,
            memory_budget,
            memory_used: Mutex::new(0),
            admission: tokio::sync::Mutex::new(()),
            epochs: Mutex::new(None),
        }
    }

    /// `cpu` or `icicle`: what a job's `backend` field names.
    pub fn backend_family(&self) -> &'static str {
        if self.backend.name().starts_with("icicle") {
            "icicle"
        } else {
            "cpu"
        }
    }

    /// The keys whose proofs fit the memory left, reserving nothing yet.
    fn offer(&self) -> TakeOffer {
        let used = *self.memory_used.lock().expect("memory lock");
        let free = self.memory_budget.saturating_sub(used);
        let key_digests = self
            .keys
            .iter()
            .filter(|k| k.proving_bytes <= free)
            .map(|k| k.digest.clone())
            .collect();
        TakeOffer {
            key_digests,
            backend: self.backend_family().into(),
        }
    }

    fn reserve(&self, bytes: u64, take: bool) {
        let mut used = self.memory_used.lock().expect("memory lock");
        *used = if take {
            *used + bytes
        } else {
            used.saturating_sub(bytes)
        };
    }

    /// One worker's loop, until `shutdown` turns true and its job is done.
    pub async fn run_worker(self: Arc<Self>, name: String, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = self.poll;
        loop {
            if *shutdown.borrow() {
                return;
            }
            let taken = {
                // One worker of this process at a time looks at the memory
                // left, takes a job and reserves its memory: two workers
                // never both count the same free bytes.
                let _admission = self.admission.lock().await;
                let offer = self.offer();
                match self.store.take(&name, &offer, self.lease).await {
                    Ok(Some((lease, job))) => {
                        let key = self.keys.by_digest(&job.key_digest).cloned();
                        if let Some(key) = &key {
                            self.reserve(key.proving_bytes, true);
                        }
                        Some((lease, job, key))
                    }
                    Ok(None) => None,
                    Err(e) => {
                        self.metrics.store_error();
                        tracing::warn!(worker = %name, "cannot take a job: {e}");
                        tokio::select! {
                            _ = tokio::time::sleep(backoff) => {}
                            _ = shutdown.changed() => {}
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        continue;
                    }
                }
            };
            backoff = self.poll;
            let Some((lease, job, key)) = taken else {
                tokio::select! {
                    _ = tokio::time::sleep(self.poll) => {}
                    _ = self.wake.notified() => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            };
            self.metrics.worker_busy(true);
            let bytes = key.as_ref().map_or(0, |k| k.proving_bytes);
            self.clone()
                .run_job(lease, job, key, shutdown.clone())
                .await;
            self.reserve(bytes, false);
            self.metrics.worker_busy(false);
        }
    }

    async fn run_job(
        self: Arc<Self>,
        lease: Lease,
        job: Job,
        key: Option<Arc<LoadedKey>>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        tracing::info!(job = %job.id, worker = %lease.worker, attempt = lease.token, "proving");
        let control = Arc::new(Control::new());
        let heartbeat = tokio::spawn(heartbeat(
            self.store.clone(),
            lease.clone(),
            control.clone(),
            self.lease,
        ));
        // Past the grace period after a shutdown begins, the proof stops at
        // its next step and the job is handed back.
        let grace = {
            let control = control.clone();
            let grace = self.grace;
            tokio::spawn(async move {
                while !*shutdown.borrow() {
                    if shutdown.changed().await.is_err() {
                        return;
                    }
                }
                tokio::time::sleep(grace).await;
                control.request(SHUTDOWN);
            })
        };
        let outcome = match key {
            None => Outcome::Refused(format!(
                "this server holds no key {} (it took the job by mistake)",
                job.key_digest
            )),
            Some(key) => self.prove(&job, key, control.clone()).await,
        };
        heartbeat.abort();
        grace.abort();
        if let Some(state) = self.finish(&lease, &job, outcome).await {
            if state.is_terminal() {
                self.job_ended(&job.id, state, job.webhook_url.as_deref());
            }
        }
    }

    /// A job ended (by a worker, a cancel while queued, or the reaper): long
    /// polls woken, counted, its webhook called.
    pub fn job_ended(&self, id: &str, state: JobState, webhook: Option<&str>) {
        self.ended.notify_waiters();
        self.metrics.finished(state);
        if let Some(url) = webhook {
            self.webhooks
                .notify(&self.store, url.to_string(), id.to_string());
        }
    }

    async fn prove(&self, job: &Job, key: Arc<LoadedKey>, control: Arc<Control>) -> Outcome {
        let started = Instant::now();
        control.enter("loading the epoch").ok();
        let epoch = match self.epoch(&job.bundle_digest).await {
            Ok(epoch) => epoch,
            Err(outcome) => return outcome,
        };
        let load_ms = started.elapsed().as_millis() as u64;
        let node = match proofmint_circuits::field::parse_address(&job.node) {
            Ok(node) => node,
            Err(e) => return Outcome::Refused(format!("node {}: {e}", job.node)),
        };
        let from_index = job.from_index as u64;
        let backend_name = self.backend.name().to_string();
        let work = {
            let control = control.clone();
            let key = key.clone();
            let epoch = epoch.clone();
            let inner = self.backend.clone();
            move || -> Result<(Vec<u8>, u64, u64), Outcome> {
                let witness_start = Instant::now();
                control
                    .enter("building the witness")
                    .map_err(|_| control.halted())?;
                let (bundle, tree) = &*epoch;
                let circuit = ClaimWitness::build(
                    key.shape(),
                    bundle.summary.epoch,
                    &bundle.receipts,
                    tree,
                    node,
                    from_index,
                )
                .map_err(|e| Outcome::Refused(format!("witness: {e}")))?;
                let witness_ms = witness_start.elapsed().as_millis() as u64;
                let prove_start = Instant::now();
                let steps = StepBackend {
                    inner: inner.as_ref(),
                    control: &control,
                };
                let proof = prove_claim(
                    &key.key,
                    circuit,
                    &steps,
                    &mut rand_chacha::ChaCha20Rng::from_entropy(),
                )
                .map_err(|e| match e {
                    ProveError::Backend(Groth16Error::Backend(BackendError::Stopped(_))) => {
                        control.halted()
                    }
                    ProveError::Backend(e) => Outcome::Faulted(format!("prover: {e}")),
                    other => Outcome::Refused(other.to_string()),
                })?;
                let prove_ms = prove_start.elapsed().as_millis() as u64;
                Ok((proof.to_bytes(), witness_ms, prove_ms))
            }
        };
        let result = tokio::task::spawn_blocking(work).await;
        let (proof, witness_ms, prove_ms) = match result {
            Ok(Ok(done)) => done,
            Ok(Err(outcome)) => return outcome,
            Err(e) => return Outcome::Faulted(format!("the prover panicked: {e}")),
        };
        self.metrics
            .proved(&key.preset(), &backend_name, prove_ms as f64 / 1000.0);
        Outcome::Proved(JobResult {
            proof,
            ran_on: backend_name,
            timings: serde_json::json!({
                "load_ms": load_ms,
                "witness_ms": witness_ms,
                "prove_and_verify_ms": prove_ms,
                "total_ms": started.elapsed().as_millis() as u64,
            }),
        })
    }

    /// The job's epoch, decoded and hashed (or the cached one).
    async fn epoch(&self, digest: &str) -> Result<Arc<(EpochBundle, EpochTree)>, Outcome> {
        if let Some((cached, epoch)) = &*self.epochs.lock().expect("epoch cache") {
            if cached == digest {
                return Ok(epoch.clone());
            }
        }
        let bytes = loop {
            match self.store.get_bundle(digest).await {
                Ok(Some(bytes)) => break bytes,
                Ok(None) => {
                    return Err(Outcome::Refused(format!(
                        "bundle {digest} is not in the store"
                    )))
                }
                Err(e) => {
                    self.metrics.store_error();
                    tracing::warn!("cannot read bundle {digest}: {e}");
                    tokio::time::sleep(self.poll).await;
                }
            }
        };
        let decoded = tokio::task::spawn_blocking(move || {
            let bundle = EpochBundle::from_bytes(&bytes).map_err(|e| e.to_string())?;
            let tree = bundle.tree().map_err(|e| e.to_string())?;
            if tree.root() != bundle.summary.root {
                return Err("its receipts do not give its root".to_string());
            }
            Ok((bundle, tree))
        })
        .await;
        let epoch = match decoded {
            Ok(Ok(epoch)) => Arc::new(epoch),
            Ok(Err(e)) => return Err(Outcome::Refused(format!("bundle {digest}: {e}"))),
            Err(e) => return Err(Outcome::Faulted(format!("decoding panicked: {e}"))),
        };
        *self.epochs.lock().expect("epoch cache") = Some((digest.to_string(), epoch.clone()));
        Ok(epoch)
    }

    /// Records the attempt's end, retrying while the store is unreachable
    /// (a proof is never thrown away for a store outage). Returns the job's
    /// state, or None where the lease had moved on.
    async fn finish(&self, lease: &Lease, job: &Job, outcome: Outcome) -> Option<JobState> {
        let mut wait = Duration::from_millis(100);
        loop {
            let written = match &outcome {
                Outcome::Proved(result) => self.store.complete(lease, result).await.map(|won| {
                    if !won {
                        self.metrics.dropped_result();
                        tracing::warn!(job = %job.id, "lease moved on: proof dropped");
                    }
                    won.then_some(JobState::Succeeded)
                }),
                Outcome::Refused(reason) => self.store.fail(lease, reason, false).await,
                Outcome::Faulted(reason) => self.store.fail(lease, reason, true).await,
                Outcome::Stopped(reason, step) => {
                    let (stop, state, text) = match *reason {
                        CANCEL => (Stop::Cancelled, JobState::Cancelled, "cancelled"),
                        DEADLINE => (Stop::Expired, JobState::Expired, "the deadline passed"),
                        SHUTDOWN => (
                            Stop::HandedBack,
                            JobState::Queued,
                            "handed back: the server shut down",
                        ),
                        _ => return None,
                    };
                    let text = format!("{text} (stopped at: {step})");
                    self.store
                        .stop(lease, stop, &text)
                        .await
                        .map(|held| held.then_some(state))
                }
            };
            match written {
                Ok(state) => return state,
                Err(e) => {
                    self.metrics.store_error();
                    tracing::warn!(job = %job.id, "cannot record the attempt, retrying: {e}");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
            }
        }
    }
}

/// Renews the lease every third of its length and turns the store's answer
/// into a stop request: cancel, deadline, or a lost lease.
async fn heartbeat(
    store: Arc<dyn JobStore>,
    lease: Lease,
    control: Arc<Control>,
    length: Duration,
) {
    let every = length / 3;
    loop {
        tokio::time::sleep(every).await;
        match store.renew(&lease, &control.step(), length).await {
            Ok(Renewal::Held) => {}
            Ok(Renewal::CancelRequested) => control.request(CANCEL),
            Ok(Renewal::DeadlinePassed) => control.request(DEADLINE),
            Ok(Renewal::Lost) => {
                control.request(LOST);
                return;
            }
            // The store is down: keep proving; completion is guarded by the
            // lease's token, so a proof of a lease that expired meanwhile is
            // dropped rather than stored twice.
            Err(e) => tracing::warn!(job = %lease.job_id, "heartbeat failed: {e}"),
        }
    }
}
