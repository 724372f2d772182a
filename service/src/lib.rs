//! The proofmint prover service (`proofmint serve`): an HTTP API that takes
//! claim jobs, a durable job store with leases (SQLite embedded, PostgreSQL
//! shared by many servers), workers that keep their keys warm, and a client.
//!
//! No accepted job is lost: every state change is a guarded write in the
//! store, a worker that dies loses its lease to the reaper and its job runs
//! again elsewhere, and a proof is stored only while its lease holds, so a
//! job never ends with two results.

pub mod api;
pub mod client;
pub mod config;
pub mod keys;
pub mod metrics;
pub mod serve;
pub mod store;
pub mod webhook;
pub mod worker;

pub use config::ServeConfig;
pub use keys::KeySet;
pub use serve::{open_store, serve, Service};
pub use store::{JobState, JobStore, SqlStore};
