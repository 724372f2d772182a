//! The proving-key file says which form its H query is in (libsnark's, as
//! ark-groth16's setup makes, or snarkjs's, as a `.zkey` and our setups
//! hold), and proofs take the
//! witness map of that form: the byte is written and read back, files of
//! version 1 (before the byte) read as libsnark's, an unknown form, an H
//! query of the wrong length for its form and an unknown version are each
//! refused, and a key labelled with the other form proves nothing that
//! verifies (the self-check refuses it), so the label is what the prover uses.

mod common;

use ark_bn254::Bn254;
use ark_groth16::Groth16;
use ark_snark::SNARK;
use common::*;
use proofmint_prover::groth16::QapForm;
use proofmint_prover::{prove_claim, ProveError, ProvingKeyFile};

#[test]
fn the_h_query_s_form_is_written_read_and_used() {
    // Development keys are in snarkjs's form, as ceremony keys are.
    let key = shared_key();
    let bytes = key.to_bytes();
    assert_eq!((&bytes[..4], bytes[4], bytes[5]), (&b"PMPK"[..], 2, 1));
    let read = ProvingKeyFile::from_bytes(&bytes).unwrap();
    assert_eq!((read.form, &read.pk), (QapForm::Circom, &key.pk));

    let with = |bytes: &[u8], at: usize, value: u8| {
        let mut altered = bytes.to_vec();
        altered[at] = value;
        ProvingKeyFile::from_bytes(&altered)
            .unwrap_err()
            .to_string()
    };
    assert!(with(&bytes, 5, 7).contains("H query form"));
    // libsnark's form needs |H| − 1 points; this key's H query has |H|.
    assert!(
        with(&bytes, 5, 0).contains("h_query"),
        "{}",
        with(&bytes, 5, 0)
    );
    assert!(with(&bytes, 4, 3).contains("version"));
    // Version 1 (no form byte) is libsnark's: this H query does not fit it.
    let mut v1 = bytes.clone();
    v1.remove(5);
    v1[4] = 1;
    assert!(ProvingKeyFile::from_bytes(&v1)
        .unwrap_err()
        .to_string()
        .contains("h_query"));

    // A key in libsnark's form (ark-groth16's own setup) is written with
    // its byte, read back, read from version 1 and proves.
    let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(
        proofmint_circuits::ClaimCircuit::blank(SHAPE),
        &mut rng(3),
    )
    .unwrap();
    let mut file = key.key.clone();
    file.vk = vk;
    let libsnark = ProvingKeyFile::new(file, pk);
    let bytes = libsnark.to_bytes();
    assert_eq!(bytes[5], 0);
    let read = ProvingKeyFile::from_bytes(&bytes).unwrap();
    assert_eq!((read.form, &read.pk), (QapForm::Libsnark, &libsnark.pk));
    let mut v1 = bytes.clone();
    v1.remove(5);
    v1[4] = 1;
    let read = ProvingKeyFile::from_bytes(&v1).unwrap();
    assert_eq!((read.form, &read.pk), (QapForm::Libsnark, &libsnark.pk));
    assert!(
        with(&bytes, 5, 1).contains("h_query"),
        "{}",
        with(&bytes, 5, 1)
    );

    // Each key's points labelled with the other form: the prover takes the
    // label's witness map, the proof is wrong for the points, and the
    // self-check says so; with its own label each proves.
    let backend = proofmint_gpu::CpuBackend::new();
    let mut rng = rng(5);
    for (key, other) in [(key, QapForm::Libsnark), (&libsnark, QapForm::Circom)] {
        let relabelled = ProvingKeyFile::with_form(key.key.clone(), key.pk.clone(), other);
        let error = prove_claim(&relabelled, claim_of(0, 0), &backend, &mut rng).unwrap_err();
        assert!(matches!(error, ProveError::SelfCheck), "{error}");
        prove_claim(key, claim_of(0, 0), &backend, &mut rng).unwrap();
    }
}
