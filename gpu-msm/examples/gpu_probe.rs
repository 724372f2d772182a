//! ICICLE with data resident on its device against `CpuBackend` on the same
//! machine: G1 MSM 2^20 and 2^21, G2 MSM 2^20, NTT 2^21 and a coset NTT
//! 2^21 (offset 5, the prover's). For each: the CPU
//! backend; ICICLE with bases and scalars resident (the call alone); bases
//! resident and scalars uploaded in the call (Montgomery limbs up, converted
//! on the device); and ICICLE through the `Backend` trait (everything from
//! the host, as before). Every result is checked against the CPU backend's.
//! Best of five (three for the slow paths), after one warm-up call.
//!
//! `PROOFMINT_ICICLE_DIR=<ICICLE install> cargo run --release -p
//! proofmint-gpu --example gpu_probe [-- g1:20,g1:21,g2:20,ntt:21]`

use std::time::Instant;

use ark_bn254::{Fr, G1Projective, G2Projective};
use ark_ec::CurveGroup;
use ark_ff::{One, UniformRand};
use proofmint_gpu::icicle::{install_dir, IcicleBackend};
use proofmint_gpu::{Backend, CpuBackend, NttDirection};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;

/// n points: 64 walks of n/64 steps from random starts, in parallel.
fn points<G: CurveGroup>(n: usize, seed: u64) -> Vec<G::Affine> {
    let chunks = 64.min(n);
    let projective: Vec<G> = (0..chunks)
        .into_par_iter()
        .flat_map_iter(|c| {
            let mut rng = ChaCha20Rng::seed_from_u64(seed * 1000 + c as u64);
            let step = G::rand(&mut rng);
            let mut walk = G::rand(&mut rng);
            let len = n / chunks + usize::from(c < n % chunks);
            (0..len).map(move |_| {
                walk += step;
                walk
            })
        })
        .collect();
    G::normalize_batch(&projective)
}

fn scalars(n: usize, seed: u64) -> Vec<Fr> {
    (0..n)
        .into_par_iter()
        .chunks(1 << 14)
        .flat_map_iter(|chunk| {
            let mut rng = ChaCha20Rng::seed_from_u64(seed ^ (chunk[0] as u64) << 20);
            chunk
                .into_iter()
                .map(move |_| Fr::rand(&mut rng))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Best of `runs` after one warm-up, in milliseconds, and the last result.
fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut out = f();
    let mut best = f64::MAX;
    for _ in 0..runs {
        let start = Instant::now();
        out = f();
        best = best.min(start.elapsed().as_secs_f64() * 1e3);
    }
    (best, out)
}

fn report(what: &str, cpu: f64, resident: f64, scalars_up: f64, host: f64, ok: bool) {
    println!(
        "{what:<12} cpu {cpu:>9.2} ms | icicle resident {resident:>7.2} ms | scalars from host {scalars_up:>7.2} ms | all from host {host:>8.2} ms | cpu/resident {:>6.1}x | {}",
        cpu / resident,
        if ok { "ok" } else { "WRONG" }
    );
}

fn main() {
    let dir = install_dir(None).expect("set PROOFMINT_ICICLE_DIR");
    let icicle = IcicleBackend::load(&dir).expect("ICICLE loads");
    let cpu = CpuBackend::new();
    println!("icicle device: {}; cpu: {}", icicle.device(), cpu.summary());
    let which = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "g1:20,g1:21,g2:20,ntt:21,coset:21".into());
    let mut all_ok = true;
    for item in which.split(',') {
        let (kind, log) = item.split_once(':').expect("kind:log");
        let log: u32 = log.parse().expect("a log size");
        let n = 1usize << log;
        let s = scalars(n, u64::from(log));
        let label = format!("{kind} 2^{log}");
        match kind {
            "g1" => {
                let bases = points::<G1Projective>(n, 1);
                let (cpu_ms, expected) = best(3, || cpu.msm_g1(&bases, &s).unwrap());
                let on_device = icicle.upload_g1(&bases).unwrap();
                let up = icicle.upload_scalars(&s).unwrap();
                let (resident, got) = best(5, || {
                    icicle.msm_g1_resident(on_device.all(), up.all()).unwrap()
                });
                let (scalars_up, got_up) = best(5, || {
                    let up = icicle.upload_scalars(&s).unwrap();
                    icicle.msm_g1_resident(on_device.all(), up.all()).unwrap()
                });
                let (host, got_host) = best(3, || icicle.msm_g1(&bases, &s).unwrap());
                let ok = got == expected && got_up == expected && got_host == expected;
                all_ok &= ok;
                report(&label, cpu_ms, resident, scalars_up, host, ok);
            }
            "g2" => {
                let bases = points::<G2Projective>(n, 2);
                let (cpu_ms, expected) = best(3, || cpu.msm_g2(&bases, &s).unwrap());
                let on_device = icicle.upload_g2(&bases).unwrap();
                let up = icicle.upload_scalars(&s).unwrap();
                let (resident, got) = best(5, || {
                    icicle.msm_g2_resident(on_device.all(), up.all()).unwrap()
                });
                let (scalars_up, got_up) = best(5, || {
                    let up = icicle.upload_scalars(&s).unwrap();
                    icicle.msm_g2_resident(on_device.all(), up.all()).unwrap()
                });
                let (host, got_host) = best(3, || icicle.msm_g2(&bases, &s).unwrap());
                let ok = got == expected && got_up == expected && got_host == expected;
                all_ok &= ok;
                report(&label, cpu_ms, resident, scalars_up, host, ok);
            }
            "ntt" | "coset" => {
                let offset = if kind == "coset" {
                    Fr::from(5u64)
                } else {
                    Fr::one()
                };
                let (cpu_ms, expected) = best(3, || {
                    let mut v = s.clone();
                    cpu.coset_ntt(&mut v, offset, NttDirection::Forward)
                        .unwrap();
                    v
                });
                let input = icicle.upload_scalars(&s).unwrap();
                let mut output = icicle.allocate(n).unwrap();
                let (resident, ()) = best(5, || {
                    icicle
                        .ntt_resident(&input, &mut output, offset, NttDirection::Forward)
                        .unwrap()
                });
                let got = icicle.download_scalars(&output).unwrap();
                let (scalars_up, ()) = best(5, || {
                    let input = icicle.upload_scalars(&s).unwrap();
                    icicle
                        .ntt_resident(&input, &mut output, offset, NttDirection::Forward)
                        .unwrap()
                });
                let (host, got_host) = best(3, || {
                    let mut v = s.clone();
                    icicle
                        .coset_ntt(&mut v, offset, NttDirection::Forward)
                        .unwrap();
                    v
                });
                let ok = got == expected && got_host == expected;
                all_ok &= ok;
                report(&label, cpu_ms, resident, scalars_up, host, ok);
            }
            other => panic!("unknown kind {other}"),
        }
    }
    assert!(all_ok, "a result differs from the CPU backend's");
}
