//! Deterministic sample data for tests, benchmarks and examples: one client's
//! signed receipts for two nodes in one epoch, and a claim of the first node
//! that fills every slot of a shape. Fixed signing keys: never for production.

use alloy_primitives::Address;
use ark_bn254::Fr;
use k256::ecdsa::SigningKey;
use proofmint_circuits::claim::{ClaimCircuit, ClaimShape, ClaimWitness};
use proofmint_circuits::payment::Payments;
use proofmint_circuits::receipt::{address_of, Receipt, ReceiptDomain};
use proofmint_circuits::tree::EpochTree;
use proofmint_circuits::EpochBundle;

/// The sample epoch number and deployment.
pub const EPOCH: u64 = 1;
pub const DOMAIN: ReceiptDomain = ReceiptDomain {
    chain_id: 1,
    verifying_contract: Address::repeat_byte(0x5a),
};

fn signing_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32].into()).expect("a fixed non-zero scalar is a valid key")
}

/// An epoch tree of `depth` in which node 0 holds `held` receipts among
/// `2 * held`: receipt i (at leaf i + 1, `units` 1000 + i) is node (i mod 2)'s.
/// Returns the bundle, its tree and node 0's address.
pub fn two_node_epoch(held: usize, depth: usize) -> (EpochBundle, EpochTree, Address) {
    let client = signing_key(3);
    let nodes = [signing_key(4), signing_key(5)];
    let receipts = (0..2 * held as u64)
        .map(|i| {
            let receipt = Receipt {
                job_id: Fr::from(i),
                node: address_of(&nodes[(i % 2) as usize]),
                client: address_of(&client),
                epoch: EPOCH,
                units: 1000 + i,
                kind: 0,
                input_commitment: Fr::from(i),
                output_commitment: Fr::from(i + 1),
            };
            (i as usize + 1, receipt.sign(&DOMAIN, &client))
        })
        .collect::<Vec<_>>();
    let paid = Payments::for_receipts(receipts.iter().map(|(_, r)| &r.receipt));
    let (bundle, tree) = EpochBundle::build(EPOCH, DOMAIN, depth, receipts, &paid)
        .expect("the sample receipts are valid");
    (bundle, tree, address_of(&nodes[0]))
}

/// Node 0's claim from leaf 0 that fills every slot of `shape` (its units
/// total Σ (1000 + 2k) for k below the slot count).
pub fn full_claim(shape: ClaimShape) -> ClaimCircuit {
    let (bundle, tree, node) = two_node_epoch(shape.slots, shape.depth);
    ClaimWitness::build(shape, EPOCH, &bundle.receipts, &tree, node, 0)
        .expect("node 0 holds a receipt for every slot")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_claim_fills_every_slot() {
        let shape = ClaimShape::new(16, 8).unwrap();
        let claim = full_claim(shape);
        assert_eq!(claim.receipt_count(), 16);
        let units: u64 = (0..16).map(|k| 1000 + 2 * k).sum();
        assert_eq!(claim.public.total_units, Fr::from(units));
    }
}
