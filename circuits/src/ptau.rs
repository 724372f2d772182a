//! Powers of Tau files in snarkjs's `.ptau` format: the public, universal
//! phase-1 setup that halo2's KZG parameters and the Groth16 phase-2
//! ceremony both start from.
//!
//! The container (iden3's "binfile"): the magic `ptau`, a u32 version (1), a
//! u32 section count, then sections, each a u32 type, a u64 byte length and
//! the bytes (all little-endian). The sections read here:
//! - 1, header: u32 `n8` (32 for BN254), the base field's modulus in `n8`
//!   little-endian bytes, u32 `power`, u32 `ceremonyPower`;
//! - 2, `[τ^i]G1` for i < 2·2^power − 1;
//! - 3, `[τ^i]G2` for i < 2^power;
//! - 4, `[α·τ^i]G1` and 5, `[β·τ^i]G1`, each for i < 2^power;
//! - 6, `[β]G2`;
//! - 7, the contributions (their count is reported, their transcript is
//!   phase 1's business and is not re-verified here).
//!
//! Points are affine, each coordinate in Montgomery form (x·2^256 mod q) in
//! 32 little-endian bytes, Fq2 as c0 then c1; all zeros is the point at
//! infinity. That is arkworks' own internal form, so a canonical coordinate
//! (below q) is taken as it is.
//!
//! Reading never trusts the file: the section table is bounded by the file's
//! length before anything is read, only the powers a circuit needs are read
//! (a file of power 28 is hundreds of GB), every coordinate must be
//! canonical, every point on the curve, none at infinity, and G2 points in
//! the prime-order subgroup (G1 has cofactor 1). [`Ptau::check_consistency`]
//! then checks that the vectors really are powers of one τ (and α, β) with
//! random linear combinations and a few pairings, not one pairing per point.

use std::io::{Read, Seek, SeekFrom, Write};

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{scalar_mul::ScalarMul, AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{BigInteger, Field, MontConfig, Zero};
use rayon::prelude::*;

use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};

use crate::binfile::{self, read_points, u32_at, BinFile, BinFileError, G1_BYTES, G2_BYTES};

/// The largest power a BN254 `.ptau` can have (the scalar field's two-adicity).
pub const MAX_POWER: u32 = 28;

/// Why a `.ptau` was refused.
#[derive(Debug, thiserror::Error)]
pub enum PtauError {
    #[error(transparent)]
    File(#[from] BinFileError),
    #[error("header: {0}")]
    Header(String),
    #[error("the file is for another curve: its base field has {n8}-byte elements and modulus {modulus}, not BN254's")]
    OtherCurve { n8: u32, modulus: String },
    #[error("the file has power {have} (2^{have} points), but 2^{need} are needed: use a Powers of Tau file of power {need} or more")]
    PowerTooSmall { have: u32, need: u32 },
    #[error("the powers are inconsistent: {0}")]
    Inconsistent(&'static str),
    #[error("the file is not prepared for phase 2 (section 12, the Lagrange bases, is missing): run `snarkjs powersoftau prepare phase2` on it, or use a prepared file (the published Perpetual Powers of Tau files are)")]
    NotPrepared,
}

impl From<std::io::Error> for PtauError {
    fn from(error: std::io::Error) -> Self {
        Self::File(BinFileError::Io(error))
    }
}

/// Checks G2 points on the curve for membership of the prime-order
/// subgroup: `Err(index)` of the first that is not.
pub type G2SubgroupCheck = fn(&[G2Affine]) -> Result<(), usize>;

/// [`G2SubgroupCheck`] one point at a time (arkworks' check, in parallel).
pub fn each_in_subgroup(points: &[G2Affine]) -> Result<(), usize> {
    match points
        .par_iter()
        .position_first(|p| !p.is_in_correct_subgroup_assuming_on_curve())
    {
        Some(index) => Err(index),
        None => Ok(()),
    }
}

/// `count` G2 points (none at infinity) on the curve, then in the subgroup
/// by `subgroup`.
fn read_g2<R: Read + Seek>(
    file: &mut R,
    offset: u64,
    (id, name): (u32, &'static str),
    count: usize,
    subgroup: G2SubgroupCheck,
) -> Result<Vec<G2Affine>, BinFileError> {
    let points = read_points(
        file,
        offset,
        (id, name),
        count,
        G2_BYTES,
        binfile::g2_on_curve,
    )?;
    subgroup(&points).map_err(|index| BinFileError::BadPoint {
        section: id,
        name,
        index,
        reason: "not in the prime-order subgroup",
    })?;
    Ok(points)
}

/// The multi-scalar multiplications the consistency checks run, as
/// functions of equal-length bases and scalars.
#[derive(Clone, Copy)]
pub struct Msms {
    pub g1: fn(&[G1Affine], &[Fr]) -> G1Projective,
    pub g2: fn(&[G2Affine], &[Fr]) -> G2Projective,
}

impl Msms {
    /// arkworks' `VariableBaseMSM`.
    pub const ARKWORKS: Msms = Msms {
        g1: |bases, scalars| G1Projective::msm(bases, scalars).expect("equal lengths"),
        g2: |bases, scalars| G2Projective::msm(bases, scalars).expect("equal lengths"),
    };
}

/// The part of a Powers of Tau a circuit of 2^`log_size` rows needs, read
/// and checked point by point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ptau {
    /// The file's power (it holds 2^power τ powers in G2).
    pub power: u32,
    /// The power of the ceremony the file was cut from (snarkjs's
    /// `ceremonyPower`; equal to `power` unless truncated).
    pub ceremony_power: u32,
    /// Contributions recorded in section 7.
    pub contributions: u32,
    /// `[τ^i]G1`, i < 2·2^log_size − 1.
    pub tau_g1: Vec<G1Affine>,
    /// `[τ^i]G2`, i < 2^log_size.
    pub tau_g2: Vec<G2Affine>,
    /// `[α·τ^i]G1`, i < 2^log_size.
    pub alpha_tau_g1: Vec<G1Affine>,
    /// `[β·τ^i]G1`, i < 2^log_size.
    pub beta_tau_g1: Vec<G1Affine>,
    /// `[β]G2`.
    pub beta_g2: G2Affine,
}

impl Ptau {
    /// Reads what a circuit of 2^`log_size` rows needs from a `.ptau` file.
    pub fn open(path: &std::path::Path, log_size: u32) -> Result<Self, PtauError> {
        let mut file = std::io::BufReader::new(std::fs::File::open(path)?);
        Self::read(&mut file, log_size)
    }

    /// What KZG commitments to polynomials of 2^`log_size` coefficients
    /// need from a `.ptau` file: `[τ^i]G1` for i < 2^log_size and `[τ]G2`,
    /// checked like [`Ptau::open`]'s; α and β are not read (`alpha_tau_g1`
    /// and `beta_tau_g1` are empty), nor the other G2 powers, whose subgroup
    /// checks are most of a full read's time.
    pub fn open_kzg(path: &std::path::Path, log_size: u32) -> Result<Self, PtauError> {
        let mut file = std::io::BufReader::new(std::fs::File::open(path)?);
        Self::read_with(&mut file, log_size, true, each_in_subgroup)
    }

    /// [`Ptau::open`] on any seekable reader.
    pub fn read<R: Read + Seek>(file: &mut R, log_size: u32) -> Result<Self, PtauError> {
        Self::read_with(file, log_size, false, each_in_subgroup)
    }

    /// Reads the file; G2 points are checked on the curve as they are read,
    /// and in the subgroup by `subgroup` (the index of the first outside),
    /// which may batch them.
    fn read_with<R: Read + Seek>(
        file: &mut R,
        log_size: u32,
        kzg_only: bool,
        subgroup: G2SubgroupCheck,
    ) -> Result<Self, PtauError> {
        let sections = BinFile::read(file, "ptau", |v| v == 1, "1")?;
        let (offset, size) = sections.section(1, "header")?;
        if size != 4 + 32 + 4 + 4 {
            // Read n8 first: a file for a curve with 48-byte elements says so.
            file.seek(SeekFrom::Start(offset))?;
            let mut n8 = [0u8; 4];
            file.read_exact(&mut n8)?;
            let n8 = u32::from_le_bytes(n8);
            if n8 != 32 {
                return Err(PtauError::OtherCurve {
                    n8,
                    modulus: "(not read)".into(),
                });
            }
            return Err(PtauError::Header(format!(
                "{size} bytes, expected 44 for BN254"
            )));
        }
        let mut header = [0u8; 44];
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(&mut header)?;
        let n8 = u32_at(&header, 0);
        let modulus = &header[4..36];
        let bn254 = <ark_bn254::FqConfig as MontConfig<4>>::MODULUS.to_bytes_le();
        if n8 != 32 || modulus != bn254.as_slice() {
            return Err(PtauError::OtherCurve {
                n8,
                modulus: hex::encode(modulus.iter().rev().copied().collect::<Vec<u8>>()),
            });
        }
        let power = u32_at(&header, 36);
        let ceremony_power = u32_at(&header, 40);
        if power == 0 || power > MAX_POWER {
            return Err(PtauError::Header(format!(
                "power {power} is outside 1..={MAX_POWER}"
            )));
        }
        if ceremony_power < power || ceremony_power > MAX_POWER {
            return Err(PtauError::Header(format!(
                "ceremony power {ceremony_power} is below the power {power} or above {MAX_POWER}"
            )));
        }
        if log_size > power {
            return Err(PtauError::PowerTooSmall {
                have: power,
                need: log_size,
            });
        }
        let full = 1u64 << power;
        let tau_g1_at = sections.sized(2, "tauG1", (2 * full - 1) * G1_BYTES)?.0;
        let tau_g2_at = sections.sized(3, "tauG2", full * G2_BYTES)?.0;
        let alpha_at = sections.sized(4, "alphaTauG1", full * G1_BYTES)?.0;
        let beta_at = sections.sized(5, "betaTauG1", full * G1_BYTES)?.0;
        let beta_g2_at = sections.sized(6, "betaG2", G2_BYTES)?.0;
        let (contributions_at, contributions_size) = sections.section(7, "contributions")?;
        if contributions_size < 4 {
            return Err(PtauError::Header(
                "section 7 (contributions) is too short for its count".into(),
            ));
        }
        let mut count = [0u8; 4];
        file.seek(SeekFrom::Start(contributions_at))?;
        file.read_exact(&mut count)?;

        let n = 1usize << log_size;
        let (g1_count, g2_count, others) = if kzg_only {
            (n, n.min(2), 0)
        } else {
            (2 * n - 1, n, n)
        };
        Ok(Self {
            power,
            ceremony_power,
            contributions: u32::from_le_bytes(count),
            tau_g1: read_points(
                file,
                tau_g1_at,
                (2, "tauG1"),
                g1_count,
                G1_BYTES,
                binfile::g1,
            )?,
            tau_g2: read_g2(file, tau_g2_at, (3, "tauG2"), g2_count, subgroup)?,
            alpha_tau_g1: read_points(
                file,
                alpha_at,
                (4, "alphaTauG1"),
                others,
                G1_BYTES,
                binfile::g1,
            )?,
            beta_tau_g1: read_points(
                file,
                beta_at,
                (5, "betaTauG1"),
                others,
                G1_BYTES,
                binfile::g1,
            )?,
            beta_g2: read_g2(file, beta_g2_at, (6, "betaG2"), 1, subgroup)?[0],
        })
    }

    /// Checks that the vectors are the powers they claim to be: `tau_g1[0]`
    /// and `tau_g2[0]` are the generators, each vector is geometric with the
    /// ratio τ that `tau_g2[1]` carries, `alpha_tau_g1` and `beta_tau_g1` start
    /// from α and β with the same ratio, and `beta_g2` is the same β.
    ///
    /// Each geometric vector `v` is checked at once with random weights r:
    /// `e(Σ r_i·v_i, [τ]G2) = e(Σ r_i·v_(i+1), G2)`, which a vector that is
    /// off anywhere fails except with probability about 2^-128.
    pub fn check_consistency<R: rand::Rng>(&self, rng: &mut R) -> Result<(), PtauError> {
        self.check_consistency_with(rng, Msms::ARKWORKS)
    }

    /// [`Ptau::check_consistency`] with the given multi-scalar
    /// multiplications (a prover passes its faster ones).
    pub fn check_consistency_with<R: rand::Rng>(
        &self,
        rng: &mut R,
        msm: Msms,
    ) -> Result<(), PtauError> {
        let g1 = G1Affine::generator();
        let g2 = G2Affine::generator();
        if self.tau_g1.first() != Some(&g1) {
            return Err(PtauError::Inconsistent("[τ^0]G1 is not the generator"));
        }
        if self.tau_g2.first() != Some(&g2) {
            return Err(PtauError::Inconsistent("[τ^0]G2 is not the generator"));
        }
        let pair_equal = |a: G1Projective, b: G2Affine, c: G1Projective, d: G2Affine| {
            Bn254::multi_pairing([a.into_affine(), -c.into_affine()], [b, d]).is_zero()
        };
        // β is checked where it was read (not in a KZG-only read).
        if let Some(beta_g1) = self.beta_tau_g1.first() {
            if !pair_equal(beta_g1.into_group(), g2, g1.into_group(), self.beta_g2) {
                return Err(PtauError::Inconsistent("[β]G1 and [β]G2 differ"));
            }
        }
        let (Some(tau_g1), Some(tau_g2)) = (self.tau_g1.get(1), self.tau_g2.get(1)) else {
            // One point each (log_size 0): nothing to compare.
            return Ok(());
        };
        // Random 128-bit weights: as sound as full-width ones, and cheaper.
        let mut weights = |n: usize| -> Vec<Fr> {
            (0..n)
                .map(|_| Fr::from(rng.gen::<u128>()))
                .collect::<Vec<_>>()
        };
        let geometric = |points: &[G1Affine], r: &[Fr]| {
            let n = points.len() - 1;
            let low = (msm.g1)(&points[..n], &r[..n]);
            let high = (msm.g1)(&points[1..], &r[..n]);
            pair_equal(low, *tau_g2, high, g2)
        };
        let r = weights(self.tau_g1.len());
        if !geometric(&self.tau_g1, &r) {
            return Err(PtauError::Inconsistent(
                "[τ^i]G1 are not successive powers of the τ in [τ]G2",
            ));
        }
        let s = weights(self.tau_g2.len());
        let n = self.tau_g2.len() - 1;
        let low = (msm.g2)(&self.tau_g2[..n], &s[..n]);
        let high = (msm.g2)(&self.tau_g2[1..], &s[..n]);
        if !Bn254::multi_pairing([*tau_g1, -g1], [low.into_affine(), high.into_affine()]).is_zero()
        {
            return Err(PtauError::Inconsistent(
                "[τ^i]G2 are not successive powers of the τ in [τ]G1",
            ));
        }
        if self.alpha_tau_g1.len() > 1 && !geometric(&self.alpha_tau_g1, &r) {
            return Err(PtauError::Inconsistent(
                "[α·τ^i]G1 are not successive multiples by τ",
            ));
        }
        if self.beta_tau_g1.len() > 1 && !geometric(&self.beta_tau_g1, &r) {
            return Err(PtauError::Inconsistent(
                "[β·τ^i]G1 are not successive multiples by τ",
            ));
        }
        Ok(())
    }

    /// The powers of a known τ, α and β, 2^`power` of them (2·2^power − 1 in
    /// tauG1): a development setup whose secret is known, for tests and for
    /// trying things out. Never use it for anything of value.
    pub fn from_secrets(power: u32, tau: Fr, alpha: Fr, beta: Fr) -> Self {
        let n = 1usize << power;
        let mut powers = Vec::with_capacity(2 * n - 1);
        let mut t = Fr::from(1u64);
        for _ in 0..2 * n - 1 {
            powers.push(t);
            t *= tau;
        }
        let g1 = G1Projective::from(G1Affine::generator());
        let g2 = G2Projective::from(G2Affine::generator());
        let times = |scale: Fr, count: usize| -> Vec<G1Affine> {
            let scalars: Vec<Fr> = powers[..count].par_iter().map(|p| *p * scale).collect();
            g1.batch_mul(&scalars)
        };
        Self {
            power,
            ceremony_power: power,
            contributions: 0,
            tau_g1: times(Fr::from(1u64), 2 * n - 1),
            tau_g2: g2.batch_mul(&powers[..n]),
            alpha_tau_g1: times(alpha, n),
            beta_tau_g1: times(beta, n),
            beta_g2: (g2 * beta).into_affine(),
        }
    }

    /// Writes a complete `.ptau` of this setup's power (the vectors must be
    /// whole: 2·2^power − 1 and 2^power points), in snarkjs's layout, with
    /// an empty contribution list.
    pub fn write<W: Write>(&self, out: &mut W) -> std::io::Result<()> {
        self.write_with(out, Vec::new())
    }

    /// [`Ptau::write`] with `extra` sections after section 7 (the Lagrange
    /// bases of [`Ptau::lagrange_sections`] make a prepared file).
    pub fn write_with<W: Write>(
        &self,
        out: &mut W,
        extra: Vec<(u32, Vec<u8>)>,
    ) -> std::io::Result<()> {
        let n = 1usize << self.power;
        assert!(
            self.tau_g1.len() == 2 * n - 1
                && self.tau_g2.len() == n
                && self.alpha_tau_g1.len() == n
                && self.beta_tau_g1.len() == n,
            "a .ptau is written whole"
        );
        let g1 = binfile::put_g1;
        let g2 = binfile::put_g2;
        let mut sections: Vec<(u32, Vec<u8>)> = Vec::new();
        let mut header = Vec::new();
        header.extend_from_slice(&32u32.to_le_bytes());
        header.extend_from_slice(&<ark_bn254::FqConfig as MontConfig<4>>::MODULUS.to_bytes_le());
        header.extend_from_slice(&self.power.to_le_bytes());
        header.extend_from_slice(&self.ceremony_power.to_le_bytes());
        sections.push((1, header));
        let mut bytes = Vec::new();
        self.tau_g1.iter().for_each(|p| g1(p, &mut bytes));
        sections.push((2, std::mem::take(&mut bytes)));
        self.tau_g2.iter().for_each(|p| g2(p, &mut bytes));
        sections.push((3, std::mem::take(&mut bytes)));
        self.alpha_tau_g1.iter().for_each(|p| g1(p, &mut bytes));
        sections.push((4, std::mem::take(&mut bytes)));
        self.beta_tau_g1.iter().for_each(|p| g1(p, &mut bytes));
        sections.push((5, std::mem::take(&mut bytes)));
        g2(&self.beta_g2, &mut bytes);
        sections.push((6, std::mem::take(&mut bytes)));
        sections.push((7, 0u32.to_le_bytes().to_vec()));
        sections.extend(extra);
        binfile::write(out, b"ptau", 1, &sections)
    }
}

/// The Lagrange bases a Groth16 phase 2 starts from, as a prepared `.ptau`
/// holds them. `snarkjs powersoftau prepare phase2` appends sections 12 to
/// 15: for each p ≤ power, in turn, the 2^p points `[L_j(τ)]` (the Lagrange
/// basis of the domain of 2^p roots of unity, evaluated at τ) made from
/// sections 2 to 5 (τ in G1, G2, α·τ, β·τ); section 12 adds the basis of
/// 2^(power+1) too, made with zero in place of τ^(2^(power+1)−1), which the
/// file does not hold. The basis of 2^p starts at point 2^p − 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lagrange {
    /// `[L_j(τ)]G1` on the domain of 2^log_size.
    pub tau_g1: Vec<G1Affine>,
    /// `[L_j(τ)]G2` on the same domain.
    pub tau_g2: Vec<G2Affine>,
    /// `[α·L_j(τ)]G1`.
    pub alpha_tau_g1: Vec<G1Affine>,
    /// `[β·L_j(τ)]G1`.
    pub beta_tau_g1: Vec<G1Affine>,
    /// `[L_j(τ)]G1` on the domain of 2^(log_size+1): the odd ones are the H
    /// query of snarkjs's Groth16 keys.
    pub double_g1: Vec<G1Affine>,
}

impl Ptau {
    /// What a Groth16 phase 2 for a domain of 2^`log_size` needs from a
    /// prepared `.ptau`: the powers ([`Ptau::read`]; `tau_g1` also holds
    /// τ^(2n−1) where the file has it, n = 2^log_size) and the Lagrange bases.
    /// Check both with [`Ptau::check_consistency`] and
    /// [`Ptau::check_lagrange`].
    ///
    /// G2 points are checked in the subgroup by `subgroup` (given the points,
    /// the index of the first outside; [`each_in_subgroup`] checks them one by
    /// one), so that a caller may batch the checks.
    pub fn read_phase2<R: Read + Seek>(
        file: &mut R,
        log_size: u32,
        subgroup: G2SubgroupCheck,
    ) -> Result<(Self, Lagrange), PtauError> {
        let mut ptau = Self::read_with(file, log_size, false, subgroup)?;
        let sections = BinFile::read(file, "ptau", |v| v == 1, "1")?;
        let full = 1u64 << ptau.power;
        let n = 1usize << log_size;
        if log_size < ptau.power {
            let at = sections.section(2, "tauG1")?.0 + (2 * n as u64 - 1) * G1_BYTES;
            ptau.tau_g1.extend(read_points(
                file,
                at,
                (2, "tauG1"),
                1,
                G1_BYTES,
                binfile::g1,
            )?);
        }
        if sections.section(12, "Lagrange tauG1").is_err() {
            return Err(PtauError::NotPrepared);
        }
        let g1_at = sections
            .sized(12, "Lagrange tauG1", (4 * full - 1) * G1_BYTES)?
            .0;
        let g2_at = sections
            .sized(13, "Lagrange tauG2", (2 * full - 1) * G2_BYTES)?
            .0;
        let alpha_at = sections
            .sized(14, "Lagrange alphaTauG1", (2 * full - 1) * G1_BYTES)?
            .0;
        let beta_at = sections
            .sized(15, "Lagrange betaTauG1", (2 * full - 1) * G1_BYTES)?
            .0;
        let skip = (n as u64 - 1) * G1_BYTES;
        let lagrange = Lagrange {
            tau_g1: read_points(
                file,
                g1_at + skip,
                (12, "Lagrange tauG1"),
                n,
                G1_BYTES,
                binfile::g1,
            )?,
            tau_g2: read_g2(
                file,
                g2_at + (n as u64 - 1) * G2_BYTES,
                (13, "Lagrange tauG2"),
                n,
                subgroup,
            )?,
            alpha_tau_g1: read_points(
                file,
                alpha_at + skip,
                (14, "Lagrange alphaTauG1"),
                n,
                G1_BYTES,
                binfile::g1,
            )?,
            beta_tau_g1: read_points(
                file,
                beta_at + skip,
                (15, "Lagrange betaTauG1"),
                n,
                G1_BYTES,
                binfile::g1,
            )?,
            double_g1: read_points(
                file,
                g1_at + (2 * n as u64 - 1) * G1_BYTES,
                (12, "Lagrange tauG1"),
                2 * n,
                G1_BYTES,
                binfile::g1_or_infinity,
            )?,
        };
        Ok((ptau, lagrange))
    }

    /// Checks that `lagrange` is the Lagrange form of these powers (which
    /// [`Ptau::check_consistency`] checks). `[L_j(τ)] = (1/n)·Σ_k ω^(−jk)·[τ^k]`,
    /// so for random weights r, `Σ_j r_j·[L_j(τ)] = Σ_k c_k·[τ^k]` with c the
    /// inverse FFT of r: two MSMs a vector, not one pairing a point. The
    /// doubled basis is checked against τ^0..τ^(2n−1), the last taken as zero
    /// where the file lacks it, as snarkjs made it.
    pub fn check_lagrange<R: rand::Rng>(
        &self,
        lagrange: &Lagrange,
        rng: &mut R,
    ) -> Result<(), PtauError> {
        self.check_lagrange_with(lagrange, rng, Msms::ARKWORKS)
    }

    /// [`Ptau::check_lagrange`] with the given multi-scalar multiplications.
    pub fn check_lagrange_with<R: rand::Rng>(
        &self,
        lagrange: &Lagrange,
        rng: &mut R,
        msm: Msms,
    ) -> Result<(), PtauError> {
        let n = lagrange.tau_g1.len();
        let mut weights =
            |count: usize| -> Vec<Fr> { (0..count).map(|_| Fr::from(rng.gen::<u128>())).collect() };
        let coefficients = |r: &[Fr]| {
            let domain = Radix2EvaluationDomain::<Fr>::new(r.len()).expect("a power of two");
            domain.ifft(r)
        };
        // Σ r_j·basis_j = Σ c_k·powers_k, c the inverse FFT of r.
        let same_g1 = |basis: &[G1Affine], powers: &[G1Affine], r: &[Fr], c: &[Fr]| {
            let powers_len = powers.len().min(c.len());
            (msm.g1)(basis, r) == (msm.g1)(&powers[..powers_len], &c[..powers_len])
        };
        if self.tau_g1.len() < 2 * n - 1
            || self.tau_g2.len() < n
            || self.alpha_tau_g1.len() < n
            || self.beta_tau_g1.len() < n
        {
            return Err(PtauError::Inconsistent(
                "fewer powers were read than the Lagrange bases need",
            ));
        }
        let r = weights(n);
        let c = coefficients(&r);
        if !same_g1(&lagrange.tau_g1, &self.tau_g1[..n], &r, &c) {
            return Err(PtauError::Inconsistent(
                "section 12's Lagrange basis is not that of [τ^i]G1",
            ));
        }
        if !same_g1(&lagrange.alpha_tau_g1, &self.alpha_tau_g1[..n], &r, &c) {
            return Err(PtauError::Inconsistent(
                "section 14's Lagrange basis is not that of [α·τ^i]G1",
            ));
        }
        if !same_g1(&lagrange.beta_tau_g1, &self.beta_tau_g1[..n], &r, &c) {
            return Err(PtauError::Inconsistent(
                "section 15's Lagrange basis is not that of [β·τ^i]G1",
            ));
        }
        if (msm.g2)(&lagrange.tau_g2, &r) != (msm.g2)(&self.tau_g2[..n], &c) {
            return Err(PtauError::Inconsistent(
                "section 13's Lagrange basis is not that of [τ^i]G2",
            ));
        }
        // τ^0..τ^(2n−2), and τ^(2n−1) where it was read.
        let top = self.tau_g1.len().min(2 * n);
        let r = weights(2 * n);
        if !same_g1(
            &lagrange.double_g1,
            &self.tau_g1[..top],
            &r,
            &coefficients(&r),
        ) {
            return Err(PtauError::Inconsistent(
                "section 12's Lagrange basis of the doubled domain is not that of [τ^i]G1",
            ));
        }
        Ok(())
    }

    /// Sections 12 to 15 of a prepared file for a setup of known secrets (as
    /// [`Ptau::from_secrets`]), computed in the field: for tests, like it.
    pub fn lagrange_sections(power: u32, tau: Fr, alpha: Fr, beta: Fr) -> Vec<(u32, Vec<u8>)> {
        let g1 = G1Projective::from(G1Affine::generator());
        let g2 = G2Projective::from(G2Affine::generator());
        // [L_j(τ)] for every domain 2^p, p ≤ top, the basis of 2^(power+1)
        // without its τ^(2^(power+1)−1) term.
        let bases = |top: u32| -> Vec<Fr> {
            let mut out = Vec::new();
            for p in 0..=top {
                let size = 1usize << p;
                let domain = Radix2EvaluationDomain::<Fr>::new(size).expect("a power of two");
                let mut basis = domain.evaluate_all_lagrange_coefficients(tau);
                if p == power + 1 {
                    let last = tau.pow([size as u64 - 1]) * domain.size_inv;
                    for (j, value) in basis.iter_mut().enumerate() {
                        *value -= last * domain.group_gen.pow([j as u64]);
                    }
                }
                out.extend(basis);
            }
            out
        };
        let g1_points = |values: &[Fr], scale: Fr| -> Vec<u8> {
            let scalars: Vec<Fr> = values.par_iter().map(|v| *v * scale).collect();
            let mut bytes = Vec::with_capacity(values.len() * G1_BYTES as usize);
            for point in g1.batch_mul(&scalars) {
                binfile::put_g1(&point, &mut bytes);
            }
            bytes
        };
        let small = bases(power);
        let mut g2_bytes = Vec::with_capacity(small.len() * G2_BYTES as usize);
        for point in g2.batch_mul(&small) {
            binfile::put_g2(&point, &mut g2_bytes);
        }
        let one = Fr::from(1u64);
        vec![
            (12, g1_points(&bases(power + 1), one)),
            (13, g2_bytes),
            (14, g1_points(&small, alpha)),
            (15, g1_points(&small, beta)),
        ]
    }
}
