//! `proofmint serve` as provers run it, crashed on purpose: SIGKILL in the
//! middle of a job and a restart; one of two servers sharing a PostgreSQL
//! queue killed; PostgreSQL stopped for seconds under load. Every accepted
//! job ends succeeded, once, with one valid proof.

#[path = "../../service/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use alloy_primitives::Address;
use proofmint_circuits::claim::ClaimShape;
use proofmint_prover::{files, sample, setup_development};
use proofmint_service::client::Client;
use proofmint_service::store::Job;
use proofmint_service::JobState;
use rand::SeedableRng;

const BIN: &str = env!("CARGO_BIN_EXE_proofmint");

/// Keys (16 slots, depth 20: a proof takes about a second on two cores) and
/// an epoch in which one node has 48 receipts, written once per test binary.
struct Fixture {
    _dir: tempfile::TempDir,
    keys: PathBuf,
    epoch: PathBuf,
    node: Address,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let shape = ClaimShape::new(16, 20).unwrap();
        let key =
            setup_development(shape, &mut rand_chacha::ChaCha20Rng::seed_from_u64(3)).unwrap();
        let keys = dir.path().join("keys");
        files::write_keys(&keys, &key).unwrap();
        let (bundle, _, node) = sample::two_node_epoch(48, 20);
        let epoch = dir.path().join("epoch");
        files::write_epoch(&epoch, &bundle).unwrap();
        Fixture {
            _dir: dir,
            keys,
            epoch,
            node,
        }
    })
}

/// A `proofmint serve` process, killed on drop (its log printed if the
/// test failed).
struct Server {
    child: Child,
    port: u16,
    log: tempfile::NamedTempFile,
}

impl Server {
    fn start(store: &[&str], port: u16) -> Self {
        let fixture = fixture();
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = Command::new(BIN)
            .arg("serve")
            .args(store)
            .args(["--keys", fixture.keys.to_str().unwrap()])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--backend", "cpu"])
            .env("PROOFMINT_LEASE_SECS", "2")
            .env("PROOFMINT_POLL_MS", "100")
            .env("PROOFMINT_SHUTDOWN_GRACE_SECS", "30")
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap();
        let server = Self { child, port, log };
        server.wait_ready();
        server
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn wait_ready(&self) {
        let start = Instant::now();
        loop {
            let ready = std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok();
            if ready {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "the server never listened"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn kill(&mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.log.path()).unwrap_or_default();
            eprintln!("--- server on port {} ---\n{log}", self.port);
        }
    }
}

fn proofmint(args: &[&str], token: Option<&str>) -> String {
    let mut command = Command::new(BIN);
    command.args(args);
    if let Some(token) = token {
        command.env("PROOFMINT_TOKEN", token);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "proofmint {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A new API token in the store these flags name.
fn api_token(store: &[&str]) -> String {
    proofmint(
        &[&["apikey", "create", "--name", "ops"][..], store].concat(),
        None,
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Polls a job (through any server that answers) until `done` holds.
fn poll(urls: &[String], token: &str, id: &str, done: impl Fn(&Job) -> bool) -> Job {
    let runtime = runtime();
    let start = Instant::now();
    loop {
        for url in urls {
            let client = Client::new(url, token).unwrap();
            // A server that is down or a store that is stopped: try again.
            if let Ok(job) = runtime.block_on(client.status(id, Duration::ZERO)) {
                if done(&job) {
                    return job;
                }
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "job {id} did not get there in time"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn submit(url: &str, token: &str, from_index: u64) -> String {
    let fixture = fixture();
    let node = fixture.node.to_string();
    proofmint(
        &[
            "client",
            "submit",
            "--server",
            url,
            "--epoch",
            fixture.epoch.to_str().unwrap(),
            "--node",
            &node,
            "--slots",
            "16",
            "--from-index",
            &from_index.to_string(),
        ],
        Some(token),
    )
}

/// Fetches the proof through the command line and checks it with the key.
fn check_proof(url: &str, token: &str, id: &str, out: &Path) {
    proofmint(
        &[
            "client",
            "wait",
            id,
            "--server",
            url,
            "--out",
            out.to_str().unwrap(),
        ],
        Some(token),
    );
    proofmint(
        &[
            "verify",
            "claim",
            out.to_str().unwrap(),
            "--keys",
            fixture().keys.to_str().unwrap(),
        ],
        None,
    );
}

#[test]
fn a_job_survives_sigkill_of_its_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_flag = ["--data-dir", data.to_str().unwrap()];
    let token = api_token(&data_flag);
    let port = common::free_port();
    let mut server = Server::start(&data_flag, port);
    let id = submit(&server.url(), &token, 0);
    let running = poll(&[server.url()], &token, &id, |j| {
        j.state != JobState::Queued
    });
    assert_eq!(
        running.state,
        JobState::Running,
        "killed too late: {running:?}"
    );
    server.kill();

    let server = Server::start(&data_flag, port);
    let job = poll(&[server.url()], &token, &id, |j| j.state.is_terminal());
    assert_eq!(job.state, JobState::Succeeded, "{job:?}");
    assert_eq!((job.attempts, job.lost_leases), (2, 1), "{job:?}");
    assert!(
        job.attempt_log[0].reason.contains("lease expired"),
        "{job:?}"
    );
    check_proof(&server.url(), &token, &id, &dir.path().join("proof"));
}

#[test]
fn a_killed_server_s_job_finishes_on_the_other_sharing_postgres() {
    let Some(cluster) = common::PgCluster::start() else {
        return;
    };
    let url = cluster.database("shared");
    let store = ["--database", url.as_str()];
    let token = api_token(&store);
    let mut servers = [
        Server::start(&store, common::free_port()),
        Server::start(&store, common::free_port()),
    ];
    let urls: Vec<String> = servers.iter().map(Server::url).collect();
    let id = submit(&urls[0], &token, 0);
    let running = poll(&urls, &token, &id, |j| j.state != JobState::Queued);
    assert_eq!(running.state, JobState::Running, "{running:?}");
    let holder = running.worker.clone().unwrap();
    let (victim, survivor) = if holder.contains(&format!("/{}/", servers[0].pid())) {
        (0, 1)
    } else {
        (1, 0)
    };
    servers[victim].kill();
    let job = poll(&urls[survivor..=survivor], &token, &id, |j| {
        j.state.is_terminal()
    });
    assert_eq!(job.state, JobState::Succeeded, "{job:?}");
    assert_eq!((job.attempts, job.lost_leases), (2, 1));
    let survivor_pid = format!("/{}/", servers[survivor].pid());
    assert!(job.worker.unwrap().contains(&survivor_pid));
    let dir = tempfile::tempdir().unwrap();
    check_proof(&urls[survivor], &token, &id, &dir.path().join("proof"));
}

#[test]
fn every_accepted_job_finishes_once_across_a_postgres_outage() {
    let Some(cluster) = common::PgCluster::start() else {
        return;
    };
    let url = cluster.database("outage");
    let store = ["--database", url.as_str()];
    let token = api_token(&store);
    let servers = [
        Server::start(&store, common::free_port()),
        Server::start(&store, common::free_port()),
    ];
    let urls: Vec<String> = servers.iter().map(Server::url).collect();
    // Three claims of the node (16 receipts each), twice each: six jobs.
    let mut ids = Vec::new();
    for round in 0..2 {
        for (i, from) in [0u64, 33, 65].into_iter().enumerate() {
            ids.push(submit(&urls[(round + i) % 2], &token, from));
        }
    }
    poll(&urls, &token, &ids[0], |j| j.state != JobState::Queued);
    cluster.stop_server();
    std::thread::sleep(Duration::from_secs(3));
    cluster.start_server();
    let dir = tempfile::tempdir().unwrap();
    for (i, id) in ids.iter().enumerate() {
        let job = poll(&urls, &token, id, |j| j.state.is_terminal());
        assert_eq!(job.state, JobState::Succeeded, "{job:?}");
        check_proof(
            &urls[i % 2],
            &token,
            id,
            &dir.path().join(format!("proof-{i}")),
        );
    }
}

#[test]
fn sigterm_lets_the_running_proof_finish_then_exits() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_flag = ["--data-dir", data.to_str().unwrap()];
    let token = api_token(&data_flag);
    let port = common::free_port();
    let mut server = Server::start(&data_flag, port);
    // A grace period long enough for the proof.
    let id = submit(&server.url(), &token, 0);
    poll(&[server.url()], &token, &id, |j| {
        j.state != JobState::Queued
    });
    let status = Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let start = Instant::now();
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the server did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    // Its job ended with it, proven, before the process exited.
    let server = Server::start(&data_flag, port);
    let job = poll(&[server.url()], &token, &id, |_| true);
    assert_eq!(
        (job.state, job.attempts),
        (JobState::Succeeded, 1),
        "{job:?}"
    );
}
