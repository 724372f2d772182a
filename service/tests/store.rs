//! The job store's contract, run on both databases: embedded SQLite and a
//! throwaway PostgreSQL cluster (skipped, loudly, where PostgreSQL is not
//! installed and PROOFMINT_REQUIRE_PG is unset).

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use proofmint_service::store::{
    JobFilter, JobResult, NewJob, Renewal, Stop, SubmitLimits, SubmitOutcome, TakeOffer,
};
use proofmint_service::{JobState, JobStore, SqlStore};

const KEY: &str = "key-digest-a";

fn job(api_key: &str, idempotency: Option<&str>, request: &str) -> NewJob {
    NewJob {
        api_key: api_key.into(),
        idempotency_key: idempotency.map(str::to_string),
        request_digest: request.into(),
        priority: 0,
        deadline_ms: None,
        bundle_digest: "bundle".into(),
        node: "0x0000000000000000000000000000000000000001".into(),
        from_index: 0,
        slots: 4,
        depth: 8,
        key_digest: KEY.into(),
        backend: None,
        max_attempts: 3,
        webhook_url: None,
    }
}

const OPEN: SubmitLimits = SubmitLimits {
    max_queued: 1000,
    key_in_flight: 1000,
    key_per_minute: 1000,
};

fn offer() -> TakeOffer {
    TakeOffer {
        key_digests: vec![KEY.into()],
        backend: "cpu".into(),
    }
}

async fn submit(store: &Arc<dyn JobStore>, new: NewJob) -> String {
    match store.submit(new, OPEN).await.unwrap() {
        SubmitOutcome::Created(id) => id,
        other => panic!("expected a new job, got {other:?}"),
    }
}

fn result(tag: u8) -> JobResult {
    JobResult {
        proof: vec![tag; 8],
        ran_on: "cpu".into(),
        timings: serde_json::json!({"total_ms": 1}),
    }
}

const LEASE: Duration = Duration::from_secs(30);
const SHORT: Duration = Duration::from_millis(150);

async fn api_keys(store: Arc<dyn JobStore>) {
    let (key, token) = store.create_api_key("alice", 4, 10).await.unwrap();
    assert!(token.starts_with("pm_") && token.len() == 67);
    assert_eq!(
        store.authenticate(&token).await.unwrap().unwrap().id,
        key.id
    );
    assert!(store.authenticate("pm_wrong").await.unwrap().is_none());
    assert_eq!(store.list_api_keys().await.unwrap().len(), 1);
    assert!(store.revoke_api_key("alice").await.unwrap());
    assert!(store.authenticate(&token).await.unwrap().is_none());
    assert!(!store.revoke_api_key(&key.id).await.unwrap());
}

async fn idempotency(store: Arc<dyn JobStore>) {
    let first = submit(&store, job("k1", Some("retry-1"), "req-a")).await;
    let again = store
        .submit(job("k1", Some("retry-1"), "req-a"), OPEN)
        .await
        .unwrap();
    assert_eq!(again, SubmitOutcome::Existing(first.clone()));
    let changed = store
        .submit(job("k1", Some("retry-1"), "req-b"), OPEN)
        .await
        .unwrap();
    assert_eq!(changed, SubmitOutcome::Conflict(first.clone()));
    // Idempotency keys are per API key.
    let other = submit(&store, job("k2", Some("retry-1"), "req-a")).await;
    assert_ne!(other, first);
    assert_eq!(store.counts().await.unwrap()[0], (JobState::Queued, 2));
}

async fn limits(store: Arc<dyn JobStore>) {
    let queue = SubmitLimits {
        max_queued: 2,
        ..OPEN
    };
    for _ in 0..2 {
        assert!(matches!(
            store.submit(job("k1", None, "r"), queue).await.unwrap(),
            SubmitOutcome::Created(_)
        ));
    }
    assert_eq!(
        store.submit(job("k1", None, "r"), queue).await.unwrap(),
        SubmitOutcome::QueueFull
    );
    let in_flight = SubmitLimits {
        key_in_flight: 2,
        ..OPEN
    };
    assert_eq!(
        store.submit(job("k1", None, "r"), in_flight).await.unwrap(),
        SubmitOutcome::KeyInFlight
    );
    assert!(matches!(
        store.submit(job("k2", None, "r"), in_flight).await.unwrap(),
        SubmitOutcome::Created(_)
    ));
    let rate = SubmitLimits {
        key_per_minute: 3,
        ..OPEN
    };
    assert!(matches!(
        store.submit(job("k1", None, "r"), rate).await.unwrap(),
        SubmitOutcome::Created(_)
    ));
    match store.submit(job("k1", None, "r"), rate).await.unwrap() {
        SubmitOutcome::KeyRate(seconds) => assert!((1..=60).contains(&seconds), "{seconds}"),
        other => panic!("expected a rate limit, got {other:?}"),
    }
}

async fn take_order(store: Arc<dyn JobStore>) {
    let mut ids = Vec::new();
    for priority in [0, 5, -1] {
        let mut new = job("k1", None, "r");
        new.priority = priority;
        ids.push(submit(&store, new).await);
    }
    let mut icicle = job("k1", None, "r");
    icicle.backend = Some("icicle".into());
    let icicle = submit(&store, icicle).await;
    let mut late = job("k1", None, "r");
    late.deadline_ms = Some(1);
    let late = submit(&store, late).await;
    let mut other_key = job("k1", None, "r");
    other_key.key_digest = "another key".into();
    submit(&store, other_key).await;

    let mut taken = Vec::new();
    while let Some((lease, job)) = store.take("w", &offer(), LEASE).await.unwrap() {
        assert_eq!(job.state, JobState::Running);
        assert_eq!(lease.token, 1);
        assert_eq!(job.worker.as_deref(), Some("w"));
        taken.push(job.id);
    }
    // Highest priority first; the icicle job, the expired one and the other
    // key's are not this worker's.
    assert_eq!(taken, vec![ids[1].clone(), ids[0].clone(), ids[2].clone()]);
    let gpu = TakeOffer {
        key_digests: vec![KEY.into()],
        backend: "icicle".into(),
    };
    assert_eq!(
        store.take("g", &gpu, LEASE).await.unwrap().unwrap().1.id,
        icicle
    );
    let empty = TakeOffer {
        key_digests: vec![],
        backend: "cpu".into(),
    };
    assert!(store.take("w", &empty, LEASE).await.unwrap().is_none());
    let reaped = store.reap().await.unwrap();
    assert_eq!(
        (reaped.expired, reaped.ended.clone()),
        (1, vec![late.clone()])
    );
    assert_eq!(
        store.job(&late).await.unwrap().unwrap().state,
        JobState::Expired
    );
}

/// A lease that expires goes back to the queue; its worker's late writes are
/// refused by the fencing token; the first valid result wins, once.
async fn fencing(store: Arc<dyn JobStore>) {
    let id = submit(&store, job("k1", None, "r")).await;
    let (first, _) = store.take("w1", &offer(), SHORT).await.unwrap().unwrap();
    tokio::time::sleep(SHORT * 2).await;
    let reaped = store.reap().await.unwrap();
    assert_eq!((reaped.requeued, reaped.lost_leases()), (1, 1));
    assert_eq!(
        store.renew(&first, "proving", LEASE).await.unwrap(),
        Renewal::Lost
    );
    let (second, job) = store.take("w2", &offer(), LEASE).await.unwrap().unwrap();
    assert_eq!((second.token, job.attempts), (2, 2));
    // The first worker finishes late: dropped.
    assert!(!store.complete(&first, &result(1)).await.unwrap());
    assert!(store.fail(&first, "late", true).await.unwrap().is_none());
    assert!(!store.stop(&first, Stop::Cancelled, "late").await.unwrap());
    assert!(store.complete(&second, &result(2)).await.unwrap());
    // A duplicate of the winner, too.
    assert!(!store.complete(&second, &result(3)).await.unwrap());
    let job = store.job(&id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Succeeded);
    assert_eq!((job.attempts, job.lost_leases), (2, 1));
    assert_eq!(job.attempt_log.len(), 1);
    assert!(
        job.attempt_log[0].reason.contains("lease expired"),
        "{:?}",
        job.attempt_log
    );
    assert_eq!(job.attempt_log[0].worker, "w1");
    assert_eq!(store.proof(&id).await.unwrap(), Some(vec![2; 8]));
}

async fn heartbeat_holds(store: Arc<dyn JobStore>) {
    let id = submit(&store, job("k1", None, "r")).await;
    let (lease, _) = store.take("w", &offer(), SHORT).await.unwrap().unwrap();
    for _ in 0..6 {
        tokio::time::sleep(SHORT / 3).await;
        assert_eq!(
            store.renew(&lease, "proving: NTT", SHORT).await.unwrap(),
            Renewal::Held
        );
        assert_eq!(store.reap().await.unwrap().lost_leases(), 0);
    }
    let job = store.job(&id).await.unwrap().unwrap();
    assert_eq!(job.step.as_deref(), Some("proving: NTT"));
    assert_eq!(job.state, JobState::Running);
}

async fn retries(store: Arc<dyn JobStore>) {
    let id = submit(&store, job("k1", None, "r")).await;
    for attempt in 1..=3 {
        let (lease, _) = store.take("w", &offer(), LEASE).await.unwrap().unwrap();
        let next = store
            .fail(&lease, &format!("device fault {attempt}"), true)
            .await
            .unwrap();
        let expected = if attempt < 3 {
            JobState::Queued
        } else {
            JobState::Failed
        };
        assert_eq!(next, Some(expected));
    }
    let job = store.job(&id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Failed);
    let reasons: Vec<_> = job.attempt_log.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(
        reasons,
        ["device fault 1", "device fault 2", "device fault 3"]
    );
    assert!(job.finished_ms.is_some());
    // A refusal (the job's own fault) is not retried.
    let id = submit(&store, job_with_attempts(5)).await;
    let (lease, _) = store.take("w", &offer(), LEASE).await.unwrap().unwrap();
    assert_eq!(
        store
            .fail(&lease, "witness: no receipts", false)
            .await
            .unwrap(),
        Some(JobState::Failed)
    );
    assert_eq!(
        store.job(&id).await.unwrap().unwrap().error.as_deref(),
        Some("witness: no receipts")
    );
    // A job whose worker dies every time fails once its attempts are spent.
    let id = submit(&store, job_with_attempts(1)).await;
    store.take("w", &offer(), SHORT).await.unwrap().unwrap();
    tokio::time::sleep(SHORT * 2).await;
    let reaped = store.reap().await.unwrap();
    assert_eq!(
        (reaped.failed, reaped.lost, reaped.ended),
        (1, 1, vec![id.clone()])
    );
    let job = store.job(&id).await.unwrap().unwrap();
    assert_eq!((job.state, job.lost_leases), (JobState::Failed, 1));
}

fn job_with_attempts(n: i64) -> NewJob {
    let mut new = job("k1", None, "r");
    new.max_attempts = n;
    new
}

async fn cancel_and_hand_back(store: Arc<dyn JobStore>) {
    let queued = submit(&store, job("k1", None, "r")).await;
    assert_eq!(
        store.cancel(&queued).await.unwrap().map(|j| j.state),
        Some(JobState::Cancelled)
    );
    assert!(store.take("w", &offer(), LEASE).await.unwrap().is_none());
    assert!(store.cancel("job_none").await.unwrap().is_none());

    let running = submit(&store, job("k1", None, "r")).await;
    let (lease, _) = store.take("w", &offer(), LEASE).await.unwrap().unwrap();
    assert_eq!(
        store
            .cancel(&running)
            .await
            .unwrap()
            .map(|j| (j.state, j.cancel_requested)),
        Some((JobState::Running, true))
    );
    assert_eq!(
        store.renew(&lease, "proving", LEASE).await.unwrap(),
        Renewal::CancelRequested
    );
    assert!(store
        .stop(&lease, Stop::Cancelled, "cancelled (stopped at: proving)")
        .await
        .unwrap());
    assert_eq!(
        store.job(&running).await.unwrap().unwrap().state,
        JobState::Cancelled
    );

    // A cancelled job whose worker died ends cancelled, not queued again.
    let orphan = submit(&store, job("k1", None, "r")).await;
    store.take("w", &offer(), SHORT).await.unwrap().unwrap();
    store.cancel(&orphan).await.unwrap();
    tokio::time::sleep(SHORT * 2).await;
    assert_eq!(store.reap().await.unwrap().cancelled, 1);
    assert_eq!(
        store.job(&orphan).await.unwrap().unwrap().state,
        JobState::Cancelled
    );

    // Handing back (shutdown) queues it again without spending an attempt.
    let back = submit(&store, job("k1", None, "r")).await;
    let (lease, _) = store.take("w", &offer(), LEASE).await.unwrap().unwrap();
    assert!(store
        .stop(&lease, Stop::HandedBack, "handed back")
        .await
        .unwrap());
    let handed = store.job(&back).await.unwrap().unwrap();
    assert_eq!((handed.state, handed.attempts), (JobState::Queued, 0));
    let (again, _) = store.take("w", &offer(), LEASE).await.unwrap().unwrap();
    assert_eq!(again.job_id, back);

    // A running job past its deadline is told so by its heartbeat.
    let mut soon = job("k1", None, "r");
    soon.deadline_ms = Some(now_ms() + 300);
    let soon = submit(&store, soon).await;
    let (lease, _) = loop {
        let (lease, job) = store.take("w", &offer(), LEASE).await.unwrap().unwrap();
        if job.id == soon {
            break (lease, job);
        }
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        store.renew(&lease, "proving", LEASE).await.unwrap(),
        Renewal::DeadlinePassed
    );
    assert!(store.stop(&lease, Stop::Expired, "deadline").await.unwrap());
    assert_eq!(
        store.job(&soon).await.unwrap().unwrap().state,
        JobState::Expired
    );
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Many workers taking at once: every job is taken once and completed once.
async fn concurrent_takers(store: Arc<dyn JobStore>) {
    let mut ids = HashSet::new();
    for _ in 0..40 {
        ids.insert(submit(&store, job("k1", None, "r")).await);
    }
    let mut tasks = Vec::new();
    for w in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some((lease, _)) =
                store.take(&format!("w{w}"), &offer(), LEASE).await.unwrap()
            {
                assert!(store.complete(&lease, &result(w)).await.unwrap());
                mine.push(lease.job_id);
            }
            mine
        }));
    }
    let mut done = Vec::new();
    for task in tasks {
        done.extend(task.await.unwrap());
    }
    assert_eq!(done.len(), 40, "each job taken exactly once");
    assert_eq!(done.iter().cloned().collect::<HashSet<_>>(), ids);
    let page = store
        .list(&JobFilter {
            api_key: Some("k1".into()),
            state: Some(JobState::Succeeded),
            limit: 100,
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 40);
    assert!(page.iter().all(|j| j.attempts == 1));
}

async fn bundles_and_prune(store: Arc<dyn JobStore>) {
    store.put_bundle("bundle", b"bytes").await.unwrap();
    store.put_bundle("bundle", b"bytes").await.unwrap();
    assert_eq!(
        store.get_bundle("bundle").await.unwrap().as_deref(),
        Some(&b"bytes"[..])
    );
    assert!(store.has_bundle("bundle").await.unwrap());
    let id = submit(&store, job("k1", None, "r")).await;
    let (lease, _) = store.take("w", &offer(), LEASE).await.unwrap().unwrap();
    assert!(store.complete(&lease, &result(1)).await.unwrap());
    assert_eq!(store.prune(Duration::from_secs(3600)).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(store.prune(Duration::from_millis(1)).await.unwrap(), 1);
    assert!(store.job(&id).await.unwrap().is_none());
    assert!(!store.has_bundle("bundle").await.unwrap());
}

macro_rules! cases {
    ($open:expr, $($case:ident),*) => {{
        $(
            eprintln!("case {}", stringify!($case));
            $case($open(stringify!($case)).await).await;
        )*
    }};
}

/// Every case, each on a fresh store from `open`: one list for both databases.
macro_rules! contract {
    ($open:expr) => {
        cases!(
            $open,
            api_keys,
            idempotency,
            limits,
            take_order,
            fencing,
            heartbeat_holds,
            retries,
            cancel_and_hand_back,
            concurrent_takers,
            bundles_and_prune
        );
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_contract_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let open = |name: &str| {
        let path = dir.path().join(name);
        async move {
            std::fs::create_dir_all(&path).unwrap();
            Arc::new(SqlStore::open_data_dir(&path).await.unwrap()) as Arc<dyn JobStore>
        }
    };
    contract!(open);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_contract_on_postgres() {
    let Some(cluster) = common::PgCluster::start() else {
        return;
    };
    let open = |name: &str| {
        let url = cluster.database(name);
        async move { Arc::new(SqlStore::open(&url).await.unwrap()) as Arc<dyn JobStore> }
    };
    contract!(open);
}

#[tokio::test]
async fn sqlite_store_is_in_wal_mode_and_refuses_other_urls() {
    let dir = tempfile::tempdir().unwrap();
    let _store = SqlStore::open_data_dir(dir.path()).await.unwrap();
    // The journal mode is a property of the file: a second connection reads it.
    use sqlx::Connection;
    let url = format!("sqlite://{}", dir.path().join("jobs.db").display());
    let mut connection = sqlx::sqlite::SqliteConnection::connect(&url).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    assert!(SqlStore::open("mysql://x").await.is_err());
}
