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

/// The native witness equals the constraint system's, value for value, and
/// the slot-by-slot synthesis's: full claims, partly filled claims, blank
/// circuits, and tampered claims (whose witness is still the same vector,
/// and unsatisfied).
#[test]
fn parallel_witness_equals_the_constraint_system_s() {
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
    // Values the circuit refuses, whose witness must still be the gadgets':
    // an index past the tree (its bits are truncated), indices going down,
    // units past 64 bits, an inactive slot holding values, a path element
    // changed, an active slot after an inactive one.
    let mut wild = partial(6, 0);
    wild.slots[0].index = (1 << 8) + 3;
    wild.slots[2].index = 1;
    wild.slots[3].units = -Fr::from(5u64);
    wild.slots[5].active = false;
    wild.slots[4].path[3] += Fr::from(9u64);
    let mut gap = partial(6, 0);
    gap.slots[2].active = false;
    let circuits = [
        proofmint_prover::sample::full_claim(ClaimShape::new(5, 6).unwrap()),
        proofmint_prover::sample::full_claim(ClaimShape::new(16, 20).unwrap()),
        partial(8, 0),
        partial(3, 4),
        partial(1, 0),
        ClaimCircuit::blank(ClaimShape::new(7, 5).unwrap()),
        tampered.clone(),
        wild,
        gap,
    ];
    for circuit in &circuits {
        let native = circuit.witness().unwrap();
        assert_eq!(
            native,
            circuit.witness_by_whole_synthesis().unwrap(),
            "{}",
            circuit.shape
        );
        assert_eq!(
            native,
            circuit.witness_by_synthesis().unwrap(),
            "{}",
            circuit.shape
        );
    }
    assert!(proofmint_prover::prove::check_witness(&tampered).is_err());
}

/// The template kept in a cache directory: built and written the first
/// time, read back the next, and the matrices from it are the built ones,
/// row for row. A damaged file is built again and replaced.
#[test]
fn cached_templates_give_the_same_matrices() {
    use proofmint_prover::matrices::{claim_matrices_cached, MatricesOrigin};
    let dir = tempfile::tempdir().unwrap();
    let shape = ClaimShape::new(6, 3).unwrap();
    let fresh = normalized(&claim_matrices(shape).unwrap());
    let (built, origin) = claim_matrices_cached(shape, Some(dir.path())).unwrap();
    assert_eq!(origin, MatricesOrigin::Built);
    assert_eq!(normalized(&built), fresh);
    let (read, origin) = claim_matrices_cached(shape, Some(dir.path())).unwrap();
    let MatricesOrigin::Cached(file) = origin else {
        panic!("the second start reads the template it wrote")
    };
    assert_eq!(normalized(&read), fresh);
    // Another slot count of the same depth shares the template.
    let seven = ClaimShape::new(7, 3).unwrap();
    let (other, origin) = claim_matrices_cached(seven, Some(dir.path())).unwrap();
    assert!(matches!(origin, MatricesOrigin::Cached(_)));
    assert_eq!(
        normalized(&other),
        normalized(&claim_matrices(seven).unwrap())
    );
    // A damaged file: built again, and the file replaced by a good one.
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(&file, &bytes).unwrap();
    let (rebuilt, origin) = claim_matrices_cached(shape, Some(dir.path())).unwrap();
    assert_eq!(origin, MatricesOrigin::Built);
    assert_eq!(normalized(&rebuilt), fresh);
    let (_, origin) = claim_matrices_cached(shape, Some(dir.path())).unwrap();
    assert!(matches!(origin, MatricesOrigin::Cached(_)));
}

/// A cached template that decodes but is not the circuit's (a coefficient
/// changed and the checksum made good again, as a file written by a buggy
/// build might be) gives a proof that does not verify; the prover then
/// builds the matrices from the circuit, proves again, and forgets the
/// file, so the claim is proven, and proven right.
#[test]
fn a_wrong_cached_template_costs_a_retry_not_a_claim() {
    use proofmint_prover::matrices::{claim_matrices_cached, MatricesOrigin};
    use rand::SeedableRng;
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let shape = ClaimShape::new(5, 4).unwrap();
    let (matrices, _) = claim_matrices_cached(shape, Some(dir.path())).unwrap();
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "bin"))
        .expect("the template file");
    // Coefficient 0 of the table (the first one A uses) becomes 2: every
    // row that used it now says something else.
    let mut bytes = std::fs::read(&file).unwrap();
    let body = bytes.len() - 32;
    // The table's first entry, 32 big-endian bytes after the 65 of the
    // header, the layout and the coefficient count (FORMATS.md).
    let mut two = [0u8; 32];
    two[31] = 2;
    bytes[65..97].copy_from_slice(&two);
    let digest = Sha256::digest(&bytes[..body]);
    bytes[body..].copy_from_slice(&digest);
    std::fs::write(&file, &bytes).unwrap();
    let (wrong, origin) = claim_matrices_cached(shape, Some(dir.path())).unwrap();
    assert_eq!(origin, MatricesOrigin::Cached(file.clone()));
    assert_ne!(
        normalized(&wrong),
        normalized(&matrices),
        "the file says something else"
    );

    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let key = proofmint_prover::keys::setup_development(shape, &mut rng).unwrap();
    let key = proofmint_prover::keys::ProvingKeyFile::from_bytes(&key.to_bytes()).unwrap();
    key.adopt_matrices(shape, wrong, MatricesOrigin::Cached(file.clone()));
    let circuit = proofmint_prover::sample::full_claim(shape);
    let cpu = proofmint_gpu::CpuBackend::new();
    let proof = proofmint_prover::prove::prove_claim(&key, circuit, &cpu, &mut rng).unwrap();
    proofmint_verifier::verify::ClaimVerifier::new(key.key.clone())
        .verify(&proof)
        .unwrap();
    assert_eq!(key.matrices_origin(), Some(&MatricesOrigin::Built));
    assert!(!file.exists(), "the wrong file is forgotten");
}
