//! Shared fixtures: a small epoch with several nodes, and one key per test
//! binary (setup is the slow part, so it is made once and reused).

#![allow(dead_code)]

use std::sync::OnceLock;

use alloy_primitives::Address;
use ark_bn254::Fr;
use k256::ecdsa::SigningKey;
use proofmint_circuits::claim::{ClaimCircuit, ClaimShape, ClaimWitness};
use proofmint_circuits::payment::Payments;
use proofmint_circuits::receipt::{address_of, Receipt, ReceiptDomain};
use proofmint_circuits::tree::EpochTree;
use proofmint_circuits::EpochBundle;
use proofmint_prover::{setup_development, ProvingKeyFile};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

pub const EPOCH: u64 = 9;
pub const CHAIN: u64 = 31337;
pub const REGISTRY: Address = Address::repeat_byte(0x42);
pub const DOMAIN: ReceiptDomain = ReceiptDomain {
    chain_id: CHAIN,
    verifying_contract: REGISTRY,
};
pub const SHAPE: ClaimShape = ClaimShape { slots: 4, depth: 8 };

pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32].into()).unwrap()
}

pub fn node(i: u8) -> Address {
    address_of(&key(200 + i))
}

/// Ten receipts alternating between nodes 0 and 1, signed by two clients.
pub fn signed_receipts() -> Vec<(usize, proofmint_circuits::SignedReceipt)> {
    let clients = [key(1), key(2)];
    (0..10u64)
        .map(|i| {
            let client = &clients[(i % 2) as usize];
            let r = Receipt {
                job_id: Fr::from(500 + i),
                node: node((i % 2) as u8),
                client: address_of(client),
                epoch: EPOCH,
                units: 100 * (i + 1),
                kind: 0,
                input_commitment: Fr::from(i + 1),
                output_commitment: Fr::from(i + 2),
            };
            (i as usize + 1, r.sign(&DOMAIN, client))
        })
        .collect()
}

pub fn epoch() -> (EpochBundle, EpochTree) {
    let receipts = signed_receipts();
    EpochBundle::build(EPOCH, DOMAIN, SHAPE.depth, receipts, &payments()).unwrap()
}

/// Exact payments for every receipt of [`signed_receipts`].
pub fn payments() -> Payments {
    Payments::for_receipts(signed_receipts().iter().map(|(_, r)| &r.receipt))
}

/// Node 0's claim from leaf `from`.
pub fn claim_of(node_index: u8, from: u64) -> ClaimCircuit {
    let (bundle, tree) = epoch();
    ClaimWitness::build(
        SHAPE,
        EPOCH,
        &bundle.receipts,
        &tree,
        node(node_index),
        from,
    )
    .unwrap()
}

pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// One development key of [`SHAPE`] for the whole test binary.
pub fn shared_key() -> &'static ProvingKeyFile {
    static KEY: OnceLock<ProvingKeyFile> = OnceLock::new();
    KEY.get_or_init(|| setup_development(SHAPE, &mut rng(1)).unwrap())
}
