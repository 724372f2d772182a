//! Prometheus metrics (`/metrics`): queue depth by state (read from the store
//! at each scrape, so it is the whole queue's, not this process's), jobs by
//! outcome, proving time per preset and backend, lease expiries, worker
//! utilisation and resident memory.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::store::JobState;

type Labels = Vec<(String, String)>;

pub struct Metrics {
    registry: Registry,
    queue: Family<Labels, Gauge>,
    finished: Family<Labels, Counter>,
    proving: Family<Labels, Histogram, fn() -> Histogram>,
    lease_expiries: Counter,
    dropped_results: Counter,
    store_errors: Counter,
    workers: Gauge,
    busy: Gauge,
    resident: Gauge,
}

fn proving_histogram() -> Histogram {
    // 50 ms to ~14 minutes.
    Histogram::new(exponential_buckets(0.05, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("proofmint");
        let queue = Family::<Labels, Gauge>::default();
        let finished = Family::<Labels, Counter>::default();
        let proving =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(proving_histogram);
        let lease_expiries = Counter::default();
        let dropped_results = Counter::default();
        let store_errors = Counter::default();
        let workers = Gauge::default();
        let busy = Gauge::default();
        let resident = Gauge::default();
        registry.register("jobs", "Jobs in the store by state", queue.clone());
        registry.register(
            "jobs_finished",
            "Jobs this process ended, by outcome",
            finished.clone(),
        );
        registry.register(
            "proving_seconds",
            "Time to prove a claim (witness to verified proof), by preset and backend",
            proving.clone(),
        );
        registry.register(
            "lease_expiries",
            "Leases this process's reaper found expired (a worker died or stalled)",
            lease_expiries.clone(),
        );
        registry.register(
            "dropped_results",
            "Proofs dropped because the lease had moved on (a late duplicate)",
            dropped_results.clone(),
        );
        registry.register(
            "store_errors",
            "Job store calls that failed (the caller retried)",
            store_errors.clone(),
        );
        registry.register(
            "workers",
            "Proving workers in this process",
            workers.clone(),
        );
        registry.register("workers_busy", "Workers proving a job now", busy.clone());
        registry.register(
            "resident_memory_bytes",
            "Resident memory of this process",
            resident.clone(),
        );
        Self {
            registry,
            queue,
            finished,
            proving,
            lease_expiries,
            dropped_results,
            store_errors,
            workers,
            busy,
            resident,
        }
    }

    pub fn set_workers(&self, n: usize) {
        self.workers.set(n as i64);
    }

    pub fn worker_busy(&self, busy: bool) {
        if busy {
            self.busy.inc();
        } else {
            self.busy.dec();
        }
    }

    pub fn finished(&self, state: JobState) {
        self.finished
            .get_or_create(&vec![("outcome".into(), state.as_str().into())])
            .inc();
    }

    pub fn proved(&self, preset: &str, backend: &str, seconds: f64) {
        self.proving
            .get_or_create(&vec![
                ("preset".into(), preset.into()),
                ("backend".into(), backend.into()),
            ])
            .observe(seconds);
    }

    pub fn lease_expired(&self, n: u64) {
        self.lease_expiries.inc_by(n);
    }

    pub fn dropped_result(&self) {
        self.dropped_results.inc();
    }

    pub fn store_error(&self) {
        self.store_errors.inc();
    }

    /// The exposition text, with the queue depth read just now.
    pub fn render(&self, counts: &[(JobState, i64)]) -> String {
        for (state, n) in counts {
            self.queue
                .get_or_create(&vec![("state".into(), state.as_str().into())])
                .set(*n);
        }
        self.resident.set(resident_bytes() as i64);
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}

/// Resident set size from /proc (0 where there is none).
pub fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// MemAvailable from /proc/meminfo, in bytes.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
