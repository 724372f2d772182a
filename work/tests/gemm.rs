//! The GEMM kernel: honest products prove; a wrong product, an entry out of
//! range, a commitment to other data, and witnesses tampered with directly
//! (weights, addends in either phase, the packing) fail, each caught by the
//! constraint meant for it; the public inputs are the documented commitments
//! (and circomlibjs computes the same ones from the same matrices); real
//! proofs on parameters from a Powers of Tau verify, and fail for a wrong
//! product, other commitments or another shape.

#[path = "../../prover/tests/js/mod.rs"]
mod js;

use ark_bn254::Fr as ArkFr;
use halo2_proofs::dev::{MockProver, VerifyFailure};
use halo2_proofs::halo2curves::bn256::Bn256;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use proofmint_circuits::ptau::Ptau;
use proofmint_work::commitment::{input_commitment, output_commitment, to_hex};
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

/// MockProver's verdict with the public inputs the witness commits to: Ok,
/// or the failures' text (naming the constraints).
fn mock(circuit: &GemmCircuit) -> Result<(), String> {
    mock_with(circuit, circuit.public_inputs().unwrap())
}

/// MockProver's verdict with the given public inputs: Ok, or one line per
/// kind of failure: `gate NAME`, `lookup NAME`, `copy` (an equality, with
/// the instance or between cells), or the failure's own text.
fn mock_with(circuit: &GemmCircuit, public: [Fr; 2]) -> Result<(), String> {
    let k = circuit.shape.circuit_log_size();
    let prover = MockProver::run(k, circuit, vec![public.to_vec()]).expect("synthesis runs");
    prover.verify().map_err(|failures| {
        let mut kinds: Vec<String> = failures
            .iter()
            .map(|failure| match failure {
                VerifyFailure::ConstraintNotSatisfied { constraint, .. } => {
                    format!("gate {constraint}")
                }
                VerifyFailure::Lookup { name, .. } => format!("lookup {name}"),
                VerifyFailure::Permutation { .. } => "copy".to_string(),
                other => other.to_string(),
            })
            .collect();
        kinds.sort();
        kinds.dedup();
        kinds.join("\n")
    })
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
        let circuit = GemmCircuit::new(shape, a.clone(), b.clone());
        // The public inputs are the documented commitments of the matrices.
        let c = multiply(shape, &a, &b);
        assert_eq!(
            circuit.public_inputs().unwrap(),
            [
                input_commitment(shape, &a, &b),
                output_commitment(shape, &c)
            ]
        );
        mock(&circuit).unwrap();
    }
    // Groups of the packing that straddle runs and a last group that is full:
    // A is 31 entries (one full group) and B 62.
    let shape = Shape { m: 31, k: 1, n: 62 };
    let (a, b) = inputs(shape, 9);
    mock(&GemmCircuit::new(shape, a, b)).unwrap();
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
    assert!(!failures.contains("copy"), "{failures}");
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
    assert!(!failures.contains("copy"), "{failures}");
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
    assert!(!failures.contains("copy"), "only that gate: {failures}");
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
    assert_eq!(
        failures, "lookup entries of A and B are int8",
        "only the lookup"
    );
}

/// Commitments to other matrices than the witness's: each public input on
/// its own, another A, another B, another C, and the two swapped.
#[test]
fn commitments_to_other_data_are_refused() {
    let (a, b) = inputs(SHAPE, 10);
    let circuit = GemmCircuit::new(SHAPE, a.clone(), b.clone());
    let [input, output] = circuit.public_inputs().unwrap();
    let mut other_a = a.clone();
    other_a[5] = other_a[5].wrapping_add(1);
    let mut other_b = b.clone();
    other_b[0] = other_b[0].wrapping_sub(1);
    let mut other_c = multiply(SHAPE, &a, &b);
    other_c[3] += 1;
    for public in [
        [input_commitment(SHAPE, &other_a, &b), output],
        [input_commitment(SHAPE, &a, &other_b), output],
        [input, output_commitment(SHAPE, &other_c)],
        [output, input],
        [input + Fr::one(), output],
    ] {
        let failures = mock_with(&circuit, public).unwrap_err();
        assert_eq!(failures, "copy", "only the instance's equality");
    }
    // A‖B is not B‖A: swapping the matrices changes the input commitment.
    let square = Shape { m: 3, k: 3, n: 3 };
    let (a, b) = inputs(square, 11);
    assert_ne!(
        input_commitment(square, &a, &b),
        input_commitment(square, &b, &a)
    );
}

#[test]
fn a_packing_of_other_entries_is_refused() {
    let circuit = tampered(Tamper::OtherPacking, |_, _, c| c);
    let failures = mock(&circuit).unwrap_err();
    assert!(
        failures.contains("entries are packed as they are checked"),
        "{failures}"
    );
    assert!(
        !failures.contains("copy"),
        "only the packing gate: {failures}"
    );
    assert!(
        !failures.contains("lookup"),
        "only the packing gate: {failures}"
    );
}

#[test]
fn a_commitment_the_hash_did_not_make_is_refused() {
    let circuit = tampered(Tamper::ForgedCommitment, |_, _, c| c);
    let failures = mock(&circuit).unwrap_err();
    assert!(failures.contains("poseidon full round"), "{failures}");
    assert!(
        !failures.contains("copy"),
        "only the round gate: {failures}"
    );
}

/// circomlibjs, through a client-side implementation of the documented
/// sponge (`tools/js/work_commitment.mjs`), computes the same commitments.
#[test]
fn circomlibjs_computes_the_same_commitments() {
    let Some(tools) = js::tools() else { return };
    let shapes = [
        (Shape { m: 1, k: 1, n: 1 }, 12),
        (SHAPE, 13),
        (Shape { m: 31, k: 1, n: 62 }, 14),
        (Shape { m: 7, k: 40, n: 9 }, 15),
        (
            Shape {
                m: 16,
                k: 16,
                n: 16,
            },
            16,
        ),
    ];
    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for (shape, seed) in shapes {
        let (a, b) = inputs(shape, seed);
        let c = multiply(shape, &a, &b);
        expected.push([
            input_commitment(shape, &a, &b),
            output_commitment(shape, &c),
        ]);
        cases.push(format!(
            r#"{{"m":{},"k":{},"n":{},"a":{:?},"b":{:?},"c":{:?}}}"#,
            shape.m, shape.k, shape.n, a, b, c
        ));
    }
    // The extremes too: every entry -128 (C at +k·2^14) and 127 against -128.
    let shape = Shape { m: 2, k: 5, n: 3 };
    for (x, y) in [(-128i8, -128i8), (127, -128)] {
        let (a, b) = (vec![x; 10], vec![y; 15]);
        let c = multiply(shape, &a, &b);
        expected.push([
            input_commitment(shape, &a, &b),
            output_commitment(shape, &c),
        ]);
        cases.push(format!(
            r#"{{"m":2,"k":5,"n":3,"a":{a:?},"b":{b:?},"c":{c:?}}}"#
        ));
    }
    let out = js::run_script(
        &tools,
        "work_commitment.mjs",
        &format!("[{}]", cases.join(",")),
    );
    let theirs: Vec<String> = serde_json::from_slice::<Vec<[String; 2]>>(&out)
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    let ours: Vec<String> = expected.iter().flatten().map(to_hex).collect();
    assert_eq!(ours, theirs);
}

fn params(k: u32) -> ParamsKZG<Bn256> {
    let ptau = Ptau::from_secrets(k, ArkFr::from(99u64), ArkFr::from(3u64), ArkFr::from(5u64));
    params_from_ptau(&ptau, k).unwrap()
}

fn prove(params: &ParamsKZG<Bn256>, circuit: &GemmCircuit) -> Vec<u8> {
    let key = proof::proving_key(params, circuit).unwrap();
    let public = circuit.public_inputs().unwrap();
    proof::prove(
        params,
        &key,
        circuit,
        &[&public],
        ChaCha20Rng::seed_from_u64(7),
    )
    .unwrap()
}

fn verifies(params: &ParamsKZG<Bn256>, shape: Shape, public: [Fr; 2], proof: &[u8]) -> bool {
    let blank = GemmCircuit {
        shape,
        matrices: None,
        tamper: None,
    };
    let key = proof::verifying_key(params, &blank).unwrap();
    proof::verify(params, &key, &[&public], proof)
}

#[test]
fn real_proofs_verify_and_wrong_ones_do_not() {
    let shape = Shape { m: 4, k: 4, n: 4 };
    let other = Shape { m: 4, k: 4, n: 5 };
    let k = shape.circuit_log_size().max(other.circuit_log_size());
    let params = params(k);
    let (a, b) = inputs(shape, 8);
    let c = multiply(shape, &a, &b);
    let public = [
        input_commitment(shape, &a, &b),
        output_commitment(shape, &c),
    ];
    let proof = prove(&params, &GemmCircuit::new(shape, a.clone(), b.clone()));
    assert!(verifies(&params, shape, public, &proof));
    assert!(
        !verifies(&params, other, public, &proof),
        "a proof for another shape"
    );
    let mut other_c = c.clone();
    other_c[0] -= 1;
    for wrong in [
        [public[0], output_commitment(shape, &other_c)],
        [public[1], public[0]],
    ] {
        assert!(
            !verifies(&params, shape, wrong, &proof),
            "other commitments"
        );
    }
    let mut damaged = proof.clone();
    let at = damaged.len() / 2;
    damaged[at] ^= 1;
    assert!(!verifies(&params, shape, public, &damaged));
    let mut c = c;
    c[5] += 1;
    let circuit = GemmCircuit::with_product(shape, a, b, c.clone());
    let wrong = prove(&params, &circuit);
    assert!(
        !verifies(&params, shape, circuit.public_inputs().unwrap(), &wrong),
        "a proof of a wrong product"
    );
}
