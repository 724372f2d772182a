//! The claim-proof file (`claim.proof`): a Groth16 proof with its public
//! inputs, the circuit shape and the digest of the key it was made for.
//!
//! Layout (FORMATS.md): `PMCP`, version 1, slots u32, depth u8, key digest
//! (32 bytes), the six public inputs as 32-byte big-endian field elements
//! (`root, epoch, node, totalUnits, firstIndex, lastIndex`), then A (G1), B
//! (G2) and C (G1) compressed: 362 bytes in all.

use ark_bn254::Bn254;
use ark_groth16::Proof;
use ark_serialize::Compress;
use proofmint_circuits::claim::{ClaimPublic, ClaimShape, NUM_PUBLIC_INPUTS};
use proofmint_circuits::codec::{put_fr, Reader};

use crate::keys::KeyError;
use crate::points::{put_point, read_point};

pub const MAGIC: &[u8; 4] = b"PMCP";
pub const VERSION: u8 = 1;
/// Size of a claim-proof file.
pub const PROOF_FILE_LEN: usize = 5 + 4 + 1 + 32 + 32 * NUM_PUBLIC_INPUTS + 32 + 64 + 32;

/// A claim proof as it crosses process boundaries.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimProof {
    pub shape: ClaimShape,
    pub key_digest: [u8; 32],
    pub public: ClaimPublic,
    pub proof: Proof<Bn254>,
}

impl ClaimProof {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PROOF_FILE_LEN);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&(self.shape.slots as u32).to_be_bytes());
        out.push(self.shape.depth as u8);
        out.extend_from_slice(&self.key_digest);
        for input in self.public.to_inputs() {
            put_fr(&mut out, &input);
        }
        put_point(&mut out, &self.proof.a, Compress::Yes);
        put_point(&mut out, &self.proof.b, Compress::Yes);
        put_point(&mut out, &self.proof.c, Compress::Yes);
        out
    }

    /// Reads a proof file: canonical public inputs, points on the curve and in
    /// the subgroup, nothing missing or trailing.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let mut reader = Reader::new(bytes);
        reader.header("claim proof", MAGIC, VERSION)?;
        let slots = reader.u32("slots")? as usize;
        let depth = reader.u8("depth")? as usize;
        let shape = ClaimShape::new(slots, depth)?;
        let key_digest = reader.array::<32>("key digest")?;
        let names = proofmint_circuits::claim::PUBLIC_INPUT_NAMES;
        let mut inputs = [Default::default(); NUM_PUBLIC_INPUTS];
        for (input, name) in inputs.iter_mut().zip(names) {
            *input = reader.fr(name)?;
        }
        let a = read_point(&mut reader, "proof.a", Compress::Yes)?;
        let b = read_point(&mut reader, "proof.b", Compress::Yes)?;
        let c = read_point(&mut reader, "proof.c", Compress::Yes)?;
        reader.finish("claim proof")?;
        Ok(Self {
            shape,
            key_digest,
            public: ClaimPublic::from_inputs(&inputs),
            proof: Proof { a, b, c },
        })
    }
}
