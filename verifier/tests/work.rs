//! The verifier crate checks work proofs against the receipts they are the
//! evidence of: the right proof passes; a receipt of another kind, other
//! units, other commitments, a valid proof of another product and a
//! tampered proof each fail; a folder of evidence is checked with every
//! problem named by its line.

#![cfg(feature = "work")]

use alloy_primitives::Address;
use ark_bn254::Fr as ArkFr;
use proofmint_circuits::ptau::Ptau;
use proofmint_circuits::receipt::Receipt;
use proofmint_verifier::work::{check_evidence, evidence_path, verify_work};
use proofmint_work::evidence::{check_shape, prove_gemm, WorkError, WorkProof};
use proofmint_work::gemm::Shape;
use proofmint_work::npy::Matrix;
use proofmint_work::srs::params_from_ptau;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

fn matrix(rows: usize, columns: usize, rng: &mut ChaCha20Rng) -> Matrix {
    Matrix {
        rows,
        columns,
        entries: (0..rows * columns).map(|_| rng.gen()).collect(),
    }
}

fn receipt_of(proof: &WorkProof, job: u64) -> Receipt {
    proof.receipt(
        ArkFr::from(job),
        Address::repeat_byte(1),
        Address::repeat_byte(2),
        3,
    )
}

#[test]
fn work_proofs_are_checked_against_their_receipts() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let shape = Shape { m: 3, k: 4, n: 2 };
    let k = check_shape(shape).unwrap();
    let ptau = Ptau::from_secrets(k, ArkFr::from(11u64), ArkFr::from(2u64), ArkFr::from(9u64));
    let params = params_from_ptau(&ptau, k).unwrap();
    let (a, b) = (matrix(3, 4, &mut rng), matrix(4, 2, &mut rng));
    let (_, proof) = prove_gemm(&params, &a, &b, &mut rng).unwrap();
    let (_, other_product) = prove_gemm(&params, &matrix(3, 4, &mut rng), &b, &mut rng).unwrap();
    let receipt = receipt_of(&proof, 7);
    verify_work(&receipt, &proof, &params).unwrap();

    let mut wrong = receipt;
    wrong.kind = 0;
    assert!(matches!(
        verify_work(&wrong, &proof, &params),
        Err(WorkError::ReceiptKind(0))
    ));
    let mut wrong = receipt;
    wrong.units += 1;
    assert!(matches!(
        verify_work(&wrong, &proof, &params),
        Err(WorkError::Units { .. })
    ));
    let mut wrong = receipt;
    wrong.output_commitment += ArkFr::from(1u64);
    assert!(matches!(
        verify_work(&wrong, &proof, &params),
        Err(WorkError::Commitment("outputCommitment"))
    ));
    // A valid proof, but of another product: not this receipt's evidence.
    assert!(matches!(
        verify_work(&receipt, &other_product, &params),
        Err(WorkError::Commitment("inputCommitment"))
    ));
    // A proof whose public inputs were moved to the receipt's: it fails the pairing.
    let mut forged = other_product.clone();
    forged.input = proof.input;
    forged.output = proof.output;
    assert!(matches!(
        verify_work(&receipt, &forged, &params),
        Err(WorkError::Invalid)
    ));

    // A folder of evidence: one good proof, one forged, one missing; each
    // problem is named by its line.
    let dir = tempfile::tempdir().unwrap();
    let ptau_file = dir.path().join("work.ptau");
    let mut bytes = Vec::new();
    ptau.write(&mut bytes).unwrap();
    std::fs::write(&ptau_file, bytes).unwrap();
    let forged_receipt = receipt_of(&forged, 8);
    let missing = receipt_of(&proof, 9);
    std::fs::write(evidence_path(dir.path(), &receipt), proof.to_bytes()).unwrap();
    std::fs::write(
        evidence_path(dir.path(), &forged_receipt),
        forged.to_bytes(),
    )
    .unwrap();
    let receipts = [(1, receipt), (2, forged_receipt), (3, missing)];
    let problems =
        check_evidence(&receipts, Some(dir.path()), Some(&ptau_file), "line").unwrap_err();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].starts_with("line 2: the work proof does not verify"),
        "{problems:?}"
    );
    assert!(
        problems[1].starts_with("line 3: no work proof"),
        "{problems:?}"
    );
    let kept = check_evidence(&receipts[..1], Some(dir.path()), Some(&ptau_file), "line").unwrap();
    assert_eq!(kept.len(), 1);
}
