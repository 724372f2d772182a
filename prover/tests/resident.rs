//! The prover with its key resident on ICICLE's device against the host
//! prover: the same h (both QAP forms), the same proof bytes for the same
//! generator, proofs that ark-groth16 accepts, a key uploaded once and kept,
//! and refusals of another key's bases and of a tampered witness. ICICLE is
//! found through `PROOFMINT_ICICLE_DIR`; where it is not set these tests say
//! they were skipped and pass, unless `PROOFMINT_REQUIRE_ICICLE=1`.

use std::sync::Arc;

use ark_bn254::{Bn254, Fr};
use ark_ff::One;
use ark_groth16::Groth16;
use ark_snark::SNARK;
use proofmint_circuits::claim::{ClaimCircuit, ClaimShape};
use proofmint_gpu::icicle::IcicleBackend;
use proofmint_gpu::{Backend, CpuBackend};
use proofmint_prover::groth16::{self, Groth16Error};
use proofmint_prover::resident::{
    prove_assignment_resident, witness_map_resident, QapForm, ResidentKey,
};
use proofmint_prover::{prove_claim, sample, setup_development};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn icicle() -> Option<IcicleBackend> {
    proofmint_gpu::icicle::for_tests()
}

#[test]
fn the_resident_prover_is_the_host_prover_on_the_device() {
    let Some(device) = icicle() else { return };
    let cpu = CpuBackend::new();
    let mut rng = ChaCha20Rng::seed_from_u64(21);
    let shape = ClaimShape::new(16, 8).unwrap();
    let key = setup_development(shape, &mut rng).unwrap();
    let other = setup_development(shape, &mut rng).unwrap();
    let circuit = sample::full_claim(shape);
    let (instance, witness) = circuit.clone().witness().unwrap();
    let matrices = key.matrices().unwrap();
    let assignment: Vec<Fr> = [instance.as_slice(), witness.as_slice()].concat();

    // h, both forms, against the host's witness maps on the CPU backend.
    let host = groth16::witness_map(&cpu, matrices, &assignment).unwrap();
    let on_device =
        witness_map_resident(&device, matrices, &assignment, QapForm::Libsnark).unwrap();
    assert_eq!(
        device.download_scalars(&on_device).unwrap(),
        host,
        "h, libsnark form"
    );
    let host = groth16::witness_map_circom(&cpu, matrices, &assignment).unwrap();
    let on_device = witness_map_resident(&device, matrices, &assignment, QapForm::Circom).unwrap();
    assert_eq!(
        device.download_scalars(&on_device).unwrap(),
        host,
        "h, circom form"
    );

    // The same proof bytes for the same generator, both forms: the
    // development key is in snarkjs's form, ark-groth16's setup makes one in
    // libsnark's.
    let (libsnark_pk, _) =
        Groth16::<Bn254>::circuit_specific_setup(ClaimCircuit::blank(shape), &mut rng).unwrap();
    let seeded = || ChaCha20Rng::seed_from_u64(99);
    for (pk, form) in [
        (&libsnark_pk, QapForm::Libsnark),
        (&key.pk, QapForm::Circom),
    ] {
        let on_device = ResidentKey::upload(&device, pk, form).unwrap();
        let expected =
            groth16::prove_assignment(pk, form, matrices, &instance, &witness, &cpu, &mut seeded())
                .unwrap();
        let proof =
            prove_assignment_resident(pk, &on_device, matrices, &instance, &witness, &mut seeded())
                .unwrap();
        assert_eq!(proof, expected, "{form:?}");
        let pvk = Groth16::<Bn254>::process_vk(&pk.vk).unwrap();
        assert!(
            Groth16::<Bn254>::verify_with_processed_vk(&pvk, &instance[1..], &proof).unwrap(),
            "{form:?}"
        );
    }
    let resident = ResidentKey::upload(&device, &key.pk, key.form).unwrap();
    let pvk = Groth16::<Bn254>::process_vk(&key.pk.vk).unwrap();

    // Another key's bases are refused, not used.
    assert!(matches!(
        prove_assignment_resident(&other.pk, &resident, matrices, &instance, &witness, &mut rng),
        Err(Groth16Error::KeyMismatch(_))
    ));

    // A witness changed directly (one variable) gives a proof that fails.
    let mut tampered = witness.clone();
    tampered[witness.len() / 2] += Fr::one();
    let bad =
        prove_assignment_resident(&key.pk, &resident, matrices, &instance, &tampered, &mut rng)
            .unwrap();
    assert!(!Groth16::<Bn254>::verify_with_processed_vk(&pvk, &instance[1..], &bad).unwrap());

    // prove_claim puts the key on the device once and keeps it.
    let backend: &dyn Backend = &device;
    let first = prove_claim(&key, circuit.clone(), backend, &mut rng).unwrap();
    let kept = key.resident_on(&device).unwrap();
    let second = prove_claim(&key, circuit, backend, &mut rng).unwrap();
    assert!(Arc::ptr_eq(&kept, &key.resident_on(&device).unwrap()));
    assert_ne!(first.proof, second.proof, "fresh blinding per proof");
    for claim in [first, second] {
        let inputs = claim.public.to_inputs();
        assert!(Groth16::<Bn254>::verify_with_processed_vk(&pvk, &inputs, &claim.proof).unwrap());
    }
}
