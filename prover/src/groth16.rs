//! Our Groth16 prover: the same proof as `ark_groth16::Groth16::prove` on the
//! same proving key, with every MSM and NTT routed through a
//! [`proofmint_gpu::Backend`].
//!
//! The reduction is libsnark's R1CS-to-QAP (as in ark-groth16's
//! `LibsnarkReduction`, so keys from `ark-groth16`'s setup fit): evaluate the
//! A, B and C rows on the witness over the domain H (|H| a power of two holding
//! every constraint and input), interpolate (3 inverse NTTs), evaluate A and B
//! and C on the coset gH (3 coset NTTs), divide `A·B - C` by `Z_H(g) = g^|H| - 1`,
//! and interpolate h from the coset (1 inverse coset NTT): 7 NTTs. Then five
//! MSMs: h and the private witness against `h_query` and `l_query`, and the
//! full assignment against `a_query`, `b_g1_query` and (in G2) `b_g2_query`
//! (Groth, EUROCRYPT 2016, section 3.2, with ark-groth16's key layout).

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Projective};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{FftField, Field, UniformRand, Zero};
use ark_groth16::{Proof, ProvingKey};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, OptimizationGoal, SynthesisError,
    SynthesisMode, R1CS_PREDICATE_LABEL,
};
use ark_relations::utils::matrix::Matrix;
use proofmint_circuits::field::concat_par;
use proofmint_gpu::{msm, Backend, BackendError, NttDirection};
use rand::{CryptoRng, RngCore};
use rayon::prelude::*;

/// The form of a key's H query, which decides the witness map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QapForm {
    /// ark-groth16's and libsnark's (our development keys): h = (A·B − C)/Z_H,
    /// interpolated from gH ([`witness_map`]); the query has |H| − 1 points.
    Libsnark,
    /// snarkjs's (`.zkey`, ceremony keys): h's evaluations on the odd coset,
    /// the division in the key ([`witness_map_circom`]); |H| points.
    Circom,
}

impl QapForm {
    /// The coset this form's witness map evaluates on, for a domain of
    /// `size`: gH with g the field's generator (libsnark's), or the odd
    /// points of the domain of twice the size, ω_{2n}·H (snarkjs's).
    pub fn coset(self, size: usize) -> Result<Fr, Groth16Error> {
        match self {
            QapForm::Libsnark => Ok(Fr::GENERATOR),
            QapForm::Circom => Fr::get_root_of_unity(2 * size as u64).ok_or_else(|| {
                Groth16Error::KeyMismatch(format!("no domain of size {}", 2 * size))
            }),
        }
    }

    /// The witness map proofs with a key of this form take.
    pub fn witness_map(self) -> WitnessMap {
        match self {
            QapForm::Libsnark => witness_map,
            QapForm::Circom => witness_map_circom,
        }
    }

    /// The domain size an H query of `len` points is for, if it is one.
    pub fn domain_of(self, len: usize) -> Option<usize> {
        let size = match self {
            QapForm::Libsnark => len.checked_add(1)?,
            QapForm::Circom => len,
        };
        size.is_power_of_two().then_some(size)
    }
}

/// Why the backend prover failed.
#[derive(Debug, thiserror::Error)]
pub enum Groth16Error {
    #[error(transparent)]
    Synthesis(#[from] SynthesisError),
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("the proving key does not fit this circuit: {0}")]
    KeyMismatch(String),
}

pub(crate) fn row_value(row: &[(Fr, usize)], assignment: &[Fr]) -> Fr {
    row.iter()
        .map(|(coefficient, index)| assignment[*index] * coefficient)
        .sum()
}

/// A sparse matrix stored flat, row after row: row r's terms (coefficient,
/// column) are `terms[starts[r]..starts[r + 1]]`. One allocation for all
/// rows, where ark-relations' `Matrix` makes one per row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparseMatrix {
    terms: Vec<(Fr, usize)>,
    starts: Vec<usize>,
}

impl SparseMatrix {
    /// From ark-relations' row-per-`Vec` form.
    pub fn from_rows(rows: &Matrix<Fr>) -> Self {
        let mut starts = Vec::with_capacity(rows.len() + 1);
        starts.push(0);
        let mut terms = Vec::with_capacity(rows.iter().map(Vec::len).sum());
        for row in rows {
            terms.extend_from_slice(row);
            starts.push(terms.len());
        }
        Self { terms, starts }
    }

    /// From terms laid out row after row and each row's length; None
    /// unless the lengths add up to the terms.
    pub(crate) fn from_flat(terms: Vec<(Fr, usize)>, lengths: &[u32]) -> Option<Self> {
        let mut starts = Vec::with_capacity(lengths.len() + 1);
        starts.push(0usize);
        let mut end = 0usize;
        for &len in lengths {
            end = end.checked_add(len as usize)?;
            starts.push(end);
        }
        (end == terms.len()).then_some(Self { terms, starts })
    }

    pub fn row(&self, r: usize) -> &[(Fr, usize)] {
        &self.terms[self.starts[r]..self.starts[r + 1]]
    }

    /// How many rows it has.
    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Its rows, in order.
    pub fn rows(&self) -> impl Iterator<Item = &[(Fr, usize)]> {
        self.starts.windows(2).map(|w| &self.terms[w[0]..w[1]])
    }
}

/// Matrix `m` (0, 1, 2 for A, B, C) times the assignment on the domain H of
/// the constraints and the input rows; for A the input rows themselves,
/// `A_{m+i} = x_i` (the constant first), which libsnark and snarkjs both
/// append to keep the public inputs independent.
pub fn on_domain(matrices: &ConstraintMatrices, assignment: &[Fr], m: usize) -> Vec<Fr> {
    let (num_inputs, num_constraints, _) = matrices.counts();
    let mut values = vec![Fr::zero(); matrices.domain_size()];
    matrices.evaluate(m, assignment, &mut values[..num_constraints]);
    if m == 0 {
        values[num_constraints..num_constraints + num_inputs]
            .copy_from_slice(&assignment[..num_inputs]);
    }
    values
}

/// [`on_domain`] for A, B and C at once ([`ConstraintMatrices::evaluate_all`]).
pub fn on_domain_all(matrices: &ConstraintMatrices, assignment: &[Fr]) -> [Vec<Fr>; 3] {
    let mut outs = Default::default();
    on_domain_all_into(matrices, assignment, &mut outs);
    outs
}

/// [`on_domain_all`] into vectors kept from an earlier proof (resized, and
/// their padding cleared): a prover that reuses them spares the operating
/// system's zeroing of new pages, tens of milliseconds at 256 slots.
pub fn on_domain_all_into(
    matrices: &ConstraintMatrices,
    assignment: &[Fr],
    outs: &mut [Vec<Fr>; 3],
) {
    let (num_inputs, num_constraints, _) = matrices.counts();
    let size = matrices.domain_size();
    for out in outs.iter_mut() {
        out.resize(size, Fr::zero());
    }
    let [a, b, c] = outs;
    matrices.evaluate_all(
        assignment,
        [
            &mut a[..num_constraints],
            &mut b[..num_constraints],
            &mut c[..num_constraints],
        ],
    );
    a[num_constraints..num_constraints + num_inputs].copy_from_slice(&assignment[..num_inputs]);
    a[num_constraints + num_inputs..]
        .par_iter_mut()
        .for_each(|v| *v = Fr::zero());
    for out in [b, c] {
        out[num_constraints..]
            .par_iter_mut()
            .for_each(|v| *v = Fr::zero());
    }
}

/// h's coefficients, through the backend's NTTs.
pub fn witness_map(
    backend: &dyn Backend,
    matrices: &ConstraintMatrices,
    assignment: &[Fr],
) -> Result<Vec<Fr>, Groth16Error> {
    let [mut a, mut b, mut c] = on_domain_all(matrices, assignment);
    let size = a.len();

    let g = QapForm::Libsnark.coset(size)?;
    for values in [&mut a, &mut b, &mut c] {
        backend.ntt(values, NttDirection::Inverse)?;
        backend.coset_ntt(values, g, NttDirection::Forward)?;
    }
    let z_inverse = vanishing_inverse_on_coset(g, size);
    a.par_iter_mut()
        .zip(b.par_iter())
        .zip(c.par_iter())
        .for_each(|((a, b), c)| *a = (*a * b - c) * z_inverse);
    backend.coset_ntt(&mut a, g, NttDirection::Inverse)?;
    Ok(a)
}

/// Proves `circuit` with `pk`, whose H query is in `form`, every MSM and
/// NTT on `backend`.
pub fn prove<C: ConstraintSynthesizer<Fr>, R: RngCore + CryptoRng>(
    pk: &ProvingKey<Bn254>,
    form: QapForm,
    circuit: C,
    backend: &dyn Backend,
    rng: &mut R,
) -> Result<Proof<Bn254>, Groth16Error> {
    let r = Fr::rand(rng);
    let s = Fr::rand(rng);
    prove_with_randomness(pk, form, circuit, backend, r, s)
}

/// Synthesizes `circuit` with its assignment, as ark-groth16's prover does
/// (optimizing for constraints), with or without building its matrices.
fn synthesize_for_proof<C: ConstraintSynthesizer<Fr>>(
    circuit: C,
    construct_matrices: bool,
) -> Result<ConstraintSystemRef<Fr>, Groth16Error> {
    let cs = ConstraintSystem::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Prove {
        construct_matrices,
        generate_lc_assignments: false,
    });
    circuit.generate_constraints(cs.clone())?;
    Ok(cs)
}

/// The R1CS matrices of one circuit shape, built once (as the setup builds
/// them) and reused by every proof, so that a proof only computes its witness.
#[derive(Debug, Clone)]
pub struct ConstraintMatrices {
    source: MatrixSource,
    num_inputs: usize,
    num_constraints: usize,
    num_witnesses: usize,
}

/// Where a circuit's rows come from.
#[derive(Debug, Clone)]
enum MatrixSource {
    /// Every row stored (A, B, C).
    Explicit(Vec<SparseMatrix>),
    /// The claim circuit's rows, made on demand from one slot template
    /// ([`crate::matrices`]).
    Slots(Box<crate::matrices::SlotMatrices>),
}

impl ConstraintMatrices {
    /// The claim circuit's matrices from its slot template.
    pub(crate) fn from_slots(
        slots: crate::matrices::SlotMatrices,
        num_inputs: usize,
        num_constraints: usize,
        num_witnesses: usize,
    ) -> Self {
        Self {
            source: MatrixSource::Slots(Box::new(slots)),
            num_inputs,
            num_constraints,
            num_witnesses,
        }
    }

    /// Row `r` of matrix `m` (0, 1, 2 for A, B, C): its terms as
    /// (coefficient, column), the instance columns first.
    pub fn row(&self, m: usize, r: usize) -> Vec<(Fr, usize)> {
        match &self.source {
            MatrixSource::Explicit(matrices) => matrices[m].row(r).to_vec(),
            MatrixSource::Slots(slots) => slots.row(m, r),
        }
    }

    /// Every row of matrix `m` evaluated on `assignment` (instance then
    /// witness), into `out` (one value per constraint).
    pub fn evaluate(&self, m: usize, assignment: &[Fr], out: &mut [Fr]) {
        match &self.source {
            MatrixSource::Explicit(matrices) => {
                let matrix = &matrices[m];
                out.par_iter_mut()
                    .enumerate()
                    .for_each(|(r, v)| *v = row_value(matrix.row(r), assignment));
            }
            MatrixSource::Slots(slots) => slots.evaluate(m, assignment, out),
        }
    }

    /// Every row of all three matrices on `assignment`, into `outs`: the
    /// claim circuit's evaluates each slot's distinct combinations once.
    pub fn evaluate_all(&self, assignment: &[Fr], outs: [&mut [Fr]; 3]) {
        match &self.source {
            MatrixSource::Explicit(_) => {
                for (m, out) in outs.into_iter().enumerate() {
                    self.evaluate(m, assignment, out);
                }
            }
            MatrixSource::Slots(slots) => slots.evaluate_all(assignment, outs),
        }
    }

    /// The evaluation domain's size: constraints and input rows, rounded up
    /// to a power of two.
    pub fn domain_size(&self) -> usize {
        (self.num_constraints + self.num_inputs).next_power_of_two()
    }

    /// (instance columns, constraints, witness columns).
    pub fn counts(&self) -> (usize, usize, usize) {
        (self.num_inputs, self.num_constraints, self.num_witnesses)
    }

    /// Synthesizes `circuit` in setup mode, as ark-groth16's generator does.
    /// The circuit's structure must not depend on its values (the claim
    /// circuit's does not).
    pub fn of<C: ConstraintSynthesizer<Fr>>(circuit: C) -> Result<Self, Groth16Error> {
        let cs = ConstraintSystem::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        circuit.generate_constraints(cs.clone())?;
        cs.finalize();
        let matrices = cs
            .to_matrices()?
            .remove(R1CS_PREDICATE_LABEL)
            .ok_or(SynthesisError::MissingCS)?;
        Ok(Self {
            source: MatrixSource::Explicit(matrices.iter().map(SparseMatrix::from_rows).collect()),
            num_inputs: cs.num_instance_variables(),
            num_constraints: cs.num_constraints(),
            num_witnesses: cs.num_witness_variables(),
        })
    }
}

/// [`prove`] reusing `matrices` (built once per key with [`ConstraintMatrices::of`]):
/// the circuit is synthesized only for its witness.
pub fn prove_with_matrices<C: ConstraintSynthesizer<Fr>, R: RngCore + CryptoRng>(
    pk: &ProvingKey<Bn254>,
    form: QapForm,
    matrices: &ConstraintMatrices,
    circuit: C,
    backend: &dyn Backend,
    rng: &mut R,
) -> Result<Proof<Bn254>, Groth16Error> {
    let cs = synthesize_for_proof(circuit, false)?;
    let instance = cs.instance_assignment()?;
    let witness = cs.witness_assignment()?;
    drop(cs);
    prove_assignment(pk, form, matrices, &instance, &witness, backend, rng)
}

/// [`prove_with_matrices`] from an assignment computed beforehand (the
/// claim circuit computes its own in parallel, [`ClaimCircuit::witness`]).
///
/// [`ClaimCircuit::witness`]: proofmint_circuits::claim::ClaimCircuit::witness
pub fn prove_assignment<R: RngCore + CryptoRng>(
    pk: &ProvingKey<Bn254>,
    form: QapForm,
    matrices: &ConstraintMatrices,
    instance: &[Fr],
    witness: &[Fr],
    backend: &dyn Backend,
    rng: &mut R,
) -> Result<Proof<Bn254>, Groth16Error> {
    check_assignment(matrices, instance, witness)?;
    let r = Fr::rand(rng);
    let s = Fr::rand(rng);
    let assignment: Vec<Fr> = concat_par(&[instance, witness]);
    let h = form.witness_map()(backend, matrices, &assignment)?;
    assemble(pk, backend, &assignment, witness, &h, r, s)
}

/// Refuses an assignment whose lengths are not the matrices'.
pub(crate) fn check_assignment(
    matrices: &ConstraintMatrices,
    instance: &[Fr],
    witness: &[Fr],
) -> Result<(), Groth16Error> {
    if instance.len() != matrices.num_inputs || witness.len() != matrices.num_witnesses {
        return Err(Groth16Error::KeyMismatch(format!(
            "the circuit has {} inputs and {} witnesses, the matrices {} and {}",
            instance.len(),
            witness.len(),
            matrices.num_inputs,
            matrices.num_witnesses
        )));
    }
    Ok(())
}

/// The witness map for a key's form of the H query.
pub type WitnessMap = fn(&dyn Backend, &ConstraintMatrices, &[Fr]) -> Result<Vec<Fr>, Groth16Error>;

/// 1 / Z_H on the coset gH, where the vanishing polynomial x^|H| − 1 is the
/// constant g^|H| − 1.
pub(crate) fn vanishing_inverse_on_coset(g: Fr, size: usize) -> Fr {
    (g.pow([size as u64]) - Fr::ONE)
        .inverse()
        .expect("g is outside H, so Z_H(g) != 0")
}

/// h's evaluations for keys in snarkjs's form (`.zkey`, and rapidsnark's and
/// ark-circom's "circom reduction"): the A·z and B·z evaluations, with the
/// input rows, are interpolated and evaluated on the coset ω_{2n}·H, the odd
/// points of the domain of twice the size, where the vanishing polynomial is
/// −2. The key's H query absorbs the division, so h is `a·b − c` there,
/// with no division and no final inverse transform. snarkjs, whose keys
/// have no C matrix, takes C·z as A·z ∘ B·z on H; we evaluate C·z (each
/// slot's combinations are shared with A's and B's, so C costs less than
/// the product): for a satisfying assignment the two are equal on every
/// point of H (the input and padding rows have B·z = C·z = 0), so the proof
/// is the same, and for any other the proof fails either way.
pub fn witness_map_circom(
    backend: &dyn Backend,
    matrices: &ConstraintMatrices,
    assignment: &[Fr],
) -> Result<Vec<Fr>, Groth16Error> {
    let [mut a, mut b, mut c] = on_domain_all(matrices, assignment);
    let size = a.len();
    let odd = QapForm::Circom.coset(size)?;
    for values in [&mut a, &mut b, &mut c] {
        backend.ntt(values, NttDirection::Inverse)?;
        backend.coset_ntt(values, odd, NttDirection::Forward)?;
    }
    a.par_iter_mut()
        .zip(b.par_iter())
        .zip(c.par_iter())
        .for_each(|((a, b), c)| *a = *a * b - c);
    Ok(a)
}

/// [`prove`] with chosen blinding factors (r, s), for comparison with ark-groth16.
pub fn prove_with_randomness<C: ConstraintSynthesizer<Fr>>(
    pk: &ProvingKey<Bn254>,
    form: QapForm,
    circuit: C,
    backend: &dyn Backend,
    r: Fr,
    s: Fr,
) -> Result<Proof<Bn254>, Groth16Error> {
    let cs = synthesize_for_proof(circuit, true)?;
    cs.finalize();
    let matrices = cs
        .to_matrices()?
        .remove(R1CS_PREDICATE_LABEL)
        .ok_or(SynthesisError::MissingCS)?;
    let num_inputs = cs.num_instance_variables();
    let num_constraints = cs.num_constraints();
    let instance = cs.instance_assignment()?;
    let witness = cs.witness_assignment()?;
    let assignment: Vec<Fr> = concat_par(&[&instance, &witness]);
    drop(cs);

    let matrices = ConstraintMatrices {
        source: MatrixSource::Explicit(matrices.iter().map(SparseMatrix::from_rows).collect()),
        num_inputs,
        num_constraints,
        num_witnesses: assignment.len() - num_inputs,
    };
    let h = form.witness_map()(backend, &matrices, &assignment)?;
    drop(matrices);

    assemble(pk, backend, &assignment, &witness, &h, r, s)
}

/// The five MSM sums of a proof, before blinding.
pub(crate) struct Sums {
    pub h: G1Projective,
    pub l: G1Projective,
    pub a: G1Projective,
    pub b_g1: G1Projective,
    pub b_g2: G2Projective,
}

/// Refuses a key whose queries do not fit the assignment.
pub(crate) fn check_fits(
    pk: &ProvingKey<Bn254>,
    assignment_len: usize,
    witness_len: usize,
    h_len: usize,
) -> Result<(), Groth16Error> {
    let fits = pk.a_query.len() == assignment_len
        && pk.b_g1_query.len() == assignment_len
        && pk.b_g2_query.len() == assignment_len
        && pk.l_query.len() == witness_len
        && pk.h_query.len() <= h_len;
    if !fits {
        return Err(Groth16Error::KeyMismatch(format!(
            "{} variables and {} witnesses, the key has {} and {}",
            assignment_len,
            witness_len,
            pk.a_query.len(),
            pk.l_query.len()
        )));
    }
    Ok(())
}

/// The proof from the full assignment, the private witness and h: five MSMs
/// on the backend, then the blinding with (r, s) as in ark-groth16.
fn assemble(
    pk: &ProvingKey<Bn254>,
    backend: &dyn Backend,
    assignment: &[Fr],
    witness: &[Fr],
    h: &[Fr],
    r: Fr,
    s: Fr,
) -> Result<Proof<Bn254>, Groth16Error> {
    let variables = &assignment[1..]; // without the constant 1
    check_fits(pk, assignment.len(), witness.len(), h.len())?;
    let h = backend.msm_g1(&pk.h_query, &h[..pk.h_query.len()])?;
    let sums = match Repeats::of(variables) {
        // Most values repeat: each query's points are summed by value first,
        // and the MSMs run over the distinct values.
        Some(repeats) => {
            let private = variables.len() - witness.len();
            let (values, groups, count) = (&repeats.values, &repeats.groups, repeats.values.len());
            let g1 = |bases: &[G1Affine], groups: &[u32]| {
                backend.msm_g1(&msm::group_sums_g1(bases, groups, count), values)
            };
            Sums {
                h,
                l: g1(&pk.l_query, &groups[private..])?,
                a: g1(&pk.a_query[1..], groups)?,
                b_g1: g1(&pk.b_g1_query[1..], groups)?,
                b_g2: backend.msm_g2(
                    &msm::group_sums_g2(&pk.b_g2_query[1..], groups, count),
                    values,
                )?,
            }
        }
        None => Sums {
            h,
            l: backend.msm_g1(&pk.l_query, witness)?,
            a: backend.msm_g1(&pk.a_query[1..], variables)?,
            b_g1: backend.msm_g1(&pk.b_g1_query[1..], variables)?,
            b_g2: backend.msm_g2(&pk.b_g2_query[1..], variables)?,
        },
    };
    Ok(blind(pk, &sums, r, s))
}

/// The distinct nonzero values of an assignment, and which one each
/// variable holds. A claim's witness repeats itself: every slot computes the
/// same hashes of the node and the epoch, and the slots' Merkle paths share
/// their upper siblings, so at 16 slots its 85,858 values are 23,950
/// distinct ones (3,150 of them once per slot), and zero is 1,471 of them.
/// Since `Σ s_i·P_i = Σ_v v·(Σ_{s_i = v} P_i)`, summing each value's points
/// first (one addition per repeat) and running the MSM over the distinct
/// values (about a window count of additions per value) does a third of the
/// work, and gives the same group element.
pub(crate) struct Repeats {
    /// The distinct nonzero values, in order of first appearance.
    pub values: Vec<Fr>,
    /// Per variable, the index of its value in `values`, or
    /// [`msm::NO_GROUP`] for zero (whose points add nothing).
    pub groups: Vec<u32>,
}

impl Repeats {
    /// The repeats of `scalars`, or None where too few values repeat for the
    /// grouping to pay (more than 4 in 5 distinct, as for random scalars).
    pub(crate) fn of(scalars: &[Fr]) -> Option<Self> {
        use std::collections::HashMap;
        let mut index: HashMap<[u64; 4], u32, std::hash::BuildHasherDefault<LimbHasher>> =
            HashMap::with_capacity_and_hasher(scalars.len() / 2, Default::default());
        let mut values = Vec::new();
        let groups = scalars
            .iter()
            .map(|s| {
                if s.is_zero() {
                    return msm::NO_GROUP;
                }
                let next = values.len() as u32;
                *index.entry(s.0 .0).or_insert_with(|| {
                    values.push(*s);
                    next
                })
            })
            .collect();
        (values.len() * 5 <= scalars.len() * 4 && values.len() < msm::NO_GROUP as usize)
            .then_some(Self { values, groups })
    }
}

/// A hasher for field elements' limbs, which are uniform already (a value
/// is a hash, a bit or a small count, and these differ in the low limb):
/// the low limb, mixed by one multiplication so that small values spread.
#[derive(Default)]
struct LimbHasher(u64);

impl std::hash::Hasher for LimbHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// The proof from the five sums and the blinding factors (r, s), as in
/// ark-groth16: A = α + Σ a_i A_i + rδ, B = β + Σ a_i B_i + sδ,
/// C = Σ_w a_i L_i + h + sA + rB₁ − rsδ.
pub(crate) fn blind(pk: &ProvingKey<Bn254>, sums: &Sums, r: Fr, s: Fr) -> Proof<Bn254> {
    let delta_g1 = pk.delta_g1.into_group();
    let g_a: G1Projective = delta_g1 * r + pk.a_query[0] + sums.a + pk.vk.alpha_g1;
    let g1_b: G1Projective = if r.is_zero() {
        G1Projective::zero()
    } else {
        delta_g1 * s + pk.b_g1_query[0] + sums.b_g1 + pk.beta_g1
    };
    let g2_b: G2Projective =
        pk.vk.delta_g2.into_group() * s + pk.b_g2_query[0] + sums.b_g2 + pk.vk.beta_g2;
    let g_c = g_a * s + g1_b * r - delta_g1 * (r * s) + sums.l + sums.h;
    Proof {
        a: g_a.into_affine(),
        b: g2_b.into_affine(),
        c: g_c.into_affine(),
    }
}

/// snarkjs's reduction (ark-circom's `CircomReduction`) for ark-groth16's
/// own prover and generator, written from ark-groth16's matrices, apart
/// from [`witness_map_circom`]: the independent prover that ours is held
/// equal to on keys in snarkjs's form, and the peer ark-groth16 is measured
/// as on such keys. Its instance map is libsnark's, which has snarkjs's
/// extra input rows in A; its H query is the odd Lagrange points of the
/// doubled domain, over δ.
pub struct CircomReduction;

impl ark_groth16::r1cs_to_qap::R1CSToQAP for CircomReduction {
    #[allow(clippy::type_complexity)]
    fn instance_map_with_evaluation<F: ark_ff::PrimeField, D: ark_poly::EvaluationDomain<F>>(
        cs: ConstraintSystemRef<F>,
        t: &F,
    ) -> Result<(Vec<F>, Vec<F>, Vec<F>, F, usize, usize), SynthesisError> {
        ark_groth16::r1cs_to_qap::LibsnarkReduction::instance_map_with_evaluation::<F, D>(cs, t)
    }

    fn witness_map_from_matrices<F: ark_ff::PrimeField, D: ark_poly::EvaluationDomain<F>>(
        matrices: &[Matrix<F>],
        num_inputs: usize,
        num_constraints: usize,
        full_assignment: &[F],
    ) -> Result<Vec<F>, SynthesisError> {
        let domain =
            D::new(num_constraints + num_inputs).ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
        let size = domain.size();
        let row = |terms: &[(F, usize)]| -> F {
            terms.iter().map(|(c, i)| *c * full_assignment[*i]).sum()
        };
        let mut a = vec![F::zero(); size];
        let mut b = vec![F::zero(); size];
        for (i, (at, bt)) in matrices[0].iter().zip(&matrices[1]).enumerate() {
            a[i] = row(at);
            b[i] = row(bt);
        }
        a[num_constraints..num_constraints + num_inputs]
            .copy_from_slice(&full_assignment[..num_inputs]);
        let mut c = vec![F::zero(); size];
        for i in 0..num_constraints {
            c[i] = a[i] * b[i];
        }
        let root = D::new(2 * size)
            .ok_or(SynthesisError::PolynomialDegreeTooLarge)?
            .element(1);
        for values in [&mut a, &mut b, &mut c] {
            domain.ifft_in_place(values);
            let mut power = F::one();
            for v in values.iter_mut() {
                *v *= power;
                power *= root;
            }
            domain.fft_in_place(values);
        }
        Ok((0..size).map(|i| a[i] * b[i] - c[i]).collect())
    }

    fn h_query_scalars<F: ark_ff::PrimeField, D: ark_poly::EvaluationDomain<F>>(
        max_power: usize,
        t: F,
        _: F,
        delta_inverse: F,
    ) -> Result<Vec<F>, SynthesisError> {
        // The odd Lagrange points of the doubled domain, over δ, from the
        // powers of τ (the last power left zero, as snarkjs's prepared files
        // have it for a domain at their own power).
        let mut scalars: Vec<F> = (0..2 * max_power + 1)
            .map(|i| delta_inverse * t.pow([i as u64]))
            .collect();
        let domain = D::new(scalars.len()).ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
        domain.ifft_in_place(&mut scalars);
        Ok(scalars.into_iter().skip(1).step_by(2).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{G1Affine, G2Affine};
    use ark_ec::VariableBaseMSM;
    use rand::{Rng, SeedableRng};

    #[test]
    fn repeats_name_each_distinct_nonzero_value_once() {
        let f = |v: u64| Fr::from(v);
        let scalars = [f(0), f(5), f(7), f(5), f(0), f(7), f(7), f(1), -f(5), f(5)];
        let repeats = Repeats::of(&scalars).expect("4 distinct values in 10");
        assert_eq!(repeats.values, [f(5), f(7), f(1), -f(5)]);
        let none = msm::NO_GROUP;
        assert_eq!(repeats.groups, [none, 0, 1, 0, none, 1, 1, 2, 3, 0]);
        // Values that differ only in a high limb are different values.
        let high = Fr::from(ark_ff::BigInt::<4>([9, 0, 0, 1]));
        let low = Fr::from(ark_ff::BigInt::<4>([9, 0, 0, 0]));
        let mixed = [high, low, high, low, high, low];
        assert_eq!(Repeats::of(&mixed).unwrap().values, [high, low]);
        // Random scalars hardly repeat: no grouping.
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let random: Vec<Fr> = (0..1000).map(|_| Fr::rand(&mut rng)).collect();
        assert!(Repeats::of(&random).is_none());
    }

    /// The grouped MSMs (points summed per value, then one MSM over the
    /// distinct values) against arkworks' MSM over every point, in G1 and
    /// G2, with zeros, ones, minus ones and one value held by a third of
    /// the variables.
    #[test]
    fn grouped_msms_equal_arkworks_msm() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
        let pool: Vec<Fr> = (0..300).map(|_| Fr::rand(&mut rng)).collect();
        let n = 4000;
        let scalars: Vec<Fr> = (0..n)
            .map(|i| match i % 9 {
                0..=2 => pool[0],
                3 => Fr::zero(),
                4 => Fr::ONE,
                5 => -Fr::ONE,
                _ => pool[rng.gen_range(0..pool.len())],
            })
            .collect();
        let g1: Vec<G1Affine> = (0..n).map(|_| G1Affine::rand(&mut rng)).collect();
        let g2: Vec<G2Affine> = (0..n / 4).map(|_| G2Affine::rand(&mut rng)).collect();
        let repeats = Repeats::of(&scalars).expect("few distinct values");
        let count = repeats.values.len();
        let cpu = proofmint_gpu::CpuBackend::new();
        let grouped = cpu
            .msm_g1(
                &msm::group_sums_g1(&g1, &repeats.groups, count),
                &repeats.values,
            )
            .unwrap();
        assert_eq!(grouped, G1Projective::msm(&g1, &scalars).unwrap());
        // A suffix of the variables (as the L query takes the witness).
        let grouped = cpu
            .msm_g1(
                &msm::group_sums_g1(&g1[1000..], &repeats.groups[1000..], count),
                &repeats.values,
            )
            .unwrap();
        assert_eq!(
            grouped,
            G1Projective::msm(&g1[1000..], &scalars[1000..]).unwrap()
        );
        let repeats = Repeats::of(&scalars[..n / 4]).unwrap();
        let grouped = cpu
            .msm_g2(
                &msm::group_sums_g2(&g2, &repeats.groups, repeats.values.len()),
                &repeats.values,
            )
            .unwrap();
        assert_eq!(grouped, G2Projective::msm(&g2, &scalars[..n / 4]).unwrap());
    }

    /// A claim's assignment repeats enough for the grouped MSMs, so the
    /// proofs that tests hold equal to ark-groth16's take that path.
    #[test]
    fn a_claim_s_assignment_takes_the_grouped_msms() {
        // The shape of the tests against ark-groth16, and the 16-slot preset.
        for (slots, depth) in [(4, 8), (5, 6), (16, 20)] {
            let shape = proofmint_circuits::claim::ClaimShape::new(slots, depth).unwrap();
            let (instance, witness) = crate::sample::full_claim(shape).witness().unwrap();
            let assignment = [instance, witness].concat();
            let repeats = Repeats::of(&assignment[1..]).expect("a claim repeats itself");
            assert!(
                repeats.values.len() * 3 < assignment.len() * 2,
                "{shape}: {} distinct in {}",
                repeats.values.len(),
                assignment.len()
            );
        }
    }
}
