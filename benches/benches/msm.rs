//! G1 MSM: `CpuBackend` against `ark_ec::VariableBaseMSM::msm` on the same
//! random points and scalars, at 2^16, 2^18 and 2^20 points (override with
//! `PROOFMINT_BENCH_MSM_LOGS`, comma-separated), `CpuBackend` once per
//! arithmetic this CPU has (`proofmint-ifma`, `proofmint-adx` for MULX/ADX,
//! what a CPU without IFMA runs, `proofmint-portable` for arkworks' products
//! on any CPU). Then G2 MSM at 2^16
//! and 2^18 (the prover's largest single MSM is in G2), and the G2 subgroup
//! check of 2^16 points (most of a proving key's loading time), batched and
//! one by one (the path of CPUs without IFMA), against
//! arkworks' per-point test, on all cores.
//!
//! With `PROOFMINT_ICICLE_DIR` naming an ICICLE install, ICICLE joins the group.
//!
//! Run: `cargo bench -p proofmint-benches --bench msm`

use ark_bn254::{Fr, G1Projective, G2Projective};
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::UniformRand;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use proofmint_gpu::icicle::{install_dir, IcicleBackend};
use proofmint_gpu::{Backend, CpuBackend};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;

fn logs() -> Vec<u32> {
    std::env::var("PROOFMINT_BENCH_MSM_LOGS")
        .unwrap_or_else(|_| "16,18,20".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// ICICLE's backend, when `PROOFMINT_ICICLE_DIR` names an install.
fn icicle() -> Option<IcicleBackend> {
    install_dir(None).and_then(|dir| IcicleBackend::load(&dir).ok())
}

fn msm(c: &mut Criterion) {
    let icicle = icicle();
    let mut group = c.benchmark_group("msm-g1");
    group.sample_size(10);
    for log in logs() {
        let n = 1usize << log;
        let bases = random_points::<G1Projective>(n, 1);
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        let expected = G1Projective::msm(&bases, &scalars).unwrap();
        group.throughput(Throughput::Elements(n as u64));
        for cpu in CpuBackend::every_path() {
            assert_eq!(
                cpu.msm_g1(&bases, &scalars).unwrap(),
                expected,
                "{}",
                cpu.summary()
            );
            let id = format!("proofmint-{}", cpu.arithmetic_tag());
            group.bench_function(BenchmarkId::new(id, format!("2^{log}")), |b| {
                b.iter(|| cpu.msm_g1(&bases, &scalars).unwrap())
            });
        }
        group.bench_function(BenchmarkId::new("arkworks", format!("2^{log}")), |b| {
            b.iter(|| G1Projective::msm(&bases, &scalars).unwrap())
        });
        if let Some(icicle) = &icicle {
            assert_eq!(
                icicle.msm_g1(&bases, &scalars).unwrap(),
                G1Projective::msm(&bases, &scalars).unwrap()
            );
            group.bench_function(
                BenchmarkId::new(icicle.name().to_string(), format!("2^{log}")),
                |b| b.iter(|| icicle.msm_g1(&bases, &scalars).unwrap()),
            );
        }
    }
    group.finish();
}

/// n points from 64 random ones and small multiples of them (cheap to make,
/// and unrelated enough for an MSM's buckets).
fn random_points<G: CurveGroup<ScalarField = Fr>>(n: usize, seed: u64) -> Vec<G::Affine> {
    let step: Vec<G> = {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        (0..64).map(|_| G::rand(&mut rng)).collect()
    };
    let points: Vec<G> = (0..n)
        .into_par_iter()
        .map(|i| step[i % 64] * Fr::from(i as u64 + 1))
        .collect();
    G::normalize_batch(&points)
}

fn msm_g2(c: &mut Criterion) {
    let mut group = c.benchmark_group("msm-g2");
    group.sample_size(10);
    for log in [16u32, 18] {
        let n = 1usize << log;
        let bases = random_points::<G2Projective>(n, 3);
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        let expected = G2Projective::msm(&bases, &scalars).unwrap();
        group.throughput(Throughput::Elements(n as u64));
        for cpu in CpuBackend::every_path() {
            assert_eq!(
                cpu.msm_g2(&bases, &scalars).unwrap(),
                expected,
                "{}",
                cpu.summary()
            );
            let id = format!("proofmint-{}", cpu.arithmetic_tag());
            group.bench_function(BenchmarkId::new(id, format!("2^{log}")), |b| {
                b.iter(|| cpu.msm_g2(&bases, &scalars).unwrap())
            });
        }
        group.bench_function(BenchmarkId::new("arkworks", format!("2^{log}")), |b| {
            b.iter(|| G2Projective::msm(&bases, &scalars).unwrap())
        });
    }
    group.finish();
}

fn g2_subgroup(c: &mut Criterion) {
    let mut group = c.benchmark_group("g2-subgroup-check");
    group.sample_size(10);
    let n = 1usize << 16;
    let points = random_points::<G2Projective>(n, 3);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function(BenchmarkId::new("proofmint", "2^16"), |b| {
        b.iter(|| proofmint_gpu::subgroup::check_g2_subgroup(&points).unwrap())
    });
    group.bench_function(BenchmarkId::new("proofmint-exact", "2^16"), |b| {
        b.iter(|| proofmint_gpu::subgroup::check_g2_subgroup_exact(&points).unwrap())
    });
    group.bench_function(BenchmarkId::new("proofmint-one-by-one", "2^16"), |b| {
        b.iter(|| proofmint_gpu::subgroup::check_g2_subgroup_portable(&points).unwrap())
    });
    group.bench_function(BenchmarkId::new("arkworks-per-point", "2^16"), |b| {
        b.iter(|| {
            assert!(points
                .par_iter()
                .all(|p| p.is_in_correct_subgroup_assuming_on_curve()))
        })
    });
    group.finish();
}

criterion_group!(benches, msm, msm_g2, g2_subgroup);
criterion_main!(benches);
