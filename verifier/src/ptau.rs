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

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};

use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{BigInt, BigInteger, MontConfig, Zero};
use rayon::prelude::*;

/// The largest power a BN254 `.ptau` can have (the scalar field's two-adicity).
pub const MAX_POWER: u32 = 28;
/// Sections a `.ptau` may hold (snarkjs writes at most 16: 1-7, and 12-16
/// after `prepare phase2`); a longer table is refused before it is walked.
const MAX_SECTIONS: u32 = 64;
const G1_BYTES: u64 = 64;
const G2_BYTES: u64 = 128;

/// Why a `.ptau` was refused.
#[derive(Debug, thiserror::Error)]
pub enum PtauError {
    #[error("reading the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a .ptau file (magic bytes {0:?})")]
    BadMagic([u8; 4]),
    #[error(".ptau version {0} is not supported (only 1)")]
    Version(u32),
    #[error("the file declares {0} sections (at most {MAX_SECTIONS})")]
    TooManySections(u32),
    #[error("section {section} claims {size} bytes at offset {offset}, past the end of the file ({file} bytes)")]
    SectionPastEnd {
        section: u32,
        offset: u64,
        size: u64,
        file: u64,
    },
    #[error("section {0} appears twice")]
    DuplicateSection(u32),
    #[error("section {0} ({1}) is missing")]
    MissingSection(u32, &'static str),
    #[error("header: {0}")]
    Header(String),
    #[error("the file is for another curve: its base field has {n8}-byte elements and modulus {modulus}, not BN254's")]
    OtherCurve { n8: u32, modulus: String },
    #[error("the file has power {have} (2^{have} points), but 2^{need} are needed: use a Powers of Tau file of power {need} or more")]
    PowerTooSmall { have: u32, need: u32 },
    #[error("section {section} ({name}) has {found} bytes; power {power} needs {expected}")]
    SectionSize {
        section: u32,
        name: &'static str,
        expected: u64,
        found: u64,
        power: u32,
    },
    #[error("section {section} ({name}), point {index}: {reason}")]
    BadPoint {
        section: u32,
        name: &'static str,
        index: usize,
        reason: &'static str,
    },
    #[error("the powers are inconsistent: {0}")]
    Inconsistent(&'static str),
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

/// Where each section's bytes lie: type → (offset, length).
type Sections = BTreeMap<u32, (u64, u64)>;

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// Walks the container's section table, bounding every section by the file.
fn read_sections<R: Read + Seek>(file: &mut R) -> Result<Sections, PtauError> {
    let length = file.seek(SeekFrom::End(0))?;
    file.seek(SeekFrom::Start(0))?;
    let mut head = [0u8; 12];
    file.read_exact(&mut head)?;
    let magic: [u8; 4] = head[0..4].try_into().expect("4 bytes");
    if &magic != b"ptau" {
        return Err(PtauError::BadMagic(magic));
    }
    let version = u32_at(&head, 4);
    if version != 1 {
        return Err(PtauError::Version(version));
    }
    let count = u32_at(&head, 8);
    if count > MAX_SECTIONS {
        return Err(PtauError::TooManySections(count));
    }
    let mut sections = Sections::new();
    let mut at = 12u64;
    for _ in 0..count {
        let mut entry = [0u8; 12];
        file.seek(SeekFrom::Start(at))?;
        file.read_exact(&mut entry)?;
        let section = u32_at(&entry, 0);
        let size = u64::from_le_bytes(entry[4..12].try_into().expect("8 bytes"));
        let offset = at + 12;
        if offset.checked_add(size).is_none_or(|end| end > length) {
            return Err(PtauError::SectionPastEnd {
                section,
                offset,
                size,
                file: length,
            });
        }
        if sections.insert(section, (offset, size)).is_some() {
            return Err(PtauError::DuplicateSection(section));
        }
        at = offset + size;
    }
    Ok(sections)
}

fn section(sections: &Sections, id: u32, name: &'static str) -> Result<(u64, u64), PtauError> {
    sections
        .get(&id)
        .copied()
        .ok_or(PtauError::MissingSection(id, name))
}

/// A coordinate in Montgomery form, refused unless canonical.
fn coordinate(bytes: &[u8]) -> Option<Fq> {
    let limbs: [u64; 4] =
        std::array::from_fn(|i| u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().unwrap()));
    (BigInt(limbs) < <ark_bn254::FqConfig as MontConfig<4>>::MODULUS)
        .then(|| Fq::new_unchecked(BigInt(limbs)))
}

fn g1_from(bytes: &[u8]) -> Result<G1Affine, &'static str> {
    if bytes.iter().all(|b| *b == 0) {
        return Err("the point at infinity");
    }
    let x = coordinate(&bytes[0..32]).ok_or("non-canonical x")?;
    let y = coordinate(&bytes[32..64]).ok_or("non-canonical y")?;
    let point = G1Affine::new_unchecked(x, y);
    // G1 has cofactor 1: on the curve is in the group.
    point
        .is_on_curve()
        .then_some(point)
        .ok_or("not on the curve")
}

fn g2_from(bytes: &[u8]) -> Result<G2Affine, &'static str> {
    if bytes.iter().all(|b| *b == 0) {
        return Err("the point at infinity");
    }
    let c = |i: usize| coordinate(&bytes[32 * i..32 * i + 32]).ok_or("non-canonical coordinate");
    let point = G2Affine::new_unchecked(Fq2::new(c(0)?, c(1)?), Fq2::new(c(2)?, c(3)?));
    if !point.is_on_curve() {
        return Err("not on the curve");
    }
    point
        .is_in_correct_subgroup_assuming_on_curve()
        .then_some(point)
        .ok_or("not in the prime-order subgroup")
}

/// Reads the first `count` points of a section of `size`-byte points,
/// checked in parallel; the count is already bounded by the section's length.
fn read_points<R: Read + Seek, T: Send>(
    file: &mut R,
    (offset, _): (u64, u64),
    id: u32,
    name: &'static str,
    count: usize,
    size: u64,
    parse: fn(&[u8]) -> Result<T, &'static str>,
) -> Result<Vec<T>, PtauError> {
    let mut bytes = vec![0u8; count * size as usize];
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(&mut bytes)?;
    bytes
        .par_chunks_exact(size as usize)
        .enumerate()
        .map(|(index, chunk)| {
            parse(chunk).map_err(|reason| PtauError::BadPoint {
                section: id,
                name,
                index,
                reason,
            })
        })
        .collect()
}

impl Ptau {
    /// Reads what a circuit of 2^`log_size` rows needs from a `.ptau` file.
    pub fn open(path: &std::path::Path, log_size: u32) -> Result<Self, PtauError> {
        let mut file = std::io::BufReader::new(std::fs::File::open(path)?);
        Self::read(&mut file, log_size)
    }

    /// [`Ptau::open`] on any seekable reader.
    pub fn read<R: Read + Seek>(file: &mut R, log_size: u32) -> Result<Self, PtauError> {
        let sections = read_sections(file)?;
        let (offset, size) = section(&sections, 1, "header")?;
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
        let expect = |id: u32, name: &'static str, points: u64, bytes: u64| {
            let (offset, size) = section(&sections, id, name)?;
            if size != points * bytes {
                return Err(PtauError::SectionSize {
                    section: id,
                    name,
                    expected: points * bytes,
                    found: size,
                    power,
                });
            }
            Ok((offset, size))
        };
        let tau_g1_at = expect(2, "tauG1", 2 * full - 1, G1_BYTES)?;
        let tau_g2_at = expect(3, "tauG2", full, G2_BYTES)?;
        let alpha_at = expect(4, "alphaTauG1", full, G1_BYTES)?;
        let beta_at = expect(5, "betaTauG1", full, G1_BYTES)?;
        let beta_g2_at = expect(6, "betaG2", 1, G2_BYTES)?;
        let (contributions_at, contributions_size) = section(&sections, 7, "contributions")?;
        if contributions_size < 4 {
            return Err(PtauError::Header(
                "section 7 (contributions) is too short for its count".into(),
            ));
        }
        let mut count = [0u8; 4];
        file.seek(SeekFrom::Start(contributions_at))?;
        file.read_exact(&mut count)?;

        let n = 1usize << log_size;
        Ok(Self {
            power,
            ceremony_power,
            contributions: u32::from_le_bytes(count),
            tau_g1: read_points(file, tau_g1_at, 2, "tauG1", 2 * n - 1, G1_BYTES, g1_from)?,
            tau_g2: read_points(file, tau_g2_at, 3, "tauG2", n, G2_BYTES, g2_from)?,
            alpha_tau_g1: read_points(file, alpha_at, 4, "alphaTauG1", n, G1_BYTES, g1_from)?,
            beta_tau_g1: read_points(file, beta_at, 5, "betaTauG1", n, G1_BYTES, g1_from)?,
            beta_g2: read_points(file, beta_g2_at, 6, "betaG2", 1, G2_BYTES, g2_from)?[0],
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
        let Some(beta_g1) = self.beta_tau_g1.first() else {
            return Err(PtauError::Inconsistent("[β]G1 is missing"));
        };
        if !pair_equal(beta_g1.into_group(), g2, g1.into_group(), self.beta_g2) {
            return Err(PtauError::Inconsistent("[β]G1 and [β]G2 differ"));
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
            let low = G1Projective::msm(&points[..n], &r[..n]).expect("equal lengths");
            let high = G1Projective::msm(&points[1..], &r[..n]).expect("equal lengths");
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
        let low = G2Projective::msm(&self.tau_g2[..n], &s[..n]).expect("equal lengths");
        let high = G2Projective::msm(&self.tau_g2[1..], &s[..n]).expect("equal lengths");
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
            let points: Vec<G1Projective> = powers[..count]
                .par_iter()
                .map(|p| g1 * (*p * scale))
                .collect();
            G1Projective::normalize_batch(&points)
        };
        let tau_g2: Vec<G2Projective> = powers[..n].par_iter().map(|p| g2 * p).collect();
        Self {
            power,
            ceremony_power: power,
            contributions: 0,
            tau_g1: times(Fr::from(1u64), 2 * n - 1),
            tau_g2: G2Projective::normalize_batch(&tau_g2),
            alpha_tau_g1: times(alpha, n),
            beta_tau_g1: times(beta, n),
            beta_g2: (g2 * beta).into_affine(),
        }
    }

    /// Writes a complete `.ptau` of this setup's power (the vectors must be
    /// whole: 2·2^power − 1 and 2^power points), in snarkjs's layout, with
    /// an empty contribution list.
    pub fn write<W: Write>(&self, out: &mut W) -> std::io::Result<()> {
        let n = 1usize << self.power;
        assert!(
            self.tau_g1.len() == 2 * n - 1
                && self.tau_g2.len() == n
                && self.alpha_tau_g1.len() == n
                && self.beta_tau_g1.len() == n,
            "a .ptau is written whole"
        );
        let g1 = |p: &G1Affine, out: &mut Vec<u8>| {
            for c in [p.x, p.y] {
                out.extend_from_slice(&c.0.to_bytes_le());
            }
        };
        let g2 = |p: &G2Affine, out: &mut Vec<u8>| {
            for c in [p.x.c0, p.x.c1, p.y.c0, p.y.c1] {
                out.extend_from_slice(&c.0.to_bytes_le());
            }
        };
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
        out.write_all(b"ptau")?;
        out.write_all(&1u32.to_le_bytes())?;
        out.write_all(&(sections.len() as u32).to_le_bytes())?;
        for (id, bytes) in sections {
            out.write_all(&id.to_le_bytes())?;
            out.write_all(&(bytes.len() as u64).to_le_bytes())?;
            out.write_all(&bytes)?;
        }
        Ok(())
    }
}
