//! Phase 2 of the Groth16 setup, on public Powers of Tau, in snarkjs's
//! `.zkey` format, so that a transcript can mix contributions made here and
//! with `snarkjs zkey contribute`, and either tool verifies it.
//!
//! - [`initial_key`] derives the first key from a prepared `.ptau` and the
//!   circuit, point for point what `snarkjs zkey new` writes: A, B and C of
//!   each variable from the Lagrange bases (with snarkjs's extra rows that
//!   tie each public input to A), γ = δ = 1, the H query the odd Lagrange
//!   points of the doubled domain, and the circuit hash over them.
//! - [`contribute`] multiplies δ by a fresh secret and divides the C and H
//!   queries by it, recording a proof of knowledge of the secret bound to
//!   the transcript so far; [`apply_beacon`] does the same with a secret
//!   anyone can derive from a public random beacon.
//! - [`check_transcript`] checks the chain of contributions alone;
//!   [`verify`] also rebuilds the initial key and checks that every section
//!   follows from it and from δ.
//!
//! If any one contributor destroyed their secret, nobody knows δ, and
//! nobody can make a proof without a witness.

pub mod random;

use std::borrow::Cow;
use std::io::{Read, Seek, Write};

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{Field, UniformRand, Zero};
use blake2::{Blake2b512, Digest};
use proofmint_circuits::ptau::{Lagrange, Msms, Ptau, PtauError};
use proofmint_gpu::columns::{column_sums_g1, column_sums_g2};
use rand::{CryptoRng, RngCore};
use rayon::prelude::*;

use crate::groth16::{ConstraintMatrices, QapForm};
use crate::keys::ProvingKeyFile;
use crate::zkey::{
    parse_coefficient, Contribution, ContributionKind, MpcParams, Zkey, ZkeyError, ZkeyLayout,
    COEFFICIENT_BYTES,
};
use proofmint_circuits::claim::{ClaimShape, NUM_PUBLIC_INPUTS};
use proofmint_verifier::binfile::{self, G1_BYTES, G2_BYTES};
use proofmint_verifier::keys::{SetupKind, VerifyingKeyFile};
use random::{g1_uncompressed, g2_uncompressed, hash_to_g2};

/// Why a phase-2 step or check failed; each names the section or the
/// contribution at fault.
#[derive(Debug, thiserror::Error)]
pub enum CeremonyError {
    #[error(transparent)]
    Ptau(#[from] PtauError),
    #[error(transparent)]
    Zkey(#[from] ZkeyError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("the key has no section 10 (no ceremony transcript)")]
    NoTranscript,
    #[error("contribution {index}{}: {reason}", name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default())]
    Contribution {
        index: usize,
        name: Option<String>,
        reason: &'static str,
    },
    #[error("section {section} ({name}): {reason}")]
    Section {
        section: u32,
        name: &'static str,
        reason: String,
    },
    #[error("the key is for another circuit: {0}")]
    OtherCircuit(String),
    #[error("the key has no contribution yet: its δ is 1, known to everyone, so anyone could forge proofs with it")]
    NoContributions,
    #[error("beacon: {0}")]
    Beacon(String),
}

/// The power of two of the circuit's domain (snarkjs's `cirPower`): the
/// constraints and one row per public input and the constant.
pub fn circuit_power(matrices: &ConstraintMatrices) -> u32 {
    matrices.domain_size().trailing_zeros()
}

/// A prepared Powers of Tau, read for a circuit and checked. Of the powers
/// it keeps τ in G1 (for the circuit hash) and the first α and β points;
/// the rest, checked, are dropped.
pub struct Phase1 {
    pub ptau: Ptau,
    pub lagrange: Lagrange,
}

/// Reads what the circuit's phase 2 needs from a prepared `.ptau` and checks
/// it: every point on the curve and in its subgroup (as read), the powers
/// consistent ([`Ptau::check_consistency`]) and the Lagrange bases theirs
/// ([`Ptau::check_lagrange`]). A file too small names the power needed.
pub fn read_phase1<R: Read + Seek, G: rand::Rng>(
    file: &mut R,
    matrices: &ConstraintMatrices,
    rng: &mut G,
) -> Result<Phase1, CeremonyError> {
    let power = circuit_power(matrices);
    let (ptau, lagrange) =
        Ptau::read_phase2(file, power, proofmint_gpu::subgroup::check_g2_subgroup)?;
    // The circuit hash needs τ^(2n−1) past a domain of 2^14 (see
    // `CircuitHash`): refused now, not after the key is computed.
    if hashed_h_points(matrices.domain_size()) + matrices.domain_size() > ptau.tau_g1.len() {
        return Err(PtauError::PowerTooSmall {
            have: ptau.power,
            need: power + 1,
        }
        .into());
    }
    // proofmint's MSMs: most of reading a Powers of Tau is these checks.
    let msm = Msms {
        g1: proofmint_gpu::msm::msm_g1,
        g2: proofmint_gpu::msm::msm_g2,
    };
    ptau.check_consistency_with(rng, msm)?;
    ptau.check_lagrange_with(&lagrange, rng, msm)?;
    // Checked; phase 2 needs no more of these than their first points (α
    // and β), and τ in G2 only through the Lagrange basis.
    let mut ptau = ptau;
    for points in [&mut ptau.alpha_tau_g1, &mut ptau.beta_tau_g1] {
        points.truncate(1);
        points.shrink_to_fit();
    }
    ptau.tau_g2 = Vec::new();
    Ok(Phase1 { ptau, lagrange })
}

/// Each variable's terms of one matrix, as compressed sparse columns:
/// variable s's are `entries[starts[s]..starts[s + 1]]`, in the order given.
struct Columns<T> {
    starts: Vec<usize>,
    entries: Vec<T>,
}

impl<T: Copy + Default> Columns<T> {
    /// From (variable, term) pairs, walked twice: once to count each
    /// column, once to fill it, so that no column is grown and copied.
    fn build(variables: usize, terms: impl Iterator<Item = (usize, T)> + Clone) -> Self {
        let mut starts = vec![0usize; variables + 1];
        for (s, _) in terms.clone() {
            starts[s + 1] += 1;
        }
        for s in 0..variables {
            starts[s + 1] += starts[s];
        }
        let mut next = starts.clone();
        let mut entries = vec![T::default(); starts[variables]];
        for (s, term) in terms {
            entries[next[s]] = term;
            next[s] += 1;
        }
        Self { starts, entries }
    }

    fn of(&self, s: usize) -> &[T] {
        &self.entries[self.starts[s]..self.starts[s + 1]]
    }
}

/// Affine points, the projective ones dropped as soon as converted.
fn normalized<G: CurveGroup>(points: Vec<G>) -> Vec<G::Affine> {
    G::normalize_batch(&points)
}

/// One of the initial key's computed sections, as [`initial_sections`]
/// hands them over.
enum Initial {
    /// Section 3: β·A + α·B + C of the constant and the public inputs.
    Ic(Vec<G1Affine>),
    /// Section 8: β·A + α·B + C of the other variables (δ = 1).
    C(Vec<G1Affine>),
    /// Section 5.
    A(Vec<G1Affine>),
    /// Section 6.
    B1(Vec<G1Affine>),
    /// Section 7.
    B2(Vec<G2Affine>),
}

/// The initial key's header: α and β from the Powers of Tau, γ = δ = 1.
fn initial_header(phase1: &Phase1, matrices: &ConstraintMatrices) -> Zkey {
    let (inputs, _, witnesses) = matrices.counts();
    Zkey {
        variables: inputs + witnesses,
        public_inputs: inputs - 1,
        domain_size: matrices.domain_size(),
        alpha_g1: phase1.ptau.alpha_tau_g1[0],
        beta_g1: phase1.ptau.beta_tau_g1[0],
        beta_g2: phase1.ptau.beta_g2,
        gamma_g2: G2Affine::generator(),
        delta_g1: G1Affine::generator(),
        delta_g2: G2Affine::generator(),
        ..Zkey::default()
    }
}

/// Computes the initial key's sections from the Lagrange basis, one at a
/// time in the circuit hash's order (IC, C, A, B in G1, B in G2), handing
/// each to `each`, which keeps or checks and drops it: a verifier never
/// holds a second key. `coefficients` are section 4's entries for
/// `matrices` ([`crate::zkey::coefficients`]). Returns the circuit hash.
fn initial_sections(
    phase1: &Phase1,
    matrices: &ConstraintMatrices,
    coefficients: &[crate::zkey::Coefficient],
    mut each: impl FnMut(Initial) -> Result<(), CeremonyError>,
) -> Result<[u8; 64], CeremonyError> {
    let (inputs, constraints, witnesses) = matrices.counts();
    let variables = inputs + witnesses;
    let public = inputs - 1;
    let n = matrices.domain_size();
    let lagrange = &phase1.lagrange;
    if lagrange.tau_g1.len() != n {
        return Err(CeremonyError::OtherCircuit(format!(
            "the Powers of Tau were read for a domain of {}, the circuit's is {n}",
            lagrange.tau_g1.len()
        )));
    }
    let mut hash = CircuitHash::new(&initial_header(phase1, matrices), &phase1.ptau)?;
    // Each variable's terms in A, B and C. A and B come from section 4,
    // which holds snarkjs's input rows (A[constraints + s][s] = 1 for the
    // constant and each public input): their columns index its entries. C
    // comes from the matrices.
    let [a, b] = [0, 1].map(|matrix| {
        Columns::build(
            variables,
            coefficients
                .iter()
                .enumerate()
                .filter(|(_, c)| c.matrix == matrix)
                .map(|(i, c)| (c.signal as usize, i as u32)),
        )
    });
    let c = Columns::build(
        variables,
        (0..constraints).flat_map(|constraint| {
            matrices
                .row(2, constraint)
                .into_iter()
                .map(move |(value, signal)| (signal, (constraint as u32, value)))
        }),
    );
    let at = |basis: &[G1Affine], column: &[u32]| {
        column
            .iter()
            .map(|&i| {
                let c = &coefficients[i as usize];
                (basis[c.constraint as usize], c.value)
            })
            .collect::<Vec<_>>()
    };
    // β·A + α·B + C, for the public inputs (IC, γ = 1) and the rest (C).
    let abc: Vec<G1Projective> = column_sums_g1(variables, |s| {
        let mut terms = at(&lagrange.beta_tau_g1, a.of(s));
        terms.extend(at(&lagrange.alpha_tau_g1, b.of(s)));
        terms.extend(
            c.of(s)
                .iter()
                .map(|(row, value)| (lagrange.tau_g1[*row as usize], *value)),
        );
        terms
    });
    drop(c);
    let mut abc = normalized(abc);
    let ic = abc[..=public].to_vec();
    abc.drain(..=public);
    hash.g1s(&ic);
    each(Initial::Ic(ic))?;
    hash.h(n, &phase1.ptau);
    hash.g1s(&abc);
    each(Initial::C(abc))?;
    let a_g1 = normalized(column_sums_g1(variables, |s| at(&lagrange.tau_g1, a.of(s))));
    hash.g1s(&a_g1);
    each(Initial::A(a_g1))?;
    let b_g1 = normalized(column_sums_g1(variables, |s| at(&lagrange.tau_g1, b.of(s))));
    hash.g1s(&b_g1);
    each(Initial::B1(b_g1))?;
    let b_g2 = normalized(column_sums_g2(variables, |s| {
        b.of(s)
            .iter()
            .map(|&i| {
                let c = &coefficients[i as usize];
                (lagrange.tau_g2[c.constraint as usize], c.value)
            })
            .collect()
    }));
    hash.g2s(&b_g2);
    each(Initial::B2(b_g2))?;
    Ok(hash.finish())
}

/// The odd points of the doubled domain's Lagrange basis: H for δ = 1.
fn initial_h(phase1: &Phase1) -> Vec<G1Affine> {
    phase1
        .lagrange
        .double_g1
        .iter()
        .skip(1)
        .step_by(2)
        .copied()
        .collect()
}

/// The initial key, as `snarkjs zkey new` makes it: γ = δ = 1, no
/// contributions yet.
pub fn initial_key(phase1: &Phase1, matrices: &ConstraintMatrices) -> Result<Zkey, CeremonyError> {
    let coefficients = crate::zkey::coefficients(matrices);
    let mut key = initial_header(phase1, matrices);
    let cs_hash = initial_sections(phase1, matrices, &coefficients, |section| {
        match section {
            Initial::Ic(points) => key.ic = points,
            Initial::C(points) => key.c_g1 = points,
            Initial::A(points) => key.a_g1 = points,
            Initial::B1(points) => key.b_g1 = points,
            Initial::B2(points) => key.b_g2 = points,
        }
        Ok(())
    })?;
    key.coefficients = coefficients;
    key.h_g1 = initial_h(phase1);
    key.mpc = Some(MpcParams {
        cs_hash,
        contributions: Vec::new(),
    });
    Ok(key)
}

/// How many points `[τ^(n+i) − τ^i]` snarkjs's circuit hash takes for a
/// domain of `n`: n − 1, but in chunks of 2^14 whole, so n past 2^14.
fn hashed_h_points(n: usize) -> usize {
    const CHUNK: usize = 1 << 14;
    if n - 1 <= CHUNK {
        n - 1
    } else {
        (n - 1).div_ceil(CHUNK) * CHUNK
    }
}

/// snarkjs's circuit hash: BLAKE2b-512 over the initial key's header points
/// and sections (IC, H, C, A, B in G1, B in G2), each section after its
/// length (big-endian u32), points uncompressed, fed a section at a time.
/// For H it hashes `[τ^(n+i) − τ^i]`, libsnark's H query for δ = 1, not the
/// section; `snarkjs zkey new` hashes n − 1 of them, or, past 2^14, every
/// point of each chunk of 2^14, so n of them, the last needing τ^(2n−1).
struct CircuitHash(Blake2b512);

impl CircuitHash {
    /// Starts with `key`'s header points; refuses Powers of Tau too short
    /// for the H points.
    fn new(key: &Zkey, ptau: &Ptau) -> Result<Self, CeremonyError> {
        let n = key.domain_size;
        if hashed_h_points(n) + n > ptau.tau_g1.len() {
            return Err(CeremonyError::Ptau(PtauError::PowerTooSmall {
                have: ptau.power,
                need: ptau.power + 1,
            }));
        }
        let mut hasher = Blake2b512::new();
        for point in [key.alpha_g1, key.beta_g1] {
            hasher.update(g1_uncompressed(&point));
        }
        hasher.update(g2_uncompressed(&key.beta_g2));
        hasher.update(g2_uncompressed(&key.gamma_g2));
        hasher.update(g1_uncompressed(&key.delta_g1));
        hasher.update(g2_uncompressed(&key.delta_g2));
        Ok(Self(hasher))
    }

    fn g1s(&mut self, points: &[G1Affine]) {
        self.0.update((points.len() as u32).to_be_bytes());
        for point in points {
            self.0.update(g1_uncompressed(point));
        }
    }

    fn g2s(&mut self, points: &[G2Affine]) {
        self.0.update((points.len() as u32).to_be_bytes());
        for point in points {
            self.0.update(g2_uncompressed(point));
        }
    }

    /// The H points, after IC (the length [`CircuitHash::new`] checked).
    fn h(&mut self, n: usize, ptau: &Ptau) {
        let h: Vec<G1Projective> = (0..hashed_h_points(n))
            .into_par_iter()
            .map(|i| ptau.tau_g1[i + n].into_group() - ptau.tau_g1[i])
            .collect();
        self.0.update(((n - 1) as u32).to_be_bytes());
        for point in G1Projective::normalize_batch(&h) {
            self.0.update(g1_uncompressed(&point));
        }
    }

    fn finish(self) -> [u8; 64] {
        self.0.finalize().into()
    }
}

/// What snarkjs hashes of a contribution (`hashPubKey`).
fn hash_contribution(hasher: &mut Blake2b512, c: &Contribution) {
    hasher.update(g1_uncompressed(&c.delta_after));
    hasher.update(g1_uncompressed(&c.g1_s));
    hasher.update(g1_uncompressed(&c.g1_sx));
    hasher.update(g2_uncompressed(&c.g2_spx));
    hasher.update(c.transcript);
}

/// A contribution's hash, which its contributor publishes.
pub fn contribution_hash(c: &Contribution) -> [u8; 64] {
    let mut hasher = Blake2b512::new();
    hash_contribution(&mut hasher, c);
    hasher.finalize().into()
}

/// A contributor's generator: 64 bytes from the operating system and the
/// optional entropy, hashed into a ChaCha20 seed.
pub fn contributor_rng(entropy: Option<&str>) -> rand_chacha::ChaCha20Rng {
    use rand::SeedableRng;
    let mut os = [0u8; 64];
    rand::rngs::OsRng.fill_bytes(&mut os);
    let mut hasher = Blake2b512::new();
    hasher.update(os);
    hasher.update(entropy.unwrap_or_default().as_bytes());
    let digest = hasher.finalize();
    rand_chacha::ChaCha20Rng::from_seed(digest[..32].try_into().expect("32 bytes"))
}

fn trim_name(name: Option<&str>) -> Option<String> {
    let name = name?;
    let mut end = name.len().min(crate::zkey::MAX_NAME_BYTES);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    Some(name[..end].to_owned())
}

/// Multiplies δ by `secret` and records the contribution; returns its hash
/// and 1/`secret`, by which C and H are then to be multiplied.
fn record(
    key: &mut Zkey,
    secret: Fr,
    g1_s: G1Affine,
    kind: ContributionKind,
    name: Option<&str>,
) -> Result<([u8; 64], Fr), CeremonyError> {
    let mpc = key.mpc.as_mut().ok_or(CeremonyError::NoTranscript)?;
    let mut hasher = Blake2b512::new();
    hasher.update(mpc.cs_hash);
    for c in &mpc.contributions {
        hash_contribution(&mut hasher, c);
    }
    let g1_sx = (g1_s * secret).into_affine();
    hasher.update(g1_uncompressed(&g1_s));
    hasher.update(g1_uncompressed(&g1_sx));
    let transcript: [u8; 64] = hasher.finalize().into();
    let g2_spx = (hash_to_g2(&transcript) * secret).into_affine();
    key.delta_g1 = (key.delta_g1 * secret).into_affine();
    key.delta_g2 = (key.delta_g2 * secret).into_affine();
    let contribution = Contribution {
        delta_after: key.delta_g1,
        g1_s,
        g1_sx,
        g2_spx,
        transcript,
        kind,
        name: trim_name(name),
    };
    let hash = contribution_hash(&contribution);
    mpc.contributions.push(contribution);
    Ok((hash, secret.inverse().expect("a nonzero secret")))
}

/// Points times `factor`, back in affine form (all points at once in
/// batch-affine steps where the CPU has AVX-512 IFMA).
fn scaled(points: &[G1Affine], factor: Fr) -> Vec<G1Affine> {
    proofmint_gpu::scale::scale_g1(points, factor)
}

/// Multiplies δ by `secret`, divides C and H by it, and records the
/// contribution; returns its hash.
fn apply(
    key: &mut Zkey,
    secret: Fr,
    g1_s: G1Affine,
    kind: ContributionKind,
    name: Option<&str>,
) -> Result<[u8; 64], CeremonyError> {
    let (hash, inverse) = record(key, secret, g1_s, kind, name)?;
    key.c_g1 = scaled(&key.c_g1, inverse);
    key.h_g1 = scaled(&key.h_g1, inverse);
    Ok(hash)
}

/// A contributor's secret (nonzero) and the random point its proof of
/// knowledge is made on.
fn draw_secret<R: RngCore + CryptoRng>(rng: &mut R) -> (Fr, G1Affine) {
    let secret = loop {
        let secret = Fr::rand(rng);
        if !secret.is_zero() {
            break secret;
        }
    };
    (
        secret,
        (G1Affine::generator() * Fr::rand(rng)).into_affine(),
    )
}

/// One contribution with a secret drawn from `rng` (see
/// [`contributor_rng`]); the secret lives only in this call. Returns the
/// contribution hash for its contributor to publish.
pub fn contribute<R: RngCore + CryptoRng>(
    key: &mut Zkey,
    name: Option<&str>,
    rng: &mut R,
) -> Result<[u8; 64], CeremonyError> {
    let (secret, g1_s) = draw_secret(rng);
    apply(key, secret, g1_s, ContributionKind::Secret, name)
}

/// Entries checked, copied or scaled per read by [`contribute_streamed`].
const STREAM_CHUNK: usize = 1 << 16;

/// Section `id` of `input` (at, bytes) written to `out` a chunk at a time:
/// the first `skip` bytes copied, then each chunk of `chunk_entries` entries
/// of `size` bytes handed to `chunk` with its first entry's index, to check
/// and write. A thread reads the next chunk while `chunk` works on this one,
/// so that the kernel's copies overlap the checks and the arithmetic.
fn stream_section<R: Read + Seek + Send, W: std::io::Write>(
    input: &mut R,
    out: &mut W,
    id: u32,
    (at, bytes): (u64, u64),
    (size, skip, chunk_entries): (u64, u64, usize),
    mut chunk: impl FnMut(&mut dyn std::io::Write, usize, &[u8]) -> Result<(), CeremonyError>,
) -> Result<(), CeremonyError> {
    binfile::write_section(out, id, bytes, |w| {
        input.seek(std::io::SeekFrom::Start(at))?;
        let mut prefix = vec![0u8; skip as usize];
        input.read_exact(&mut prefix)?;
        w.write_all(&prefix)?;
        let count = ((bytes - skip) / size) as usize;
        let lengths: Vec<usize> = (0..count)
            .step_by(chunk_entries)
            .map(|first| chunk_entries.min(count - first) * size as usize)
            .collect();
        std::thread::scope(|scope| {
            // Two buffers go round: one being read, one being worked on.
            let (full, filled) = std::sync::mpsc::sync_channel::<std::io::Result<Vec<u8>>>(1);
            let (give_back, empty) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
            for _ in 0..2 {
                give_back.send(Vec::new()).expect("room for two");
            }
            scope.spawn(move || {
                for length in lengths {
                    // Closed channels: the worker stopped (an error); so do we.
                    let Ok(mut buffer) = empty.recv() else { return };
                    buffer.resize(length, 0);
                    let read = input.read_exact(&mut buffer).map(|()| buffer);
                    let failed = read.is_err();
                    if full.send(read).is_err() || failed {
                        return;
                    }
                }
            });
            for first in (0..count).step_by(chunk_entries) {
                let buffer = filled
                    .recv()
                    .expect("the reader sends every chunk or an error")?;
                chunk(w, first, &buffer)?;
                // The reader may be done and gone: then the buffer just drops.
                let _ = give_back.send(buffer);
            }
            Ok(())
        })
    })
}

/// Bytes [`write_behind`] gathers before handing them to its writing thread.
const BEHIND_BYTES: usize = 1 << 22;

/// The writer [`write_behind`] gives its body: bytes gathered into buffers of
/// [`BEHIND_BYTES`], each sent to the writing thread when full.
struct Behind {
    sender: std::sync::mpsc::SyncSender<Vec<u8>>,
    recycled: std::sync::mpsc::Receiver<Vec<u8>>,
    buffer: Vec<u8>,
}

impl Behind {
    fn send(&mut self) -> std::io::Result<()> {
        let next = self
            .recycled
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BEHIND_BYTES));
        let full = std::mem::replace(&mut self.buffer, next);
        self.sender
            .send(full)
            .map_err(|_| std::io::Error::other("the writing thread stopped"))
    }
}

impl std::io::Write for Behind {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= BEHIND_BYTES {
            self.send()?;
        }
        Ok(bytes.len())
    }
    /// Everything gathered is written when the body is done; a flush before
    /// would only make the buffers smaller.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `body` on a writer whose bytes a second thread writes to `out`, so
/// that the kernel's copies into the output overlap the body's work; every
/// byte is handed over before this returns. An error of the writing thread
/// is returned before the body's (which then only says the thread stopped).
fn write_behind<W: std::io::Write + Send, T>(
    out: &mut W,
    body: impl FnOnce(&mut Behind) -> Result<T, CeremonyError>,
) -> Result<T, CeremonyError> {
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
        let (give_back, recycled) = std::sync::mpsc::channel::<Vec<u8>>();
        let writer = scope.spawn(move || -> std::io::Result<()> {
            for mut buffer in receiver {
                out.write_all(&buffer)?;
                buffer.clear();
                let _ = give_back.send(buffer);
            }
            Ok(())
        });
        let mut behind = Behind {
            sender,
            recycled,
            buffer: Vec::with_capacity(BEHIND_BYTES),
        };
        let result = body(&mut behind).and_then(|value| Ok(behind.send().map(|()| value)?));
        drop(behind);
        writer.join().expect("writing does not panic")?;
        result
    })
}

/// The points of one chunk of section `id`, each checked by `parse`; errors
/// name the point's index in the section.
fn parse_points<T: Send>(
    section: (u32, &'static str),
    first: usize,
    bytes: &[u8],
    size: u64,
    parse: fn(&[u8]) -> Result<T, &'static str>,
) -> Result<Vec<T>, CeremonyError> {
    Ok(binfile::parse_points(bytes, section, first, size, parse).map_err(ZkeyError::from)?)
}

/// [`contribute`] from the `.zkey` in `input` to `out`, a chunk at a time:
/// the header and transcript are read and the chain checked
/// ([`check_transcript`]); IC, the coefficients, A and B are checked as
/// [`Zkey::read`] checks them and copied; C and H are read, checked, divided
/// by the secret and written. Memory stays a few chunks whatever the key's
/// size; the bytes are those [`contribute`] and [`Zkey::write`] make.
pub fn contribute_streamed<R, W, G>(
    input: &mut R,
    out: &mut W,
    name: Option<&str>,
    rng: &mut G,
) -> Result<[u8; 64], CeremonyError>
where
    R: Read + Seek + Send,
    W: std::io::Write + Send,
    G: RngCore + CryptoRng,
{
    contribute_in_chunks(input, out, name, rng, STREAM_CHUNK)
}

/// [`contribute_streamed`], `chunk` entries a read; a thread reads ahead
/// ([`stream_section`]) and one writes behind ([`write_behind`]).
fn contribute_in_chunks<R, W, G>(
    input: &mut R,
    out: &mut W,
    name: Option<&str>,
    rng: &mut G,
    chunk: usize,
) -> Result<[u8; 64], CeremonyError>
where
    R: Read + Seek + Send,
    W: std::io::Write + Send,
    G: RngCore + CryptoRng,
{
    write_behind(out, |out| contribute_to(input, out, name, rng, chunk))
}

/// [`contribute_in_chunks`]'s work, to a writer.
fn contribute_to<R, W, G>(
    input: &mut R,
    out: &mut W,
    name: Option<&str>,
    rng: &mut G,
    chunk: usize,
) -> Result<[u8; 64], CeremonyError>
where
    R: Read + Seek + Send,
    W: std::io::Write,
    G: RngCore + CryptoRng,
{
    let (mut key, layout) = Zkey::read_head(input)?;
    check_transcript(&key)?;
    let (secret, g1_s) = draw_secret(rng);
    let (hash, inverse) = record(&mut key, secret, g1_s, ContributionKind::Secret, name)?;
    let mpc = key.mpc.as_ref().expect("recorded").to_bytes();
    let [ic, coefficients, a, b1, b2, c, h] = layout.sections;
    let copy_g1s = |id, name| {
        move |w: &mut dyn std::io::Write, first, bytes: &[u8]| {
            parse_points((id, name), first, bytes, G1_BYTES, binfile::g1_or_infinity)?;
            Ok(w.write_all(bytes)?)
        }
    };
    let scale_g1s = |id, name| {
        move |w: &mut dyn std::io::Write, first, bytes: &[u8]| {
            let read = parse_points((id, name), first, bytes, G1_BYTES, binfile::g1_or_infinity)?;
            Ok(binfile::write_g1s(w, &scaled(&read, inverse))?)
        }
    };
    binfile::write_start(out, b"zkey", 1, 10)?;
    binfile::write_section(out, 1, 4, |w| w.write_all(&1u32.to_le_bytes()))?;
    let header = key.header_bytes();
    binfile::write_section(out, 2, header.len() as u64, |w| w.write_all(&header))?;
    stream_section(input, out, 3, ic, (G1_BYTES, 0, chunk), copy_g1s(3, "IC"))?;
    // Section 4: the count, then the entries.
    let size = COEFFICIENT_BYTES as u64;
    stream_section(
        input,
        out,
        4,
        coefficients,
        (size, 4, chunk),
        |w, first, bytes| {
            bytes
                .par_chunks_exact(size as usize)
                .enumerate()
                .try_for_each(|(i, entry)| {
                    parse_coefficient(first + i, entry, key.variables).map(drop)
                })?;
            Ok(w.write_all(bytes)?)
        },
    )?;
    stream_section(input, out, 5, a, (G1_BYTES, 0, chunk), copy_g1s(5, "A"))?;
    stream_section(
        input,
        out,
        6,
        b1,
        (G1_BYTES, 0, chunk),
        copy_g1s(6, "B in G1"),
    )?;
    stream_section(
        input,
        out,
        7,
        b2,
        (G2_BYTES, 0, chunk),
        |w, first, bytes| {
            let read = parse_points(
                (7, "B in G2"),
                first,
                bytes,
                G2_BYTES,
                binfile::g2_on_curve_or_infinity,
            )?;
            crate::zkey::check_g2s((7, "B in G2"), first, &read)?;
            Ok(w.write_all(bytes)?)
        },
    )?;
    stream_section(input, out, 8, c, (G1_BYTES, 0, chunk), scale_g1s(8, "C"))?;
    stream_section(input, out, 9, h, (G1_BYTES, 0, chunk), scale_g1s(9, "H"))?;
    binfile::write_section(out, 10, mpc.len() as u64, |w| w.write_all(&mpc))?;
    Ok(hash)
}

/// The last contribution, from a public random beacon (`hash`, 1 to 255
/// bytes, say a block hash announced in advance; 2^`iterations_exp`
/// SHA-256 rounds, 10 to 63, so that nobody can try beacon values in the
/// time before it is known): the same secret as `snarkjs zkey beacon`.
pub fn apply_beacon(
    key: &mut Zkey,
    hash: &[u8],
    iterations_exp: u8,
    name: Option<&str>,
) -> Result<[u8; 64], CeremonyError> {
    if hash.is_empty() || hash.len() > 255 {
        return Err(CeremonyError::Beacon(format!(
            "the beacon has {} bytes; 1 to 255 are taken",
            hash.len()
        )));
    }
    if !(10..=63).contains(&iterations_exp) {
        return Err(CeremonyError::Beacon(format!(
            "2^{iterations_exp} iterations: the exponent must be 10 to 63"
        )));
    }
    let mut rng = random::beacon_rng(hash, iterations_exp);
    let secret: Fr = rng.field();
    let g1_s = rng.g1();
    apply(
        key,
        secret,
        g1_s,
        ContributionKind::Beacon {
            hash: hash.to_vec(),
            iterations_exp,
        },
        name,
    )
}

/// A checked contribution, as `ceremony verify` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContributionReport {
    pub name: Option<String>,
    pub hash: [u8; 64],
    pub kind: ContributionKind,
}

/// A checked transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    pub cs_hash: [u8; 64],
    pub contributions: Vec<ContributionReport>,
    /// BLAKE2b-512 of the circuit hash and every contribution: the
    /// transcript's identity, which keys from it record.
    pub hash: [u8; 64],
}

/// `e(a, d) = e(b, c)`: b/a and d/c are the same ratio; none at infinity.
fn same_ratio(a: G1Affine, b: G1Affine, c: G2Affine, d: G2Affine) -> bool {
    if a.is_zero() || b.is_zero() || c.is_zero() || d.is_zero() {
        return false;
    }
    Bn254::multi_pairing([a, -b], [d, c]).is_zero()
}

/// Checks the chain of contributions: each transcript hash follows from the
/// ones before, each proof of knowledge holds, each δ follows from the one
/// before by the proven factor, a beacon's factor is the beacon's, and the
/// key's δ in G1 and G2 is the last one's.
pub fn check_transcript(key: &Zkey) -> Result<Transcript, CeremonyError> {
    let mpc = key.mpc.as_ref().ok_or(CeremonyError::NoTranscript)?;
    let mut accumulated = Blake2b512::new();
    accumulated.update(mpc.cs_hash);
    let mut delta = G1Affine::generator();
    let mut reports = Vec::new();
    for (i, c) in mpc.contributions.iter().enumerate() {
        let fail = |reason| CeremonyError::Contribution {
            index: i + 1,
            name: c.name.clone(),
            reason,
        };
        let mut ours = accumulated.clone();
        ours.update(g1_uncompressed(&c.g1_s));
        ours.update(g1_uncompressed(&c.g1_sx));
        if ours.finalize().as_slice() != c.transcript {
            return Err(fail(
                "its transcript hash does not follow from the contributions before it (altered, reordered or for another key)",
            ));
        }
        let g2_sp = hash_to_g2(&c.transcript);
        if !same_ratio(c.g1_s, c.g1_sx, g2_sp, c.g2_spx) {
            return Err(fail(
                "its proof of knowledge fails (g1_s, g1_sx and g2_spx are not one factor)",
            ));
        }
        if !same_ratio(delta, c.delta_after, g2_sp, c.g2_spx) {
            return Err(fail(
                "δ after it is not δ before it times the factor it proved",
            ));
        }
        if let ContributionKind::Beacon {
            hash,
            iterations_exp,
        } = &c.kind
        {
            let mut rng = random::beacon_rng(hash, *iterations_exp);
            let secret: Fr = rng.field();
            let g1_s = rng.g1();
            if g1_s != c.g1_s || (g1_s * secret).into_affine() != c.g1_sx {
                return Err(fail("its factor is not the one its beacon gives"));
            }
        }
        hash_contribution(&mut accumulated, c);
        reports.push(ContributionReport {
            name: c.name.clone(),
            hash: contribution_hash(c),
            kind: c.kind.clone(),
        });
        delta = c.delta_after;
    }
    if key.delta_g1 != delta {
        return Err(CeremonyError::Section {
            section: 2,
            name: "header",
            reason: "δ in G1 is not the last contribution's".into(),
        });
    }
    if !same_ratio(
        G1Affine::generator(),
        delta,
        G2Affine::generator(),
        key.delta_g2,
    ) {
        return Err(CeremonyError::Section {
            section: 2,
            name: "header",
            reason: "δ in G2 is not δ in G1".into(),
        });
    }
    Ok(Transcript {
        cs_hash: mpc.cs_hash,
        contributions: reports,
        hash: accumulated.finalize().into(),
    })
}

/// Checks a whole transcript against the Powers of Tau and the circuit: the
/// chain ([`check_transcript`]), and the key rebuilt from `phase1`: the same
/// header points, circuit hash, IC, coefficients, A and B, and C and H the
/// initial ones divided by δ (checked at once with random weights r:
/// `e(Σ r_i·C0_i, G2) = e(Σ r_i·C_i, [δ]G2)`).
pub fn verify<G: rand::Rng>(
    key: &Zkey,
    phase1: &Phase1,
    matrices: &ConstraintMatrices,
    rng: &mut G,
) -> Result<Transcript, CeremonyError> {
    check_shape(key, matrices)?;
    verify_sections(key, &mut InMemory(key), phase1, matrices, rng)
}

/// [`verify`] of the key in `file`, whose header and transcript `head` and
/// layout [`Zkey::read_head`] gave: each section is read when its turn
/// comes and dropped after, so that a verifier holds one section of the key,
/// not the whole key. The shape is checked here too; a caller checks it
/// first ([`check_shape`]) to name another circuit before reading the
/// Powers of Tau.
pub fn verify_file<R: Read + Seek, G: rand::Rng>(
    file: &mut R,
    (head, layout): (&Zkey, ZkeyLayout),
    phase1: &Phase1,
    matrices: &ConstraintMatrices,
    rng: &mut G,
) -> Result<Transcript, CeremonyError> {
    check_shape(head, matrices)?;
    let mut sections = FromFile {
        file,
        layout,
        variables: head.variables,
    };
    verify_sections(head, &mut sections, phase1, matrices, rng)
}

/// The key's size against the circuit's: its variables, public inputs and
/// domain.
pub fn check_shape(key: &Zkey, matrices: &ConstraintMatrices) -> Result<(), CeremonyError> {
    let (inputs, _, witnesses) = matrices.counts();
    if key.variables != inputs + witnesses
        || key.public_inputs + 1 != inputs
        || key.domain_size != matrices.domain_size()
    {
        return Err(CeremonyError::OtherCircuit(format!(
            "{} variables, {} public inputs and a domain of {}; the circuit has {}, {} and {}",
            key.variables,
            key.public_inputs,
            key.domain_size,
            inputs + witnesses,
            inputs - 1,
            matrices.domain_size()
        )));
    }
    Ok(())
}

/// A key's coefficients and point sections, as [`verify_sections`] asks for
/// them, one at a time.
trait KeySections {
    /// Whether section 4 holds exactly these entries, in this order.
    fn coefficients_are(
        &mut self,
        ours: &[crate::zkey::Coefficient],
    ) -> Result<bool, CeremonyError>;
    /// The G1 points of section `id`: 3 (IC), 5 (A), 6 (B in G1), 8 (C) or 9 (H).
    fn g1s(&mut self, id: u32) -> Result<Cow<'_, [G1Affine]>, CeremonyError>;
    /// Section 7's points, B in G2.
    fn g2s(&mut self) -> Result<Cow<'_, [G2Affine]>, CeremonyError>;
}

/// A key already in memory.
struct InMemory<'k>(&'k Zkey);

impl KeySections for InMemory<'_> {
    fn coefficients_are(
        &mut self,
        ours: &[crate::zkey::Coefficient],
    ) -> Result<bool, CeremonyError> {
        Ok(self.0.coefficients == ours)
    }
    fn g1s(&mut self, id: u32) -> Result<Cow<'_, [G1Affine]>, CeremonyError> {
        let key = self.0;
        Ok(Cow::Borrowed(match id {
            3 => &key.ic,
            5 => &key.a_g1,
            6 => &key.b_g1,
            8 => &key.c_g1,
            _ => &key.h_g1,
        }))
    }
    fn g2s(&mut self) -> Result<Cow<'_, [G2Affine]>, CeremonyError> {
        Ok(Cow::Borrowed(&self.0.b_g2))
    }
}

/// A key's file, each section read when asked for.
struct FromFile<'r, R> {
    file: &'r mut R,
    layout: ZkeyLayout,
    variables: usize,
}

impl<R: Read + Seek> KeySections for FromFile<'_, R> {
    fn coefficients_are(
        &mut self,
        ours: &[crate::zkey::Coefficient],
    ) -> Result<bool, CeremonyError> {
        if self.layout.coefficients != ours.len() as u64 {
            return Ok(false);
        }
        let (at, _) = self.layout.sections[1];
        self.file.seek(std::io::SeekFrom::Start(at + 4))?;
        let mut buffer = vec![0u8; STREAM_CHUNK.min(ours.len()) * COEFFICIENT_BYTES];
        for (first, ours) in ours.chunks(STREAM_CHUNK).enumerate() {
            let bytes = &mut buffer[..ours.len() * COEFFICIENT_BYTES];
            self.file.read_exact(bytes)?;
            for (i, (chunk, ours)) in bytes.chunks_exact(COEFFICIENT_BYTES).zip(ours).enumerate() {
                let index = first * STREAM_CHUNK + i;
                if parse_coefficient(index, chunk, self.variables)? != *ours {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
    fn g1s(&mut self, id: u32) -> Result<Cow<'_, [G1Affine]>, CeremonyError> {
        Ok(Cow::Owned(self.layout.read_g1s(self.file, id)?))
    }
    fn g2s(&mut self) -> Result<Cow<'_, [G2Affine]>, CeremonyError> {
        // On the curve, but not checked in G2's subgroup: each point is
        // compared with the one computed from the Powers of Tau, and only
        // equal points pass.
        Ok(Cow::Owned(self.layout.read_g2s(self.file)?))
    }
}

/// [`verify`]'s checks after the shape, on the header and transcript of
/// `key` and the sections `sections` gives.
fn verify_sections<G: rand::Rng>(
    key: &Zkey,
    sections: &mut impl KeySections,
    phase1: &Phase1,
    matrices: &ConstraintMatrices,
    rng: &mut G,
) -> Result<Transcript, CeremonyError> {
    let initial = initial_header(phase1, matrices);
    let mismatch = |section: u32, name: &'static str, reason: &str| CeremonyError::Section {
        section,
        name,
        reason: reason.to_owned(),
    };
    let header_reason = "not the Powers of Tau's";
    if key.alpha_g1 != initial.alpha_g1
        || key.beta_g1 != initial.beta_g1
        || key.beta_g2 != initial.beta_g2
    {
        return Err(mismatch(2, "header", &format!("α or β is {header_reason}")));
    }
    if key.gamma_g2 != initial.gamma_g2 {
        return Err(mismatch(2, "header", "γ is not 1"));
    }
    let mpc = key.mpc.as_ref().ok_or(CeremonyError::NoTranscript)?;
    let coefficients = crate::zkey::coefficients(matrices);
    if !sections.coefficients_are(&coefficients)? {
        return Err(mismatch(4, "coefficients", "not the circuit's A and B"));
    }
    let transcript = check_transcript(key)?;
    let divided = |start: &[G1Affine], end: &[G1Affine], rng: &mut G| {
        if start.len() != end.len() {
            return false;
        }
        if start.is_empty() {
            return true;
        }
        let r: Vec<Fr> = (0..start.len())
            .map(|_| Fr::from(rng.gen::<u128>()))
            .collect();
        let before = proofmint_gpu::msm::msm_g1(start, &r).into_affine();
        let after = proofmint_gpu::msm::msm_g1(end, &r).into_affine();
        same_ratio(after, before, G2Affine::generator(), key.delta_g2)
    };
    // Each section as it is computed, beside the key's, then both dropped.
    let derived = "not derived from the Powers of Tau for this circuit";
    let cs_hash = initial_sections(phase1, matrices, &coefficients, |section| match section {
        Initial::Ic(points) if points != *sections.g1s(3)? => Err(mismatch(3, "IC", derived)),
        Initial::C(points) if !divided(&points, &sections.g1s(8)?, rng) => {
            Err(mismatch(8, "C", "not the initial C divided by δ"))
        }
        Initial::A(points) if points != *sections.g1s(5)? => Err(mismatch(5, "A", derived)),
        Initial::B1(points) if points != *sections.g1s(6)? => Err(mismatch(6, "B in G1", derived)),
        Initial::B2(points) if points != *sections.g2s()? => Err(mismatch(7, "B in G2", derived)),
        _ => Ok(()),
    })?;
    if mpc.cs_hash != cs_hash {
        return Err(mismatch(
            10,
            "contributions",
            "its circuit hash is not that of this circuit on this Powers of Tau",
        ));
    }
    if !divided(&initial_h(phase1), &sections.g1s(9)?, rng) {
        return Err(mismatch(9, "H", "not the initial H divided by δ"));
    }
    Ok(transcript)
}

/// Claim keys from a final `.zkey` of `shape`'s circuit. With the
/// transcript [`verify`] returned, they are ceremony keys recording its hash,
/// refused unless someone contributed a secret (δ from a beacon alone is
/// public); without one (an unchecked import) they are labelled as
/// development keys, which nothing posts on chain.
pub fn claim_keys(
    key: &Zkey,
    shape: ClaimShape,
    transcript: Option<&Transcript>,
) -> Result<ProvingKeyFile, CeremonyError> {
    if key.ic.len() != NUM_PUBLIC_INPUTS + 1 {
        return Err(CeremonyError::OtherCircuit(format!(
            "{} public inputs, the claim circuit has {NUM_PUBLIC_INPUTS}",
            key.ic.len().saturating_sub(1)
        )));
    }
    let (setup, recorded) = match transcript {
        Some(transcript) => {
            let secret = transcript
                .contributions
                .iter()
                .any(|c| c.kind == ContributionKind::Secret);
            if !secret {
                return Err(CeremonyError::NoContributions);
            }
            (SetupKind::Ceremony, Some(transcript.hash))
        }
        None => (SetupKind::Development, None),
    };
    let pk = key.proving_key();
    let file = VerifyingKeyFile {
        shape,
        setup,
        transcript: recorded,
        vk: pk.vk.clone(),
    };
    Ok(ProvingKeyFile::with_form(file, pk, QapForm::Circom))
}

/// Our keys as a `.zkey` for snarkjs and the provers that read it
/// (rapidsnark, taceo-groth16), without section 10 (the transcript stays
/// with the ceremony's files). Keys in libsnark's form cannot be: their H
/// query is for another witness map.
pub fn zkey_of(key: &ProvingKeyFile) -> Result<Zkey, CeremonyError> {
    if key.form != QapForm::Circom {
        return Err(CeremonyError::OtherCircuit(
            "the key's H query is in libsnark's form, which snarkjs's provers do not take".into(),
        ));
    }
    let matrices = key
        .matrices()
        .map_err(|e| CeremonyError::OtherCircuit(e.to_string()))?;
    let (inputs, _, witnesses) = matrices.counts();
    let pk = &key.pk;
    Ok(Zkey {
        variables: inputs + witnesses,
        public_inputs: inputs - 1,
        domain_size: pk.h_query.len(),
        alpha_g1: pk.vk.alpha_g1,
        beta_g1: pk.beta_g1,
        beta_g2: pk.vk.beta_g2,
        gamma_g2: pk.vk.gamma_g2,
        delta_g1: pk.delta_g1,
        delta_g2: pk.vk.delta_g2,
        ic: pk.vk.gamma_abc_g1.clone(),
        coefficients: crate::zkey::coefficients(matrices),
        a_g1: pk.a_query.clone(),
        b_g1: pk.b_g1_query.clone(),
        b_g2: pk.b_g2_query.clone(),
        c_g1: pk.l_query.clone(),
        h_g1: pk.h_query.clone(),
        mpc: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::One;
    use rand::SeedableRng;

    /// x_(i+1) = x_i·(x_i + i), twelve steps from a public x_0 to a public
    /// last: a key of a few dozen points, streamed a few at a time.
    struct Chain;

    impl ark_relations::gr1cs::ConstraintSynthesizer<Fr> for Chain {
        fn generate_constraints(
            self,
            cs: ark_relations::gr1cs::ConstraintSystemRef<Fr>,
        ) -> Result<(), ark_relations::gr1cs::SynthesisError> {
            use ark_relations::gr1cs::Variable;
            use ark_relations::lc;
            let mut x = Fr::from(2u64);
            let mut xv = cs.new_input_variable(|| Ok(x))?;
            for i in 0..12u64 {
                let next = x * (x + Fr::from(i));
                let nv = if i == 11 {
                    cs.new_input_variable(|| Ok(next))?
                } else {
                    cs.new_witness_variable(|| Ok(next))?
                };
                cs.enforce_r1cs_constraint(
                    || lc![xv],
                    || lc![(Fr::one(), xv), (Fr::from(i), Variable::One)],
                    || lc![nv],
                )?;
                (x, xv) = (next, nv);
            }
            Ok(())
        }
    }

    /// The Chain circuit's phase 1 from known secrets, and its key after one
    /// contribution ("first"), with the rng that made it.
    fn chain_key(seed: u64) -> (ConstraintMatrices, Phase1, Zkey, rand_chacha::ChaCha20Rng) {
        let matrices = ConstraintMatrices::of(Chain).unwrap();
        let power = circuit_power(&matrices) + 1;
        let (tau, alpha, beta) = (Fr::from(77u64), Fr::from(5u64), Fr::from(6u64));
        let mut ptau = Vec::new();
        Ptau::from_secrets(power, tau, alpha, beta)
            .write_with(&mut ptau, Ptau::lagrange_sections(power, tau, alpha, beta))
            .unwrap();
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let phase1 = read_phase1(&mut std::io::Cursor::new(&ptau), &matrices, &mut rng).unwrap();
        let mut key = initial_key(&phase1, &matrices).unwrap();
        contribute(&mut key, Some("first"), &mut rng).unwrap();
        (matrices, phase1, key, rng)
    }

    /// The Powers of Tau checks, on proofmint's MSMs, refuse powers out of
    /// step in G1 and in G2 and a Lagrange basis of another τ.
    #[test]
    fn powers_of_tau_out_of_step_are_refused() {
        let matrices = ConstraintMatrices::of(Chain).unwrap();
        let power = circuit_power(&matrices) + 1;
        let (tau, alpha, beta) = (Fr::from(77u64), Fr::from(5u64), Fr::from(6u64));
        let read = |ptau: &Ptau, tau_of_lagrange: Fr| {
            let mut bytes = Vec::new();
            ptau.write_with(
                &mut bytes,
                Ptau::lagrange_sections(power, tau_of_lagrange, alpha, beta),
            )
            .unwrap();
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(21);
            read_phase1(&mut std::io::Cursor::new(&bytes), &matrices, &mut rng).map(drop)
        };
        let good = Ptau::from_secrets(power, tau, alpha, beta);
        read(&good, tau).unwrap();
        let mut bad = good.clone();
        bad.tau_g1[3] = (bad.tau_g1[3] + G1Affine::generator()).into_affine();
        let error = read(&bad, tau).unwrap_err().to_string();
        assert!(error.contains("[τ^i]G1 are not successive"), "{error}");
        let mut bad = good.clone();
        bad.tau_g2[2] = (bad.tau_g2[2] + G2Affine::generator()).into_affine();
        let error = read(&bad, tau).unwrap_err().to_string();
        assert!(error.contains("[τ^i]G2 are not successive"), "{error}");
        let error = read(&good, tau + Fr::from(1u64)).unwrap_err().to_string();
        assert!(error.contains("Lagrange basis is not that of"), "{error}");
    }

    /// A key verified from its file, a section at a time, gives the
    /// in-memory verification's transcript; a wrong point (on the curve) in
    /// any section, a wrong coefficient, and a point off the curve are each
    /// refused, naming the section.
    #[test]
    fn a_key_verified_from_its_file_is_verified_as_in_memory() {
        let (matrices, phase1, key, mut rng) = chain_key(15);
        let mut check_rng = rand_chacha::ChaCha20Rng::seed_from_u64(16);
        let mut from_bytes = |bytes: &[u8]| {
            let mut file = std::io::Cursor::new(bytes);
            let (head, layout) = Zkey::read_head(&mut file)?;
            verify_file(
                &mut file,
                (&head, layout),
                &phase1,
                &matrices,
                &mut check_rng,
            )
        };
        let expected = verify(&key, &phase1, &matrices, &mut rng).unwrap();
        let mut bytes = Vec::new();
        key.write(&mut bytes).unwrap();
        let got = from_bytes(&bytes).unwrap();
        assert_eq!(got.hash, expected.hash);
        assert_eq!(got.contributions.len(), 1);

        let g1 = G1Affine::generator();
        let mut wrong: Vec<(u32, Zkey)> = Vec::new();
        for section in [3u32, 5, 6, 8, 9] {
            let mut bad = key.clone();
            let points = match section {
                3 => &mut bad.ic,
                5 => &mut bad.a_g1,
                6 => &mut bad.b_g1,
                8 => &mut bad.c_g1,
                _ => &mut bad.h_g1,
            };
            let last = points.len() - 1;
            points[last] = (points[last] + g1).into_affine();
            wrong.push((section, bad));
        }
        let mut bad = key.clone();
        bad.b_g2[2] = (bad.b_g2[2] + G2Affine::generator()).into_affine();
        wrong.push((7, bad));
        let mut bad = key.clone();
        bad.coefficients[3].value += Fr::from(1u64);
        wrong.push((4, bad));
        for (section, bad) in wrong {
            let mut bytes = Vec::new();
            bad.write(&mut bytes).unwrap();
            let error = from_bytes(&bytes).unwrap_err().to_string();
            assert!(
                error.contains(&format!("section {section}")),
                "section {section}: {error}"
            );
            let in_memory = verify(&bad, &phase1, &matrices, &mut rng).unwrap_err();
            assert_eq!(in_memory.to_string(), error, "section {section}");
        }
        // A point off the curve: a flipped bit in A's first point.
        let (_, layout) = Zkey::read_head(&mut std::io::Cursor::new(&bytes)).unwrap();
        let mut damaged = bytes.clone();
        damaged[layout.sections[2].0 as usize] ^= 1;
        let error = from_bytes(&damaged).unwrap_err().to_string();
        assert!(error.contains("section 5"), "{error}");
    }

    /// A contribution streamed a few points at a time writes the bytes the
    /// in-memory one writes for the same secret; a point off the curve in
    /// any streamed section, a coefficient past the variables, or an
    /// altered transcript is refused, naming where.
    #[test]
    fn a_streamed_contribution_is_the_in_memory_one() {
        let (_, _, key, _) = chain_key(5);
        let mut before = Vec::new();
        key.write(&mut before).unwrap();

        let mut in_memory = key.clone();
        let hash = contribute(
            &mut in_memory,
            Some("second"),
            &mut rand_chacha::ChaCha20Rng::seed_from_u64(9),
        )
        .unwrap();
        let mut expected = Vec::new();
        in_memory.write(&mut expected).unwrap();
        let stream = |input: &[u8]| {
            let mut out = Vec::new();
            contribute_in_chunks(
                &mut std::io::Cursor::new(input),
                &mut out,
                Some("second"),
                &mut rand_chacha::ChaCha20Rng::seed_from_u64(9),
                3,
            )
            .map(|hash| (hash, out))
        };
        let (streamed_hash, streamed) = stream(&before).unwrap();
        assert_eq!(streamed_hash, hash);
        assert!(streamed == expected, "the streamed key differs");
        check_transcript(&Zkey::read(&mut std::io::Cursor::new(&streamed)).unwrap()).unwrap();

        // Damage, each in a chunk past the first.
        let (_, layout) = Zkey::read_head(&mut std::io::Cursor::new(&before)).unwrap();
        for (section, entry, size) in [(3, 1, 64), (5, 4, 64), (7, 4, 128), (8, 3, 64), (9, 6, 64)]
        {
            let mut damaged = before.clone();
            let at = layout.sections[section - 3].0 as usize + entry * size;
            damaged[at] ^= 1;
            let error = stream(&damaged).unwrap_err().to_string();
            assert!(
                error.contains(&format!("section {section}"))
                    && error.contains(&format!("{entry}")),
                "section {section}: {error}"
            );
        }
        let mut damaged = before.clone();
        let at = layout.sections[1].0 as usize + 4 + 3 * COEFFICIENT_BYTES + 8;
        damaged[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let error = stream(&damaged).unwrap_err().to_string();
        assert!(error.contains("coefficient 3"), "{error}");
        let mut altered = key.clone();
        let c = &mut altered.mpc.as_mut().unwrap().contributions[0];
        c.g1_sx = (c.g1_sx * Fr::from(2u64)).into_affine();
        let mut damaged = Vec::new();
        altered.write(&mut damaged).unwrap();
        let error = stream(&damaged).unwrap_err().to_string();
        assert!(error.contains("contribution 1 (first)"), "{error}");
    }

    /// Reads as its cursor does, except the byte at `fail_at`: a read that
    /// would cover it stops before it, and one that starts there fails.
    struct FailingRead {
        inner: std::io::Cursor<Vec<u8>>,
        fail_at: u64,
    }

    impl Read for FailingRead {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let at = self.inner.position();
            if at == self.fail_at {
                return Err(std::io::Error::other("the disk failed"));
            }
            let n = match self.fail_at.checked_sub(at) {
                Some(left) => buf.len().min(left as usize),
                None => buf.len(),
            };
            self.inner.read(&mut buf[..n])
        }
    }

    impl Seek for FailingRead {
        fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
            self.inner.seek(to)
        }
    }

    /// Fails every write past `room` bytes.
    struct FullDisk {
        room: usize,
    }

    impl Write for FullDisk {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            if bytes.len() > self.room {
                return Err(std::io::Error::other("no space left"));
            }
            self.room -= bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The threads that read ahead and write behind: every byte in order,
    /// and a failing read or write is the error returned, whichever section
    /// or buffer it falls in.
    #[test]
    fn reading_ahead_and_writing_behind_lose_nothing_and_report_failures() {
        let data: Vec<u8> = (0..3 * BEHIND_BYTES + 17)
            .map(|i| (i % 251) as u8)
            .collect();
        let write_all = |w: &mut Behind| -> Result<(), CeremonyError> {
            for piece in data.chunks(1000) {
                w.write_all(piece)?;
            }
            Ok(())
        };
        let mut out = Vec::new();
        write_behind(&mut out, write_all).unwrap();
        assert!(out == data, "write_behind changed the bytes");
        for room in [0, 10, BEHIND_BYTES + 5, 3 * BEHIND_BYTES] {
            let error = write_behind(&mut FullDisk { room }, write_all).unwrap_err();
            assert!(
                error.to_string().contains("no space left"),
                "{room}: {error}"
            );
        }

        let (_, _, key, _) = chain_key(5);
        let mut before = Vec::new();
        key.write(&mut before).unwrap();
        let (_, layout) = Zkey::read_head(&mut std::io::Cursor::new(&before)).unwrap();
        let contribute_from = |input: &mut FailingRead, out: &mut Vec<u8>| {
            contribute_in_chunks(
                input,
                out,
                None,
                &mut rand_chacha::ChaCha20Rng::seed_from_u64(9),
                3,
            )
        };
        // A read failing in each streamed section, in its first chunk and past it.
        for (at, _) in layout.sections {
            for offset in [0, 5, 64 * 4 + 1] {
                let mut input = FailingRead {
                    inner: std::io::Cursor::new(before.clone()),
                    fail_at: at + offset,
                };
                let error = contribute_from(&mut input, &mut Vec::new()).unwrap_err();
                assert!(error.to_string().contains("the disk failed"), "{error}");
            }
        }
        let mut whole = FailingRead {
            inner: std::io::Cursor::new(before.clone()),
            fail_at: u64::MAX,
        };
        let mut out = Vec::new();
        contribute_from(&mut whole, &mut out).unwrap();
        let mut plain = Vec::new();
        contribute_in_chunks(
            &mut std::io::Cursor::new(&before),
            &mut plain,
            None,
            &mut rand_chacha::ChaCha20Rng::seed_from_u64(9),
            1 << 16,
        )
        .unwrap();
        assert!(out == plain, "the chunk size changed the bytes");
        check_transcript(&Zkey::read(&mut std::io::Cursor::new(&out)).unwrap()).unwrap();
    }
}
