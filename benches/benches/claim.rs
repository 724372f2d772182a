//! Claim proving and verification per preset (depth 20), plus epoch-tree
//! building. Presets run: `PROOFMINT_BENCH_SLOTS` (comma-separated, default
//! "16,64"; add 256 for the largest preset, which takes minutes per proof).
//!
//! Run: `cargo bench -p proofmint-benches --bench claim`

use std::time::Duration;

use ark_bn254::Bn254;
use ark_bn254::Fr;
use ark_groth16::Groth16;
use ark_snark::SNARK;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use proofmint_circuits::claim::{ClaimCircuit, ClaimShape};
use proofmint_circuits::tree::EpochTree;
use proofmint_gpu::CpuBackend;
use proofmint_prover::groth16;
use proofmint_prover::keys::constraint_count;
use proofmint_prover::keys::{load_proving_key, KeyLoad};
use proofmint_prover::{prove_claim, setup_development, ProvingKeyFile};
use proofmint_verifier::verify::ClaimVerifier;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

const DEPTH: usize = 20;

fn presets() -> Vec<usize> {
    std::env::var("PROOFMINT_BENCH_SLOTS")
        .unwrap_or_else(|_| "16,64".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn claim(c: &mut Criterion) {
    for slots in presets() {
        let shape = ClaimShape::new(slots, DEPTH).unwrap();
        let constraints = constraint_count(shape);
        eprintln!("claim circuit, {shape}: {constraints} constraints");
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let key = setup_development(shape, &mut rng).unwrap();
        let circuit = proofmint_prover::sample::full_claim(shape);
        assert_eq!(circuit.receipt_count(), slots);

        let mut group = c.benchmark_group("claim/prove");
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(20))
            .throughput(Throughput::Elements(constraints as u64));
        // Our prover (MSM and NTT on CpuBackend, matrices built once per key, as
        // `prove claim` runs it) against ark-groth16's, same key and witness.
        let matrices = key.matrices().unwrap();
        group.bench_function(
            BenchmarkId::new("proofmint-cpu", format!("{slots}-slots")),
            |b| {
                b.iter(|| {
                    groth16::prove_with_matrices(
                        &key.pk,
                        key.form,
                        matrices,
                        circuit.clone(),
                        &CpuBackend::new(),
                        &mut rng,
                    )
                    .unwrap()
                })
            },
        );
        // ark-groth16 with snarkjs's reduction: the key's form.
        group.bench_function(
            BenchmarkId::new("ark-groth16", format!("{slots}-slots")),
            |b| {
                b.iter(|| {
                    Groth16::<Bn254, groth16::CircomReduction>::prove(
                        &key.pk,
                        circuit.clone(),
                        &mut rng,
                    )
                    .unwrap()
                })
            },
        );
        group.finish();

        let proof = prove_claim(&key, circuit.clone(), &CpuBackend::new(), &mut rng).unwrap();
        let verifier = ClaimVerifier::new(key.key.clone());
        let mut group = c.benchmark_group("claim/verify");
        group.bench_function(
            BenchmarkId::new("proofmint-verifier", format!("{slots}-slots")),
            |b| b.iter(|| verifier.verify(&proof).unwrap()),
        );
        group.finish();
    }
}

fn tree(c: &mut Criterion) {
    let mut group = c.benchmark_group("epoch-tree/build");
    group.sample_size(10);
    for log in [10u32, 14] {
        let leaves: Vec<Fr> = (0..1u64 << log).map(Fr::from).collect();
        group.throughput(Throughput::Elements(leaves.len() as u64));
        group.bench_function(
            BenchmarkId::new("depth-20", format!("2^{log}-leaves")),
            |b| b.iter(|| EpochTree::new(DEPTH, leaves.clone()).unwrap().root()),
        );
    }
    group.finish();
}

/// One Poseidon hash, ours (partial rounds in their sparse form) against
/// light-poseidon's circom hasher, at the arities the tree (2) and the
/// receipt leaf (9) use; the same inputs, the same outputs.
fn poseidon(c: &mut Criterion) {
    use light_poseidon::{Poseidon, PoseidonHasher};
    let mut group = c.benchmark_group("poseidon/hash");
    for arity in [2usize, 9] {
        let inputs: Vec<Fr> = (0..arity as u64).map(|i| Fr::from(i * 7919 + 1)).collect();
        let mut peer = Poseidon::<Fr>::new_circom(arity).unwrap();
        assert_eq!(
            proofmint_circuits::poseidon::hash(&inputs),
            peer.hash(&inputs).unwrap()
        );
        group.bench_function(BenchmarkId::new("proofmint", arity), |b| {
            b.iter(|| proofmint_circuits::poseidon::hash(&inputs))
        });
        group.bench_function(BenchmarkId::new("light-poseidon", arity), |b| {
            b.iter(|| peer.hash(&inputs).unwrap())
        });
    }
    group.finish();
}

/// Cold-start parts of a one-shot proof: the circuit's matrices (our slot
/// template against ark-relations' constraint system), its witness (native,
/// slot by slot in parallel; the same through the gadgets, slot by slot; one
/// constraint system), and the key's load
/// (validated: every point on the curve, G2 points in the subgroup; known
/// valid: the same bytes validated on this machine before).
fn cold_start(c: &mut Criterion) {
    for slots in presets() {
        let shape = ClaimShape::new(slots, DEPTH).unwrap();
        let mut group = c.benchmark_group("claim/matrices");
        group.sample_size(10);
        group.bench_function(
            BenchmarkId::new("proofmint-template", format!("{slots}-slots")),
            |b| b.iter(|| proofmint_prover::matrices::claim_matrices(shape).unwrap()),
        );
        group.bench_function(
            BenchmarkId::new("ark-relations", format!("{slots}-slots")),
            |b| b.iter(|| groth16::ConstraintMatrices::of(ClaimCircuit::blank(shape)).unwrap()),
        );
        group.finish();

        let circuit = proofmint_prover::sample::full_claim(shape);
        let mut group = c.benchmark_group("claim/witness");
        group.sample_size(10);
        group.bench_function(
            BenchmarkId::new("proofmint-native", format!("{slots}-slots")),
            |b| b.iter(|| circuit.witness().unwrap()),
        );
        group.bench_function(
            BenchmarkId::new("proofmint-slot-synthesis", format!("{slots}-slots")),
            |b| b.iter(|| circuit.witness_by_synthesis().unwrap()),
        );
        group.bench_function(
            BenchmarkId::new("ark-relations", format!("{slots}-slots")),
            |b| {
                b.iter(|| {
                    use ark_relations::gr1cs::{
                        ConstraintSynthesizer, ConstraintSystem, SynthesisMode,
                    };
                    let cs = ConstraintSystem::<Fr>::new_ref();
                    cs.set_mode(SynthesisMode::Prove {
                        construct_matrices: false,
                        generate_lc_assignments: false,
                    });
                    circuit.clone().generate_constraints(cs.clone()).unwrap();
                    cs.witness_assignment().unwrap()
                })
            },
        );
        group.finish();

        let key = setup_development(shape, &mut ChaCha20Rng::seed_from_u64(1)).unwrap();
        let bytes = key.to_bytes();
        drop(key);
        let cache = tempfile::tempdir().unwrap();
        let mut group = c.benchmark_group("claim/load-key");
        group.sample_size(10);
        group.bench_function(
            BenchmarkId::new("validated", format!("{slots}-slots")),
            |b| b.iter(|| ProvingKeyFile::from_bytes(&bytes).unwrap()),
        );
        load_proving_key(&bytes, Some(cache.path())).unwrap();
        group.bench_function(
            BenchmarkId::new("known-valid", format!("{slots}-slots")),
            |b| {
                b.iter(|| {
                    let (key, how) = load_proving_key(&bytes, Some(cache.path())).unwrap();
                    assert_eq!(how, KeyLoad::KnownValid);
                    key
                })
            },
        );
        group.finish();
    }
}

/// A·z, B·z and C·z on a full claim's assignment, the host's part of the
/// witness map: ark-relations' rows one matrix at a time, our slot template
/// one matrix at a time, and our template for all three at once (each
/// slot's distinct combinations evaluated once).
fn evaluate(c: &mut Criterion) {
    for slots in presets() {
        let shape = ClaimShape::new(slots, DEPTH).unwrap();
        let (instance, witness) = proofmint_prover::sample::full_claim(shape)
            .witness()
            .unwrap();
        let assignment: Vec<Fr> = [instance, witness].concat();
        let ours = proofmint_prover::matrices::claim_matrices(shape).unwrap();
        let arks = groth16::ConstraintMatrices::of(ClaimCircuit::blank(shape)).unwrap();
        let mut group = c.benchmark_group("claim/evaluate");
        group.sample_size(10);
        let each = |m: &groth16::ConstraintMatrices| {
            [0, 1, 2].map(|k| groth16::on_domain(m, &assignment, k))
        };
        group.bench_function(
            BenchmarkId::new("ark-relations-rows", format!("{slots}-slots")),
            |b| b.iter(|| each(&arks)),
        );
        group.bench_function(
            BenchmarkId::new("template-each-matrix", format!("{slots}-slots")),
            |b| b.iter(|| each(&ours)),
        );
        group.bench_function(
            BenchmarkId::new("template-all-at-once", format!("{slots}-slots")),
            |b| b.iter(|| groth16::on_domain_all(&ours, &assignment)),
        );
        group.finish();
    }
}

criterion_group!(benches, poseidon, tree, claim, cold_start, evaluate);
criterion_main!(benches);
