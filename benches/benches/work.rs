//! GEMM work proofs (commitments included): prove (the shape's proving key
//! made once, as a prover of many jobs of a shape does) and verify for square
//! shapes (32, 64 and 128 unless `PROOFMINT_BENCH_GEMM` lists others,
//! comma-separated), each beside re-executing the product, which is what a
//! verifier without the proof would do (and which needs the inputs); then
//! 64 proofs verified one by one against `WorkVerifier::verify_many`'s
//! batches (the shape's verifying key made once for both). Parameters
//! from a development setup of the same size as a Powers of Tau's.
//!
//! `cargo bench -p proofmint-benches --bench work`

use std::collections::BTreeMap;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use proofmint_work::evidence::{
    prove_gemm, prove_gemm_with, proving_key, verifying_key, WorkProof, WorkVerifier,
};
use proofmint_work::gemm::{multiply, Shape};
use proofmint_work::halo2_proofs::halo2curves::bn256::Bn256;
use proofmint_work::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use proofmint_work::npy::Matrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

fn sizes() -> Vec<usize> {
    std::env::var("PROOFMINT_BENCH_GEMM")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![32, 64, 128])
}

fn square(size: usize, rng: &mut ChaCha20Rng) -> (Shape, Matrix, Matrix) {
    let matrix = |rng: &mut ChaCha20Rng| Matrix {
        rows: size,
        columns: size,
        entries: (0..size * size).map(|_| rng.gen()).collect(),
    };
    let shape = Shape {
        m: size,
        k: size,
        n: size,
    };
    (shape, matrix(rng), matrix(rng))
}

fn gemm(c: &mut Criterion) {
    let mut group = c.benchmark_group("gemm");
    group.sample_size(10);
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for size in sizes() {
        let (shape, a, b) = square(size, &mut rng);
        let params = ParamsKZG::<Bn256>::setup(shape.circuit_log_size(), &mut rng);
        let start = std::time::Instant::now();
        let proving = proving_key(&params, shape).expect("a key");
        let made = start.elapsed();
        let (_, proof) = prove_gemm_with(&params, &proving, &a, &b, &mut rng).expect("a proof");
        let start = std::time::Instant::now();
        let key = verifying_key(&params, shape).expect("a key");
        println!(
            "gemm {size}^3: 2^{} rows, proof {} bytes; keys made once per shape: proving {made:?}, verifying {:?}",
            shape.circuit_log_size(),
            proof.proof.len(),
            start.elapsed()
        );
        let id = format!("{size}x{size}x{size}");
        group.bench_function(BenchmarkId::new("prove", &id), |bench| {
            bench.iter(|| prove_gemm_with(&params, &proving, &a, &b, &mut rng).expect("a proof"))
        });
        group.bench_function(BenchmarkId::new("verify", &id), |bench| {
            bench.iter(|| proof.verify_with(&params, &key).expect("valid"))
        });
        group.bench_function(BenchmarkId::new("re-execute", &id), |bench| {
            bench.iter(|| multiply(shape, &a.entries, &b.entries))
        });
    }
    group.finish();
}

fn batch(c: &mut Criterion) {
    let mut group = c.benchmark_group("gemm-verify-64");
    group.sample_size(10);
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let (shape, a, b) = square(32, &mut rng);
    let k = shape.circuit_log_size();
    let params = ParamsKZG::<Bn256>::setup(k, &mut rng);
    // Eight distinct proofs, each eight times: 64 proofs to check.
    let distinct: Vec<WorkProof> = (0..8)
        .map(|_| prove_gemm(&params, &a, &b, &mut rng).expect("a proof").1)
        .collect();
    let proofs: Vec<WorkProof> = distinct.iter().cycle().take(64).cloned().collect();
    let mut sizes = BTreeMap::new();
    sizes.insert(k, params.clone());
    let key = verifying_key(&params, shape).expect("a key");
    let verifier = WorkVerifier::new(sizes);
    assert!(
        verifier.verify_many(&proofs).is_empty(),
        "and the key is made"
    );
    group.bench_function("one-by-one", |bench| {
        bench.iter(|| {
            for proof in &proofs {
                proof.verify_with(&params, &key).expect("valid");
            }
        })
    });
    group.bench_function("verify_many", |bench| {
        bench.iter(|| assert!(verifier.verify_many(&proofs).is_empty()))
    });
    group.finish();
}

criterion_group!(benches, gemm, batch);
criterion_main!(benches);
