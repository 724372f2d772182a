//! Claim verification: a Groth16 proof (ark-groth16's verifier, BN254) against
//! a verifying-key file, failing with a typed error, never a bare `false`.

use ark_bn254::{Bn254, Fr};
use ark_groth16::{prepare_verifying_key, Groth16, PreparedVerifyingKey, Proof};
use proofmint_circuits::claim::NUM_PUBLIC_INPUTS;

use crate::keys::{KeyError, VerifyingKeyFile};
use crate::proof::ClaimProof;

/// Why a claim was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("the proof does not verify against these public inputs and this key")]
    InvalidProof,
    #[error("expected {NUM_PUBLIC_INPUTS} public inputs, found {0}")]
    PublicInputCount(usize),
}

/// A verifying key prepared once for many verifications.
pub struct ClaimVerifier {
    key: VerifyingKeyFile,
    digest: [u8; 32],
    prepared: PreparedVerifyingKey<Bn254>,
}

impl ClaimVerifier {
    pub fn new(key: VerifyingKeyFile) -> Self {
        let prepared = prepare_verifying_key(&key.vk);
        let digest = key.digest();
        Self {
            key,
            digest,
            prepared,
        }
    }

    pub fn key(&self) -> &VerifyingKeyFile {
        &self.key
    }

    /// Checks the proof's shape and key digest, then the proof itself.
    pub fn verify(&self, claim: &ClaimProof) -> Result<(), VerifyError> {
        self.key.expect_shape(claim.shape)?;
        if claim.key_digest != self.digest {
            return Err(KeyError::DigestMismatch {
                this_key: format!("0x{}", hex::encode(self.digest)),
                proof_key: format!("0x{}", hex::encode(claim.key_digest)),
            }
            .into());
        }
        self.verify_inputs(&claim.public.to_inputs(), &claim.proof)
    }

    /// The bare Groth16 check on public inputs (e.g. from snarkjs JSON).
    pub fn verify_inputs(&self, inputs: &[Fr], proof: &Proof<Bn254>) -> Result<(), VerifyError> {
        if inputs.len() != NUM_PUBLIC_INPUTS {
            return Err(VerifyError::PublicInputCount(inputs.len()));
        }
        match Groth16::<Bn254>::verify_proof(&self.prepared, proof, inputs) {
            Ok(true) => Ok(()),
            _ => Err(VerifyError::InvalidProof),
        }
    }
}

/// Verifies one claim proof against a key.
pub fn verify_claim(key: &VerifyingKeyFile, claim: &ClaimProof) -> Result<(), VerifyError> {
    ClaimVerifier::new(key.clone()).verify(claim)
}
