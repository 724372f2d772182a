//! The verifying-key file (`claim.vk`): the Groth16 verifying key of one claim
//! circuit shape, labelled with how it was set up.
//!
//! Layout (FORMATS.md): `PMVK`, version 1, slots u32, depth u8, setup u8
//! (0 development, 1 ceremony), then alpha_g1, beta_g2, gamma_g2, delta_g2
//! compressed, then a u32 count (always 7) and the IC points compressed.
//! Version 2, for keys from a ceremony transcript, adds the transcript's
//! 64-byte hash after the setup byte.
//! The key's digest is SHA-256 of those bytes; proofs and proving keys name
//! the digest of the key they belong to.

use ark_bn254::{Bn254, G1Affine, G2Affine};
use ark_groth16::VerifyingKey;
use ark_serialize::Compress;
use proofmint_circuits::claim::{ClaimError, ClaimShape, NUM_PUBLIC_INPUTS};
use proofmint_circuits::codec::{DecodeError, Reader};
use sha2::{Digest, Sha256};

use crate::points::{put_point, put_points, read_point, read_points};

pub const MAGIC: &[u8; 4] = b"PMVK";
pub const VERSION: u8 = 1;
/// The version of a key that records its ceremony transcript.
pub const VERSION_TRANSCRIPT: u8 = 2;

/// How a key's toxic waste was handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupKind {
    /// One machine knew the toxic waste: anyone holding it can forge proofs.
    Development,
    /// From a multi-party ceremony.
    Ceremony,
}

impl SetupKind {
    pub fn label(self) -> &'static str {
        match self {
            SetupKind::Development => {
                "development setup: NOT FOR PRODUCTION (whoever ran the setup can forge proofs)"
            }
            SetupKind::Ceremony => "multi-party ceremony",
        }
    }

    pub fn to_byte(self) -> u8 {
        match self {
            SetupKind::Development => 0,
            SetupKind::Ceremony => 1,
        }
    }

    pub fn from_byte(byte: u8) -> Result<Self, DecodeError> {
        match byte {
            0 => Ok(SetupKind::Development),
            1 => Ok(SetupKind::Ceremony),
            other => Err(DecodeError::Invalid {
                field: "setup",
                reason: format!("unknown setup kind {other}"),
            }),
        }
    }
}

/// Why a key was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key file: {0}")]
    Decode(#[from] DecodeError),
    #[error("key shape: {0}")]
    BadShape(#[from] ClaimError),
    #[error("the key is for a circuit of {found}, but {expected} was expected")]
    ShapeMismatch {
        expected: ClaimShape,
        found: ClaimShape,
    },
    #[error("the key has {found} public inputs, the claim circuit has {NUM_PUBLIC_INPUTS}")]
    PublicInputCount { found: usize },
    #[error("the proof was made with key {proof_key}, not with this key ({this_key})")]
    DigestMismatch { this_key: String, proof_key: String },
}

/// A claim circuit's verifying key with its shape and provenance.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyingKeyFile {
    pub shape: ClaimShape,
    pub setup: SetupKind,
    /// The hash of the ceremony transcript the key came from (BLAKE2b-512 of
    /// the circuit hash and every contribution), where recorded.
    pub transcript: Option<[u8; 64]>,
    pub vk: VerifyingKey<Bn254>,
}

impl VerifyingKeyFile {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(MAGIC);
        out.push(match self.transcript {
            Some(_) => VERSION_TRANSCRIPT,
            None => VERSION,
        });
        out.extend_from_slice(&(self.shape.slots as u32).to_be_bytes());
        out.push(self.shape.depth as u8);
        out.push(self.setup.to_byte());
        if let Some(transcript) = &self.transcript {
            out.extend_from_slice(transcript);
        }
        put_point(&mut out, &self.vk.alpha_g1, Compress::Yes);
        put_point(&mut out, &self.vk.beta_g2, Compress::Yes);
        put_point(&mut out, &self.vk.gamma_g2, Compress::Yes);
        put_point(&mut out, &self.vk.delta_g2, Compress::Yes);
        put_points(&mut out, &self.vk.gamma_abc_g1, Compress::Yes);
        out
    }

    /// Reads a key written by [`Self::to_bytes`]: every point on the curve and
    /// in the subgroup, exactly 7 IC points, nothing trailing.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let mut reader = Reader::new(bytes);
        let key = Self::read(&mut reader)?;
        reader.finish("verifying key")?;
        Ok(key)
    }

    /// Reads a key from the middle of a larger artifact.
    pub fn read(reader: &mut Reader<'_>) -> Result<Self, KeyError> {
        let magic: [u8; 4] = reader.array("magic")?;
        if &magic != MAGIC {
            return Err(DecodeError::BadMagic {
                expected: "verifying key",
                found: magic,
            }
            .into());
        }
        let version = reader.u8("version")?;
        if version != VERSION && version != VERSION_TRANSCRIPT {
            return Err(DecodeError::UnknownVersion {
                artifact: "verifying key",
                found: version,
                supported: VERSION_TRANSCRIPT,
            }
            .into());
        }
        let slots = reader.u32("slots")? as usize;
        let depth = reader.u8("depth")? as usize;
        let shape = ClaimShape::new(slots, depth)?;
        let setup = SetupKind::from_byte(reader.u8("setup")?)?;
        let transcript = match version {
            VERSION_TRANSCRIPT if setup == SetupKind::Ceremony => {
                Some(reader.array::<64>("transcript")?)
            }
            VERSION_TRANSCRIPT => {
                return Err(DecodeError::Invalid {
                    field: "transcript",
                    reason: "only ceremony keys record a transcript".into(),
                }
                .into())
            }
            _ => None,
        };
        let alpha_g1: G1Affine = read_point(reader, "alpha_g1", Compress::Yes)?;
        let beta_g2: G2Affine = read_point(reader, "beta_g2", Compress::Yes)?;
        let gamma_g2: G2Affine = read_point(reader, "gamma_g2", Compress::Yes)?;
        let delta_g2: G2Affine = read_point(reader, "delta_g2", Compress::Yes)?;
        let gamma_abc_g1: Vec<G1Affine> = read_points(reader, "ic", Compress::Yes)?;
        if gamma_abc_g1.len() != NUM_PUBLIC_INPUTS + 1 {
            return Err(KeyError::PublicInputCount {
                found: gamma_abc_g1.len().saturating_sub(1),
            });
        }
        let vk = VerifyingKey {
            alpha_g1,
            beta_g2,
            gamma_g2,
            delta_g2,
            gamma_abc_g1,
        };
        Ok(Self {
            shape,
            setup,
            transcript,
            vk,
        })
    }

    /// How the key was made, in words: the setup's label, and the
    /// transcript hash of a ceremony key that records one.
    pub fn provenance(&self) -> String {
        match &self.transcript {
            Some(transcript) => format!(
                "{}, transcript 0x{}",
                self.setup.label(),
                hex::encode(transcript)
            ),
            None => self.setup.label().to_owned(),
        }
    }

    /// SHA-256 of the canonical encoding: the key's identity.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.to_bytes()).into()
    }

    pub fn digest_hex(&self) -> String {
        format!("0x{}", hex::encode(self.digest()))
    }

    /// Refuses a key of another shape.
    pub fn expect_shape(&self, expected: ClaimShape) -> Result<(), KeyError> {
        if self.shape != expected {
            return Err(KeyError::ShapeMismatch {
                expected,
                found: self.shape,
            });
        }
        Ok(())
    }
}
