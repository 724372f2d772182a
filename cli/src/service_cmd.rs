//! `proofmint serve`, `proofmint apikey` and `proofmint client`: the prover
//! service, its API keys, and its command-line client.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use proofmint_prover::files;
use proofmint_service::api::SubmitRequest;
use proofmint_service::client::Client;
use proofmint_service::ServeConfig;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// A keys directory as `proofmint setup` writes it; once per shape.
    #[arg(long)]
    keys: Vec<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
    /// Proving workers in this process.
    #[arg(long)]
    workers: Option<usize>,
    /// MSM/NTT backend: auto, cpu or icicle.
    #[arg(long)]
    backend: Option<String>,
    /// ICICLE's install directory.
    #[arg(long = "icicle-dir")]
    icicle_dir: Option<PathBuf>,
}

impl ServeArgs {
    pub fn config(self) -> Result<ServeConfig> {
        let mut config = self.store.config()?;
        if let Some(listen) = self.listen {
            config.listen = listen;
        }
        if !self.keys.is_empty() {
            config.keys = self.keys;
        }
        if let Some(workers) = self.workers {
            config.workers = workers;
        }
        if let Some(backend) = self.backend {
            config.backend = backend;
        }
        if self.icicle_dir.is_some() {
            config.icicle_dir = self.icicle_dir;
        }
        Ok(config)
    }
}

/// The settings file and where the store is: the data directory's SQLite
/// file, or --database.
#[derive(Args)]
pub struct StoreArgs {
    /// The data directory (its jobs.db is the job store unless --database).
    #[arg(long = "data-dir")]
    data_dir: Option<PathBuf>,
    /// postgres://... to share one queue between many servers.
    #[arg(long)]
    database: Option<String>,
    /// A TOML file of settings (flags and PROOFMINT_* variables override it).
    #[arg(long)]
    config: Option<PathBuf>,
}

impl StoreArgs {
    fn config(&self) -> Result<ServeConfig> {
        let mut config = ServeConfig::load(self.config.as_deref())?;
        if let Some(dir) = &self.data_dir {
            config.data_dir = dir.clone();
        }
        if self.database.is_some() {
            config.database = self.database.clone();
        }
        Ok(config)
    }
}

#[derive(Subcommand)]
pub enum ApiKeyCommand {
    /// Make a key; its token is printed once (the service keeps only its hash).
    Create {
        #[arg(long)]
        name: String,
        /// Jobs this key may have queued or running (default: the config's).
        #[arg(long = "max-in-flight")]
        max_in_flight: Option<i64>,
        /// Submissions a minute (default: the config's).
        #[arg(long = "per-minute")]
        per_minute: Option<i64>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List keys (never their tokens).
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a key by id or name.
    Revoke {
        key: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Submit a claim job; prints its id.
    Submit {
        /// The epoch bundle directory (holding epoch.bin).
        #[arg(long)]
        epoch: PathBuf,
        #[arg(long)]
        node: String,
        /// Receipt slots per claim (the key preset).
        #[arg(long)]
        slots: Option<usize>,
        /// Or the key's digest.
        #[arg(long = "key-digest")]
        key_digest: Option<String>,
        #[arg(long = "from-index", default_value_t = 0)]
        from_index: u64,
        #[arg(long, default_value_t = 0)]
        priority: i64,
        /// Seconds from now after which the job is not worth proving.
        #[arg(long = "deadline-secs")]
        deadline_secs: Option<u64>,
        /// cpu or icicle.
        #[arg(long)]
        backend: Option<String>,
        /// Makes a retried submit return the same job.
        #[arg(long = "idempotency-key")]
        idempotency_key: Option<String>,
    },
    /// Print a job's state as JSON.
    Status { id: String },
    /// Wait for a job to end; with --out, write its proof as `prove claim` does.
    Wait {
        id: String,
        #[arg(long)]
        out: Option<PathBuf>,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 3600)]
        timeout: u64,
    },
    /// Write a succeeded job's proof files.
    Fetch {
        id: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Cancel a job.
    Cancel { id: String },
    /// List this token's jobs, newest first.
    List {
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: i64,
        #[arg(long, default_value_t = 0)]
        offset: i64,
    },
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

pub fn serve(args: ServeArgs) -> Result<()> {
    // arkworks instruments every gadget call (target "gr1cs") and formats
    // its arguments when enabled: ruinously slow, so it stays off.
    let wanted = std::env::var("PROOFMINT_LOG").unwrap_or_else(|_| "warn,proofmint=info".into());
    let filter = tracing_subscriber::EnvFilter::try_new(format!("{wanted},gr1cs=off"))
        .context("PROOFMINT_LOG")?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let config = args.config()?;
    runtime()?.block_on(proofmint_service::serve(config))
}

pub fn apikey(command: ApiKeyCommand) -> Result<()> {
    runtime()?.block_on(async move {
        match command {
            ApiKeyCommand::Create {
                name,
                max_in_flight,
                per_minute,
                store,
            } => {
                let config = store.config()?;
                let store = proofmint_service::open_store(&config).await?;
                let (key, token) = store
                    .create_api_key(
                        &name,
                        max_in_flight.unwrap_or(config.key_max_in_flight),
                        per_minute.unwrap_or(config.key_per_minute),
                    )
                    .await?;
                eprintln!(
                    "created key {} ({}): {} jobs in flight, {} a minute; the token is shown once:",
                    key.id, key.name, key.max_in_flight, key.per_minute
                );
                println!("{token}");
            }
            ApiKeyCommand::List { store } => {
                let config = store.config()?;
                let store = proofmint_service::open_store(&config).await?;
                for key in store.list_api_keys().await? {
                    let state = if key.revoked_ms.is_some() {
                        "revoked"
                    } else {
                        "active"
                    };
                    println!(
                        "{}\t{}\t{state}\tin-flight {}\tper-minute {}",
                        key.id, key.name, key.max_in_flight, key.per_minute
                    );
                }
            }
            ApiKeyCommand::Revoke { key, store } => {
                let config = store.config()?;
                let store = proofmint_service::open_store(&config).await?;
                if !store.revoke_api_key(&key).await? {
                    bail!("no active key {key}");
                }
                println!("revoked {key}");
            }
        }
        Ok(())
    })
}

fn write_proof(out: &Path, claim: &proofmint_verifier::ClaimProof) -> Result<()> {
    files::write_proof(out, claim)?;
    println!(
        "wrote {}, {} and {}",
        out.join(files::PROOF_BIN).display(),
        out.join(files::PROOF_JSON).display(),
        out.join(files::PUBLIC_JSON).display()
    );
    Ok(())
}

pub fn client(server: &str, command: ClientCommand) -> Result<()> {
    let token = std::env::var("PROOFMINT_TOKEN")
        .context("PROOFMINT_TOKEN must hold an API token (`proofmint apikey create`)")?;
    let client = Client::new(server, &token)?;
    runtime()?.block_on(async move {
        match command {
            ClientCommand::Submit {
                epoch,
                node,
                slots,
                key_digest,
                from_index,
                priority,
                deadline_secs,
                backend,
                idempotency_key,
            } => {
                let bytes = files::read_capped(&epoch.join(files::EPOCH_BIN))?;
                let request = SubmitRequest {
                    bundle: None,
                    bundle_digest: None,
                    node,
                    from_index,
                    slots,
                    key_digest,
                    priority,
                    deadline_secs,
                    backend,
                    webhook_url: None,
                };
                let submitted = client
                    .submit_bundle(bytes, request, idempotency_key.as_deref())
                    .await?;
                println!("{}", submitted.id);
            }
            ClientCommand::Status { id } => {
                let job = client.status(&id, Duration::ZERO).await?;
                println!("{}", serde_json::to_string_pretty(&job)?);
            }
            ClientCommand::Wait { id, out, timeout } => {
                let job = client.wait(&id, Duration::from_secs(timeout)).await?;
                match job.state {
                    proofmint_service::JobState::Succeeded => {
                        eprintln!("job {id} succeeded");
                        if let Some(out) = out {
                            write_proof(&out, &client.result(&id).await?)?;
                        }
                    }
                    state => bail!(
                        "job {id} {}: {}",
                        state.as_str(),
                        job.error.unwrap_or_default()
                    ),
                }
            }
            ClientCommand::Fetch { id, out } => write_proof(&out, &client.result(&id).await?)?,
            ClientCommand::Cancel { id } => {
                let job = client.cancel(&id).await?;
                println!(
                    "{id}: {}{}",
                    job.state.as_str(),
                    if job.cancel_requested && !job.state.is_terminal() {
                        " (stopping at its next step)"
                    } else {
                        ""
                    }
                );
            }
            ClientCommand::List {
                state,
                limit,
                offset,
            } => {
                let page = client.list(state.as_deref(), limit, offset).await?;
                for job in page.jobs {
                    println!(
                        "{}\t{}\t{}\tslots {}\t{}",
                        job.id,
                        job.state.as_str(),
                        job.node,
                        job.slots,
                        job.error.unwrap_or_default()
                    );
                }
            }
        }
        Ok(())
    })
}
