//! Times one forward NTT of 2^k (ours and ark-poly's) for quick tuning;
//! the figures of record come from `cargo bench -p proofmint-benches --bench ntt`.
use std::time::Instant;

use ark_bn254::Fr;
use ark_ff::UniformRand;
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use proofmint_gpu::{ntt, NttDirection};
use rand::SeedableRng;

fn main() {
    let log: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let n = 1usize << log;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let values: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
    let domain = Radix2EvaluationDomain::<Fr>::new(n).expect("a power of two");
    let mut expected = values.clone();
    domain.fft_in_place(&mut expected);
    for _ in 0..3 {
        let mut ours = values.clone();
        let start = Instant::now();
        ntt::ntt(&mut ours, NttDirection::Forward).expect("a power of two");
        let ours_time = start.elapsed();
        let mut theirs = values.clone();
        let start = Instant::now();
        domain.fft_in_place(&mut theirs);
        println!(
            "2^{log}: ours {ours_time:?}, ark-poly {:?}, equal {}",
            start.elapsed(),
            ours == expected
        );
    }
}
