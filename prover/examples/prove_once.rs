//! One setup, proof and verification of the claim circuit for a slot count
//! (depth 20), with the time of each: the figure for presets too slow for
//! criterion's repeated samples. Peak memory: run under `/usr/bin/time -v`.
//!
//! `cargo run --release -p proofmint-prover --example prove_once -- 256`

use std::time::Instant;

use ark_bn254::Fr;
use k256::ecdsa::SigningKey;
use proofmint_circuits::claim::{ClaimShape, ClaimWitness};
use proofmint_circuits::receipt::{address_of, Receipt};
use proofmint_circuits::EpochBundle;
use proofmint_prover::keys::constraint_count;
use proofmint_prover::{prove_claim, setup_development};
use proofmint_verifier::verify::ClaimVerifier;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn main() {
    let slots: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    let shape = ClaimShape::new(slots, 20).expect("a valid slot count");
    let client = SigningKey::from_bytes(&[3u8; 32].into()).expect("a valid key");
    let node = SigningKey::from_bytes(&[4u8; 32].into()).expect("a valid key");
    let receipts = (0..slots as u64)
        .map(|i| {
            let r = Receipt {
                job_id: Fr::from(i),
                node: address_of(&node),
                client: address_of(&client),
                epoch: 1,
                units: 1000 + i,
                kind: 0,
                input_commitment: Fr::from(i),
                output_commitment: Fr::from(i + 1),
            };
            (i as usize + 1, r.sign(1, &client))
        })
        .collect();
    let (bundle, tree) = EpochBundle::build(1, 1, 20, receipts).expect("valid receipts");
    let circuit = ClaimWitness::build(shape, 1, &bundle.receipts, &tree, address_of(&node), 0)
        .expect("a claim");
    println!("{shape}: {} constraints", constraint_count(shape));
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let start = Instant::now();
    let key = setup_development(shape, &mut rng).expect("setup");
    println!("setup  {:>8.2} s", start.elapsed().as_secs_f64());
    let start = Instant::now();
    let proof = prove_claim(&key, circuit, &proofmint_gpu::CpuBackend, &mut rng).expect("prove");
    println!("prove  {:>8.2} s", start.elapsed().as_secs_f64());
    let verifier = ClaimVerifier::new(key.key.clone());
    let start = Instant::now();
    verifier.verify(&proof).expect("verify");
    println!("verify {:>8.2} ms", start.elapsed().as_secs_f64() * 1e3);
}
