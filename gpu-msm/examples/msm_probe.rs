//! Times one G1 MSM of 2^k points for every window size, and the default
//! choice against arkworks, for tuning `msm::fast_window_bits` (and, with
//! PROOFMINT_PORTABLE=1, `msm::window_bits`). The figures of record come from
//! `cargo bench -p proofmint-benches --bench msm`.
//!
//! `cargo run --release -p proofmint-gpu --example msm_probe -- 20 [FROM TO]`
//! (window sizes FROM to TO, 4 to 18 unless given; `1 0` for none). Then the
//! default choice and arkworks alternate, best of five each.

use std::time::Instant;

use ark_bn254::{Fr, G1Projective};
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::UniformRand;
use rand::SeedableRng;

fn main() {
    let log: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    let n = 1usize << log;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let step = G1Projective::rand(&mut rng);
    let mut walk = step;
    let points: Vec<G1Projective> = (0..n)
        .map(|_| {
            walk += step;
            walk
        })
        .collect();
    let bases = G1Projective::normalize_batch(&points);
    let scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
    let expected = G1Projective::msm(&bases, &scalars).expect("equal lengths");
    let bound = |i: usize, default: usize| {
        std::env::args()
            .nth(i)
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    for c in bound(2, 4)..=bound(3, 18) {
        let start = Instant::now();
        let sum = proofmint_gpu::msm::msm_g1_with_window(&bases, &scalars, c);
        println!(
            "c = {c:>2}: {:?} {}",
            start.elapsed(),
            if sum == expected { "ok" } else { "WRONG" }
        );
    }
    // Ours and arkworks alternating on the same points, best of five each, so
    // that a drift in the machine's speed reaches both alike.
    let (mut ours, mut theirs) = (f64::MAX, f64::MAX);
    for _ in 0..5 {
        let start = Instant::now();
        let sum = proofmint_gpu::msm::msm_g1(&bases, &scalars);
        ours = ours.min(start.elapsed().as_secs_f64());
        let start = Instant::now();
        let _ = G1Projective::msm(&bases, &scalars).expect("equal lengths");
        theirs = theirs.min(start.elapsed().as_secs_f64());
        assert_eq!(sum, expected);
    }
    println!(
        "2^{log}, best of 5 alternating: ours (c = {}) {ours:.3} s, arkworks {theirs:.3} s, {:.2}x",
        proofmint_gpu::msm::default_window_bits(n),
        theirs / ours
    );
}
