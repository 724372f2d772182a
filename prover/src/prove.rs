//! The claim prover: our Groth16 prover ([`crate::groth16`]) over the claim
//! circuit, on a chosen backend, writing a [`ClaimProof`] bound to its key.

use ark_bn254::Fr;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
use proofmint_circuits::claim::ClaimCircuit;
use proofmint_gpu::{Backend, CpuBackend};
use proofmint_verifier::keys::KeyError;
use proofmint_verifier::verify::ClaimVerifier;
use proofmint_verifier::ClaimProof;
use rand::{CryptoRng, RngCore};

use crate::keys::ProvingKeyFile;
use crate::{groth16, resident};

/// Why a claim could not be proven.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("the witness does not satisfy the claim circuit (first failing constraint: {0})")]
    Unsatisfied(String),
    #[error(
        "the proof did not verify against the key's own verifying key: the proving key is corrupt"
    )]
    SelfCheck,
    #[error("proving failed: {0}")]
    Synthesis(#[from] ark_relations::gr1cs::SynthesisError),
    #[error("proving failed: {0}")]
    Backend(#[from] groth16::Groth16Error),
}

/// Checks the witness against the circuit without proving: a cheap way to
/// refuse a bad claim with a reason instead of producing a proof that fails.
pub fn check_witness(circuit: &ClaimCircuit) -> Result<(), ProveError> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    circuit.clone().generate_constraints(cs.clone())?;
    match cs.which_is_unsatisfied()? {
        None => Ok(()),
        Some(name) => Err(ProveError::Unsatisfied(name)),
    }
}

/// Proves `circuit` with `key`. The circuit's shape must be the key's.
///
/// The proof is verified before it is returned: a proof that would not verify
/// (a bad witness, a corrupted key) never leaves the prover, and the error
/// names the first unsatisfied constraint where there is one.
pub fn prove_claim<R: RngCore + CryptoRng>(
    key: &ProvingKeyFile,
    circuit: ClaimCircuit,
    backend: &dyn Backend,
    rng: &mut R,
) -> Result<ClaimProof, ProveError> {
    key.key.expect_shape(circuit.shape)?;
    let public = circuit.public;
    let shape = circuit.shape;
    let (instance, witness) = circuit.witness()?;
    let verifier = ClaimVerifier::new(key.key.clone());
    let claim = |proof| ClaimProof {
        shape,
        key_digest: key.key.digest(),
        public,
        proof,
    };
    let proof = prove_with(key, key.matrices()?, &instance, &witness, backend, rng)?;
    let mut proven = claim(proof);
    if verifier.verify(&proven).is_ok() {
        return Ok(proven);
    }
    check_witness(&circuit)?;
    // A satisfying witness whose proof does not verify: the key is corrupt,
    // or the matrices are. Matrices made from a cached template are built
    // again from the circuit (and the file forgotten), and the proof made
    // once more; only then is the key to blame.
    if let Some(fresh) = key.rebuild_cached_matrices() {
        eprintln!(
            "warning: the cached claim template gave a proof that does not verify; built it again"
        );
        proven = claim(prove_with(key, fresh?, &instance, &witness, backend, rng)?);
        if verifier.verify(&proven).is_ok() {
            return Ok(proven);
        }
    }
    Err(ProveError::SelfCheck)
}

/// A proof with `matrices`, on the device where `backend` has one and the
/// key fits there, else on the host (with the witness map of the key's form).
fn prove_with<R: RngCore + CryptoRng>(
    key: &ProvingKeyFile,
    matrices: &groth16::ConstraintMatrices,
    instance: &[Fr],
    witness: &[Fr],
    backend: &dyn Backend,
    rng: &mut R,
) -> Result<ark_groth16::Proof<ark_bn254::Bn254>, ProveError> {
    Ok(
        match backend.resident().map(|device| key.resident_on(device)) {
            None => groth16::prove_assignment(
                &key.pk, key.form, matrices, instance, witness, backend, rng,
            )?,
            Some(Ok(resident)) => resident::prove_assignment_resident(
                &key.pk, &resident, matrices, instance, witness, rng,
            )?,
            // The key does not fit on the device (out of memory, most often):
            // this proof is made on the CPU instead, and says so.
            Some(Err(e)) => {
                eprintln!(
                    "warning: the proving key could not be put on {} ({e}); proving on the CPU",
                    backend.name()
                );
                groth16::prove_assignment(
                    &key.pk,
                    key.form,
                    matrices,
                    instance,
                    witness,
                    &CpuBackend::new(),
                    rng,
                )?
            }
        },
    )
}
