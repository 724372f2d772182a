//! Every preset shape (16, 64 and 256 receipt slots at depth 20): one key
//! each, a full claim proven with every backend at hand (our CPU backend
//! always; ICICLE where `PROOFMINT_ICICLE_DIR` names an install), each proof
//! checked by ark-groth16's own verifier, and an altered public input refused
//! by it. The slow test of the suite (the 256-slot setup is about a minute).

use ark_bn254::{Bn254, Fr};
use ark_ff::One;
use ark_groth16::Groth16;
use ark_snark::SNARK;
use proofmint_circuits::claim::{ClaimShape, PRESET_SLOTS};
use proofmint_gpu::{Backend, CpuBackend};
use proofmint_prover::{prove_claim, sample, setup_development};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

const DEPTH: usize = 20;

fn backends() -> Vec<Box<dyn Backend>> {
    let mut backends: Vec<Box<dyn Backend>> = vec![Box::new(CpuBackend::new())];
    if let Some(icicle) = proofmint_gpu::icicle::for_tests() {
        backends.push(Box::new(icicle));
    }
    backends
}

#[test]
fn every_preset_proves_with_every_backend_and_verifies_with_ark_groth16() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let backends = backends();
    for slots in PRESET_SLOTS {
        let shape = ClaimShape::new(slots, DEPTH).unwrap();
        let key = setup_development(shape, &mut rng).unwrap();
        let circuit = sample::full_claim(shape);
        // Every slot is used: the node's receipts sit at the even leaves.
        let expected_units: u64 = (0..slots as u64).map(|k| 1000 + 2 * k).sum();
        assert_eq!(circuit.public.total_units, Fr::from(expected_units));
        let pvk = Groth16::<Bn254>::process_vk(&key.pk.vk).unwrap();
        for backend in &backends {
            let claim = prove_claim(&key, circuit.clone(), backend.as_ref(), &mut rng).unwrap();
            let inputs = claim.public.to_inputs();
            assert!(
                Groth16::<Bn254>::verify_with_processed_vk(&pvk, &inputs, &claim.proof).unwrap(),
                "{slots} slots, {}",
                backend.name()
            );
            for i in 0..inputs.len() {
                let mut altered = inputs;
                altered[i] += Fr::one();
                assert!(
                    !Groth16::<Bn254>::verify_with_processed_vk(&pvk, &altered, &claim.proof)
                        .unwrap(),
                    "{slots} slots, {}: input {i} altered",
                    backend.name()
                );
            }
        }
    }
}
