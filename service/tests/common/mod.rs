//! Shared by the service's tests: a throwaway PostgreSQL cluster, stores of
//! both kinds, and a small key and epoch.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use alloy_primitives::Address;
use proofmint_circuits::claim::ClaimShape;
use proofmint_circuits::EpochBundle;
use proofmint_prover::{sample, setup_development, ProvingKeyFile};
use proofmint_service::{JobStore, SqlStore};
use rand::SeedableRng;

/// The PostgreSQL server binaries: `PROOFMINT_PG_BIN`, else Debian's.
pub fn pg_bin() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("PROOFMINT_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|p| p.join("pg_ctl").exists())
        .collect();
    found.sort();
    found.pop()
}

/// Whether PostgreSQL tests must run (scripts/test.sh installs it and sets
/// this): without it, a machine with no PostgreSQL skips them loudly.
pub fn pg_required() -> bool {
    std::env::var_os("PROOFMINT_REQUIRE_PG").is_some()
}

/// A PostgreSQL cluster of its own on a loopback port, removed on drop.
pub struct PgCluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
    as_user: Option<&'static str>,
}

/// A loopback port free at the moment of asking.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl PgCluster {
    /// Starts one, or None (after saying so) where PostgreSQL is absent.
    pub fn start() -> Option<Self> {
        let Some(bin) = pg_bin() else {
            assert!(
                !pg_required(),
                "PROOFMINT_REQUIRE_PG is set but no PostgreSQL server binaries were found"
            );
            eprintln!("SKIPPED: PostgreSQL is not installed (scripts/test.sh installs it)");
            return None;
        };
        // PostgreSQL refuses to run as root: the cluster belongs to `postgres`.
        let root = is_root();
        let as_user = root.then_some("postgres");
        let dir = tempfile::Builder::new()
            .prefix("proofmint-pg")
            .tempdir()
            .unwrap();
        if let Some(user) = as_user {
            let status = Command::new("chown")
                .args(["-R", user])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "chown the cluster's directory");
        }
        let cluster = Self {
            bin,
            dir,
            port: free_port(),
            as_user,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        cluster.start_server();
        Some(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// One of the server's tools, run as the cluster's owner.
    fn command(&self, tool: &str) -> Command {
        let program = self.bin.join(tool);
        match self.as_user {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(program);
                command
            }
            None => Command::new(program),
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let output = self.command(tool).args(args).output().unwrap();
        assert!(
            output.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Starts (or restarts) the server and waits until it accepts connections.
    pub fn start_server(&self) {
        let data = self.data();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
    }

    /// Stops the server at once (connections are cut, as in a crash).
    pub fn stop_server(&self) {
        let data = self.data();
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// A new empty database; returns its URL.
    pub fn database(&self, name: &str) -> String {
        self.run(
            "psql",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-q",
                "-c",
                &format!("CREATE DATABASE {name}"),
            ],
        );
        self.url(name)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.data();
        let args = ["-D", data.to_str().unwrap(), "-m", "immediate", "stop"];
        let _ = self.command("pg_ctl").args(args).output();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The test key's shape: small, so proofs take milliseconds.
pub const SHAPE: ClaimShape = ClaimShape { slots: 4, depth: 8 };

/// One development key for the whole test binary.
pub fn key() -> &'static ProvingKeyFile {
    static KEY: OnceLock<ProvingKeyFile> = OnceLock::new();
    KEY.get_or_init(|| {
        setup_development(SHAPE, &mut rand_chacha::ChaCha20Rng::seed_from_u64(7)).unwrap()
    })
}

/// An epoch of depth 8 with 12 receipts, alternating between two nodes; node 0's address.
pub fn epoch() -> (EpochBundle, Address) {
    let (bundle, _, node) = sample::two_node_epoch(6, SHAPE.depth);
    (bundle, node)
}

/// A SQLite store in `dir`.
pub async fn sqlite(dir: &Path) -> Arc<dyn JobStore> {
    Arc::new(SqlStore::open_data_dir(dir).await.unwrap())
}
