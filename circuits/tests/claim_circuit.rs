//! The claim circuit against honest and cheating witnesses, checked for
//! satisfiability (the proof-level checks are in the prover's tests).

use alloy_primitives::Address;
use ark_bn254::Fr;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
use k256::ecdsa::SigningKey;
use proofmint_circuits::claim::{ClaimCircuit, ClaimShape, ClaimWitness, SlotAssignment};
use proofmint_circuits::field::address_to_fr;
use proofmint_circuits::payment::Payments;
use proofmint_circuits::receipt::{address_of, Receipt, ReceiptDomain};
use proofmint_circuits::tree::EpochTree;
use proofmint_circuits::{poseidon, EpochBundle};

const EPOCH: u64 = 5;
const DOMAIN: ReceiptDomain = ReceiptDomain {
    chain_id: 31337,
    verifying_contract: Address::repeat_byte(0x42),
};
const SHAPE: ClaimShape = ClaimShape { slots: 4, depth: 6 };

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32].into()).unwrap()
}

fn node(i: u8) -> Address {
    address_of(&key(100 + i))
}

/// Twelve receipts alternating between nodes 0, 1 and 2.
fn epoch() -> (EpochBundle, EpochTree) {
    let client = key(1);
    let receipts = (0..12u64)
        .map(|i| {
            let r = Receipt {
                job_id: Fr::from(1000 + i),
                node: node((i % 3) as u8),
                client: address_of(&client),
                epoch: EPOCH,
                units: 10 + i,
                kind: 1,
                input_commitment: Fr::from(i),
                output_commitment: Fr::from(i * i),
            };
            (i as usize + 1, r.sign(&DOMAIN, &client))
        })
        .collect::<Vec<_>>();
    let paid = Payments::for_receipts(receipts.iter().map(|(_, r)| &r.receipt));
    EpochBundle::build(EPOCH, DOMAIN, SHAPE.depth, receipts, &paid).unwrap()
}

fn honest() -> (ClaimCircuit, EpochBundle, EpochTree) {
    let (bundle, tree) = epoch();
    let circuit = ClaimWitness::build(SHAPE, EPOCH, &bundle.receipts, &tree, node(0), 0).unwrap();
    (circuit, bundle, tree)
}

fn satisfied(circuit: ClaimCircuit) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    circuit.generate_constraints(cs.clone()).unwrap();
    cs.is_satisfied().unwrap()
}

#[test]
fn honest_claim_is_satisfied() {
    let (circuit, _, _) = honest();
    // Node 0 holds leaves 0, 3, 6, 9 with units 10, 13, 16, 19.
    assert_eq!(circuit.receipt_count(), 4);
    assert_eq!(circuit.public.total_units, Fr::from(58u64));
    assert_eq!(circuit.public.first_index, Fr::from(0u64));
    assert_eq!(circuit.public.last_index, Fr::from(9u64));
    assert!(satisfied(circuit));
}

#[test]
fn partial_claim_with_empty_slots_is_satisfied() {
    let (bundle, tree) = epoch();
    // From index 7 node 0 has only leaf 9 left: one active slot, three empty.
    let circuit = ClaimWitness::build(SHAPE, EPOCH, &bundle.receipts, &tree, node(0), 7).unwrap();
    assert_eq!(circuit.receipt_count(), 1);
    assert_eq!(circuit.public.first_index, circuit.public.last_index);
    assert!(satisfied(circuit));
}

#[test]
fn every_public_input_is_bound() {
    let (circuit, _, _) = honest();
    for which in 0..6 {
        let mut tampered = circuit.clone();
        let mut inputs = tampered.public.to_inputs();
        inputs[which] += Fr::from(1u64);
        tampered.public = proofmint_circuits::ClaimPublic::from_inputs(&inputs);
        assert!(
            !satisfied(tampered),
            "public input {which} altered but still satisfied"
        );
    }
}

#[test]
fn receipt_of_another_node_fails() {
    let (mut circuit, bundle, tree) = honest();
    // Put node 1's receipt at leaf 4 in place of node 0's leaf 3.
    circuit.slots[1] = SlotAssignment::active(&bundle.receipts[4], 4, tree.path(4).unwrap());
    circuit.public.total_units += Fr::from(1u64); // 14 instead of 13, so only the node check can fail
    assert!(!satisfied(circuit.clone()));
    // The same claim made as node 1 does not satisfy either: the other slots name node 0.
    circuit.public.node = address_to_fr(&node(1));
    assert!(!satisfied(circuit));
}

#[test]
fn receipt_of_another_epoch_fails() {
    let (mut circuit, _, _) = honest();
    circuit.public.epoch = Fr::from(EPOCH + 1);
    assert!(!satisfied(circuit));
}

#[test]
fn leaf_not_in_tree_fails() {
    let (mut circuit, _, _) = honest();
    circuit.slots[2].job_id += Fr::from(1u64);
    assert!(!satisfied(circuit.clone()));
    let (mut wrong_path, _, _) = honest();
    wrong_path.slots[2].path[3] += Fr::from(1u64);
    assert!(!satisfied(wrong_path));
    // A right leaf at a wrong index (same path) does not open either.
    circuit = honest().0;
    circuit.slots[3].index ^= 1;
    assert!(!satisfied(circuit));
}

#[test]
fn same_leaf_twice_fails() {
    let (mut circuit, _, _) = honest();
    circuit.slots[2] = circuit.slots[1].clone();
    circuit.public.total_units = Fr::from(10u64 + 13 + 13 + 19);
    assert!(!satisfied(circuit));
}

#[test]
fn indices_out_of_order_fail() {
    let (mut circuit, _, _) = honest();
    circuit.slots.swap(1, 2);
    assert!(!satisfied(circuit));
}

#[test]
fn units_past_2_pow_64_fail() {
    // A tree that (wrongly) holds a leaf with units = 2^64 + 5: the range check refuses it.
    let (bundle, _) = epoch();
    let mut leaves: Vec<Fr> = bundle.receipts.iter().map(|r| r.receipt.leaf()).collect();
    let big_units = Fr::from(u64::MAX) + Fr::from(6u64);
    let mut inputs = bundle.receipts[0].receipt.leaf_inputs();
    inputs[5] = big_units;
    leaves[0] = poseidon::hash(&inputs);
    let tree = EpochTree::new(SHAPE.depth, leaves).unwrap();
    let mut circuit =
        ClaimWitness::build(SHAPE, EPOCH, &bundle.receipts, &tree, node(0), 0).unwrap();
    circuit.slots[0].units = big_units;
    circuit.public.total_units = big_units + Fr::from(13u64 + 16 + 19);
    assert!(!satisfied(circuit));
}

#[test]
fn wrong_total_fails() {
    let (mut circuit, _, _) = honest();
    circuit.public.total_units -= Fr::from(1u64);
    assert!(!satisfied(circuit));
}

#[test]
fn hole_before_an_active_slot_fails() {
    let (mut circuit, _, _) = honest();
    circuit.slots[1].active = false;
    circuit.public.total_units -= Fr::from(13u64);
    assert!(!satisfied(circuit));
}

#[test]
fn no_active_slot_fails() {
    let (mut circuit, _, _) = honest();
    for slot in &mut circuit.slots {
        slot.active = false;
    }
    circuit.public.total_units = Fr::from(0u64);
    assert!(!satisfied(circuit));
}

#[test]
fn last_index_must_be_the_last_active_slot() {
    let (bundle, tree) = epoch();
    let mut circuit =
        ClaimWitness::build(SHAPE, EPOCH, &bundle.receipts, &tree, node(0), 1).unwrap();
    // Leaves 3, 6, 9 are active; claiming lastIndex 6 (a middle one) must fail.
    assert_eq!(circuit.receipt_count(), 3);
    circuit.public.last_index = Fr::from(6u64);
    assert!(!satisfied(circuit));
}

#[test]
fn blank_circuit_has_the_same_shape_as_a_real_one() {
    let count = |c: ClaimCircuit| {
        let cs = ConstraintSystem::<Fr>::new_ref();
        c.generate_constraints(cs.clone()).unwrap();
        (
            cs.num_constraints(),
            cs.num_instance_variables(),
            cs.num_witness_variables(),
        )
    };
    assert_eq!(count(ClaimCircuit::blank(SHAPE)), count(honest().0));
}
