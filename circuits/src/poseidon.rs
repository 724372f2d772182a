//! Poseidon over BN254's scalar field with circomlib's parameters, natively and
//! as an R1CS gadget.
//!
//! Parameters: x^5 S-box, 8 full rounds and circomlib's partial-round count for
//! each width, round constants and MDS matrices as circomlib generated them
//! (Grassi et al., "Poseidon", USENIX Security 2021; circomlib `poseidon.circom`).
//! The constants come from `light-poseidon`, whose `new_circom` hasher is the
//! cross-check in the tests. The state starts as `[0, inputs...]` and the hash
//! is state[0] after the permutation, as in circomlib.
//!
//! The gadget is the textbook permutation; only S-boxes cost constraints (3
//! each: x^2, x^4, x^5), the round-constant additions and MDS mixing stay
//! linear combinations. The native permutation is the same function with
//! cheap partial rounds (`Fast`), whose S-boxes see the same inputs, so that
//! `hash_traced` gives the values the gadget allocates.

use std::sync::OnceLock;

use ark_bn254::Fr;
use ark_ff::{Field, Zero};
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::gr1cs::SynthesisError;

/// Most inputs one hash takes (width 16 is circomlib's limit).
pub const MAX_INPUTS: usize = 12;

/// Round constants and MDS matrix for one width.
pub struct Params {
    pub width: usize,
    pub full_rounds: usize,
    pub partial_rounds: usize,
    /// `width * (full_rounds + partial_rounds)` constants, round-major.
    pub ark: Vec<Fr>,
    pub mds: Vec<Vec<Fr>>,
    /// The same permutation with cheap partial rounds, for native hashing.
    fast: Fast,
}

/// The permutation rearranged for partial rounds that cost O(width) rather
/// than O(width²) (Grassi et al., "Poseidon", appendix B), with the same
/// S-box inputs at every round:
/// - a partial round's constants on elements 1.. commute with its S-box
///   (which touches element 0 only), so they are carried through the MDS
///   into the next round's constants: partial rounds add one constant;
/// - each partial round's MDS matrix M is written S · diag(1, M̂), S sparse
///   (a first row, a first column and the identity); diag(1, M̂) fixes
///   element 0, so it commutes with the round's S-box and constant and
///   moves into the round before, back to the last full round of the first
///   half, whose matrix becomes one dense `pre`.
///
/// Element 0, the only one an S-box sees in a partial round, keeps its
/// values, so the traced witness is the same; the full rounds see the
/// naive state again. Tests hold the hash equal to light-poseidon's.
struct Fast {
    /// Round constants, round-major; in partial rounds only element 0's is
    /// used (the others are zero, carried forward).
    ark: Vec<Fr>,
    /// The last first-half full round's matrix.
    pre: Vec<Vec<Fr>>,
    /// Each partial round's sparse matrix: its first row, and its first
    /// column below the diagonal (the rest is the identity).
    sparse: Vec<(Vec<Fr>, Vec<Fr>)>,
}

impl Fast {
    fn new(
        width: usize,
        full_rounds: usize,
        partial_rounds: usize,
        ark: &[Fr],
        mds: &[Vec<Fr>],
    ) -> Self {
        let half = full_rounds / 2;
        let mut ark = ark.to_vec();
        // Partial rounds' constants on elements 1.. go through M to the next round.
        for round in half..half + partial_rounds {
            let rest: Vec<Fr> = (0..width)
                .map(|j| {
                    if j == 0 {
                        Fr::zero()
                    } else {
                        ark[round * width + j]
                    }
                })
                .collect();
            for (i, row) in mds.iter().enumerate() {
                ark[(round + 1) * width + i] += dot(row, &rest);
            }
            for j in 1..width {
                ark[round * width + j] = Fr::zero();
            }
        }
        // From the last partial round back: cur = S · diag(1, M̂).
        let mut cur = mds.to_vec();
        let mut sparse = Vec::with_capacity(partial_rounds);
        for _ in 0..partial_rounds {
            let hat: Vec<Vec<Fr>> = cur[1..].iter().map(|row| row[1..].to_vec()).collect();
            let hat_inverse = invert(&hat).expect("an MDS matrix's minors are invertible");
            // b = row · M̂⁻¹, the sparse first row's tail.
            let row = &cur[0][1..];
            let b: Vec<Fr> = (0..width - 1)
                .map(|j| (0..width - 1).map(|k| row[k] * hat_inverse[k][j]).sum())
                .collect();
            let first_row: Vec<Fr> = std::iter::once(cur[0][0]).chain(b).collect();
            let first_column: Vec<Fr> = cur[1..].iter().map(|row| row[0]).collect();
            sparse.push((first_row, first_column));
            // diag(1, M̂) · M, the matrix left for the round before.
            cur = (0..width)
                .map(|i| {
                    (0..width)
                        .map(|j| match i {
                            0 => mds[0][j],
                            _ => (1..width).map(|k| hat[i - 1][k - 1] * mds[k][j]).sum(),
                        })
                        .collect()
                })
                .collect();
        }
        sparse.reverse();
        Self {
            ark,
            pre: cur,
            sparse,
        }
    }
}

fn dot(a: &[Fr], b: &[Fr]) -> Fr {
    a.iter().zip(b).map(|(x, y)| *x * y).sum()
}

/// The inverse of a square matrix by Gauss-Jordan elimination, `None` when
/// it is singular.
fn invert(matrix: &[Vec<Fr>]) -> Option<Vec<Vec<Fr>>> {
    let n = matrix.len();
    let mut a: Vec<Vec<Fr>> = matrix
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut row = row.clone();
            row.extend((0..n).map(|j| if i == j { Fr::from(1u64) } else { Fr::zero() }));
            row
        })
        .collect();
    for col in 0..n {
        let pivot = (col..n).find(|&r| !a[r][col].is_zero())?;
        a.swap(col, pivot);
        let inverse = a[col][col].inverse()?;
        a[col].iter_mut().for_each(|v| *v *= inverse);
        for r in 0..n {
            if r != col && !a[r][col].is_zero() {
                let factor = a[r][col];
                let pivot_row = a[col].clone();
                for (v, p) in a[r].iter_mut().zip(&pivot_row) {
                    *v -= factor * p;
                }
            }
        }
    }
    Some(a.into_iter().map(|row| row[n..].to_vec()).collect())
}

static PARAMS: [OnceLock<Params>; MAX_INPUTS + 1] = [const { OnceLock::new() }; MAX_INPUTS + 1];

/// The parameters for `inputs` inputs (width `inputs + 1`), built once.
///
/// # Panics
/// If `inputs` is 0 or above [`MAX_INPUTS`]: the arities are fixed by this crate.
pub fn params(inputs: usize) -> &'static Params {
    assert!(
        (1..=MAX_INPUTS).contains(&inputs),
        "Poseidon arity {inputs} unsupported"
    );
    PARAMS[inputs].get_or_init(|| {
        let width = inputs + 1;
        let p = light_poseidon::parameters::bn254_x5::get_poseidon_parameters::<Fr>(width as u8)
            .expect("circomlib parameters exist for widths 2..=13");
        let fast = Fast::new(width, p.full_rounds, p.partial_rounds, &p.ark, &p.mds);
        Params {
            width,
            full_rounds: p.full_rounds,
            partial_rounds: p.partial_rounds,
            ark: p.ark,
            mds: p.mds,
            fast,
        }
    })
}

/// Native Poseidon hash of `inputs` (1 to [`MAX_INPUTS`] elements).
pub fn hash(inputs: &[Fr]) -> Fr {
    let mut fixed = [false; MAX_INPUTS + 1];
    permute(inputs, &mut fixed, None)
}

/// The permutation of `[0, inputs...]` in its fast form ([`Fast`]), its
/// state[0] returned. With `trace`, the x², x⁴, x⁵ of every S-box applied
/// to an element not `fixed` (a constant in the circuit) are written there;
/// `fixed` follows the elements through the rounds (a mix of constants only
/// stays a constant).
fn permute(
    inputs: &[Fr],
    fixed: &mut [bool; MAX_INPUTS + 1],
    mut trace: Option<&mut Vec<Fr>>,
) -> Fr {
    let p = params(inputs.len());
    let (width, fast) = (p.width, &p.fast);
    let half = p.full_rounds / 2;
    let mut state = [Fr::zero(); MAX_INPUTS + 1];
    state[1..width].copy_from_slice(inputs);
    let mut sbox = |x: &mut Fr, fixed: bool| {
        let x2 = x.square();
        let x4 = x2.square();
        let x5 = x4 * *x;
        if let (Some(trace), false) = (trace.as_deref_mut(), fixed) {
            trace.extend([x2, x4, x5]);
        }
        *x = x5;
    };
    for round in 0..p.full_rounds + p.partial_rounds {
        let constants = &fast.ark[round * width..(round + 1) * width];
        if (half..half + p.partial_rounds).contains(&round) {
            state[0] += constants[0];
            sbox(&mut state[0], fixed[0]);
            let (first_row, first_column) = &fast.sparse[round - half];
            let s0 = state[0];
            let out0 = dot(first_row, &state[..width]);
            for (s, c) in state[1..width].iter_mut().zip(first_column) {
                *s += *c * s0;
            }
            state[0] = out0;
        } else {
            for ((s, c), &f) in state.iter_mut().zip(constants).zip(fixed.iter()) {
                *s += c;
                sbox(s, f);
            }
            let matrix = if round + 1 == half { &fast.pre } else { &p.mds };
            let mut mixed = [Fr::zero(); MAX_INPUTS + 1];
            for (out, row) in mixed.iter_mut().zip(matrix) {
                *out = dot(row, &state[..width]);
            }
            state = mixed;
        }
        let all_fixed = fixed[..width].iter().all(|&f| f);
        fixed[..width].iter_mut().for_each(|f| *f = all_fixed);
    }
    state[0]
}

/// Two-to-one hash of the epoch tree's inner nodes.
pub fn hash2(left: Fr, right: Fr) -> Fr {
    hash(&[left, right])
}

/// [`hash`], also writing to `trace` the witness values that [`hash_var`]
/// allocates, in its order: x², x⁴ and x⁵ for each S-box applied to a
/// variable (an S-box of a constant allocates nothing). `constant[i]` says
/// whether input i is a constant in the circuit; the state element before
/// the inputs is the constant 0. The claim's witness is computed this way,
/// without a constraint system; tests hold it equal to the gadget's.
pub(crate) fn hash_traced(inputs: &[Fr], constant: &[bool], trace: &mut Vec<Fr>) -> Fr {
    assert_eq!(inputs.len(), constant.len(), "a flag for each input");
    let mut fixed = [false; MAX_INPUTS + 1];
    fixed[0] = true;
    fixed[1..=inputs.len()].copy_from_slice(constant);
    permute(inputs, &mut fixed, Some(trace))
}

fn sbox_var(x: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    let x2 = x.square()?;
    let x4 = x2.square()?;
    Ok(x4 * x)
}

/// The in-circuit Poseidon hash; equal to [`hash`] on every input.
pub fn hash_var(inputs: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let p = params(inputs.len());
    let mut state = Vec::with_capacity(p.width);
    state.push(FpVar::zero());
    state.extend_from_slice(inputs);
    let half = p.full_rounds / 2;
    for round in 0..p.full_rounds + p.partial_rounds {
        let constants = &p.ark[round * p.width..(round + 1) * p.width];
        for (s, c) in state.iter_mut().zip(constants) {
            *s += *c;
        }
        if round < half || round >= half + p.partial_rounds {
            for s in state.iter_mut() {
                *s = sbox_var(s)?;
            }
        } else {
            state[0] = sbox_var(&state[0])?;
        }
        state = p
            .mds
            .iter()
            .map(|row| row.iter().zip(&state).map(|(m, s)| s * *m).sum())
            .collect();
    }
    Ok(state.swap_remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_relations::gr1cs::ConstraintSystem;
    use light_poseidon::{Poseidon, PoseidonHasher};
    use proptest::prelude::*;

    fn arb_fr() -> impl Strategy<Value = Fr> {
        any::<[u8; 32]>().prop_map(|b| <Fr as ark_ff::PrimeField>::from_le_bytes_mod_order(&b))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Our native permutation against light-poseidon's circom hasher.
        #[test]
        fn native_matches_light_poseidon(inputs in proptest::collection::vec(arb_fr(), 1..=MAX_INPUTS)) {
            let mut reference = Poseidon::<Fr>::new_circom(inputs.len()).unwrap();
            prop_assert_eq!(hash(&inputs), reference.hash(&inputs).unwrap());
        }

        /// The gadget against the native hash, for every arity the claim circuit uses.
        #[test]
        fn gadget_matches_native(inputs in proptest::collection::vec(arb_fr(), 9)) {
            for arity in [2usize, 9] {
                let cs = ConstraintSystem::<Fr>::new_ref();
                let vars: Vec<_> = inputs[..arity]
                    .iter()
                    .map(|v| FpVar::new_witness(cs.clone(), || Ok(*v)).unwrap())
                    .collect();
                let out = hash_var(&vars).unwrap();
                prop_assert_eq!(out.value().unwrap(), hash(&inputs[..arity]));
                prop_assert!(cs.is_satisfied().unwrap());
            }
        }
    }

    /// The traced hash is the hash, and its trace is what the gadget
    /// allocates after its inputs, value for value, with and without a
    /// constant input (as the leaf's domain is).
    #[test]
    fn the_trace_is_what_the_gadget_allocates() {
        let inputs: Vec<Fr> = (0..9u64)
            .map(|i| Fr::from(i * i + 7) - Fr::from(3u64))
            .collect();
        for (arity, constant_first) in [(2, false), (9, true), (9, false), (5, true)] {
            let inputs = &inputs[..arity];
            let constant: Vec<bool> = (0..arity).map(|i| i == 0 && constant_first).collect();
            let cs = ConstraintSystem::<Fr>::new_ref();
            let vars: Vec<FpVar<Fr>> = inputs
                .iter()
                .zip(&constant)
                .map(|(v, &c)| match c {
                    true => FpVar::constant(*v),
                    false => FpVar::new_witness(cs.clone(), || Ok(*v)).unwrap(),
                })
                .collect();
            let before = cs.num_witness_variables();
            let out = hash_var(&vars).unwrap();
            let mut trace = Vec::new();
            let value = hash_traced(inputs, &constant, &mut trace);
            assert_eq!(value, hash(inputs));
            assert_eq!(out.value().unwrap(), value);
            let allocated = cs.witness_assignment().unwrap().split_off(before);
            assert_eq!(
                trace, allocated,
                "arity {arity}, constant first {constant_first}"
            );
        }
    }

    #[test]
    fn two_input_hash_costs_about_240_constraints() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let a = FpVar::new_witness(cs.clone(), || Ok(Fr::from(1u64))).unwrap();
        let b = FpVar::new_witness(cs.clone(), || Ok(Fr::from(2u64))).unwrap();
        let _ = hash_var(&[a, b]).unwrap();
        // 8 full rounds x 3 S-boxes + 57 partial rounds x 1 S-box, 3 constraints
        // each, less the first round's S-box on the capacity element, which is a
        // constant (0 + round constant) and folds away.
        assert_eq!(cs.num_constraints(), 3 * (8 * 3 + 57 - 1));
    }

    #[test]
    fn tampered_gadget_witness_is_unsatisfied() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let a = FpVar::new_witness(cs.clone(), || Ok(Fr::from(1u64))).unwrap();
        let b = FpVar::new_witness(cs.clone(), || Ok(Fr::from(2u64))).unwrap();
        let out = hash_var(&[a, b]).unwrap();
        let claimed =
            FpVar::new_input(cs.clone(), || Ok(hash2(Fr::from(1u64), Fr::from(3u64)))).unwrap();
        out.enforce_equal(&claimed).unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }
}
