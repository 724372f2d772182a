//! proofmint's circuits and their native reference logic.
//!
//! This crate owns what a receipt *is* and how it is committed to: the receipt
//! format ([`receipt`]), the on-chain payments that back receipts ([`payment`]), circomlib-compatible Poseidon over BN254 ([`poseidon`]),
//! the epoch Merkle tree ([`tree`]), the epoch bundle ([`epoch`]) and the
//! reward-claim R1CS circuit ([`claim`]). It knows nothing of GPUs, key files
//! or proof systems beyond the constraint system.

pub mod binfile;
pub mod claim;
pub mod codec;
pub mod epoch;
pub mod field;
pub mod payment;
pub mod poseidon;
pub mod ptau;
pub mod receipt;
pub mod tree;

pub use ark_bn254::Fr;
pub use claim::{ClaimCircuit, ClaimPublic, ClaimShape, ClaimWitness, SlotAssignment};
pub use epoch::{EpochBundle, EpochError};
pub use payment::{job_id_of, Payment, Payments};
pub use receipt::{Receipt, ReceiptDomain, ReceiptError, SignedReceipt};
pub use tree::EpochTree;
