//! Every preset shape (16, 64 and 256 receipt slots at depth 20): one key
//! each, a full claim proven with every backend at hand (our CPU backend
//! always; ICICLE where `PROOFMINT_ICICLE_DIR` names an install), each proof
//! checked by ark-groth16's own verifier, and an altered public input refused
//! by it. The slow test of the suite (the 256-slot setup is about a minute).

use ark_bn254::{Bn254, Fr};
use ark_ff::One;
use ark_groth16::Groth16;
use ark_snark::SNARK;
use k256::ecdsa::SigningKey;
use proofmint_circuits::claim::{ClaimCircuit, ClaimShape, ClaimWitness, PRESET_SLOTS};
use proofmint_circuits::receipt::{address_of, Receipt};
use proofmint_circuits::EpochBundle;
use proofmint_gpu::{Backend, CpuBackend, IcicleBackend};
use proofmint_prover::{prove_claim, setup_development};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

const DEPTH: usize = 20;

/// A node's claim that fills every slot of `shape`: receipts of two nodes
/// interleaved in one epoch, the first node's from leaf 0.
fn full_claim(shape: ClaimShape) -> ClaimCircuit {
    let client = SigningKey::from_bytes(&[3u8; 32].into()).unwrap();
    let nodes = [
        SigningKey::from_bytes(&[4u8; 32].into()).unwrap(),
        SigningKey::from_bytes(&[5u8; 32].into()).unwrap(),
    ];
    let receipts = (0..2 * shape.slots as u64)
        .map(|i| {
            let receipt = Receipt {
                job_id: Fr::from(10_000 + i),
                node: address_of(&nodes[(i % 2) as usize]),
                client: address_of(&client),
                epoch: 7,
                units: 1000 + i,
                kind: 1,
                input_commitment: Fr::from(i),
                output_commitment: Fr::from(i + 1),
            };
            (i as usize, receipt.sign(5, &client))
        })
        .collect();
    let (bundle, tree) = EpochBundle::build(7, 5, shape.depth, receipts).unwrap();
    ClaimWitness::build(shape, 7, &bundle.receipts, &tree, address_of(&nodes[0]), 0).unwrap()
}

fn backends() -> Vec<Box<dyn Backend>> {
    let mut backends: Vec<Box<dyn Backend>> = vec![Box::new(CpuBackend)];
    match std::env::var_os("PROOFMINT_ICICLE_DIR") {
        Some(dir) => backends.push(Box::new(
            IcicleBackend::load(std::path::Path::new(&dir)).expect("ICICLE loads"),
        )),
        None => eprintln!("ICICLE: skipped (PROOFMINT_ICICLE_DIR is not set)"),
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
        let circuit = full_claim(shape);
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
