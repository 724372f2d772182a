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

#[cfg(all(feature = "asm", not(target_arch = "x86_64")))]
compile_error!("the asm feature is halo2curves' x86-64 assembly: build without it on this target");

/// Whether this build's field arithmetic runs on this CPU. With the `asm`
/// feature (which the `proofmint` binary turns on for x86-64) halo2's field
/// arithmetic is MULX/ADCX/ADOX assembly, which a CPU without BMI2 and ADX
/// cannot execute (the process would die on an illegal instruction): every
/// command that proves or verifies work calls this first, and such a CPU
/// gets [`evidence::WorkError::Cpu`] instead.
pub fn check_cpu() -> Result<(), evidence::WorkError> {
    #[cfg(all(feature = "asm", target_arch = "x86_64"))]
    if !(std::is_x86_feature_detected!("bmi2") && std::is_x86_feature_detected!("adx")) {
        return Err(evidence::WorkError::Cpu);
    }
    Ok(())
}

/// The halo2 this crate proves with (Axiom's fork), for callers that make
/// parameters or keys themselves.
pub use halo2_proofs;
