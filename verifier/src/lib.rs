//! Verification of proofmint claims, receipts and epoch bundles.
//!
//! Small on purpose, so that operators can embed it: it depends on the
//! circuits crate (for the receipt format and native hashing), on
//! `ark-groth16`'s verifier and, for work proofs (feature `work`, on by
//! default), on the work kernels' crate (halo2); never on the prover, the
//! service or a GPU.
//!
//! - [`keys`]: the verifying-key file, its shape and digest.
//! - [`proof`]: the claim-proof file.
//! - [`verify`]: [`verify_claim`], a proof against a key.
//! - [`snarkjs`]: snarkjs's JSON layouts for keys, proofs and public inputs.
//! - [`audit`]: an epoch bundle re-checked from its content alone.
//! - [`poseidon_sol`]: circomlib's Poseidon as Solidity, for the registry's challenges.
//! - [`points`]: checked (de)serialization of curve points, shared with the prover.
//! - `work` (feature `work`): a work proof against its receipt, and a bundle's evidence.

pub mod audit;
pub mod keys;
pub mod points;
pub mod poseidon_sol;
pub mod proof;
pub mod snarkjs;
pub mod solidity;
pub mod verify;
#[cfg(feature = "work")]
pub mod work;

/// iden3's binary container and snarkjs's Powers of Tau, read and checked
/// (they live with the circuits, which the work kernels build on).
pub use proofmint_circuits::{binfile, ptau};

pub use audit::{audit, AuditFailure, AuditReport};
pub use keys::{KeyError, SetupKind, VerifyingKeyFile};
pub use proof::ClaimProof;
pub use verify::{verify_claim, VerifyError};
