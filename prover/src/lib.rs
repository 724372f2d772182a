//! proofmint's prover side: Groth16 key setup for the claim circuit, the
//! claim prover, the artifact files they write, and the `proofmint` command
//! line (whose `main.rs` only parses arguments and calls [`cli`]).

pub mod ceremony;
pub mod chain;
pub mod circom;
pub mod cli;
pub mod demo;
pub mod files;
pub mod groth16;
pub mod keys;
pub mod matrices;
pub mod prove;
pub mod resident;
pub mod sample;
pub mod zkey;

pub use keys::{setup_development, ProvingKeyFile};
/// Work proofs as receipts' evidence, checked by the verifier crate.
pub use proofmint_verifier::work as evidence;
pub use prove::{prove_claim, ProveError};
