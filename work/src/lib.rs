//! Work proofs: halo2 circuits with KZG commitments on BN254 (Axiom's
//! maintained fork of halo2_proofs) that prove a job's output really is the
//! function of its input, so that a node cannot simulate work.
//!
//! Every shape of every kernel uses one universal setup: the KZG structured
//! reference string taken from a public Powers of Tau file in snarkjs's
//! `.ptau` format ([`srs`]), the same files the Groth16 ceremony starts from.

pub mod commitment;
pub mod evidence;
pub mod gemm;
pub mod npy;
pub mod poseidon;
pub mod proof;
pub mod srs;

/// The halo2 this crate proves with (Axiom's fork), for callers that make
/// parameters or keys themselves.
pub use halo2_proofs;
