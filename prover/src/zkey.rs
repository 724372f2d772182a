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
//! (one point per domain element); 10, the ceremony's contributions
//! ([`MpcParams`]: the circuit hash, then each contribution's δ after it,
//! its proof of knowledge, its transcript hash and its parameters).
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
    #[error("section 10 (contributions): {0}")]
    Contributions(String),
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

/// Bytes of one section-4 entry: matrix, constraint, signal (u32 each) and
/// the value (32 bytes).
pub const COEFFICIENT_BYTES: usize = 12 + 32;

/// What a contribution was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContributionKind {
    /// A contributor's secret, drawn from randomness nobody else saw.
    Secret,
    /// The public random beacon: the secret is derived from `hash` by
    /// 2^`iterations_exp` rounds of SHA-256, so anyone can recompute it.
    Beacon { hash: Vec<u8>, iterations_exp: u8 },
}

/// One phase-2 contribution as section 10 records it: δ after it, and the
/// proof that its author knew the factor δ was multiplied by (`g1_sx` =
/// x·`g1_s`, `g2_spx` = x·hash-to-G2(`transcript`)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contribution {
    pub delta_after: G1Affine,
    pub g1_s: G1Affine,
    pub g1_sx: G1Affine,
    pub g2_spx: G2Affine,
    /// BLAKE2b-512 of the circuit hash, every earlier contribution, `g1_s`
    /// and `g1_sx`.
    pub transcript: [u8; 64],
    pub kind: ContributionKind,
    pub name: Option<String>,
}

/// Section 10: the circuit hash and the contributions, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpcParams {
    /// BLAKE2b-512 of the initial key's points (snarkjs's "circuit hash").
    pub cs_hash: [u8; 64],
    pub contributions: Vec<Contribution>,
}

/// Section 4 for `matrices`, in the order snarkjs writes it from the
/// `.r1cs` [`crate::circom::write_r1cs`] writes: each constraint's A terms,
/// then its B terms, then `A[constraints + i][i] = 1` for the constant and
/// each public input (the rows that make the public inputs independent).
pub fn coefficients(matrices: &ConstraintMatrices) -> Vec<Coefficient> {
    let (inputs, constraints, _) = matrices.counts();
    let mut out = Vec::new();
    for constraint in 0..constraints {
        for matrix in 0..2 {
            for (value, signal) in matrices.row(matrix, constraint) {
                out.push(Coefficient {
                    matrix: matrix as u32,
                    constraint: constraint as u32,
                    signal: signal as u32,
                    value,
                });
            }
        }
    }
    for signal in 0..inputs {
        out.push(Coefficient {
            matrix: 0,
            constraint: (constraints + signal) as u32,
            signal: signal as u32,
            value: Fr::from(1u64),
        });
    }
    out
}

/// Where a `.zkey`'s sections 3 to 9 lie (offset, size), sized against its
/// header, and section 4's entry count.
#[derive(Debug, Clone, Copy)]
pub struct ZkeyLayout {
    pub sections: [(u64, u64); 7],
    pub coefficients: u64,
}

/// The names of sections 3 to 9, as errors give them.
const SECTION_NAMES: [&str; 7] = ["IC", "coefficients", "A", "B in G1", "B in G2", "C", "H"];

impl ZkeyLayout {
    /// Section `id`'s G1 points (3 IC, 5 A, 6 B in G1, 8 C, 9 H), each
    /// checked on the curve (G1's cofactor is 1).
    pub fn read_g1s<R: Read + Seek>(
        &self,
        file: &mut R,
        id: u32,
    ) -> Result<Vec<G1Affine>, ZkeyError> {
        let (at, size) = self.sections[id as usize - 3];
        Ok(read_points(
            file,
            at,
            (id, SECTION_NAMES[id as usize - 3]),
            (size / G1_BYTES) as usize,
            G1_BYTES,
            binfile::g1_or_infinity,
        )?)
    }

    /// Section 7's points (B in G2), each checked on the curve but not in
    /// G2's subgroup ([`check_g2s`] does that).
    pub fn read_g2s<R: Read + Seek>(&self, file: &mut R) -> Result<Vec<G2Affine>, ZkeyError> {
        let (at, size) = self.sections[4];
        Ok(read_points(
            file,
            at,
            (7, SECTION_NAMES[4]),
            (size / G2_BYTES) as usize,
            G2_BYTES,
            binfile::g2_on_curve_or_infinity,
        )?)
    }
}

/// One section-4 entry, checked: a matrix of A or B, a signal of the key's,
/// a value below r (stored times R², returned as itself).
pub fn parse_coefficient(
    index: usize,
    chunk: &[u8],
    variables: usize,
) -> Result<Coefficient, ZkeyError> {
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
    let stored = Fr::from_bigint(BigInt(limbs)).ok_or_else(|| bad("value not below r".into()))?;
    Ok(Coefficient {
        matrix,
        constraint,
        signal,
        value: stored * r_squared_inverse(),
    })
}

/// Checks that G2 points already on the curve (infinity allowed) lie in the
/// prime-order subgroup, in one batch; the error names section `id` and the
/// index (from `first`) of the first point outside.
pub fn check_g2s(
    (id, name): (u32, &'static str),
    first: usize,
    points: &[G2Affine],
) -> Result<(), ZkeyError> {
    use ark_ec::AffineRepr;
    let (indices, finite): (Vec<usize>, Vec<G2Affine>) = points
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.is_zero())
        .map(|(i, p)| (i, *p))
        .unzip();
    proofmint_gpu::subgroup::check_g2_subgroup(&finite).map_err(|outside| {
        ZkeyError::File(BinFileError::BadPoint {
            section: id,
            name,
            index: first + indices[outside],
            reason: "not in the prime-order subgroup",
        })
    })
}

/// Longest contributor name written (snarkjs keeps 64 characters).
pub const MAX_NAME_BYTES: usize = 64;

/// A Groth16 `.zkey`, every point checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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
    /// Section 10, where the file has one.
    pub mpc: Option<MpcParams>,
}

/// `R^2` in Fr: coefficients are stored multiplied by it.
fn r_squared() -> Fr {
    let r = Fr::from_bigint(<FrConfig as MontConfig<4>>::R).expect("R mod r is canonical");
    r * r
}

/// `R^-2` in Fr, to undo the coefficients' double Montgomery form
/// (computed once).
fn r_squared_inverse() -> Fr {
    static INVERSE: std::sync::OnceLock<Fr> = std::sync::OnceLock::new();
    *INVERSE.get_or_init(|| r_squared().inverse().expect("R is invertible"))
}

impl Zkey {
    /// Reads and checks a `.zkey` file.
    pub fn open(path: &std::path::Path) -> Result<Self, ZkeyError> {
        let mut file = std::io::BufReader::new(std::fs::File::open(path)?);
        Self::read(&mut file)
    }

    /// [`Zkey::open`] on any seekable reader.
    pub fn read<R: Read + Seek>(file: &mut R) -> Result<Self, ZkeyError> {
        let (head, layout) = Self::read_head(file)?;
        let coefficients_at = layout.sections[1];
        let mut bytes = vec![0u8; (layout.coefficients * COEFFICIENT_BYTES as u64) as usize];
        file.seek(SeekFrom::Start(coefficients_at.0 + 4))?;
        file.read_exact(&mut bytes)?;
        let coefficients = bytes
            .chunks_exact(COEFFICIENT_BYTES)
            .enumerate()
            .map(|(index, chunk)| parse_coefficient(index, chunk, head.variables))
            .collect::<Result<Vec<_>, _>>()?;
        drop(bytes);
        Ok(Self {
            ic: layout.read_g1s(file, 3)?,
            coefficients,
            a_g1: layout.read_g1s(file, 5)?,
            b_g1: layout.read_g1s(file, 6)?,
            b_g2: {
                let points = layout.read_g2s(file)?;
                check_g2s((7, "B in G2"), 0, &points)?;
                points
            },
            c_g1: layout.read_g1s(file, 8)?,
            h_g1: layout.read_g1s(file, 9)?,
            ..head
        })
    }

    /// The header and the transcript (section 10) of a `.zkey`, every other
    /// section sized and located but not read: the key's point vectors and
    /// coefficients are empty. For steps that stream the sections.
    pub fn read_head<R: Read + Seek>(file: &mut R) -> Result<(Self, ZkeyLayout), ZkeyError> {
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
        let ic = sections.sized(3, "IC", (p + 1) * G1_BYTES)?;
        let a = sections.sized(5, "A", v * G1_BYTES)?;
        let b1 = sections.sized(6, "B in G1", v * G1_BYTES)?;
        let b2 = sections.sized(7, "B in G2", v * G2_BYTES)?;
        let c = sections.sized(8, "C", (v - p - 1) * G1_BYTES)?;
        let h = sections.sized(9, "H", d * G1_BYTES)?;

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
        let entry = COEFFICIENT_BYTES as u64;
        let coefficients = sections.sized(4, "coefficients", 4 + count * entry)?;
        let mpc = match sections.section(10, "contributions") {
            Ok((at, size)) => {
                // Bounded before it is read: a contribution is 392 bytes or more.
                if size > 64 + 4 + 392 * u64::from(u16::MAX) + (1 << 24) {
                    return Err(ZkeyError::Contributions(format!(
                        "{size} bytes is more than any transcript"
                    )));
                }
                let mut bytes = vec![0u8; size as usize];
                file.seek(SeekFrom::Start(at))?;
                file.read_exact(&mut bytes)?;
                Some(MpcParams::parse(&bytes)?)
            }
            Err(_) => None,
        };

        Ok((
            Self {
                mpc,
                variables,
                public_inputs,
                domain_size,
                alpha_g1,
                beta_g1,
                beta_g2,
                gamma_g2,
                delta_g1,
                delta_g2,
                ..Self::default()
            },
            ZkeyLayout {
                sections: [ic, coefficients, a, b1, b2, c, h],
                coefficients: count,
            },
        ))
    }

    /// Section 2: the sizes and counts, then α₁, β₁, β₂, γ₂, δ₁, δ₂.
    pub fn header_bytes(&self) -> Vec<u8> {
        let mut header = Vec::with_capacity(852);
        header.extend_from_slice(&32u32.to_le_bytes());
        header.extend_from_slice(&<ark_bn254::FqConfig as MontConfig<4>>::MODULUS.to_bytes_le());
        header.extend_from_slice(&32u32.to_le_bytes());
        header.extend_from_slice(&<FrConfig as MontConfig<4>>::MODULUS.to_bytes_le());
        for count in [self.variables, self.public_inputs, self.domain_size] {
            header.extend_from_slice(&(count as u32).to_le_bytes());
        }
        binfile::put_g1(&self.alpha_g1, &mut header);
        binfile::put_g1(&self.beta_g1, &mut header);
        binfile::put_g2(&self.beta_g2, &mut header);
        binfile::put_g2(&self.gamma_g2, &mut header);
        binfile::put_g1(&self.delta_g1, &mut header);
        binfile::put_g2(&self.delta_g2, &mut header);
        header
    }

    /// Writes the key in snarkjs's layout, sections 1 to 10 in order (as
    /// `snarkjs zkey contribute` does); section 10 only where `mpc` is set.
    pub fn write<W: std::io::Write>(&self, out: &mut W) -> std::io::Result<()> {
        use std::io::Write;
        let header = self.header_bytes();
        let mpc = self.mpc.as_ref().map(MpcParams::to_bytes);
        // Each section straight to `out`: a large key is never held twice.
        binfile::write_start(out, b"zkey", 1, 9 + mpc.is_some() as u32)?;
        binfile::write_section(out, 1, 4, |w| w.write_all(&1u32.to_le_bytes()))?;
        binfile::write_section(out, 2, header.len() as u64, |w| w.write_all(&header))?;
        let g1s = |out: &mut W, id: u32, points: &[G1Affine]| {
            binfile::write_section(out, id, points.len() as u64 * G1_BYTES, |w| {
                binfile::write_g1s(w, points)
            })
        };
        g1s(out, 3, &self.ic)?;
        let size = 4 + self.coefficients.len() as u64 * COEFFICIENT_BYTES as u64;
        binfile::write_section(out, 4, size, |w| {
            w.write_all(&(self.coefficients.len() as u32).to_le_bytes())?;
            let scale = r_squared();
            let mut bytes = Vec::with_capacity(4096 * COEFFICIENT_BYTES);
            for chunk in self.coefficients.chunks(4096) {
                bytes.clear();
                for c in chunk {
                    for word in [c.matrix, c.constraint, c.signal] {
                        bytes.extend_from_slice(&word.to_le_bytes());
                    }
                    bytes.extend_from_slice(&(c.value * scale).into_bigint().to_bytes_le());
                }
                w.write_all(&bytes)?;
            }
            std::io::Result::Ok(())
        })?;
        g1s(out, 5, &self.a_g1)?;
        g1s(out, 6, &self.b_g1)?;
        binfile::write_section(out, 7, self.b_g2.len() as u64 * G2_BYTES, |w| {
            binfile::write_g2s(w, &self.b_g2)
        })?;
        g1s(out, 8, &self.c_g1)?;
        g1s(out, 9, &self.h_g1)?;
        if let Some(mpc) = mpc {
            binfile::write_section(out, 10, mpc.len() as u64, |w| w.write_all(&mpc))?;
        }
        Ok(())
    }

    /// The key as arkworks' Groth16 proving key (γ is whatever the file says;
    /// snarkjs's is 1). Its H query is in snarkjs's form: prove with
    /// [`crate::groth16::prove_assignment`] with [`crate::groth16::QapForm::Circom`].
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
        let mut expected = coefficients(matrices);
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

impl MpcParams {
    /// Section 10's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(68 + 500 * self.contributions.len());
        out.extend_from_slice(&self.cs_hash);
        out.extend_from_slice(&(self.contributions.len() as u32).to_le_bytes());
        for c in &self.contributions {
            binfile::put_g1(&c.delta_after, &mut out);
            binfile::put_g1(&c.g1_s, &mut out);
            binfile::put_g1(&c.g1_sx, &mut out);
            binfile::put_g2(&c.g2_spx, &mut out);
            out.extend_from_slice(&c.transcript);
            let mut params = Vec::new();
            if let Some(name) = &c.name {
                params.push(1);
                params.push(name.len() as u8);
                params.extend_from_slice(name.as_bytes());
            }
            let kind = match &c.kind {
                ContributionKind::Secret => 0u32,
                ContributionKind::Beacon {
                    hash,
                    iterations_exp,
                } => {
                    params.extend_from_slice(&[2, *iterations_exp, 3, hash.len() as u8]);
                    params.extend_from_slice(hash);
                    1
                }
            };
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&(params.len() as u32).to_le_bytes());
            out.extend_from_slice(&params);
        }
        out
    }

    /// Parses section 10: every point on the curve and in its subgroup,
    /// parameters in snarkjs's sorted form, nothing trailing.
    pub fn parse(bytes: &[u8]) -> Result<Self, ZkeyError> {
        let bad = |reason: String| ZkeyError::Contributions(reason);
        let mut at = 0usize;
        let mut take = |count: usize, what: &str| -> Result<&[u8], ZkeyError> {
            let end = at
                .checked_add(count)
                .filter(|end| *end <= bytes.len())
                .ok_or_else(|| bad(format!("ends inside {what}")))?;
            let slice = &bytes[at..end];
            at = end;
            Ok(slice)
        };
        let cs_hash: [u8; 64] = take(64, "the circuit hash")?.try_into().expect("64 bytes");
        let count = u32_at(take(4, "the count")?, 0) as usize;
        // A contribution takes at least 392 bytes: bound before allocating.
        if count > bytes.len() / 392 {
            return Err(bad(format!(
                "{count} contributions cannot fit in {} bytes",
                bytes.len()
            )));
        }
        let mut contributions = Vec::with_capacity(count);
        for index in 1..=count {
            let point = |what: &str, parsed: Result<G1Affine, &'static str>| {
                parsed.map_err(|reason| bad(format!("contribution {index}, {what}: {reason}")))
            };
            let delta_after = point("δ after it", binfile::g1(take(64, "a contribution")?))?;
            let g1_s = point("g1_s", binfile::g1(take(64, "a contribution")?))?;
            let g1_sx = point("g1_sx", binfile::g1(take(64, "a contribution")?))?;
            let g2_spx = binfile::g2(take(128, "a contribution")?)
                .map_err(|reason| bad(format!("contribution {index}, g2_spx: {reason}")))?;
            let transcript: [u8; 64] = take(64, "a transcript")?.try_into().expect("64 bytes");
            let kind = u32_at(take(4, "a contribution's type")?, 0);
            let length = u32_at(take(4, "a contribution's parameters")?, 0) as usize;
            let params = take(length, "a contribution's parameters")?;
            let (mut name, mut iterations, mut hash) = (None, None, None);
            let mut last = 0u8;
            let mut p = 0usize;
            while p < params.len() {
                let id = params[p];
                if id <= last {
                    return Err(bad(format!(
                        "contribution {index}: parameters not in order"
                    )));
                }
                last = id;
                let value = |p: usize| params.get(p).copied();
                let short = || bad(format!("contribution {index}: a parameter is cut short"));
                match id {
                    1 | 3 => {
                        let len = value(p + 1).ok_or_else(short)? as usize;
                        let data = params.get(p + 2..p + 2 + len).ok_or_else(short)?;
                        if id == 1 {
                            name = Some(String::from_utf8(data.to_vec()).map_err(|_| {
                                bad(format!("contribution {index}: its name is not UTF-8"))
                            })?);
                        } else {
                            hash = Some(data.to_vec());
                        }
                        p += 2 + len;
                    }
                    2 => {
                        iterations = Some(value(p + 1).ok_or_else(short)?);
                        p += 2;
                    }
                    other => {
                        return Err(bad(format!(
                            "contribution {index}: unknown parameter {other}"
                        )))
                    }
                }
            }
            let kind = match (kind, iterations, hash) {
                (0, None, None) => ContributionKind::Secret,
                (1, Some(iterations_exp), Some(hash)) => ContributionKind::Beacon {
                    hash,
                    iterations_exp,
                },
                (0 | 1, _, _) => {
                    return Err(bad(format!(
                        "contribution {index}: a beacon needs its hash and iterations, and only a beacon has them"
                    )))
                }
                (other, _, _) => {
                    return Err(bad(format!(
                        "contribution {index}: unknown type {other}"
                    )))
                }
            };
            contributions.push(Contribution {
                delta_after,
                g1_s,
                g1_sx,
                g2_spx,
                transcript,
                kind,
                name,
            });
        }
        if at != bytes.len() {
            return Err(bad(format!(
                "{} bytes after the last contribution",
                bytes.len() - at
            )));
        }
        Ok(Self {
            cs_hash,
            contributions,
        })
    }
}
