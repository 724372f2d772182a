//! The proving-key file says which form its H query is in (libsnark's, as
//! our setup makes, or snarkjs's, as a `.zkey` holds), and proofs take the
//! witness map of that form: the byte is written and read back, files of
//! version 1 (before the byte) read as libsnark's, an unknown form, an H
//! query of the wrong length for its form and an unknown version are each
//! refused, and a key labelled with the other form proves nothing that
//! verifies (the self-check refuses it), so the label is what the prover uses.

mod common;

use common::*;
use proofmint_prover::groth16::QapForm;
use proofmint_prover::{prove_claim, ProveError, ProvingKeyFile};

#[test]
fn the_h_query_s_form_is_written_read_and_used() {
    let key = shared_key();
    let bytes = key.to_bytes();
    assert_eq!((&bytes[..4], bytes[4], bytes[5]), (&b"PMPK"[..], 2, 0));
    let read = ProvingKeyFile::from_bytes(&bytes).unwrap();
    assert_eq!(read.form, QapForm::Libsnark);
    assert_eq!(read.pk, key.pk);

    // Version 1: no form byte, libsnark's form.
    let mut v1 = bytes.clone();
    v1.remove(5);
    v1[4] = 1;
    let read = ProvingKeyFile::from_bytes(&v1).unwrap();
    assert_eq!((read.form, &read.pk), (QapForm::Libsnark, &key.pk));

    let with = |at: usize, value: u8| {
        let mut altered = bytes.clone();
        altered[at] = value;
        ProvingKeyFile::from_bytes(&altered)
            .unwrap_err()
            .to_string()
    };
    assert!(with(5, 7).contains("H query form"), "{}", with(5, 7));
    // snarkjs's form needs |H| points; this key's H query has |H| − 1.
    assert!(with(5, 1).contains("h_query"), "{}", with(5, 1));
    assert!(with(4, 3).contains("version"), "{}", with(4, 3));

    // The same points labelled snarkjs's form (a file could not say so: its
    // H query's length is refused above) ...
    let relabelled = ProvingKeyFile::with_form(key.key.clone(), key.pk.clone(), QapForm::Circom);
    let mut rng = rng(5);
    // ... and the prover takes the label's witness map: the proof is wrong
    // for these points, and the self-check says so.
    let backend = proofmint_gpu::CpuBackend::new();
    let error = prove_claim(&relabelled, claim_of(0, 0), &backend, &mut rng).unwrap_err();
    assert!(matches!(error, ProveError::SelfCheck), "{error}");
    prove_claim(key, claim_of(0, 0), &backend, &mut rng).unwrap();
}
