//! Work proofs as they travel: proven from `.npy`-shaped matrices on
//! parameters from a Powers of Tau, verified, written and read back; altered
//! commitments, proofs and shapes refused; every damaged file refused with
//! its reason, and arbitrary bytes never panic.

use ark_bn254::Fr as ArkFr;
use halo2_proofs::halo2curves::bn256::{Bn256, Fr};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use proofmint_circuits::ptau::Ptau;
use std::collections::BTreeMap;

use alloy_primitives::Address;
use halo2_proofs::poly::commitment::Params;
use proofmint_work::commitment::to_ark;
use proofmint_work::evidence::{
    check_shape, prove_gemm, WorkError, WorkProof, WorkVerifier, KIND_GEMM,
};
use proofmint_work::gemm::Shape;
use proofmint_work::npy::{Matrix, WideMatrix};
use proofmint_work::srs::params_from_ptau;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

fn params(k: u32) -> ParamsKZG<Bn256> {
    let ptau = Ptau::from_secrets(k, ArkFr::from(77u64), ArkFr::from(3u64), ArkFr::from(5u64));
    params_from_ptau(&ptau, k).unwrap()
}

fn matrix(rows: usize, columns: usize, rng: &mut ChaCha20Rng) -> Matrix {
    Matrix {
        rows,
        columns,
        entries: (0..rows * columns).map(|_| rng.gen()).collect(),
    }
}

/// One proof of a 5×6 by 6×4 product, shared by the tests.
fn proven() -> &'static (ParamsKZG<Bn256>, Matrix, Matrix, WideMatrix, WorkProof) {
    static PROVEN: std::sync::OnceLock<(ParamsKZG<Bn256>, Matrix, Matrix, WideMatrix, WorkProof)> =
        std::sync::OnceLock::new();
    PROVEN.get_or_init(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let (a, b) = (matrix(5, 6, &mut rng), matrix(6, 4, &mut rng));
        let shape = Shape { m: 5, k: 6, n: 4 };
        let params = params(check_shape(shape).unwrap());
        let (c, proof) = prove_gemm(&params, &a, &b, rng).unwrap();
        (params, a, b, c, proof)
    })
}

#[test]
fn a_proof_verifies_round_trips_and_commits_to_its_matrices() {
    let (params, a, b, c, proof) = proven();
    assert_eq!(proof.units(), 5 * 6 * 4);
    assert_eq!((c.rows, c.columns), (5, 4));
    let expected: i64 = (0..6)
        .map(|t| a.entries[t] as i64 * b.entries[t * 4] as i64)
        .sum();
    assert_eq!(c.entries[0], expected);
    proof.verify(params).unwrap();
    let bytes = proof.to_bytes();
    assert_eq!(&WorkProof::from_bytes(&bytes).unwrap(), proof);
    assert!(proof.commits_to(a, b, c));
    let mut other = c.clone();
    other.entries[3] += 1;
    assert!(!proof.commits_to(a, b, &other));
    assert!(!proof.commits_to(b, a, c), "A and B swapped");
}

#[test]
fn altered_commitments_proofs_and_shapes_do_not_verify() {
    let (params, _, _, _, proof) = proven();
    let mut other = proof.clone();
    other.output += Fr::one();
    assert!(matches!(other.verify(params), Err(WorkError::Invalid)));
    let mut swapped = proof.clone();
    std::mem::swap(&mut swapped.input, &mut swapped.output);
    assert!(matches!(swapped.verify(params), Err(WorkError::Invalid)));
    let mut damaged = proof.clone();
    damaged.proof[100] ^= 4;
    assert!(damaged.verify(params).is_err());
    // Another shape of the same circuit size: another verifying key.
    let mut reshaped = proof.clone();
    reshaped.shape = Shape { m: 4, k: 6, n: 5 };
    assert_eq!(
        check_shape(reshaped.shape).unwrap(),
        check_shape(proof.shape).unwrap()
    );
    assert!(matches!(reshaped.verify(params), Err(WorkError::Invalid)));
    // Parameters for another size are refused before any check.
    let big = Shape {
        m: 64,
        k: 64,
        n: 64,
    };
    let mut wrong_size = proof.clone();
    wrong_size.shape = big;
    assert!(matches!(
        wrong_size.verify(params),
        Err(WorkError::Params { .. })
    ));
}

#[test]
fn mismatched_matrices_are_refused() {
    let (params, a, _, _, _) = proven();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let b = matrix(5, 4, &mut rng);
    assert!(matches!(
        prove_gemm(params, a, &b, rng),
        Err(WorkError::Mismatch(5, 6, 5, 4))
    ));
}

#[test]
fn damaged_files_are_refused_with_the_reason() {
    let (_, _, _, _, proof) = proven();
    let bytes = proof.to_bytes();
    for cut in 0..bytes.len() {
        assert!(
            WorkProof::from_bytes(&bytes[..cut]).is_err(),
            "truncated at {cut}"
        );
    }
    let mut extra = bytes.clone();
    extra.push(0);
    assert!(matches!(
        WorkProof::from_bytes(&extra),
        Err(WorkError::Trailing(1))
    ));
    let patched = |at: usize, value: &[u8]| {
        let mut b = bytes.clone();
        b[at..at + value.len()].copy_from_slice(value);
        WorkProof::from_bytes(&b)
    };
    assert!(matches!(patched(0, b"PMWX"), Err(WorkError::Magic)));
    assert!(matches!(patched(4, &[2]), Err(WorkError::Version(2))));
    assert!(matches!(
        patched(5, &2u32.to_be_bytes()),
        Err(WorkError::Kind(2))
    ));
    assert_eq!(KIND_GEMM, 1);
    assert!(matches!(
        patched(9, &0u32.to_be_bytes()),
        Err(WorkError::Shape(_))
    ));
    assert!(matches!(
        patched(13, &(1u32 << 20).to_be_bytes()),
        Err(WorkError::Shape(_))
    ));
    // The field's modulus itself, and all ones: not canonical.
    let modulus =
        hex::decode("30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001").unwrap();
    assert!(matches!(
        patched(21, &modulus),
        Err(WorkError::NonCanonical("the input commitment"))
    ));
    assert!(matches!(
        patched(53, &[0xff; 32]),
        Err(WorkError::NonCanonical("the output commitment"))
    ));
    assert!(matches!(
        patched(85, &(1u32 << 17).to_be_bytes()),
        Err(WorkError::ProofLength(_))
    ));
}

#[test]
fn a_proof_is_the_evidence_of_its_receipt_only() {
    let (_, _, _, _, proof) = proven();
    let receipt = proof.receipt(
        ArkFr::from(9u64),
        Address::repeat_byte(1),
        Address::repeat_byte(2),
        3,
    );
    assert_eq!((receipt.kind, receipt.units), (KIND_GEMM, proof.units()));
    assert_eq!(receipt.input_commitment, to_ark(proof.input));
    assert_eq!(receipt.output_commitment, to_ark(proof.output));
    proof.matches_receipt(&receipt).unwrap();
    let mut other = receipt;
    other.kind = 0;
    assert!(matches!(
        proof.matches_receipt(&other),
        Err(WorkError::ReceiptKind(0))
    ));
    let mut inflated = receipt;
    inflated.units += 1;
    assert!(matches!(
        proof.matches_receipt(&inflated),
        Err(WorkError::Units { .. })
    ));
    let mut other_input = receipt;
    other_input.input_commitment += ArkFr::from(1u64);
    assert!(matches!(
        proof.matches_receipt(&other_input),
        Err(WorkError::Commitment("inputCommitment"))
    ));
    let mut other_output = receipt;
    other_output.output_commitment = receipt.input_commitment;
    assert!(matches!(
        proof.matches_receipt(&other_output),
        Err(WorkError::Commitment("outputCommitment"))
    ));
}

#[test]
fn many_proofs_verify_together_and_the_bad_ones_are_named() {
    let (params, _, _, _, proof) = proven();
    let mut sizes = BTreeMap::new();
    sizes.insert(params.k(), params.clone());
    // Twenty: a batch of sixteen and one of four.
    let verifier = WorkVerifier::new(sizes);
    let mut proofs = vec![proof.clone(); 20];
    assert!(verifier.verify_many(&proofs).is_empty());
    proofs[3].output += Fr::one();
    proofs[17].proof[200] ^= 1;
    let mut big = proof.clone();
    big.shape = Shape {
        m: 64,
        k: 64,
        n: 64,
    };
    proofs.push(big);
    let failures = verifier.verify_many(&proofs);
    let named: Vec<usize> = failures.iter().map(|(index, _)| *index).collect();
    assert_eq!(named, vec![3, 17, 20]);
    assert!(matches!(failures[0].1, WorkError::Invalid));
    assert!(matches!(failures[2].1, WorkError::NoParams(_)));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = WorkProof::from_bytes(&bytes);
        let mut with_magic = b"PMWK\x01\x00\x00\x00\x01".to_vec();
        with_magic.extend_from_slice(&bytes);
        let _ = WorkProof::from_bytes(&with_magic);
    }
}
