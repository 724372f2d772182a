//! Groth16 claim proofs end to end: made by our prover, checked by our
//! verifier and by ark-groth16's own, and refused when anything is altered.

mod common;

use ark_bn254::{Bn254, Fr};
use ark_groth16::Groth16;
use ark_snark::SNARK;
use common::*;
use proofmint_circuits::claim::ClaimShape;
use proofmint_prover::groth16::CircomReduction;
use proofmint_prover::prove::ProveError;
use proofmint_prover::{prove_claim, setup_development, ProvingKeyFile};
use proofmint_verifier::keys::KeyError;
use proofmint_verifier::verify::ClaimVerifier;
use proofmint_verifier::{snarkjs, verify_claim, ClaimProof, VerifyError, VerifyingKeyFile};

fn honest_proof() -> ClaimProof {
    prove_claim(
        shared_key(),
        claim_of(0, 0),
        &proofmint_gpu::CpuBackend::new(),
        &mut rng(7),
    )
    .unwrap()
}

#[test]
fn honest_claim_verifies_here_and_with_ark_groth16() {
    let claim = honest_proof();
    // Node 0 holds leaves 0, 2, 4, 6 (and 8 past the 4 slots): units 100+300+500+700.
    assert_eq!(claim.public.total_units, Fr::from(1600u64));
    assert_eq!(claim.public.last_index, Fr::from(6u64));
    verify_claim(&shared_key().key, &claim).unwrap();
    // Independent check: ark-groth16's verifier on the raw key, proof and inputs.
    let pvk = Groth16::<Bn254>::process_vk(&shared_key().key.vk).unwrap();
    assert!(Groth16::<Bn254>::verify_with_processed_vk(
        &pvk,
        &claim.public.to_inputs(),
        &claim.proof
    )
    .unwrap());
}

#[test]
fn every_altered_public_input_is_rejected() {
    let claim = honest_proof();
    let verifier = ClaimVerifier::new(shared_key().key.clone());
    for which in 0..6 {
        let mut inputs = claim.public.to_inputs();
        inputs[which] += Fr::from(1u64);
        let mut tampered = claim.clone();
        tampered.public = proofmint_circuits::ClaimPublic::from_inputs(&inputs);
        assert!(
            matches!(verifier.verify(&tampered), Err(VerifyError::InvalidProof)),
            "input {which}"
        );
    }
}

#[test]
fn every_altered_proof_byte_is_rejected() {
    let claim = honest_proof();
    let bytes = claim.to_bytes();
    let verifier = ClaimVerifier::new(shared_key().key.clone());
    // Flip one bit in each byte of the proof points and public inputs (after the header).
    for i in 10..bytes.len() {
        let mut altered = bytes.clone();
        altered[i] ^= 0x01;
        let outcome = ClaimProof::from_bytes(&altered)
            .map_err(VerifyError::from)
            .and_then(|c| verifier.verify(&c));
        assert!(outcome.is_err(), "flipping byte {i} was accepted");
    }
    for cut in 0..bytes.len() {
        assert!(ClaimProof::from_bytes(&bytes[..cut]).is_err());
    }
}

#[test]
fn proofs_of_other_keys_and_shapes_are_refused() {
    let claim = honest_proof();
    // Same shape, another setup: the digest says so before any pairing.
    let other = setup_development(SHAPE, &mut rng(2)).unwrap();
    assert!(matches!(
        verify_claim(&other.key, &claim),
        Err(VerifyError::Key(KeyError::DigestMismatch { .. }))
    ));
    // Even with the digest forged, the pairing check fails.
    let mut forged = claim.clone();
    forged.key_digest = other.key.digest();
    assert!(matches!(
        verify_claim(&other.key, &forged),
        Err(VerifyError::InvalidProof)
    ));
    // A key of another shape is refused by name.
    let mut reshaped = claim.clone();
    reshaped.shape = ClaimShape { slots: 8, depth: 8 };
    assert!(matches!(
        verify_claim(&shared_key().key, &reshaped),
        Err(VerifyError::Key(KeyError::ShapeMismatch { .. }))
    ));
    let mut wrong_circuit = claim_of(0, 0);
    wrong_circuit.shape = ClaimShape { slots: 4, depth: 9 };
    assert!(matches!(
        prove_claim(
            shared_key(),
            wrong_circuit,
            &proofmint_gpu::CpuBackend::new(),
            &mut rng(3)
        ),
        Err(ProveError::Key(KeyError::ShapeMismatch { .. }))
    ));
}

#[test]
fn cheating_witnesses_fail_to_prove_and_forced_proofs_fail_to_verify() {
    let key = shared_key();
    let pvk = Groth16::<Bn254>::process_vk(&key.key.vk).unwrap();
    let mut wrong_total = claim_of(0, 0);
    wrong_total.public.total_units += Fr::from(1u64);
    let mut other_node = claim_of(0, 0);
    other_node.public.node = proofmint_circuits::field::address_to_fr(&node(1));
    let mut out_of_order = claim_of(0, 0);
    out_of_order.slots.swap(0, 1);
    let mut reused = claim_of(0, 0);
    reused.slots[1] = reused.slots[0].clone();
    reused.public.total_units = Fr::from(100u64 + 100 + 500 + 700);
    let mut other_epoch = claim_of(0, 0);
    other_epoch.public.epoch = Fr::from(EPOCH + 1);
    for (name, circuit) in [
        ("wrong total", wrong_total),
        ("other node", other_node),
        ("out of order", out_of_order),
        ("reused leaf", reused),
        ("other epoch", other_epoch),
    ] {
        let refused = prove_claim(
            key,
            circuit.clone(),
            &proofmint_gpu::CpuBackend::new(),
            &mut rng(4),
        );
        assert!(
            matches!(refused, Err(ProveError::Unsatisfied(_))),
            "{name}: {refused:?}"
        );
        // Bypassing our prover's checks: ark-groth16 makes a proof, which does not verify.
        let inputs = circuit.public.to_inputs();
        let forced =
            Groth16::<Bn254, CircomReduction>::prove(&key.pk, circuit, &mut rng(5)).unwrap();
        assert!(
            !Groth16::<Bn254>::verify_with_processed_vk(&pvk, &inputs, &forced).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn key_files_round_trip_and_refuse_damage() {
    let key = shared_key();
    let vk_bytes = key.key.to_bytes();
    assert_eq!(VerifyingKeyFile::from_bytes(&vk_bytes).unwrap(), key.key);
    for cut in 0..vk_bytes.len() {
        assert!(VerifyingKeyFile::from_bytes(&vk_bytes[..cut]).is_err());
    }
    let mut version = vk_bytes.clone();
    version[4] = 3;
    assert!(VerifyingKeyFile::from_bytes(&version)
        .unwrap_err()
        .to_string()
        .contains("version 3"));
    // Version 2 records a ceremony transcript: a development key cannot.
    version[4] = 2;
    assert!(VerifyingKeyFile::from_bytes(&version).is_err());
    let mut ceremony = key.key.clone();
    ceremony.setup = proofmint_verifier::SetupKind::Ceremony;
    ceremony.transcript = Some([7u8; 64]);
    let bytes = ceremony.to_bytes();
    assert_eq!(bytes[4], 2);
    assert_eq!(VerifyingKeyFile::from_bytes(&bytes).unwrap(), ceremony);
    for cut in 0..bytes.len() {
        assert!(VerifyingKeyFile::from_bytes(&bytes[..cut]).is_err());
    }
    let pk_bytes = key.to_bytes();
    let loaded = ProvingKeyFile::from_bytes(&pk_bytes).unwrap();
    assert_eq!(loaded.pk, key.pk);
    for cut in [0, 4, 5, 9, 100, pk_bytes.len() / 2, pk_bytes.len() - 1] {
        assert!(
            ProvingKeyFile::from_bytes(&pk_bytes[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    // A corrupted point in the proving key is refused on load, not used.
    let mut corrupt = pk_bytes.clone();
    let at = pk_bytes.len() - 10;
    corrupt[at] ^= 0x55;
    assert!(ProvingKeyFile::from_bytes(&corrupt).is_err());
}

#[test]
fn snarkjs_json_round_trips() {
    let claim = honest_proof();
    let proof = snarkjs::proof_from_json(&snarkjs::proof_json(&claim.proof)).unwrap();
    assert_eq!(proof, claim.proof);
    let public = snarkjs::public_from_json(&snarkjs::public_json(&claim.public)).unwrap();
    assert_eq!(public, claim.public);
    let mut off_curve = snarkjs::proof_json(&claim.proof);
    off_curve["pi_a"][1] = "5".into();
    assert!(snarkjs::proof_from_json(&off_curve).is_err());
    let mut non_canonical = snarkjs::public_json(&claim.public);
    non_canonical[0] =
        "21888242871839275222246405745257275088548364400416034343698204186575808495617".into();
    assert!(snarkjs::public_from_json(&non_canonical).is_err());
    let vk = snarkjs::verifying_key_json(&shared_key().key);
    assert_eq!(vk["nPublic"], 6);
    assert_eq!(vk["IC"].as_array().unwrap().len(), 7);
}

#[test]
fn backend_prover_matches_ark_groth16_bit_for_bit() {
    use proofmint_gpu::CpuBackend;
    use proofmint_prover::groth16::{self, QapForm};
    let key = shared_key();
    assert_eq!(
        key.form,
        QapForm::Circom,
        "development keys are in snarkjs's form"
    );
    let (r, s) = (Fr::from(11u64), Fr::from(13u64));
    let ours =
        groth16::prove_with_randomness(&key.pk, key.form, claim_of(0, 0), &CpuBackend::new(), r, s)
            .unwrap();
    let theirs = Groth16::<Bn254, CircomReduction>::create_proof_with_reduction(
        claim_of(0, 0),
        &key.pk,
        r,
        s,
    )
    .unwrap();
    assert_eq!(
        ours, theirs,
        "same key, witness and blinding: the same proof"
    );
    // A key in libsnark's form, from ark-groth16's own setup: the same again.
    let (libsnark, _) =
        Groth16::<Bn254>::circuit_specific_setup(claim_of(0, 0), &mut rng(9)).unwrap();
    let ours = groth16::prove_with_randomness(
        &libsnark,
        QapForm::Libsnark,
        claim_of(0, 0),
        &CpuBackend::new(),
        r,
        s,
    )
    .unwrap();
    let theirs =
        Groth16::<Bn254>::create_proof_with_reduction(claim_of(0, 0), &libsnark, r, s).unwrap();
    assert_eq!(ours, theirs, "libsnark's form");
    // With fresh randomness, ark-groth16's verifier accepts ours.
    let circuit = claim_of(1, 0);
    let inputs = circuit.public.to_inputs();
    let proof =
        groth16::prove(&key.pk, key.form, circuit, &CpuBackend::new(), &mut rng(3)).unwrap();
    let pvk = Groth16::<Bn254>::process_vk(&key.key.vk).unwrap();
    assert!(Groth16::<Bn254>::verify_with_processed_vk(&pvk, &inputs, &proof).unwrap());
    // A key of another shape is refused, not misused.
    let other = setup_development(ClaimShape { slots: 2, depth: 8 }, &mut rng(8)).unwrap();
    let mut wrong = claim_of(0, 0);
    wrong.shape = SHAPE;
    assert!(matches!(
        groth16::prove(
            &other.pk,
            other.form,
            wrong,
            &CpuBackend::new(),
            &mut rng(4)
        ),
        Err(groth16::Groth16Error::KeyMismatch(_))
    ));
}

#[test]
fn matrices_built_once_give_the_same_proofs() {
    use ark_ff::UniformRand;
    use proofmint_gpu::CpuBackend;
    use proofmint_prover::groth16;
    let key = shared_key();
    let matrices = key.matrices().unwrap();
    // Same seeded rng: the same (r, s) are drawn as ark-groth16 is given.
    let ours = groth16::prove_with_matrices(
        &key.pk,
        key.form,
        matrices,
        claim_of(1, 0),
        &CpuBackend::new(),
        &mut rng(21),
    )
    .unwrap();
    let mut draw = rng(21);
    let (r, s) = (Fr::rand(&mut draw), Fr::rand(&mut draw));
    let theirs = Groth16::<Bn254, CircomReduction>::create_proof_with_reduction(
        claim_of(1, 0),
        &key.pk,
        r,
        s,
    )
    .unwrap();
    assert_eq!(ours, theirs);
    // Matrices of another shape are refused.
    let other =
        groth16::ConstraintMatrices::of(proofmint_circuits::ClaimCircuit::blank(ClaimShape {
            slots: 2,
            depth: 8,
        }))
        .unwrap();
    assert!(matches!(
        groth16::prove_with_matrices(
            &key.pk,
            key.form,
            &other,
            claim_of(0, 0),
            &CpuBackend::new(),
            &mut rng(22)
        ),
        Err(groth16::Groth16Error::KeyMismatch(_))
    ));
}
