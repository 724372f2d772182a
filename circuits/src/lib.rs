//! proofmint's circuits and their native reference logic.
//!
//! This crate owns what a receipt *is* and how it is committed to: the receipt
//! format ([`receipt`]), circomlib-compatible Poseidon over BN254 ([`poseidon`]),
//! the epoch Merkle tree ([`tree`]), the epoch bundle ([`epoch`]) and the
//! reward-claim R1CS circuit ([`claim`]). It knows nothing of GPUs, key files
//! or proof systems beyond the constraint system.

pub mod claim;
pub mod codec;
pub mod epoch;
pub mod field;
pub mod poseidon;
pub mod receipt;
pub mod tree;

pub use ark_bn254::Fr;
pub use claim::{ClaimCircuit, ClaimPublic, ClaimShape, ClaimWitness, SlotAssignment};
pub use epoch::{EpochBundle, EpochError};
pub use receipt::{Receipt, ReceiptError, SignedReceipt};
pub use tree::EpochTree;
