//! The claim circuit attacked directly: an honest assignment is built, then one
//! variable at a time is changed in the constraint system's own assignment, as
//! a malicious prover would, and the system must be unsatisfied. Every witness
//! variable of a claim with an inactive slot is tried (active flags, index,
//! gap and units bits, path directions, siblings, receipt fields, every
//! Poseidon round of every slot, the inactive slot's values), then every
//! public input.

use alloy_primitives::Address;
use ark_bn254::Fr;
use ark_ff::{One, Zero};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, OptimizationGoal, SynthesisMode,
};
use k256::ecdsa::SigningKey;
use proofmint_circuits::claim::{ClaimCircuit, ClaimShape, ClaimWitness};
use proofmint_circuits::payment::Payments;
use proofmint_circuits::receipt::{address_of, Receipt, ReceiptDomain};
use proofmint_circuits::{EpochBundle, EpochTree};

const EPOCH: u64 = 4;
/// Three slots, two of node 0's receipts: the third slot is inactive.
const SHAPE: ClaimShape = ClaimShape { slots: 3, depth: 3 };

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32].into()).unwrap()
}

fn node(i: u8) -> Address {
    address_of(&key(100 + i))
}

fn epoch() -> (EpochBundle, EpochTree) {
    let client = key(1);
    let domain = ReceiptDomain::new(31337, Address::repeat_byte(0x42));
    let receipts: Vec<_> = (0..5u64)
        .map(|i| {
            let r = Receipt {
                job_id: Fr::from(77 + i),
                node: node(u8::from(i == 1 || i == 3)), // node 0 at leaves 0, 2, 4
                client: address_of(&client),
                epoch: EPOCH,
                units: 1000 + i,
                kind: 2,
                input_commitment: Fr::from(3 * i),
                output_commitment: Fr::from(5 * i),
            };
            (i as usize, r.sign(&domain, &client))
        })
        .collect();
    let paid = Payments::for_receipts(receipts.iter().map(|(_, r)| &r.receipt));
    EpochBundle::build(EPOCH, domain, SHAPE.depth, receipts, &paid).unwrap()
}

/// Node 0's claim from leaf 2: leaves 2 and 4 active, slot 3 inactive.
fn honest() -> ClaimCircuit {
    let (bundle, tree) = epoch();
    let circuit = ClaimWitness::build(SHAPE, EPOCH, &bundle.receipts, &tree, node(0), 1).unwrap();
    assert_eq!(circuit.receipt_count(), 2, "one slot stays inactive");
    circuit
}

/// The honest assignment, with linear combinations inlined into the constraints
/// and no cached LC values, so that changing a variable changes every
/// constraint that reads it.
fn synthesized(circuit: ClaimCircuit) -> ConstraintSystemRef<Fr> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Prove {
        construct_matrices: true,
        generate_lc_assignments: false,
    });
    circuit.generate_constraints(cs.clone()).unwrap();
    cs.finalize();
    assert!(
        cs.is_satisfied().unwrap(),
        "the honest assignment satisfies"
    );
    cs
}

/// A value other than `x`: a flipped bit for a boolean, `x + 1` otherwise.
fn altered(x: Fr) -> Fr {
    if x.is_zero() {
        Fr::one()
    } else if x.is_one() {
        Fr::zero()
    } else {
        x + Fr::one()
    }
}

/// The finalized system as R1CS matrices over `z = (instance, witness)`, with
/// the rows that read each variable: a change to one variable can only break
/// the rows that read it, so those are the rows checked.
struct R1cs {
    matrices: Vec<Vec<Vec<(Fr, usize)>>>,
    z: Vec<Fr>,
    instance: usize,
    rows_of: Vec<Vec<usize>>,
}

impl R1cs {
    fn of(cs: &ConstraintSystemRef<Fr>) -> Self {
        let mut all = cs.to_matrices().unwrap();
        let matrices = all
            .remove(ark_relations::gr1cs::R1CS_PREDICATE_LABEL)
            .unwrap();
        assert_eq!(matrices.len(), 3, "A, B and C");
        let instance = cs.instance_assignment().unwrap();
        let mut z = instance.clone();
        z.extend(cs.witness_assignment().unwrap());
        let mut rows_of = vec![Vec::new(); z.len()];
        for m in &matrices {
            for (r, row) in m.iter().enumerate() {
                for &(_, col) in row {
                    rows_of[col].push(r);
                }
            }
        }
        for rows in &mut rows_of {
            rows.sort_unstable();
            rows.dedup();
        }
        let system = Self {
            matrices,
            z,
            instance: instance.len(),
            rows_of,
        };
        let every_row: Vec<usize> = (0..system.matrices[0].len()).collect();
        assert!(
            system.holds(&system.z, &every_row),
            "the honest assignment satisfies every row"
        );
        system
    }

    fn holds(&self, z: &[Fr], rows: &[usize]) -> bool {
        let eval =
            |m: usize, r: usize| -> Fr { self.matrices[m][r].iter().map(|&(c, i)| c * z[i]).sum() };
        rows.iter().all(|&r| eval(0, r) * eval(1, r) == eval(2, r))
    }

    /// Whether the system still holds with variable `i` of `z` set to `value`.
    fn holds_with(&self, i: usize, value: Fr) -> bool {
        let mut z = self.z.clone();
        z[i] = value;
        self.holds(&z, &self.rows_of[i])
    }
}

#[test]
fn changing_any_one_witness_variable_breaks_the_claim() {
    let cs = synthesized(honest());
    let system = R1cs::of(&cs);
    let witnesses = system.z.len() - system.instance;
    assert!(witnesses > 1000, "{witnesses} witness variables");
    let free: Vec<usize> = (system.instance..system.z.len())
        .filter(|&i| system.holds_with(i, altered(system.z[i])))
        .collect();
    assert!(
        free.is_empty(),
        "{} of {witnesses} witness variables can change without breaking a constraint: {:?}",
        free.len(),
        &free[..free.len().min(20)]
    );
    // The same, cross-checked through the constraint system itself for a sample.
    for i in (0..witnesses).step_by(97) {
        let original = cs.witness_assignment().unwrap()[i];
        cs.borrow_mut().unwrap().assignments.witness_assignment[i] = altered(original);
        assert!(!cs.is_satisfied().unwrap(), "witness variable {i}");
        cs.borrow_mut().unwrap().assignments.witness_assignment[i] = original;
    }
}

#[test]
fn the_honest_witness_satisfies_no_other_public_inputs() {
    let cs = synthesized(honest());
    let system = R1cs::of(&cs);
    // Variable 0 is the constant one; then root, epoch, node, totalUnits, firstIndex, lastIndex.
    assert_eq!(system.instance, 7);
    for i in 1..system.instance {
        for delta in [Fr::one(), -Fr::one(), Fr::from(1u64 << 40)] {
            assert!(
                !system.holds_with(i, system.z[i] + delta),
                "public input {i} moved by {delta} and the witness still satisfies"
            );
            let original = system.z[i];
            cs.borrow_mut().unwrap().assignments.instance_assignment[i] = original + delta;
            assert!(
                !cs.is_satisfied().unwrap(),
                "public input {i} (constraint system)"
            );
            cs.borrow_mut().unwrap().assignments.instance_assignment[i] = original;
        }
    }
}

/// Whether `circuit` is satisfied when synthesized as given (every dependent
/// variable computed honestly from the altered inputs).
fn satisfied(circuit: ClaimCircuit) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    match circuit.generate_constraints(cs.clone()) {
        Ok(()) => cs.is_satisfied().unwrap(),
        Err(_) => false,
    }
}

#[test]
fn a_prover_choosing_any_slot_value_consistently_is_caught() {
    let honest = honest();
    assert!(satisfied(honest.clone()));
    let mut attempts = 0;
    for slot in 0..SHAPE.slots {
        let mut tries: Vec<(String, ClaimCircuit)> = Vec::new();
        let mut with = |name: &str, edit: &dyn Fn(&mut proofmint_circuits::SlotAssignment)| {
            let mut c = honest.clone();
            edit(&mut c.slots[slot]);
            tries.push((format!("slot {slot}: {name}"), c));
        };
        with("active flag", &|s| s.active = !s.active);
        with("index + 1", &|s| s.index += 1);
        with("index bit flipped", &|s| s.index ^= 1 << (SHAPE.depth - 1));
        with("units + 1", &|s| s.units += Fr::one());
        with("units + 2^64", &|s| {
            s.units += Fr::from(u64::MAX) + Fr::one()
        });
        with("jobId", &|s| s.job_id = altered(s.job_id));
        with("client", &|s| s.client = altered(s.client));
        with("kind", &|s| s.kind = altered(s.kind));
        with("input commitment", &|s| {
            s.input_commitment = altered(s.input_commitment)
        });
        with("output commitment", &|s| {
            s.output_commitment = altered(s.output_commitment)
        });
        for level in 0..SHAPE.depth {
            with(&format!("sibling {level}"), &|s| {
                s.path[level] = altered(s.path[level])
            });
        }
        for (name, circuit) in tries {
            attempts += 1;
            assert!(!satisfied(circuit), "{name}: the altered witness satisfies");
        }
    }
    assert_eq!(attempts, SHAPE.slots * (10 + SHAPE.depth));
}
