//! Warm claim proofs with the key resident on ICICLE's device against the
//! CPU backend on the same machine, for the preset shapes (depth 20): a
//! development key is set up in the process, its matrices built, the key
//! uploaded once; then each proof is what `prove_claim` does for a prover
//! that keeps its key: witness, proof, self-check. The seeded device proof
//! is checked to be the host's proof, byte for byte.
//!
//! `PROOFMINT_ICICLE_DIR=<ICICLE install> cargo run --release -p
//! proofmint-prover --example gpu_claim [-- 64,256]`

use std::time::Instant;

use ark_bn254::Fr;
use proofmint_circuits::claim::ClaimShape;
use proofmint_gpu::icicle::{install_dir, IcicleBackend};
use proofmint_gpu::CpuBackend;
use proofmint_prover::resident::{prove_assignment_resident, witness_map_resident};
use proofmint_prover::{groth16, prove_claim, sample, setup_development};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

fn main() {
    let dir = install_dir(None).expect("set PROOFMINT_ICICLE_DIR");
    let icicle = IcicleBackend::load(&dir).expect("ICICLE loads");
    let cpu = CpuBackend::new();
    println!("icicle device: {}; cpu: {}", icicle.device(), cpu.summary());
    let presets = std::env::args().nth(1).unwrap_or_else(|| "64,256".into());
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    for slots in presets
        .split(',')
        .map(|s| s.parse::<usize>().expect("slots"))
    {
        let shape = ClaimShape::new(slots, 20).expect("a shape");
        let start = Instant::now();
        let key = setup_development(shape, &mut rng).expect("setup");
        let setup = ms(start);
        let start = Instant::now();
        let matrices = key.matrices().expect("matrices");
        let matrices_ms = ms(start);
        let circuit = sample::full_claim(shape);
        println!("{slots} slots: setup {setup:.0} ms, matrices {matrices_ms:.0} ms");

        let cpu_runs: Vec<f64> = (0..2)
            .map(|_| {
                let start = Instant::now();
                prove_claim(&key, circuit.clone(), &cpu, &mut rng).expect("a CPU proof");
                ms(start)
            })
            .collect();
        let start = Instant::now();
        let resident = key
            .resident_on(&icicle)
            .expect("the key fits on the device");
        println!(
            "{slots} slots: key upload {:.0} ms ({} MiB on the device)",
            ms(start),
            resident.bytes() >> 20
        );
        let gpu_runs: Vec<f64> = (0..6)
            .map(|_| {
                let start = Instant::now();
                prove_claim(&key, circuit.clone(), &icicle, &mut rng).expect("a GPU proof");
                ms(start)
            })
            .collect();

        // Where a device proof's time goes, and the same bytes as the host's.
        let start = Instant::now();
        let (instance, witness) = circuit.clone().witness().expect("a witness");
        let witness_ms = ms(start);
        let assignment: Vec<Fr> = [instance.as_slice(), witness.as_slice()].concat();
        // Into vectors kept from an earlier evaluation, as a warm prover does.
        let mut evaluations = groth16::on_domain_all(matrices, &assignment);
        let start = Instant::now();
        groth16::on_domain_all_into(matrices, &assignment, &mut evaluations);
        let eval_ms = ms(start);
        let start = Instant::now();
        for values in &evaluations {
            icicle.upload_scalars(values).expect("an upload");
        }
        let upload_ms = ms(start);
        drop(evaluations);
        let start = Instant::now();
        let h = witness_map_resident(&icicle, matrices, &assignment, key.form)
            .expect("h on the device");
        let map_ms = ms(start);
        drop(h);
        let seeded = || ChaCha20Rng::seed_from_u64(77);
        let start = Instant::now();
        let proof = prove_assignment_resident(
            &key.pk,
            &resident,
            matrices,
            &instance,
            &witness,
            &mut seeded(),
        )
        .expect("a device proof");
        let proof_ms = ms(start);
        let host = groth16::prove_assignment(
            &key.pk,
            key.form,
            matrices,
            &instance,
            &witness,
            &cpu,
            &mut seeded(),
        )
        .expect("a host proof");
        let same = proof == host;
        let fmt = |runs: &[f64]| {
            runs.iter()
                .map(|t| format!("{t:.1}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!(
            "{slots} slots: warm prove_claim, cpu backend: {} ms",
            fmt(&cpu_runs)
        );
        println!(
            "{slots} slots: warm prove_claim, icicle resident: {} ms",
            fmt(&gpu_runs)
        );
        println!(
            "{slots} slots: parts: witness {witness_ms:.1} ms; witness map {map_ms:.1} ms, of which A·z, B·z, C·z on the host {eval_ms:.1} ms and their upload {upload_ms:.1} ms; device proof (map and MSMs overlapped, blinding) {proof_ms:.1} ms; seeded proof equals the host's: {same}"
        );
        assert!(same, "the device proof differs from the host's");
    }
}
