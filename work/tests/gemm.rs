//! The GEMM kernel: honest products prove; a wrong product, an entry out of
//! range, and witnesses tampered with directly (weights, addends in either
//! phase) fail, each caught by the constraint meant for it; real proofs on
//! parameters from a Powers of Tau verify, and fail for a wrong product or
//! another shape.

use ark_bn254::Fr as ArkFr;
use halo2_proofs::dev::MockProver;
use halo2_proofs::halo2curves::bn256::Bn256;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use proofmint_verifier::ptau::Ptau;
use proofmint_work::gemm::{multiply, GemmCircuit, Shape, Tamper, BALANCE};
use proofmint_work::proof;
use proofmint_work::srs::params_from_ptau;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

fn random(len: usize, rng: &mut ChaCha20Rng) -> Vec<i8> {
    (0..len).map(|_| rng.gen()).collect()
}

fn inputs(shape: Shape, seed: u64) -> (Vec<i8>, Vec<i8>) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (
        random(shape.m * shape.k, &mut rng),
        random(shape.k * shape.n, &mut rng),
    )
}

/// MockProver's verdict: Ok, or the failures' text (naming the constraints).
fn mock(circuit: &GemmCircuit) -> Result<(), String> {
    let k = circuit.shape.circuit_log_size();
    let prover = MockProver::run(k, circuit, vec![]).expect("synthesis runs");
    prover.verify().map_err(|failures| format!("{failures:?}"))
}

const SHAPE: Shape = Shape { m: 3, k: 4, n: 5 };

#[test]
fn honest_products_are_satisfied() {
    for (shape, seed) in [
        (SHAPE, 1),
        (Shape { m: 1, k: 1, n: 1 }, 2),
        (Shape { m: 6, k: 2, n: 3 }, 3),
    ] {
        let (a, b) = inputs(shape, seed);
        mock(&GemmCircuit::new(shape, a, b)).unwrap();
    }
    // The extremes of int8: every product term is 2^14.
    let shape = Shape { m: 2, k: 8, n: 2 };
    let circuit = GemmCircuit::new(shape, vec![-128; 16], vec![-128; 16]);
    assert_eq!(circuit.matrices.as_ref().unwrap().2, vec![8 << 14; 4]);
    mock(&circuit).unwrap();
}

#[test]
fn a_wrong_product_is_refused() {
    let (a, b) = inputs(SHAPE, 4);
    let honest = multiply(SHAPE, &a, &b);
    for entry in [0, 7, SHAPE.m * SHAPE.n - 1] {
        let mut c = honest.clone();
        c[entry] += 1;
        assert!(mock(&GemmCircuit::with_product(SHAPE, a.clone(), b.clone(), c)).is_err());
    }
    // A and B swapped (shapes permitting): another product.
    let square = Shape { m: 3, k: 3, n: 3 };
    let (a, b) = inputs(square, 5);
    let swapped = multiply(square, &b, &a);
    if swapped != multiply(square, &a, &b) {
        assert!(mock(&GemmCircuit::with_product(square, a, b, swapped)).is_err());
    }
}

fn tampered(tamper: Tamper, c: impl FnOnce(&[i8], &[i8], Vec<i64>) -> Vec<i64>) -> GemmCircuit {
    let (a, b) = inputs(SHAPE, 6);
    let honest = multiply(SHAPE, &a, &b);
    let c = c(&a, &b, honest);
    let mut circuit = GemmCircuit::with_product(SHAPE, a, b, c);
    circuit.tamper = Some(tamper);
    circuit
}

#[test]
fn zero_weights_are_refused() {
    let circuit = tampered(Tamper::ZeroWeights, |_, _, mut c| {
        c[0] += 5;
        c
    });
    let failures = mock(&circuit).unwrap_err();
    assert!(
        failures.contains("weights are powers of the challenge"),
        "{failures}"
    );
    // The attack itself works: with zero weights Freivalds' equation holds.
    assert!(!failures.contains("Permutation"), "{failures}");
}

#[test]
fn a_second_phase_addend_cannot_cancel_a_wrong_entry() {
    let circuit = tampered(Tamper::CancelWithX2, |_, _, mut c| {
        c[0] -= 3;
        c
    });
    let failures = mock(&circuit).unwrap_err();
    assert!(
        failures.contains("no second-phase addend in first-level runs"),
        "{failures}"
    );
    // The attack itself works: the cancelled entry balances the equation.
    assert!(!failures.contains("Permutation"), "{failures}");
}

#[test]
fn a_first_phase_addend_cannot_balance_a_wrong_row() {
    // C's row 0 off by BALANCE·B[0][·]: with x1 = BALANCE in run (e) both
    // sides grow by BALANCE·u_0 for every challenge.
    let circuit = tampered(Tamper::BalanceWithX1, |_, b, mut c| {
        for j in 0..SHAPE.n {
            c[j] += BALANCE as i64 * b[j] as i64;
        }
        c
    });
    let failures = mock(&circuit).unwrap_err();
    assert!(
        failures.contains("no first-phase addend in second-level runs"),
        "{failures}"
    );
    // The attack itself works: the equation balances for the drawn challenges.
    assert!(
        !failures.contains("Permutation"),
        "only that gate: {failures}"
    );
}

#[test]
fn an_entry_outside_int8_is_refused_even_when_the_product_matches() {
    // A[0][0] + 256 with C row 0 raised by 256·B[0][·]: C = A·B in the field.
    let circuit = tampered(Tamper::WideEntry, |_, b, mut c| {
        for j in 0..SHAPE.n {
            c[j] += 256 * b[j] as i64;
        }
        c
    });
    let failures = mock(&circuit).unwrap_err();
    assert!(
        failures.contains("entries of A and B are int8"),
        "{failures}"
    );
    assert!(
        !failures.contains("ConstraintNotSatisfied"),
        "only the lookup: {failures}"
    );
}

fn params(k: u32) -> ParamsKZG<Bn256> {
    let ptau = Ptau::from_secrets(k, ArkFr::from(99u64), ArkFr::from(3u64), ArkFr::from(5u64));
    params_from_ptau(&ptau, k).unwrap()
}

fn prove(params: &ParamsKZG<Bn256>, circuit: &GemmCircuit) -> Vec<u8> {
    let key = proof::proving_key(params, circuit).unwrap();
    proof::prove(params, &key, circuit, &[], ChaCha20Rng::seed_from_u64(7)).unwrap()
}

fn verifies(params: &ParamsKZG<Bn256>, shape: Shape, proof: &[u8]) -> bool {
    let blank = GemmCircuit {
        shape,
        matrices: None,
        tamper: None,
    };
    let key = proof::verifying_key(params, &blank).unwrap();
    proof::verify(params, &key, &[], proof)
}

#[test]
fn real_proofs_verify_and_wrong_ones_do_not() {
    let shape = Shape { m: 4, k: 4, n: 4 };
    let other = Shape { m: 4, k: 4, n: 5 };
    let k = shape.circuit_log_size().max(other.circuit_log_size());
    let params = params(k);
    let (a, b) = inputs(shape, 8);
    let proof = prove(&params, &GemmCircuit::new(shape, a.clone(), b.clone()));
    assert!(verifies(&params, shape, &proof));
    assert!(
        !verifies(&params, other, &proof),
        "a proof for another shape"
    );
    let mut damaged = proof.clone();
    let at = damaged.len() / 2;
    damaged[at] ^= 1;
    assert!(!verifies(&params, shape, &damaged));
    let mut c = multiply(shape, &a, &b);
    c[5] += 1;
    let wrong = prove(&params, &GemmCircuit::with_product(shape, a, b, c));
    assert!(
        !verifies(&params, shape, &wrong),
        "a proof of a wrong product"
    );
}
