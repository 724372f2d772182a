//! NTT: `CpuBackend` against `ark_poly`'s radix-2 domain on the same inputs,
//! forward transforms at 2^16 to 2^22 (override with `PROOFMINT_BENCH_NTT_LOGS`).
//! `CpuBackend` runs once per arithmetic this CPU has
//! (`CpuBackend::every_path`): `proofmint-ifma` (AVX-512 IFMA lanes),
//! `proofmint-adx` (MULX/ADX assembly, what a CPU without IFMA runs) and
//! `proofmint-portable` (arkworks' products, any CPU).
//!
//! With `PROOFMINT_ICICLE_DIR` naming an ICICLE install, ICICLE joins the group.
//!
//! Run: `cargo bench -p proofmint-benches --bench ntt`

use ark_bn254::Fr;
use ark_ff::UniformRand;
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use proofmint_gpu::icicle::{install_dir, IcicleBackend};
use proofmint_gpu::{Backend, CpuBackend, NttDirection};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn logs() -> Vec<u32> {
    std::env::var("PROOFMINT_BENCH_NTT_LOGS")
        .unwrap_or_else(|_| "16,18,20,22".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn ntt(c: &mut Criterion) {
    let icicle = install_dir(None).and_then(|dir| IcicleBackend::load(&dir).ok());
    let mut group = c.benchmark_group("ntt-forward");
    group.sample_size(10);
    for log in logs() {
        let n = 1usize << log;
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let values: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        let domain = Radix2EvaluationDomain::<Fr>::new(n).unwrap();
        let expected = domain.fft(&values);
        group.throughput(Throughput::Elements(n as u64));
        for cpu in CpuBackend::every_path() {
            let mut ours = values.clone();
            cpu.ntt(&mut ours, NttDirection::Forward).unwrap();
            assert_eq!(ours, expected, "{}", cpu.summary());
            let id = format!("proofmint-{}", cpu.arithmetic_tag());
            group.bench_function(BenchmarkId::new(id, format!("2^{log}")), |b| {
                b.iter_batched_ref(
                    || values.clone(),
                    |v| cpu.ntt(v, NttDirection::Forward).unwrap(),
                    BatchSize::LargeInput,
                )
            });
        }
        group.bench_function(
            BenchmarkId::new("ark-poly-radix2", format!("2^{log}")),
            |b| {
                b.iter_batched_ref(
                    || values.clone(),
                    |v| domain.fft_in_place(v),
                    BatchSize::LargeInput,
                )
            },
        );
        if let Some(icicle) = &icicle {
            let mut theirs = values.clone();
            icicle.ntt(&mut theirs, NttDirection::Forward).unwrap();
            assert_eq!(theirs, expected);
            group.bench_function(
                BenchmarkId::new(icicle.name().to_string(), format!("2^{log}")),
                |b| {
                    b.iter_batched_ref(
                        || values.clone(),
                        |v| icicle.ntt(v, NttDirection::Forward).unwrap(),
                        BatchSize::LargeInput,
                    )
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, ntt);
criterion_main!(benches);
