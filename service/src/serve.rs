//! `proofmint serve`: opens the store, loads the keys, starts the workers,
//! the reaper and the HTTP API, and shuts down gracefully on SIGINT or
//! SIGTERM: it stops taking jobs and submissions, lets running proofs finish
//! for the grace period, then stops them at their next step and hands their
//! jobs back to the queue.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use proofmint_gpu::select_backend;
use tokio::sync::watch;

use crate::api::{router, App};
use crate::config::ServeConfig;
use crate::keys::KeySet;
use crate::metrics::{available_memory, Metrics};
use crate::store::{JobStore, SqlStore};
use crate::webhook::Webhooks;
use crate::worker::Pool;

/// Opens the job store a configuration names, creating the data directory.
pub async fn open_store(config: &ServeConfig) -> Result<Arc<dyn JobStore>> {
    if config.database.is_none() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    }
    let store = SqlStore::open(&config.database_url()).await?;
    Ok(Arc::new(store))
}

/// A service ready to run: its store, keys, workers' pool and router.
pub struct Service {
    pub app: Arc<App>,
    shutdown: watch::Sender<bool>,
}

impl Service {
    /// Builds the service over `store` with `keys` already loaded.
    pub fn new(config: ServeConfig, store: Arc<dyn JobStore>, keys: KeySet) -> Result<Self> {
        let (backend, picked) =
            select_backend(config.backend_choice()?, config.icicle_dir.as_deref())?;
        tracing::info!("{picked}");
        Self::with_backend(config, store, keys, Arc::from(backend))
    }

    /// [`Service::new`] on a given backend.
    pub fn with_backend(
        config: ServeConfig,
        store: Arc<dyn JobStore>,
        keys: KeySet,
        backend: Arc<dyn proofmint_gpu::Backend>,
    ) -> Result<Self> {
        let metrics = Arc::new(Metrics::new());
        metrics.set_workers(config.workers);
        let budget = match config.memory_budget_mib {
            Some(mib) => mib << 20,
            None => available_memory().map_or(u64::MAX, |bytes| bytes / 5 * 4),
        };
        let pool = Arc::new(Pool::new(
            store,
            keys,
            backend,
            metrics,
            Webhooks::new(config.webhook_secret.clone()),
            config.lease(),
            Duration::from_millis(config.poll_ms),
            Duration::from_secs(config.shutdown_grace_secs),
            budget,
        ));
        let (shutdown, _) = watch::channel(false);
        Ok(Self {
            app: Arc::new(App {
                pool,
                config,
                accepting: AtomicBool::new(true),
                last_bundle: std::sync::Mutex::new(None),
            }),
            shutdown,
        })
    }

    /// Starts the workers and the reaper; returns their handles.
    pub fn start_background(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let pool = &self.app.pool;
        let mut tasks = Vec::new();
        let host = hostname();
        for i in 0..self.app.config.workers {
            let name = format!("{host}/{}/w{i}", std::process::id());
            tasks.push(tokio::spawn(
                pool.clone().run_worker(name, self.shutdown.subscribe()),
            ));
        }
        tasks.push(tokio::spawn(reaper(
            pool.clone(),
            Duration::from_secs(self.app.config.retention_hours * 3600),
            self.shutdown.subscribe(),
        )));
        tasks
    }

    /// Begins a graceful shutdown.
    pub fn shut_down(&self) {
        self.app.accepting.store(false, Ordering::SeqCst);
        let _ = self.shutdown.send(true);
    }

    /// Serves on `listener` until SIGINT/SIGTERM, then shuts down gracefully.
    pub async fn run(self, listener: tokio::net::TcpListener) -> Result<()> {
        let background = self.start_background();
        let router = router(self.app.clone());
        let (stop_http, stopped) = watch::channel(false);
        let server = tokio::spawn(async move {
            let mut stopped = stopped;
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await
        });
        wait_for_signal().await;
        tracing::info!("shutting down: no new jobs; running proofs get the grace period");
        self.shut_down();
        for task in background {
            let _ = task.await;
        }
        let _ = stop_http.send(true);
        server.await??;
        tracing::info!("stopped");
        Ok(())
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("a SIGTERM handler installs");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "host".into())
}

/// Returns expired leases to the queue every third of a lease, and prunes
/// old jobs every ten minutes.
async fn reaper(pool: Arc<Pool>, retention: Duration, mut shutdown: watch::Receiver<bool>) {
    let every = pool.lease / 3;
    let mut last_prune: Option<std::time::Instant> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        match pool.store.reap().await {
            Ok(reaped) => {
                if reaped.lost_leases() > 0 {
                    pool.metrics.lease_expired(reaped.lost_leases());
                    tracing::warn!(?reaped, "expired leases reaped");
                }
                if reaped.requeued > 0 {
                    pool.wake.notify_one();
                }
                for id in &reaped.ended {
                    if let Ok(Some(job)) = pool.store.job(id).await {
                        pool.job_ended(&job.id, job.state, job.webhook_url.as_deref());
                    }
                }
            }
            Err(e) => {
                pool.metrics.store_error();
                tracing::warn!("reaper: {e}");
            }
        }
        if last_prune.is_none_or(|t| t.elapsed() > Duration::from_secs(600)) {
            last_prune = Some(std::time::Instant::now());
            match pool.store.prune(retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!("pruned {n} finished jobs"),
                Err(e) => tracing::warn!("prune: {e}"),
            }
        }
    }
}

/// `proofmint serve`: the whole service from a configuration.
pub async fn serve(config: ServeConfig) -> Result<()> {
    config.validate()?;
    let store = open_store(&config).await?;
    tracing::info!(store = store.kind(), "job store open");
    let dirs = config.keys.clone();
    let keys = tokio::task::spawn_blocking(move || KeySet::load(&dirs)).await??;
    for key in keys.iter() {
        tracing::info!(preset = %key.preset(), digest = %key.digest, dir = %key.dir.display(), "key loaded");
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    eprintln!(
        "proofmint serve: listening on http://{} ({} store, {} key(s))",
        listener.local_addr()?,
        store.kind(),
        keys.iter().count()
    );
    Service::new(config, store, keys)?.run(listener).await
}
