//! The prover service under load, on loopback, bounded in jobs and time:
//! CLIENTS concurrent clients submit JOBS claim jobs (16 slots, depth 20) to
//! `proofmint serve` and wait for them. Measured against the same claims
//! proven back to back in one process with the same warm key, the peer the
//! service must keep up with; then the same load on PostgreSQL with two
//! server processes; then the warm-key gain: one claim through an idle
//! service against a one-shot `proofmint prove claim`.
//!
//! Run (the binary first: the bench starts it as provers do):
//! `cargo build --release -p proofmint-cli && cargo bench -p proofmint-benches --bench service`
//! Env: PROOFMINT_LOAD_JOBS (default 24), PROOFMINT_LOAD_CLIENTS (default 8).

#[path = "../../service/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy_primitives::Address;
use proofmint_circuits::claim::{ClaimShape, ClaimWitness};
use proofmint_gpu::CpuBackend;
use proofmint_prover::{files, prove_claim, sample, setup_development};
use proofmint_service::api::SubmitRequest;
use proofmint_service::client::Client;
use proofmint_service::store::Job;
use proofmint_service::JobState;
use proofmint_verifier::verify::ClaimVerifier;
use rand::SeedableRng;

const SLOTS: usize = 16;
const DEPTH: usize = 20;
/// Distinct claims of the node (its receipts fill this many 16-slot claims).
const CLAIMS: usize = 8;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn binary() -> PathBuf {
    // target/release/deps/service-<hash> → target/release/proofmint
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("proofmint");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --release -p proofmint-cli` first",
        bin.display()
    );
    bin
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(bin: &Path, store: &[&str], keys: &Path) -> (Server, String) {
    let port = common::free_port();
    let child = Command::new(bin)
        .arg("serve")
        .args(store)
        .args(["--keys", keys.to_str().unwrap(), "--backend", "cpu"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("PROOFMINT_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }
    (Server(child), format!("http://127.0.0.1:{port}"))
}

fn token(bin: &Path, store: &[&str]) -> String {
    let out = Command::new(bin)
        .args([
            "apikey",
            "create",
            "--name",
            "load",
            "--max-in-flight",
            "1000",
            "--per-minute",
            "100000",
        ])
        .args(store)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

struct LoadRun {
    wall: Duration,
    /// Per job: ms queued (created → started), and ms beyond its own proving
    /// (created → finished, less the worker's proving time and its queueing).
    queued: Vec<f64>,
    overhead: Vec<f64>,
}

/// CLIENTS tasks share JOBS submissions round-robin over `servers`, each
/// waiting for its jobs; every job must succeed once with a valid proof.
fn load(
    servers: &[String],
    token: &str,
    epoch: &Path,
    node: Address,
    jobs: usize,
    clients: usize,
) -> LoadRun {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let bundle = std::fs::read(epoch.join(files::EPOCH_BIN)).unwrap();
    runtime.block_on(async {
        let digest = Client::new(&servers[0], token)
            .unwrap()
            .upload_bundle(bundle)
            .await
            .unwrap()
            .digest;
        let start = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..clients {
            let client = Client::new(&servers[c % servers.len()], token).unwrap();
            let digest = digest.clone();
            tasks.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                for j in (c..jobs).step_by(clients) {
                    let request = claim_request(&digest, node, 1 + 32 * (j % CLAIMS) as u64);
                    let key = format!("load-{j}");
                    ids.push(client.submit(&request, Some(&key)).await.unwrap().id);
                }
                let mut done: Vec<Job> = Vec::new();
                for id in ids {
                    done.push(client.wait(&id, Duration::from_secs(1800)).await.unwrap());
                }
                done
            }));
        }
        let mut finished = Vec::new();
        for task in tasks {
            finished.extend(task.await.unwrap());
        }
        let wall = start.elapsed();
        assert_eq!(finished.len(), jobs);
        let mut ids: Vec<&str> = finished.iter().map(|j| j.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), jobs, "a job was duplicated");
        let (mut queued, mut overhead) = (Vec::new(), Vec::new());
        for job in &finished {
            assert_eq!(job.state, JobState::Succeeded, "{job:?}");
            assert_eq!(job.attempts, 1, "{job:?}");
            let total = job.timings.as_ref().unwrap()["total_ms"].as_u64().unwrap() as f64;
            let started = job.started_ms.unwrap();
            let q = (started - job.created_ms) as f64;
            queued.push(q);
            overhead.push((job.finished_ms.unwrap() - job.created_ms) as f64 - q - total);
        }
        LoadRun {
            wall,
            queued,
            overhead,
        }
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    percentile(&mut v, 50.0)
}

fn main() {
    let jobs = env_usize("PROOFMINT_LOAD_JOBS", 24);
    let clients = env_usize("PROOFMINT_LOAD_CLIENTS", 8);
    let bin = binary();
    let dir = tempfile::tempdir().unwrap();
    let shape = ClaimShape::new(SLOTS, DEPTH).unwrap();
    eprintln!("setting up keys ({shape})");
    let key = setup_development(shape, &mut rand_chacha::ChaCha20Rng::seed_from_u64(5)).unwrap();
    let keys = dir.path().join("keys");
    files::write_keys(&keys, &key).unwrap();
    let (bundle, tree, node) = sample::two_node_epoch(SLOTS * CLAIMS, DEPTH);
    let epoch = dir.path().join("epoch");
    files::write_epoch(&epoch, &bundle).unwrap();
    let verifier = ClaimVerifier::new(key.key.clone());

    // The peer: the same claims, back to back, in one process, warm key.
    eprintln!("in-process baseline: {jobs} claims");
    let warm = files::load_proving_key(&keys).unwrap();
    warm.matrices().unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
    let start = Instant::now();
    for j in 0..jobs {
        let circuit = ClaimWitness::build(
            shape,
            bundle.summary.epoch,
            &bundle.receipts,
            &tree,
            node,
            1 + 32 * (j % CLAIMS) as u64,
        )
        .unwrap();
        let proof = prove_claim(&warm, circuit, &CpuBackend::new(), &mut rng).unwrap();
        verifier.verify(&proof).unwrap();
    }
    let baseline = start.elapsed();

    eprintln!("service on SQLite, one server: {jobs} jobs from {clients} clients");
    let data = dir.path().join("data");
    let sqlite_store = ["--data-dir", data.to_str().unwrap()];
    let sqlite_token = token(&bin, &sqlite_store);
    let (sqlite_server, sqlite_url) = serve(&bin, &sqlite_store, &keys);
    let on_sqlite = load(
        std::slice::from_ref(&sqlite_url),
        &sqlite_token,
        &epoch,
        node,
        jobs,
        clients,
    );

    // Warm-key gain: one claim through the idle service against a one-shot
    // `proofmint prove claim` (a process that loads and checks the key first).
    eprintln!("warm key against one-shot prove claim");
    let mut service_ms = Vec::new();
    let mut oneshot_ms = Vec::new();
    let digest = proofmint_service::api::bundle_digest(
        &std::fs::read(epoch.join(files::EPOCH_BIN)).unwrap(),
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for i in 0..3 {
        let start = Instant::now();
        let client_run = {
            runtime.block_on(async {
                let client = Client::new(&sqlite_url, &sqlite_token).unwrap();
                let request = claim_request(&digest, node, 1);
                let id = client
                    .submit(&request, Some(&format!("warm-{i}")))
                    .await
                    .unwrap()
                    .id;
                client.wait(&id, Duration::from_secs(600)).await.unwrap();
                client.result(&id).await.unwrap()
            })
        };
        service_ms.push(start.elapsed().as_secs_f64() * 1000.0);
        verifier.verify(&client_run).unwrap();
        let out = dir.path().join(format!("oneshot-{i}"));
        let start = Instant::now();
        let status = Command::new(&bin)
            .args([
                "prove",
                "claim",
                "--epoch",
                epoch.to_str().unwrap(),
                "--node",
                &node.to_string(),
            ])
            .args([
                "--keys",
                keys.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--from-index",
                "1",
                "--backend",
                "cpu",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        oneshot_ms.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    drop(sqlite_server);

    let on_postgres = common::PgCluster::start().map(|cluster| {
        eprintln!(
            "service on PostgreSQL, two server processes: {jobs} jobs from {clients} clients"
        );
        let url = cluster.database("load");
        let store = ["--database", url.as_str()];
        let token = token(&bin, &store);
        let (a, url_a) = serve(&bin, &store, &keys);
        let (b, url_b) = serve(&bin, &store, &keys);
        let run = load(&[url_a, url_b], &token, &epoch, node, jobs, clients);
        drop((a, b));
        run
    });

    let per_job = |wall: Duration| wall.as_secs_f64() * 1000.0 / jobs as f64;
    println!("\n{jobs} claim jobs ({SLOTS} slots, depth {DEPTH}), {clients} concurrent clients, loopback, CpuBackend");
    println!(
        "{:<44} {:>9} {:>9} {:>10} {:>14} {:>14}",
        "run", "wall s", "ms/job", "vs peer", "queued p50/p99", "extra p50/p99"
    );
    println!(
        "{:<44} {:>9.2} {:>9.0} {:>10}",
        "peer: in-process prover, warm key",
        baseline.as_secs_f64(),
        per_job(baseline),
        "1.000"
    );
    let row = |name: &str, run: &mut LoadRun| {
        println!(
            "{:<44} {:>9.2} {:>9.0} {:>10.3} {:>7.0}/{:<6.0} {:>7.0}/{:<6.0}",
            name,
            run.wall.as_secs_f64(),
            per_job(run.wall),
            baseline.as_secs_f64() / run.wall.as_secs_f64(),
            percentile(&mut run.queued, 50.0),
            percentile(&mut run.queued, 99.0),
            percentile(&mut run.overhead, 50.0),
            percentile(&mut run.overhead, 99.0),
        );
    };
    let mut sqlite = on_sqlite;
    row("service, SQLite, 1 server", &mut sqlite);
    match on_postgres {
        Some(mut pg) => row("service, PostgreSQL, 2 server processes", &mut pg),
        None => println!("service, PostgreSQL: skipped (PostgreSQL not installed)"),
    }
    println!("('vs peer' is throughput relative to the peer; 'extra' is each job's time from submission to result beyond its queueing and its own proving, ms)");
    println!(
        "\nwarm-key gain, one claim: service (submit to proof fetched) median {:.0} ms; one-shot `proofmint prove claim` median {:.0} ms; {:.2}x",
        median(service_ms.clone()),
        median(oneshot_ms.clone()),
        median(oneshot_ms) / median(service_ms)
    );
}

/// The node's claim from leaf `from_index` over the bundle the service holds
/// as `digest`, with the bench's key preset.
fn claim_request(digest: &str, node: Address, from_index: u64) -> SubmitRequest {
    SubmitRequest {
        bundle: None,
        bundle_digest: Some(digest.to_string()),
        node: node.to_string(),
        from_index,
        slots: Some(SLOTS),
        key_digest: None,
        priority: 0,
        deadline_secs: None,
        backend: None,
        webhook_url: None,
    }
}
