//! snarkjs's Groth16 proving keys (`.zkey`), read and checked: the keys a
//! phase-2 ceremony produces (`snarkjs zkey new / contribute / beacon`).
//!
//! The container is iden3's ([`proofmint_verifier::binfile`]), version 1.
//! Sections: 1, the protocol (u32, 1 for Groth16); 2, the Groth16 header
//! (u32 n8q, q, u32 n8r, r, u32 variables, u32 public inputs, u32 domain
//! size, then α₁, β₁, β₂, γ₂, δ₁, δ₂); 3, the IC points (public inputs and
//! the constant); 4, the A and B coefficients (u32 count, then u32 matrix,
//! u32 constraint, u32 signal, the value); 5 and 6, A and B in G1 per
//! variable; 7, B in G2; 8, C for each private variable; 9, the H query
//! (one point per domain element); 10, the ceremony's contributions.
//!
//! Points are encoded as in `.ptau` (Montgomery coordinates, zeros for
//! infinity, which A, B and C may hold for variables a matrix does not use).
//! Coefficients are stored as `c·R² mod r` (R = 2^256), which snarkjs reads
//! straight into its Montgomery form; they are divided by R² here.
//!
//! Beyond the container's own checks, [`Zkey::check_circuit`] holds section
//! 4 equal to the claim circuit's A and B matrices, with the extra rows
//! snarkjs adds (`A[constraints + i][i] = 1` for the constant and each
//! public input, which make the public inputs independent), so that a key
//! for another circuit is refused.

use std::io::{Read, Seek, SeekFrom};

use ark_bn254::{Fr, FrConfig, G1Affine, G2Affine};
use ark_ff::{BigInt, BigInteger, Field, MontConfig, PrimeField};
use proofmint_verifier::binfile::{
    self, read_points, u32_at, BinFile, BinFileError, G1_BYTES, G2_BYTES,
};

use crate::groth16::ConstraintMatrices;

/// Why a `.zkey` was refused.
#[derive(Debug, thiserror::Error)]
pub enum ZkeyError {
    #[error(transparent)]
    File(#[from] BinFileError),
    #[error("section 1 says protocol {0}; only Groth16 (1) is read")]
    Protocol(u32),
    #[error("header: {0}")]
    Header(String),
    #[error("coefficient {index}: {reason}")]
    Coefficient { index: usize, reason: String },
    #[error("the key is for another circuit: {0}")]
    OtherCircuit(String),
}

impl From<std::io::Error> for ZkeyError {
    fn from(error: std::io::Error) -> Self {
        Self::File(BinFileError::Io(error))
    }
}

/// One entry of section 4: `matrix` 0 is A, 1 is B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Coefficient {
    pub matrix: u32,
    pub constraint: u32,
    pub signal: u32,
    pub value: Fr,
}

/// A Groth16 `.zkey`, every point checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zkey {
    pub variables: usize,
    pub public_inputs: usize,
    pub domain_size: usize,
    pub alpha_g1: G1Affine,
    pub beta_g1: G1Affine,
    pub beta_g2: G2Affine,
    pub gamma_g2: G2Affine,
    pub delta_g1: G1Affine,
    pub delta_g2: G2Affine,
    pub ic: Vec<G1Affine>,
    pub coefficients: Vec<Coefficient>,
    pub a_g1: Vec<G1Affine>,
    pub b_g1: Vec<G1Affine>,
    pub b_g2: Vec<G2Affine>,
    pub c_g1: Vec<G1Affine>,
    pub h_g1: Vec<G1Affine>,
}

/// `R^-2` in Fr, to undo the coefficients' double Montgomery form.
fn r_squared_inverse() -> Fr {
    let r = Fr::from_bigint(<FrConfig as MontConfig<4>>::R).expect("R mod r is canonical");
    (r * r).inverse().expect("R is invertible")
}

impl Zkey {
    /// Reads and checks a `.zkey` file.
    pub fn open(path: &std::path::Path) -> Result<Self, ZkeyError> {
        let mut file = std::io::BufReader::new(std::fs::File::open(path)?);
        Self::read(&mut file)
    }

    /// [`Zkey::open`] on any seekable reader.
    pub fn read<R: Read + Seek>(file: &mut R) -> Result<Self, ZkeyError> {
        let sections = BinFile::read(file, "zkey", |v| v == 1, "1")?;
        let (at, _) = sections.sized(1, "protocol", 4)?;
        let mut word = [0u8; 4];
        file.seek(SeekFrom::Start(at))?;
        file.read_exact(&mut word)?;
        let protocol = u32::from_le_bytes(word);
        if protocol != 1 {
            return Err(ZkeyError::Protocol(protocol));
        }
        // Groth16 header: 4 + 32 + 4 + 32 + 3·4 + 3 G1 + 3 G2.
        let header_size = 4 + 32 + 4 + 32 + 12 + 3 * G1_BYTES + 3 * G2_BYTES;
        let (at, _) = sections.sized(2, "Groth16 header", header_size)?;
        let mut header = vec![0u8; header_size as usize];
        file.seek(SeekFrom::Start(at))?;
        file.read_exact(&mut header)?;
        let q = <ark_bn254::FqConfig as MontConfig<4>>::MODULUS.to_bytes_le();
        let r = <FrConfig as MontConfig<4>>::MODULUS.to_bytes_le();
        if u32_at(&header, 0) != 32
            || header[4..36] != q[..]
            || u32_at(&header, 36) != 32
            || header[40..72] != r[..]
        {
            return Err(ZkeyError::Header("not a key over BN254".into()));
        }
        let variables = u32_at(&header, 72) as usize;
        let public_inputs = u32_at(&header, 76) as usize;
        let domain_size = u32_at(&header, 80) as usize;
        if public_inputs >= variables {
            return Err(ZkeyError::Header(format!(
                "{public_inputs} public inputs among {variables} variables"
            )));
        }
        if !domain_size.is_power_of_two() || domain_size > 1 << 28 {
            return Err(ZkeyError::Header(format!(
                "domain size {domain_size} is not a power of two up to 2^28"
            )));
        }
        // α₁, β₁ (G1), β₂, γ₂ (G2), δ₁ (G1), δ₂ (G2), from byte 84.
        let g1_at = |at: usize, name: &str| {
            binfile::g1(&header[at..at + 64])
                .map_err(|reason| ZkeyError::Header(format!("{name}: {reason}")))
        };
        let g2_at = |at: usize, name: &str| {
            binfile::g2(&header[at..at + 128])
                .map_err(|reason| ZkeyError::Header(format!("{name}: {reason}")))
        };
        let alpha_g1 = g1_at(84, "α₁")?;
        let beta_g1 = g1_at(148, "β₁")?;
        let beta_g2 = g2_at(212, "β₂")?;
        let gamma_g2 = g2_at(340, "γ₂")?;
        let delta_g1 = g1_at(468, "δ₁")?;
        let delta_g2 = g2_at(532, "δ₂")?;

        let (v, p, d) = (variables as u64, public_inputs as u64, domain_size as u64);
        let ic_at = sections.sized(3, "IC", (p + 1) * G1_BYTES)?.0;
        let a_at = sections.sized(5, "A", v * G1_BYTES)?.0;
        let b1_at = sections.sized(6, "B in G1", v * G1_BYTES)?.0;
        let b2_at = sections.sized(7, "B in G2", v * G2_BYTES)?.0;
        let c_at = sections.sized(8, "C", (v - p - 1) * G1_BYTES)?.0;
        let h_at = sections.sized(9, "H", d * G1_BYTES)?.0;

        // Coefficients: the count, bounded by the section, then the entries.
        let (coefficients_at, coefficients_size) = sections.section(4, "coefficients")?;
        if coefficients_size < 4 {
            return Err(ZkeyError::Header(
                "section 4 is too short for its count".into(),
            ));
        }
        file.seek(SeekFrom::Start(coefficients_at))?;
        file.read_exact(&mut word)?;
        let count = u32::from_le_bytes(word) as u64;
        let entry = 12 + 32u64;
        sections.sized(4, "coefficients", 4 + count * entry)?;
        let mut bytes = vec![0u8; (count * entry) as usize];
        file.read_exact(&mut bytes)?;
        let unscale = r_squared_inverse();
        let coefficients = bytes
            .chunks_exact(entry as usize)
            .enumerate()
            .map(|(index, chunk)| {
                let bad = |reason: String| ZkeyError::Coefficient { index, reason };
                let matrix = u32_at(chunk, 0);
                let constraint = u32_at(chunk, 4);
                let signal = u32_at(chunk, 8);
                if matrix > 1 {
                    return Err(bad(format!("matrix {matrix} (only A = 0 and B = 1)")));
                }
                if signal as usize >= variables {
                    return Err(bad(format!("signal {signal} of {variables}")));
                }
                let limbs: [u64; 4] = std::array::from_fn(|i| {
                    u64::from_le_bytes(chunk[12 + 8 * i..20 + 8 * i].try_into().expect("8 bytes"))
                });
                let stored = Fr::from_bigint(BigInt(limbs))
                    .ok_or_else(|| bad("value not below r".into()))?;
                Ok(Coefficient {
                    matrix,
                    constraint,
                    signal,
                    value: stored * unscale,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;

        Ok(Self {
            variables,
            public_inputs,
            domain_size,
            alpha_g1,
            beta_g1,
            beta_g2,
            gamma_g2,
            delta_g1,
            delta_g2,
            ic: read_points(
                file,
                ic_at,
                (3, "IC"),
                public_inputs + 1,
                G1_BYTES,
                binfile::g1_or_infinity,
            )?,
            coefficients,
            a_g1: read_points(
                file,
                a_at,
                (5, "A"),
                variables,
                G1_BYTES,
                binfile::g1_or_infinity,
            )?,
            b_g1: read_points(
                file,
                b1_at,
                (6, "B in G1"),
                variables,
                G1_BYTES,
                binfile::g1_or_infinity,
            )?,
            b_g2: read_points(
                file,
                b2_at,
                (7, "B in G2"),
                variables,
                G2_BYTES,
                binfile::g2_or_infinity,
            )?,
            c_g1: read_points(
                file,
                c_at,
                (8, "C"),
                variables - public_inputs - 1,
                G1_BYTES,
                binfile::g1_or_infinity,
            )?,
            h_g1: read_points(
                file,
                h_at,
                (9, "H"),
                domain_size,
                G1_BYTES,
                binfile::g1_or_infinity,
            )?,
        })
    }

    /// The key as arkworks' Groth16 proving key (γ is whatever the file says;
    /// snarkjs's is 1). Its H query is in snarkjs's form: prove with
    /// [`crate::groth16::prove_assignment_circom`].
    pub fn proving_key(&self) -> ark_groth16::ProvingKey<ark_bn254::Bn254> {
        ark_groth16::ProvingKey {
            vk: ark_groth16::VerifyingKey {
                alpha_g1: self.alpha_g1,
                beta_g2: self.beta_g2,
                gamma_g2: self.gamma_g2,
                delta_g2: self.delta_g2,
                gamma_abc_g1: self.ic.clone(),
            },
            beta_g1: self.beta_g1,
            delta_g1: self.delta_g1,
            a_query: self.a_g1.clone(),
            b_g1_query: self.b_g1.clone(),
            b_g2_query: self.b_g2.clone(),
            h_query: self.h_g1.clone(),
            l_query: self.c_g1.clone(),
        }
    }

    /// Refuses the key unless it is for `matrices`: the same variables and
    /// public inputs, a domain that holds the constraints and snarkjs's
    /// extra rows, and section 4 equal to the A and B matrices plus those
    /// rows.
    pub fn check_circuit(&self, matrices: &ConstraintMatrices) -> Result<(), ZkeyError> {
        let (inputs, constraints, witnesses) = matrices.counts();
        let other = |what: String| Err(ZkeyError::OtherCircuit(what));
        if self.variables != inputs + witnesses || self.public_inputs != inputs - 1 {
            return other(format!(
                "{} variables and {} public inputs, the circuit has {} and {}",
                self.variables,
                self.public_inputs,
                inputs + witnesses,
                inputs - 1
            ));
        }
        if self.domain_size < constraints + inputs {
            return other(format!(
                "its domain of {} is smaller than the circuit's {} constraints and {inputs} input rows",
                self.domain_size, constraints
            ));
        }
        let mut expected = Vec::new();
        for constraint in 0..constraints {
            for matrix in 0..2 {
                for (value, signal) in matrices.row(matrix, constraint) {
                    expected.push(Coefficient {
                        matrix: matrix as u32,
                        constraint: constraint as u32,
                        signal: signal as u32,
                        value,
                    });
                }
            }
        }
        for signal in 0..inputs {
            expected.push(Coefficient {
                matrix: 0,
                constraint: (constraints + signal) as u32,
                signal: signal as u32,
                value: Fr::from(1u64),
            });
        }
        let mut found = self.coefficients.clone();
        expected.sort();
        found.sort();
        if expected != found {
            let first = expected
                .iter()
                .zip(&found)
                .position(|(a, b)| a != b)
                .unwrap_or(expected.len().min(found.len()));
            return other(format!(
                "its A and B coefficients differ from the circuit's ({} against {} entries, first difference at sorted entry {first})",
                found.len(),
                expected.len()
            ));
        }
        Ok(())
    }
}
