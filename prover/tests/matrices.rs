//! The claim circuit's matrices built slot by slot from a template equal
//! ark-relations' own, row by row (terms compared in column order), for
//! several slot counts and depths; and a proof made with them verifies.

use ark_bn254::Fr;
use proofmint_circuits::claim::{ClaimCircuit, ClaimShape};
use proofmint_prover::groth16::ConstraintMatrices;
use proofmint_prover::matrices::claim_matrices;

/// Each matrix's rows, terms in column order.
type Rows = Vec<Vec<Vec<(Fr, usize)>>>;

fn normalized(m: &ConstraintMatrices) -> (Rows, (usize, usize, usize)) {
    let constraints = m.counts().1;
    let rows = (0..3)
        .map(|matrix| {
            (0..constraints)
                .map(|r| {
                    let mut row = m.row(matrix, r);
                    row.sort_by_key(|&(_, column)| column);
                    row
                })
                .collect()
        })
        .collect();
    (rows, m.counts())
}

#[test]
fn slot_by_slot_matrices_equal_ark_relations() {
    for (slots, depth) in [(1, 4), (4, 4), (5, 4), (6, 3), (7, 8), (9, 5), (16, 20)] {
        let shape = ClaimShape::new(slots, depth).unwrap();
        let ours = claim_matrices(shape).unwrap();
        let arks = ConstraintMatrices::of(ClaimCircuit::blank(shape)).unwrap();
        let (ours, our_counts) = normalized(&ours);
        let (arks, ark_counts) = normalized(&arks);
        assert_eq!(our_counts, ark_counts, "{shape}: counts");
        for m in 0..3 {
            assert_eq!(ours[m].len(), arks[m].len(), "{shape}: matrix {m} rows");
            for (r, (a, b)) in ours[m].iter().zip(&arks[m]).enumerate() {
                assert_eq!(a, b, "{shape}: matrix {m}, row {r}");
            }
        }
        // Evaluated on an assignment, straight from the template: the same values.
        let ours = claim_matrices(shape).unwrap();
        let arks = ConstraintMatrices::of(ClaimCircuit::blank(shape)).unwrap();
        let (inputs, constraints, witnesses) = ours.counts();
        let assignment: Vec<Fr> = (0..inputs + witnesses)
            .map(|i| Fr::from(i as u64 * 7 + 3))
            .collect();
        for m in 0..3 {
            let mut a = vec![Fr::from(0u64); constraints];
            let mut b = a.clone();
            ours.evaluate(m, &assignment, &mut a);
            arks.evaluate(m, &assignment, &mut b);
            assert_eq!(a, b, "{shape}: matrix {m} evaluated");
        }
        // All three at once (each slot's distinct combinations once): the same.
        let [mut a, mut b, mut c] = [(); 3].map(|_| vec![Fr::from(0u64); constraints]);
        ours.evaluate_all(&assignment, [&mut a, &mut b, &mut c]);
        for (m, all) in [a, b, c].iter().enumerate() {
            let mut one = vec![Fr::from(0u64); constraints];
            arks.evaluate(m, &assignment, &mut one);
            assert_eq!(all, &one, "{shape}: matrix {m} evaluated with the others");
        }
    }
}

/// The slot-by-slot parallel witness equals the constraint system's, value
/// for value: full claims, partly filled claims, blank circuits, and a
/// tampered claim (whose witness is still the same vector, and unsatisfied).
#[test]
fn parallel_witness_equals_the_constraint_system_s() {
    use ark_relations::gr1cs::{
        ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisMode,
    };
    let through_cs = |circuit: &ClaimCircuit| {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Prove {
            construct_matrices: false,
            generate_lc_assignments: false,
        });
        circuit.clone().generate_constraints(cs.clone()).unwrap();
        (
            cs.instance_assignment().unwrap(),
            cs.witness_assignment().unwrap(),
        )
    };
    let (bundle, tree, node) = proofmint_prover::sample::two_node_epoch(5, 8);
    let partial = |slots: usize, from: u64| {
        proofmint_circuits::claim::ClaimWitness::build(
            ClaimShape::new(slots, 8).unwrap(),
            bundle.summary.epoch,
            &bundle.receipts,
            &tree,
            node,
            from,
        )
        .unwrap()
    };
    let mut tampered = partial(6, 0);
    tampered.slots[1].units += Fr::from(1u64);
    tampered.slots[4].index = 77;
    let circuits = [
        proofmint_prover::sample::full_claim(ClaimShape::new(5, 6).unwrap()),
        proofmint_prover::sample::full_claim(ClaimShape::new(16, 20).unwrap()),
        partial(8, 0),
        partial(3, 4),
        partial(1, 0),
        ClaimCircuit::blank(ClaimShape::new(7, 5).unwrap()),
        tampered.clone(),
    ];
    for circuit in &circuits {
        assert_eq!(
            circuit.witness().unwrap(),
            through_cs(circuit),
            "{}",
            circuit.shape
        );
    }
    assert!(proofmint_prover::prove::check_witness(&tampered).is_err());
}
