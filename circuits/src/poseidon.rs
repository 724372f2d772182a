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
//! The gadget mirrors the native permutation line by line; only S-boxes cost
//! constraints (3 each: x^2, x^4, x^5), the round-constant additions and MDS
//! mixing stay linear combinations.

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
        Params {
            width,
            full_rounds: p.full_rounds,
            partial_rounds: p.partial_rounds,
            ark: p.ark,
            mds: p.mds,
        }
    })
}

fn sbox(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}

/// Native Poseidon hash of `inputs` (1 to [`MAX_INPUTS`] elements).
pub fn hash(inputs: &[Fr]) -> Fr {
    let p = params(inputs.len());
    let mut state = Vec::with_capacity(p.width);
    state.push(Fr::zero());
    state.extend_from_slice(inputs);
    let mut mixed = vec![Fr::zero(); p.width];
    let half = p.full_rounds / 2;
    for round in 0..p.full_rounds + p.partial_rounds {
        let constants = &p.ark[round * p.width..(round + 1) * p.width];
        for (s, c) in state.iter_mut().zip(constants) {
            *s += c;
        }
        if round < half || round >= half + p.partial_rounds {
            state.iter_mut().for_each(|s| *s = sbox(*s));
        } else {
            state[0] = sbox(state[0]);
        }
        for (out, row) in mixed.iter_mut().zip(&p.mds) {
            *out = row.iter().zip(&state).map(|(m, s)| *m * s).sum();
        }
        std::mem::swap(&mut state, &mut mixed);
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
    debug_assert_eq!(inputs.len(), constant.len());
    let p = params(inputs.len());
    let mut state = Vec::with_capacity(p.width);
    state.push(Fr::zero());
    state.extend_from_slice(inputs);
    let mut fixed = Vec::with_capacity(p.width);
    fixed.push(true);
    fixed.extend_from_slice(constant);
    let mut mixed = vec![Fr::zero(); p.width];
    let half = p.full_rounds / 2;
    let mut sbox_traced = |x: &mut Fr, fixed: bool| {
        let x2 = x.square();
        let x4 = x2.square();
        let x5 = x4 * *x;
        if !fixed {
            trace.extend([x2, x4, x5]);
        }
        *x = x5;
    };
    for round in 0..p.full_rounds + p.partial_rounds {
        let constants = &p.ark[round * p.width..(round + 1) * p.width];
        for (s, c) in state.iter_mut().zip(constants) {
            *s += c;
        }
        if round < half || round >= half + p.partial_rounds {
            for (s, &f) in state.iter_mut().zip(&fixed) {
                sbox_traced(s, f);
            }
        } else {
            sbox_traced(&mut state[0], fixed[0]);
        }
        for (out, row) in mixed.iter_mut().zip(&p.mds) {
            *out = row.iter().zip(&state).map(|(m, s)| *m * s).sum();
        }
        std::mem::swap(&mut state, &mut mixed);
        // A sum of constants stays a constant; one variable makes a variable.
        let all_fixed = fixed.iter().all(|&f| f);
        fixed.iter_mut().for_each(|f| *f = all_fixed);
    }
    state[0]
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
