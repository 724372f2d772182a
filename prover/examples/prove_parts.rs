//! Where a one-shot proof's time goes, part by part, in this fresh process:
//! the key file read, hashed and parsed (as `proofmint prove claim` loads a
//! key this machine validated before), the claim's matrices, a full claim's
//! witness, A·z B·z C·z, the witness map of the key's form, and each of the
//! five MSMs one by one over every variable, on `CpuBackend`; then the
//! whole proof as `prove_assignment` makes it, which runs the MSMs over the
//! distinct values of the assignment. Each part runs once, after the one before, so
//! the figures add up to about a one-shot proof's time (which overlaps the
//! key load with the epoch and the matrices).
//!
//! `cargo run --release -p proofmint-prover --example prove_parts -- <keys dir>`

use std::time::Instant;

use ark_bn254::Fr;
use proofmint_gpu::{Backend, CpuBackend};
use proofmint_prover::groth16;

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("a keys directory"));
    let start = Instant::now();
    let bytes = std::fs::read(dir.join("claim.pk")).expect("claim.pk");
    println!("read {:.0} ms ({} MB)", ms(start), bytes.len() >> 20);
    let start = Instant::now();
    let (key, load) = proofmint_prover::keys::load_proving_key(
        &bytes,
        proofmint_prover::keys::validated_keys_dir().as_deref(),
    )
    .expect("a valid key");
    println!("hash and parse {:.0} ms ({load:?})", ms(start));
    drop(bytes);
    let start = Instant::now();
    let matrices = proofmint_prover::matrices::claim_matrices(key.shape()).expect("matrices");
    println!("matrices {:.0} ms", ms(start));
    let start = Instant::now();
    let (instance, witness) = proofmint_prover::sample::full_claim(key.shape())
        .witness()
        .expect("a witness");
    println!("witness {:.0} ms", ms(start));
    let assignment: Vec<Fr> = [instance.as_slice(), witness.as_slice()].concat();
    let start = Instant::now();
    drop(groth16::on_domain_all(&matrices, &assignment));
    println!("A·z, B·z, C·z {:.0} ms", ms(start));
    let cpu = CpuBackend::new();
    let start = Instant::now();
    let h = key.form.witness_map()(&cpu, &matrices, &assignment).expect("h");
    println!("witness map ({:?}) {:.0} ms", key.form, ms(start));
    let (pk, variables) = (&key.pk, &assignment[1..]);
    let start = Instant::now();
    let _ = cpu.msm_g1(&pk.h_query, &h[..pk.h_query.len()]).expect("H");
    println!("MSM H ({} points) {:.0} ms", pk.h_query.len(), ms(start));
    let start = Instant::now();
    let _ = cpu.msm_g1(&pk.l_query, &witness).expect("L");
    println!("MSM L ({} points) {:.0} ms", pk.l_query.len(), ms(start));
    let start = Instant::now();
    let _ = cpu.msm_g1(&pk.a_query[1..], variables).expect("A");
    println!("MSM A ({} points) {:.0} ms", variables.len(), ms(start));
    let start = Instant::now();
    let _ = cpu.msm_g1(&pk.b_g1_query[1..], variables).expect("B in G1");
    println!("MSM B in G1 {:.0} ms", ms(start));
    let start = Instant::now();
    let _ = cpu.msm_g2(&pk.b_g2_query[1..], variables).expect("B in G2");
    println!("MSM B in G2 {:.0} ms", ms(start));
    // The prover groups the repeated values of the assignment first and runs
    // the four MSMs over variables on the distinct ones (groth16::Repeats).
    let distinct: std::collections::HashSet<_> = variables
        .iter()
        .filter(|v| !ark_ff::Zero::is_zero(*v))
        .collect();
    println!(
        "distinct nonzero values: {} of {} variables",
        distinct.len(),
        variables.len()
    );
    let start = Instant::now();
    groth16::prove_assignment(
        pk,
        key.form,
        &matrices,
        &instance,
        &witness,
        &cpu,
        &mut rand::thread_rng(),
    )
    .expect("a proof");
    println!(
        "the whole proof as the prover makes it (witness map, grouped MSMs) {:.0} ms",
        ms(start)
    );
    println!("backend: {}", cpu.summary());
}
